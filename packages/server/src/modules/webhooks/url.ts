import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Config } from '../../config.js';
import { ProblemError } from '../../errors.js';
import { randomSecret } from '../../lib/secrets.js';

/** The longest callback URL accepted, in characters. */
export const CALLBACK_URL_MAX_LENGTH = 2048;

/**
 * The loopback addresses that `FLEECE_WEBHOOK_ALLOW_LOOPBACK` opens (what `localhost` resolves to); the rest
 * of 127.0.0.0/8 stays refused.
 */
export const ALLOWED_LOOPBACK_ADDRESSES: readonly string[] = ['127.0.0.1', '::1'];

/** The configuration {@link validateCallbackUrl} reads. */
export type CallbackUrlConfig = Pick<Config, 'env'> & { webhooks: Pick<Config['webhooks'], 'allowLoopback'> };

/**
 * Why an address may not receive a callback, or `undefined` when it may: the ipaddr.js range name of any
 * address that is not public unicast (`private`, `loopback`, `linkLocal` (which holds the cloud metadata
 * address 169.254.169.254), `uniqueLocal` (fd00:ec2::254 and other IPv6 ULAs), `carrierGradeNat`
 * (100.64.0.0/10, Alibaba's 100.100.100.200), `unspecified`, `multicast`, `broadcast`, `reserved`,
 * `ipv4Mapped` and the other IPv6 transition ranges). With `allowLoopback`, 127.0.0.1 and ::1 (exactly,
 * {@link ALLOWED_LOOPBACK_ADDRESSES}) pass. This is the same classification the delivery agent applies at connect time
 * (request-filtering-agent refuses every range but `unicast`), so a URL accepted here fails later only
 * when its host name resolves somewhere else.
 */
export function blockedRange(address: string, allowLoopback: boolean): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return 'invalid';
  }
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  if (range === 'loopback' && allowLoopback && ALLOWED_LOOPBACK_ADDRESSES.includes(parsed.toString())) {
    return undefined;
  }
  return range;
}

/** Plain words for the ranges people meet, for problem details. */
const RANGE_WORDS: Record<string, string> = {
  private: 'a private (RFC 1918) address',
  loopback: 'a loopback address',
  linkLocal: 'a link-local address (this range holds the cloud metadata service, 169.254.169.254)',
  uniqueLocal: 'a unique-local IPv6 address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  unspecified: 'the unspecified address',
  ipv4Mapped: 'an IPv4-mapped IPv6 address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
};

/** Host names that always mean this machine (RFC 6761 §6.3). */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Checks a webhook callback URL before it is saved (flow create and update) and before each delivery, and
 * returns it parsed (WHATWG URL; so `http://0x7f.1/` is already `http://127.0.0.1/` when checked).
 *
 * Refused, as 400 `invalid_callback_url` naming `field` in `errors[]`:
 * - anything but an absolute `http:` or `https:` URL, or longer than 2,048 characters;
 * - `http:` in production (`NODE_ENV=production`): callbacks carry results, so they travel over TLS
 *   (claim C2);
 * - a user name or password in the URL (it would be sent to every hop and stored in clear);
 * - a literal IP address outside public unicast, per {@link blockedRange}: private, loopback, link-local
 *   (cloud metadata), unique-local, carrier-grade NAT, IPv4-mapped IPv6 and the like; and `localhost` /
 *   `*.localhost`. 127.0.0.1, ::1 and `localhost` pass only with `FLEECE_WEBHOOK_ALLOW_LOOPBACK` (never in
 *   production).
 *
 * A host name is not resolved here: what it resolves to can change (DNS rebinding), so the delivery agent
 * checks the resolved address at connect time instead (src/modules/webhooks/deliver.ts).
 *
 * @throws {ProblemError} `invalid_callback_url` (400).
 * @example
 * const url = validateCallbackUrl(body.callbackUrl, app.config); // URL, or throws a 400 problem
 */
export function validateCallbackUrl(url: string, config: CallbackUrlConfig, field = 'callbackUrl'): URL {
  const refuse = (message: string): never => {
    throw new ProblemError('invalid_callback_url', `${field} ${message}`, {
      errors: [{ path: field, message }],
    });
  };
  if (url.length > CALLBACK_URL_MAX_LENGTH) {
    refuse(`is longer than ${CALLBACK_URL_MAX_LENGTH} characters.`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('is not an absolute URL; give one such as https://example.com/fleece-webhook.');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    refuse(`must be an http(s) URL such as https://example.com/fleece-webhook (got ${parsed.protocol}).`);
  }
  if (config.env === 'production' && parsed.protocol !== 'https:') {
    refuse('must use https: production sends webhook callbacks over TLS only.');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    refuse(
      'must not contain a user name or password; authenticate callbacks with the Fleece-Signature header instead.',
    );
  }
  const allowLoopback = config.env !== 'production' && config.webhooks.allowLoopback;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) {
    const range = blockedRange(host, allowLoopback);
    if (range !== undefined) {
      refuse(
        `points to ${host}, ${RANGE_WORDS[range] ?? `an address in the ${range} range`}; callbacks go only to public addresses.`,
      );
    }
  } else if (isLocalhostName(host) && !allowLoopback) {
    refuse(`points to ${host}, this machine; callbacks go only to public addresses.`);
  }
  return parsed;
}

/**
 * A fresh webhook signing secret: `whsec_` followed by 32 random bytes in base64url (43 characters).
 * Shown to the user once, stored sealed (AES-256-GCM, src/lib/crypto.ts), and used whole (prefix included,
 * as UTF-8) as the HMAC-SHA256 key of the `Fleece-Signature` header.
 *
 * @example createSigningSecret(); // 'whsec_3q2-7w…' (49 characters)
 */
export function createSigningSecret(): string {
  return `whsec_${randomSecret()}`;
}
