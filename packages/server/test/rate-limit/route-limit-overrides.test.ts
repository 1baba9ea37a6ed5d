import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { asSession, userOnPlan } from '../helpers/accounts.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('FLEECE_ROUTE_LIMITS (a deployment changes a named limit; claim C17 keeps its defaults)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('keeps the documented limits when unset', () => {
    expect(loadConfig({}).routeLimits).toEqual({});
  });

  it('parses name=max pairs and refuses unknown names or bad numbers, naming the variable', () => {
    expect(loadConfig({ FLEECE_ROUTE_LIMITS: 'agentExecute=2000, chat=40' }).routeLimits).toEqual({
      agentExecute: 2000,
      chat: 40,
    });
    for (const bad of ['agentExecute', 'agentExecute=0', 'execute=20', 'agentExecute=-1', 'chat=1e3']) {
      let error: unknown;
      try {
        loadConfig({ FLEECE_ROUTE_LIMITS: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('FLEECE_ROUTE_LIMITS');
      expect((error as ConfigError).message).toContain('names: chat, agentExecute, flowTrigger, dataExport');
    }
  });

  it('applies the raised maximum to that route only, and warns at start-up', async () => {
    t = await buildTestApp({ env: { FLEECE_ROUTE_LIMITS: 'agentExecute=12' } });
    t.app.post('/api/v1/test/execute', { config: { limit: 'agentExecute' } }, async () => ({ ok: true }));
    t.app.post('/api/v1/test/trigger', { config: { limit: 'flowTrigger' } }, async () => ({ ok: true }));
    const ada = await userOnPlan(t, 'ada@example.test');
    const call = (url: string) => t!.app.inject({ method: 'POST', url, headers: asSession(t!, ada) });
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await call('/api/v1/test/execute')).statusCode);
    expect(statuses).toEqual([...Array(12).fill(200), 429]);
    const trigger: number[] = [];
    for (let i = 0; i < 6; i++) trigger.push((await call('/api/v1/test/trigger')).statusCode);
    expect(trigger).toEqual([200, 200, 200, 200, 200, 429]);
    expect(t.logs.records().map((r) => r.msg)).toContain(
      'route limit agentExecute is 12 per 60 s (FLEECE_ROUTE_LIMITS), not the documented 10',
    );
  });
});
