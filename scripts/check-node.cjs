#!/usr/bin/env node
/*
 * Fails `pnpm install` at once, with what to do, when Node.js is older than the repository needs.
 *
 * pnpm runs it as the root `pnpm:devPreinstall` script: before it resolves or fetches any dependency, so on
 * a fresh clone the message comes in a fraction of a second instead of after the download. The minimum is
 * read from `engines.node` of the root package.json (one place to change it). `pnpm start` runs it too.
 *
 * Written for any Node.js that may still be installed (CommonJS, ES2015 at most, no dependency, no `node:`
 * specifiers: Node.js 6 and later run it): it must run — and explain — on exactly the versions it refuses.
 *
 * Usage: node scripts/check-node.cjs [--pretend-version=v20.20.2]   (the flag is for tests)
 * Exit codes: 0 when this Node.js is new enough, 1 when it is not (message on stderr), 2 on a bad flag.
 */
'use strict';

/**
 * Parses a Node.js version such as `v20.20.2` or `22.12.0` (a leading `v` and a pre-release suffix are
 * allowed) into `[major, minor, patch]`, or `null` when it is not one.
 *
 * @param {string} version
 * @returns {number[] | null}
 */
function parseVersion(version) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(String(version));
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

/**
 * Reads the minimum Node.js version from an `engines.node` range of the form `>=X.Y.Z` (the only form the
 * repository uses).
 *
 * @param {string} range the `engines.node` value, such as `>=22.12.0`.
 * @returns {string} the minimum version, such as `22.12.0`.
 * @throws {Error} when the range is not `>=X.Y.Z`.
 */
function minimumFromRange(range) {
  const match = /^\s*>=\s*v?(\d+\.\d+\.\d+)\s*$/.exec(String(range));
  if (!match) throw new Error(`engines.node in package.json must read ">=X.Y.Z" (it reads "${range}")`);
  return String(match[1]);
}

/**
 * Whether `version` is at least `minimum` (both `X.Y.Z`, with or without a leading `v`); an unparsable
 * `version` is not.
 *
 * @param {string} version
 * @param {string} minimum
 * @returns {boolean}
 */
function satisfies(version, minimum) {
  const have = parseVersion(version);
  const need = parseVersion(minimum);
  if (!have || !need) return false;
  for (let i = 0; i < 3; i++) {
    const a = Number(have[i]);
    const b = Number(need[i]);
    if (a !== b) return a > b;
  }
  return true;
}

/**
 * The message printed when Node.js `version` (running from `execPath`) is older than `minimum`: which
 * version is needed, which one runs and where it is, and the one command that installs a current one.
 *
 * @param {string} version such as `v20.20.2`.
 * @param {string} minimum such as `22.12.0`.
 * @param {string} execPath the running binary, such as `/usr/bin/node`.
 * @returns {string} several lines, without a trailing newline.
 */
function tooOldMessage(version, minimum, execPath) {
  const v = String(version).replace(/^v?/, 'v');
  return [
    `Fleece needs Node.js ${minimum} or newer; this is Node.js ${v} (${execPath}).`,
    '',
    'Install Node.js 24 (LTS) with pnpm itself, then run `pnpm install` again in a new terminal:',
    '',
    '    pnpm runtime set node 24 -g',
    '',
    'or install Node.js 24 from https://nodejs.org/en/download (the installer, or your version manager:',
    '`nvm install 24`, `fnm install 24`). Check with `node --version`.',
  ].join('\n');
}

/**
 * Checks `version` against the repository's `engines.node`.
 *
 * @param {{ version: string, execPath: string, range: string }} input
 * @returns {{ ok: true } | { ok: false, message: string }}
 */
function checkNode(input) {
  const minimum = minimumFromRange(input.range);
  if (satisfies(input.version, minimum)) return { ok: true };
  return { ok: false, message: tooOldMessage(input.version, minimum, input.execPath) };
}

/**
 * Runs the check for this process (or the version of `--pretend-version=`) and returns the exit code:
 * 0 when new enough, 1 (message on stderr) when not, 2 when the flag is not understood.
 *
 * @param {string[]} argv the arguments after the script's path.
 * @returns {number}
 */
function run(argv) {
  let version = process.version;
  for (let i = 0; i < argv.length; i++) {
    const arg = String(argv[i]);
    const flag = /^--pretend-version=(.+)$/.exec(arg);
    if (!flag || !parseVersion(String(flag[1]))) {
      process.stderr.write(
        `check-node: unknown argument "${arg}" (the only one is --pretend-version=vX.Y.Z)\n`,
      );
      return 2;
    }
    version = String(flag[1]);
  }
  const range = require(`${__dirname}/../package.json`).engines.node;
  const result = checkNode({ version: version, execPath: process.execPath, range: range });
  if (result.ok) return 0;
  process.stderr.write(`${result.message}\n`);
  return 1;
}

module.exports = {
  parseVersion: parseVersion,
  minimumFromRange: minimumFromRange,
  satisfies: satisfies,
  tooOldMessage: tooOldMessage,
  checkNode: checkNode,
  run: run,
};

if (require.main === module) process.exitCode = run(process.argv.slice(2));
