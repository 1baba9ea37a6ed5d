import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { DatabaseLockedError } from './db/client.js';
import { openDatabase } from './db/open.js';
import { VERSION } from './lib/package.js';
import { rotateExecutionKeys } from './modules/executions/rotate.js';
import { startServer } from './server.js';

const USAGE = `Usage: fleece-server [command]

Commands:
  start     Migrate the database, then serve the API (default)
  migrate   Apply pending database migrations and exit
  keys rotate
            Re-encrypt executions, their stream events and chat messages under FLEECE_ENCRYPTION_KEY
            (old rows open with FLEECE_ENCRYPTION_KEYS_PREVIOUS), in batches, and exit

Options:
  -h, --help     Show this help
  -v, --version  Show the version

Configuration comes from environment variables; see docs/operations.md.
With no DATABASE_URL the server uses an embedded PostgreSQL (PGlite) in ./.fleece/data.`;

/** Streams the command writes to; tests pass their own. */
export interface Io {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const processIo: Io = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

/**
 * Runs the `fleece-server` command line. Resolves with the exit code for commands that finish (`migrate`, `keys rotate`,
 * `--help`, errors); `start` resolves with `undefined` once listening and the process lives on.
 * Errors the user can fix print one line on stderr and give exit code 1; usage errors give 2.
 */
export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: Io = processIo,
): Promise<number | undefined> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (error) {
    io.stderr(`fleece-server: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.version) {
    io.stdout(VERSION);
    return 0;
  }
  const command = parsed.positionals.join(' ') || 'start';
  if (parsed.values.help || !['start', 'migrate', 'keys rotate'].includes(command)) {
    if (parsed.values.help) {
      io.stdout(USAGE);
      return 0;
    }
    io.stderr(`fleece-server: unknown command "${parsed.positionals.join(' ')}"\n${USAGE}`);
    return 2;
  }
  try {
    const config = loadConfig(env);
    if (command === 'migrate') {
      const database = await openDatabase(config, { migrate: true });
      await database.close();
      io.stdout('Migrations are up to date.');
      return 0;
    }
    if (command === 'keys rotate') {
      const database = await openDatabase(config, { migrate: true });
      try {
        const report = await rotateExecutionKeys(database.db, config.encryption);
        io.stdout(
          `Re-encrypted ${report.executions} execution${report.executions === 1 ? '' : 's'}, ${report.events} stream event${report.events === 1 ? '' : 's'} and ${report.chatMessages} chat message${report.chatMessages === 1 ? '' : 's'} under key ${config.encryption.current.id}.`,
        );
      } finally {
        await database.close();
      }
      return 0;
    }
    await startServer(config);
    return undefined;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DatabaseLockedError) {
      io.stderr(`fleece-server: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
