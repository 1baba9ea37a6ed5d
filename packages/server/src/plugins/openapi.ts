import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import { OAuthErrorResponse, Problem } from '@fleece/sdk/contract';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VERSION } from '../lib/package.js';

/** An OpenAPI document as plain JSON (OpenAPI 3.1, JSON Schema 2020-12 schemas). */
type Json = Record<string, unknown>;

/** How a route authenticates, as the document's `security` says it. */
export type RouteAuth = 'public' | 'user' | 'admin';

/** What the document needs to know about a route beyond its zod schemas; derived in {@link routeFacts}. */
interface RouteFacts {
  auth: RouteAuth;
  /** Whether a rate limit (the default one, a named one or an auth route's own) applies. */
  rateLimited: boolean;
  /** Whether the route answers 400/401 in the OAuth error format (RFC 6749 §5.2) instead of problem details. */
  oauth: boolean;
  /** Whether the route takes validated input (query, body, headers, path parameters): 400 on bad input. */
  input: boolean;
  /** Whether the route names a resource in its path (`:id`, `:provider`…): 404 when there is none. */
  params: boolean;
  /** Whether the method changes state: a cookie-authenticated call from another origin gets 403. */
  unsafe: boolean;
  /** Declared statuses whose schema is the shared `Problem` (rewritten to `application/problem+json`). */
  problems: string[];
}

/** Where the route facts travel from `transform` to `transformObject` (removed before the document is served). */
const FACTS = 'x-fleece-route';

/**
 * The OAuth endpoints (RFC 6749 §5.2 errors, `application/json`) by path, for routes that do not (yet)
 * declare `OAuthErrorResponse` as their 400 answer.
 */
const OAUTH_PATHS = [/^\/api\/auth\/token$/, /^\/api\/auth\/revoke$/, /^\/api\/auth\/device\/(code|token)$/];

/**
 * JSON Schema formats (2020-12 §7.3 plus the OpenAPI format registry) a validator knows; zod also emits
 * its own check names (`starts_with`, `ends_with`, `includes`, `lowercase`…) as `format`, which are not
 * formats: those are removed, and the `pattern` zod emits beside them carries the rule.
 */
const KNOWN_FORMATS = new Set([
  'date-time',
  'date',
  'time',
  'duration',
  'email',
  'idn-email',
  'hostname',
  'idn-hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'iri',
  'iri-reference',
  'uri-template',
  'uuid',
  'json-pointer',
  'relative-json-pointer',
  'regex',
  'int32',
  'int64',
  'float',
  'double',
  'byte',
  'binary',
  'password',
]);

/** In {@link SUCCESS_OVERRIDES}: the media types add to the route's JSON answer instead of replacing it. */
const KEEP_JSON = 'keepJson';
const SSE = { 'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events' } } };
const redirect = (description: string) => ({
  description,
  headers: { Location: { description: 'Where the browser goes next', schema: { type: 'string' } } },
});

/**
 * Successful answers the zod schemas cannot say: streams (their real media types) and redirects, by
 * operation (`METHOD /path/{param}`). A route added with such an answer belongs here; the conformance test
 * (test/openapi-conformance.test.ts) fails on a status or media type the document does not list.
 */
const SUCCESS_OVERRIDES: Record<string, Record<string, Json>> = {
  'GET /api/v1/export': {
    '200': {
      description:
        'The export: NDJSON (header, one record per line, trailer with counts and SHA-256), or with `?format=zip` a zip holding `fleece-export.ndjson`',
      content: {
        'application/x-ndjson': { schema: { type: 'string' } },
        'application/zip': { schema: { type: 'string', contentEncoding: 'binary' } },
      },
    },
  },
  'GET /api/v1/audit-events/stream': { '200': { description: 'The audit events, live', content: SSE } },
  'GET /api/v1/admin/audit-events/stream': { '200': { description: 'The audit events, live', content: SSE } },
  'GET /api/v1/executions/{id}/events': {
    '200': { description: 'The execution events, replayed then live', content: SSE },
  },
  'GET /api/v1/conversations/{id}/stream': {
    '200': { description: 'The events of the reply after Last-Event-ID, then live until done', content: SSE },
  },
  // JSON, or Server-Sent Events with `Accept: text/event-stream` or `stream: true`: both media types.
  'POST /api/v1/agents/{id}/execute': { '200': { content: SSE, [KEEP_JSON]: true } },
  'POST /api/v1/chat': { '200': { content: SSE, [KEEP_JSON]: true } },
  'GET /api/auth/oauth/{provider}/start': { '303': redirect("To the provider's sign-in page") },
  'GET /api/auth/oauth/{provider}/callback': {
    '303': redirect('Signed in: to the page the sign-in started from; failed: to `/login?error=<reason>`'),
  },
  'GET /api/auth/cli/authorize': {
    '303': redirect('To the consent page, or to sign-in first (`/login?returnTo=…`)'),
  },
};

