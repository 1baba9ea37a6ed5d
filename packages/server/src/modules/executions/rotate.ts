import { and, eq, ne } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { chatMessages, executionEvents, executions } from '../../db/schema/ai.js';
import { users } from '../../db/schema/identity.js';
import { withAdmin, withUser } from '../../db/tenant.js';
import { decrypt, encrypt, type Keyring } from '../../lib/crypto.js';
import { messageAad } from '../chat/service.js';
import { eventAad, executionAad } from './service.js';

/** What {@link rotateExecutionKeys} re-sealed. */
export interface RotationReport {
  executions: number;
  events: number;
  chatMessages: number;
}

/**
 * Re-seals AI content under the keyring's current key (`fleece-server keys rotate`): every execution's
 * input and output, every stored stream event and every chat message whose `key_id` is not the current key's,
 * opened with the previous key its envelope names (`FLEECE_ENCRYPTION_KEYS_PREVIOUS`). Works owner by
 * owner, in that owner's row-level security scope, `batchSize` rows per transaction, so it can run while
 * the server serves and be interrupted and run again. Once it reports nothing left, the previous key can
 * be removed from the configuration.
 *
 * @throws {DecryptionError} when a row names a key the keyring does not hold.
 */
export async function rotateExecutionKeys(
  db: Db,
  keyring: Keyring,
  batchSize = 500,
): Promise<RotationReport> {
  const current = keyring.current;
  const owners = await withAdmin(db, (tx) => tx.select({ id: users.id }).from(users));
  const report: RotationReport = { executions: 0, events: 0, chatMessages: 0 };
  for (const { id: userId } of owners) {
    for (;;) {
      const n = await withUser(db, userId, async (tx) => {
        const rows = await tx
          .select({ id: executions.id, input: executions.input, output: executions.output })
          .from(executions)
          .where(and(eq(executions.userId, userId), ne(executions.keyId, current.id)))
          .limit(batchSize)
          .for('update');
        for (const row of rows) {
          const reseal = (envelope: Buffer, field: 'input' | 'output') =>
            encrypt(
              current,
              decrypt(keyring, envelope, executionAad(row.id, field)),
              executionAad(row.id, field),
            );
          await tx
            .update(executions)
            .set({
              keyId: current.id,
              input: reseal(row.input, 'input'),
              output: row.output ? reseal(row.output, 'output') : null,
            })
            .where(eq(executions.id, row.id));
        }
        return rows.length;
      });
      report.executions += n;
      if (n < batchSize) break;
    }
    for (;;) {
      const n = await withUser(db, userId, async (tx) => {
        const rows = await tx
          .select({
            executionId: executionEvents.executionId,
            seq: executionEvents.seq,
            data: executionEvents.data,
          })
          .from(executionEvents)
          .where(and(eq(executionEvents.userId, userId), ne(executionEvents.keyId, current.id)))
          .limit(batchSize)
          .for('update');
        for (const row of rows) {
          const aad = eventAad(row.executionId, row.seq);
          await tx
            .update(executionEvents)
            .set({ keyId: current.id, data: encrypt(current, decrypt(keyring, row.data, aad), aad) })
            .where(and(eq(executionEvents.executionId, row.executionId), eq(executionEvents.seq, row.seq)));
        }
        return rows.length;
      });
      report.events += n;
      if (n < batchSize) break;
    }
    for (;;) {
      const n = await withUser(db, userId, async (tx) => {
        const rows = await tx
          .select({
            conversationId: chatMessages.conversationId,
            seq: chatMessages.seq,
            content: chatMessages.content,
          })
          .from(chatMessages)
          .where(and(eq(chatMessages.userId, userId), ne(chatMessages.keyId, current.id)))
          .limit(batchSize)
          .for('update');
        for (const row of rows) {
          const aad = messageAad(row.conversationId, row.seq);
          await tx
            .update(chatMessages)
            .set({ keyId: current.id, content: encrypt(current, decrypt(keyring, row.content, aad), aad) })
            .where(and(eq(chatMessages.conversationId, row.conversationId), eq(chatMessages.seq, row.seq)));
        }
        return rows.length;
      });
      report.chatMessages += n;
      if (n < batchSize) break;
    }
  }
  return report;
}
