import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';
import type { ConsentOptions } from './consent.js';

/** Options of the `fleece account` subcommands (each takes the ones it declares). */
export interface AccountOptions {
  yes?: boolean;
  confirm?: string;
  cancel?: boolean;
  json?: boolean;
}

/** `fleece account`: your account itself: deleting it (with a grace period) and cancelling that. */
const account: CommandModule = {
  register(parent, ctx) {
    const group = parent
      .command('account')
      .summary('your account: consents; delete it, or cancel a pending deletion')
      .description('Manage your Fleece account itself.');
    const consent = group
      .command('consent')
      .summary('show, grant or revoke your consents (AI processing, product email, terms)')
      .description(
        'Without a type, list your consents with the policy version each was decided against. With a type ' +
          '(ai_processing, product_email or terms) and --grant or --revoke, change it. Executing agents, ' +
          'chatting and triggering flows need ai_processing: prompts go to the AI provider for real-time ' +
          'inference only, never for training. Changing a consent needs a login (`fleece login`); API keys ' +
          'can only read them.',
      )
      .argument('[type]', 'ai_processing, product_email or terms')
      .option('--grant', 'grant it (for the current policy version)')
      .option('--revoke', 'revoke it')
      .option('--json', 'print the consent(s) as JSON')
      .action(lazyAction<ConsentOptions>(ctx, () => import('./consent.js')));
    withExamples(consent, [
      ['fleece account consent', 'your consents'],
      ['fleece account consent ai_processing --grant', 'allow AI processing (needed to run agents and chat)'],
      ['fleece account consent product_email --revoke', 'no more product news by email'],
    ]);
    const remove = group
      .command('delete')
      .summary('delete your account after a grace period (or cancel that with --cancel)')
      .description(
        'Ask the server to delete your account. Every session and API key of it is revoked at once (this ' +
          'login too, so the stored credentials are removed), a paid subscription is cancelled, and after ' +
          'the grace period (7 days unless the server says otherwise) everything the account owns is ' +
          'permanently deleted; the audit log keeps its events, anonymised. Until then you can log in again ' +
          'and run `fleece account delete --cancel`. The server requires a login from the last 10 minutes: ' +
          'run `fleece login` first if yours is older. On a terminal you confirm by typing your email ' +
          'address or "delete my account"; without a terminal (CI) pass --yes --confirm <email>, or it ' +
          'exits 2.',
      )
      .option('-y, --yes', 'do not ask (needs --confirm <email> too)')
      .option('--confirm <email>', "your account's email address, as the typed confirmation")
      .option('--cancel', 'cancel a pending deletion instead (within the grace period)')
      .option('--json', 'print the deletion state as JSON ({ status, requestedAt, purgeAfter, … })')
      .action(lazyAction<AccountOptions>(ctx, () => import('./delete.js')));
    withExamples(remove, [
      ['fleece account delete', 'asks you to type your email to confirm'],
      ['fleece account delete --yes --confirm ada@example.com', 'without a prompt (CI)'],
      ['fleece login && fleece account delete --cancel', 'restore the account within the grace period'],
    ]);
    withExamples(group, [
      ['fleece account delete', 'delete your account (after a grace period)'],
      ['fleece account delete --cancel', 'keep it after all'],
    ]);
  },
};

export default account;
