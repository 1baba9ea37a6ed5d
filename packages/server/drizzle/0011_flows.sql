-- Flows (issue 6): an ordered list of steps, each an agent with an input template. A run of a flow is an
-- execution with `flow_id` set and no parent; each step it runs is a child execution (`parent_id`, `step`).
CREATE TABLE "flows" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"steps" jsonb NOT NULL,
	"schedule" text,
	"schedule_input" text DEFAULT '' NOT NULL,
	"callback_url" text,
	"callback_secret" "bytea",
	"callback_key_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "flows" ADD CONSTRAINT "flows_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flows_user_id_idx" ON "flows" USING btree ("user_id","created_at");--> statement-breakpoint
-- Flow runs have no single model: a run's model and provider are null (its steps carry theirs).
ALTER TABLE "executions" ALTER COLUMN "model" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "executions" ALTER COLUMN "provider" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "parent_id" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "step" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "failed_step" text;--> statement-breakpoint
ALTER TABLE "executions" ADD CONSTRAINT "executions_parent_id_executions_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- A deleted flow keeps its runs (as a deleted agent keeps its executions), with flow_id cleared. No row has
-- a flow_id before this migration (nothing set it), so the constraint validates at once.
ALTER TABLE "executions" ADD CONSTRAINT "executions_flow_id_flows_id_fk" FOREIGN KEY ("flow_id") REFERENCES "public"."flows"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "executions_flow_id_idx" ON "executions" USING btree ("flow_id","created_at");--> statement-breakpoint
CREATE INDEX "executions_parent_id_idx" ON "executions" USING btree ("parent_id");--> statement-breakpoint
-- At most one queued or running run per flow (POST /api/v1/flows/:id/trigger answers 409 otherwise).
CREATE UNIQUE INDEX "executions_flow_active_run" ON "executions" USING btree ("flow_id") WHERE "parent_id" IS NULL AND "flow_id" IS NOT NULL AND "status" IN ('queued', 'running');--> statement-breakpoint
-- Row-level security: the tenant rule of 0006_row_level_security.sql (`app.user_id`).
ALTER TABLE "flows" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "flows" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "flows_tenant" ON "flows"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));
