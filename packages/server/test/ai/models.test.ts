import { ModelList } from '@fleece/sdk/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemError } from '../../src/errors.js';
import { PLANS } from '../../src/limits.js';
import { MODELS, offeredModels } from '../../src/modules/ai/models/catalogue.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { signIn } from '../helpers/identity.js';

const mock = {
  id: 'mock',
  displayName: 'Mock (offline, deterministic)',
  provider: 'mock',
  tier: 'standard',
  contextWindow: 128_000,
  maxOutputTokens: 4_096,
};
const mockPremium = {
  ...mock,
  id: 'mock-premium',
  displayName: 'Mock premium (offline, deterministic)',
  tier: 'premium',
};

describe('GET /api/v1/models without provider keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('answers 401 without credentials', async () => {
    const res = await t.app.inject('/api/v1/models');
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('unauthenticated');
  });

  it('offers the offline mock models, the premium one not allowed on Free (claim C11)', async () => {
    const cookie = await signIn(t, 'free@example.test');
    const res = await t.app.inject({ url: '/api/v1/models', headers: { cookie } });
    expect(res.statusCode).toBe(200);
    expect(ModelList.parse(res.json())).toEqual({
      data: [
        { ...mock, allowed: true },
        { ...mockPremium, allowed: false },
      ],
      defaultModel: 'mock',
    });
  });

  it('allows premium models on Pro', async () => {
    const cookie = await signIn(t, 'pro@example.test');
    await t.db.ownerQuery("update users set plan = 'pro' where email = 'pro@example.test'");
    const res = await t.app.inject({ url: '/api/v1/models', headers: { cookie } });
    expect(res.json().data.map((m: { id: string; allowed: boolean }) => [m.id, m.allowed])).toEqual([
      ['mock', true],
      ['mock-premium', true],
    ]);
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await t.app.inject('/api/v1/openapi.json')).json();
    // Success, and the errors every authenticated, rate-limited operation can answer (test/openapi.test.ts).
    expect(Object.keys(doc.paths['/api/v1/models'].get.responses)).toEqual([
      '200',
      '401',
      '403',
      '429',
      '500',
    ]);
  });
});

describe('GET /api/v1/models with OpenAI and Anthropic configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ env: { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test' } });
  });
  afterAll(() => t.close());

  it('lists every offered model in catalogue order, with the plan verdict of each', async () => {
    const cookie = await signIn(t, 'both@example.test');
    const list = ModelList.parse((await t.app.inject({ url: '/api/v1/models', headers: { cookie } })).json());
    expect(list.defaultModel).toBe('gpt-4o-mini');
    expect(list.data.map((m) => [m.id, m.provider, m.tier, m.contextWindow, m.allowed])).toEqual([
      ['gpt-4o-mini', 'openai', 'standard', 128_000, true],
      ['gpt-4.1-mini', 'openai', 'standard', 1_047_576, true],
      ['gpt-4.1', 'openai', 'premium', 1_047_576, false],
      ['gpt-4o', 'openai', 'premium', 128_000, false],
      ['claude-haiku-4-5', 'anthropic', 'standard', 200_000, true],
      ['claude-sonnet-4-5', 'anthropic', 'premium', 200_000, false],
      ['mock', 'mock', 'standard', 128_000, true],
      ['mock-premium', 'mock', 'premium', 128_000, false],
    ]);
    expect(t.app.ai.providers.enabled).toEqual(['mock', 'openai', 'anthropic']);
  });
});

const account = (plan: 'free' | 'pro') => ({ plan: PLANS[plan], entitlements: PLANS[plan].entitlements });

describe('assertModelAllowed', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ env: { OPENAI_API_KEY: 'sk-test' } });
    // A stand-in for the routes that take a model (agents, executions), to see the problem on the wire.
    t.app.get('/test/model/:plan/:model', async (request) => {
      const { plan, model } = request.params as { plan: 'free' | 'pro'; model: string };
      return t.app.ai.models.assertModelAllowed(account(plan), model);
    });
  });
  afterAll(() => t.close());

  it('refuses a premium model on Free: 403 plan_limit_reached with upgrade: true and the limit', async () => {
    const res = await t.app.inject('/test/model/free/gpt-4.1');
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({
      type: 'https://fleece.dev/problems/plan_limit_reached',
      title: 'Plan Limit Reached',
      status: 403,
      code: 'plan_limit_reached',
      detail:
        'GPT-4.1 is a premium model, and the Free plan does not include premium models. Upgrade to Pro or above, or choose a standard model.',
      upgrade: true,
      limit: 'premiumModels',
      plan: 'free',
      model: 'gpt-4.1',
    });
  });

  it('allows a premium model on Pro and a standard model on Free', () => {
    expect(t.app.ai.models.assertModelAllowed(account('pro'), 'gpt-4.1').id).toBe('gpt-4.1');
    expect(t.app.ai.models.assertModelAllowed(account('free'), 'gpt-4o-mini').provider).toBe('openai');
  });

  it('answers the default model when none is named', () => {
    expect(t.app.ai.models.assertModelAllowed(account('free')).id).toBe('gpt-4o-mini');
  });

  it('refuses a model the server does not offer: 400 unknown_model', async () => {
    const res = await t.app.inject('/test/model/pro/claude-sonnet-4-5');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'unknown_model', status: 400 });
    expect(() => t.app.ai.models.assertModelAllowed(account('pro'), 'gpt-9')).toThrow(ProblemError);
  });

  it('follows the entitlements in force, such as an Enterprise override', () => {
    const enterpriseWithout = {
      plan: PLANS.enterprise,
      entitlements: { ...PLANS.enterprise.entitlements, premiumModels: false },
    };
    expect(() => t.app.ai.models.assertModelAllowed(enterpriseWithout, 'gpt-4.1')).toThrow(
      /Enterprise plan does not include/,
    );
  });
});

describe('model catalogue', () => {
  it('has unique ids, a standard and a premium model per provider, and positive sizes', () => {
    expect(new Set(MODELS.map((m) => m.id)).size).toBe(MODELS.length);
    for (const provider of ['openai', 'anthropic', 'mock']) {
      expect(MODELS.filter((m) => m.provider === provider).map((m) => m.tier)).toEqual(
        expect.arrayContaining(['standard', 'premium']),
      );
    }
    expect(MODELS.every((m) => m.contextWindow > m.maxOutputTokens && m.maxOutputTokens > 0)).toBe(true);
  });

  it('offers exactly the models an OpenAI-compatible server lists, keeping what it knows of known ids', () => {
    const offered = offeredModels({
      openai: {
        apiKey: 'local',
        baseURL: 'http://127.0.0.1:11434/v1',
        models: [
          { id: 'llama3.2:3b', contextWindow: 131_072 },
          { id: 'qwen2.5:7b', contextWindow: undefined },
          { id: 'gpt-4.1', contextWindow: undefined },
        ],
      },
      anthropic: undefined,
    });
    expect(offered.map((m) => [m.id, m.provider, m.tier, m.contextWindow])).toEqual([
      ['llama3.2:3b', 'openai', 'standard', 131_072],
      ['qwen2.5:7b', 'openai', 'standard', 8_192],
      ['gpt-4.1', 'openai', 'premium', 1_047_576],
      ['mock', 'mock', 'standard', 128_000],
      ['mock-premium', 'mock', 'premium', 128_000],
    ]);
  });
});
