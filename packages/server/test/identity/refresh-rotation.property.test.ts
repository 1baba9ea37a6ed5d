import { createHash } from 'node:crypto';
import { TokenResponse } from '@fleece/sdk/contract';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFRESH_RETRY_GRACE_MS } from '../../src/modules/identity/grants.service.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { auditEvents, deviceTokens, signIn } from '../helpers/identity.js';

/** One step of a client (or a thief) against one refresh-token family. */
type Step =
  /**
   * Presents the token `back` places before the newest one of the chain (0: the newest, 1: its
   * predecessor; clamped to the first), with an `Idempotency-Key` or none.
   */
  | { kind: 'refresh'; back: number; key: string | null }
  /** Moves the clock forward by `ms`. */
  | { kind: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('refresh' as const),
      // Mostly the newest token or the ones just before it: where retries and replays happen.
      back: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.constant(1) },
        { weight: 2, arbitrary: fc.constant(2) },
        { weight: 1, arbitrary: fc.nat({ max: 5 }) },
      ),
      // One key mostly, so that retries with the key of the rotating request are common.
      key: fc.oneof(
        { weight: 3, arbitrary: fc.constant('k-1') },
        { weight: 1, arbitrary: fc.constant('k-2') },
        { weight: 2, arbitrary: fc.constant(null) },
      ),
    }),
  },
  // Up to 40 s: one step stays inside the 60 s retry grace, a few together leave it.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.nat({ max: 40_000 }) }) },
);

/** What the model knows of one token of the chain. */
interface ModelToken {
  token: string;
  /** Test-clock time it was rotated at, and the key and answer of the rotating request. */
  rotated?: { at: number; key: string | null; answer: TokenResponse };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('refresh-token rotation, retries and reuse (generated sequences)', () => {
  let t: TestApp;
  let cookie: string;
  beforeAll(async () => {
    t = await buildTestApp();
    cookie = await signIn(t, 'property@example.test');
  });
  afterAll(() => t.close());

  // Each run comes from its own address, so the per-IP limits of the token endpoints never trip.
  let runs = 0;
  /** How often each interesting outcome came up, to show the generated sequences reach them. */
  const seen = { rotated: 0, replayed: 0, reuseAfterSuccessorUsed: 0, retryAfterSuccessorUsed: 0 };
  const refresh = (token: string, key: string | null, remoteAddress: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/auth/token',
      remoteAddress,
      headers: key ? { 'idempotency-key': key } : {},
      payload: { grant_type: 'refresh_token', refresh_token: token, client_id: 'fleece-cli' },
    });

  it('keeps one live token per family, replays only the identical answer while the successor is unused, and revokes on any other reuse', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        runs++;
        const address = `10.0.${runs >> 8}.${runs & 255}`;
        const first = await deviceTokens(t, cookie, address);
        const sessionId = decodeJwt(first.access_token).sid as string;
        const chain: ModelToken[] = [{ token: first.refresh_token }];
        let revoked = false;
        let reuseEvents = 0;
        for (const s of steps) {
          if (s.kind === 'advance') {
            t.clock.advance(s.ms);
            continue;
          }
          const now = t.clock.now().getTime();
          const index = Math.max(0, chain.length - 1 - s.back);
          const presented = chain[index]!;
          const res = await refresh(presented.token, s.key, address);
          if (revoked) {
            expect(res.statusCode).toBe(400);
            expect(res.json().error).toBe('invalid_grant');
          } else if (!presented.rotated) {
            // The live token: rotated, and the chain grows by one.
            expect(res.statusCode).toBe(200);
            const answer = TokenResponse.parse(res.json());
            presented.rotated = { at: now, key: s.key, answer };
            seen.rotated++;
            chain.push({ token: answer.refresh_token });
          } else {
            const successorUnused = !chain[index + 1]!.rotated;
            const retry =
              s.key !== null &&
              s.key === presented.rotated.key &&
              now - presented.rotated.at < REFRESH_RETRY_GRACE_MS &&
              successorUnused;
            if (retry) {
              expect(res.statusCode).toBe(200);
              expect(res.json()).toEqual(presented.rotated.answer);
              seen.replayed++;
            } else {
              expect(res.statusCode).toBe(400);
              expect(res.json().error).toBe('invalid_grant');
              revoked = true;
              reuseEvents++;
              if (!successorUnused) {
                seen.reuseAfterSuccessorUsed++;
                if (s.key !== null && s.key === presented.rotated.key) seen.retryAfterSuccessorUsed++;
              }
            }
          }
          // At most one live refresh token in the family: the model's last one.
          const live = await t.db.ownerQuery<{ token_hash: string }>(
            'select token_hash from refresh_tokens where session_id = $1 and rotated_at is null',
            [sessionId],
          );
          expect(live).toEqual([{ token_hash: sha256(chain.at(-1)!.token) }]);
          const [session] = await t.db.ownerQuery<{ revoked_reason: string | null }>(
            'select revoked_reason from sessions where id = $1',
            [sessionId],
          );
          expect(session!.revoked_reason).toBe(revoked ? 'refresh_token_reuse' : null);
          const events = (await auditEvents(t)).filter(
            (e) => e.action === 'session.refresh_reuse_detected' && e.resource_id === sessionId,
          );
          expect(events).toHaveLength(reuseEvents);
        }
      }),
      {
        numRuns: 60,
        // Always among the cases: the retry answered again, and defect 4 (the retry after its successor
        // was used, which must revoke).
        examples: [
          [
            [
              { kind: 'refresh', back: 0, key: 'k-1' },
              { kind: 'refresh', back: 1, key: 'k-1' },
              { kind: 'refresh', back: 0, key: null },
            ],
          ],
          [
            [
              { kind: 'refresh', back: 0, key: 'k-1' },
              { kind: 'refresh', back: 0, key: null },
              { kind: 'advance', ms: 1_000 },
              { kind: 'refresh', back: 2, key: 'k-1' },
            ],
          ],
        ],
      },
    );
    // The cases reached every branch of the rule.
    expect(seen.rotated).toBeGreaterThan(0);
    expect(seen.replayed).toBeGreaterThan(0);
    expect(seen.reuseAfterSuccessorUsed).toBeGreaterThan(0);
    expect(seen.retryAfterSuccessorUsed).toBeGreaterThan(0);
  }, 60_000);
});
