import type { Execution } from '@fleece/sdk';
import type { Invocation } from '../../lib/invocation.js';

/** Prints an execution: JSON with `--json`, else one `field: value` line each. */
export function printExecution(inv: Invocation, execution: Execution, json: boolean | undefined): void {
  if (json) {
    inv.out.json(execution);
    return;
  }
  const usage = execution.usage
    ? `${execution.usage.inputTokens} in, ${execution.usage.outputTokens} out`
    : '-';
  inv.out.data(
    [
      `id:       ${execution.id}`,
      `agent:    ${execution.agentId ?? '-'}`,
      `status:   ${execution.status}${execution.error ? ` (${execution.error.code})` : ''}`,
      `model:    ${execution.model}`,
      `tokens:   ${usage}`,
      `duration: ${execution.durationMs === null ? '-' : `${execution.durationMs} ms`}`,
      `created:  ${execution.createdAt}`,
      `input:    ${execution.input}`,
      `output:   ${execution.output ?? '-'}`,
    ].join('\n'),
  );
}
