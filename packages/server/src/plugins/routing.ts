import fp from 'fastify-plugin';
import { ProblemError } from '../errors.js';
import { nonCanonicalPath } from '../lib/router.js';

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
      // RFC 9112 §3.2: an HTTP/1.1 request without Host MUST be answered 400 (Node's own answer to it is bare;
      // src/app.ts turns that off so this one, with every header, is given instead).
      if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
        throw new ProblemError(
          'host_required',
          'An HTTP/1.1 request must carry a Host header (RFC 9112 §3.2). Send the server name in Host.',
        );
      }
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
