import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealServer, startRealServer } from '../../../testkit/src/index.js';
import { buildCli, runFleece, tempHome } from './harness.js';

// Another web app on the port, as people meet it: a real node:http server, not msw, against the built
// binary. Each path answers the way a common framework does.
let other: Server;
let otherUrl: string;
let fleece: RealServer;
let home: string;
let cleanup: (() => Promise<void>) | undefined;

beforeAll(async () => {
  other = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.startsWith('/json/')) {
      // An API framework's JSON 404 (Express/Fastify style), not a problem document.
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Not Found', statusCode: 404 }));
    } else if (path.startsWith('/problem/')) {
      // Another service's RFC 9457 problem+json (Spring style): a problem, but not Fleece's.
      res.writeHead(404, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, instance: path }));
    } else if (path === '/up/api/health') {
      // A health endpoint that is someone else's (Spring Boot actuator style).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'UP' }));
    } else {
      // A web app's HTML 404 page.
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!DOCTYPE html><html><body><pre>Cannot GET ${path}</pre></body></html>`);
    }
  });
  other.listen(0, '127.0.0.1');
  await new Promise((resolve) => other.once('listening', resolve));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  const [started, , made] = await Promise.all([startRealServer(), buildCli(), tempHome()]);
  fleece = started;
  home = made.home;
  cleanup = made.cleanup;
}, 120_000);

afterAll(async () => {
  other?.closeAllConnections();
  await new Promise<void>((resolve) => (other ? other.close(() => resolve()) : resolve()));
  await fleece?.close();
  await cleanup?.();
});

const hint =
  "hint: Check --server and FLEECE_BASE_URL: give the Fleece server's address, such as http://127.0.0.1:3000 (`fleece doctor` checks it).\n";

describe('a wrong server is named as such (the built binary)', { timeout: 60_000 }, () => {
  it('another web app on the port (HTML 404, JSON 404, foreign problem+json) is "not a Fleece server", not "Not found"', async () => {
    for (const base of [otherUrl, `${otherUrl}/json`, `${otherUrl}/problem`]) {
      const result = await runFleece(['whoami', '--server', base], {
        home,
        env: { FLEECE_API_KEY: 'flc_anything' },
      });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).not.toMatch(/Not found/i);
      expect(result.stderr).toMatch(
        new RegExp(
          `^error: This is not a Fleece server at ${base.replace(/[.]/g, '\\.')}: it answered without a Fleece problem or health report \\(another web app may be on that port\\)\\.\\n`,
        ),
      );
      expect(result.stderr).toContain(hint);
    }
  });

  it('fleece health: an HTML 404, or a health answer without service "fleece", is not a Fleece server', async () => {
    for (const base of [otherUrl, `${otherUrl}/up`]) {
      const result = await runFleece(['health', '--server', base], { home });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`error: This is not a Fleece server at ${base}:`);
      expect(result.stderr).toContain(hint);
    }
  });

  it('fleece doctor fails the server check with the same words and fix', async () => {
    const result = await runFleece(['doctor', '--server', otherUrl, '--json'], { home });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      checks: { id: string; status: string; summary: string; fix?: string }[];
    };
    const check = report.checks.find((c) => c.id === 'server');
    expect(check).toMatchObject({ status: 'fail', fix: hint.slice('hint: '.length, -1) });
    expect(check?.summary).toMatch(/^This is not a Fleece server at /);
  });

  it('a --server ending in /api (a real Fleece server) says so and names the address to use', async () => {
    for (const args of [['health'], ['whoami']]) {
      const result = await runFleece([...args, '--server', `${fleece.url}/api`], {
        home,
        env: { FLEECE_API_KEY: 'flc_anything' },
      });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(
        `error: This is not a Fleece server at ${fleece.url}/api: the address ends in /api, the API's path, not the server's.\n` +
          `hint: Give the server's address without /api: --server ${fleece.url} (or FLEECE_BASE_URL=${fleece.url}).\n`,
      );
    }
    // The same server at its real address answers.
    const ok = await runFleece(['health', '--server', fleece.url], { home });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
