import { once } from 'node:events';
import { createServer } from 'node:net';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

/** A real Fleece server in this process: the app on PGlite in memory, on 127.0.0.1. */
export interface RealServer {
  /** Its origin, also its `FLEECE_PUBLIC_URL` (so the links it writes and its `Origin` check match). */
  url: string;
  /** The server's log lines (JSON), which hold the development outbox (magic links). */
  logs: string[];
  close(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Starts the real app (`buildApp`) on an in-memory PGlite database, listening on 127.0.0.1 on a free
 * port that is also its public URL (so the links and `Origin` checks it makes are right). `env` adds
 * configuration (such as `FLEECE_ADMIN_EMAILS`). For tests that need a socket: the CLI end-to-end tests
 * and the browser tests.
 */
export async function startRealServer(env: Record<string, string> = {}): Promise<RealServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const app = await buildApp(
    loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      FLEECE_DATA_DIR: 'memory://',
      FLEECE_PUBLIC_URL: url,
      ...env,
    }),
    { logStream: { write: (line: string) => void logs.push(line) } },
  );
  await app.listen({ host: '127.0.0.1', port });
  return { url, logs, close: () => app.close() };
}

/** The newest magic link the development outbox wrote to `server`'s log for `email`, or `undefined`. */
export function magicLinkFor(server: RealServer, email: string): string | undefined {
  const line = server.logs.findLast((l) => l.includes('"outbox":"magic_link"') && l.includes(email));
  return line ? (JSON.parse(line) as { link: string }).link : undefined;
}
