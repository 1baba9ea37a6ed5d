-- Stripe billing (src/modules/billing/; docs/security.md claim C4). Fleece stores Stripe's identifiers and
-- the subscription's state, never payment card data: Checkout and the customer portal are hosted by Stripe.
--
-- billing_customers: one row per user who started a checkout: their Stripe customer, and the subscription
-- as the last applied webhook described it. `last_event_at` is the `created` time of that event, so an
-- older event delivered late (Stripe does not guarantee order) never overwrites a newer state.
CREATE TABLE "billing_customers" (
	"user_id" text PRIMARY KEY NOT NULL,
	"stripe_customer_id" text NOT NULL,
	"stripe_subscription_id" text,
	"subscription_status" text,
	"price_id" text,
	"current_period_end" timestamp with time zone,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"last_event_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "billing_customers_stripe_customer_id_check" CHECK ("billing_customers"."stripe_customer_id" ~ '^cus_[A-Za-z0-9]+$')
);
--> statement-breakpoint
ALTER TABLE "billing_customers" ADD CONSTRAINT "billing_customers_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "billing_customers_stripe_customer_id_key" ON "billing_customers" USING btree ("stripe_customer_id");--> statement-breakpoint
-- billing_webhook_events: the id of every Stripe event applied. The id is inserted in the transaction that
-- applies the event, so a second delivery (even a concurrent one) hits the primary key and changes nothing.
-- It holds no personal data (event id, type, time), so it has no owner and no row-level security.
CREATE TABLE "billing_webhook_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"processed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
-- A key disabled by a plan downgrade (more keys than the new plan allows): refused with 403
-- `api_key_disabled` while disabled, enabled again when a plan change makes room. Unlike revocation, this is
-- reversible.
ALTER TABLE "api_keys" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
-- Row-level security, the tenant rule of 0006_row_level_security.sql; and, for Stripe webhooks (which name a
-- customer, not a user), `app.credential` set to a Stripe customer id from a signature-verified event shows
-- that customer's row only, which is how the webhook finds its user.
ALTER TABLE "billing_customers" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "billing_customers" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY "billing_customers_tenant" ON "billing_customers"
  USING ("user_id" = current_setting('app.user_id', true))
  WITH CHECK ("user_id" = current_setting('app.user_id', true));--> statement-breakpoint
CREATE POLICY "billing_customers_stripe_customer" ON "billing_customers" FOR SELECT
  USING ("stripe_customer_id" = current_setting('app.credential', true));
