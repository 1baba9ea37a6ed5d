-- audit.record in one round trip (replaces audit_prepare_event of 0002, which needed a second statement for
-- the INSERT). The chain lock, the head read, the hash and the INSERT all happen here; the caller supplies
-- the fields (the IP address and user agent of a personal chain already encrypted under its subject's key)
-- and user ids, which never reach audit_events: they are replaced by their subjects here.
--
-- The hash is SHA-256 over the canonical encoding that packages/server/src/modules/audit/chain.ts documents
-- and verifies independently: a JSON array of every column in a fixed order. PostgreSQL's to_json(text)
-- escapes strings exactly as ECMAScript JSON.stringify does, and p_metadata arrives as canonical JSON (sorted
-- keys), so both sides produce the same bytes.
-- STABLE like to_json itself, so the planner inlines it (an IMMUTABLE label would block inlining and make every
-- call a separate SQL-function execution: a quarter of the cost of audit_append_event).
CREATE FUNCTION audit_json_text(value text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT coalesce(to_json(value)::text, 'null') $$;
--> statement-breakpoint
CREATE FUNCTION audit_append_event(
  p_user_id text,
  p_subject text,
  p_occurred_at text,
  p_actor_type text,
  p_actor_user_id text,
  p_api_key_id text,
  p_action text,
  p_resource_type text,
  p_resource_id text,
  p_resource_user_id text,
  p_outcome text,
  p_metadata text,
  p_ip text,
  p_user_agent text,
  p_ip_ciphertext bytea,
  p_user_agent_ciphertext bytea,
  p_request_id text,
  OUT event_id bigint,
  OUT event_hash bytea,
  OUT xact_id xid8,
  OUT retry_user_id text
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_chain text;
  v_actor_subject text;
  v_resource_id text := p_resource_id;
  v_ip text;
  v_user_agent text;
  v_ip_ciphertext bytea;
  v_user_agent_ciphertext bytea;
  v_prev bytea;
  v_encoding text;
BEGIN
  -- Per-chain lock, held to the end of the transaction: writers on one chain queue, writers on other chains
  -- do not wait (there is no global lock), and within a chain the id order is the commit order.
  -- 0x41554449 = 'AUDI': a namespace of its own in the two-key advisory lock space.
  IF p_user_id IS NULL THEN
    -- The system chain keeps the client's address in clear (canonical inet text), never ciphertexts.
    v_chain := 'system';
    v_ip := CASE WHEN p_ip IS NULL THEN NULL ELSE host(p_ip::inet) END;
    v_user_agent := p_user_agent;
    PERFORM pg_advisory_xact_lock(1096107081, hashtext(v_chain));
  ELSE
    -- A personal chain keeps them only encrypted. The caller encrypted for p_subject; if the user's subject
    -- is no longer that one (forgotten meanwhile), nothing is written and retry_user_id names the user
    -- whose subject the caller must resolve again. (The lock is taken in the same statement.)
    SELECT s.subject INTO v_chain FROM audit_subjects s
      WHERE s.user_id = p_user_id AND s.subject = p_subject AND pg_advisory_xact_lock(1096107081, hashtext(s.subject)) IS NOT NULL;
    IF v_chain IS NULL THEN
      retry_user_id := p_user_id;
      RETURN;
    END IF;
    v_ip_ciphertext := p_ip_ciphertext;
    v_user_agent_ciphertext := p_user_agent_ciphertext;
  END IF;
  -- The actor, and a user acted upon, are stored by subject. One without a subject yet is returned to the
  -- caller, which creates it (a subject carries a data key only the server can make) and calls again.
  IF p_actor_user_id IS NOT NULL THEN
    IF p_actor_user_id = p_user_id THEN
      v_actor_subject := v_chain;
    ELSE
      SELECT s.subject INTO v_actor_subject FROM audit_subjects s WHERE s.user_id = p_actor_user_id;
      IF v_actor_subject IS NULL THEN
        retry_user_id := p_actor_user_id;
        RETURN;
      END IF;
    END IF;
  END IF;
  IF p_resource_user_id IS NOT NULL THEN
    IF p_resource_user_id = p_user_id THEN
      v_resource_id := v_chain;
    ELSIF p_resource_user_id = p_actor_user_id THEN
      v_resource_id := v_actor_subject;
    ELSE
      SELECT s.subject INTO v_resource_id FROM audit_subjects s WHERE s.user_id = p_resource_user_id;
      IF v_resource_id IS NULL THEN
        retry_user_id := p_resource_user_id;
        RETURN;
      END IF;
    END IF;
  END IF;
  -- Read after the lock: in READ COMMITTED each statement of a VOLATILE function takes a fresh snapshot, so
  -- this sees the head the previous lock holder committed. The id is drawn under the lock too.
  SELECT (SELECT e.hash FROM audit_events e WHERE e.chain = v_chain ORDER BY e.id DESC LIMIT 1),
         nextval('audit_events_id_seq')
    INTO v_prev, event_id;
  IF v_prev IS NULL THEN
    v_prev := sha256(convert_to('fleece.audit.genesis', 'UTF8') || '\x00'::bytea || convert_to(v_chain, 'UTF8'));
  END IF;
  v_encoding := '[' || concat_ws(',',
    '"fleece.audit.v1"',
    event_id::text,
    audit_json_text(v_chain),
    audit_json_text(p_occurred_at),
    audit_json_text(p_actor_type),
    audit_json_text(v_actor_subject),
    audit_json_text(p_api_key_id),
    audit_json_text(p_action),
    audit_json_text(p_resource_type),
    audit_json_text(v_resource_id),
    audit_json_text(p_outcome),
    p_metadata,
    audit_json_text(v_ip),
    audit_json_text(v_user_agent),
    audit_json_text(encode(v_ip_ciphertext, 'hex')),
    audit_json_text(encode(v_user_agent_ciphertext, 'hex')),
    audit_json_text(p_request_id),
    audit_json_text(encode(v_prev, 'hex'))
  ) || ']';
  event_hash := sha256(convert_to(v_encoding, 'UTF8'));
  INSERT INTO audit_events (id, chain, occurred_at, actor_type, actor_subject, api_key_id, action, resource_type,
      resource_id, outcome, metadata, ip, user_agent, ip_ciphertext, user_agent_ciphertext, request_id, prev_hash,
      hash)
    VALUES (event_id, v_chain, p_occurred_at::timestamptz, p_actor_type, v_actor_subject, p_api_key_id, p_action,
      p_resource_type, v_resource_id, p_outcome, p_metadata::jsonb, v_ip::inet, v_user_agent, v_ip_ciphertext,
      v_user_agent_ciphertext, p_request_id, v_prev, event_hash);
  xact_id := pg_current_xact_id();
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION audit_append_event(text, text, text, text, text, text, text, text, text, text, text, text, text, text, bytea, bytea, text) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION audit_append_event(text, text, text, text, text, text, text, text, text, text, text, text, text, text, bytea, bytea, text) TO fleece_app;
--> statement-breakpoint
DROP FUNCTION audit_prepare_event(text, text, bytea, timestamptz, text);
