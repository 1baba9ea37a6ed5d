import type { Context } from './context.js';
import { readEnv } from './env.js';

/** The proxy variables the SDK honours (lower-case names win, as in curl and undici). */
export interface ProxySettings {
  httpProxy: { name: string; value: string } | undefined;
  httpsProxy: { name: string; value: string } | undefined;
  noProxy: { name: string; value: string } | undefined;
}

function pick(ctx: Pick<Context, 'env'>, lower: string): { name: string; value: string } | undefined {
  for (const name of [lower, lower.toUpperCase()]) {
    const value = readEnv(ctx, name);
    if (value) return { name, value };
  }
  return undefined;
}

/** Reads `http_proxy`/`HTTP_PROXY`, `https_proxy`/`HTTPS_PROXY` and `no_proxy`/`NO_PROXY`. */
export function proxySettings(ctx: Pick<Context, 'env'>): ProxySettings {
  return {
    httpProxy: pick(ctx, 'http_proxy'),
    httpsProxy: pick(ctx, 'https_proxy'),
    noProxy: pick(ctx, 'no_proxy'),
  };
}

/**
 * Whether `NO_PROXY` exempts `url`: `*` exempts everything; an entry matches its host and subdomains
 * (`example.com`, `.example.com` and `*.example.com` all match `api.example.com`); `host:port` matches
 * that port only.
 */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const match = /^(.*?)(?::(\d+))?$/.exec(entry);
    const name = (match?.[1] ?? entry).replace(/^\*?\./, '').replace(/^\[|\]$/g, '');
    if (match?.[2] && match[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** A proxy URL with its user name and password replaced by `***`, for display. */
export function redactProxy(value: string): string {
  try {
    const url = new URL(value);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '';
    }
    return url.toString().replace(/\/$/, '');
  } catch {
    return value.replace(/\/\/[^@/]*@/, '//***@');
  }
}
