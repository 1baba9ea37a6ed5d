import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { REPEATED_SIGINT_MS, repeatedSignalFilter } from '../src/server.js';
import { buildTestApp } from './helpers/app.js';
import { exitCode, spawnServer, waitForOutput } from './helpers/process.js';

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('graceful shutdown', () => {
  it('finishes an in-flight request, refuses new connections, then closes', async () => {
    const t = await buildTestApp();
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => {
      entered = r;
    });
    let finish!: () => void;
    const released = new Promise<void>((r) => {
      finish = r;
    });
    t.app.get('/api/v1/test-slow', async () => {
      entered();
      await released;
      return { done: true };
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as { port: number }).port;

    const inFlight = get(port, '/api/v1/test-slow');
    await inHandler;
    const closing = t.app.close();
    // Refused, or reset when the connection reached the kernel's accept queue before the listening socket
    // closed (preClose hooks, such as the one ending audit streams, run first): never served.
    await expect(get(port, '/api/health')).rejects.toMatchObject({
      code: expect.stringMatching(/^(ECONNREFUSED|ECONNRESET)$/),
    });
    finish();
    expect(await inFlight).toEqual({ status: 200, body: '{"done":true}' });
    await closing;
    await t.db.destroy();
  });

  it('fleece-server exits 0 on SIGTERM', async () => {
    const child = spawnServer(['start'], { PORT: '0', FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'info' });
    const [, port] = await waitForOutput(child, /Fleece is listening on http:\/\/127\.0\.0\.1:(\d+)/);
    expect((await get(Number(port), '/api/health')).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exitCode(child)).toBe(0);
    expect(child.output()).toContain('shutting down: finishing in-flight requests');
    expect(child.output()).toContain('shutdown complete');
  });

  it('fleece-server exits 0 on Ctrl-C under a package manager: the same SIGINT twice, a moment apart', async () => {
    // The terminal signals the process group and pnpm forwards the same Ctrl-C: a second SIGINT ~1 ms
    // after the first, while the server is still closing. It must not turn a clean stop into exit code 1.
    const child = spawnServer(['start'], { PORT: '0', FLEECE_DATA_DIR: 'memory://', LOG_LEVEL: 'info' });
    const [, port] = await waitForOutput(child, /Fleece is listening on http:\/\/127\.0\.0\.1:(\d+)/);
    // A connection with a request half sent keeps the shutdown waiting (it is not idle).
    const socket = net.connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await expect.poll(() => Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 200/);
    socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    child.kill('SIGINT');
    await waitForOutput(child, /shutting down: finishing in-flight requests/);
    child.kill('SIGINT');
    socket.end('\r\n');
    await closed;
    expect(await exitCode(child)).toBe(0);
    expect(child.output()).toContain('shutdown complete');
    expect(child.output()).not.toContain('second SIGINT');
  });

  it('a SIGINT within REPEATED_SIGINT_MS of the previous one repeats it; a later one is a new Ctrl-C', () => {
    let now = 1_000;
    const repeated = repeatedSignalFilter(() => now);
    expect(REPEATED_SIGINT_MS).toBe(500);
    expect(repeated()).toBe(false);
    now += 1;
    expect(repeated()).toBe(true);
    now += REPEATED_SIGINT_MS - 1;
    expect(repeated()).toBe(true);
    now += REPEATED_SIGINT_MS;
    expect(repeated()).toBe(false);
  });
});