/** Responses every operation may answer, by status: the shared components of {@link componentResponses}. */
const STANDARD = {
  '400': 'BadRequest',
  '401': 'Unauthorized',
  '403': 'Forbidden',
  '404': 'NotFound',
  '429': 'TooManyRequests',
  '500': 'InternalError',
} as const;

/** The JSON Schema (2020-12) of a zod schema, without the `$schema` keyword. */
function jsonSchemaOf(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }) as Json;
  return rest;
}

/**
 * camelCase operation id from method and path: `GET /api/v1/agents/:id` → `getAgentsById`,
 * `POST /api/auth/device/code` → `postAuthDeviceCode`. The `/api` and `/v1` prefixes are dropped; path
 * parameters read `By<Name>`; other non-alphanumerics split words. Stable as long as the route is.
 */
export function operationIdOf(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((part) => part && part !== 'api' && part !== 'v1')
    .flatMap((part) => {
      const param = /^[:{](\w+)\}?$/.exec(part);
      return param ? ['by', param[1]!] : part.split(/[^A-Za-z0-9]+/);
    })
    .filter(Boolean);
  return [method.toLowerCase(), ...words]
    .map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1)))
    .join('');
}

/** The hook functions of a route at the stages where authentication guards run. */
function guardsOf(route: RouteOptions): unknown[] {
  return [route.onRequest, route.preParsing, route.preValidation, route.preHandler].flat().filter(Boolean);
}

/**
 * How a route authenticates: `admin` when `app.requireAdmin` guards it, `user` for `app.requireAuth`, else
 * `public`, whichever of `onRequest`, `preParsing`, `preValidation` or `preHandler` holds the guard.
 */
export function routeAuth(app: FastifyInstance, route: RouteOptions): RouteAuth {
  const guards = guardsOf(route);
  if (guards.includes(app.requireAdmin)) return 'admin';
  if (guards.includes(app.requireAuth)) return 'user';
  return 'public';
}

function routeFacts(app: FastifyInstance, route: RouteOptions, method: string, url: string): RouteFacts {
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const response = (schema.response ?? {}) as Record<string, unknown>;
  const config = (route.config ?? {}) as { limit?: unknown };
  return {
    auth: routeAuth(app, route),
    // Every `/api/` route has at least the default limit unless it opts out (src/plugins/rate-limit.ts).
    rateLimited: url.startsWith('/api/') && config.limit !== false,
    oauth: response['400'] === OAuthErrorResponse || OAUTH_PATHS.some((p) => p.test(url)),
    input: Boolean(schema.body || schema.querystring || schema.params || schema.headers),
    params: /[:{]/.test(url),
    // src/plugins/authenticate.ts: an unsafe method with the session cookie needs a same-origin Origin.
    unsafe: !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase()),
    problems: Object.keys(response).filter((status) => response[status] === Problem),
  };
}

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const oauthContent = { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } };
const rateLimitHeaders = {
  'X-RateLimit-Limit': { $ref: '#/components/headers/X-RateLimit-Limit' },
  'X-RateLimit-Remaining': { $ref: '#/components/headers/X-RateLimit-Remaining' },
  'X-RateLimit-Reset': { $ref: '#/components/headers/X-RateLimit-Reset' },
};

