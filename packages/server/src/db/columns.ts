import { customType } from 'drizzle-orm/pg-core';

/**
 * A PostgreSQL `bytea` column read and written as a Node `Buffer`. The `pg` driver already returns a
 * Buffer; PGlite returns a `Uint8Array`, which is wrapped (no copy) so both backends give one type.
 */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  toDriver: (value) => value,
  fromDriver: (value) =>
    Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
});
