import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveId } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import { flowFields, withAgentIds } from './create.js';
import type { FlowsOptions } from './index.js';
import { printCreatedFlow } from './shared.js';

/** A 404 names the flow's id or name and where to see them. */
export const notFoundHint = messages.flowNotFoundHint;

/**
 * Runs `fleece flows update <id|name>` (`PATCH /api/v1/flows/:id`): changes only the fields given (`--step`
 * replaces every step; `--no-schedule` unschedules; `--no-callback-url` removes the callback). A new
 * callback URL prints its new signing secret once. Exit 2, nothing sent, when no field is given.
 */
export async function run(inv: Invocation, options: FlowsOptions, [value]: string[]): Promise<void> {
  const fields = await flowFields(inv, options);
  if (Object.keys(fields).length === 0) {
    throw new ValidationError(messages.updateNeedsField, {
      hint: messages.updateNeedsFieldHint(`fleece flows update ${value}`),
    });
  }
  const session = await ApiSession.open(inv);
  const id = await resolveId(inv, session, 'flow', value!);
  if (fields.steps) fields.steps = await withAgentIds(inv, session, fields.steps);
  const flow = await session.call('PATCH /api/v1/flows/:id', (client) =>
    client.flows.update(id, fields, { signal: inv.ctx.signal }),
  );
  printCreatedFlow(inv, flow, options.json);
}
