import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEMS, ProblemError, problemType } from '../errors.js';

/**
 * Problem details (RFC 9457) on the wire: the one writer of an `application/problem+json` response and the
 * problems HTTP layers build. Below src/plugins/ and src/modules/, so route modules use them without
 * reaching into a plugin.
 */

/** The media type of a problem response (RFC 9457 §3), with its charset. */
export const PROBLEM_JSON = 'application/problem+json; charset=utf-8';

/** Writes a ProblemError as an RFC 9457 `application/problem+json` response. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  problem: ProblemError,
): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  // An error is about one request at one moment: never cached, whichever route (or none) it came from.
  reply.header('cache-control', 'no-store');
  // A 5xx that retrying cannot change (billing off on this server) tells clients so (the SDK honours it).
  if ('permanent' in PROBLEMS[problem.code]) reply.header('x-should-retry', 'false');
  return (
    reply
      .code(problem.status)
      .type(PROBLEM_JSON)
      // A problem is never shaped by the route's response schema for its status (an OAuth route's 400 is an
      // RFC 6749 error object): serialising one through it failed, and the client got Fastify's bare 500.
      .serializer(JSON.stringify)
      .send({
        type: problemType(problem.code),
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        code: problem.code,
        requestId: request.id,
        ...problem.extras,
      })
  );
}

/** The detail of a 429 problem, with how long to wait. */
export function rateLimitedProblem(retryAfterSeconds: number): ProblemError {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new ProblemError(
    'rate_limited',
    `Too many requests. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
    {},
    { 'retry-after': String(seconds) },
  );
}
