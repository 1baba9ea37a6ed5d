import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import { AuthenticationError, ResponseValidationError } from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

const MODELS = {
  data: [
    {
      id: 'gpt-4o-mini',
      displayName: 'GPT-4o mini',
      provider: 'openai',
      tier: 'standard',
      contextWindow: 128000,
      maxOutputTokens: 16384,
      allowed: true,
    },
    {
      id: 'mock-premium',
      displayName: 'Mock premium (offline, deterministic)',
      provider: 'mock',
      tier: 'premium',
      contextWindow: 128000,
      maxOutputTokens: 4096,
      allowed: false,
    },
  ],
  defaultModel: 'gpt-4o-mini',
};

describe('client.models.list()', () => {
  it('sends the credential and returns the typed catalogue', async () => {
    let authorization: string | null = null;
    server.use(
      http.get(`${BASE_URL}/api/v1/models`, ({ request }) => {
        authorization = request.headers.get('authorization');
        return HttpResponse.json(MODELS);
      }),
    );
    await expect(mswClient().models.list()).resolves.toEqual(MODELS);
    expect(authorization).toBe('Bearer flc_test_0123456789');
  });

  it('rejects with AuthenticationError on 401', async () => {
    server.use(http.get(`${BASE_URL}/api/v1/models`, () => problem(401, 'unauthenticated')));
    await expect(mswClient().models.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('names the mismatching field when a model has an unknown provider', async () => {
    server.use(
      http.get(`${BASE_URL}/api/v1/models`, () =>
        HttpResponse.json({ ...MODELS, data: [{ ...MODELS.data[0], provider: 'gemini' }] }),
      ),
    );
    const error = await mswClient()
      .models.list()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).path).toBe('data[0].provider');
  });
});
