import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fp from 'fastify-plugin';
import { scrubCredentials } from '../logger.js';

/** An incoming `X-Request-Id` is kept only when it is a short token of safe characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/**
 * Fastify `genReqId`: reuses a safe incoming `X-Request-Id` (8–64 of `A-Z a-z 0-9 . _ : -`) so a trace can
 * span a proxy, and otherwise mints `req_` + 32 hex characters (a random UUID). Anything else in the header is ignored,
 * so a client cannot inject log lines or headers through it; so is an id shaped like a credential (an API key sent
 * there by mistake would otherwise be echoed and logged on every line of the request).
 */
export function genReqId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  if (
    typeof incoming === 'string' &&
    SAFE_REQUEST_ID.test(incoming) &&
    scrubCredentials(incoming) === incoming
  ) {
    return incoming;
  }
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/** Echoes the request id on every response as `X-Request-Id`, errors and 404s included. */
export const requestIdPlugin = fp(
  async (app) => {
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });
  },
  { name: 'fleece-request-id' },
);
