/**
 * Every sentence `fleece` prints that is not command help, in one place: errors (what happened), hints
 * (what to do), notices and results. Tests assert these exact strings.
 */

const q = (s: string) => `\`${s}\``;

/** A server and profile as shown to people: the profile is named only when it is not the default. */
export function where(server: string, profile: string): string {
  return profile === 'default' ? server : `${server} (profile ${profile})`;
}

/** `--server` and `--profile` flags that select this login, for commands quoted in hints. */
export function selectFlags(server: string, profile: string, serverIsDefault: boolean): string {
  const flags = [
    serverIsDefault ? '' : ` --server ${server}`,
    profile === 'default' ? '' : ` --profile ${profile}`,
  ];
  return flags.join('');
}

/** The sentences, by topic: authentication state, login, logout, server and network errors, keys, health. */
export const messages = {
  // Authentication state.
  notLoggedIn: (at: string) => `Not logged in to ${at}.`,
  notLoggedInHint: (flags: string) =>
    `Run ${q(`fleece login${flags}`)} to log in, or set FLEECE_API_KEY (CI, scripts).`,
  envCredentialRefused: (name: string, at: string) => `${name} was refused by ${at}.`,
  envCredentialRefusedHint: (name: string) => `Check or replace the value of ${name}.`,
  storedCredentialRefused: (at: string) => `The stored credentials were refused by ${at}.`,
  credentialExpired: (what: string, at: string) => `${what} has expired (${at}).`,
  credentialInvalid: (what: string, at: string) =>
    `${what} is not valid on ${at}: it is revoked, unknown there, or mistyped.`,
  credentialDisabled: (what: string, at: string) =>
    `${what} is disabled on ${at}: a plan change left more API keys than the plan allows.`,
  envKeyExpiredHint: (name: string) => `Create a new API key and set ${name} to it.`,
  credentialDisabledHint: 'Upgrade the plan to enable the key again, or use an older key.',
  sessionEnded: (at: string) => `Your session on ${at} has ended (signed out, revoked or expired).`,
  loggedOutElsewhere: (at: string) => `You were logged out of ${at} by another fleece process.`,
  tokenExpiredNoRefresh: (at: string) => `The stored access token for ${at} has expired.`,
  loginAgainHint: (flags: string) => `Run ${q(`fleece login${flags}`)} to log in again.`,

  // login
  envOverridesLogin: (name: string) =>
    `${name} is set: it overrides stored credentials, so a login would not be used.`,
  envOverridesLoginHint: (name: string) =>
    `Unset ${name} to log in with stored credentials (${q(`unset ${name}`)}).`,
  keychainUnavailable: (reason: string) => `The OS keychain is not available here (${reason}).`,
  plaintextNotice: (path: string) =>
    `Credentials will be stored in plaintext in ${path}, readable only by you (mode 0600).`,
  plaintextConfirm: (path: string) => `Store the credentials in plaintext in ${path}?`,
  plaintextRefused: 'Plaintext credential storage was not allowed.',
  plaintextRefusedCiHint:
    'Pass --insecure-storage to store them in the file anyway, or use FLEECE_API_KEY in CI instead of logging in.',
  plaintextDeclinedHint: (config: string) =>
    `Use a machine with a keychain, or FLEECE_API_KEY. The answer is kept in ${config} and not asked again; --insecure-storage stores them in the file anyway.`,
  plaintextRefusedBefore: (date: string) =>
    `Plaintext credential storage was not allowed (you answered no${date ? ` on ${date}` : ''}).`,
  plaintextRefusedBeforeHint: (config: string) =>
    `Pass --insecure-storage to store them in the file this once, or remove "plaintextCredentials" from ${config} to be asked again.`,
  noBrowser: (why: string) => `No browser here (${why}): using the device code flow.`,
  browserFailed: (reason: string) =>
    `Could not open a browser (${reason}): using the device code flow instead.`,
  openingBrowser: 'Opening your browser to sign in.',
  openUrlManually: (url: string) => `If it does not open, visit: ${url}`,
  waitingForBrowser: 'Waiting for you to sign in in the browser…',
  deviceCode: (code: string) => `First copy your one-time code: ${code}`,
  deviceOpen: (complete: string, url: string, opened: boolean) =>
    opened
      ? `Then approve this device at ${complete} (opened in your browser).`
      : complete === url
        ? `Then open ${url} in a browser and enter the code.`
        : `Then open ${complete} in a browser (or go to ${url} and enter the code).`,
  waitingForApproval: 'Waiting for approval…',
  deviceDenied: 'The login was denied in the browser.',
  deviceExpired: 'The one-time code expired before it was approved.',
  deviceExpiredHint: (flags: string) => `Run ${q(`fleece login --device${flags}`)} to get a new code.`,
  browserDenied: (reason: string) => `The sign-in was not completed in the browser (${reason}).`,
  loginRetryHint: (flags: string) => `Run ${q(`fleece login${flags}`)} to try again.`,
  browserTimeout: (seconds: number) => `No sign-in arrived from the browser within ${seconds} s.`,
  browserTimeoutHint: (flags: string) =>
    `Run ${q(`fleece login${flags}`)} again, or ${q(`fleece login --device${flags}`)} to sign in from another device.`,
  stateMismatch: 'Ignored a sign-in response that does not belong to this login (state mismatch).',
  codeExchangeFailed: 'The server refused the sign-in code.',
  loggedIn: (at: string, who: string | undefined) =>
    who ? `Logged in to ${at} as ${who}.` : `Logged in to ${at}.`,
  storedIn: (description: string) => `Credentials stored in ${description}.`,
  emptyToken: 'No token on standard input.',
  emptyTokenHint: 'Pipe the API key or token in: `fleece login --with-token < token.txt`.',
  tokenPrompt: 'Paste your API key or access token:',
  tokenRefused: (at: string) => `${at} refused the token.`,
  tokenRefusedHint: 'Check that the token is complete and not revoked or expired.',
  badTimeout: (value: string) => `Invalid --timeout ${JSON.stringify(value)}.`,
  badTimeoutHint: 'Give a duration such as 90s, 5m or 300 (seconds), at most 1h.',
  withTokenConflicts: '--with-token cannot be combined with --device.',
  withTokenConflictsHint: 'Use one way to log in: a pasted token, or the device code flow.',

  // logout
  loggedOut: (at: string) => `Logged out of ${at}.`,
  revokeFailed: (reason: string) => `The session could not be revoked on the server: ${reason}`,
  revokeFailedHint:
    'The local credentials were deleted anyway. Revoke the session from the sessions page of the Fleece web app.',
  apiKeyNotRevoked:
    'The API key itself stays valid: revoke it on the Fleece web app when you no longer need it.',
  envStillSet: (name: string) => `${name} is still set and will be used by fleece commands.`,

  // errors from the server or the network
  connectionFailed: (server: string, reason: string) => `Could not connect to ${server}: ${reason}.`,
  connectionFailedHint:
    'Check that the server is running, and the address (--server, FLEECE_BASE_URL) and proxy settings; `fleece doctor` checks them.',
  timedOut: (server: string) => `${server} did not answer in time.`,
  notFleeceServer: (server: string) =>
    `This is not a Fleece server at ${server}: it answered without a Fleece problem or health report (another web app may be on that port).`,
  notFleeceServerHint:
    "Check --server and FLEECE_BASE_URL: give the Fleece server's address, such as http://127.0.0.1:3000 (`fleece doctor` checks it).",
  notFleeceServerApiPath: (server: string) =>
    `This is not a Fleece server at ${server}: the address ends in /api, the API's path, not the server's.`,
  notFleeceServerApiPathHint: (origin: string) =>
    `Give the server's address without /api: --server ${origin} (or FLEECE_BASE_URL=${origin}).`,
  permissionDenied: 'Permission denied.',
  permissionHint: 'Use a credential that may do this, or ask an administrator.',
  upgradeHint:
    'A higher plan lifts this limit: run `fleece billing upgrade` (on a server without billing an administrator sets plans: `fleece-server admin set-plan <email> <plan>`).',
  accountPendingDeletionHint:
    'Keep the account with `fleece account delete --cancel`; until then nothing runs for it.',
  flowAlreadyRunning: (id: string | undefined) =>
    `A run of this flow${id ? ` (${id})` : ''} is already queued or running.`,
  flowAlreadyRunningHint: (id: string | undefined) =>
    `Wait for it to finish (\`fleece executions get ${id ?? '<id>'} --wait\`), or cancel it with \`fleece executions cancel ${id ?? '<id>'}\`, then trigger again.`,
  agentInUseHint: (flow: string) =>
    `Point those steps at another agent (\`fleece flows update ${flow} --step …\`) or delete the flows (\`fleece flows delete ${flow}\`), then delete the agent.`,
  seeHelp: (command: string) => ` (\`${command} --help\` says what each takes)`,
  badFlagsHint: (flags: string[], help: string) => `Check the value of ${flags.join(', ')}${help}.`,
  badValuesHint: (help: string) => `Check the values you passed${help}.`,
  unknownModelHint: 'Pass one of the models the server offers to --model: `GET /api/v1/models` lists them.',
  loopbackCallbackHint:
    'For local development the server can allow callbacks to this machine: start it with FLEECE_WEBHOOK_ALLOW_LOOPBACK=true (never in production).',
  rateLimited: 'Rate limited by the server.',
  rateLimitedHint: (seconds: number | undefined) =>
    seconds === undefined ? 'Wait a moment and try again.' : `Wait ${seconds} s and try again.`,
  rateLimitedRetrying: (limit: string | undefined, wait: string) =>
    `rate limited${limit ? ` (${limit})` : ''} — retrying in ${wait}`,
  rateLimitedAt: (
    server: string,
    limit: string | undefined,
    resetAt: string | undefined,
    wait: string | undefined,
  ) =>
    `Rate limited${limit ? ` (${limit})` : ''} by ${server}${resetAt ? `: the limit resets at ${resetAt} (in ${wait})` : ''}.`,
  rateLimitedWaitHint: (flag: string) =>
    `Run the command again after that, or pass --max-wait ${flag} to let fleece wait for it.`,
  rateLimitedRetryHint: 'Run the command again after that.',
  badMaxWait: (value: string) => `Invalid --max-wait ${JSON.stringify(value)}.`,
  badMaxWaitHint: 'Give a duration such as 10s, 2m or 90 (seconds), at most 24h; 0 never waits.',
  notFound: 'Not found.',
  notFoundHint: 'Check the id: the list command of that resource shows them.',
  agentNotFoundHint: 'Check the agent id or name: `fleece agents list` shows them.',
  flowNotFoundHint: 'Check the flow id or name: `fleece flows list` shows them.',
  executionNotFoundHint: 'Check the execution id: `fleece executions list` shows them.',
  keyNotFoundHint: 'Check the key id: `fleece keys list` shows them.',
  noneNamed: (kind: string, name: string) => `No ${kind} is named ${JSON.stringify(name)}.`,
  noneNamedHint: (kind: string) =>
    `Give the ${kind}'s id or exact name: \`fleece ${kind}s list\` shows them.`,
  ambiguousName: (kind: string, name: string, ids: string[]) =>
    `${ids.length} ${kind}s are named ${JSON.stringify(name)}: ${ids.join(', ')}.`,
  ambiguousNameHint: (kind: string) => `Pass the id of the ${kind} you mean instead of its name.`,
  serverFailed: (status: number) => `The server failed (HTTP ${status}).`,
  serverFailedHint: 'Try again later; if it persists, report it with the request id.',
  badResponse: (path: string) =>
    `The server's answer did not have the expected shape${path ? ` (at ${path})` : ''}.`,
  badResponseHint: 'The server and the CLI may be of different versions: upgrade the CLI.',
  requestFailed: (status: number, title: string) =>
    `The server refused the request (HTTP ${status} ${title}).`,
  requestFailedHint: 'Check the command and its values; run with --verbose for details.',
  unexpected: (message: string) => `Unexpected error: ${message}`,
  unexpectedHint: 'Run again with --verbose and report the output if it persists.',
  interrupted: 'Interrupted.',

  // keys
  keyShownOnce:
    'This API key is shown only once and cannot be retrieved again: store it now (for example in your CI secrets).',
  keyDefaults: (scopes: string | undefined, days: number | undefined) =>
    `Defaults applied (least privilege): ${[
      scopes === undefined
        ? ''
        : `scopes ${scopes} (pass --scopes, such as --scopes read,agents:execute, for more)`,
      days === undefined ? '' : `expires in ${days} days (pass --expires-in 90d, a date, or never)`,
    ]
      .filter(Boolean)
      .join('; ')}.`,
  badExpiresIn: (value: string) => `Invalid --expires-in ${JSON.stringify(value)}.`,
  badExpiresInHint:
    'Give days from 1 to 365 (30d or 30), a future date or time such as 2027-06-30 or 2027-06-30T12:00:00Z, or never.',
  badScopes: (which: string) => `Unknown scope ${JSON.stringify(which)} in --scopes.`,
  badScopesHint: (all: string) => `Give a comma-separated list of: ${all}.`,
  badLimit: (value: string) => `Invalid --limit ${JSON.stringify(value)}.`,
  badLimitHint: 'Give a whole number from 1 to 100.',
  noKeys: 'No API keys. Create one with `fleece keys create --name <name>`.',
  moreKeys: 'More keys exist: use --json and its nextCursor, or the SDK, to see them all.',
  revokeNeedsYes: (id: string) =>
    `Not revoking ${id}: confirmation is needed and there is no terminal to ask on.`,
  revokeNeedsYesHint: (id: string) =>
    `Pass --yes to revoke without asking: ${q(`fleece keys revoke ${id} --yes`)}.`,
  revokeConfirm: (id: string) => `Revoke API key ${id}? Everything using it will be refused from now on.`,
  revokeDeclined: 'Nothing was revoked.',
  keyRevoked: (id: string) => `Revoked API key ${id}.`,

  // agents and flows
  deleteNeedsYes: (kind: string, value: string) =>
    `Not deleting ${kind} ${value}: confirmation is needed and there is no terminal to ask on.`,
  deleteNeedsYesHint: (kind: string, value: string) =>
    `Pass --yes to delete without asking: ${q(`fleece ${kind}s delete ${value} --yes`)}.`,
  deleteConfirm: (kind: string, id: string) =>
    kind === 'agent'
      ? `Delete agent ${id}? Its executions stay.`
      : `Delete flow ${id} and its schedule? Its runs stay.`,
  deleteDeclined: 'Nothing was deleted.',
  deleted: (kind: string, id: string) =>
    kind === 'agent' ? `Deleted agent ${id}.` : `Deleted flow ${id} and its schedule.`,
  updateNeedsField: 'Nothing to change: name at least one field.',
  updateNeedsFieldHint: (command: string) =>
    `For example ${q(`${command} --description "…"`)}; ${q(`${command} --help`)} lists the fields.`,
  runNeedsInput: 'The run needs an input, and there is no terminal to ask on.',
  runNeedsInputHint: (command: string) =>
    `Pass --input <text>, or pipe it: ${q(`echo "Hello" | ${command} -`)}.`,
  runEmptyInput: 'Nothing to send: standard input was empty.',
  runTwoInputs: 'Give the input once: as --input, or as the argument after the id, not both.',
  runTwoInputsHint: 'Use --input <text>, or --input - to read it from standard input.',
  cannotReadFile: (path: string, reason: string) => `cannot read --file ${path}: ${reason}.`,
  cannotReadFileHint: 'Check the path (or pass --file - to read the JSON from standard input).',

  // executions
  badStatus: (value: string) => `Invalid --status ${JSON.stringify(value)}.`,
  badStatusHint: 'Give one of: queued, running, succeeded, failed, cancelled.',
  badParent: (value: string) => `Invalid --parent ${JSON.stringify(value)}: it takes a flow run's id.`,
  badParentHint: 'Give the exe_… id of a flow run (`fleece executions list --flow <flow>` shows them).',
  moreExecutions: (cursor: string) => `More executions exist: add --cursor ${cursor} to see the next page.`,
  waitingForExecution: (id: string) => `Waiting for ${id} to finish (Ctrl+C stops waiting)…`,
  executionEnded: (id: string, status: string) => `Execution ${id} ${status}.`,
  stepsHint: (id: string) => `See its steps: ${q(`fleece executions list --parent ${id}`)}.`,
  runWaiting: (id: string) =>
    `Run ${id} queued: waiting for it to finish (Ctrl+C stops waiting; the run goes on)…`,
  runAtStep: (id: string, n: number, total: number | undefined, step: string, status: string) =>
    `Run ${id}: step ${n}${total ? ` of ${total}` : ''} (${step}) ${status}…`,
  runGoesOn: (id: string) => `Stopped waiting. Run ${id} goes on on the server.`,
  runFollowHint: (id: string, flags: string) =>
    `Follow it with ${q(`fleece executions get ${id} --wait${flags}`)}, or cancel it with ${q(`fleece executions cancel ${id}${flags}`)}.`,
  queuedRun: (id: string) =>
    `Queued run ${id}. Follow it with ${q(`fleece executions get ${id} --wait`)} (or trigger with --wait).`,

  // audit
  badTime: (flag: string, value: string) => `Invalid ${flag} ${JSON.stringify(value)}.`,
  badTimeHint:
    'Give a time such as 2026-06-30T12:00:00Z, a date such as 2026-06-30 (midnight UTC), or an age such as 30m, 12h or 7d.',
  badAction: (value: string) => `Invalid --action ${JSON.stringify(value)}.`,
  badActionHint:
    'Give an action or a prefix of one, such as api_key. or api_key.created (see `fleece audit list`).',
  badLines: (value: string) => `Invalid --lines ${JSON.stringify(value)}.`,
  badLinesHint: 'Give a whole number from 0 to 100.',
  noAuditEvents: 'No audit events match.',
  moreAuditEvents: (cursor: string) => `More events exist: add --cursor ${cursor} to see the next page.`,
  auditFollowing: 'Following new events (Ctrl+C to stop)…',
  auditIntact: (checked: number) =>
    `The audit log's hash chain is intact: ${checked} event${checked === 1 ? '' : 's'} checked.`,
  auditBroken: (id: string, reason: string) =>
    `The audit log's hash chain is broken at ${id}: ${
      reason === 'hash_mismatch'
        ? 'the event was changed after it was recorded'
        : 'an event before it was deleted or inserted'
    } (${reason}).`,
  auditBrokenHint:
    'The log has been tampered with. Keep a copy (`fleece audit list --json`) and contact your administrator.',

  // sessions
  noSessions: 'No active sessions.',
  sessionRevokeNeedsYes: (what: string) =>
    `Not revoking ${what}: confirmation is needed and there is no terminal to ask on.`,
  sessionRevokeNeedsYesHint: (command: string) => `Pass --yes to revoke without asking: ${q(command)}.`,
  sessionRevokeConfirm: (id: string) => `Revoke session ${id}? That browser or CLI will be signed out.`,
  sessionRevokeOthersConfirm: 'Sign out every other session (browsers and CLIs) of your account?',
  sessionRevokeNeedsTarget: 'Name the session to revoke, or pass --others.',
  sessionRevokeNeedsTargetHint: 'See the ids with `fleece sessions list`.',
  sessionRevokeTargetAndOthers: 'Give either a session id or --others, not both.',
  sessionRevoked: (id: string) => `Revoked session ${id}.`,
  sessionsRevoked: (n: number) => `Revoked ${n} other session${n === 1 ? '' : 's'}.`,

  // chat
  chatEmptyInput: 'Nothing to send: standard input was empty.',
  chatNeedsInput: 'fleece chat needs a message, and there is no terminal to ask on.',
  chatInputHint: 'Pipe the message (`echo "Hello" | fleece chat`) or pass --message <text>.',
  chatWelcome: (target: string) => `Chatting with ${target}. Type /exit (or press Ctrl+C) to leave.`,
  chatPrompt: 'you',
  chatReplyFailed: (code: string) => `The reply failed (${code}); nothing was stored for it.`,
  chatReplyFailedHint: 'Try again in a moment; `fleece health` shows whether the AI provider is reachable.',
  chatConversation: (id: string) => `Conversation ${id} (continue it with --conversation ${id}).`,

  // account deletion
  accountDeleteNeedsConfirm:
    'Not deleting the account: it needs a typed confirmation and there is no terminal to ask on.',
  accountDeleteNeedsConfirmHint:
    'Pass both flags to delete without asking: `fleece account delete --yes --confirm <your email>`.',
  accountDeleteConfirmMismatch: (email: string) =>
    `--confirm does not match the account's email address (${email}); nothing was deleted.`,
  accountDeleteConfirmMismatchHint:
    'Pass the email address of the account you are logged in as (`fleece whoami` shows it) to --confirm.',
  accountDeletePrompt: (email: string) =>
    `This deletes ${email} and everything it owns, permanently, after a grace period. Type your email address or "delete my account" to confirm`,
  accountDeleteDeclined: 'The confirmation did not match; nothing was deleted.',
  accountAlreadyPending: (date: string) => `This account is already scheduled for deletion on ${date}.`,
  accountAlreadyPendingHint: 'To keep it, run `fleece account delete --cancel` before then.',
  accountReauthRequired: 'Deleting the account needs a login from the last 10 minutes.',
  accountReauthHint: 'Run `fleece login`, then `fleece account delete` again within 10 minutes.',
  accountDeletionScheduled: (email: string, date: string) =>
    `Account ${email} is scheduled for deletion on ${date}.`,
  accountDeletionSignedOut:
    'Every session and API key of the account was revoked, this login included (its stored credentials are removed).',
  accountDeletionCancelHint:
    'Changed your mind? Before that date: `fleece login`, then `fleece account delete --cancel`.',
  accountDeletionCancelled: 'Deletion cancelled: your account is active again.',
  accountDeletionCancelledKeys:
    'Sessions and API keys revoked by the deletion request stay revoked: create new keys with `fleece keys create`.',
  accountNotPending: 'This account is not scheduled for deletion: there is nothing to cancel.',
  accountDeletionTooLate:
    'The grace period is over: the account is being deleted and can no longer be restored.',

  // billing
  billingOff: 'Billing is not enabled on this server (it has no Stripe keys).',
  billingOffHint: 'An administrator sets plans on this server: ask yours to change your plan.',
  billingProviderFailed: 'Stripe could not be reached or refused the request; nothing was charged.',
  billingProviderFailedHint: 'Try again in a minute.',
  billingAlreadySubscribed: 'You already have a subscription.',
  billingPortalHint: 'Change or cancel it in the Stripe customer portal: `fleece billing portal`.',
  billingNoAccount: 'You have no billing account yet.',
  billingUpgradeHint: 'Subscribe to a paid plan with `fleece billing upgrade --plan pro|business`.',
  billingBadPlan: (plan: string) => `--plan must be pro or business, not ${JSON.stringify(plan)}.`,
  billingBadPlanHint:
    'Enterprise is arranged with the operator of this server; Free needs no subscription (cancel in `fleece billing portal`).',
  billingOpen: (page: 'Checkout' | 'portal', url: string, opened: boolean) =>
    opened
      ? `Opened the Stripe ${page} page in your browser: ${url}`
      : `Open the Stripe ${page} page in your browser: ${url}`,
  keyDisabled: 'disabled: over the plan’s key limit (see `fleece billing`)',
  billingAfterCheckout: 'Your plan changes once Stripe confirms the payment; check with `fleece billing`.',

  // health
  serverDown: (server: string) => `${server} reports that it is down.`,
  serverDownHint: 'Check the server logs; `fleece doctor` checks the connection.',

  // export
  exportBadFormat: (format: string) => `--format must be ndjson or zip, not ${JSON.stringify(format)}.`,
  exportBadFormatHint: 'Pass --format ndjson (the default) or --format zip.',
  exportExists: (path: string) => `${path} already exists.`,
  exportExistsHint: 'Choose another name with -o, or pass --force to replace it.',
  exportFormatContradicts: (path: string, format: string) =>
    `-o ${path} names a different format than --format ${format}.`,
  exportFormatContradictsHint: (format: string) =>
    `Give the file a .${format} name, or leave out --format (the extension of -o picks it).`,
  exportCannotWrite: (path: string, reason: string) => `cannot write to ${path}: ${reason}.`,
  exportCannotWriteHint:
    'Pass -o with a file in an existing directory you can write to (create it first with mkdir -p); nothing was written.',
  exportProgress: (bytes: number, records: number | undefined) => {
    const size = bytes < 1024 ? `${bytes} B` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    return records === undefined
      ? `Exporting… ${size}`
      : `Exporting… ${size}, ${records.toLocaleString('en')} records`;
  },
  exportDone: (records: number, size: string, path: string) =>
    `Exported ${records.toLocaleString('en')} records (${size}) to ${path}, checksum verified.`,
  exportChecksum: (sha256: string) => `SHA-256 of the body (as in the trailer): ${sha256}`,
  exportVerifyHint: 'Nothing was written under the target name. Run `fleece export` again.',

  // consents
  consentGranted: (version: string, at: string) => `granted (policy ${version}, ${at.slice(0, 10)})`,
  consentRevoked: (at: string) => `not granted (revoked ${at.slice(0, 10)})`,
  consentUndecided: 'not granted (never decided)',
  consentOutdated: (version: string, current: string) =>
    `not granted (granted for policy ${version}; the current policy is ${current})`,
  consentChanged: (type: string, granted: boolean, version: string) =>
    granted ? `Granted ${type} (policy ${version}).` : `Revoked ${type}.`,
  consentAiHint:
    'Running agents and chatting need ai_processing: grant it with `fleece account consent ai_processing --grant`.',
  consentBothFlags: 'Pass either --grant or --revoke, not both.',
  consentNeedsType: 'Name the consent to change: ai_processing, product_email or terms.',
  consentUnknownType: (type: string) =>
    `Unknown consent ${JSON.stringify(type)}: it is ai_processing, product_email or terms.`,
  consentUsageHint: 'For example: `fleece account consent ai_processing --grant`.',
} as const;
