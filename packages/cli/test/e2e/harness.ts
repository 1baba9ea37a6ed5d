import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, vi } from 'vitest';
import {
  cliAccessToken,
  type RealServer,
  setOwnPlan,
  signInWithMagicLink,
  startRealServer,
} from '../../../testkit/src/index.js';

const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built binary the end-to-end tests run. */
export const BIN = join(CLI_DIR, 'dist', 'bin.js');

/**
 * Checks that the CLI binary exists. The `cli` project's global setup (`global-setup.ts`) builds it once
 * before any test file runs; a file never rebuilds it, since tsup's clean step would delete `dist/` under
 * another file that is running the binary.
 * @throws Error naming the missing file and how to build it.
 */
export async function buildCli(): Promise<void> {
  await access(BIN).catch(() => {
    throw new Error(
      `${BIN} is missing: run the tests through vitest (its global setup builds it) or pnpm build`,
    );
  });
}

/** What a run of the built binary produced. */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `fleece` process. */
export interface FleeceProcess {
  /** Resolves when stderr has matched `pattern`, with the match. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when stdout has matched `pattern`, with the match. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited. */
  done: Promise<ProcessResult>;
  /** Sends a signal (`SIGINT` is Ctrl+C). */
  kill(signal: NodeJS.Signals): void;
}

/** A fresh, empty home and configuration directory for one test's runs; removed by `cleanup()`. */
export async function tempHome(): Promise<{ home: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'fleece-e2e-'));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

/**
 * Starts the built `fleece` with `args`, stdin from /dev/null (or `input`), stdout and stderr piped, and
 * only the environment given (plus PATH and HOME): no display, no CI, no credentials unless passed.
 */
export function startFleece(
  args: string[],
  options: { home: string; env?: Record<string, string>; input?: string },
): FleeceProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: options.home,
      XDG_CONFIG_HOME: join(options.home, '.config'),
      ...options.env,
    },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  const output = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  for (const name of ['stdout', 'stderr'] as const) {
    child[name]!.setEncoding('utf8').on('data', (chunk: string) => {
      output[name] += chunk;
      for (const waiter of waiters.splice(0)) waiter();
    });
  }
  const done = new Promise<ProcessResult>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout: output.stdout, stderr: output.stderr }));
  });
  const waitFor = (name: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} never matched ${pattern}: ${output[name]}`)),
        timeoutMs,
      );
      const check = () => {
        const match = output[name].match(pattern);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        } else waiters.push(check);
      };
      check();
      void done.then(() => {
        if (!output[name].match(pattern)) {
          clearTimeout(timer);
          reject(new Error(`fleece exited before ${name} matched ${pattern}: ${output.stderr}`));
        }
      });
    });
  return {
    done,
    kill: (signal) => void child.kill(signal),
    waitForStderr: (pattern, timeoutMs) => waitFor('stderr', pattern, timeoutMs),
    waitForStdout: (pattern, timeoutMs) => waitFor('stdout', pattern, timeoutMs),
  };
}

/** Runs the built `fleece` to completion (stdin from /dev/null unless `input` is given). */
export function runFleece(
  args: string[],
  options: { home: string; env?: Record<string, string>; input?: string },
): Promise<ProcessResult> {
  return startFleece(args, options).done;
}

/** What {@link useRealServer} sets up for one end-to-end file. */
export interface E2eSetup {
  /** The running server (PGlite). */
  server: RealServer;
  /** A fresh, empty home directory for the file's runs. */
  home: string;
}

/** {@link E2eSetup} with a CLI signed in. */
export interface SignedInE2eSetup extends E2eSetup {
  /** An OAuth access token of the signed-in account, as `fleece login` stores it. */
  token: string;
  /** The environment of a CLI logged in with `token`: `FLEECE_TOKEN` and `FLEECE_BASE_URL`. */
  env: Record<string, string>;
}

/**
 * Registers one file's `beforeAll` (120 s) and `afterAll`: starts a real server (PGlite) and a fresh home
 * while checking the built binary; with `signIn`, makes `signIn.email` an admin (`FLEECE_ADMIN_EMAILS`),
 * signs it in by magic link, puts its own account on `signIn.plan` and signs the CLI in (device flow).
 * `ready` receives the set-up (and may add to it) before the first test; `afterAll` closes the server and
 * removes the home.
 */
export function useRealServer(
  options: { signIn?: undefined },
  ready: (setup: E2eSetup) => void | Promise<void>,
): void;
export function useRealServer(
  options: { signIn: { email: string; plan: string } },
  ready: (setup: SignedInE2eSetup) => void | Promise<void>,
): void;
export function useRealServer(
  options: { signIn?: { email: string; plan: string } },
  ready: (setup: SignedInE2eSetup) => void | Promise<void>,
): void {
  let server: RealServer | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const { signIn } = options;
    const [started, , temp] = await Promise.all([
      startRealServer(signIn ? { FLEECE_ADMIN_EMAILS: signIn.email } : {}),
      buildCli(),
      tempHome(),
    ]);
    server = started;
    cleanup = temp.cleanup;
    // Without `signIn`, the first overload applies: `ready` takes the plain set-up.
    if (!signIn) return (ready as (setup: E2eSetup) => void | Promise<void>)({ server, home: temp.home });
    const cookie = await signInWithMagicLink(server, signIn.email);
    await setOwnPlan(server, cookie, signIn.plan);
    const token = await cliAccessToken(server, cookie);
    return ready({
      server,
      home: temp.home,
      token,
      env: { FLEECE_TOKEN: token, FLEECE_BASE_URL: server.url },
    });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });
}

/**
 * A stand-in browser for `BROWSER`: a script that appends each URL it is asked to open to a file.
 * Returns its path and a reader that waits (up to 10 s) until at least one URL was opened.
 */
export async function fakeBrowser(dir: string): Promise<{ path: string; opened(): Promise<string[]> }> {
  const log = join(dir, 'opened.txt');
  const path = join(dir, 'fake-browser.sh');
  await writeFile(path, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${log}'\n`, { mode: 0o755 });
  const read = () =>
    readFile(log, 'utf8').then(
      (t) => t.split('\n').filter(Boolean),
      () => [] as string[],
    );
  return {
    path,
    // The CLI spawns the browser without waiting for it, so its line may land after the CLI's own output.
    opened: () =>
      vi.waitFor(
        async () => {
          const urls = await read();
          if (urls.length === 0) throw new Error(`the fake browser has not been opened yet (${log})`);
          return urls;
        },
        { timeout: 10_000, interval: 50 },
      ),
  };
}
