-- Webhook delivery attempts (issue 6 "Webhook callbacks"; docs/api.md "Webhook callbacks"): one row per attempt
-- to POST a flow run's result to its callback URL. `event_id` (whe_…) is the same on every attempt of one event
-- (the Idempotency-Key the receiver sees); `attempt` counts from 1. A row records the HTTP status the receiver
-- answered, or a safe error code when there was no answer, the time taken in ms, and at most a 256-character
-- printable excerpt of the answer's body (never more). `next_attempt_at` is when the retry is due.
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"event_id" text NOT NULL,
	"event_type" text NOT NULL,
	"execution_id" text NOT NULL,
	"flow_id" text,
	"url" text NOT NULL,
	"attempt" integer NOT NULL,
	"outcome" text NOT NULL,
	"status" integer,
	"error_code" text,
	"response_excerpt" text,
	"duration_ms" integer NOT NULL,
	"attempted_at" timestamp with time zone NOT NULL,
	"next_attempt_at" timestamp with time zone,
	CONSTRAINT "webhook_deliveries_outcome_check" CHECK ("webhook_deliveries"."outcome" in ('succeeded', 'failed')),
	CONSTRAINT "webhook_deliveries_excerpt_check" CHECK (char_length("webhook_deliveries"."response_excerpt") <= 256)
);
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_execution_id_executions_id_fk" FOREIGN KEY ("execution_id") REFERENCES "public"."executions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_deliveries_execution_id_idx" ON "webhook_deliveries" USING btree ("execution_id","attempted_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_event_id_idx" ON "webhook_deliveries" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_user_id_idx" ON "webhook_deliveries" USING btree ("user_id");--> statement-breakpoint
-- Row-level security: the tenant rule of 0006_row_level_security.sql (`app.user_id`), as 0008 does for executions.
ALTER TABLE "webhook_deliveries" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "webhook_deliveries_tenant" ON "webhook_deliveries"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));
