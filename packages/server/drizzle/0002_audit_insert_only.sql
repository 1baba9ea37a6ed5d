-- The audit log is insert-only at the database level (docs/security.md "Insert-only", claim C21). Two independent locks:
--   1. the app role holds only SELECT and INSERT on audit_events (the default privileges of 0000 granted
--      UPDATE and DELETE too, so they are revoked explicitly);
--   2. a statement-level trigger makes UPDATE, DELETE and TRUNCATE fail for every role, the owner included.
--      Statement-level, so even a statement that matches no row fails. Only a superuser or the owner can
--      disable it (ALTER TABLE ... DISABLE TRIGGER), and doing so is what the hash chain then detects.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM fleece_app;
--> statement-breakpoint
-- A subject mapping is created once and deleted at account purge (which anonymises the events); never edited.
REVOKE UPDATE, TRUNCATE ON audit_subjects FROM fleece_app;
--> statement-breakpoint
REVOKE TRUNCATE ON audit_throttle FROM fleece_app;
--> statement-breakpoint
CREATE FUNCTION audit_events_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is insert-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Audit events are never changed or removed; anonymise a person by deleting their audit_subjects row.';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_insert_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_reject_change();
--> statement-breakpoint
-- Everything audit.record needs before it can hash an event, in one round trip:
--   - the chain: the subject of p_user_id (created from the candidate p_new_subject / p_new_key when the user
--     has none yet), or 'system' when p_user_id is null;
--   - a per-chain advisory lock held to the end of the transaction, so writers on one chain queue while
--     writers on other chains do not wait (there is no global lock), and within a chain the id order is the
--     commit order;
--   - the chain head's hash (null for a new chain), read after the lock: in READ COMMITTED every statement
--     of a VOLATILE function takes a fresh snapshot, so it sees the head the previous holder committed;
--   - the next event id, taken under the lock; the transaction's id (for the notification relay);
--   - p_ip in PostgreSQL's canonical inet text, so the hash covers exactly what the column will return.
CREATE FUNCTION audit_prepare_event(
  p_user_id text,
  p_new_subject text,
  p_new_key bytea,
  p_now timestamptz,
  p_ip text,
  OUT chain text,
  OUT wrapped_key bytea,
  OUT next_id bigint,
  OUT prev_hash bytea,
  OUT xact_id xid8,
  OUT ip text
)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_user_id IS NULL THEN
    chain := 'system';
  ELSE
    SELECT s.subject, s.wrapped_key INTO chain, wrapped_key FROM audit_subjects s WHERE s.user_id = p_user_id;
    IF NOT FOUND THEN
      INSERT INTO audit_subjects (user_id, subject, wrapped_key, created_at)
        VALUES (p_user_id, p_new_subject, p_new_key, p_now)
        ON CONFLICT (user_id) DO NOTHING;
      -- Ours, or the one a concurrent writer committed first.
      SELECT s.subject, s.wrapped_key INTO STRICT chain, wrapped_key FROM audit_subjects s WHERE s.user_id = p_user_id;
    END IF;
  END IF;
  -- 0x41554449 = 'AUDI': a namespace of its own in the two-key advisory lock space.
  PERFORM pg_advisory_xact_lock(1096107081, hashtext(chain));
  SELECT e.hash INTO prev_hash FROM audit_events e WHERE e.chain = audit_prepare_event.chain ORDER BY e.id DESC LIMIT 1;
  next_id := nextval('audit_events_id_seq');
  xact_id := pg_current_xact_id();
  ip := CASE WHEN p_ip IS NULL THEN NULL ELSE host(p_ip::inet) END;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION audit_prepare_event(text, text, bytea, timestamptz, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit_prepare_event(text, text, bytea, timestamptz, text) TO fleece_app;
