import type { Fetch } from '@fleece/sdk';
import type { KeyringBackend } from './credentials/keyring-store.js';
import type { Prompts } from './prompts.js';

/** A readable stream as the CLI uses stdin: text chunks, and whether it is a terminal. */
export interface InputStream extends AsyncIterable<string | Buffer> {
  isTTY?: boolean | undefined;
}

/** A writable stream as the CLI uses stdout and stderr. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/**
 * Everything a command reads from or does to the outside world. The entry point builds it from the
 * process (see `processContext()` in bin.ts); tests build one with scripted streams, prompts, a fake
 * browser and msw's `fetch`, so every command runs in-process and deterministically.
 */
export interface Context {
  /** Environment variables. */
  env: Readonly<Record<string, string | undefined>>;
  stdin: InputStream;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Aborts on Ctrl+C: network calls and waits stop and the command exits with 130. */
  signal: AbortSignal;
  /** `process.platform`. */
  platform: NodeJS.Platform;
  /** The user's home directory (for `~/.config/fleece`). */
  homedir: string;
  /** Interactive questions; only asked when the session is interactive (see `Output.interactive`). */
  prompts: Prompts;
  /**
   * Opens `url` in the user's browser.
   * @throws when no browser could be started.
   */
  openBrowser(url: string): Promise<void>;
  /** Loads the OS keychain binding (lazily: it is a native module). */
  keyring(): Promise<KeyringBackend>;
  /** The `fetch` the SDK sends with; `undefined` for the SDK's own (undici, proxies honoured). */
  fetch: Fetch | undefined;
  /** Wall-clock milliseconds since the epoch (token expiry, clock skew). */
  now(): number;
}
