import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece audit` subcommands (each takes the ones it declares). */
export interface AuditOptions {
  action?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
  lines?: string;
  follow?: boolean;
  json?: boolean;
}

/** `fleece audit`: read, follow and verify your audit log. */
const audit: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('audit')
      .summary('your audit log: list, tail (--follow) and verify its hash chain')
      .description(
        'Read your audit log: every sign-in, key, agent, export, consent and administrative action on your ' +
          'account, insert-only and hash-chained. API keys need the audit:read scope.',
      );
    const time =
      'a time (2026-06-30T12:00:00Z), a date (2026-06-30, midnight UTC) or an age (30m, 12h, 7d: that long ago)';
    const list = group
      .command('list')
      .summary('list audit events, newest first')
      .description(
        'List your audit events, newest first, one tab-separated line each: time (UTC), id, action, ' +
          'outcome, resource, actor, IP address. Filters combine.',
      )
      .option('--action <prefix>', 'an action or prefix: api_key. matches every API key action')
      .option('--since <when>', `only events at or after this: ${time}`)
      .option('--until <when>', `only events before this: ${time}`)
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--cursor <cursor>', 'continue from the nextCursor of an earlier page')
      .option('--json', 'print the page as JSON ({ data, nextCursor })')
      .action(lazyAction<AuditOptions>(ctx, () => import('./list.js')));
    withExamples(list, [
      ['fleece audit list --action api_key. --since 7d', 'API key events of the last week'],
      ['fleece audit list --json | jq -r ".data[].action"', 'for a script'],
    ]);
    const tail = group
      .command('tail')
      .summary('print the latest audit events, and with --follow each new one as it happens')
      .description(
        'Print the latest audit events, oldest first, one line each (NDJSON with --json). With --follow, ' +
          'keep printing new events as they are recorded until Ctrl+C: a dropped connection is resumed ' +
          'where it stopped (Last-Event-ID), so no event is missed or printed twice.',
      )
      .option('-f, --follow', 'keep printing new events as they happen')
      .option('--action <prefix>', 'only actions with this prefix, such as api_key.')
      .option('-n, --lines <n>', 'how many recent events to print first (0–100)', '10')
      .option('--json', 'one JSON object per line (NDJSON)')
      .action(lazyAction<AuditOptions>(ctx, () => import('./tail.js')));
    withExamples(tail, [
      ['fleece audit tail --follow', 'watch your account live'],
      ['fleece audit tail -f --action api_key. --json', 'API key events as NDJSON, for a log shipper'],
    ]);
    const verify = group
      .command('verify')
      .summary('verify the hash chain of your audit log; exits 7 when it was tampered with')
      .description(
        'Check every event of your audit log against its hash and its link to the event before it. ' +
          'Exits 0 when the chain is intact and 7 when it is broken (an event changed, deleted or inserted), ' +
          'naming the first broken event.',
      )
      .option('--json', 'print { valid, checked, firstBrokenEventId?, reason? }')
      .action(lazyAction<AuditOptions>(ctx, () => import('./verify.js')));
    withExamples(verify, [['fleece audit verify || alert "audit log tampered with"', 'in a scheduled job']]);
    withExamples(group, [
      ['fleece audit list --since 24h', 'what happened today'],
      ['fleece audit tail -f', 'follow it live'],
      ['fleece audit verify', 'check it was not tampered with'],
    ]);
  },
};

export default audit;
