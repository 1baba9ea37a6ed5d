import { CreateFlowRequest, FLOW_SCHEDULE_EXPECTED, UpdateFlowRequest } from '@fleece/sdk/contract';
import { describe, expect, it } from 'vitest';
import { ProblemError } from '../../src/errors.js';
import { checkSchedule } from '../../src/modules/flows/service.js';

const STEPS = [{ name: 'a', agentId: 'agt_000000000000000000000000', input: '{{input}}' }];

/** The problem `checkSchedule` throws for `schedule`. */
function refusal(schedule: string): ProblemError {
  try {
    checkSchedule(schedule);
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(schedule)} was accepted`);
}

describe('flow schedules: every bad cron gives the same clear message', () => {
  it('the contract lets any non-empty expression through to the cron check (no "Too small" length error)', () => {
    for (const schedule of ['* * * *', '@daily', '1 2']) {
      expect(CreateFlowRequest.safeParse({ name: 'x', steps: STEPS, schedule }).success).toBe(true);
    }
    const empty = UpdateFlowRequest.safeParse({ schedule: '  ' });
    expect(empty.success).toBe(false);
    expect(empty.error?.issues.map((i) => i.message)).toEqual([FLOW_SCHEDULE_EXPECTED]);
    const long = UpdateFlowRequest.safeParse({ schedule: '1 '.repeat(60) });
    expect(long.error?.issues.map((i) => i.message)).toEqual([
      `${FLOW_SCHEDULE_EXPECTED} (at most 100 characters)`,
    ]);
  });

  it('a wrong number of fields or a value out of range starts with the same sentence, naming the field path', () => {
    const cases: [string, string][] = [
      ['* * * *', `${FLOW_SCHEDULE_EXPECTED}; got 4 fields`],
      ['@daily', `${FLOW_SCHEDULE_EXPECTED}; got 1 field`],
      ['* * * * * *', `${FLOW_SCHEDULE_EXPECTED}; got 6 fields`],
    ];
    for (const [schedule, reason] of cases) {
      const problem = refusal(schedule);
      expect(problem.code).toBe('validation_failed');
      expect(problem.message).toBe(`The request is not valid: schedule: ${reason}.`);
      expect(problem.extras.errors).toEqual([{ path: 'schedule', message: reason }]);
    }
    const range = refusal('61 * * * *');
    expect(range.message.startsWith(`The request is not valid: schedule: ${FLOW_SCHEDULE_EXPECTED}; `)).toBe(
      true,
    );
    expect(checkSchedule(' 0  6 * * 1-5 ')).toBe('0 6 * * 1-5');
  });
});
