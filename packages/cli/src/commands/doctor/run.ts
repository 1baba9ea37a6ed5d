import { dirname } from 'node:path';
import { credentialInfo } from '../../lib/credential-info.js';
import { ExitError, WrongServerError } from '../../lib/errors.js';
import { relativeTime } from '../../lib/format.js';
import { fileMode } from '../../lib/fs.js';
import type { Invocation } from '../../lib/invocation.js';
import { displayPath } from '../../lib/paths.js';
import { bypassesProxy, proxySettings, redactProxy } from '../../lib/proxy.js';
import { addressOf, type ObservedConnection, watchConnections } from '../../lib/route.js';
import { anonymousClient, fromHealthError, fromSdkError } from '../../lib/sdk.js';
import { ApiSession, findCredential } from '../../lib/session.js';
import { VERSION } from '../../version.js';
import type { DoctorOptions } from './index.js';

/** The outcome of one check. `fail` makes `doctor` exit 1; `warn` does not. */
export interface Check {
  /** Stable identifier: `cli`, `server`, `clock`, `keychain`, `credentials`, `proxy`. */
  id: string;
  status: 'ok' | 'warn' | 'fail';
  /** One line: what was found. */
  summary: string;
  /** What to do about a `warn` or `fail`. */
  fix?: string;
}

/** Clock skew up to this is fine (ms); the `Date` header has a resolution of one second. */
export const CLOCK_SKEW_OK_MS = 30_000;

const LABELS: Record<string, string> = {
  cli: 'CLI',
  server: 'Server',
  clock: 'Clock',
  keychain: 'Keychain',
  credentials: 'Credentials',
  proxy: 'Proxy',
};

