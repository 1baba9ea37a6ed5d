import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RequestFilteringHttpAgent, RequestFilteringHttpsAgent } from 'request-filtering-agent';
import { ALLOWED_LOOPBACK_ADDRESSES, blockedRange } from './url.js';

/**
 * The outbound HTTP of webhook callbacks, with SSRF filtering at connect time.
 *
 * Why request-filtering-agent with node:http/https: the check must apply to the address a socket actually
 * connects to, after DNS resolution, or a host name that resolves to 169.254.169.254 (or is re-pointed
 * there between the URL check and the request: DNS rebinding) would get through. request-filtering-agent
 * (azu; 360k weekly downloads; ipaddr.js ranges) is an `http.Agent`/`https.Agent` whose `createConnection`
 * refuses a literal IP host outright and wraps the socket's `lookup`, so every address DNS returns (all of
 * them with `autoSelectFamily`) is checked before `connect()`; anything that is not public unicast is
 * refused (private, loopback, link-local and metadata, unique-local, carrier-grade NAT, IPv4-mapped,
 * unspecified, reserved). An undici `Agent` with a `connect.lookup` filter would do the same for `fetch`,
 * but it is hand-written policy around a connector; this library is the maintained, single-purpose one, and
 * node:http gives the other controls needed here (no redirect following, byte-capped body reads).
 *
 * Redirects are never followed (a 3xx answer is a failed attempt, as with Stripe), so a receiver cannot
 * bounce a callback to an internal address. Loopback (127.0.0.1 and ::1 exactly) is allowed only when
 * the configuration says so (`FLEECE_WEBHOOK_ALLOW_LOOPBACK`, refused in production), for a receiver on
 * the developer's machine and for tests.
 */

/** The most bytes of a receiver's answer that are read (and at most this many characters kept). */
export const RESPONSE_EXCERPT_CHARS = 256;

/** A safe error code of a failed attempt; see `WebhookDelivery` in the SDK contract. */
export type DeliveryErrorCode =
  | 'http_error'
  | 'redirect_not_followed'
  | 'timeout'
  | 'aborted'
  | 'connection_failed'
  | 'dns_failed'
  | 'tls_failed'
  | 'address_blocked'
  /** The URL no longer passes `validateCallbackUrl` (for example the server now runs in production). */
  | 'invalid_callback_url'
  /** The flow, or its signing secret, is gone: nothing was sent. */
  | 'flow_unavailable'
  /** The flow's callback URL changed (or was removed) after the event was made: nothing was sent. */
  | 'callback_changed';

/** The outcome of one POST. `durationMs` runs from the request until the answer was read (or failed). */
export interface DeliveryResult {
  outcome: 'succeeded' | 'failed';
  /** The HTTP status answered, `null` when there was no answer. */
  status: number | null;
  errorCode: DeliveryErrorCode | null;
  /** At most {@link RESPONSE_EXCERPT_CHARS} printable characters of the answer's body; `null` when empty. */
  responseExcerpt: string | null;
  durationMs: number;
  /** Whether trying again later could succeed (`address_blocked` cannot). */
  retryable: boolean;
}

/** Options of {@link WebhookTransport}. */
export interface WebhookTransportOptions {
  /** Allow 127.0.0.1 and ::1 (development and tests only; never in production). */
  allowLoopback: boolean;
  /**
   * The DNS lookup sockets use, in place of `dns.lookup`; the filter checks whatever it returns. Tests
   * inject one to make a host name resolve to a chosen address without touching /etc/hosts.
   */
  lookup?: LookupFunction;
}

/** Node's error codes that mean a name did not resolve. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

/** request-filtering-agent refuses an address with a plain Error whose message starts like this. */
const BLOCKED = /^DNS lookup .+ is not allowed\b/;

/**
 * The safe code of a failed request. `refused` says whether the host, or an address it resolved to, is one
 * the filter refuses: checked by Fleece's own ranges too, so the code does not hang on the library's
 * message text alone.
 */
function classify(error: unknown, timedOut: boolean, refused: boolean): DeliveryErrorCode {
  const err = error as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  if (timedOut) return 'timeout';
  if (err?.name === 'AbortError' || code === 'ABORT_ERR') return 'aborted';
  if (refused || (typeof err?.message === 'string' && BLOCKED.test(err.message))) return 'address_blocked';
  if (DNS_CODES.has(code)) return 'dns_failed';
  if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/.test(code)) {
    return 'tls_failed';
  }
  return 'connection_failed';
}

