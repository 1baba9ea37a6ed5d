import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientAddressSubject, clientSubject } from '../../src/lib/client-address.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { originOf, signIn } from '../helpers/identity.js';

const byte = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(byte, byte, byte, byte).map((parts) => parts.join('.'));
const group = fc.integer({ min: 0, max: 0xffff });
/** Four 16-bit groups: a /64 prefix, or an interface identifier. */
const fourGroups = fc.tuple(group, group, group, group);
const port = fc.integer({ min: 1, max: 65535 });

/** An IPv6 address from a /64 prefix and an interface identifier, written out in full hex groups. */
function ipv6(prefix: number[], iid: number[]): string {
  return [...prefix, ...iid].map((g) => g.toString(16)).join(':');
}

/** The `::ffff:` hex notation of an IPv4 address (`::ffff:c000:201` for 192.0.2.1). */
function mappedHex(address: string): string {
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  return `::ffff:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

describe('the one client-address rule (clientSubject)', () => {
  it('gives an IPv4 address, its ::ffff: mapped forms (both notations) and any port suffix one subject', () => {
    fc.assert(
      fc.property(ipv4, port, (a, p) => {
        const subject = clientAddressSubject(a);
        expect(subject).toBe(a);
        for (const form of [
          `::ffff:${a}`,
          `::FFFF:${a}`,
          mappedHex(a),
          `0:0:0:0:0:ffff:${a}`,
          `${a}:${p}`,
          `[::ffff:${a}]:${p}`,
          `[${mappedHex(a)}]`,
        ]) {
          expect(clientAddressSubject(form), form).toBe(subject);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('gives two addresses of one IPv6 /64 one subject, and addresses of different /64s different ones', () => {
    fc.assert(
      fc.property(fourGroups, fourGroups, fourGroups, fourGroups, port, (prefix, other, iid1, iid2, p) => {
        // An address of ::ffff:0:0/96 is an IPv4 address (the property above), not an IPv6 subscriber.
        fc.pre(
          ![prefix, other].some((net) => net.every((g) => g === 0) && iid1[0] === 0 && iid1[1] === 0xffff),
        );
        fc.pre(!(prefix.every((g) => g === 0) && iid2[0] === 0 && iid2[1] === 0xffff));
        const a = ipv6(prefix, iid1);
        const b = ipv6(prefix, iid2);
        expect(clientAddressSubject(a)).toBe(clientAddressSubject(b));
        expect(clientAddressSubject(a.toUpperCase())).toBe(clientAddressSubject(a));
        expect(clientAddressSubject(`[${b}]:${p}`)).toBe(clientAddressSubject(a));
        expect(clientAddressSubject(`${b}%eth0`)).toBe(clientAddressSubject(a));
        if (!other.every((g, i) => g === prefix[i])) {
          expect(clientAddressSubject(ipv6(other, iid1))).not.toBe(clientAddressSubject(a));
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('writes subjects in one form, and keeps what is not an address apart from every address', () => {
    expect(clientAddressSubject('2001:DB8:1:2:3:4:5:6')).toBe('2001:db8:1:2::');
    expect(clientAddressSubject('2001:db8:1:2::')).toBe('2001:db8:1:2::');
    expect(clientAddressSubject('::1')).toBe('::');
    expect(clientAddressSubject(' 192.0.2.1 ')).toBe('192.0.2.1');
    expect(clientAddressSubject('unknown')).toBe('raw:unknown');
    expect(clientAddressSubject('x'.repeat(200))).toBe(`raw:${'x'.repeat(64)}`);
  });

  describe('behind a trusted proxy (FLEECE_TRUST_PROXY)', () => {
    let t: TestApp;
    beforeEach(async () => {
      t = await buildTestApp({ env: { FLEECE_TRUST_PROXY: '10.0.0.0/8,fd00::/8' } });
      t.app.get('/api/v1/test-subject', async (request) => ({
        ip: request.ip,
        subject: clientSubject(request),
      }));
    });
    afterEach(() => t.close());

    const seen = async (remoteAddress: string, forwardedFor?: string) =>
      (
        await t.app.inject({
          url: '/api/v1/test-subject',
          remoteAddress,
          headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
        })
      ).json();

    it('reads X-Forwarded-For right to left, skipping trusted proxies, so a client cannot choose its subject', async () => {
      // What the client wrote first is ignored; the address the first untrusted hop saw counts.
      expect(await seen('10.0.0.1', '203.0.113.66, 198.51.100.7, 10.0.0.2')).toEqual({
        ip: '198.51.100.7',
        subject: '198.51.100.7',
      });
      expect(await seen('fd00::1', '203.0.113.66, 2001:db8:5:6::7')).toEqual({
        ip: '2001:db8:5:6::7',
        subject: '2001:db8:5:6::',
      });
      // A proxy that writes the mapped form or a port: one subject with the plain address.
      expect((await seen('10.0.0.1', '::ffff:198.51.100.7')).subject).toBe('198.51.100.7');
      expect((await seen('10.0.0.1', '198.51.100.7:4711')).subject).toBe('198.51.100.7');
      expect((await seen('10.0.0.1', '[2001:db8:5:6::7]:4711')).subject).toBe('2001:db8:5:6::');
      // A peer that is not a trusted proxy is the client, whatever it forwards; so is a mapped peer.
      expect(await seen('203.0.113.9', '198.51.100.7')).toEqual({
        ip: '203.0.113.9',
        subject: '203.0.113.9',
      });
      expect((await seen('::ffff:10.0.0.1', '198.51.100.7')).subject).toBe('198.51.100.7');
      // Every hop trusted: the leftmost address is all there is.
      expect((await seen('10.0.0.1', '10.0.0.3, 10.0.0.2')).subject).toBe('10.0.0.3');
    });
  });
});

describe('the device user-code lock-out keys by the client-address rule', () => {
  let t: TestApp;
  let cookie: string;
  beforeEach(async () => {
    t = await buildTestApp();
    cookie = await signIn(t, 'lockout@example.test');
  });
  afterEach(() => t.close());

  const lookup = (remoteAddress: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/device/lookup',
      headers: { cookie, origin: originOf(t) },
      payload: { userCode: 'BBBB-BBBB' },
      remoteAddress,
    });
  /** Enters 5 wrong codes from `address`: the lock-out's limit. */
  async function lockOut(address: string) {
    for (let i = 0; i < 5; i++) expect((await lookup(address)).statusCode).toBe(404);
    expect((await lookup(address)).statusCode).toBe(429);
  }

  it('regression: locking an IPv4 address also locks its ::ffff:-mapped form', async () => {
    await lockOut('203.0.113.9');
    for (const form of ['::ffff:203.0.113.9', '::ffff:cb00:7109']) {
      const res = await lookup(form);
      expect(res.statusCode, form).toBe(429);
      expect(res.json().code).toBe('rate_limited');
    }
    expect((await lookup('203.0.113.10')).statusCode).toBe(404);
  });

  it('regression: locking an IPv6 address locks its /64 neighbours, not another /64', async () => {
    await lockOut('2001:db8:a:b::1');
    expect((await lookup('2001:db8:a:b:ffff:ffff:ffff:fffe')).statusCode).toBe(429);
    expect((await lookup('2001:DB8:A:B:0:0:0:2')).statusCode).toBe(429);
    expect((await lookup('2001:db8:a:c::1')).statusCode).toBe(404);
  });
});
