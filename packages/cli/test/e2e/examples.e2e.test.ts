import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type RealServer, signInWithMagicLink, startRealServer } from '../../../testkit/src/index.js';
import { BIN, buildCli, tempHome } from './harness.js';

/**
 * Every example in `examples/` (issue 11), run against a real server (the app on in-memory PGlite on
 * 127.0.0.1) with an API key of a Pro account, as their headers say to run them.
 */

const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
const ADMIN = 'examples@example.test';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file` with `args` to completion; never throws on a non-zero exit. */
async function run(file: string, args: string[], env: Record<string, string>, cwd = ROOT): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { cwd, env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('examples/ against a real server', { timeout: 120_000 }, () => {
  let server: RealServer;
  let home: string;
  let cleanup: (() => Promise<void>) | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    const [started, , temp] = await Promise.all([
      startRealServer({ FLEECE_ADMIN_EMAILS: ADMIN }),
      buildCli(),
      tempHome(),
    ]);
    server = started;
    home = temp.home;
    cleanup = temp.cleanup;
    const cookie = await signInWithMagicLink(server, ADMIN);
    const headers = { 'content-type': 'application/json', origin: server.url, cookie };
    const me = (await (await fetch(`${server.url}/api/v1/me`, { headers })).json()) as {
      user: { id: string };
    };
    // Billing is off: the admin puts the account on Pro (API keys need a paid plan).
    const plan = await fetch(`${server.url}/api/v1/admin/users/${me.user.id}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ plan: 'pro' }),
    });
    expect(plan.status).toBe(200);
    const consent = await fetch(`${server.url}/api/v1/account/consents/ai_processing`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ granted: true }),
    });
    expect(consent.status).toBe(200);
    const created = await fetch(`${server.url}/api/v1/api-keys`, {
      method: 'POST',
      headers,
      // The scopes the headers of examples/sdk.ts and examples/curl.sh name (the default is read only).
      body: JSON.stringify({ name: 'examples', scopes: ['read', 'write', 'agents:execute'] }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      FLEECE_API_KEY: key,
      FLEECE_BASE_URL: server.url,
    };
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });

  it('examples/sdk.ts creates an agent, streams its run and lists its executions', async () => {
    // As `node examples/sdk.ts` after `pnpm build`, with the SDK from its sources instead of dist.
    const result = await run(
      process.execPath,
      [
        '--conditions=@fleece/source',
        '--import',
        'tsx',
        'examples/sdk.ts',
        'The export stalls after page one',
      ],
      env,
    );
    expect(result.stderr).toMatch(/^agent agt_\w+ \(model the deployment default\)$/m);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Mock reply to "The export stalls after page one"');
    expect(result.stderr).toMatch(/^execution exe_\w+: succeeded, \d+ output tokens$/m);
    expect(result.stderr).toMatch(/^exe_\w+ succeeded \d{4}-\d\d-\d\dT/m);
  });

  it('examples/curl.sh runs every call: health, a problem, the caller, JSON and streamed executions', async () => {
    const result = await run('bash', ['examples/curl.sh'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"status":"ok"');
    expect(result.stdout).toContain('"code":"not_found"');
    expect(result.stdout).toContain(`"email": "${ADMIN}"`);
    expect(result.stdout).toContain('"plan": "pro"');
    expect(result.stdout).toMatch(/"status": "succeeded"/);
    // The replay with the same Idempotency-Key is the same execution: 200, not 201.
    expect(result.stdout).toMatch(/^200$/m);
    expect(result.stdout).toContain('event: output.delta');
    expect(result.stdout).toContain('event: done');
    expect(result.stdout).toMatch(/^exe_\w+ succeeded$/m);
    expect(result.stdout.toLowerCase()).toContain('x-ratelimit-limit: 60');
  });

  it('examples/curl.sh without a key runs the anonymous part and says how to run the rest', async () => {
    const { FLEECE_API_KEY: _key, ...anonymous } = env;
    const result = await run('bash', ['examples/curl.sh'], anonymous);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"status":"ok"');
    expect(result.stderr).toContain('set FLEECE_API_KEY to run the rest');
  });

  it('examples/ci/github-actions.yml: every run step passes with only FLEECE_API_KEY, twice', async () => {
    const source = await readFile(join(ROOT, 'examples/ci/github-actions.yml'), 'utf8');
    // The key is created as the header says (`fleece keys create ... --scopes <list>`), with exactly those
    // scopes, for a fresh Pro account with no agent: the first round takes the "create" branch.
    const documented = /fleece keys create [^`]*--scopes ([\w:,]+)/.exec(source)?.[1];
    expect(documented).toBeDefined();
    const scopes = documented!.split(',');
    const adminCookie = await signInWithMagicLink(server, ADMIN);
    const ciCookie = await signInWithMagicLink(server, 'ci-example@example.test');
    const ciHeaders = { 'content-type': 'application/json', origin: server.url, cookie: ciCookie };
    const ciUser = (await (await fetch(`${server.url}/api/v1/me`, { headers: ciHeaders })).json()) as {
      user: { id: string };
    };
    const plan = await fetch(`${server.url}/api/v1/admin/users/${ciUser.user.id}`, {
      method: 'PATCH',
      headers: { ...ciHeaders, cookie: adminCookie },
      body: JSON.stringify({ plan: 'pro' }),
    });
    expect(plan.status).toBe(200);
    const consent = await fetch(`${server.url}/api/v1/account/consents/ai_processing`, {
      method: 'PUT',
      headers: ciHeaders,
      body: JSON.stringify({ granted: true }),
    });
    expect(consent.status).toBe(200);
    const created = await fetch(`${server.url}/api/v1/api-keys`, {
      method: 'POST',
      headers: ciHeaders,
      body: JSON.stringify({ name: 'ci', scopes }),
    });
    expect(created.status).toBe(201);
    const ciKey = (await created.json()) as { key: string; scopes: string[] };
    expect(ciKey.scopes.toSorted()).toEqual(scopes.toSorted());
    const none = await fetch(`${server.url}/api/v1/agents`, { headers: ciHeaders });
    expect(((await none.json()) as { data: unknown[] }).data).toEqual([]);
    const workflow = parse(source) as {
      permissions: Record<string, string>;
      jobs: Record<string, { env: Record<string, string>; steps: { name?: string; run?: string }[] }>;
    };
    expect(workflow.permissions).toEqual({ contents: 'read' });
    const job = workflow.jobs.triage!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
    expect(job.env.FLEECE_API_KEY).toBe('${{ secrets.FLEECE_API_KEY }}');
    // The built CLI of this repository stands in for `npm install --global @fleece/cli`.
    const bin = join(home, 'bin');
    await promisify(execFile)('mkdir', ['-p', bin]);
    await writeFile(join(bin, 'fleece'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {
      mode: 0o755,
    });
    const agents: string[] = [];
    for (let round = 0; round < 2; round++) {
      const githubEnv = join(home, `github-env-${round}`);
      const summary = join(home, `summary-${round}`);
      await writeFile(githubEnv, '');
      const stepEnv: Record<string, string> = {
        PATH: `${bin}:${env.PATH}`,
        HOME: home,
        CI: 'true',
        FLEECE_API_KEY: ciKey.key,
        FLEECE_BASE_URL: env.FLEECE_BASE_URL!,
        PR_TITLE: 'Export stalls after the first page',
        GITHUB_ENV: githubEnv,
        GITHUB_STEP_SUMMARY: summary,
      };
      const steps = job.steps.filter((s) => s.run !== undefined && s.name !== 'Install the Fleece CLI');
      expect(steps.map((s) => s.name)).toEqual([
        'Check the key and the server',
        'Find or create the triage agent',
        'Run it on the pull request title',
      ]);
      for (const step of steps) {
        // GitHub's default shell for `run`: bash -e -o pipefail; GITHUB_ENV lines reach later steps.
        for (const line of (await readFile(githubEnv, 'utf8')).split('\n').filter(Boolean)) {
          const [name, ...value] = line.split('=');
          stepEnv[name!] = value.join('=');
        }
        const result = await run(
          'bash',
          ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step.run!],
          stepEnv,
          home,
        );
        expect(result.code, `${step.name}: ${result.stderr}`).toBe(0);
      }
      expect(await readFile(summary, 'utf8')).toMatch(
        /^Triage: Mock reply to "Export stalls after the first page"/,
      );
      agents.push(stepEnv.FLEECE_AGENT_ID ?? (await readFile(githubEnv, 'utf8')).split('=')[1]!.trim());
    }
    // The second run found the agent the first one created.
    expect(agents[0]).toMatch(/^agt_/);
    expect(agents[1]).toBe(agents[0]);
  });
});
