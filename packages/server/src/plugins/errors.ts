import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProblemFieldError } from '@fleece/sdk/contract';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { PROBLEMS, type ProblemCode, ProblemError, problemType } from '../errors.js';
import { PROBLEM_JSON, sendProblem } from '../http/problem.js';
import { ROUTER_OPTIONS } from '../lib/router.js';
import { NOT_FOUND_HTML, wantsHtmlNotFound } from './not-found-page.js';
import { responseHeaders } from './security-headers.js';

const ROUTABLE_METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Framework error codes that are the client's fault, and the problem each becomes. */
const FRAMEWORK_PROBLEMS: Record<string, { code: ProblemCode; detail: (e: FastifyError) => string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'payload_too_large',
    detail: () => 'The request body is larger than this server accepts. Send a smaller body.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    detail: () => 'This endpoint takes `Content-Type: application/json`.',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: 'malformed_json',
    detail: () =>
      'The request says it carries JSON but the body is empty. Send a JSON body or no Content-Type.',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    code: 'malformed_json',
    detail: () => 'The request body is not valid JSON. Check the quoting and commas, then send it again.',
  },
  FST_ERR_BAD_URL: {
    code: 'bad_request',
    detail: () =>
      'The request URL is not valid: it has a malformed percent-escape (RFC 3986 §2.1). Encode `%` as `%25`.',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: 'uri_too_long',
    detail: () => 'A path segment of the request URL is longer than this server accepts. Check the URL.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'bad_request',
    detail: () => 'The Content-Length header does not match the body.',
  },
};

function validationProblem(error: FastifyError): ProblemError {
  // Paths name the request part as the problem contract does (`body.name`, `query.limit`, `params.id`).
  const raw = (error as { validationContext?: string }).validationContext ?? 'body';
  const context = raw === 'querystring' ? 'query' : raw;
  const errors: ProblemFieldError[] = [];
  if (hasZodFastifySchemaValidationErrors(error)) {
    for (const issue of error.validation) {
      const pointer = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
      const unknownKeys =
        issue.keyword === 'unrecognized_keys' ? (issue.params as { keys?: string[] }).keys : undefined;
      if (unknownKeys?.length) {
        for (const key of unknownKeys) {
          errors.push({ path: [context, pointer, key].filter(Boolean).join('.'), message: 'unknown field' });
        }
      } else {
        errors.push({
          path: [context, pointer].filter(Boolean).join('.'),
          message: issue.message ?? 'is not valid',
        });
      }
    }
  } else {
    errors.push({ path: context, message: error.message });
  }
  return fieldProblem(errors);
}

/**
 * Most field errors one `validation_failed` problem lists: a body of many thousand unknown fields would
 * otherwise cost a large answer for a small request. The detail says how many more there were.
 */
export const MAX_FIELD_ERRORS = 20;

/** A `validation_failed` problem listing at most {@link MAX_FIELD_ERRORS} of `errors`, saying how many it left out. */
function fieldProblem(errors: ProblemFieldError[]): ProblemError {
  const shown = errors.slice(0, MAX_FIELD_ERRORS);
  const more = errors.length - shown.length;
  const summary = shown.map((e) => `${e.path}: ${e.message}`).join('; ');
  return new ProblemError(
    'validation_failed',
    `The request is not valid: ${summary}${more > 0 ? `; and ${more} more` : ''}.`,
    { errors: shown },
  );
}

/**
 * The path (`body.steps.0.name`, `query.q`, `params.id`) of the first string, or object key, in a request part
 * that holds a NUL character (U+0000), or `undefined`. Iterative, so no nesting depth can overflow the stack.
 */
function nulPath(part: string, value: unknown): string | undefined {
  const stack: [string, unknown][] = [[part, value]];
  while (stack.length > 0) {
    const [path, node] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return path;
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (key.includes('\u0000')) return path;
        stack.push([`${path}.${key}`, child]);
      }
    }
  }
  return undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `true`: the route takes NUL characters (U+0000) in its input and answers them itself, because it stores
     * nothing (`GET /api/auth/return-to` answers `blocked`; `GET /api/auth/cli/authorize` sends the browser on).
     * Every other `/api/` route refuses them
     * ({@link refuseNul}).
     */
    nulAllowed?: boolean;
  }
}

