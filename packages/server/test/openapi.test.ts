import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationIdOf } from '../src/plugins/openapi.js';
import { buildTestApp, type TestApp } from './helpers/app.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document, walked by path
type Json = Record<string, any>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Every operation of the document as `[method, path, operation]`. */
function operations(doc: Json): [string, string, Json][] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => [m, path, item[m]] as [string, string, Json]),
  );
}

/** Every `format` value anywhere in `node`. */
function formats(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) formats(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'format' && typeof value === 'string') found.add(value);
      formats(value, found);
    }
  }
  return found;
}

describe('GET /api/v1/openapi.json', () => {
  let t: TestApp;
  let doc: Json;
  beforeAll(async () => {
    t = await buildTestApp();
    doc = (await t.app.inject('/api/v1/openapi.json')).json();
  });
  afterAll(() => t.close());

  it('describes the API from the route schemas', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Fleece API', version: '0.1.0' });
    expect(Object.keys(doc.paths['/api/health'].get.responses).sort()).toEqual(['200', '500', '503']);
    expect(
      doc.paths['/api/health'].get.responses['200'].content['application/json'].schema.properties.status.enum,
    ).toEqual(['ok', 'degraded', 'down']);
  });

  it('regression: redocly lint (recommended rules) finds no error, and only the known warnings', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: '/openapi.json',
      config,
    });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}`);
    expect(found.filter((p) => p.startsWith('error'))).toEqual([]);
    // Left on purpose: these operations only redirect (303), which the rule does not count as success, and
    // the health check and the RFC 8414 metadata take no input and no credential, so they have no 4xx answer.
    expect(found.sort()).toEqual(
      [
        'warn operation-2xx-response #/paths/~1api~1auth~1cli~1authorize/get/responses',
        'warn operation-2xx-response #/paths/~1api~1auth~1oauth~1{provider}~1callback/get/responses',
        'warn operation-2xx-response #/paths/~1api~1auth~1oauth~1{provider}~1start/get/responses',
        'warn operation-4xx-response #/paths/~1api~1health/get/responses',
        'warn operation-4xx-response #/paths/~1.well-known~1oauth-authorization-server/get/responses',
      ].sort(),
    );
  });

  it('regression: every operation has a unique camelCase operationId', () => {
    const ids = operations(doc).map(([, , op]) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(doc.paths['/api/v1/agents/{id}'].get.operationId).toBe('getAgentsById');
    expect(operationIdOf('POST', '/api/auth/device/code')).toBe('postAuthDeviceCode');
    expect(operationIdOf('GET', '/api/v1/admin/audit-events/:id')).toBe('getAdminAuditEventsById');
  });

  it('regression: every operation declares security, derived from how the route authenticates', () => {
    const schemes = Object.keys(doc.components.securitySchemes).sort();
    expect(schemes).toEqual(['bearer', 'session']);
    for (const [method, path, op] of operations(doc)) {
      expect(op.security, `${method} ${path}`).toBeDefined();
      const named = (op.security as Json[]).flatMap((s) => Object.keys(s));
      expect(
        named.every((n) => schemes.includes(n)),
        `${method} ${path}`,
      ).toBe(true);
    }
    expect(doc.paths['/api/v1/me'].get.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(doc.paths['/api/v1/admin/users'].get.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(doc.paths['/api/v1/agents'].post.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(doc.paths['/api/auth/magic-link'].post.security).toEqual([]);
    expect(doc.paths['/api/health'].get.security).toEqual([]);
    // A route added with a guard gets security (and 401/403) without saying so.
  });

  it('regression: no invalid formats such as starts_with (the prefix is a pattern)', () => {
    expect([...formats(doc)].sort()).toEqual(['date-time', 'email', 'uri']);
    const me = doc.paths['/api/v1/me'].get.responses['200'].content['application/json'].schema;
    expect(me.properties.user.properties.id).toEqual({ type: 'string', pattern: '^usr_.*' });
  });

  it('regression: the OAuth callback documents its real query parameters', () => {
    const parameters = doc.paths['/api/auth/oauth/{provider}/callback'].get.parameters as Json[];
    expect(parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual(
      [
        'path:provider',
        'query:code',
        'query:error',
        'query:error_description',
        'query:error_uri',
        'query:iss',
        'query:state',
      ].sort(),
    );
    for (const p of parameters) expect(typeof p.schema, p.name).toBe('object');
  });

  it('regression: errors are application/problem+json, except the OAuth endpoints (RFC 6749 §5.2 JSON)', () => {
    expect(doc.components.schemas.Problem.required).toEqual(['type', 'title', 'status', 'code']);
    const resolve = (r: Json): Json =>
      r.$ref ? doc.components.responses[(r.$ref as string).split('/').pop()!] : r;
    const oauth = ['/api/auth/token', '/api/auth/revoke', '/api/auth/device/code', '/api/auth/device/token'];
    for (const [method, path, op] of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        if (Number(status) < 400 || (path === '/api/health' && status === '503')) continue;
        const types = Object.keys(resolve(response).content ?? {});
        expect(types, `${method} ${path} ${status}`).toEqual([
          oauth.includes(path) ? 'application/json' : 'application/problem+json',
        ]);
      }
      expect(op.responses['500'], `${method} ${path}`).toEqual({
        $ref: `#/components/responses/${oauth.includes(path) ? 'OAuthError' : 'InternalError'}`,
      });
    }
    expect(doc.paths['/api/auth/token'].post.responses['400']).toEqual({
      $ref: '#/components/responses/OAuthError',
    });
    expect(doc.components.responses.OAuthError.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/OAuthError',
    });
    expect(Object.keys(doc.paths['/api/v1/agents/{id}'].patch.responses).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '429',
      '500',
    ]);
  });

  it('regression: every rate-limited operation documents 429 with Retry-After and X-RateLimit-*', () => {
    const tooMany = doc.components.responses.TooManyRequests;
    expect(Object.keys(tooMany.headers).sort()).toEqual([
      'Retry-After',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ]);
    for (const [method, path, op] of operations(doc)) {
      // Health is exempt (load balancers poll it); the metadata document is static and outside /api/.
      if (path === '/api/health' || path === '/.well-known/oauth-authorization-server') {
        expect(op.responses['429']).toBeUndefined();
        continue;
      }
      const oauth = [
        '/api/auth/token',
        '/api/auth/revoke',
        '/api/auth/device/code',
        '/api/auth/device/token',
      ];
      expect(op.responses['429'], `${method} ${path}`).toEqual({
        $ref: `#/components/responses/${oauth.includes(path) ? 'OAuthTooManyRequests' : 'TooManyRequests'}`,
      });
    }
    expect(Object.keys(doc.paths['/api/v1/agents'].get.responses['200'].headers).sort()).toEqual([
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ]);
  });

  it('regression: NDJSON, zip and SSE answers carry their real media types', () => {
    const types = (path: string, method: string, status = '200') =>
      Object.keys(doc.paths[path][method].responses[status].content).sort();
    expect(types('/api/v1/export', 'get')).toEqual(['application/x-ndjson', 'application/zip']);
    expect(types('/api/v1/audit-events/stream', 'get')).toEqual(['text/event-stream']);
    expect(types('/api/v1/admin/audit-events/stream', 'get')).toEqual(['text/event-stream']);
    expect(types('/api/v1/executions/{id}/events', 'get')).toEqual(['text/event-stream']);
    expect(types('/api/v1/chat', 'post')).toEqual(['application/json', 'text/event-stream']);
    expect(types('/api/v1/agents/{id}/execute', 'post')).toEqual(['application/json', 'text/event-stream']);
  });
});
