import { deleteNamed } from '../../lib/delete.js';
import type { Invocation } from '../../lib/invocation.js';
import { messages } from '../../messages.js';
import type { FlowsOptions } from './index.js';

/** A 404 names the flow's id or name and where to see them. */
export const notFoundHint = messages.flowNotFoundHint;

/**
 * Runs `fleece flows delete <id|name>`: asks first on a terminal; without one `--yes` is required (exit 2,
 * nothing sent). The flow's schedule goes with it; its runs stay.
 */
export async function run(inv: Invocation, options: FlowsOptions, [value]: string[]): Promise<void> {
  await deleteNamed(inv, 'flow', value!, options.yes);
}
