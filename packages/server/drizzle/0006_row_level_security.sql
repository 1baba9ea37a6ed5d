-- Row-level security on the tables of API keys, plan overrides and usage (claim C26; docs/security.md "Tenant isolation").
--
-- Services already scope every query by its owner; these policies enforce the same rule underneath, for the
-- app role `fleece_app` (neither owner nor superuser, NOBYPASSRLS) and, with FORCE, for a non-superuser owner
-- too. A transaction says whose data it touches with transaction-local settings (`set_config(…, true)`),
-- which src/db/tenant.ts sets and nothing else does:
--
--   app.user_id     the tenant: rows whose owner is this user (`withUser(db, userId, fn)`);
--   app.credential  a presented credential, before its owner is known: the SHA-256 hash of a secret (API key,
--                   refresh token, authorization code, device code, magic-link token) or a typed device user
--                   code. It shows only the row that credential names, which is how authentication finds its
--                   user without seeing anyone else's rows;
--   app.email       the address a sign-in is about (lower case): that account's users row only;
--   app.identity    `<provider>:<subject>` asserted by an OAuth provider: that identities row only;
--   app.admin       `on` in the admin module's transactions (`withAdmin`): every users row.
--
-- Unset, a setting reads as NULL (or '' after a transaction that set it ended), which equals no row: a query
-- outside any scope sees nothing. Permissive policies combine with OR. Referential-integrity checks and
-- ON DELETE CASCADE are not subject to row security, so foreign keys keep working across scopes.
-- The identity tables get theirs in a later migration, together with the services that set the scopes.
ALTER TABLE "api_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "api_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "api_keys_tenant" ON "api_keys"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "api_keys_credential" ON "api_keys" FOR SELECT
  USING ("key_hash" = current_setting('app.credential', true));--> statement-breakpoint

ALTER TABLE "account_limits" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "account_limits" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "account_limits_tenant" ON "account_limits"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint

ALTER TABLE "usage_counters" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "usage_counters" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "usage_counters_tenant" ON "usage_counters"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));