/** The shared error responses (`components.responses`), RFC 9457 problem details. */
function componentResponses(): Json {
  const problem = (description: string, headers?: Json) => ({
    description,
    ...(headers ? { headers } : {}),
    content: problemContent,
  });
  return {
    BadRequest: problem(
      'The request is not valid (`validation_failed` with the fields in `errors`, `malformed_json`, `bad_request`, `invalid_cursor`…)',
    ),
    Unauthorized: problem('No valid credential (`unauthenticated`, `invalid_api_key`, `api_key_expired`)', {
      'WWW-Authenticate': { description: 'RFC 6750 §3', schema: { type: 'string' } },
    }),
    Forbidden: problem(
      'Not allowed (`forbidden`, `insufficient_scope`, `plan_limit_reached`, `consent_required`, `account_pending_deletion`, `cross_origin_denied`…)',
    ),
    NotFound: problem('No such resource (`not_found`)'),
    TooManyRequests: problem('Rate limited (`rate_limited`): wait `Retry-After` seconds', {
      'Retry-After': { $ref: '#/components/headers/Retry-After' },
      ...rateLimitHeaders,
    }),
    InternalError: problem(
      'Unexpected server error (`internal_error`); the detail never holds a stack trace',
    ),
    OAuthError: {
      description:
        'OAuth error (RFC 6749 §5.2): `invalid_request` (also for a malformed, oversized or wrongly typed body), `invalid_grant`, `invalid_client`, `unsupported_grant_type`, `authorization_pending`, `slow_down`, `expired_token`, `access_denied`, `server_error`',
      content: oauthContent,
    },
    OAuthTooManyRequests: {
      description:
        'Rate limited: `temporarily_unavailable` (RFC 6749 §5.2 shape); wait `Retry-After` seconds',
      headers: { 'Retry-After': { $ref: '#/components/headers/Retry-After' }, ...rateLimitHeaders },
      content: oauthContent,
    },
  };
}

/** The `components` the transforms below refer to. */
function components(): Json {
  return {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key (`flc_…`) or an access token from `POST /api/auth/token` (RFC 6750).',
      },
      session: {
        type: 'apiKey',
        in: 'cookie',
        name: '__Host-fleece_session',
        description: 'The browser session cookie; state-changing requests also need a same-origin `Origin`.',
      },
    },
    schemas: {
      Problem: { ...jsonSchemaOf(Problem), description: 'RFC 9457 problem details' },
      OAuthError: { ...jsonSchemaOf(OAuthErrorResponse), description: 'RFC 6749 §5.2 error response' },
    },
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before retrying (RFC 9110 §10.2.3)',
        schema: { type: 'integer', minimum: 1 },
      },
      'X-RateLimit-Limit': {
        description: 'Requests allowed in the current window',
        schema: { type: 'integer', minimum: 0 },
      },
      'X-RateLimit-Remaining': {
        description: 'Requests left in the current window',
        schema: { type: 'integer', minimum: 0 },
      },
      'X-RateLimit-Reset': {
        description: 'Seconds until the current window resets',
        schema: { type: 'integer', minimum: 0 },
      },
    },
    responses: componentResponses(),
  };
}

