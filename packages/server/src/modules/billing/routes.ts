import { BillingStatus, BillingUrl, CheckoutRequest, Problem } from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

/** Answer of `POST /api/webhooks/stripe`: the delivery was accepted, and what became of it. */
const WebhookReceipt = z.object({
  received: z.literal(true),
  result: z
    .enum(['applied', 'duplicate', 'ignored'])
    .describe('applied; duplicate: this event id was applied before; ignored: nothing to do'),
});

/**
 * Billing (claim C4): `GET /api/v1/billing`, `POST /api/v1/billing/checkout`,
 * `POST /api/v1/billing/portal`, and Stripe's `POST /api/webhooks/stripe`. Without Stripe configuration
 * every one answers 503 `billing_not_configured`. HTTP only; the rules live in `app.billing`.
 */
export const billingRoutes: FastifyPluginAsyncZod = async (app) => {
  const requireBilling = async () => {
    app.billing.requireEnabled();
  };

  app.get(
    '/api/v1/billing',
    {
      preParsing: [app.requireAuth, requireBilling],
      schema: {
        tags: ['billing'],
        summary: 'Your plan, subscription, usage against the plan’s limits, and billing notices',
        security,
        response: { 200: BillingStatus, 401: Problem, 403: Problem, 503: Problem },
      },
    },
    async (request) => app.billing.status(request.principal!.userId),
  );

  app.post(
    '/api/v1/billing/checkout',
    {
      preParsing: [app.requireAuth, requireBilling],
      config: { apiKeys: false },
      schema: {
        tags: ['billing'],
        summary: 'Start a subscription: the URL of a Stripe Checkout page for the plan',
        security,
        body: CheckoutRequest,
        response: {
          200: BillingUrl,
          400: Problem,
          401: Problem,
          403: Problem,
          409: Problem,
          502: Problem,
          503: Problem,
        },
      },
    },
    async (request) =>
      app.billing.checkout(auditContext(request), request.principal!.userId, request.body.plan),
  );

  app.post(
    '/api/v1/billing/portal',
    {
      preParsing: [app.requireAuth, requireBilling],
      config: { apiKeys: false },
      schema: {
        tags: ['billing'],
        summary: 'The URL of your Stripe customer portal (plan, payment method, invoices, cancellation)',
        security,
        response: { 200: BillingUrl, 401: Problem, 403: Problem, 404: Problem, 502: Problem, 503: Problem },
      },
    },
    async (request) => app.billing.portal(request.principal!.userId),
  );

  // The webhook needs the body byte for byte (the signature covers the raw bytes), so this encapsulated
  // context parses JSON as a Buffer; the rest of the API keeps the JSON parser.
  await app.register(async (hooks) => {
    hooks.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, body);
    });
    hooks.post(
      '/api/webhooks/stripe',
      {
        preHandler: requireBilling,
        schema: {
          tags: ['billing'],
          summary: 'Stripe webhook endpoint (signed by Stripe; not for clients)',
          headers: z.object({ 'stripe-signature': z.string().optional() }),
          response: { 200: WebhookReceipt, 400: Problem, 502: Problem, 503: Problem },
        },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        const result = await app.billing.handleWebhook(
          body,
          typeof signature === 'string' ? signature : undefined,
        );
        return { received: true as const, result };
      },
    );
  });
};
