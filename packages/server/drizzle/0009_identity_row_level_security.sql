-- Row-level security on the identity tables (claim C26; docs/security.md "Tenant isolation"):
-- users, identities, sessions, refresh tokens, authorization codes, device authorizations and magic-link
-- tokens. The scopes are the transaction-local settings of src/db/tenant.ts (see 0006_row_level_security):
--
--   app.user_id     the tenant: rows whose owner is this user (`withUser(db, userId, fn)`);
--   app.credential  a presented credential before its owner is known: the SHA-256 hash of a secret (refresh
--                   token, authorization code, device code, magic-link token) or a typed device user code;
--                   it shows only the row that credential names, which is how a token grant finds its user
--                   without seeing anyone else's rows;
--   app.email       the address a sign-in step is about (lower case): that account's users row only;
--   app.identity    `<provider>:<subject>` asserted by an OAuth provider: that identities row only;
--   app.admin       `on` in the admin module's transactions (`withAdmin`): every users row.
--
-- Audit tables get no policies: see docs/security.md ("Tenant isolation") for why.
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "users_tenant" ON "users"
  USING ("id" = current_setting('app.user_id', true))
  WITH CHECK ("id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "users_sign_in" ON "users"
  USING (lower("email") = current_setting('app.email', true))
  WITH CHECK (lower("email") = current_setting('app.email', true));--> statement-breakpoint
CREATE POLICY "users_admin" ON "users"
  USING (current_setting('app.admin', true) = 'on')
  WITH CHECK (current_setting('app.admin', true) = 'on');--> statement-breakpoint

ALTER TABLE "identities" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "identities" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "identities_tenant" ON "identities"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "identities_sign_in" ON "identities" FOR SELECT
  USING ("provider" || ':' || "subject" = current_setting('app.identity', true));--> statement-breakpoint

ALTER TABLE "sessions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "sessions" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "sessions_tenant" ON "sessions"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint

ALTER TABLE "refresh_tokens" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "refresh_tokens" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "refresh_tokens_tenant" ON "refresh_tokens"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "refresh_tokens_credential" ON "refresh_tokens"
  USING ("token_hash" = current_setting('app.credential', true))
  WITH CHECK ("token_hash" = current_setting('app.credential', true));--> statement-breakpoint

ALTER TABLE "authorization_codes" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "authorization_codes" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "authorization_codes_tenant" ON "authorization_codes"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "authorization_codes_credential" ON "authorization_codes"
  USING ("code_hash" = current_setting('app.credential', true))
  WITH CHECK ("code_hash" = current_setting('app.credential', true));--> statement-breakpoint

-- A device authorization has no owner until a signed-in user approves it: before that only its device code
-- (hashed) or its user code shows it.
ALTER TABLE "device_authorizations" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "device_authorizations" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "device_authorizations_tenant" ON "device_authorizations"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "device_authorizations_credential" ON "device_authorizations"
  USING ("device_code_hash" = current_setting('app.credential', true) OR "user_code" = current_setting('app.credential', true))
  WITH CHECK ("device_code_hash" = current_setting('app.credential', true) OR "user_code" = current_setting('app.credential', true));--> statement-breakpoint

-- A magic-link token belongs to no account yet (it may create one): only its hash shows it.
ALTER TABLE "magic_link_tokens" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "magic_link_tokens" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "magic_link_tokens_credential" ON "magic_link_tokens"
  USING ("token_hash" = current_setting('app.credential', true))
  WITH CHECK ("token_hash" = current_setting('app.credential', true));
