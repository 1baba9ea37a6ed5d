import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  type APIPromise,
  APIUserAbortError,
  AuthenticationError,
  type ClientOptions,
  type Fetch,
  Fleece,
  FleeceError,
  InternalServerError,
  type Logger,
  NotFleeceServerError,
  type NotFleeceServerReason,
  NotFoundError,
  nodeFetch,
  PermissionDeniedError,
  RateLimitError,
  ResponseValidationError,
} from '@fleece/sdk';
import { messages } from '../messages.js';
import type { Context } from './context.js';
import {
  CliError,
  InterruptedError,
  NotAuthenticatedError,
  ValidationError,
  WrongServerError,
} from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import { proxySettings } from './proxy.js';
import { type RateLimitHost, rateLimitFailure, rateLimitHandler, requestedWaitMs } from './rate-limit.js';

/**
 * The `fetch` a command's client sends with: the context's (msw in tests) when it has one; else, without a
 * proxy variable, the SDK's {@link nodeFetch} (`node:http`), which starts much faster than undici, the SDK's or the one
 * inside Node's `fetch` (a CLI process makes a request or two); with `HTTP(S)_PROXY` set, `undefined`, so
 * the SDK's undici `EnvHttpProxyAgent` honours the proxy and `NO_PROXY`.
 */
export function fetchFor(ctx: Context): Fetch | undefined {
  if (ctx.fetch) return ctx.fetch;
  const proxies = proxySettings(ctx);
  if (proxies.httpProxy || proxies.httpsProxy) return undefined;
  return nodeFetch;
}

/**
 * The SDK's logger for the CLI: every level to stderr, one line each, so `FLEECE_LOG=debug` never mixes
 * into stdout (`--json`, pipes). The SDK logs no secret (see its README).
 */
export function stderrLogger(ctx: Pick<Context, 'stderr'>): Logger {
  const write = (level: string) => (message: string) =>
    void ctx.stderr.write(`fleece-sdk ${level}: ${message}\n`);
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}

/** What a client is made for: the invocation's context, output and `--max-wait` (an `Invocation`). */
export type ClientHost = RateLimitHost & { ctx: Context };

/**
 * A client for `server` that sends through {@link fetchFor}, logs to stderr ({@link stderrLogger}) and
 * leaves the waits of rate limits to fleece ({@link rateLimitHandler}: a countdown on a terminal, at most
 * `--max-wait` without one, else exit 5 at once).
 */
export function createClient(host: ClientHost, server: string, options: ClientOptions): Fleece {
  const fetch = fetchFor(host.ctx);
  return new Fleece({
    ...options,
    baseURL: server,
    logger: stderrLogger(host.ctx),
    onRateLimit: rateLimitHandler(host, server),
    ...(fetch ? { fetch } : {}),
  });
}

/** An unauthenticated client for the public endpoints (health, the OAuth endpoints). */
export function anonymousClient(host: ClientHost, server: string): Fleece {
  return createClient(host, server, { auth: false });
}

/**
 * Awaits one SDK call and, under `--verbose`, writes its outcome to stderr:
 * `GET /api/v1/me → 200 in 12 ms (request id req_…)`.
 */
export async function track<T>(out: Output, label: string, call: APIPromise<T>): Promise<T> {
  const start = performance.now();
  const elapsed = () => `${Math.round(performance.now() - start)} ms`;
  try {
    const { data, response, requestId } = await call.withResponse();
    out.debug(`${label} → ${response.status} in ${elapsed()} (request id ${requestId})`);
    return data;
  } catch (error) {
    const status = error instanceof APIError ? String(error.status) : (error as Error).name;
    const id = error instanceof FleeceError ? error.requestId : undefined;
    out.debug(`${label} → ${status} after ${elapsed()} (request id ${id ?? 'none'})`);
    throw error;
  }
}

/** The SDK's message without its ` (…request id …)` suffix: the CLI prints the request id on its own line. */
export function withoutRequestId(message: string): string {
  return message.replace(/ \((?:code [^,)]+, )?request id [^)]*\)$/, '');
}

/** The problem `detail` or OAuth `error_description` of an API error, when the server sent one. */
function detailOf(error: APIError): string | undefined {
  if (error.problem?.detail) return error.problem.detail;
  const body = error.body as { error_description?: unknown } | undefined;
  return typeof body?.error_description === 'string' ? body.error_description : undefined;
}

/** Where a refused credential came from, for {@link credentialRefusal}. */
export interface RefusedCredential {
  /** The server (and profile) as messages name it. */
  at: string;
  /** `FLEECE_API_KEY` or `FLEECE_TOKEN` when the credential came from it. */
  env?: string | undefined;
  /** Whether a stored credential is an API key (else a login). */
  storedApiKey?: boolean | undefined;
  /** The `--server` / `--profile` flags of the invocation, for "log in again" hints. */
  flags: string;
}

