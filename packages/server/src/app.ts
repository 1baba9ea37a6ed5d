import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import { openDatabase } from './db/open.js';
import { jobsPlugin } from './jobs/plugin.js';
import { type Clock, systemClock } from './lib/clock.js';
import { ROUTER_OPTIONS } from './lib/router.js';
import { loggerOptions } from './logger.js';
import { adminPlugin } from './modules/admin/plugin.js';
import { adminRoutes } from './modules/admin/routes.js';
import { agentsPlugin } from './modules/agents/plugin.js';
import { agentRoutes } from './modules/agents/routes.js';
import { modelRoutes } from './modules/ai/models/routes.js';
import { aiPlugin } from './modules/ai/plugin.js';
import type { ModelProvider, ProviderId } from './modules/ai/providers/types.js';
import { apiKeysPlugin } from './modules/api-keys/plugin.js';
import { apiKeyRoutes } from './modules/api-keys/routes.js';
import { auditPlugin } from './modules/audit/plugin.js';
import { auditRoutes } from './modules/audit/routes.js';
import { billingPlugin } from './modules/billing/plugin.js';
import { billingRoutes } from './modules/billing/routes.js';
import { chatPlugin } from './modules/chat/plugin.js';
import { chatRoutes } from './modules/chat/routes.js';
import { consentsPlugin } from './modules/consents/plugin.js';
import { consentRoutes } from './modules/consents/routes.js';
import { deletionPlugin } from './modules/deletion/plugin.js';
import { deletionRoutes } from './modules/deletion/routes.js';
import { executionsPlugin } from './modules/executions/plugin.js';
import { executionRoutes } from './modules/executions/routes.js';
import { exportPlugin } from './modules/export/plugin.js';
import { exportRoutes } from './modules/export/routes.js';
import { flowsPlugin } from './modules/flows/plugin.js';
import { flowRoutes } from './modules/flows/routes.js';
import { healthPlugin } from './modules/health/plugin.js';
import { healthRoutes } from './modules/health/routes.js';
import { identityPlugin } from './modules/identity/plugin.js';
import { identityRoutes } from './modules/identity/routes.js';
import { plansPlugin } from './modules/plans/plugin.js';
import { retentionPlugin } from './modules/retention/plugin.js';
import { webhooksPlugin } from './modules/webhooks/plugin.js';
import { webhookRoutes } from './modules/webhooks/routes.js';
import { authPlugin } from './plugins/auth.js';
import { authenticatePlugin } from './plugins/authenticate.js';
import { configPlugin } from './plugins/config.js';
import { corsPlugin } from './plugins/cors.js';
import { databasePlugin } from './plugins/database.js';
import { clientErrorHandler, errorsPlugin, frameworkErrors } from './plugins/errors.js';
import { invalidationsPlugin } from './plugins/invalidations.js';
import { openapiPlugin } from './plugins/openapi.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { genReqId, requestIdPlugin } from './plugins/request-id.js';
import { routingPlugin } from './plugins/routing.js';
import { securityHeadersPlugin } from './plugins/security-headers.js';
import { webPlugin } from './plugins/web.js';

/** What {@link buildApp} needs beyond the configuration; every member is optional. */
export interface BuildAppOptions {
  /** An open, migrated database; by default one is opened (and migrated) from the configuration. */
  database?: Database;
  /** Wall-clock source; default the system clock. */
  clock?: Clock;
  /** Where log lines go (a pino destination); default stdout. */
  logStream?: { write(line: string): void };
  /** AI providers that replace (or add to) the configured ones; tests plug in scripted providers. */
  providers?: Partial<Record<ProviderId, ModelProvider>>;
}

async function tlsOptions(config: Config) {
  if (!config.tls) return undefined;
  const [cert, key] = await Promise.all([readFile(config.tls.certFile), readFile(config.tls.keyFile)]);
  // TLS 1.3 only: a client offering at most TLS 1.2 fails the handshake (claim C1).
  return { cert, key, minVersion: 'TLSv1.3' as const };
}

