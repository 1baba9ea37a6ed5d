import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { provisionAccount } from '../lib/provision.js';
import { INSTRUCTIONS, MODEL } from './payload.js';
import { freePort, SERVER_BIN, type Teardown, waitFor } from './processes.js';

const EMAIL = 'bench@example.test';

/** A Fleece server process ready for the benchmark's call. */
export interface FleeceServer {
  url: string;
  /** An API key of the account (every scope, so `agents:execute` among them). */
  key: string;
  /** The agent to execute: {@link INSTRUCTIONS}, on {@link MODEL} (OpenAI, that is the mock upstream). */
  agentId: string;
}

/** Options of {@link startFleece}. */
export interface FleeceOptions {
  /** Where its database is: `{ DATABASE_URL }` (PostgreSQL) or `{ FLEECE_DATA_DIR }` (embedded PGlite). */
  database: { DATABASE_URL: string } | { FLEECE_DATA_DIR: string };
  /** The mock upstream's base URL, given to the server as `OPENAI_BASE_URL`. */
  upstream: string;
  /** The file its log (stdout and stderr, JSON lines) is appended to. */
  logFile: string;
  /** Flags for its `node`, e.g. `--cpu-prof` (the profile is written when it stops, at teardown). */
  nodeFlags?: string[];
}

/**
 * Starts the built server (`node packages/server/dist/bin.js start`, the production entry point) in its own
 * process, configured as a production deployment: `NODE_ENV=production` with its own secret and encryption
 * key, info-level JSON logs (written to `logFile`, not read while measuring), the OpenAI provider at the mock
 * upstream, migrations at start. Then, over HTTP, signs the admin account in (the magic link is read from
 * the log: no email provider is set), puts it on Enterprise, gives the AI-processing consent, creates an API
 * key and the agent.
 *
 * Limits it relies on, all documented configuration: `FLEECE_ROUTE_LIMITS=agentExecute=…` raises the execute
 * route's limit (10 a minute by default) for this deployment; the plan's monthly execution quota and its API
 * request limits (per minute, per day) are raised with Enterprise overrides through the admin API
 * (`PATCH /api/v1/admin/users/:id` with `limits`), as an operator would for a heavy customer.
 *
 * @throws {Error} when the server exits or does not listen within 120 s, or a set-up step fails; the
 *   message ends with the log's last lines.
 */
export async function startFleece(teardown: Teardown, options: FleeceOptions): Promise<FleeceServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = openSync(options.logFile, 'a');
  const { exited } = teardown.spawn(process.execPath, [...(options.nodeFlags ?? []), SERVER_BIN, 'start'], {
    stdio: ['ignore', log, log],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      FLEECE_PUBLIC_URL: url,
      FLEECE_SECRET: randomBytes(48).toString('base64'),
      FLEECE_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      FLEECE_ADMIN_EMAILS: EMAIL,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: options.upstream,
      FLEECE_ROUTE_LIMITS: 'agentExecute=100000000',
      ...options.database,
    },
  });
  closeSync(log);
  const lines = () => readFileSync(options.logFile, 'utf8').split('\n');
  const tail = () => `; its log (${options.logFile}) ends:\n${lines().slice(-20).join('\n')}`;
  const found = (what: string, test: (line: string) => boolean) =>
    waitFor(what, async () => lines().find(test), exited, tail);
  await found('the Fleece server listening', (l) => l.includes('Fleece is listening'));
  try {
    const { key, session } = await provisionAccount(url, {
      origin: url,
      email: EMAIL,
      magicLink: async () =>
        (
          JSON.parse(await found('a magic link in the log', (l) => l.includes('"outbox":"magic_link"'))) as {
            link: string;
          }
        ).link,
      plan: 'enterprise',
      limits: {
        executionsPerMonth: 1_000_000_000,
        apiBurstPerMinute: 1_000_000_000,
        apiPerDay: 1_000_000_000,
      },
    });
    const consent = await fetch(`${url}/api/v1/account/consents/ai_processing`, {
      method: 'PUT',
      headers: session,
      body: JSON.stringify({ granted: true }),
    });
    if (consent.status !== 200) throw new Error(`the consent answered ${consent.status}`);
    const agent = await fetch(`${url}/api/v1/agents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', instructions: INSTRUCTIONS, model: MODEL }),
    });
    if (agent.status !== 201)
      throw new Error(`creating the agent answered ${agent.status}: ${await agent.text()}`);
    return { url, key, agentId: ((await agent.json()) as { id: string }).id };
  } catch (error) {
    throw new Error(`setting up the Fleece server: ${(error as Error).message}${tail()}`);
  }
}
