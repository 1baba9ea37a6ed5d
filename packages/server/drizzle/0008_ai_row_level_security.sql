-- Row-level security on agents, executions and their stored stream events (docs/security.md
-- "Tenant isolation"), the same tenant rule as 0006_row_level_security.sql: a transaction sees and writes
-- only the rows of the user named by `app.user_id` (`withUser(db, userId, fn)` in src/db/tenant.ts).
ALTER TABLE "agents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "agents" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "agents_tenant" ON "agents"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint

ALTER TABLE "executions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "executions" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "executions_tenant" ON "executions"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint

ALTER TABLE "execution_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "execution_events" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "execution_events_tenant" ON "execution_events"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));
