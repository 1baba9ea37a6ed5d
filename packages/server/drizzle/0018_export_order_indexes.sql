-- The per-user indexes of the tables a data export pages through (src/modules/export/service.ts) end with
-- `id`, the tie-breaker of its `created_at, id` order: one batch is then a range scan of the index from the
-- previous batch's last row, `(user_id, created_at, id) > (u, c, i)`, with no sort. Before, a batch needed a
-- sort on `id`, and with stale planner statistics (a table just bulk-loaded, or never analysed: PGlite runs
-- no autovacuum) PostgreSQL sorted every remaining row of the user for each batch of 100, which made a
-- large export quadratic (200,000 executions: 300 ms per batch, five minutes in all). Each index replaces
-- the table's per-user index (on `(user_id, created_at)`; identities: `(user_id)`) and serves every query
-- that one served. Conversations keep their `(user_id, updated_at)` index for lists by recency and gain one
-- in export order.
--
-- The new indexes are built first under new names (CREATE INDEX blocks writes to its table, not reads), and
-- only then are the old ones dropped and the new ones renamed: DROP INDEX locks its table against reads too,
-- and the migration is one transaction, so the drops come last, where they hold those locks for a moment,
-- not for the length of every build. IF NOT EXISTS lets an operator of a large database build the `_new`
-- indexes beforehand with CREATE INDEX CONCURRENTLY (docs/operations.md, "Upgrading"), so that this migration
-- only drops and renames.
CREATE INDEX IF NOT EXISTS "executions_user_id_idx_new" ON "executions" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "sessions_user_id_idx_new" ON "sessions" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "api_keys_user_id_idx_new" ON "api_keys" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "agents_user_id_idx_new" ON "agents" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "flows_user_id_idx_new" ON "flows" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "identities_user_id_idx_new" ON "identities" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "conversations_user_created_idx" ON "conversations" USING btree ("user_id","created_at","id");--> statement-breakpoint
DROP INDEX "executions_user_id_idx";--> statement-breakpoint
DROP INDEX "sessions_user_id_idx";--> statement-breakpoint
DROP INDEX "api_keys_user_id_idx";--> statement-breakpoint
DROP INDEX "agents_user_id_idx";--> statement-breakpoint
DROP INDEX "flows_user_id_idx";--> statement-breakpoint
DROP INDEX "identities_user_id_idx";--> statement-breakpoint
ALTER INDEX "executions_user_id_idx_new" RENAME TO "executions_user_id_idx";--> statement-breakpoint
ALTER INDEX "sessions_user_id_idx_new" RENAME TO "sessions_user_id_idx";--> statement-breakpoint
ALTER INDEX "api_keys_user_id_idx_new" RENAME TO "api_keys_user_id_idx";--> statement-breakpoint
ALTER INDEX "agents_user_id_idx_new" RENAME TO "agents_user_id_idx";--> statement-breakpoint
ALTER INDEX "flows_user_id_idx_new" RENAME TO "flows_user_id_idx";--> statement-breakpoint
ALTER INDEX "identities_user_id_idx_new" RENAME TO "identities_user_id_idx";
