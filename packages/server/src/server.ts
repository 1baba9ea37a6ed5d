import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { type Config, ConfigError } from './config.js';

/** Turns a listen failure the operator can fix into a ConfigError naming HOST or PORT. */
function listenError(error: NodeJS.ErrnoException, config: Config): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new ConfigError(
        'PORT',
        `Port ${config.port} on ${config.host} is already in use: stop the process using it, or set PORT to a free port.`,
      );
    case 'EACCES':
      return new ConfigError(
        'PORT',
        `Not allowed to listen on port ${config.port}: ports below 1024 need privileges; set PORT to 1024 or above.`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(
        'HOST',
        `Cannot listen on HOST=${config.host}: it is not an address of this machine. Use 127.0.0.1, 0.0.0.0 or one of its addresses.`,
      );
    default:
      return error;
  }
}

/**
 * Two SIGINTs closer than this, in ms, are one Ctrl-C. The terminal sends SIGINT to its whole foreground
 * process group, and a package manager running the server (`pnpm start`, `npm start`) forwards the same
 * Ctrl-C to its child again a millisecond later; a person pressing Ctrl-C twice to stop at once is slower.
 */
export const REPEATED_SIGINT_MS = 500;

/**
 * Returns a function to call on each SIGINT, which answers whether that SIGINT repeats the previous one
 * (came less than `windowMs` after it: see {@link REPEATED_SIGINT_MS}). The first call answers `false`.
 *
 * @param now a monotonic time in ms (`performance.now`).
 */
export function repeatedSignalFilter(now: () => number, windowMs = REPEATED_SIGINT_MS): () => boolean {
  let previous: number | undefined;
  return () => {
    const at = now();
    const repeated = previous !== undefined && at - previous < windowMs;
    previous = at;
    return repeated;
  };
}

/**
 * Graceful shutdown with close-with-grace: on SIGTERM, SIGINT or an uncaught error, `app` closes (in-flight
 * work gets up to `FLEECE_SHUTDOWN_TIMEOUT_MS`) and the process exits 0 (1 after an error or when the wait
 * runs out). A second signal during the shutdown stops at once with exit code 1, except a SIGINT that only
 * repeats the first (see {@link REPEATED_SIGINT_MS}): Ctrl-C under `pnpm start` exits 0 like Ctrl-C alone.
 */
function installShutdown(
  app: FastifyInstance,
  config: Config,
  messages: { crashed: string; stopping: string; stopped: string },
): void {
  let closing = false;
  let interrupted = false;
  const grace = closeWithGrace(
    { delay: config.shutdownTimeoutMs, logger: app.log, skip: ['SIGINT'] },
    async ({ signal, err }) => {
      closing = true;
      if (err) app.log.error({ err }, messages.crashed);
      else app.log.info({ signal: signal ?? (interrupted ? 'SIGINT' : undefined) }, messages.stopping);
      await app.close();
      app.log.info(messages.stopped);
    },
  );
  const repeated = repeatedSignalFilter(() => performance.now());
  process.on('SIGINT', () => {
    if (repeated()) return;
    if (closing) {
      app.log.error('second SIGINT, exiting');
      process.exit(1);
    }
    interrupted = true;
    void grace.close();
  });
}

/**
 * What a person starting a development server (not production) needs to know to sign in: where sign-in
 * links go while no email provider is set, and how to become an admin while none is configured.
 *
 * @returns the lines for the start banner, in order; none in production.
 */
export function developmentHints(config: Config): string[] {
  if (config.env === 'production') return [];
  const lines = [`Sign in at ${config.publicUrl}/login, or from the CLI with \`fleece login --device\`.`];
  if (!config.email.resendApiKey) {
    lines.push('No email provider is set (RESEND_API_KEY): sign-in links are printed in this terminal.');
  }
  if (config.adminEmails.length === 0) {
    lines.push(
      'No admin yet: start the server with FLEECE_ADMIN_EMAILS=you@example.com; that address becomes an admin when it signs in.',
    );
  }
  return lines;
}

/**
 * Builds the app, listens on `HOST:PORT` (HTTPS with TLS 1.3 minimum when the TLS files are set), and
 * installs graceful shutdown: on SIGTERM or SIGINT the server stops accepting connections, lets in-flight
 * requests finish for up to `FLEECE_SHUTDOWN_TIMEOUT_MS`, closes the database and exits 0 (1 when the
 * wait runs out).
 *
 * @returns the listening app and its address.
 * @throws {ConfigError} naming `PORT` or `HOST` when the address is taken or not this machine's.
 */
export async function startServer(config: Config): Promise<{ app: FastifyInstance; address: string }> {
  const app = await buildApp(config);
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await app.close();
    throw listenError(error as NodeJS.ErrnoException, config);
  }
  installShutdown(app, config, {
    crashed: 'shutting down after an uncaught error',
    stopping: 'shutting down: finishing in-flight requests',
    stopped: 'shutdown complete',
  });
  if (config.env === 'production' && app.database.kind === 'pglite') {
    app.log.warn(
      'Running in production on the embedded database: one process, one disk, no failover. Set DATABASE_URL to use PostgreSQL.',
    );
  }
  app.log.info(
    { address, database: app.database.kind, publicUrl: config.publicUrl },
    `Fleece is listening on ${address} (database: ${app.database.kind === 'pglite' ? `embedded, ${config.dataDir}` : 'PostgreSQL'})`,
  );
  for (const line of developmentHints(config)) app.log.info(line);
  return { app, address };
}

/**
 * Runs only the background workers (`fleece-server worker`): builds the app with `FLEECE_WORKERS=inline`
 * whatever the environment says, starts the job queue (workers, cron schedules, maintenance) and serves no
 * HTTP. On SIGTERM or SIGINT the workers stop taking jobs, running jobs get up to
 * `FLEECE_SHUTDOWN_TIMEOUT_MS` to finish, the database closes and the process exits 0 (1 when the wait
 * runs out). Meant for PostgreSQL deployments, where any number of workers share the queue with web-only
 * instances (`FLEECE_WORKERS=off`); the embedded database is locked to one process.
 *
 * @returns the running (not listening) app.
 */
export async function startWorker(config: Config): Promise<FastifyInstance> {
  const app = await buildApp({ ...config, workers: 'inline' });
  try {
    await app.ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  installShutdown(app, config, {
    crashed: 'worker shutting down after an uncaught error',
    stopping: 'worker shutting down: finishing running jobs',
    stopped: 'worker stopped',
  });
  app.log.info(
    { queues: app.jobs.names(), database: app.database.kind },
    `Fleece worker is running (queues: ${app.jobs.names().join(', ') || 'none'})`,
  );
  return app;
}
