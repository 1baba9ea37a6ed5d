import { describe, expect, it } from 'vitest';
import {
  decodeCursor,
  decodeIdCursor,
  encodeCursor,
  encodeIdCursor,
  isIntegerKey,
  pageOf,
  readCursor,
} from '../../src/db/pagination.js';
import { ProblemError } from '../../src/errors.js';

const AT = new Date('2026-03-01T12:00:00.123Z');

/** The cursor wire format every list issued before the shared codec: base64url of `[ISO time, key]`. */
const issued = (at: string, key: string | number) =>
  Buffer.from(JSON.stringify([at, key])).toString('base64url');

describe('keyset cursors', () => {
  it('keeps the wire format of cursors already issued: base64url of [ISO time, key]', () => {
    expect(encodeCursor({ createdAt: AT, id: 'agt_abc' })).toBe(
      issued('2026-03-01T12:00:00.123Z', 'agt_abc'),
    );
    expect(encodeCursor({ createdAt: AT, id: 7 })).toBe(issued('2026-03-01T12:00:00.123Z', 7));
    expect(decodeCursor(issued('2026-03-01T12:00:00.123Z', 'agt_abc'), 'agt')).toEqual([AT, 'agt_abc']);
    expect(decodeCursor(issued('2026-03-01T12:00:00.123Z', 3), isIntegerKey)).toEqual([AT, 3]);
    expect(encodeIdCursor(42)).toBe(Buffer.from('a1:42').toString('base64url'));
    expect(decodeIdCursor(Buffer.from('a1:42').toString('base64url'))).toBe(42);
  });

  it('answers 400 invalid_cursor naming query.cursor for anything this API did not issue', () => {
    for (const [cursor, key] of [
      ['not-a-cursor', 'agt'],
      [issued('2026-03-01T12:00:00.000Z', 'exe_abc'), 'agt'],
      [issued('yesterday', 'agt_abc'), 'agt'],
      [Buffer.from('{"a":1}').toString('base64url'), 'agt'],
    ] as const) {
      let thrown: unknown;
      try {
        decodeCursor(cursor, key);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, cursor).toBeInstanceOf(ProblemError);
      expect((thrown as ProblemError).code).toBe('invalid_cursor');
      expect((thrown as ProblemError).extras.errors).toEqual([
        { path: 'query.cursor', message: 'not a cursor this API issued' },
      ]);
    }
    expect(() => decodeCursor(issued('2026-03-01T12:00:00.000Z', 1.5), isIntegerKey)).toThrow(ProblemError);
    expect(readCursor('not-a-cursor', isIntegerKey)).toBeUndefined();
    expect(() => decodeIdCursor(Buffer.from('a1:0').toString('base64url'))).toThrow(ProblemError);
    expect(() => decodeIdCursor(Buffer.from('a1:042').toString('base64url'))).toThrow(ProblemError);
    expect(() => decodeIdCursor(`${Buffer.from('a1:42').toString('base64url')}=`, 'Start over.')).toThrow(
      'Start over.',
    );
  });

  it('pages rows read with LIMIT n + 1: a cursor only when more follow', () => {
    const cursorOf = (last: number) => `after ${last}`;
    expect(pageOf([5, 4, 3], 2, cursorOf)).toEqual({ page: [5, 4], nextCursor: 'after 4' });
    expect(pageOf([5, 4], 2, cursorOf)).toEqual({ page: [5, 4], nextCursor: null });
    expect(pageOf([], 2, cursorOf)).toEqual({ page: [], nextCursor: null });
  });
});
