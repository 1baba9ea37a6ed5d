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
      ...(execution.flowId ? [`flow:     ${execution.flowId}`] : []),
      ...(execution.parentId ? [`run:      ${execution.parentId} (step ${execution.step})`] : []),
      `status:   ${execution.status}${execution.error ? ` (${execution.error.code}${execution.error.step ? `, step ${execution.error.step}` : ''})` : ''}`,
      `model:    ${execution.model ?? (execution.flowId && !execution.parentId ? '- (a flow run: each step has its own)' : '-')}`,
      `tokens:   ${usage}`,
      `duration: ${execution.durationMs === null ? '-' : `${execution.durationMs} ms`}`,
      `created:  ${execution.createdAt}`,
      `input:    ${execution.input}`,
      `output:   ${execution.output ?? '-'}`,
    ].join('\n'),
  );
}
