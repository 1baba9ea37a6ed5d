import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { TestApp } from './app.js';

/** One operation of the app's OpenAPI document. */
export interface ApiOperation {
  /** Upper-case HTTP method (`GET`). */
  method: string;
  /** The path as the document writes it (`/api/v1/agents/{id}`). */
  template: string;
  /** The path as the app's router registered it (`/api/v1/agents/:id`), the key of `app.routeGuards`. */
  route: string;
  /** Whether the document declares a security requirement for it. */
  secured: boolean;
}

/** Every operation of `GET /api/v1/openapi.json`, as the app serves it. */
export async function apiOperations(t: TestApp): Promise<ApiOperation[]> {
  const res = await t.app.inject('/api/v1/openapi.json');
  expect(res.statusCode).toBe(200);
  const paths = res.json().paths as Record<string, Record<string, { security?: unknown[] }>>;
  const operations: ApiOperation[] = [];
  for (const [template, item] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      operations.push({
        method: method.toUpperCase(),
        template,
        route: template.replace(/\{(\w+)\}/g, ':$1'),
        secured: (operation.security?.length ?? 0) > 0,
      });
    }
  }
  return operations;
}

/** Plausible values of path parameters, by the path segment before the parameter, then by its name. */
const PLAUSIBLE: Record<string, string> = {
  agents: 'agt_0123456789abcdefghijklmn',
  executions: 'exe_0123456789abcdefghijklmn',
  flows: 'flw_0123456789abcdefghijklmn',
  sessions: 'ses_0123456789abcdefghijklmn',
  'api-keys': 'key_0123456789abcdefghijklmn',
  users: 'usr_0123456789abcdefghijklmn',
  conversations: 'cnv_0123456789abcdefghijklmn',
  consents: 'marketing',
  oauth: 'github',
};

/**
 * The path of `template` with every `{param}` replaced: by `values[param]` when given (already
 * percent-encoded), else by a plausible id for the resource the segment before it names.
 */
export function samplePath(template: string, values: Record<string, string> = {}): string {
  const segments = template.split('/');
  return segments
    .map((segment, i) => {
      const param = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (!param) return segment;
      return values[param] ?? PLAUSIBLE[segments[i - 1]!] ?? 'x1';
    })
    .join('/');
}

/** An answer of {@link rawRequest}. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends one HTTP/1.1 request to a listening app with `target` exactly as given: no URL parsing, so `.`
 * segments, doubled slashes and percent-escapes reach the server as written (`app.inject` resolves them
 * the way a browser's URL parser does).
 */
export async function rawRequest(
  t: TestApp,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawResponse> {
  const { port } = t.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