/** Runs `fleece doctor`. */
export async function run(inv: Invocation, options: DoctorOptions): Promise<void> {
  const { ctx, out } = inv;
  const { url: server } = await inv.server();
  const checks: Check[] = [];

  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  checks.push(
    major > 22 || (major === 22 && minor >= 12)
      ? {
          id: 'cli',
          status: 'ok',
          summary: `fleece ${VERSION} on Node.js ${process.version} (${ctx.platform})`,
        }
      : {
          id: 'cli',
          status: 'fail',
          summary: `Node.js ${process.version} is too old: fleece needs 22.12 or later`,
          fix: 'Install Node.js 22.12 or later.',
        },
  );

  const spinner = await out.spinner(`Checking ${server}…`);
  // The health request goes through the same client (and transport) as every command: where it really
  // connected is what the proxy check reports.
  const route: HealthRoute = { connections: [], failure: undefined };
  const log = watchConnections();
  try {
    const sentAt = ctx.now();
    const start = performance.now();
    const { data, response } = await anonymousClient(inv, server)
      .health.check({ signal: ctx.signal, maxRetries: 0, timeout: 10_000 })
      .withResponse();
    const elapsed = Math.round(performance.now() - start);
    checks.push(
      data.status === 'down'
        ? {
            id: 'server',
            status: 'fail',
            summary: `${server} answers but reports that it is down`,
            fix: 'Check the server logs.',
          }
        : {
            id: 'server',
            status: data.status === 'ok' ? 'ok' : 'warn',
            summary: `${server} answers: ${data.status}, version ${data.version}, in ${elapsed} ms`,
            ...(data.status === 'ok'
              ? {}
              : { fix: 'The server is degraded: check its logs and `fleece health`.' }),
          },
    );
    const date = response.headers.get('date');
    if (!date || Number.isNaN(Date.parse(date))) {
      checks.push({
        id: 'clock',
        status: 'warn',
        summary: 'The server sent no Date header to compare clocks with',
      });
    } else {
      const local = sentAt + (ctx.now() - sentAt) / 2;
      const skew = Date.parse(date) - local;
      const seconds = Math.round(Math.abs(skew) / 1000);
      checks.push(
        Math.abs(skew) <= CLOCK_SKEW_OK_MS
          ? { id: 'clock', status: 'ok', summary: `within ${Math.max(seconds, 1)} s of the server` }
          : {
              id: 'clock',
              status: 'warn',
              summary: `${seconds} s ${skew > 0 ? 'behind' : 'ahead of'} the server`,
              fix: 'Synchronise the clock (NTP): token expiry times are computed from it.',
            },
      );
    }
  } catch (error) {
    const mapped = fromHealthError(error, server);
    if (mapped?.exitCode === 130) throw mapped;
    route.failure = mapped?.message ?? String(error);
    checks.push({
      id: 'server',
      status: 'fail',
      summary: mapped?.message ?? String(error),
      fix:
        mapped instanceof WrongServerError && mapped.hint
          ? mapped.hint
          : 'Check the address (--server, FLEECE_BASE_URL), that the server runs, and the proxy settings below.',
    });
    checks.push({ id: 'clock', status: 'warn', summary: 'not checked: the server did not answer' });
  } finally {
    log.stop();
    route.connections = [...log.connections];
    spinner.stop();
  }

  const credentials = await inv.credentials();
  const probe = await credentials.probeKeyring();
  checks.push(
    probe.ok
      ? { id: 'keychain', status: 'ok', summary: 'the OS keychain can store credentials' }
      : {
          id: 'keychain',
          status: 'warn',
          summary: `the OS keychain is not available (${probe.reason}); logins are stored in ${credentials.file.description} (plaintext) when allowed`,
          fix: 'On Linux, run a Secret Service (GNOME Keyring, KeePassXC) in a desktop session; in CI use FLEECE_API_KEY.',
        },
  );

  checks.push(await credentialCheck(inv, server));
  checks.push(proxyCheck(inv, server, route));

  if (options.json) {
    out.json({ ok: !checks.some((c) => c.status === 'fail'), server, checks });
  } else {
    const c = out.color;
    const mark = { ok: c.green('✓'), warn: c.yellow('!'), fail: c.red('✗') };
    const width = Math.max(...checks.map((check) => (LABELS[check.id] ?? check.id).length));
    for (const check of checks) {
      out.data(`${mark[check.status]} ${(LABELS[check.id] ?? check.id).padEnd(width)}  ${check.summary}`);
      if (check.fix) out.data(`  ${' '.repeat(width)}  ${c.dim(check.fix)}`);
    }
  }
  if (checks.some((check) => check.status === 'fail')) throw new ExitError(1);
}

async function credentialCheck(inv: Invocation, server: string): Promise<Check> {
  const { ctx } = inv;
  const credentials = await inv.credentials();
  const fileMode0 = await fileMode(credentials.file.path);
  const dirMode = await fileMode(dirname(credentials.file.path));
  if (
    ctx.platform !== 'win32' &&
    fileMode0 !== undefined &&
    ((fileMode0 & 0o077) !== 0 || ((dirMode ?? 0) & 0o077) !== 0)
  ) {
    return {
      id: 'credentials',
      status: 'fail',
      summary: `${credentials.file.description} is readable by other users (file ${fileMode0.toString(8)}, directory ${(dirMode ?? 0).toString(8)})`,
      fix: `Run: chmod 600 ${credentials.file.description} && chmod 700 ${displayPath(dirname(credentials.file.path), ctx)}`,
    };
  }
  const source = await findCredential(inv).catch(() => undefined);
  if (!source) {
    return {
      id: 'credentials',
      status: 'warn',
      summary: `not logged in to ${server}`,
      fix: 'Run `fleece login`, or set FLEECE_API_KEY.',
    };
  }
  const info = credentialInfo(source);
  const where =
    info.storage === 'env'
      ? `${info.location} (environment)`
      : info.storage === 'keychain'
        ? 'the OS keychain'
        : displayPath(info.location, ctx);
  try {
    const session = new ApiSession(inv, server, source);
    const me = await session.call('GET /api/v1/me', (client) =>
      client.me.get({ signal: ctx.signal, maxRetries: 0, timeout: 10_000 }),
    );
    const expiry =
      session.source.kind === 'store' && session.source.credential.expiresAt
        ? `, token expires ${relativeTime(session.source.credential.expiresAt, ctx.now())}`
        : '';
    return { id: 'credentials', status: 'ok', summary: `${me.user.email}, from ${where}${expiry}` };
  } catch (error) {
    const mapped = fromSdkError(error, server) ?? (error as Error);
    return {
      id: 'credentials',
      status: 'fail',
      summary: `the credentials from ${where} do not work: ${mapped.message}`,
      fix: (mapped as { hint?: string }).hint ?? 'Run `fleece login` again.',
    };
  }
}

