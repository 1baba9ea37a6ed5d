import type { HealthResponse, HealthStatus } from '@fleece/sdk';
import { CliError } from '../../lib/errors.js';
import { table } from '../../lib/format.js';
import type { Invocation } from '../../lib/invocation.js';
import { anonymousClient, fromHealthError, track } from '../../lib/sdk.js';
import { messages } from '../../messages.js';
import type { HealthOptions } from './index.js';

/**
 * The job queue check in words: worker instances alive (and whether the server answering is one), and how
 * long the oldest due job has waited, against the lag limit that makes it `degraded`.
 */
function jobsSummary(jobs: NonNullable<HealthResponse['checks']['jobs']>): string {
  const alive =
    jobs.workersAlive === null
      ? 'workers unknown'
      : `${jobs.workersAlive} worker instance${jobs.workersAlive === 1 ? '' : 's'} alive`;
  const here = jobs.workersHere ? ', this one included' : '';
  const waiting =
    jobs.oldestQueuedSeconds === null
      ? 'no job waiting'
      : `oldest job waiting ${jobs.oldestQueuedSeconds} s of ${jobs.lagLimitSeconds} s allowed`;
  return `${alive}${here}; ${waiting}`;
}

/** Runs `fleece health`. */
export async function run(inv: Invocation, options: HealthOptions): Promise<void> {
  const { out } = inv;
  const { url } = await inv.server();
  const spinner = await out.spinner(`Checking ${url}…`);
  let report: Awaited<ReturnType<ReturnType<typeof anonymousClient>['health']['check']>>;
  try {
    report = await track(
      out,
      'GET /api/health',
      anonymousClient(inv, url).health.check({ signal: inv.ctx.signal }),
    );
  } catch (error) {
    // An answer that is not a Fleece health report is another web app on that address.
    throw fromHealthError(error, url) ?? error;
  } finally {
    spinner.stop();
  }
  if (options.json) {
    out.json({ server: url, ...report });
  } else {
    const c = out.color;
    const paint = (status: HealthStatus) =>
      status === 'ok' ? c.green(status) : status === 'degraded' ? c.yellow(status) : c.red(status);
    const { database, migrations, jobs } = report.checks;
    out.data(
      table([
        ['Server', url],
        ['Status', paint(report.status)],
        ['Version', report.version],
        ['Uptime', `${report.uptimeSeconds} s`],
        [
          'Database',
          `${paint(database.status)}${database.latencyMs === null ? '' : ` (${database.latencyMs} ms)`}`,
        ],
        [
          'Migrations',
          `${paint(migrations.status)}${migrations.applied === null ? '' : ` (${migrations.applied} applied, ${migrations.pending ?? '?'} pending)`}`,
        ],
        // Servers older than the job queue check send none.
        ...(jobs ? [['Jobs', `${paint(jobs.status)} (${jobsSummary(jobs)})`] as const] : []),
      ]),
    );
  }
  if (report.status === 'down')
    throw new CliError(messages.serverDown(url), { hint: messages.serverDownHint });
}
