import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  computeWebhookSignature,
  FleeceError,
  signWebhookPayload,
  verifyWebhookSignature,
  WebhookSignatureError,
} from '../../src/index.js';

const secret = 'whsec_dGVzdC1zZWNyZXQtdGhhdC1pcy1sb25nLWVub3VnaC0x';
const other = 'whsec_b3RoZXItc2VjcmV0LXRoYXQtaXMtbG9uZy1lbm91Z2gtMg';
const t = 1_767_225_600; // 2026-01-01T00:00:00Z
const body = JSON.stringify({
  id: 'whe_0123456789abcdefghijklmn',
  type: 'flow.run.completed',
  createdAt: '2026-01-01T00:00:00.000Z',
  data: { executionId: 'exe_1', flowId: 'flw_1', status: 'succeeded', output: 'héllo' },
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookSignatureError);
    expect(error).toBeInstanceOf(FleeceError);
    return (error as WebhookSignatureError).code;
  }
  throw new Error('expected a WebhookSignatureError');
}

describe('webhook signatures (Fleece-Signature: t=…,v1=…)', () => {
  it('signs hex HMAC-SHA256 of "<t>.<raw body>" keyed with the whole secret', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(computeWebhookSignature(body, secret, t)).toBe(expected);
    expect(signWebhookPayload(body, secret, t)).toBe(`t=${t},v1=${expected}`);
    // Bytes and text of the same body sign alike.
    expect(computeWebhookSignature(new TextEncoder().encode(body), secret, t)).toBe(expected);
  });

  it('verifies a genuine request and returns the parsed event', () => {
    const event = verifyWebhookSignature(body, signWebhookPayload(body, secret, t), secret, { now: t + 10 });
    expect(event.id).toBe('whe_0123456789abcdefghijklmn');
    expect(event.type).toBe('flow.run.completed');
    expect(event.data.output).toBe('héllo');
  });

  it('verifies a Buffer body and a Date as now', () => {
    const header = signWebhookPayload(body, secret, t);
    expect(verifyWebhookSignature(Buffer.from(body), header, secret, { now: new Date(t * 1000) }).type).toBe(
      'flow.run.completed',
    );
  });

  it('rejects a tampered body', () => {
    const header = signWebhookPayload(body, secret, t);
    const tampered = body.replace('héllo', 'hello');
    expect(codeOf(() => verifyWebhookSignature(tampered, header, secret, { now: t }))).toBe(
      'signature_mismatch',
    );
  });

  it('rejects re-serialised JSON (the raw body must be passed)', () => {
    const header = signWebhookPayload(body, secret, t);
    const reserialised = JSON.stringify(JSON.parse(body), null, 2);
    expect(codeOf(() => verifyWebhookSignature(reserialised, header, secret, { now: t }))).toBe(
      'signature_mismatch',
    );
  });

  it('rejects a signature made with another secret', () => {
    const header = signWebhookPayload(body, other, t);
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: t }))).toBe('signature_mismatch');
  });

  it('rejects a timestamp changed after signing', () => {
    const header = signWebhookPayload(body, secret, t).replace(`t=${t}`, `t=${t + 1}`);
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: t }))).toBe('signature_mismatch');
  });

  it('rejects a stale timestamp (older than the 300 s default tolerance) and one from the future', () => {
    const header = signWebhookPayload(body, secret, t);
    expect(verifyWebhookSignature(body, header, secret, { now: t + 300 }).type).toBe('flow.run.completed');
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: t + 301 }))).toBe(
      'timestamp_outside_tolerance',
    );
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: t - 301 }))).toBe(
      'timestamp_outside_tolerance',
    );
    expect(verifyWebhookSignature(body, header, secret, { now: t + 3600, toleranceSec: 3600 }).type).toBe(
      'flow.run.completed',
    );
  });

  it('checks the timestamp before the signature, so a replay is named as such', () => {
    const header = signWebhookPayload(body, other, t);
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: t + 1000 }))).toBe(
      'timestamp_outside_tolerance',
    );
  });

  it('accepts any of several v1 signatures, and any of several secrets (rotation)', () => {
    const both = signWebhookPayload(body, [other, secret], t);
    expect(both.split(',')).toHaveLength(3);
    expect(verifyWebhookSignature(body, both, secret, { now: t }).type).toBe('flow.run.completed');
    const old = signWebhookPayload(body, other, t);
    expect(verifyWebhookSignature(body, old, [secret, other], { now: t }).type).toBe('flow.run.completed');
  });

  it('ignores unknown schemes and spaces, and takes the header as Node gives a repeated one', () => {
    const sig = computeWebhookSignature(body, secret, t);
    const header = `t=${t}, v0=deadbeef, v2=${'0'.repeat(64)}, v1=${sig.toUpperCase()}`;
    expect(verifyWebhookSignature(body, header, secret, { now: t }).type).toBe('flow.run.completed');
    expect(verifyWebhookSignature(body, [`t=${t}`, `v1=${sig}`], secret, { now: t }).type).toBe(
      'flow.run.completed',
    );
  });

  it.each([
    [undefined, 'missing_signature'],
    ['', 'missing_signature'],
    ['v1=abc', 'malformed_signature'],
    [`t=${t}`, 'malformed_signature'],
    [`t=${t},v1=xyz`, 'malformed_signature'],
    [`t=-5,v1=${'a'.repeat(64)}`, 'malformed_signature'],
    [`t=now,v1=${'a'.repeat(64)}`, 'malformed_signature'],
  ])('rejects the header %j as %s', (header, code) => {
    expect(codeOf(() => verifyWebhookSignature(body, header, secret, { now: t }))).toBe(code);
  });

  it('rejects a correctly signed body that is not JSON', () => {
    const header = signWebhookPayload('not json', secret, t);
    expect(codeOf(() => verifyWebhookSignature('not json', header, secret, { now: t }))).toBe(
      'invalid_payload',
    );
  });

  it('refuses to sign with a bad timestamp or no secret', () => {
    expect(() => signWebhookPayload(body, secret, 1.5)).toThrow(RangeError);
    expect(() => signWebhookPayload(body, [], t)).toThrow(RangeError);
  });
});