/**
 * Builds the Fleece app. Layers register top to bottom in the order they apply to a request:
 * configuration → database → cache invalidation → job queue → errors → request id → security headers →
 * canonical paths (any other spelling answers 404) → CORS → auth (principal, guards, API key scopes) → the
 * services authentication needs (audit, plans: entitlements and the /me view, identity: tokens and sessions,
 * API keys) → authenticate (session cookie, bearer tokens, API keys) → rate limits → the other modules'
 * services (health, consents, AI providers and models, agents and executions, webhooks, flows, export,
 * deletion, retention, billing, admin) → OpenAPI → routes → web assets.
 *
 * Wiring: `src/plugins/` is HTTP infrastructure; each `src/modules/<name>/plugin.ts` decorates the app with
 * its own services (a named fastify-plugin that lists the plugins it depends on, so registering it out of
 * order fails at start-up). The app is not yet `ready()`, so a caller may still add routes; nothing listens
 * until the caller calls `listen()`; `close()` closes the database too.
 *
 * @throws whatever opening the database throws (see {@link openDatabase}).
 */
export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const fastifyOptions: FastifyServerOptions = {
    logger: options.logStream
      ? { ...loggerOptions(config.logLevel), stream: options.logStream }
      : loggerOptions(
          config.logLevel,
          config.logFormat ?? (process.stdout.isTTY && config.env !== 'production' ? 'pretty' : 'json'),
        ),
    genReqId,
    requestIdHeader: false,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: config.bodyLimit,
    // One spelling per route (src/plugins/routing.ts): any other answers 404, so every policy (no-store,
    // limits, authentication) that applies to a route applies to every request that reaches it.
    routerOptions: { ...ROUTER_OPTIONS },
    // Errors raised before any hook runs answer like every other error: problem+json, security headers,
    // X-Request-Id (a URL the router cannot decode; a request Node's HTTP parser refuses).
    frameworkErrors,
    clientErrorHandler,
    // A request without Host gets a problem with every header from src/plugins/routing.ts, not Node's bare 400.
    ...({ http: { requireHostHeader: false } } as Partial<FastifyServerOptions>),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  };
  const https = await tlsOptions(config);
  const app = (
    https
      ? Fastify({ ...fastifyOptions, https: { ...https, requireHostHeader: false } } as FastifyServerOptions)
      : Fastify(fastifyOptions)
  ) as FastifyInstance;
  // JSON is the only body format the API takes; Fastify's built-in text/plain parser would let a plain
  // string reach validation as a confusing type error instead of a 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const database = options.database ?? (await openDatabase(config));
  try {
    await app.register(configPlugin, { config, clock: options.clock ?? systemClock });
    await app.register(databasePlugin, { database });
    await app.register(invalidationsPlugin);
    await app.register(jobsPlugin);
    await app.register(errorsPlugin);
    await app.register(requestIdPlugin);
    await app.register(securityHeadersPlugin);
    await app.register(routingPlugin);
    await app.register(corsPlugin);
    await app.register(authPlugin);
    await app.register(auditPlugin);
    await app.register(plansPlugin);
    await app.register(identityPlugin);
    await app.register(apiKeysPlugin);
    await app.register(authenticatePlugin);
    await app.register(rateLimitPlugin);
    await app.register(healthPlugin);
    await app.register(consentsPlugin);
    await app.register(aiPlugin, { providers: options.providers });
    await app.register(agentsPlugin);
    await app.register(executionsPlugin);
    await app.register(chatPlugin);
    await app.register(webhooksPlugin);
    await app.register(flowsPlugin);
    await app.register(exportPlugin);
    await app.register(deletionPlugin);
    await app.register(retentionPlugin);
    await app.register(billingPlugin);
    await app.register(adminPlugin);
    await app.register(openapiPlugin);

    const api = app.withTypeProvider<ZodTypeProvider>();
    await api.register(healthRoutes);
    await api.register(auditRoutes);
    await api.register(identityRoutes);
    await api.register(apiKeyRoutes);
    await api.register(adminRoutes);
    await api.register(modelRoutes);
    await api.register(agentRoutes);
    await api.register(executionRoutes);
    await api.register(flowRoutes);
    await api.register(webhookRoutes);
    await api.register(chatRoutes);
    await api.register(deletionRoutes);
    await api.register(billingRoutes);
    await api.register(consentRoutes);
    await api.register(exportRoutes);

    await app.register(webPlugin);
  } catch (error) {
    await database.close();
    throw error;
  }
  return app;
}
