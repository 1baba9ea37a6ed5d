import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyState } from '@fleece/sdk';

/** The path of the redirect URI on the loopback server. */
export const CALLBACK_PATH = '/callback';

/** What the loopback server needs to know. */
export interface LoopbackOptions {
  /** The `state` sent with the authorization request; a redirect with another one is ignored. */
  state: string;
  /** How long to wait for the redirect, in ms. */
  timeoutMs: number;
  /** Aborts the wait (Ctrl+C). */
  signal: AbortSignal;
  /** Called when a redirect arrives with a wrong or missing `state` (it is answered 400 and ignored). */
  onStateMismatch(): void;
  /** The error the wait rejects with after `timeoutMs`. */
  timeoutError(): Error;
  /** The error the wait rejects with when the browser reports an OAuth `error` (such as `access_denied`). */
  deniedError(reason: string): Error;
  /** The error the wait rejects with when `signal` aborts. */
  abortError(): Error;
}

/** A running loopback redirect receiver. */
export interface Loopback {
  /** `http://127.0.0.1:<port>/callback`: the exact `redirect_uri` to send. */
  redirectUri: string;
  /** Resolves with the authorization `code` of the first redirect whose `state` matches. */
  code: Promise<string>;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // The page is static text: no script, style, frame or form may run or load from it.
  'content-security-policy':
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  connection: 'close',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The small page the browser shows after the redirect: static HTML, no script. */
export function resultPage(title: string, text: string): string {
  return (
    '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><meta name="color-scheme" content="light dark">' +
    `<title>${escapeHtml(title)} · Fleece CLI</title></head>\n` +
    `<body>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>\n</body>\n</html>\n`
  );
}

/**
 * Starts the receiver of a native app's authorization redirect (RFC 8252 §7.3): an HTTP server on
 * 127.0.0.1 and a port the OS picks, that accepts `GET /callback?code=…&state=…` once. The `state` is
 * compared in constant time; redirects with another `state` are answered 400 and ignored (they cannot
 * end or hijack the login). The wait ends with the code, an OAuth error from the browser, the timeout,
 * or the abort signal.
 */
export async function startLoopback(options: LoopbackOptions): Promise<Loopback> {
  let settle: { resolve(code: string): void; reject(error: Error): void } | undefined;
  const code = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  code.catch(() => {}); // handled by the awaiting caller; this keeps an early failure from going unhandled
  let done = false;
  const finish = (outcome: { code: string } | { error: Error }) => {
    if (done) return;
    done = true;
    if ('code' in outcome) settle?.resolve(outcome.code);
    else settle?.reject(outcome.error);
  };

  const server = http.createServer((req, res) => {
    const send = (status: number, title: string, text: string) => {
      res.writeHead(status, PAGE_HEADERS);
      res.end(resultPage(title, text));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      send(404, 'Not found', 'This address only receives the Fleece CLI sign-in.');
      return;
    }
    if (!verifyState(options.state, url.searchParams.get('state'))) {
      options.onStateMismatch();
      send(
        400,
        'Sign-in not accepted',
        'This sign-in does not belong to the login running in your terminal.',
      );
      return;
    }
    if (done) {
      send(400, 'Sign-in already completed', 'You can close this tab.');
      return;
    }
    const error = url.searchParams.get('error');
    if (error) {
      const reason = url.searchParams.get('error_description') ?? error;
      send(200, 'Sign-in cancelled', 'The Fleece CLI was not signed in. You can close this tab.');
      finish({ error: options.deniedError(reason) });
      return;
    }
    const value = url.searchParams.get('code');
    if (!value) {
      send(400, 'Sign-in failed', 'The sign-in response has no code. Run fleece login again.');
      return;
    }
    send(200, 'Signed in to the Fleece CLI', 'You can close this tab and return to your terminal.');
    finish({ code: value });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const timer = setTimeout(() => finish({ error: options.timeoutError() }), options.timeoutMs);
  const onAbort = () => finish({ error: options.abortError() });
  if (options.signal.aborted) onAbort();
  options.signal.addEventListener('abort', onAbort, { once: true });

  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    code,
    async close() {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
