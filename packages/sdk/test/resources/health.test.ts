import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE_URL, healthBody, startServer, useMsw } from '../../../testkit/src/index.js';
import { Fleece, InternalServerError, ResponseValidationError } from '../../src/index.js';
import { mswClient } from '../helpers.js';

const server = useMsw();

describe('client.health.check()', () => {
  it('returns the typed HealthResponse and sends no credential', async () => {
    let authorization: string | null = 'unset';
    server.use(
      http.get(`${BASE_URL}/api/health`, ({ request }) => {
        authorization = request.headers.get('authorization');
        return HttpResponse.json(healthBody('ok'));
      }),
    );
    await expect(mswClient().health.check()).resolves.toEqual(healthBody('ok'));
    expect(authorization).toBeNull();
  });

  it('returns a 503 HealthResponse with status down instead of throwing, without retrying', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE_URL}/api/health`, () => {
        calls++;
        return HttpResponse.json(healthBody('down'), { status: 503 });
      }),
    );
    const { data, response } = await mswClient().health.check().withResponse();
    expect(data.status).toBe('down');
    expect(response.status).toBe(503);
    expect(calls).toBe(1);
  });

  it('throws InternalServerError for a 503 that is not a HealthResponse', async () => {
    server.use(
      http.get(`${BASE_URL}/api/health`, () =>
        HttpResponse.text('<html>bad gateway</html>', { status: 503, headers: { 'x-request-id': 'req_lb' } }),
      ),
    );
    const error = await mswClient({ maxRetries: 0 })
      .health.check()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).status).toBe(503);
    expect((error as InternalServerError).body).toBe('<html>bad gateway</html>');
    expect((error as Error).message).toBe('503 Service Unavailable (request id req_lb)');
  });

  it('names the mismatching field path when the body does not match', async () => {
    const body = healthBody('ok');
    server.use(
      http.get(`${BASE_URL}/api/health`, () =>
        HttpResponse.json(
          { ...body, checks: { ...body.checks, database: { status: 'ok', latencyMs: 'fast' } } },
          { headers: { 'x-request-id': 'req_shape' } },
        ),
      ),
    );
    const error = await mswClient()
      .health.check()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).path).toBe('checks.database.latencyMs');
    expect((error as Error).message).toBe(
      'The response to GET /api/health did not match the expected shape at checks.database.latencyMs: ' +
        'Invalid input: expected number, received string (request id req_shape)',
    );
  });

  it('returns the body unchecked with validateResponses: false', async () => {
    server.use(http.get(`${BASE_URL}/api/health`, () => HttpResponse.json({ status: 'ok', extra: true })));
    await expect(mswClient({ validateResponses: false }).health.check()).resolves.toEqual({
      status: 'ok',
      extra: true,
    });
  });

  it('sends no credential to a real server even from an authenticated client', async () => {
    let authorization: string | undefined = 'unset';
    const real = await startServer((req, res) => {
      authorization = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_real' });
      res.end(JSON.stringify(healthBody('degraded')));
    });
    try {
      const client = new Fleece({ apiKey: 'flc_real', baseURL: real.url });
      const { data, requestId } = await client.health.check().withResponse();
      expect(data).toEqual(healthBody('degraded'));
      expect(requestId).toBe('req_real');
      expect(authorization).toBeUndefined();
    } finally {
      await real.close();
    }
  });
});