/** How doctor's health request went: the connections undici opened, and its error when it failed. */
interface HealthRoute {
  connections: ObservedConnection[];
  failure: string | undefined;
}

/**
 * The proxy check: which variables apply to `server`, and the route the health request really took (the
 * connections it opened), so a proxy is reported as used only when the request went through it.
 */
function proxyCheck(inv: Invocation, server: string, route: HealthRoute): Check {
  const settings = proxySettings(inv.ctx);
  const url = new URL(server);
  const proxy = url.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy;
  const listed = [settings.httpsProxy, settings.httpProxy, settings.noProxy]
    .filter((s) => s !== undefined)
    .map((s) => `${s.name}=${s.name.toLowerCase() === 'no_proxy' ? s.value : redactProxy(s.value)}`);
  if (!proxy) {
    return {
      id: 'proxy',
      status: 'ok',
      summary: listed.length ? `${listed.join(', ')}; ${server} is reached directly` : 'no proxy configured',
    };
  }
  let proxyUrl: URL;
  try {
    proxyUrl = new URL(proxy.value);
    if (proxyUrl.protocol !== 'http:' && proxyUrl.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    return {
      id: 'proxy',
      status: 'fail',
      summary: `${proxy.name} is not an http(s) URL: ${redactProxy(proxy.value)}`,
      fix: `Set ${proxy.name} to http://host:port, or unset it.`,
    };
  }
  const shown = redactProxy(proxy.value);
  const proxyAddress = addressOf(proxyUrl.hostname, proxyUrl.port, proxyUrl.protocol);
  const toProxy = route.connections.filter((c) => c.address === proxyAddress);
  const usedProxy = toProxy.some((c) => c.outcome === 'connected');
  if (bypassesProxy(url, settings.noProxy?.value)) {
    if (toProxy.length > 0) {
      return {
        id: 'proxy',
        status: 'warn',
        summary: `${listed.join(', ')}; ${settings.noProxy?.name} lists ${url.hostname}, but the request went to ${shown}`,
        fix: `Check the ${settings.noProxy?.name} entries (host names, .domain suffixes, host:port).`,
      };
    }
    return {
      id: 'proxy',
      status: 'ok',
      summary: `${listed.join(', ')}; ${server} is reached directly (${settings.noProxy?.name})`,
    };
  }
  if (toProxy.length > 0 && !usedProxy) {
    return {
      id: 'proxy',
      status: 'fail',
      summary: `${listed.join(', ')}; could not connect to the proxy ${shown}`,
      fix: `Check that the proxy runs at ${shown}, or unset ${proxy.name} (or list ${url.hostname} in NO_PROXY) to connect directly.`,
    };
  }
  if (!usedProxy) {
    return {
      id: 'proxy',
      status: 'warn',
      summary: `${listed.join(', ')}; the request to ${server} did not go through ${shown}`,
      fix: `Check ${proxy.name} and NO_PROXY.`,
    };
  }
  if (route.failure !== undefined) {
    return {
      id: 'proxy',
      status: 'fail',
      summary: `${listed.join(', ')}; ${shown} was reached, but the request to ${server} through it failed`,
      fix: `Check that the proxy allows ${url.host} (its logs), or list ${url.hostname} in NO_PROXY to connect directly.`,
    };
  }
  return {
    id: 'proxy',
    status: 'ok',
    summary: `${listed.join(', ')}; ${server} is reached through ${shown}`,
  };
}
