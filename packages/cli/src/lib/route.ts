import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** One TCP connection undici opened (or tried to) while a {@link ConnectionLog} listened. */
export interface ObservedConnection {
  /** `hostname:port` of the peer, the port filled in from the protocol when the URL had none. */
  address: string;
  /** Whether the connection was made (`connected`) or failed (`failed`). */
  outcome: 'connected' | 'failed';
}

/** What {@link watchConnections} returns. */
export interface ConnectionLog {
  /** The connections seen so far, in order. */
  readonly connections: readonly ObservedConnection[];
  /** Stops listening; the log keeps what it saw. */
  stop(): void;
}

interface ConnectMessage {
  connectParams?: { hostname?: string; port?: string | number; protocol?: string };
}

/** `hostname:port` of a URL or connect parameters, IPv6 brackets removed, default port filled in. */
export function addressOf(hostname: string, port: string | number | undefined, protocol: string): string {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const filled = port === undefined || port === '' ? (protocol === 'https:' ? '443' : '80') : String(port);
  return `${host}:${filled}`;
}

/**
 * Records the connections undici opens from now until `stop()`, from its `undici:client:connected` and
 * `undici:client:connectError` diagnostics channels (Node's `node:diagnostics_channel`): where the SDK's
 * default transport (`EnvHttpProxyAgent`) really connected, the proxy or the server. `fleece doctor` uses
 * it to report the route its request took instead of the route the variables suggest. Requests sent with
 * `node:http` (the CLI without proxy variables) are not seen.
 */
export function watchConnections(): ConnectionLog {
  const connections: ObservedConnection[] = [];
  const listener = (outcome: ObservedConnection['outcome']) => (message: unknown) => {
    const params = (message as ConnectMessage).connectParams;
    if (!params?.hostname) return;
    connections.push({
      address: addressOf(params.hostname, params.port, params.protocol ?? 'http:'),
      outcome,
    });
  };
  const onConnected = listener('connected');
  const onFailed = listener('failed');
  subscribe('undici:client:connected', onConnected);
  subscribe('undici:client:connectError', onFailed);
  return {
    connections,
    stop() {
      unsubscribe('undici:client:connected', onConnected);
      unsubscribe('undici:client:connectError', onFailed);
    },
  };
}
