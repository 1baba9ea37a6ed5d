import { deleteNamed } from '../../lib/delete.js';
import type { Invocation } from '../../lib/invocation.js';
import { messages } from '../../messages.js';
import type { AgentsOptions } from './index.js';

/** A 404 names the agent's id or name and where to see them. */
export const notFoundHint = messages.agentNotFoundHint;

/**
 * Runs `fleece agents delete <id|name>`: asks first on a terminal; without one `--yes` is required (exit 2,
 * nothing sent). The agent's executions stay.
 */
export async function run(inv: Invocation, options: AgentsOptions, [value]: string[]): Promise<void> {
  await deleteNamed(inv, 'agent', value!, options.yes);
}
