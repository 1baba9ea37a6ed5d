/**
 * The real entry point of `fleece` (bin.ts loads it after turning on the compile cache): wires the process
 * (argv, environment, streams, Ctrl+C, the browser and the keychain) into `main()` and sets the exit code.
 */
import { homedir } from 'node:os';
import { ExitCode } from './lib/exit-codes.js';
import { terminalPrompts } from './lib/prompts.js';
import { main } from './main.js';

// The first Ctrl+C aborts the running command (requests, waits and prompts stop; exit code 130); a
// second one ends the process at once.
const controller = new AbortController();
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(ExitCode.INTERRUPTED);
  controller.abort(new Error('Interrupted'));
});

// `fleece … | head` closes the pipe early: that is the reader's choice, not an error to report.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.OK);
    throw error;
  });
}

process.exitCode = await main(process.argv, {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  platform: process.platform,
  homedir: homedir(),
  prompts: terminalPrompts,
  openBrowser: async (url) => {
    const { default: open } = await import('open');
    // BROWSER names the program to open URLs with, as for gh, git and Python's webbrowser.
    const browser = process.env.BROWSER?.trim();
    await open(url, browser ? { app: { name: browser } } : {});
  },
  keyring: async () => (await import('./lib/credentials/keyring-store.js')).napiKeyring(),
  fetch: undefined,
  now: () => Date.now(),
});
