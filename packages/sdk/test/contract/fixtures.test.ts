import { describe, expect, it } from 'vitest';
import {
  accountDeletionBody,
  agentBody,
  apiKeyBody,
  billingStatusBody,
  conform,
  executionBody,
  flowBody,
  flowRunBody,
  healthBody,
  meBody,
} from '../../../testkit/src/index.js';
import { Agent, Execution } from '../../src/contract/index.js';

// The suites' fixtures stand for what the server sends; they must follow the contract as it changes.
describe('the test kit fixtures against the contract', () => {
  it('builds every fixture as a body the contract accepts', () => {
    expect(Agent.parse(agentBody())).toEqual(agentBody());
    expect(Execution.parse(executionBody())).toEqual(executionBody());
    expect(Execution.parse(flowRunBody())).toMatchObject({ status: 'queued', flowId: flowBody().id });
    for (const make of [
      () => apiKeyBody(),
      () => meBody({ user: { name: null } }),
      () => healthBody('down'),
      () => billingStatusBody({ subscription: null }),
      () => accountDeletionBody('pending_deletion'),
    ]) {
      expect(make).not.toThrow();
    }
  });

  it('refuses a field the contract does not have, naming it', () => {
    expect(() => agentBody({ retired: true } as never)).toThrow(
      'fixture field "retired" is not in the contract',
    );
    expect(() => conform(Agent, { ...agentBody(), retired: true } as never)).toThrow(/"retired"/);
  });

  it('refuses a value of the wrong shape', () => {
    expect(() => executionBody({ status: 'finished' } as never)).toThrow(/status/);
    expect(() => agentBody({ id: 'exe_0123456789abcdefghijklmn' })).toThrow();
  });
});
