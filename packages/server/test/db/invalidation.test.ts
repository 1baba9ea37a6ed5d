import { describe, expect, it } from 'vitest';
import { InvalidatingCache } from '../../src/db/invalidation.js';
import { TestClock } from '../helpers/app.js';

function cache(clock = new TestClock()) {
  return new InvalidatingCache<{ owner: string }>({
    ttlMs: 1_000,
    max: 3,
    clock,
    matches: (payload, _key, value) => payload === `u:${value.owner}`,
  });
}

/** A loader whose reads the test releases by hand, counting them. */
function gate() {
  const pending: ((value: { owner: string }) => void)[] = [];
  const loader = () => new Promise<{ owner: string }>((resolve) => pending.push(resolve));
  return {
    loader,
    release: (v: { owner: string }) => {
      for (const resolve of pending.splice(0)) resolve(v);
    },
    calls: () => pending.length,
  };
}

describe('InvalidatingCache', () => {
  it('shares one read between concurrent misses of a key (no stampede on the database)', async () => {
    const c = cache();
    const g = gate();
    const all = Promise.all(Array.from({ length: 50 }, () => c.load('k', g.loader)));
    expect(g.calls()).toBe(1);
    g.release({ owner: 'a' });
    expect(await all).toHaveLength(50);
    expect(c.get('k')).toEqual({ owner: 'a' });
  });

  it('does not store a read that raced an invalidation, and reads again after it', async () => {
    const c = cache();
    const g = gate();
    const first = c.load('k', g.loader);
    c.invalidate('u:a');
    expect(c.get('k')).toBeUndefined();
    const second = c.load('k', g.loader);
    expect(g.calls()).toBe(2);
    g.release({ owner: 'a' });
    await Promise.all([first, second]);
    // The second read started after the invalidation: its result is stored.
    expect(c.get('k')).toEqual({ owner: 'a' });
  });

  it('expires entries after the TTL and drops matching ones at once', async () => {
    const clock = new TestClock();
    const c = cache(clock);
    c.set('x', { owner: 'a' });
    c.set('y', { owner: 'b' });
    c.invalidate('u:a');
    expect(c.get('x')).toBeUndefined();
    expect(c.get('y')).toEqual({ owner: 'b' });
    clock.advance(1_000);
    expect(c.get('y')).toBeUndefined();
  });

  it('keeps at most `max` entries, dropping the oldest', () => {
    const c = cache();
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, { owner: k });
    expect(c.get('a')).toBeUndefined();
    expect(c.get('d')).toEqual({ owner: 'd' });
  });
});
