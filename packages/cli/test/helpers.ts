import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { BASE_URL } from '../../testkit/src/index.js';
import type { Context } from '../src/lib/context.js';
import { type KeyringBackend, napiKeyring } from '../src/lib/credentials/keyring-store.js';
import type { StoredCredential } from '../src/lib/credentials/store.js';
import type { ConfirmQuestion, Prompts } from '../src/lib/prompts.js';
import { main } from '../src/main.js';

/** The error message @napi-rs/keyring gives on a machine without a keychain service. */
export const NO_KEYCHAIN = "Couldn't access platform storage: AccessDenied";

/** A keychain that fails like @napi-rs/keyring on a headless Linux machine. */
export function unavailableKeyring(): KeyringBackend {
  const fail = async (): Promise<never> => {
    throw new Error(NO_KEYCHAIN);
  };
  return { getPassword: async () => null, setPassword: fail, deletePassword: fail };
}

/** An in-memory keychain, for the paths that need a working one (this machine has none). */
export function memoryKeyring(): KeyringBackend & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  const key = (service: string, account: string) => `${service}/${account}`;
  return {
    entries,
    getPassword: async (service, account) => entries.get(key(service, account)) ?? null,
    setPassword: async (service, account, password) => {
      entries.set(key(service, account), password);
    },
    deletePassword: async (service, account) => entries.delete(key(service, account)),
  };
}

let realKeyringWorks: Promise<boolean> | undefined;
/**
 * The real @napi-rs/keyring binding. On this headless machine it cannot store anything, which is the
 * fallback path under test; on a machine where it works, tests must not write to the user's keychain, so
 * an equivalent unavailable keychain stands in.
 */
export async function realKeyring(): Promise<KeyringBackend> {
  const real = await napiKeyring();
  realKeyringWorks ??= real
    .setPassword('fleece-cli-test', 'probe', 'x')
    .then(async () => {
      await real.deletePassword('fleece-cli-test', 'probe');
      return true;
    })
    .catch(() => false);
  return (await realKeyringWorks) ? unavailableKeyring() : real;
}

/**
 * Scripted answers for prompts, in order; a prompt without an answer fails the test. `onConfirm` sees
 * each yes/no question whole (its default too).
 */
export function scriptedPrompts(
  answers: Array<boolean | string> = [],
  onConfirm?: (question: ConfirmQuestion) => void,
): Prompts & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string) => {
    asked.push(message);
    if (answers.length === 0) throw new Error(`unexpected prompt: ${message}`);
    return answers.shift()!;
  };
  return {
    asked,
    confirm: async (question) => {
      onConfirm?.(question);
      return next(question.message) as boolean;
    },
    secret: async (question) => next(question.message) as string,
    text: async (question) => next(question.message) as string,
  };
}

/** A temporary configuration home (XDG_CONFIG_HOME), removed after the test. */
export async function tempConfigHome(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleece-cli-test-'));
  afterEach(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What a run of the CLI produced. */
export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Messages of the prompts that were asked. */
  asked: string[];
  /** URLs the CLI asked to open in a browser. */
  opened: string[];
}

/** How to run the CLI in-process. */
export interface RunOptions {
  /** Environment (nothing is inherited from the test process). */
  env?: Record<string, string | undefined>;
  /** XDG_CONFIG_HOME; a fresh temporary directory by default. */
  configHome?: string;
  /** Text piped to stdin, or `'tty'` for an interactive terminal. Default: empty, not a terminal. */
  stdin?: string | 'tty';
  /** Whether stdout and stderr are terminals. */
  tty?: boolean;
  /** Answers to prompts. */
  answers?: Array<boolean | string>;
  /** Sees each yes/no question whole (message and default). */
  onConfirm?: (question: ConfirmQuestion) => void;
  /** The keychain; default the real binding (unavailable on this machine). */
  keyring?: KeyringBackend;
  /** Opens a URL; default: records it and succeeds. */
  openBrowser?: (url: string) => Promise<void>;
  /** Wall clock. */
  now?: () => number;
  /** Aborts the run like Ctrl+C. */
  signal?: AbortSignal;
  /** Platform; default linux. */
  platform?: NodeJS.Platform;
  /** The `fetch` the SDK sends with; default the global `fetch` (which msw intercepts). */
  fetch?: Context['fetch'];
  /** Sees each write to stdout as it happens (to act while a command runs). */
  onStdout?: (chunk: string) => void;
  /** Sees each write to stderr as it happens. */
  onStderr?: (chunk: string) => void;
}

/** Runs `fleece …args` in-process against msw (through the global `fetch`) and captures everything. */
export async function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const configHome = options.configHome ?? (await tempConfigHome());
  let stdout = '';
  let stderr = '';
  const opened: string[] = [];
  const prompts = scriptedPrompts(options.answers, options.onConfirm);
  const tty = options.tty ?? false;
  const stdinText = options.stdin === 'tty' ? '' : (options.stdin ?? '');
  const stdin = Object.assign(Readable.from(stdinText ? [stdinText] : []), {
    isTTY: options.stdin === 'tty',
  });
  const keyring = options.keyring ?? (await realKeyring());
  const ctx: Context = {
    env: { XDG_CONFIG_HOME: configHome, ...options.env },
    stdin,
    stdout: {
      write: (s: string) => {
        stdout += s;
        options.onStdout?.(s);
        return true;
      },
      isTTY: tty,
      columns: 100,
    },
    // A terminal's cursor methods, for ora; the real rendering is checked under a pty (tty.test.ts).
    stderr: Object.assign(
      {
        write: (s: string) => {
          stderr += s;
          options.onStderr?.(s);
          return true;
        },
        isTTY: tty,
        columns: 100,
      },
      tty ? { cursorTo: () => true, clearLine: () => true, moveCursor: () => true } : {},
    ),
    signal: options.signal ?? new AbortController().signal,
    platform: options.platform ?? 'linux',
    homedir: '/home/test',
    prompts,
    openBrowser: options.openBrowser ?? (async (url) => void opened.push(url)),
    keyring: async () => keyring,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    now: options.now ?? (() => Date.now()),
  };
  const exitCode = await main(['node', 'fleece', ...args], ctx);
  return { exitCode, stdout, stderr, asked: prompts.asked, opened };
}

/** A stored OAuth credential for the msw origin ({@link BASE_URL}). */
export function oauthCredential(overrides: Partial<StoredCredential> = {}): StoredCredential {
  return {
    server: BASE_URL,
    profile: 'default',
    accessToken: 'at_1',
    refreshToken: 'rt_1',
    expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(),
    tokenType: 'bearer',
    ...overrides,
  };
}

/** Strips ANSI escape sequences. */
export function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC.
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
}
