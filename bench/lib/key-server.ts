import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LimitOverrides, PlanId } from '@fleece/sdk';
import { buildApp, loadConfig } from '@fleece/server';
import { provisionAccount } from './provision.js';

/** A real server in this process with one account and an API key of it. */
export interface KeyServer {
  /** The server's origin. */
  url: string;
  /** The account's API key (`flc_…`), all scopes unless asked otherwise. */
  key: string;
  /** The environment that points `fleece` at the server with that key. */
  env: { FLEECE_API_KEY: string; FLEECE_BASE_URL: string };
  close(): Promise<void>;
}

/**
 * Starts the app on in-memory PGlite, signs `bench@example.test` in through a magic link (the dev outbox),
 * puts the account on `plan` (through the admin API, as the listed admin; with `limits` as Enterprise
 * overrides), and creates an API key with `scopes`. Request logging is turned down to `warn` afterwards so it
 * does not weigh on what is measured. `env` adds configuration.
 */
export async function startKeyServer(
  options: { plan?: PlanId; limits?: LimitOverrides; scopes?: string[]; env?: Record<string, string> } = {},
): Promise<KeyServer> {
  const lines: string[] = [];
  const app = await buildApp(
    loadConfig({
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      FLEECE_DATA_DIR: 'memory://',
      FLEECE_ADMIN_EMAILS: 'bench@example.test',
      ...options.env,
    }),
    { logStream: { write: (line: string) => void lines.push(line) } },
  );
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const { key } = await provisionAccount(url, {
      origin: new URL(app.config.publicUrl).origin,
      email: 'bench@example.test',
      magicLink: async () => lines.map((l) => JSON.parse(l) as { link?: string }).find((r) => r.link)!.link!,
      plan: options.plan,
      limits: options.limits,
      scopes: options.scopes,
    });
    app.log.level = 'warn';
    return { url, key, env: { FLEECE_API_KEY: key, FLEECE_BASE_URL: url }, close: () => app.close() };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/**
 * {@link startKeyServer} in a child process (bench/lib/key-server-child.ts, run from the sources through
 * tsx, as `pnpm bench` runs): resolves once it listens; `close()` ends it.
 */
export async function startKeyServerProcess(
  options: Parameters<typeof startKeyServer>[0] = {},
): Promise<Pick<KeyServer, 'url' | 'key' | 'close'>> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@fleece/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./key-server-child.ts', import.meta.url)),
      JSON.stringify(options),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line'),
    exited.then(([code]) => {
      throw new Error(`the key server exited with ${code} before it was ready`);
    }),
  ])) as [string];
  const { url, key } = JSON.parse(line) as { url: string; key: string };
  return {
    url,
    key,
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}
