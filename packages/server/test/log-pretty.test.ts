import { existsSync } from 'node:fs';
import http from 'node:http';
import { prettyFactory } from 'pino-pretty';
import { describe, expect, it } from 'vitest';
import { devLogMessage, devPrettyOptions } from '../src/log-pretty.js';
import { loggerOptions, prettyTransportPath } from '../src/logger.js';
import { developmentHints } from '../src/server.js';
import { testConfig } from './helpers/app.js';
import { exitCode, spawnServer, waitForOutput } from './helpers/process.js';

const REQ_ID = 'req_82dc647409d246bd84b763af6a37ac28';
const incoming = {
  level: 30,
  time: '2026-12-07T21:37:49.387Z',
  pid: 1,
  hostname: 'vm',
  reqId: REQ_ID,
  req: { method: 'GET', url: '/api/v1/agents?limit=20', ip: '127.0.0.1', headers: { host: 'x' } },
  msg: 'incoming request',
};
const completed = {
  level: 30,
  time: '2026-12-07T21:37:49.399Z',
  pid: 1,
  hostname: 'vm',
  reqId: REQ_ID,
  res: { statusCode: 200 },
  responseTime: 11.475933000001532,
  msg: 'request completed',
};

describe('development logs: one line per record (LOG_FORMAT=pretty)', () => {
  it('writes a request as an arrival line and a completion line with method, URL, status and time', () => {
    const pretty = prettyFactory({ ...devPrettyOptions(), colorize: false, translateTime: false });
    expect(pretty(incoming)).toBe(
      `[2026-12-07T21:37:49.387Z] INFO: → GET /api/v1/agents?limit=20 (${REQ_ID})\n`,
    );
    expect(pretty(completed)).toBe(
      `[2026-12-07T21:37:49.399Z] INFO: ← GET /api/v1/agents?limit=20 200 in 11 ms (${REQ_ID})\n`,
    );
  });

  it('keeps other fields on the same line as JSON, and the dev outbox link once', () => {
    const pretty = prettyFactory({ ...devPrettyOptions(), colorize: false, translateTime: false });
    const link = 'http://127.0.0.1:3000/magic#token=abc';
    expect(
      pretty({
        level: 30,
        time: 't',
        reqId: REQ_ID,
        outbox: 'magic_link',
        to: 'ada@example.com',
        link,
        expiresInMinutes: 15,
        msg: `dev outbox: magic sign-in link: ${link}`,
      }),
    ).toBe(
      `[t] INFO: dev outbox: magic sign-in link: ${link} (${REQ_ID}) {"to":"ada@example.com","expiresInMinutes":15}\n`,
    );
    expect(pretty({ level: 40, time: 't', msg: 'plain', database: 'pglite' })).toBe(
      '[t] WARN: plain {"database":"pglite"}\n',
    );
  });

  it('names the request on other lines of a request, and completes one it did not see arrive', () => {
    const inFlight = new Map<string, string>();
    expect(
      devLogMessage({ msg: 'request errored', reqId: REQ_ID, req: { method: 'POST', url: '/x' } }, inFlight),
    ).toBe(`request errored (POST /x) (${REQ_ID})`);
    expect(devLogMessage({ ...completed, reqId: 'req_other' }, inFlight)).toBe('← 200 in 11 ms (req_other)');
    expect(devLogMessage({ msg: 'no request here' }, inFlight)).toBe('no request here');
  });

  it('forgets a request once it completed, and keeps at most 1000 in flight', () => {
    const inFlight = new Map<string, string>();
    devLogMessage(incoming, inFlight);
    expect(inFlight.get(REQ_ID)).toBe('GET /api/v1/agents?limit=20');
    devLogMessage(completed, inFlight);
    expect(inFlight.size).toBe(0);
    for (let i = 0; i < 1001; i++) devLogMessage({ ...incoming, reqId: `req_${i}` }, inFlight);
    expect(inFlight.size).toBe(1000);
    expect(inFlight.has('req_0')).toBe(false);
    expect(inFlight.has('req_1000')).toBe(true);
  });

  it('is the transport of the pretty format (the JSON format and the redaction are unchanged)', () => {
    expect(loggerOptions('info', 'pretty')).toMatchObject({ transport: { target: prettyTransportPath() } });
    expect(existsSync(prettyTransportPath())).toBe(true);
    expect(loggerOptions('info', 'json')).not.toHaveProperty('transport');
  });

  it('fleece-server at a terminal prints where sign-in links go, then one line per request', async () => {
    const child = spawnServer(['start'], { PORT: '0', FLEECE_DATA_DIR: 'memory://', LOG_FORMAT: 'pretty' });
    try {
      const [, port] = await waitForOutput(child, /Fleece is listening on http:\/\/127\.0\.0\.1:(\d+)/);
      await waitForOutput(child, /sign-in links are printed in this terminal\.\n/);
      await new Promise<void>((resolve, reject) =>
        http
          .get(`http://127.0.0.1:${port}/api/health`, (res) => res.resume().on('end', resolve))
          .on('error', reject),
      );
      await waitForOutput(child, /← GET \/api\/health 200 in \d+ ms \(req_[0-9a-f]{32}\)\n/);
      const lines = child.output().split('\n');
      const request = lines.filter((line) => line.includes('/api/health'));
      expect(request).toHaveLength(2);
      expect(request[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: → GET \/api\/health \(req_[0-9a-f]{32}\)$/);
      expect(request[1]).toMatch(
        /^\[\d\d:\d\d:\d\d\] INFO: ← GET \/api\/health 200 in \d+ ms \(req_[0-9a-f]{32}\)$/,
      );
      expect(lines).toContainEqual(
        expect.stringMatching(
          /INFO: No email provider is set \(RESEND_API_KEY\): sign-in links are printed in this terminal\.$/,
        ),
      );
    } finally {
      child.kill('SIGTERM');
      await exitCode(child);
    }
  });
});

describe('the start banner of a development server', () => {
  it('says where to sign in, where sign-in links go, and how to become an admin', () => {
    expect(developmentHints(testConfig({ FLEECE_PUBLIC_URL: 'http://127.0.0.1:3000' }))).toEqual([
      'Sign in at http://127.0.0.1:3000/login, or from the CLI with `fleece login --device`.',
      'No email provider is set (RESEND_API_KEY): sign-in links are printed in this terminal.',
      'No admin yet: start the server with FLEECE_ADMIN_EMAILS=you@example.com; that address becomes an admin when it signs in.',
    ]);
  });

  it('drops what is configured, and says nothing in production', () => {
    expect(
      developmentHints(
        testConfig({
          FLEECE_PUBLIC_URL: 'http://127.0.0.1:3000',
          FLEECE_ADMIN_EMAILS: 'ada@example.com',
          RESEND_API_KEY: 're_test_key_0123456789',
          FLEECE_EMAIL_FROM: 'Fleece <login@example.com>',
        }),
      ),
    ).toEqual(['Sign in at http://127.0.0.1:3000/login, or from the CLI with `fleece login --device`.']);
    expect(developmentHints({ ...testConfig(), env: 'production' })).toEqual([]);
  });
});
