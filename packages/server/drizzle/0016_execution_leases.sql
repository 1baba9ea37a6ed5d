-- Execution leases (recovery of executions whose instance died): the instance running an execution renews
-- `lease_expires_at` while it runs; a sweep fails the executions whose lease expired as `instance_lost`
-- (src/modules/executions/service.ts, `sweepLost`).
ALTER TABLE "executions" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "executions_unfinished_idx" ON "executions" ("status", "lease_expires_at")
  WHERE "status" IN ('queued', 'running');--> statement-breakpoint
-- The sweep finds unfinished executions of every user (only their ids and owners; it then ends each one in
-- its owner's scope). Read-only, and only while the sweep's transaction sets `app.lease_sweep`.
CREATE POLICY "executions_lease_sweep" ON "executions" FOR SELECT
  USING (current_setting('app.lease_sweep', true) = 'on' AND "status" IN ('queued', 'running'));
