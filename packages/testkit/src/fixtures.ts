import { createHash } from 'node:crypto';
import http from 'node:http';
import {
  AccountDeletion,
  Agent,
  ApiKey,
  BillingStatus,
  EXPORT_RECORD_TYPES,
  Execution,
  FLEECE_PROBLEM_TYPE_PREFIX,
  Flow,
  HealthResponse,
  MeResponse,
  Problem,
} from '@fleece/sdk/contract';
import type { z } from 'zod';

// Every fixture is a wire body (what the server sends, before the SDK parses it) that is checked against
// its contract schema when it is made: a contract change breaks a stale fixture in the test that uses it,
// not somewhere downstream as a puzzling mismatch.

/**
 * `value`, after checking that it parses against `schema` and that the schema knows each of its top-level
 * fields (a plain `z.object` would drop a field the contract no longer has without a word).
 * @throws ZodError when `value` does not parse; Error naming a field the contract does not have.
 */
export function conform<S extends z.ZodType>(schema: S, value: z.input<S>): z.input<S> {
  const parsed = schema.parse(value) as Record<string, unknown>;
  for (const key of Object.keys(value as object)) {
    if (!(key in parsed)) throw new Error(`fixture field "${key}" is not in the contract`);
  }
  return value;
}

/** When every fixture was created and last updated. */
const CREATED_AT = '2026-01-01T00:00:00.000Z';

/** The id of {@link agentBody}'s agent. */
export const AGENT_ID = 'agt_0123456789abcdefghijklmn';

/** The id of {@link executionBody}'s execution. */
export const EXECUTION_ID = 'exe_0123456789abcdefghijklmn';

/** The id of {@link flowBody}'s flow. */
export const FLOW_ID = 'flw_0123456789abcdefghijklmn';

/** An agent (`Agent`): `triage`, default model and temperature; `overrides` replace fields. */
export function agentBody(overrides: Partial<z.input<typeof Agent>> = {}): z.input<typeof Agent> {
  return conform(Agent, {
    id: AGENT_ID,
    name: 'triage',
    description: '',
    instructions: 'Label the issue.',
    model: null,
    temperature: null,
    maxOutputTokens: null,
    createdAt: CREATED_AT,
    updatedAt: CREATED_AT,
    ...overrides,
  });
}

/**
 * A finished execution of {@link agentBody} (`Execution`): input `Hello`, output `Hi there.` on the mock
 * model in 12 ms; `overrides` replace fields.
 */
export function executionBody(overrides: Partial<z.input<typeof Execution>> = {}): z.input<typeof Execution> {
  return conform(Execution, {
    id: EXECUTION_ID,
    agentId: AGENT_ID,
    flowId: null,
    parentId: null,
    step: null,
    status: 'succeeded',
    model: 'mock',
    provider: 'mock',
    input: 'Hello',
    output: 'Hi there.',
    usage: { inputTokens: 9, outputTokens: 3 },
    finishReason: 'stop',
    error: null,
    durationMs: 12,
    createdAt: CREATED_AT,
    startedAt: CREATED_AT,
    finishedAt: '2026-01-01T00:00:00.012Z',
    ...overrides,
  });
}

/**
 * A flow run of {@link flowBody} that has not started (`Execution` with `flowId`, status `queued`): no
 * model, no output; `overrides` replace fields.
 */
export function flowRunBody(overrides: Partial<z.input<typeof Execution>> = {}): z.input<typeof Execution> {
  return executionBody({
    agentId: null,
    flowId: FLOW_ID,
    status: 'queued',
    model: null,
    provider: null,
    output: null,
    usage: null,
    finishReason: null,
    durationMs: null,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  });
}

/**
 * The events of a streamed execution of {@link executionBody}, as `[id, event, data]` for {@link sse}:
 * `execution.started`, two `output.delta`s (`Hi `, `there.`), `execution.completed`, `done`.
 */