/** Removes `format` values that are not formats (see {@link KNOWN_FORMATS}) everywhere in `node`. */
function dropUnknownFormats(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropUnknownFormats(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const object = node as Json;
  if (typeof object.format === 'string' && !KNOWN_FORMATS.has(object.format)) delete object.format;
  for (const value of Object.values(object)) dropUnknownFormats(value);
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Completes one operation's responses from its route facts (see {@link openapiPlugin}). */
function completeOperation(method: string, path: string, operation: Json): void {
  const facts = operation[FACTS] as RouteFacts | undefined;
  delete operation[FACTS];
  const responses = (operation.responses ?? {}) as Record<string, Json>;
  // `Default Response` is what @fastify/swagger writes when a route declares no answer; a route with an
  // override answers only what the override says.
  const overrides = SUCCESS_OVERRIDES[`${method.toUpperCase()} ${path}`];
  if (overrides) {
    if (responses['200']?.description === 'Default Response' && !overrides['200']) delete responses['200'];
    for (const [status, { [KEEP_JSON]: keep, ...response }] of Object.entries(overrides)) {
      const existing = responses[status];
      const kept = keep ? ((existing?.content as Json | undefined) ?? {}) : {};
      responses[status] = {
        ...response,
        description: (response.description as string | undefined) ?? (existing?.description as string),
        ...(response.content ? { content: { ...kept, ...(response.content as Json) } } : {}),
      };
    }
  }
  for (const response of Object.values(responses)) {
    if (response.description === 'Default Response') response.description = 'Success';
  }
  if (facts) {
    for (const status of facts.problems) {
      responses[status] =
        status in STANDARD
          ? { $ref: `#/components/responses/${STANDARD[status as keyof typeof STANDARD]}` }
          : { description: STATUS_CODES[status] ?? 'Error', content: problemContent };
    }
    const add = (status: keyof typeof STANDARD) => {
      responses[status] ??= { $ref: `#/components/responses/${STANDARD[status]}` };
    };
    if (facts.oauth) {
      // The OAuth endpoints answer every error in the RFC 6749 §5.2 shape (src/modules/identity/cli.routes.ts).
      for (const status of ['400', '401', '403', '413', '415', '500']) {
        responses[status] = { $ref: '#/components/responses/OAuthError' };
      }
      responses['429'] = { $ref: '#/components/responses/OAuthTooManyRequests' };
    }
    if (facts.input) add('400');
    if (facts.auth !== 'public') add('401');
    if (facts.auth !== 'public' || facts.unsafe) add('403');
    if (facts.params) add('404');
    if (facts.rateLimited) {
      add('429');
      for (const [status, response] of Object.entries(responses)) {
        if (status.startsWith('2') && !response.$ref)
          response.headers = { ...rateLimitHeaders, ...(response.headers as Json) };
      }
    }
    add('500');
    operation.security = facts.auth === 'public' ? [] : [{ bearer: [] }, { session: [] }];
  }
  operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Completes the document generated from the route schemas: shared components, each operation's error
 * responses (RFC 9457 `application/problem+json`, or RFC 6749 §5.2 `application/json` on the OAuth
 * endpoints), 429 with `Retry-After` and `X-RateLimit-*` on rate-limited operations, stream and redirect
 * answers, and no zod-only `format` values.
 */
function completeDocument(document: Json): Json {
  document.components = { ...((document.components as Json | undefined) ?? {}), ...components() };
  for (const [path, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined;
      if (operation) completeOperation(method, path, operation);
    }
  }
  dropUnknownFormats(document);
  return document;
}

/**
 * OpenAPI 3.1 generated from the routes' zod schemas (the same schemas @fleece/sdk ships), served at
 * `GET /api/v1/openapi.json`. Register before any route so every route is captured.
 *
 * Derived centrally, so a new route gets them without saying so: an `operationId` (the route's
 * `schema.operationId`, else {@link operationIdOf} of method and path); `security` from the route's guard
 * (`app.requireAuth` / `app.requireAdmin` in `onRequest`, `preValidation` or `preHandler`: bearer or
 * session; otherwise `[]`, public); the error answers each route can give (400 with input, 401/403 when
 * authenticated, 404 with path parameters, 429 when rate-limited, 500 always; see {@link completeOperation}).
 */
export const openapiPlugin = fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Fleece API',
          version: VERSION,
          license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
          description:
            'Errors are RFC 9457 problem details (application/problem+json); the OAuth endpoints answer RFC 6749 §5.2 errors. Lists take ?limit=&cursor= and answer { data, nextCursor }.',
        },
        servers: [{ url: app.config.publicUrl }],
        components: components(),
      },
      transform: (document) => {
        const result = jsonSchemaTransform(document);
        const schema = result.schema as Record<string, unknown> | undefined;
        if (!schema || schema.hide) return result;
        const route = document.route as RouteOptions;
        const method = Array.isArray(route.method) ? route.method[0]! : route.method;
        return {
          url: result.url,
          schema: {
            ...schema,
            operationId:
              (route.schema as { operationId?: string } | undefined)?.operationId ??
              operationIdOf(method, document.url),
            [FACTS]: routeFacts(app, route, method, document.url),
          },
        };
      },
      transformObject: (document) =>
        completeDocument(
          ('openapiObject' in document ? document.openapiObject : document.swaggerObject) as Json,
        ),
    });
    app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'fleece-openapi', dependencies: ['fleece-config', 'fleece-auth'] },
);
