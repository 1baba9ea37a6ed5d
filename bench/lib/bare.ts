import Fastify, { type FastifyInstance } from 'fastify';

/**
 * The baseline every HTTP benchmark compares against: a bare Fastify instance (no plugins, no logging)
 * answering a small JSON body, listening on 127.0.0.1.
 */
export async function startBareFastify(): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ logger: false });
  app.get('/bare', async () => ({ status: 'ok' }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `${url}/bare` };
}
