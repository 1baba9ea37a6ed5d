import { randomBytes } from 'node:crypto';
import { type EncryptionKey, encrypt } from '../../src/lib/crypto.js';
import { executionAad } from '../../src/modules/executions/service.js';

/** Runs one statement as the database owner (row-level security does not apply). */
export type OwnerQuery = (text: string, params?: unknown[]) => Promise<unknown>;

/** Rows per INSERT of {@link seedExecutions}. */
const SEED_CHUNK = 2_000;

/** The input and output text of seeded execution number `n` (`inputBytes` ASCII characters of input). */
export function seededText(n: number, inputBytes: number): { input: string; output: string } {
  const input = `input ${n} `.padEnd(inputBytes, 'x');
  return { input, output: `output ${n}` };
}

/**
 * Inserts `count` succeeded executions of `userId` (no agent) with input and output encrypted as the server
 * does (AES-256-GCM under `key`, bound to each row and field), `SEED_CHUNK` rows per statement through
 * `unnest`, so 200,000 rows take seconds. `createdAt` counts up one millisecond per row from `since`.
 * Ids are `exe_` and 24 random base-36 characters. Returns the ids in creation order.
 */
export async function seedExecutions(
  query: OwnerQuery,
  key: EncryptionKey,
  userId: string,
  count: number,
  options: { inputBytes?: number; since?: Date } = {},
): Promise<string[]> {
  const inputBytes = options.inputBytes ?? 64;
  const since = (options.since ?? new Date('2026-01-01T00:00:00.000Z')).getTime();
  const all: string[] = [];
  for (let start = 0; start < count; start += SEED_CHUNK) {
    const n = Math.min(SEED_CHUNK, count - start);
    const ids: string[] = [];
    const inputs: Buffer[] = [];
    const outputs: Buffer[] = [];
    const times: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = start + i;
      const id = `exe_${randomId()}`;
      const text = seededText(k, inputBytes);
      ids.push(id);
      inputs.push(encrypt(key, text.input, executionAad(id, 'input')));
      outputs.push(encrypt(key, text.output, executionAad(id, 'output')));
      times.push(new Date(since + k).toISOString());
    }
    await query(
      `insert into executions (id, user_id, status, model, provider, key_id, input, output, input_tokens,
         output_tokens, finish_reason, created_at, started_at, finished_at, duration_ms)
       select id, $1, 'succeeded', 'mock', 'mock', $2, input, output, 1, 1, 'stop', at, at, at, 0
       from unnest($3::text[], $4::bytea[], $5::bytea[], $6::timestamptz[]) as s(id, input, output, at)`,
      [userId, key.id, ids, inputs, outputs, times],
    );
    all.push(...ids);
  }
  return all;
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
function randomId(): string {
  const bytes = randomBytes(24);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % 36];
  return id;
}
