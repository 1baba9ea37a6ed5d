import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';

/**
 * Builds the app, listens on `HOST:PORT` (HTTPS with TLS 1.3 minimum when the TLS files are set), and
 * installs graceful shutdown: on SIGTERM or SIGINT the server stops accepting connections, lets in-flight
 * requests finish for up to `FLEECE_SHUTDOWN_TIMEOUT_MS`, closes the database and exits 0 (1 when the
 * wait runs out).
 *
 * @returns the listening app and its address.
 */
export async function startServer(config: Config): Promise<{ app: FastifyInstance; address: string }> {
  const app = await buildApp(config);
  const address = await app.listen({ host: config.host, port: config.port });
  closeWithGrace({ delay: config.shutdownTimeoutMs, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an uncaught error');
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
  });
  app.log.info(
    { address, database: app.database.kind, publicUrl: config.publicUrl },
    `Fleece is listening on ${address} (database: ${app.database.kind === 'pglite' ? `embedded, ${config.dataDir}` : 'PostgreSQL'})`,
  );
  return { app, address };
}
