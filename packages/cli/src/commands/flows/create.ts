import { readFile } from 'node:fs/promises';
import type { CreateFlowRequest, FlowStep } from '@fleece/sdk';
import { ValidationError } from '../../lib/errors.js';
import type { Invocation } from '../../lib/invocation.js';
import { resolveIds } from '../../lib/resolve.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { FlowsOptions } from './index.js';
import { printCreatedFlow, readStdin } from './shared.js';

/** Parses `--step name:agent:template`, the agent by id or name (the template may contain colons). */
function parseStep(value: string): FlowStep {
  const first = value.indexOf(':');
  const second = first < 0 ? -1 : value.indexOf(':', first + 1);
  if (first <= 0 || second <= first + 1 || second === value.length - 1) {
    throw new ValidationError(
      `--step must be name:agent:template (the agent's id or name), such as "draft:agt_123:Draft a reply to {{input}}" (got "${value}")`,
    );
  }
  return {
    name: value.slice(0, first),
    agentId: value.slice(first + 1, second),
    input: value.slice(second + 1),
  };
}

/** Reads `--file` (`-` for stdin); a file that cannot be read exits 2 with what was wrong. */
async function readFlowFile(inv: Invocation, file: string): Promise<string> {
  if (file === '-') return readStdin(inv);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (error as Error).message;
    throw new ValidationError(messages.cannotReadFile(file, reason), {
      hint: messages.cannotReadFileHint,
      cause: error,
    });
  }
}

/**
 * The flow fields given: the JSON of `--file` (or stdin for `-`), with the options given on top
 * (`--no-schedule` and `--no-callback-url` send `null`, removing them).
 */
export async function flowFields(
  inv: Invocation,
  options: FlowsOptions,
): Promise<Partial<CreateFlowRequest>> {
  let base: Partial<CreateFlowRequest> = {};
  if (options.file !== undefined) {
    const text = await readFlowFile(inv, options.file);
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
  if (options.schedule !== undefined) fields.schedule = options.schedule === false ? null : options.schedule;
  if (options.scheduleInput !== undefined) fields.scheduleInput = options.scheduleInput;
  if (options.callbackUrl !== undefined) {
    fields.callbackUrl = options.callbackUrl === false ? null : options.callbackUrl;
  }
  return fields;
}

/** The create body: {@link flowFields}, which must include a name and at least one step (exit 2 otherwise). */
async function body(inv: Invocation, options: FlowsOptions): Promise<CreateFlowRequest> {
  const fields = await flowFields(inv, options);
  if (!fields.name) throw new ValidationError('a flow needs a name: pass --name (or "name" in --file)');
  if (!fields.steps?.length) {
    throw new ValidationError(
      'a flow needs at least one step: pass --step name:agent:template (or "steps" in --file)',
    );
  }
  return fields as CreateFlowRequest;
}

/**
 * The steps with each agent given by name (`--step draft:triage:…`) replaced by its id, as `agents run`
 * takes names: one listing of the agents at most. `undefined` stays `undefined`.
 *
 * @throws {CliError} exit 6 when no agent has a name; {@link ValidationError} exit 2 when several have it.
 */
export async function withAgentIds(
  inv: Invocation,
  session: ApiSession,
  steps: FlowStep[] | undefined,
): Promise<FlowStep[] | undefined> {
  if (!steps) return steps;
  const ids = await resolveIds(
    inv,
    session,
    'agent',
    steps.map((step) => step.agentId),
  );
  return steps.map((step, i) => ({ ...step, agentId: ids[i]! }));
}

/** Runs `fleece flows create`. A callback signing secret is printed once, with a warning on stderr. */
export async function run(inv: Invocation, options: FlowsOptions): Promise<void> {
  const request = await body(inv, options);
  const session = await ApiSession.open(inv);
  request.steps = (await withAgentIds(inv, session, request.steps))!;
  const flow = await session.call('POST /api/v1/flows', (client) =>
    client.flows.create(request, { signal: inv.ctx.signal }),
  );
  printCreatedFlow(inv, flow, options.json);
}
