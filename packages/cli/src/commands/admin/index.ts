import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece admin users` subcommands (each takes the ones it declares). */
export interface AdminUsersOptions {
  search?: string;
  plan?: string;
  role?: string;
  status?: string;
  limit?: string;
  json?: boolean;
  reset?: boolean;
}

/**
 * `fleece admin`: administration over the admin API (`/api/v1/admin/users`), for an admin signed in with
 * `fleece login` (the API refuses API keys here). Accounts: list and search, set a plan, grant Enterprise
 * limit overrides.
 */
const admin: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('admin')
      .summary('administration, for admins: accounts (list, set-plan, grant)')
      .description(
        'Administration through the admin API, with an admin login (`fleece login`; API keys are refused). ' +
          "An account becomes an admin when its address is listed in the server's FLEECE_ADMIN_EMAILS and " +
          'it signs in, or with `fleece-server admin grant <email>` on the server host. Every change is ' +
          'recorded in the audit log.',
      );
    const users = group
      .command('users')
      .summary('accounts: list, set-plan, grant')
      .description('List and search accounts, set their plan, grant Enterprise limit overrides.');
    const list = users
      .command('list')
      .summary('list accounts, newest first')
      .description('One tab-separated line per account: id, email, plan, role, status, name (`-` when none).')
      .option('--search <text>', 'part of the email or name, or a user id')
      .option('--plan <plan>', 'only this plan: free, pro, business or enterprise')
      .option('--role <role>', 'only this role: user or admin')
      .option('--status <status>', 'only this status: active, suspended or pending_deletion')
      .option('--limit <n>', 'how many to show (1–100)', '20')
      .option('--json', 'print the page as JSON ({ data, nextCursor })')
      .action(lazyAction<AdminUsersOptions>(ctx, () => import('./list.js')));
    withExamples(list, [
      ['fleece admin users list --search example.com', 'the accounts of one domain'],
      ['fleece admin users list --plan free --json | jq -r ".data[].email"', 'the addresses on Free'],
    ]);
    const setPlan = users
      .command('set-plan')
      .summary("set an account's plan (billing off, or an exception)")
      .description(
        "Set an account's plan: free, pro, business or enterprise. It takes effect at once (limits, " +
          'API access) and is recorded as admin.plan_overridden. The account must have signed in once.',
      )
      .argument('<user>', 'the account: its email address or its id (usr_…)')
      .argument('<plan>', 'free, pro, business or enterprise')
      .option('--json', 'print the updated account as JSON')
      .action(lazyAction<AdminUsersOptions>(ctx, () => import('./set-plan.js')));
    withExamples(setPlan, [['fleece admin users set-plan you@example.com pro', 'put yourself on Pro']]);
    const grant = users
      .command('grant')
      .summary('grant Enterprise limit overrides (name=value …), or --reset them')
      .description(
        "Grant an Enterprise account limits other than its plan's: apiKeys, agents, executionsPerMonth, " +
          'historyRetentionDays (numbers), premiumModels (true or false), apiBurstPerMinute, apiPerDay ' +
          '(numbers, or none for no API access). The given limits replace the overrides the account had; ' +
          '--reset removes them all. Recorded as admin.plan_overridden. Admin rights are not granted here: ' +
          'see `fleece admin --help`.',
      )
      .argument('<user>', 'the account: its email address or its id (usr_…)')
      .argument('[limits...]', 'name=value pairs, such as apiPerDay=2000000 agents=500')
      .option('--reset', "remove every override: the plan's own limits apply again")
      .option('--json', 'print the updated account as JSON')
      .action(lazyAction<AdminUsersOptions>(ctx, () => import('./grant.js')));
    withExamples(grant, [
      ['fleece admin users grant cto@example.com apiPerDay=2000000 agents=500', 'raise two limits'],
      ['fleece admin users grant cto@example.com --reset', "back to the Enterprise plan's limits"],
    ]);
    withExamples(users, [
      ['fleece admin users list --role admin', 'who the admins are'],
      ['fleece admin users set-plan you@example.com pro', 'a plan without billing'],
    ]);
    withExamples(group, [
      ['fleece admin users list', 'the newest accounts'],
      ['fleece admin users set-plan you@example.com pro', 'a plan without billing'],
    ]);
  },
};

export default admin;