/**
 * Refuses an `/api/` request whose body, query or path parameters hold a NUL character (U+0000) anywhere, with
 * 400 `validation_failed` naming the field: PostgreSQL cannot store one in text (it failed the query with a
 * 500), and no field of the API has a use for it. Runs before every route's own validation. The web pages'
 * routes read no input, and a route marked `config.nulAllowed` answers NUL itself.
 */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  if (!request.routeOptions.url?.startsWith('/api/') || request.routeOptions.config.nulAllowed) return;
  for (const [part, value] of [
    ['params', request.params],
    ['query', request.query],
    ['body', request.body],
  ] as const) {
    const path = nulPath(part, value);
    if (path !== undefined) {
      throw fieldProblem([
        { path, message: 'contains a NUL character (U+0000), which no field accepts: remove it' },
      ]);
    }
  }
}

/**
 * Fastify's `frameworkErrors` option: the errors the router raises before any hook runs (a path with a malformed
 * percent-escape, `FST_ERR_BAD_URL`; a path parameter over the length limit). They get the same answer as every
 * other error: an RFC 9457 problem with the security headers and `X-Request-Id`, never Fastify's own JSON.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.headers(responseHeaders(true));
  reply.header('x-request-id', request.id);
  const known = error.code ? FRAMEWORK_PROBLEMS[error.code] : undefined;
  sendProblem(
    request,
    reply,
    new ProblemError(known?.code ?? 'bad_request', known?.detail(error) ?? 'The request is not valid.'),
  );
}

/** The problem a request that Node's HTTP parser refused becomes, by Node's error code. */
function clientErrorProblem(code: string | undefined): { status: number; code: ProblemCode; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'headers_too_large',
        detail:
          'The request line and headers are larger than this server accepts (16 KiB). Send fewer or shorter headers.',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'request_timeout',
        detail: 'The request was not received in time. Send it again.',
      };
    default:
      return {
        status: 400,
        code: 'bad_request',
        detail:
          'The request is not valid HTTP/1.1 (RFC 9112). Check the request line, headers and body framing.',
      };
  }
}

/**
 * Writes an RFC 9457 problem straight to a socket that has no Fastify request (Node refused the request, or it
 * is a `CONNECT`), with the security headers and a fresh `X-Request-Id`, and ends the connection once it is
 * flushed. Returns the request id.
 */
