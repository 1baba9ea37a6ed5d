import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers/app.js';

describe('GET /api/v1/openapi.json', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(() => t.close());

  it('describes the API from the route schemas', async () => {
    const res = await t.app.inject('/api/v1/openapi.json');
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Fleece API', version: '0.1.0' });
    expect(Object.keys(doc.paths['/api/health'].get.responses).sort()).toEqual(['200', '503']);
    expect(
      doc.paths['/api/health'].get.responses['200'].content['application/json'].schema.properties.status.enum,
    ).toEqual(['ok', 'degraded', 'down']);
  });
});
