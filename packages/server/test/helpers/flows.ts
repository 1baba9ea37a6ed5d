import { Agent, CreatedFlow } from '@fleece/sdk/contract';
import { expect } from 'vitest';
import { asSession, type TestUser } from './accounts.js';
import type { TestApp } from './app.js';

/**
 * Creates an agent for `user` through `POST /api/v1/agents` with `payload` (by default "Helper", answering
 * briefly) and returns it.
 * @throws (a failed expectation) when the answer is not 201.
 */
export async function createAgent(
  app: TestApp,
  user: TestUser,
  payload: Record<string, unknown> = { name: 'Helper', instructions: 'Answer briefly.' },
): Promise<Agent> {
  const res = await app.app.inject({
    method: 'POST',
    url: '/api/v1/agents',
    headers: asSession(app, user),
    payload,
  });
  expect(res.statusCode, res.body).toBe(201);
  return Agent.parse(res.json());
}

/**
 * Creates a flow for `user` through `POST /api/v1/flows` with `body` and returns it (with its callback
 * secret, shown once).
 * @throws (a failed expectation) when the answer is not 201.
 */
export async function createFlow(
  app: TestApp,
  user: TestUser,
  body: Record<string, unknown>,
): Promise<CreatedFlow> {
  const res = await app.app.inject({
    method: 'POST',
    url: '/api/v1/flows',
    headers: asSession(app, user),
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return CreatedFlow.parse(res.json());
}
