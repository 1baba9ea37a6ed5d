import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Everything a benchmark started (child processes, databases, temporary directories), undone in reverse
 * order by {@link Teardown.run}: at the end of the run, when it fails, and on SIGINT or SIGTERM (then the
 * process exits with 130 or 143). Should the process exit without running it (an uncaught error), every
 * child still alive is killed with SIGKILL from the `exit` handler, so no server outlives the benchmark.
 */
export class Teardown {
  readonly #steps: (() => Promise<void>)[] = [];
  readonly #children = new Set<ChildProcess>();
  readonly #onExit = () => {
    for (const child of this.#children) child.kill('SIGKILL');
  };
  readonly #onSignal = (signal: NodeJS.Signals) => {
    void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  constructor() {
    process.once('exit', this.#onExit);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  /** Registers `step` to run at teardown, before every step registered earlier. */
  defer(step: () => Promise<void>): void {
    this.#steps.push(step);
  }

  /**
   * Spawns `command` (`args`, `options`) and registers its end: SIGTERM, then SIGKILL when it has not
   * exited within 5 s. `exited` resolves with its exit code (or the signal that ended it).
   */
  spawn(
    command: string,
    args: string[],
    options: SpawnOptions,
  ): { child: ChildProcess; exited: Promise<number | string> } {
    const child = spawn(command, args, options);
    this.#children.add(child);
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => {
        this.#children.delete(child);
        resolve(code ?? signal ?? 'unknown');
      }),
    );
    this.defer(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    });
    return { child, exited };
  }

  /** Runs every registered step, newest first; a failing step is reported on stderr and the rest still run. */
  async run(): Promise<void> {
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      await step().catch((error: unknown) => {
        process.stderr.write(`gateway bench teardown: ${(error as Error).message}\n`);
      });
    }
    process.off('exit', this.#onExit);
  }
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago (for servers that cannot take port 0). */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/**
 * Calls `check` every 50 ms until it returns a value, and returns that value.
 *
 * @throws {Error} `what` with `detail()` when `exited` settles first (the process died) or after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  exited: Promise<unknown>,
  detail: () => string = () => '',
  timeoutMs = 120_000,
): Promise<T> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (gone) throw new Error(`${what}: the process exited first${detail()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts the mock OpenAI-compatible upstream (bench/gateway/upstream.ts) in its own process and returns
 * its base URL (`http://127.0.0.1:…/v1`). It exits when its stdin closes, which also happens when this
 * process dies.
 */
export async function startUpstream(teardown: Teardown): Promise<string> {
  const { child, exited } = teardown.spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./upstream.ts', import.meta.url))],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout! }), 'line'),
    exited.then((code) => {
      throw new Error(`the mock upstream exited with ${code} before it was ready`);
    }),
  ])) as [string];
  return (JSON.parse(line) as { url: string }).url;
}

const require = createRequire(import.meta.url);

/** The Portkey gateway package's version (the root devDependency, pinned). */
export function portkeyVersion(): string {
  const file = require.resolve('@portkey-ai/gateway/package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Starts the Portkey OSS gateway (`@portkey-ai/gateway`, its Node build `build/start-server.js`) in its
 * own process on a free port, `--headless` (no console UI), and returns its origin once `GET /` answers.
 * Requests reach an OpenAI-compatible upstream with the headers `x-portkey-provider: openai` and
 * `x-portkey-custom-host: <base URL>` (loopback hosts are trusted by default).
 */
export async function startPortkey(teardown: Teardown): Promise<string> {
  const port = await freePort();
  const { exited } = teardown.spawn(
    process.execPath,
    [require.resolve('@portkey-ai/gateway/build/start-server.js'), `--port=${port}`, '--headless'],
    // Its console output is a start-up banner only.
    { stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production' } },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the Portkey gateway', async () => ((await fetch(url)).ok ? true : undefined), exited);
  return url;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The server's production entry point, as `pnpm start` and the package's `fleece-server` bin run it. */
export const SERVER_BIN = join(ROOT, 'packages/server/dist/bin.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure {@link SERVER_BIN} is built from the current sources: when it is missing or older than a file
 * of packages/server/src or packages/sdk/src (which it bundles), runs `pnpm --filter @fleece/server build`
 * (output on stderr), so a measurement never runs stale code.
 *
 * @throws {Error} when the build fails.
 */
export function ensureServerBuilt(): void {
  let built = 0;
  try {
    built = statSync(SERVER_BIN).mtimeMs;
  } catch {
    // Not built yet.
  }
  const sources = Math.max(
    newestMtime(join(ROOT, 'packages/server/src')),
    newestMtime(join(ROOT, 'packages/sdk/src')),
  );
  if (built > sources) return;
  process.stderr.write(
    'gateway bench: building packages/server (dist is missing or older than its sources)…\n',
  );
  execFileSync('pnpm', ['--filter', '@fleece/server', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 2, 2],
  });
}