/**
 * The message and hint of a 401. The server's problem code survives: `api_key_expired` says expired,
 * `invalid_api_key` revoked, unknown or mistyped (the server does not tell them apart), `api_key_disabled`
 * disabled by a plan change. The hint fits the source: for `FLEECE_API_KEY` / `FLEECE_TOKEN`, fix the
 * variable (never "log in": the variable would still win); for a stored login, log in again with the
 * `--server` / `--profile` in use.
 */
export function credentialRefusal(
  error: APIError,
  source: RefusedCredential,
): { message: string; hint: string } {
  const { at, env, flags } = source;
  const what = env ?? (source.storedApiKey ? 'The stored API key' : 'The stored login');
  const message =
    error.code === 'api_key_expired'
      ? messages.credentialExpired(what, at)
      : error.code === 'invalid_api_key'
        ? messages.credentialInvalid(what, at)
        : error.code === 'api_key_disabled'
          ? messages.credentialDisabled(what, at)
          : env
            ? messages.envCredentialRefused(env, at)
            : messages.storedCredentialRefused(at);
  const hint =
    error.code === 'api_key_disabled'
      ? messages.credentialDisabledHint
      : env
        ? error.code === 'api_key_expired'
          ? messages.envKeyExpiredHint(env)
          : messages.envCredentialRefusedHint(env)
        : messages.loginAgainHint(flags);
  return { message, hint };
}

/**
 * The error for an address that is not a Fleece server's: "This is not a Fleece server at <url>", why
 * (another web app answered, or the address ends in `/api`), and what to do (fix `--server` /
 * `FLEECE_BASE_URL`, with the address without `/api` when that was it). Exit code 1.
 */
