import type { CreatedFlow, Execution, Flow } from '@fleece/sdk';
import { CliError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { messages } from '../../messages.js';

/** Reads all of stdin as text. */
export async function readStdin(inv: Invocation): Promise<string> {
  let text = '';
  for await (const chunk of inv.ctx.stdin) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
  return text;
}

/** Prints a flow: JSON with `--json`, else one `field: value` line each and one line per step. */
export function printFlow(inv: Invocation, flow: Flow | CreatedFlow, json: boolean | undefined): void {
  if (json) {
    inv.out.json(flow);
    return;
  }
  inv.out.data(
    [
      `id:          ${flow.id}`,
      `name:        ${flow.name}`,
      `description: ${flow.description || '-'}`,
      `schedule:    ${flow.schedule ? `${flow.schedule} (UTC)` : '-'}`,
      `callback:    ${flow.callbackUrl ?? '-'}`,
      'steps:',
      ...flow.steps.map((s, i) => `  ${i + 1}. ${s.name}  ${s.agentId}  ${JSON.stringify(s.input)}`),
    ].join('\n'),
  );
}

/** Prints a created or updated flow, and its new callback signing secret once, with a warning on stderr. */
export function printCreatedFlow(inv: Invocation, flow: CreatedFlow, json: boolean | undefined): void {
  printFlow(inv, flow, json);
  if (flow.callbackSecret && !json) {
    inv.out.data(`callback secret: ${flow.callbackSecret}`);
    inv.out.warn('Save the callback secret now: it signs the callbacks and is not shown again.');
  }
}

/** The error for a run that ended without succeeding, naming the failed step. */
export function runFailed(run: Execution): CliError {
  const reason = run.error ? `: ${run.error.message}` : '';
  return new CliError(`Flow run ${run.id} ${run.status}${reason}`, {
    hint: run.error?.step ? messages.stepsHint(run.id) : undefined,
  });
}
