import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 and an ephemeral port. */
export interface TestServer {
  /** Its origin, `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  server: http.Server;
  /** Drops every open connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a real node:http server on 127.0.0.1 (port 0) with `handler`. */
export async function startServer(handler?: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads a request body as text (UTF-8). */
export async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

/**
 * The forwarding half of an HTTP proxy: answers an absolute-form request (`GET http://host/path`, as
 * clients send plain-http requests through a proxy, RFC 9112 §3.2.2) by sending it on to its target with
 * `Via: 1.1 test-proxy` and piping the answer back (502 when the target cannot be reached). `record`
 * sees `"<METHOD> <absolute URL>"` of each request first. CONNECT tunnels are the caller's to handle.
 */
export function forwardingProxy(record: (line: string) => void): http.RequestListener {
  return (req, res) => {
    record(`${req.method} ${req.url}`);
    const target = new URL(req.url ?? '/');
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: req.method,
        headers: { ...req.headers, via: '1.1 test-proxy' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  };
}
