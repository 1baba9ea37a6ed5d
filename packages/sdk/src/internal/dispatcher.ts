import { type Dispatcher, EnvHttpProxyAgent } from 'undici';
import { readEnv } from './env.js';

const pools = new Map<string, Dispatcher>();

/**
 * The shared default dispatcher: an undici `EnvHttpProxyAgent` (keep-alive connection pools) that sends
 * requests through `HTTP_PROXY` / `HTTPS_PROXY` (lower-case names win, as in curl) except for hosts in
 * `NO_PROXY`. Blank variables are ignored. Clients created while the same proxy variables are set share
 * one pool; a change to the variables gives later clients a new one.
 */
export function defaultDispatcher(): Dispatcher {
  const httpProxy = readEnv('http_proxy') ?? readEnv('HTTP_PROXY');
  const httpsProxy = readEnv('https_proxy') ?? readEnv('HTTPS_PROXY');
  const noProxy = readEnv('no_proxy') ?? readEnv('NO_PROXY') ?? '';
  const key = JSON.stringify([httpProxy, httpsProxy, noProxy]);
  let pool = pools.get(key);
  if (!pool) {
    pool = new EnvHttpProxyAgent({
      ...(httpProxy ? { httpProxy } : {}),
      ...(httpsProxy ? { httpsProxy } : {}),
      noProxy,
    });
    pools.set(key, pool);
  }
  return pool;
}
