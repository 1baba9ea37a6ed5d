import type { Agent, CreateAgentRequest } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import type { AgentsOptions } from './index.js';

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ValidationError(`${flag} must be a number, got "${value}"`);
  return n;
}

/** The agent fields given as options. */
export function agentFields(options: AgentsOptions): Partial<CreateAgentRequest> {
  const fields: Partial<CreateAgentRequest> = {};
  if (options.name !== undefined) fields.name = options.name;
  if (options.description !== undefined) fields.description = options.description;
  if (options.instructions !== undefined) fields.instructions = options.instructions;
  if (options.model !== undefined) fields.model = options.model;
  const temperature = number('--temperature', options.temperature);
  if (temperature !== undefined) fields.temperature = temperature;
  const max = number('--max-output-tokens', options.maxOutputTokens);
  if (max !== undefined) fields.maxOutputTokens = max;
  return fields;
}

/** Prints an agent: JSON with `--json`, else one `field: value` line each. */
export function printAgent(inv: Invocation, agent: Agent, json: boolean | undefined): void {
  if (json) {
    inv.out.json(agent);
    return;
  }
  inv.out.data(
    [
      `id:           ${agent.id}`,
      `name:         ${agent.name}`,
      `model:        ${agent.model ?? '(server default)'}`,
      `temperature:  ${agent.temperature ?? '-'}`,
      `max tokens:   ${agent.maxOutputTokens ?? '-'}`,
      `description:  ${agent.description}`,
      `instructions: ${agent.instructions}`,
    ].join('\n'),
  );
}
