-- Consents (issue 7 "Consent"; docs/api.md "Consents"; claim C31): one row per user and consent type, the
-- user's latest decision. `policy_version` is the version of the policy text the decision was made against
-- (CONSENT_POLICY_VERSIONS in src/modules/consents/service.ts); a grant counts only for the current version.
-- No row means never decided, which counts as not granted.
CREATE TABLE "consents" (
	"user_id" text NOT NULL,
	"type" text NOT NULL,
	"granted" boolean NOT NULL,
	"policy_version" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "consents_user_id_type_pk" PRIMARY KEY("user_id","type"),
	CONSTRAINT "consents_type_check" CHECK ("consents"."type" in ('ai_processing', 'product_email', 'terms'))
);
--> statement-breakpoint
ALTER TABLE "consents" ADD CONSTRAINT "consents_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Row-level security: the tenant rule of 0006_row_level_security.sql (`app.user_id`).
ALTER TABLE "consents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "consents" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "consents_tenant" ON "consents"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));
