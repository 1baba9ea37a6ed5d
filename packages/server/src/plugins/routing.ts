import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../errors.js';
import { nonCanonicalPath } from '../lib/router.js';
import { sendProblem } from './errors.js';
import { responseHeaders } from './security-headers.js';

/**
 * Answers a request whose path is not in canonical form ({@link nonCanonicalPath}) with 404 `not_found`
 * before anything else looks at it (authentication, limits, parsing), whatever route the router would have
 * found for it: the router decodes percent-escapes before matching, so `/%61pi/v1/me` would otherwise reach
 * `/api/v1/me` under a URL that policies keyed on the path do not recognise. Register right after the
 * security headers, so the 404 carries them.
 */
export const routingPlugin = fp(
  async (app) => {
    app.addHook('onRequest', async (request) => {
      const reason = nonCanonicalPath(request.url);
      if (reason === undefined) return;
      const path = request.url.split('?')[0]!.slice(0, 200);
      throw new ProblemError(
        'not_found',
        `No route matches ${request.method} ${path}: it has ${reason}. Paths match only as written in /api/v1/openapi.json (lower case, single slashes, no trailing slash).`,
      );
    });
  },
  { name: 'fleece-routing', dependencies: ['fleece-errors'] },
);

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route or hook runs, a request target with
 * a malformed percent-escape (`/api/v1/%zz`, FST_ERR_BAD_URL) or a path parameter longer than
 * `maxParamLength` (FST_ERR_MAX_PARAM_LENGTH), answers 400 `bad_request` problem+json (RFC 9457) with the
 * headers every response carries (security headers, `Cache-Control: no-store`, `X-Request-Id`), not
 * Fastify's bare JSON without them. Passed to `Fastify()` by src/app.ts.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(responseHeaders(true));
  reply.header('x-request-id', request.id);
  const detail =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A segment of the request path is longer than any id this API takes.'
      : 'The request path is not valid: every `%` must start a percent-escape of two hex digits (RFC 3986 §2.1).';
  sendProblem(request, reply, new ProblemError('bad_request', detail));
}