export function executionEvents(): [number, string, unknown][] {
  const finished = executionBody();
  return [
    [
      1,
      'execution.started',
      { ...finished, status: 'running', output: null, usage: null, finishReason: null },
    ],
    [2, 'output.delta', { text: 'Hi ' }],
    [3, 'output.delta', { text: 'there.' }],
    [4, 'execution.completed', finished],
    [5, 'done', { status: 'succeeded' }],
  ];
}

/** A Server-Sent Events body: one `id:`, `event:`, `data:` (JSON) record per `[id, event, data]`. */
export function sse(events: [number | string, string, unknown][]): string {
  return events
    .map(([id, event, data]) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join('');
}

/** A flow (`Flow`) of two steps of {@link agentBody}, `draft` then `polish`, unscheduled; `overrides` replace fields. */
export function flowBody(overrides: Partial<z.input<typeof Flow>> = {}): z.input<typeof Flow> {
  return conform(Flow, {
    id: FLOW_ID,
    name: 'review',
    description: '',
    steps: [
      { name: 'draft', agentId: AGENT_ID, input: 'Draft: {{input}}' },
      { name: 'polish', agentId: AGENT_ID, input: 'Polish: {{steps.draft.output}}' },
    ],
    schedule: null,
    scheduleInput: '',
    callbackUrl: null,
    hasCallbackSecret: false,
    createdAt: CREATED_AT,
    updatedAt: CREATED_AT,
    ...overrides,
  });
}

/** A full API key secret whose first characters are {@link apiKeyBody}'s `start` (`flc_` + 47 characters). */
export const API_KEY_SECRET = `flc_AbCdEfGh${'x'.repeat(35)}Zz0001`;

/** An active API key (`ApiKey`) named `ci`, never used, expiring 2026-04-01; `overrides` replace fields. */
export function apiKeyBody(overrides: Partial<z.input<typeof ApiKey>> = {}): z.input<typeof ApiKey> {
  return conform(ApiKey, {
    id: 'key_0123456789abcdefghijklmn',
    name: 'ci',
    start: 'AbCdEfGh',
    scopes: ['read', 'agents:execute'],
    status: 'active',
    expiresAt: '2026-04-01T00:00:00.000Z',
    lastUsedAt: null,
    lastUsedIp: null,
    createdAt: CREATED_AT,
    ...overrides,
  });
}

/** What {@link meBody} may replace: the user's fields, the plan, entitlements or usage. */
export interface MeOverrides {
  user?: Partial<z.input<typeof MeResponse>['user']>;
  plan?: z.input<typeof MeResponse>['plan'];
  entitlements?: Partial<z.input<typeof MeResponse>['entitlements']>;
  usage?: z.input<typeof MeResponse>['usage'];
}

/** A `GET /api/v1/me` body (`MeResponse`): Ada Lovelace on the Pro plan, one active session. */
export function meBody(overrides: MeOverrides = {}): z.input<typeof MeResponse> {
  return conform(MeResponse, {
    user: {
      id: 'usr_123',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      role: 'user',
      status: 'active',
      emailVerified: true,
      createdAt: CREATED_AT,
      ...overrides.user,
    },
    plan: overrides.plan ?? { id: 'pro', name: 'Pro' },
    entitlements: {
      apiKeys: 5,
      agents: 10,
      executionsPerMonth: 2000,
      historyRetentionDays: 30,
      premiumModels: true,
      apiBurstPerMinute: 60,
      apiPerDay: 5000,
      ...overrides.entitlements,
    },
    usage: overrides.usage ?? { activeSessions: 1 },
  });
}

/** A `GET /api/health` body (`HealthResponse`) of the given overall status, the database's the same. */
export function healthBody(status: 'ok' | 'degraded' | 'down' = 'ok'): z.input<typeof HealthResponse> {
  return conform(HealthResponse, {
    service: 'fleece',
    status,
    version: '0.1.0',
    uptimeSeconds: 12,
    checks: {
      database: { status, latencyMs: status === 'down' ? null : 1.5 },
      migrations: { status: 'ok', applied: 3, pending: 0 },
    },
  });
}

/** What {@link billingStatusBody} may replace: usage meters are merged into the default ones. */
export interface BillingStatusOverrides {
  plan?: z.input<typeof BillingStatus>['plan'];
  subscription?: z.input<typeof BillingStatus>['subscription'];
  usage?: Partial<z.input<typeof BillingStatus>['usage']>;
  notices?: z.input<typeof BillingStatus>['notices'];
}

/**
 * A `GET /api/v1/billing` body (`BillingStatus`): an active Pro subscription to 2026-02-01, one session,
 * every API key in use, 3 of 2,000 executions this month, no notices.
 */
export function billingStatusBody(overrides: BillingStatusOverrides = {}): z.input<typeof BillingStatus> {
  return conform(BillingStatus, {
    plan: overrides.plan ?? { id: 'pro', name: 'Pro' },
    subscription:
      overrides.subscription === undefined
        ? {
            id: 'sub_1',
            status: 'active',
            plan: 'pro',
            currentPeriodEnd: '2026-02-01T00:00:00.000Z',
            cancelAtPeriodEnd: false,
          }
        : overrides.subscription,
    usage: {
      activeSessions: 1,
      apiKeys: { used: 5, limit: 5 },
      executions: { used: 3, limit: 2000, period: '2026-01', resetsAt: '2026-02-01T00:00:00.000Z' },
      ...overrides.usage,
    },
    notices: overrides.notices ?? [],
  });
}

/**
 * An account's deletion state (`AccountDeletion`): `pending_deletion` (asked for on 2026-03-01 09:00 UTC,
 * purged after seven days' grace, still cancellable) or `active`.
 */
export function accountDeletionBody(status: 'active' | 'pending_deletion'): z.input<typeof AccountDeletion> {
  return conform(
    AccountDeletion,
    status === 'active'
      ? { status, requestedAt: null, purgeAfter: null, cancellable: false, graceDays: 7 }
      : {
          status,
          requestedAt: '2026-03-01T09:00:00.000Z',
          purgeAfter: '2026-03-08T09:00:00.000Z',
          cancellable: true,
          graceDays: 7,
        },
  );
}

/**
 * An RFC 9457 problem response (`application/problem+json`), as the server sends it: `type` under the
 * Fleece prefix, the status's standard `title`, `code`; `extras` add members (`detail`, `requestId`,
 * `errors` …), `headers` add headers (`X-Request-Id` is `req_<code>` unless given).
 */
export function problem(
  status: number,
  code: string,
  extras: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const body = conform(Problem, {
    type: `${FLEECE_PROBLEM_TYPE_PREFIX}${code}`,
    title: http.STATUS_CODES[status] ?? 'Unknown',
    status,
    code,
    ...extras,
  });
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': `req_${code}`, ...headers },
  });
}

/**
 * An NDJSON export as the server writes it: a header line, `records` in order, and a trailer with the
 * count of each record type, the number of records, and the byte length and SHA-256 (hex) of everything
 * before it. `tamper` may change the body after the trailer was computed (the trailer then no longer
 * matches).
 */
export function exportNdjson(
  records: { type: string; data: unknown }[],
  tamper?: (body: string) => string,
): string {
  const header = `${JSON.stringify({
    type: 'header',
    formatVersion: 1,
    exportedAt: '2026-03-01T09:00:00.000Z',
    userId: 'usr_1',
  })}\n`;
  const body = header + records.map((r) => `${JSON.stringify(r)}\n`).join('');
  const counts = Object.fromEntries(EXPORT_RECORD_TYPES.map((t) => [t, 0]));
  for (const r of records) counts[r.type]!++;
  const trailer = {
    type: 'trailer',
    counts,
    records: records.length,
    bytes: Buffer.byteLength(body),
    sha256: createHash('sha256').update(body).digest('hex'),
  };
  return `${tamper ? tamper(body) : body}${JSON.stringify(trailer)}\n`;
}
