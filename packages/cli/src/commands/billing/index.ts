import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of the `fleece billing` subcommands (each takes the ones it declares). */
export interface BillingOptions {
  json?: boolean;
  plan?: string;
  /** `--no-browser` sets this to `false`. */
  browser?: boolean;
}

/** `fleece billing`: your plan and Stripe subscription; upgrading through Stripe Checkout. */
const billing: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('billing')
      .summary('your plan and subscription: status, upgrade, portal')
      .description(
        'Show your plan, subscription and usage, start a subscription through Stripe Checkout, or open the ' +
          'Stripe customer portal. Payment happens on pages Stripe hosts: card details never pass through ' +
          'Fleece or this CLI. On a server without Stripe billing, an administrator sets plans instead.',
      );
    const status = group
      .command('status', { isDefault: true })
      .summary('show your plan, subscription, usage and billing notices (the default)')
      .description(
        'One line each: plan, subscription (status, renewal or cancellation date), API keys, agents and ' +
          "this month's executions against the plan's limits. Notices (keys disabled by a downgrade, a " +
          'failed payment) go to stderr.',
      )
      .option('--json', 'print the billing state as JSON ({ plan, subscription, usage, notices })')
      .action(lazyAction<BillingOptions>(ctx, () => import('./status.js')));
    withExamples(status, [
      ['fleece billing', 'your plan and subscription'],
      ['fleece billing status --json | jq .subscription.status', 'for a script'],
    ]);
    const upgrade = group
      .command('upgrade')
      .summary('subscribe to a paid plan: opens Stripe Checkout in your browser')
      .description(
        'Start a subscription to Pro or Business: opens a Stripe Checkout page in your browser (or prints ' +
          'its address when no browser can be opened). Your plan changes as soon as Stripe confirms the ' +
          'payment; check with `fleece billing`. With a subscription already running, change plans in the ' +
          'portal instead (`fleece billing portal`). Needs a login (`fleece login`); API keys cannot buy plans.',
      )
      .option('--plan <plan>', 'the plan to subscribe to: pro or business', 'pro')
      .option('--no-browser', 'print the Checkout address instead of opening a browser')
      .option('--json', 'print { plan, url } as JSON and open no browser')
      .action(lazyAction<BillingOptions>(ctx, () => import('./upgrade.js')));
    withExamples(upgrade, [
      ['fleece billing upgrade', 'subscribe to Pro'],
      ['fleece billing upgrade --plan business --no-browser', 'print the Checkout address to open elsewhere'],
    ]);
    const portal = group
      .command('portal')
      .summary('open the Stripe customer portal: change or cancel the plan, payment method, invoices')
      .option('--no-browser', 'print the portal address instead of opening a browser')
      .option('--json', 'print { url } as JSON and open no browser')
      .action(lazyAction<BillingOptions>(ctx, () => import('./portal.js')));
    withExamples(portal, [['fleece billing portal', 'change or cancel your plan']]);
    withExamples(group, [
      ['fleece billing', 'your plan, subscription and usage'],
      ['fleece billing upgrade --plan business', 'subscribe to Business'],
    ]);
  },
};

export default billing;
