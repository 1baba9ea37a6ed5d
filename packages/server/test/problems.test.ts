import { Problem } from '@fleece/sdk/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProblemError } from '../src/errors.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

describe('problem details (RFC 9457, claims C18, C20)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ env: { FLEECE_BODY_LIMIT_BYTES: '2048' } });
    t.app.post(
      '/api/v1/test-echo',
      {
        schema: {
          body: z.strictObject({ name: z.string().min(1).max(20), count: z.number().int() }),
        },
      },
      async (request) => request.body,
    );
    t.app.get('/api/v1/test-boom', async () => {
      throw new Error('connection to db-internal.corp:5432 failed for user admin');
    });
    t.app.get('/api/v1/test-problem', async () => {
      throw new ProblemError('rate_limited', 'Slow down.', {}, { 'retry-after': '7' });
    });
  });
  afterAll(() => t.close());

  it('answers an unknown route with a 404 problem', async () => {
    const res = await t.app.inject('/api/v1/nothing-here?x=1');
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    const body = Problem.parse(res.json());
    expect(body).toEqual({
      type: 'https://fleece.dev/problems/not_found',
      title: 'Not Found',
      status: 404,
      code: 'not_found',
      detail: 'No route matches GET /api/v1/nothing-here. See /api/v1/openapi.json for the API.',
      requestId: res.headers['x-request-id'],
    });
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/health' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json()).toMatchObject({
      code: 'method_not_allowed',
      detail: 'DELETE is not allowed on /api/health; it answers GET, HEAD.',
    });
  });

  it('answers a text/plain body with 415, not a validation error', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test-echo',
      headers: { 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it('answers a validation failure with 400 and field paths', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test-echo',
      payload: { name: '', count: 1.5, admin: true },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('validation_failed');
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.admin',
      'body.count',
      'body.name',
    ]);
    expect(body.errors.find((e: { path: string }) => e.path === 'body.admin').message).toBe('unknown field');
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test-echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x", ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('malformed_json');
  });

  it('answers an oversized body with 413', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test-echo',
      payload: { name: 'x'.repeat(4096), count: 1 },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('payload_too_large');
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test-echo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=x',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().code).toBe('unsupported_media_type');
  });

  it('keeps internal detail out of a 500 body and in the log', async () => {
    const res = await t.app.inject('/api/v1/test-boom');
    expect(res.statusCode).toBe(500);
    const requestId = res.headers['x-request-id'];
    expect(res.json()).toEqual({
      type: 'https://fleece.dev/problems/internal_error',
      title: 'Internal Server Error',
      status: 500,
      code: 'internal_error',
      detail: `Something went wrong on our side. Quote request id ${requestId} if you contact support.`,
      requestId,
    });
    expect(res.body).not.toContain('db-internal');
    const logged = t.logs.records().find((r) => r.reqId === requestId && r.msg === 'unhandled error');
    expect((logged?.err as { message?: string } | undefined)?.message).toContain('db-internal.corp:5432');
  });

  it('renders a thrown ProblemError with its headers', async () => {
    const res = await t.app.inject('/api/v1/test-problem');
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json().code).toBe('rate_limited');
  });

  it('reuses a safe incoming X-Request-Id and replaces an unsafe one', async () => {
    const safe = await t.app.inject({ url: '/api/health', headers: { 'x-request-id': 'trace-abc123.DEF' } });
    expect(safe.headers['x-request-id']).toBe('trace-abc123.DEF');
    for (const bad of ['short', 'has space in it', 'x'.repeat(65), 'bad<script>quote"']) {
      const res = await t.app.inject({ url: '/api/health', headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
    }
  });
});
