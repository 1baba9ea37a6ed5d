import type { FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';

/**
 * The one client-address rule (docs/architecture.md, claims C17 and C25): who a per-address rate limit
 * or lock-out counts. Every limit and every lock-out keys anonymous callers with {@link clientSubject}, so
 * an attacker cannot step around one of them by re-spelling an address that another would catch.
 */

/** How many leading bits of an IPv6 address name one subscriber: a /64 (RFC 6177, RFC 7421). */
export const IPV6_SUBSCRIBER_PREFIX = 64;

/** Longest unparseable address kept in a subject, in characters (the rest is cut). */
const RAW_MAX_LENGTH = 64;

// `192.0.2.1:8080` (IPv4 with a port) and `[2001:db8::1]:443` (bracketed IPv6, RFC 3986 §3.2.2, with or
// without a port): what some proxies write into X-Forwarded-For.
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/**
 * The rate-limit subject of one client address, as a string key:
 *
 * - IPv4 in dotted-decimal form (`192.0.2.1`); other IPv4 spellings (`0xc0.0.2.1`) become that form;
 * - an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2), in either notation (`::ffff:192.0.2.1`,
 *   `::ffff:c000:201`), is the IPv4 address it maps;
 * - any other IPv6 address is its /64 network address in RFC 5952 form (`2001:db8:1:2::`), since one
 *   subscriber is usually given a whole /64; a zone index (`%eth0`) is dropped;
 * - a port suffix (`192.0.2.1:8080`, `[2001:db8::1]:443`) and brackets are stripped first;
 * - anything that is still not an IP address is kept, lower-cased and cut to 64 characters, behind
 *   `raw:` (so it can never equal an address's subject).
 *
 * Pure and total: never throws. Input is what Fastify puts in `request.ip`.
 *
 * @param address a client address such as `203.0.113.9`, `::ffff:203.0.113.9` or `[2001:db8::1]:443`.
 * @returns the subject, e.g. `203.0.113.9` or `2001:db8::`.
 */
export function clientAddressSubject(address: string): string {
  let value = address.trim();
  const v4 = IPV4_WITH_PORT.exec(value);
  if (v4) value = v4[1]!;
  const bracketed = BRACKETED_IPV6.exec(value);
  if (bracketed) value = bracketed[1]!;
  const zone = value.indexOf('%');
  if (zone > 0 && value.includes(':')) value = value.slice(0, zone);
  if (!ipaddr.isValid(value)) return `raw:${value.toLowerCase().slice(0, RAW_MAX_LENGTH)}`;
  const parsed = ipaddr.parse(value);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const parts = v6.parts.map((part, i) => (i < IPV6_SUBSCRIBER_PREFIX / 16 ? part : 0));
  return new ipaddr.IPv6(parts).toString();
}

/**
 * The rate-limit subject of a request's client: {@link clientAddressSubject} of `request.ip`. That
 * address is Fastify's: the socket's peer, or, when the peer is one of the proxies listed in
 * `FLEECE_TRUST_PROXY` (Fastify `trustProxy` with a CIDR list, i.e. `proxy-addr`), the first address in
 * `X-Forwarded-For` read right to left that is not itself a trusted proxy. A client behind a trusted
 * proxy therefore cannot choose its subject by prepending addresses, and without a trusted proxy
 * `X-Forwarded-For` is ignored altogether.
 *
 * @param request the incoming request.
 * @returns the subject, e.g. `203.0.113.9` or `2001:db8:1:2::`.
 */
export function clientSubject(request: FastifyRequest): string {
  return clientAddressSubject(request.ip);
}