function writeRawProblem(
  socket: Duplex,
  problem: { status: number; code: ProblemCode; detail: string },
): string {
  const requestId = `req_${randomUUID().replaceAll('-', '')}`;
  if (socket.writable) {
    const body = JSON.stringify({
      type: problemType(problem.code),
      title: PROBLEMS[problem.code].title,
      status: problem.status,
      detail: problem.detail,
      code: problem.code,
      requestId,
    });
    const headers = {
      ...responseHeaders(true),
      'content-type': PROBLEM_JSON,
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': requestId,
      connection: 'close',
    };
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.end(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${lines.join('')}\r\n${body}`);
  }
  return requestId;
}

/**
 * Fastify's `clientErrorHandler` option: answers a request that Node's HTTP parser refused (malformed request
 * line or headers, headers over `maxHeaderSize`, a request timeout) with an RFC 9457 problem carrying the
 * security headers and a fresh `X-Request-Id`, then closes the connection (the stream can no longer be framed).
 * A connection already reset or destroyed gets nothing. Logged at debug level with Node's error code only.
 */
export function clientErrorHandler(
  this: { log: { debug(obj: object, msg: string): void } },
  error: NodeJS.ErrnoException,
  socket: Socket,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const requestId = writeRawProblem(socket, clientErrorProblem(error.code));
  this.log.debug({ code: error.code, requestId }, 'refused a request Node could not parse');
  socket.destroy(error);
}

/**
 * Answers a request whose `Expect` is not `100-continue` (RFC 9110 §10.1.1: 417 Expectation Failed) as a problem
 * with the security headers, instead of Node's bare 417.
 */
function refuseExpectation(request: IncomingMessage, response: ServerResponse): void {
  const requestId = `req_${randomUUID().replaceAll('-', '')}`;
  const body = JSON.stringify({
    type: problemType('expectation_failed'),
    title: PROBLEMS.expectation_failed.title,
    status: 417,
    detail: `This server meets no expectation but 100-continue; send the request without Expect: ${String(request.headers.expect).slice(0, 60)}.`,
    code: 'expectation_failed',
    requestId,
  });
  response.writeHead(417, {
    ...responseHeaders(true),
    'content-type': PROBLEM_JSON,
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    connection: 'close',
  });
  response.end(body);
}

/**
 * Answers an HTTP `CONNECT` (RFC 9110 §9.3.6): this server is no proxy, so 405 `method_not_allowed` as a problem,
 * instead of Node's default of closing the connection without a word.
 */
function refuseConnect(_request: IncomingMessage, socket: Duplex): void {
  writeRawProblem(socket, {
    status: 405,
    code: 'method_not_allowed',
    detail: 'CONNECT is not allowed: this server is not a proxy.',
  });
}

/**
 * One error handler for the whole app. ProblemErrors render as themselves; schema validation failures as
 * 400 `validation_failed` with field paths; known client-side framework errors (bad JSON, oversized body)
 * as their 4xx problem; everything else as a 500 whose body says only "Internal Server Error" while the
 * log line keeps the detail. Unknown routes answer 404 `not_found` (a browser's navigation outside `/api/`
 * gets the HTML page of `not-found-page.ts` instead); a known path with another method 405
 * `method_not_allowed` with `Allow`.
 */
export const errorsPlugin = fp(
  async (app) => {
    app.server.on('connect', refuseConnect);
    app.server.on('checkExpectation', refuseExpectation);
    app.addHook('preValidation', refuseNul);

    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof ProblemError) return sendProblem(request, reply, error);
      if (error.validation) return sendProblem(request, reply, validationProblem(error));
      const known = error.code ? FRAMEWORK_PROBLEMS[error.code] : undefined;
      if (known) return sendProblem(request, reply, new ProblemError(known.code, known.detail(error)));
      if (error instanceof SyntaxError && error.statusCode === 400) {
        return sendProblem(
          request,
          reply,
          new ProblemError('malformed_json', FRAMEWORK_PROBLEMS.FST_ERR_CTP_INVALID_JSON_BODY!.detail(error)),
        );
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        request.log.info({ err: error }, 'client error');
        return sendProblem(
          request,
          reply,
          new ProblemError(status === 404 ? 'not_found' : 'bad_request', error.message),
        );
      }
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(
        request,
        reply,
        new ProblemError(
          'internal_error',
          `Something went wrong on our side. Quote request id ${request.id} if you contact support.`,
        ),
      );
    });

    // A second router that only knows which paths exist for which methods, so a known path with the
    // wrong method answers 405 with `Allow` instead of 404. It is consulted on the not-found path only.
    // It matches paths exactly as the app's router does (ROUTER_OPTIONS), or a spelling the app does not
    // route (`/API/v1/me/`) would answer 405 instead of 404.
    const known = FindMyWay({ ...ROUTER_OPTIONS });
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (!known.hasRoute(method as HTTPMethod, route.url)) {
          known.on(method as HTTPMethod, route.url, () => {});
        }
      }
    });

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!;
      const allowed = ROUTABLE_METHODS.filter((m) => m !== request.method && known.find(m, path) !== null);
      if (allowed.length > 0) {
        return sendProblem(
          request,
          reply,
          new ProblemError(
            'method_not_allowed',
            `${request.method} is not allowed on ${path.slice(0, 200)}; it answers ${allowed.join(', ')}.`,
            {},
            { allow: allowed.join(', ') },
          ),
        );
      }
      // A browser that navigated to an address outside the API reads a page, not JSON.
      if (wantsHtmlNotFound(request.method, path, request.headers.accept)) {
        return reply.code(404).type('text/html; charset=utf-8').header('vary', 'accept').send(NOT_FOUND_HTML);
      }
      return sendProblem(
        request,
        reply,
        new ProblemError(
          'not_found',
          `No route matches ${request.method} ${path.slice(0, 200)}. See /api/v1/openapi.json for the API.`,
        ),
      );
    });
  },
  { name: 'fleece-errors' },
);
