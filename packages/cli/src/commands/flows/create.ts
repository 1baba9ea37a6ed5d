import { readFile } from 'node:fs/promises';
import type { CreateFlowRequest, FlowStep } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import type { FlowsOptions } from './index.js';
import { printFlow, readStdin } from './shared.js';

/** Parses `--step name:agentId:template` (the template may contain colons). */
function parseStep(value: string): FlowStep {
  const first = value.indexOf(':');
  const second = first < 0 ? -1 : value.indexOf(':', first + 1);
  if (first <= 0 || second <= first + 1 || second === value.length - 1) {
    throw new ValidationError(
      `--step must be name:agentId:template, such as "draft:agt_123:Draft a reply to {{input}}" (got "${value}")`,
    );
  }
  return {
    name: value.slice(0, first),
    agentId: value.slice(first + 1, second),
    input: value.slice(second + 1),
  };
}

/** The create body: the JSON of `--file` (or stdin for `-`), with the options given on top. */
async function body(inv: Invocation, options: FlowsOptions): Promise<CreateFlowRequest> {
  let base: Partial<CreateFlowRequest> = {};
  if (options.file !== undefined) {
    const text = options.file === '-' ? await readStdin(inv) : await readFile(options.file, 'utf8');
    try {
      base = JSON.parse(text) as Partial<CreateFlowRequest>;
    } catch (error) {
      throw new ValidationError(`--file ${options.file} is not JSON: ${(error as Error).message}`);
    }
  }
  const fields: Partial<CreateFlowRequest> = { ...base };
  if (options.name !== undefined) fields.name = options.name;
  if (options.description !== undefined) fields.description = options.description;
  if (options.step?.length) fields.steps = options.step.map(parseStep);
  if (options.schedule !== undefined) fields.schedule = options.schedule;
  if (options.scheduleInput !== undefined) fields.scheduleInput = options.scheduleInput;
  if (options.callbackUrl !== undefined) fields.callbackUrl = options.callbackUrl;
  if (!fields.name) throw new ValidationError('a flow needs a name: pass --name (or "name" in --file)');
  if (!fields.steps?.length) {
    throw new ValidationError(
      'a flow needs at least one step: pass --step name:agentId:template (or "steps" in --file)',
    );
  }
  return fields as CreateFlowRequest;
}

/** Runs `fleece flows create`. A callback signing secret is printed once, with a warning on stderr. */
export async function run(inv: Invocation, options: FlowsOptions): Promise<void> {
  const request = await body(inv, options);
  const session = await ApiSession.open(inv);
  const flow = await session.call('POST /api/v1/flows', (client) =>
    client.flows.create(request, { signal: inv.ctx.signal }),
  );
  printFlow(inv, flow, options.json);
  if (flow.callbackSecret && !options.json) {
    inv.out.data(`callback secret: ${flow.callbackSecret}`);
    inv.out.warn('Save the callback secret now: it signs the callbacks and is not shown again.');
  }
}