export function notFleeceServer(
  server: string,
  reason: NotFleeceServerReason,
  options: { requestId?: string | undefined; cause?: unknown } = {},
): WrongServerError {
  if (reason === 'api_path') {
    const origin = server.replace(/\/api(\/v\d+)?\/*$/i, '');
    return new WrongServerError(messages.notFleeceServerApiPath(server), {
      ...options,
      hint: messages.notFleeceServerApiPathHint(origin),
    });
  }
  return new WrongServerError(messages.notFleeceServer(server), {
    ...options,
    hint: messages.notFleeceServerHint,
  });
}

/**
 * Turns a failed `GET /api/health` into the CLI's error: an answer that is not a Fleece health report (a
 * body without `service: "fleece"`, or not JSON at all) is another web app ({@link notFleeceServer}); the
 * rest as {@link fromSdkError}.
 */
export function fromHealthError(error: unknown, server: string): CliError | undefined {
  const foreign =
    error instanceof ResponseValidationError ||
    (error instanceof FleeceError &&
      !(error instanceof APIError) &&
      !(error instanceof APIConnectionError) &&
      !(error instanceof APIUserAbortError));
  if (foreign) {
    return notFleeceServer(server, 'not_a_fleece_answer', {
      requestId: (error as FleeceError).requestId,
      cause: error,
    });
  }
  return fromSdkError(error, server);
}

/** What a command tells {@link fromSdkError} so its hints can name the command and its flags. */
export interface SdkErrorContext {
  /** The credential in use, so a 401 names it and hints fit it (see {@link credentialRefusal}). */
  credential?: Omit<RefusedCredential, 'at'> | undefined;
  /** The command as typed, such as `fleece agents create`, for "see `… --help`" hints. */
  command?: string | undefined;
  /** The hint for a 404 of this command (which resource, id or name, and where to see them). */
  notFoundHint?: string | undefined;
  /** The wall clock (ms since the epoch), for when a rate limit resets. @default Date.now() */
  now?: number | undefined;
}

/** Request fields whose flag is not their kebab-case name. */
const FLAG_OF_FIELD: Record<string, string> = {
  agentId: '--agent',
  flowId: '--flow',
  parentId: '--parent',
  steps: '--step',
};

/**
 * The flags that the field paths of a 400 problem's `errors[]` name: `body.temperature` → `--temperature`,
 * `query.agentId` → `--agent`, `steps.0.agentId` → `--step`. Paths of the URL (`params.…`) name no flag.
 */
export function flagsOf(problem: { errors?: { path: string }[] | undefined } | undefined): string[] {
  const flags = new Set<string>();
  for (const { path } of problem?.errors ?? []) {
    const parts = path
      .replace(/\[\d+\]/g, '')
      .split('.')
      .filter((part) => part !== '' && !/^\d+$/.test(part));
    if (parts[0] === 'params') continue;
    const field = ['body', 'query'].includes(parts[0] ?? '') ? parts[1] : parts[0];
    if (!field) continue;
    flags.add(FLAG_OF_FIELD[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  }
  return [...flags];
}

/** Problem codes of a 400 that mean a value the user passed was refused: exit 2 (usage), as in docs/cli.md. */
const INPUT_PROBLEMS = new Set([
  'validation_failed',
  'bad_request',
  'malformed_json',
  'invalid_cursor',
  'unknown_model',
  'invalid_callback_url',
]);

/** The hint for a refused value: the flags `errors[]` names, the loopback switch for local callbacks. */
function inputHint(error: APIError, context: SdkErrorContext): string {
  const help = context.command ? messages.seeHelp(context.command) : '';
  if (error.code === 'invalid_callback_url' && /this machine|loopback/i.test(detailOf(error) ?? '')) {
    return messages.loopbackCallbackHint;
  }
  if (error.code === 'unknown_model') return messages.unknownModelHint;
  const flags = flagsOf(error.problem);
  return flags.length > 0 ? messages.badFlagsHint(flags, help) : messages.badValuesHint(help);
}

/**
 * Turns an SDK error into the {@link CliError} the user sees, with its exit code (3 for 401, 4 for 403,
 * 5 for 429, 6 for 404, 2 for a 400 refusing a value the user passed, 130 for an abort, 1 otherwise).
 * Connection failures carry no request id (the request never reached the server). `undefined` for errors
 * that are not the SDK's.
 */
export function fromSdkError(
  error: unknown,
  server: string,
  context: SdkErrorContext = {},
): CliError | undefined {
  if (!(error instanceof FleeceError)) return undefined;
  const requestId = error.requestId;
  const base = { requestId, cause: error };
  if (error instanceof APIUserAbortError) return new InterruptedError(base);
  if (error instanceof APIConnectionTimeoutError) {
    return new CliError(messages.timedOut(server), { cause: error, hint: messages.connectionFailedHint });
  }
  if (error instanceof APIConnectionError) {
    const reason = withoutRequestId(error.message).replace(/^Connection error: /, '');
    return new CliError(messages.connectionFailed(server, reason), {
      cause: error,
      hint: messages.connectionFailedHint,
    });
  }
  if (error instanceof ResponseValidationError) {
    return new CliError(messages.badResponse(error.path), { ...base, hint: messages.badResponseHint });
  }
  if (error instanceof AuthenticationError) {
    const { message, hint } = credentialRefusal(error, { at: server, flags: '', ...context.credential });
    return new NotAuthenticatedError(message, { ...base, hint });
  }
  if (error instanceof PermissionDeniedError) {
    return new CliError(detailOf(error) ?? messages.permissionDenied, {
      ...base,
      exitCode: ExitCode.PERMISSION,
      hint:
        error.code === 'account_pending_deletion'
          ? messages.accountPendingDeletionHint
          : error.code === 'consent_required'
            ? messages.consentAiHint
            : error.upgrade || error.code === 'plan_limit_reached'
              ? messages.upgradeHint
              : messages.permissionHint,
    });
  }
  if (error instanceof RateLimitError) {
    // Waits that fleece chose not to take fail in its onRateLimit; this is a 429 after the last retry.
    return rateLimitFailure(error, {
      server,
      waitMs: requestedWaitMs(error),
      now: context.now ?? Date.now(),
      suggestWait: false,
    });
  }
  if (error instanceof NotFleeceServerError) {
    return notFleeceServer(error.baseURL, error.reason, base);
  }
  if (error instanceof NotFoundError) {
    return new CliError(detailOf(error) ?? messages.notFound, {
      ...base,
      exitCode: ExitCode.NOT_FOUND,
      hint: context.notFoundHint ?? messages.notFoundHint,
    });
  }
  if (error instanceof InternalServerError) {
    return new CliError(messages.serverFailed(error.status), { ...base, hint: messages.serverFailedHint });
  }
  if (error instanceof APIError) {
    if (error.code === 'flow_already_running') {
      const running = (error.problem as { executionId?: unknown } | undefined)?.executionId;
      const id = typeof running === 'string' ? running : undefined;
      return new CliError(messages.flowAlreadyRunning(id), {
        ...base,
        hint: messages.flowAlreadyRunningHint(id),
      });
    }
    if (error.code === 'agent_in_use') {
      const flows = (error.problem as { flows?: unknown } | undefined)?.flows;
      const first = Array.isArray(flows) ? (flows[0] as { id?: unknown } | undefined)?.id : undefined;
      // The detail's first sentence names the flows; the rest names the HTTP route, replaced by the hint.
      const named = detailOf(error)?.split(/(?<=\.) /)[0];
      return new CliError(named ?? messages.requestFailed(error.status, 'Agent In Use'), {
        ...base,
        hint: messages.agentInUseHint(typeof first === 'string' ? first : '<flow>'),
      });
    }
    const title = error.problem?.title ?? withoutRequestId(error.message).replace(/^\d+ /, '');
    const message = detailOf(error) ?? messages.requestFailed(error.status, title);
    if (error.status === 400 && error.code !== undefined && INPUT_PROBLEMS.has(error.code)) {
      return new ValidationError(message, { ...base, hint: inputHint(error, context) });
    }
    return new CliError(message, { ...base, hint: messages.requestFailedHint });
  }
  return new CliError(withoutRequestId(error.message), { ...base, hint: messages.unexpectedHint });
}
