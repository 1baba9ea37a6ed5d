-- The per-user indexes of the tables a data export pages through (src/modules/export/service.ts) end with
-- `id`, the tie-breaker of its `created_at, id` order: one batch is then a range scan of the index from the
-- previous batch's last row, `(user_id, created_at, id) > (u, c, i)`, with no sort. Before, a batch needed a
-- sort on `id`, and with stale planner statistics (a table just bulk-loaded, or never analysed: PGlite runs
-- no autovacuum) PostgreSQL sorted every remaining row of the user for each batch of 100, which made a
-- large export quadratic (200,000 executions: 300 ms per batch, five minutes in all). Each index replaces
-- the one on `(user_id, created_at)` and serves every query that one served. Conversations keep their
-- `(user_id, updated_at)` index for lists by recency and gain one in export order.
DROP INDEX "executions_user_id_idx";--> statement-breakpoint
CREATE INDEX "executions_user_id_idx" ON "executions" USING btree ("user_id","created_at","id");--> statement-breakpoint
DROP INDEX "sessions_user_id_idx";--> statement-breakpoint
CREATE INDEX "sessions_user_id_idx" ON "sessions" USING btree ("user_id","created_at","id");--> statement-breakpoint
DROP INDEX "api_keys_user_id_idx";--> statement-breakpoint
CREATE INDEX "api_keys_user_id_idx" ON "api_keys" USING btree ("user_id","created_at","id");--> statement-breakpoint
DROP INDEX "agents_user_id_idx";--> statement-breakpoint
CREATE INDEX "agents_user_id_idx" ON "agents" USING btree ("user_id","created_at","id");--> statement-breakpoint
DROP INDEX "flows_user_id_idx";--> statement-breakpoint
CREATE INDEX "flows_user_id_idx" ON "flows" USING btree ("user_id","created_at","id");--> statement-breakpoint
DROP INDEX "identities_user_id_idx";--> statement-breakpoint
CREATE INDEX "identities_user_id_idx" ON "identities" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "conversations_user_created_idx" ON "conversations" USING btree ("user_id","created_at","id");
