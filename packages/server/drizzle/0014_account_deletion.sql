-- Account deletion (issue 7 "Account deletion"; docs/security.md C28, C29; docs/operations.md "Account
-- deletion"). A pending deletion is one row here while `users.status` is 'pending_deletion'. The purge job
-- names the row by its own id (`del_…`), never by the user id, so nothing the queue keeps after the purge
-- (job data, results) can lead back to the person. The row goes with the user (ON DELETE CASCADE) in the
-- purge's last step.
CREATE TABLE "account_deletions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"purge_after" timestamp with time zone NOT NULL,
	"purge_started_at" timestamp with time zone,
	CONSTRAINT "account_deletions_id_check" CHECK ("account_deletions"."id" ~ '^del_[A-Za-z0-9]+$'),
	CONSTRAINT "account_deletions_window_check" CHECK ("account_deletions"."purge_after" > "account_deletions"."requested_at")
);
--> statement-breakpoint
ALTER TABLE "account_deletions" ADD CONSTRAINT "account_deletions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "account_deletions_user_id_key" ON "account_deletions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "account_deletions_purge_after_idx" ON "account_deletions" USING btree ("purge_after");--> statement-breakpoint
-- Row-level security: the tenant rule of 0006_row_level_security.sql (`app.user_id`), and the admin scope
-- (`app.admin`), in which the system jobs (the purge, the daily sweep of overdue purges) find deletions
-- before they know whose they are.
ALTER TABLE "account_deletions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "account_deletions" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "account_deletions_tenant" ON "account_deletions"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "account_deletions_admin" ON "account_deletions"
  USING (current_setting('app.admin', true) = 'on')
  WITH CHECK (current_setting('app.admin', true) = 'on');--> statement-breakpoint
-- Magic-link tokens name an address, not an account (a link may create the account). The purge removes the
-- ones of the purged address in that address's sign-in scope (`app.email`), which this policy opens to it:
-- the same address a sign-in step for it already sees in `users`.
CREATE POLICY "magic_link_tokens_email" ON "magic_link_tokens"
  USING (lower("email") = current_setting('app.email', true))
  WITH CHECK (lower("email") = current_setting('app.email', true));