/** Printable text only: control and format characters (bidi overrides included) become spaces. */
export function safeExcerpt(body: Buffer): string | null {
  const text = body
    .toString('utf8')
    .replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, RESPONSE_EXCERPT_CHARS);
  return text === '' ? null : text;
}

/**
 * POSTs webhook callbacks through SSRF-filtering agents (see this module's header). One instance per app;
 * {@link close} ends its sockets.
 */
export class WebhookTransport {
  private readonly httpAgent: RequestFilteringHttpAgent;
  private readonly httpsAgent: RequestFilteringHttpsAgent;

  constructor(private readonly options: WebhookTransportOptions) {
    const filter = {
      allowPrivateIPAddress: false,
      allowMetaIPAddress: false,
      allowIPAddressList: options.allowLoopback ? [...ALLOWED_LOOPBACK_ADDRESSES] : [],
      denyIPAddressList: [],
      keepAlive: false,
    };
    this.httpAgent = new RequestFilteringHttpAgent(filter);
    this.httpsAgent = new RequestFilteringHttpsAgent({ ...filter, minVersion: 'TLSv1.2' });
  }

  /**
   * POSTs `body` to `url` with `headers` (plus `Content-Length`) and resolves with what happened; it never
   * rejects. A 2xx answer succeeds; a 3xx is `redirect_not_followed`; 4xx/5xx is `http_error`; no answer
   * within `timeoutMs` (connect, headers and the excerpt together) is `timeout`. Only the first
   * {@link RESPONSE_EXCERPT_CHARS} bytes of the answer are read; the rest is discarded unread.
   *
   * @param signal Aborts the attempt early (`aborted`), for example when the job is stopped.
   */
  post(
    url: URL,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<DeliveryResult> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const elapsed = () => Math.max(0, Math.round(performance.now() - started));
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<DeliveryResult>((resolve) => {
      let settled = false;
      const settle = (result: Omit<DeliveryResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        resolve({ ...result, durationMs: elapsed() });
      };
      // Every address the host resolved to, as the filter saw it (a literal IP host resolves to itself).
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const resolved: string[] = isIP(host) === 0 ? [] : [host];
      const base = this.options.lookup ?? (dns.lookup as unknown as LookupFunction);
      const lookup = ((
        hostname: string,
        options: dns.LookupOptions,
        callback: (...args: unknown[]) => void,
      ) => {
        base(hostname, options, (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => {
          if (!err) {
            if (Array.isArray(address))
              for (const a of address as dns.LookupAddress[]) resolved.push(a.address);
            else if (typeof address === 'string') resolved.push(address);
          }
          (callback as (...args: unknown[]) => void)(err, address, family);
        });
      }) as unknown as LookupFunction;
      const fail = (error: unknown) => {
        const refused = resolved.some((a) => blockedRange(a, this.options.allowLoopback) !== undefined);
        const errorCode = classify(error, timeout.aborted, refused);
        settle({
          outcome: 'failed',
          status: null,
          errorCode,
          responseExcerpt: null,
          retryable: errorCode !== 'address_blocked',
        });
      };
      let request: http.ClientRequest;
      try {
        request = client.request(
          url,
          {
            method: 'POST',
            agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
            headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
            signal: combined,
            lookup,
          },
          (response) => {
            const status = response.statusCode ?? 0;
            const chunks: Buffer[] = [];
            let size = 0;
            const finish = () => {
              const ok = status >= 200 && status < 300;
              settle({
                outcome: ok ? 'succeeded' : 'failed',
                status,
                errorCode: ok ? null : status >= 300 && status < 400 ? 'redirect_not_followed' : 'http_error',
                responseExcerpt: safeExcerpt(Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_CHARS)),
                retryable: !ok,
              });
            };
            response.on('data', (chunk: Buffer) => {
              if (size < RESPONSE_EXCERPT_CHARS) chunks.push(chunk);
              size += chunk.length;
              if (size >= RESPONSE_EXCERPT_CHARS) {
                finish();
                response.destroy();
              }
            });
            response.on('end', finish);
            // An answer cut short (or destroyed above) still has its status.
            response.on('error', finish);
            response.on('close', finish);
          },
        );
      } catch (error) {
        fail(error);
        return;
      }
      request.on('error', fail);
      request.end(body);
    });
  }

  /** Destroys the agents' sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
