#!/usr/bin/env node
/**
 * Gets the server ready for `pnpm start` (the root `start` script runs this, then `exec`s the server):
 *
 * 1. checks the Node.js version (scripts/check-node.cjs);
 * 2. rebuilds `packages/server/dist` only when an input of that build changed since the last build made
 *    here, and then without type declarations (they take most of a full build's time and the running server
 *    does not read them; `pnpm build` still makes them).
 *
 * "Changed" means different content: a SHA-256 per input file, kept beside the build in
 * `packages/server/dist/.start-build.json`, is compared with the files on disk (an added or removed file
 * counts; a touched but unchanged one does not). The inputs are the server's and the SDK's sources (the
 * server bundles the SDK), their package.json files, the server's tsup and TypeScript configuration and
 * the lockfile. Every file the last build wrote must still be there.
 *
 * Exit codes: 0 when the build is current (or was just made), 1 when Node.js is too old or the build
 * failed (the reason on stderr).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** The repository root (this file's parent directory's parent). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The server package, relative to the root. */
export const SERVER_DIR = 'packages/server';

/** Where the record of the last start build is kept, relative to the root (inside dist: a clean build drops it). */
export const STAMP_FILE = 'packages/server/dist/.start-build.json';

/** Files and directories (walked recursively) whose content decides the server build, relative to the root. */
export const INPUTS = [
  'packages/server/src',
  'packages/server/package.json',
  'packages/server/tsup.config.ts',
  'packages/server/tsconfig.json',
  'packages/sdk/src',
  'packages/sdk/package.json',
  'tsconfig.base.json',
  'pnpm-lock.yaml',
];

/** Format of {@link STAMP_FILE}; a stamp of another version is ignored (the build is redone). */
const STAMP_VERSION = 1;

/**
 * @typedef {{ version: number, builtAt: string, inputs: Record<string, string>, outputs: string[] }} Stamp
 *   `inputs`: root-relative path (with `/`) → SHA-256 hex of the content; `outputs`: files the build wrote,
 *   relative to `packages/server/dist`.
 * @typedef {{ fresh: true } | { fresh: false, reason: string }} Freshness
 */

/** @param {string} dir @param {string} root @param {string[]} out */
function walk(dir, root, out) {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(rel, root, out);
    else if (entry.isFile()) out.push(rel);
  }
}

/**
 * Hashes the build inputs under `root`: each file of {@link INPUTS} (directories walked recursively), by
 * content. A missing input is left out (and so counts as removed).
 *
 * @param {string} [root] the repository root.
 * @param {readonly string[]} [inputs] root-relative files and directories.
 * @returns {Record<string, string>} root-relative path (with `/`) → SHA-256 hex, sorted by path.
 */
export function hashInputs(root = ROOT, inputs = INPUTS) {
  /** @type {string[]} */
  const files = [];
  for (const input of inputs) {
    const full = path.join(root, input);
    if (!existsSync(full)) continue;
    if (statSync(full).isDirectory()) walk(input, root, files);
    else files.push(input);
  }
  files.sort();
  /** @type {Record<string, string>} */
  const hashes = {};
  for (const file of files) {
    hashes[file] = createHash('sha256')
      .update(readFileSync(path.join(root, file)))
      .digest('hex');
  }
  return hashes;
}

/**
 * Reads {@link STAMP_FILE} under `root`.
 *
 * @param {string} [root]
 * @returns {Stamp | undefined} `undefined` when there is none, or it is unreadable or of another version.
 */
export function readStamp(root = ROOT) {
  try {
    const stamp = JSON.parse(readFileSync(path.join(root, STAMP_FILE), 'utf8'));
    if (
      stamp?.version !== STAMP_VERSION ||
      typeof stamp.inputs !== 'object' ||
      !Array.isArray(stamp.outputs)
    ) {
      return undefined;
    }
    return stamp;
  } catch {
    return undefined;
  }
}

/** @param {string[]} files @param {string} verb */
function describe(files, verb) {
  const shown = files.slice(0, 3).join(', ');
  const more = files.length > 3 ? ` and ${files.length - 3} more` : '';
  return `${files.length === 1 ? '1 file' : `${files.length} files`} ${verb} (${shown}${more})`;
}

