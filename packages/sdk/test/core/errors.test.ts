import { HttpResponse, http } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import { BASE_URL, useMsw } from '../../../testkit/src/index.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  FleeceError,
  InternalServerError,
  isFleeceProblem,
  NotFleeceServerError,
  NotFoundError,
  PermissionDeniedError,
  ProblemCode,
  RateLimitError,
  UnprocessableEntityError,
} from '../../src/index.js';
import { mswClient, problem } from '../helpers.js';

const server = useMsw();

/** Answers GET /api/v1/thing with `response` and returns what the client throws (no retries). */
async function failureFor(response: () => Response): Promise<unknown> {
  server.use(http.get(`${BASE_URL}/api/v1/thing`, response));
  return mswClient({ maxRetries: 0 })
    .get('/api/v1/thing')
    .then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error,
    );
}

describe('APIError classes', () => {
  it.each([
    [400, 'validation_failed', BadRequestError],
    [401, 'unauthenticated', AuthenticationError],
    [403, 'forbidden', PermissionDeniedError],
    [404, 'not_found', NotFoundError],
    [409, 'conflict', ConflictError],
    [422, 'unprocessable', UnprocessableEntityError],
    [429, 'rate_limited', RateLimitError],
    [500, 'internal_error', InternalServerError],
    [503, 'service_unavailable', InternalServerError],
  ])('maps %i to its class with status, code, problem and request id', async (status, code, ErrorClass) => {
    const error = await failureFor(() => problem(status, code, { detail: 'What happened.' }));
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toBeInstanceOf(FleeceError);
    const apiError = error as APIError;
    expect(apiError.status).toBe(status);
    expect(apiError.code).toBe(code);
    expect(apiError.requestId).toBe('req_from_header');
    expect(apiError.problem).toMatchObject({ status, code, detail: 'What happened.' });
    expect(apiError.headers.get('content-type')).toBe('application/problem+json');
    expect(apiError.name).toBe(ErrorClass.name);
    expect(apiError.message).toBe(
      `${status} ${apiError.problem?.title}: What happened. (code ${code}, request id req_from_header)`,
    );
  });

  it('uses a plain APIError for a status without its own class', async () => {
    const error = await failureFor(() => problem(418, 'teapot'));
    expect(error).toBeInstanceOf(APIError);
    expect(Object.getPrototypeOf(error)).toBe(APIError.prototype);
    expect((error as APIError).status).toBe(418);
  });

  it('lists field errors of a validation problem in the message', async () => {
    const error = await failureFor(() =>
      problem(400, 'validation_failed', {
        detail: 'The request is invalid.',
        errors: [
          { path: 'body.name', message: 'Required' },
          { path: 'query.limit', message: 'Too big' },
        ],
      }),
    );
    expect((error as Error).message).toBe(
      '400 Bad Request: The request is invalid.: body.name: Required; query.limit: Too big ' +
        '(code validation_failed, request id req_from_header)',
    );
    expect((error as BadRequestError).problem?.errors).toHaveLength(2);
  });

  it('takes the request id from the problem body when the header is missing', async () => {
    const error = await failureFor(() =>
      HttpResponse.json(
        {
          type: 'about:blank',
          title: 'Not Found',
          status: 404,
          code: 'not_found',
          requestId: 'req_body_only',
        },
        { status: 404 },
      ),
    );
    expect((error as NotFoundError).requestId).toBe('req_body_only');
    expect((error as Error).message).toContain('request id req_body_only');
  });

  it('keeps a non-problem body and falls back to the request id the client sent', async () => {
    let sent: string | null = null;
    const error = (await failureFor(() => new HttpResponse('nope', { status: 404 }))) as NotFoundError;
    server.use(
      http.get(`${BASE_URL}/api/v1/thing`, ({ request }) => {
        sent = request.headers.get('x-request-id');
        return new HttpResponse('nope', { status: 404 });
      }),
    );
    expect(error.problem).toBeUndefined();
    expect(error.body).toBe('nope');
    expect(error.code).toBeUndefined();
    const second = (await mswClient({ maxRetries: 0 })
      .get('/api/v1/thing')
      .catch((e: unknown) => e)) as NotFoundError;
    expect(sent).toMatch(/^req_[0-9a-f]{24}$/);
    expect(second.requestId).toBe(sent);
    // A 404 without a Fleece problem document is another web app's (issue #17).
    expect(second).toBeInstanceOf(NotFleeceServerError);
    expect(second.message).toBe(
      `${BASE_URL} is not a Fleece server: it answered 404 without a Fleece problem document; another web app may be on that port (request id ${sent})`,
    );
  });

  it("tells a Fleece 404 from another web app's: HTML, JSON that is not a problem, and a foreign problem+json are NotFleeceServerError", async () => {
    const fleece = await failureFor(() => problem(404, 'not_found', { detail: 'No agent agt_1.' }));
    expect(fleece).toBeInstanceOf(NotFoundError);
    expect(fleece).not.toBeInstanceOf(NotFleeceServerError);

    const foreign = [
      () =>
        new HttpResponse('<!doctype html><h1>Cannot GET /api/v1/thing</h1>', {
          status: 404,
          headers: { 'content-type': 'text/html' },
        }),
      () => HttpResponse.json({ error: 'Not Found', statusCode: 404 }, { status: 404 }),
      () =>
        HttpResponse.json(
          {
            type: 'about:blank',
            title: 'Not Found',
            status: 404,
            detail: 'No static resource api/v1/thing.',
          },
          { status: 404, headers: { 'content-type': 'application/problem+json' } },
        ),
    ];
    for (const response of foreign) {
      const error = (await failureFor(response)) as NotFleeceServerError;
      expect(error).toBeInstanceOf(NotFleeceServerError);
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error.status).toBe(404);
      expect(error.baseURL).toBe(BASE_URL);
      expect(error.reason).toBe('not_a_fleece_answer');
      expect(error.message).toMatch(/^http:\/\/fleece\.test is not a Fleece server: it answered 404/);
    }
  });

  it('names a base URL ending in /api as not a Fleece server, even when the 404 is a Fleece problem', async () => {
    for (const suffix of ['/api', '/api/', '/api/v1']) {
      server.use(
        http.get(`${BASE_URL}${suffix.replace(/\/$/, '')}/api/v1/thing`, () =>
          problem(404, 'not_found', { detail: 'No route matches GET /api/api/v1/thing.' }),
        ),
      );
      const error = (await mswClient({ baseURL: `${BASE_URL}${suffix}`, maxRetries: 0 })
        .get('/api/v1/thing')
        .catch((e: unknown) => e)) as NotFleeceServerError;
      expect(error).toBeInstanceOf(NotFleeceServerError);
      expect(error.reason).toBe('api_path');
      expect(error.message).toContain(
        "is not a Fleece server: the address ends in the API path; use the server's origin without /api",
      );
    }
  });

  it('isFleeceProblem wants a problem with a code and a Fleece type URI', () => {
    const base = { title: 'Not Found', status: 404, code: 'not_found' };
    expect(isFleeceProblem({ ...base, type: 'https://fleece.dev/problems/not_found' })).toBe(true);
    expect(isFleeceProblem({ ...base, type: 'about:blank' })).toBe(false);
    expect(isFleeceProblem({ type: 'https://fleece.dev/problems/not_found', title: 'x', status: 404 })).toBe(
      false,
    );
    expect(isFleeceProblem('<html>')).toBe(false);
    expect(isFleeceProblem(undefined)).toBe(false);
  });

  it('types a known problem code as problemCode; an unknown code or an OAuth error leaves it undefined', async () => {
    const known = (await failureFor(() => problem(403, 'plan_limit_reached'))) as APIError;
    expect(known.problemCode).toBe('plan_limit_reached');
    expect(ProblemCode.options).toContain(known.problemCode);
    const newer = (await failureFor(() => problem(409, 'conflict_from_a_newer_server'))) as APIError;
    expect(newer.code).toBe('conflict_from_a_newer_server');
    expect(newer.problemCode).toBeUndefined();
    const oauth = (await failureFor(() =>
      HttpResponse.json({ error: 'invalid_grant' }, { status: 400 }),
    )) as APIError;
    expect(oauth.code).toBe('invalid_grant');
    expect(oauth.problemCode).toBeUndefined();
  });

  it('sets upgrade on a PermissionDeniedError for a plan limit', async () => {
    const error = await failureFor(() => problem(403, 'plan_limit_reached', { upgrade: true }));
    expect((error as PermissionDeniedError).upgrade).toBe(true);
    const plain = await failureFor(() => problem(403, 'forbidden'));
    expect((plain as PermissionDeniedError).upgrade).toBe(false);
  });

  it('reads retryAfter in seconds from a delay-seconds Retry-After', async () => {
    const error = await failureFor(() => problem(429, 'rate_limited', {}, { 'retry-after': '120' }));
    expect((error as RateLimitError).retryAfter).toBe(120);
  });

  it('reads retryAfter in seconds from an HTTP-date Retry-After', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-01-01T00:00:00Z') });
    try {
      const error = await failureFor(() =>
        problem(429, 'rate_limited', {}, { 'retry-after': 'Tue, 01 Jan 2030 00:01:30 GMT' }),
      );
      expect((error as RateLimitError).retryAfter).toBe(90);
    } finally {
      vi.useRealTimers();
    }
  });

  it('leaves retryAfter undefined without a Retry-After', async () => {
    const error = await failureFor(() => problem(429, 'rate_limited'));
    expect((error as RateLimitError).retryAfter).toBeUndefined();
  });

  it('surfaces the OAuth error of an RFC 6749 error body as code', async () => {
    const error = await failureFor(() =>
      HttpResponse.json(
        { error: 'invalid_grant', error_description: 'The refresh token was already used.' },
        { status: 400, headers: { 'x-request-id': 'req_oauth' } },
      ),
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('invalid_grant');
    expect((error as Error).message).toBe(
      '400 Bad Request: The refresh token was already used. (code invalid_grant, request id req_oauth)',
    );
  });

  it('throws APIConnectionError with the sent request id when the network fails', async () => {
    let sent: string | null = null;
    server.use(
      http.get(`${BASE_URL}/api/v1/thing`, ({ request }) => {
        sent = request.headers.get('x-request-id');
        return HttpResponse.error();
      }),
    );
    const error = (await mswClient({ maxRetries: 0 })
      .get('/api/v1/thing')
      .catch((e: unknown) => e)) as APIConnectionError;
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).not.toBeInstanceOf(APIConnectionTimeoutError);
    expect(error.requestId).toBe(sent);
    expect(error.message).toMatch(/^Connection error: fetch failed.* \(request id req_[0-9a-f]{24}\)$/);
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('throws APIUserAbortError when the signal is already aborted, without sending', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE_URL}/api/v1/thing`, () => {
        calls++;
        return HttpResponse.json({});
      }),
    );
    const controller = new AbortController();
    controller.abort();
    const error = await mswClient()
      .get('/api/v1/thing', { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect((error as Error).message).toMatch(/^Request was aborted \(request id req_[0-9a-f]{24}\)$/);
    expect(calls).toBe(0);
  });
});
