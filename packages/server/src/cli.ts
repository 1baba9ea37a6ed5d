import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DatabaseLockedError } from './db/client.js';
import { databaseConnectionAdvice, openDatabase } from './db/open.js';
import { VERSION } from './lib/package.js';
import { PLANS, type PlanId } from './limits.js';
import { SYSTEM_AUDIT_CONTEXT } from './modules/audit/context.js';
import { rotateExecutionKeys } from './modules/executions/rotate.js';
import { startServer, startWorker } from './server.js';

const USAGE = `Usage: fleece-server [command]

Commands:
  help      Show this help
  start     Migrate the database, then serve the API (default)
  migrate   Apply pending database migrations and exit
  worker    Run only the background job workers (flow runs, schedules, purges); no HTTP
  keys rotate
            Re-encrypt executions, their stream events and chat messages under FLEECE_ENCRYPTION_KEY
            (old rows open with FLEECE_ENCRYPTION_KEYS_PREVIOUS), in batches, and exit
  admin grant <email>
            Make the account with this email an admin (it must have signed in once), and exit
  admin set-plan <email> <free|pro|business|enterprise>
            Set an account's plan (for installations without billing), recorded as admin.plan_overridden

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
 * Runs the `fleece-server` command line. Resolves with the exit code for commands that finish (`migrate`, `keys rotate`, `admin …`,
 * `--help`, errors); `start` resolves with `undefined` once listening and `worker` once its workers run; the process lives on.
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
  if (command === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  const [first, action, , plan] = parsed.positionals;
  if (first === 'admin' && action === 'set-plan' && plan !== undefined && !Object.hasOwn(PLANS, plan)) {
    io.stderr(
      `fleece-server: unknown plan "${plan}": the plan must be one of ${Object.keys(PLANS).join(', ')}.\n${USAGE}`,
    );
    return 2;
  }
  const admin = adminCommand(parsed.positionals);
  if (parsed.values.help || (!['start', 'worker', 'migrate', 'keys rotate'].includes(command) && !admin)) {
    if (parsed.values.help) {
      io.stdout(USAGE);
      return 0;
    }
    io.stderr(`fleece-server: unknown command "${parsed.positionals.join(' ')}"\n${USAGE}`);
    return 2;
  }
  let config: Config | undefined;
  try {
    config = loadConfig(env);
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
    if (admin) return await runAdmin(config, admin, io);
    if (command === 'worker') {
      await startWorker(config);
      return undefined;
    }
    await startServer(config);
    return undefined;
  } catch (error) {
    if (error instanceof DatabaseLockedError) {
      io.stderr(`fleece-server: ${admin ? lockedAdminAdvice(error, admin) : lockedAdvice(error, command)}`);
      return 1;
    }
    if (error instanceof ConfigError) {
      io.stderr(`fleece-server: ${error.message}`);
      return 1;
    }
    const advice = config?.databaseUrl ? databaseConnectionAdvice(error, config.databaseUrl) : undefined;
    if (advice) {
      io.stderr(`fleece-server: ${advice}`);
      return 1;
    }
    throw error;
  }
}

/**
 * What to do when an `admin …` command finds the embedded database of `error` locked, most likely by the
 * running server (PGlite opens its data directory in one process only): for `set-plan`, the same change
 * through that server's admin API with the `fleece` CLI; for `grant`, which the API does not offer, how
 * to become an admin without the command.
 */
function lockedAdminAdvice(error: DatabaseLockedError, command: AdminCommand): string {
  const busy = `The embedded database at ${error.dir} is in use by another Fleece process, most likely the running server.`;
  if (command.action === 'set-plan') {
    return `${busy} Leave it running and make the change through its admin API with an admin login of the CLI: \`fleece admin users set-plan ${command.email} ${command.plan}\` (an admin is an address listed in FLEECE_ADMIN_EMAILS when the server started, once it has signed in; see "Quick start" in the README). Or stop the server, run this again, and start it.`;
  }
  return `${busy} Admin rights are not granted through the API: stop the server (Ctrl-C), run this again, and start it; or start the server with FLEECE_ADMIN_EMAILS=${command.email}, and that address becomes an admin when it signs in.`;
}

/**
 * What to do when the embedded database of `error` is locked by another process, for `command` (`start`,
 * `migrate`, `worker` or `keys rotate`): the generic advice suits `start` and `migrate`.
 */
function lockedAdvice(error: DatabaseLockedError, command: string): string {
  const busy = `The embedded database at ${error.dir} is in use by another Fleece process`;
  if (command === 'worker') {
    return `${busy}. The embedded database cannot be shared, so a separate worker needs PostgreSQL: set the same DATABASE_URL for the server and its workers (see "Background jobs" in docs/operations.md). On the embedded database the server runs its own workers (FLEECE_WORKERS=inline); no worker process is needed.`;
  }
  if (command === 'keys rotate') {
    return `${busy}, most likely the running server. Stop the server, run this again, then start the server (see "Key rotation" in docs/operations.md).`;
  }
  return error.message;
}

/** An `admin …` command line, parsed; `undefined` when `positionals` is not one. */
type AdminCommand = { action: 'grant'; email: string } | { action: 'set-plan'; email: string; plan: PlanId };

function adminCommand(positionals: string[]): AdminCommand | undefined {
  const [first, action, email, plan, ...rest] = positionals;
  if (first !== 'admin' || rest.length > 0 || !email) return undefined;
  if (action === 'grant' && plan === undefined) return { action, email };
  if (action === 'set-plan' && plan !== undefined && Object.hasOwn(PLANS, plan)) {
    return { action, email, plan: plan as PlanId };
  }
  return undefined;
}

/**
 * Runs an admin command on the configured database, through the same services as the API (so caches of
 * running instances are invalidated and the change is audited). With the embedded database the server must
 * be stopped first (the data directory is locked).
 */
async function runAdmin(config: Config, command: AdminCommand, io: Io): Promise<number> {
  const app = await buildApp(config, { logStream: { write() {} } });
  try {
    await app.ready();
    const { admin } = app;
    const unknown = () => {
      io.stderr(
        `fleece-server: no account uses ${command.email}. Sign in once with that address (a magic link works), then run this again.`,
      );
      return 1;
    };
    if (command.action === 'grant') {
      const id = await admin.grant(command.email);
      if (!id) return unknown();
      io.stdout(`${command.email} (${id}) is now an admin.`);
      return 0;
    }
    const id = await admin.idByEmail(command.email);
    if (!id) return unknown();
    await admin.update(SYSTEM_AUDIT_CONTEXT, 'system', id, { plan: command.plan });
    io.stdout(`${command.email} (${id}) is now on the ${PLANS[command.plan].name} plan.`);
    return 0;
  } finally {
    await app.close();
  }
}