/**
 * Decides whether the server build under `root` is current: there is a stamp, every output it lists exists,
 * and `inputs` (from {@link hashInputs}) equal the stamp's.
 *
 * @param {Record<string, string>} inputs the current hashes.
 * @param {Stamp | undefined} stamp the last build's record.
 * @param {string} [root]
 * @returns {Freshness} with a one-line reason when not fresh, such as `2 files changed (packages/server/src/app.ts, …)`.
 */
export function freshness(inputs, stamp, root = ROOT) {
  if (!stamp) return { fresh: false, reason: 'no build made by `pnpm start` yet' };
  const missing = stamp.outputs.filter((file) => !existsSync(path.join(root, SERVER_DIR, 'dist', file)));
  if (stamp.outputs.length === 0 || missing.length > 0) {
    return { fresh: false, reason: 'files of the last build are missing' };
  }
  const changed = [];
  const added = [];
  for (const [file, hash] of Object.entries(inputs)) {
    if (!(file in stamp.inputs)) added.push(file);
    else if (stamp.inputs[file] !== hash) changed.push(file);
  }
  const removed = Object.keys(stamp.inputs).filter((file) => !(file in inputs));
  const reasons = [];
  if (changed.length > 0) reasons.push(describe(changed, 'changed'));
  if (added.length > 0) reasons.push(describe(added, 'added'));
  if (removed.length > 0) reasons.push(describe(removed, 'removed'));
  return reasons.length === 0 ? { fresh: true } : { fresh: false, reason: reasons.join('; ') };
}

/**
 * Builds the server's JavaScript (tsup with the package's own configuration, declarations off) in a child
 * process whose working directory is `packages/server` under `root`.
 *
 * @param {string} [root]
 * @throws {Error} "the server build failed" when tsup exits non-zero (its errors are on stderr already).
 */
export function buildServer(root = ROOT) {
  const tsup = pathToFileURL(require.resolve('tsup')).href;
  const code = `const { build } = await import(${JSON.stringify(tsup)}); await build({ dts: false, silent: true });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: path.join(root, SERVER_DIR),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error('the server build failed (its errors are above)');
}

/**
 * Makes sure `packages/server/dist` under `root` is built from the current inputs: when {@link freshness}
 * says so, nothing is done; otherwise `build` runs and a new stamp is written. The hashes are taken before
 * building, so a file edited during the build makes the next start build again.
 *
 * @param {{ root?: string, build?: (root: string) => void, log?: (line: string) => void, now?: () => number }} [options]
 *   `build` defaults to {@link buildServer}; `log` receives one line per step.
 * @returns {{ built: boolean, reason?: string }}
 * @throws whatever `build` throws.
 */
export function ensureServerBuild(options = {}) {
  const { root = ROOT, build = buildServer, log = () => {}, now = Date.now } = options;
  const inputs = hashInputs(root);
  const state = freshness(inputs, readStamp(root), root);
  if (state.fresh) {
    log('fleece: the server build is up to date (no source changed since the last `pnpm start`).');
    return { built: false };
  }
  log(`fleece: building the server: ${state.reason}…`);
  const started = now();
  build(root);
  const dist = path.join(root, SERVER_DIR, 'dist');
  /** @type {string[]} */
  const outputs = [];
  walk('.', dist, outputs);
  /** @type {Stamp} */
  const stamp = {
    version: STAMP_VERSION,
    builtAt: new Date().toISOString(),
    inputs,
    outputs: outputs.map((file) => file.slice(2)).filter((file) => file !== path.basename(STAMP_FILE)),
  };
  writeFileSync(path.join(root, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`);
  log(`fleece: built the server in ${((now() - started) / 1000).toFixed(1)} s.`);
  return { built: true, reason: state.reason };
}

/** Runs the steps above for `pnpm start`; returns the exit code. */
function main() {
  const { run } = require('./check-node.cjs');
  const nodeStatus = run([]);
  if (nodeStatus !== 0) return nodeStatus;
  try {
    ensureServerBuild({ log: (line) => process.stderr.write(`${line}\n`) });
    return 0;
  } catch (error) {
    process.stderr.write(`fleece: ${/** @type {Error} */ (error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
