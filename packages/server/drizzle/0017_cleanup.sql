-- The daily data job (src/modules/retention/) deletes sign-in artifacts a day after they expire: magic-link
-- tokens (an email and the requesting IP), device authorizations (the requesting IP), authorization codes and
-- refresh tokens. Magic links and pending device codes belong to no account, so the tenant scope cannot
-- reach them; the cleanup scope (`app.cleanup` = 'on', set only by that job) may read and delete rows of
-- these four tables, never insert or change one.
CREATE POLICY "magic_link_tokens_cleanup_read" ON "magic_link_tokens" FOR SELECT
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "magic_link_tokens_cleanup" ON "magic_link_tokens" FOR DELETE
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "device_authorizations_cleanup_read" ON "device_authorizations" FOR SELECT
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "device_authorizations_cleanup" ON "device_authorizations" FOR DELETE
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "authorization_codes_cleanup_read" ON "authorization_codes" FOR SELECT
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "authorization_codes_cleanup" ON "authorization_codes" FOR DELETE
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "refresh_tokens_cleanup_read" ON "refresh_tokens" FOR SELECT
  USING (current_setting('app.cleanup', true) = 'on');--> statement-breakpoint
CREATE POLICY "refresh_tokens_cleanup" ON "refresh_tokens" FOR DELETE
  USING (current_setting('app.cleanup', true) = 'on');
