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
  NotFoundError,
  nodeFetch,
  PermissionDeniedError,
  RateLimitError,
  ResponseValidationError,
} from '@fleece/sdk';
import { messages } from '../messages.js';
import type { Context } from './context.js';
import { CliError, InterruptedError, NotAuthenticatedError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';
import { proxySettings } from './proxy.js';

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

/** A client for `server` that sends through {@link fetchFor}. */
export function createClient(ctx: Context, server: string, options: ClientOptions): Fleece {
  const fetch = fetchFor(ctx);
  return new Fleece({ ...options, baseURL: server, ...(fetch ? { fetch } : {}) });
}

/** An unauthenticated client for the public endpoints (health, the OAuth endpoints). */
export function anonymousClient(ctx: Context, server: string): Fleece {
  return createClient(ctx, server, { auth: false });
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

/**
 * Turns an SDK error into the {@link CliError} the user sees, with its exit code (3 for 401, 4 for 403,
 * 5 for 429, 6 for 404, 130 for an abort, 1 otherwise). `undefined` for errors that are not the SDK's.
 */
export function fromSdkError(error: unknown, server: string): CliError | undefined {
  if (!(error instanceof FleeceError)) return undefined;
  const requestId = error.requestId;
  const base = { requestId, cause: error };
  if (error instanceof APIUserAbortError) return new InterruptedError(base);
  if (error instanceof APIConnectionTimeoutError) {
    return new CliError(messages.timedOut(server), { ...base, hint: messages.connectionFailedHint });
  }
  if (error instanceof APIConnectionError) {
    const reason = withoutRequestId(error.message).replace(/^Connection error: /, '');
    return new CliError(messages.connectionFailed(server, reason), {
      ...base,
      hint: messages.connectionFailedHint,
    });
  }
  if (error instanceof ResponseValidationError) {
    return new CliError(messages.badResponse(error.path), { ...base, hint: messages.badResponseHint });
  }
  if (error instanceof AuthenticationError) {
    return new NotAuthenticatedError(detailOf(error) ?? messages.storedCredentialRefused(server), {
      ...base,
      hint: messages.loginAgainHint(''),
    });
  }
  if (error instanceof PermissionDeniedError) {
    return new CliError(detailOf(error) ?? messages.permissionDenied, {
      ...base,
      exitCode: ExitCode.PERMISSION,
      hint: error.upgrade ? messages.upgradeHint : messages.permissionHint,
    });
  }
  if (error instanceof RateLimitError) {
    return new CliError(detailOf(error) ?? messages.rateLimited, {
      ...base,
      exitCode: ExitCode.RATE_LIMITED,
      hint: messages.rateLimitedHint(error.retryAfter),
    });
  }
  if (error instanceof NotFoundError) {
    return new CliError(detailOf(error) ?? messages.notFound, {
      ...base,
      exitCode: ExitCode.NOT_FOUND,
      hint: messages.notFoundHint,
    });
  }
  if (error instanceof InternalServerError) {
    return new CliError(messages.serverFailed(error.status), { ...base, hint: messages.serverFailedHint });
  }
  if (error instanceof APIError) {
    const title = error.problem?.title ?? withoutRequestId(error.message).replace(/^\d+ /, '');
    return new CliError(detailOf(error) ?? messages.requestFailed(error.status, title), {
      ...base,
      hint: messages.requestFailedHint,
    });
  }
  return new CliError(withoutRequestId(error.message), { ...base, hint: messages.unexpectedHint });
}
