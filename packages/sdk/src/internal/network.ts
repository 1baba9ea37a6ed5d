/** Error codes of a connection the server closed under us before it answered. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** The `code` of an error or of any error in its `cause` chain that is in `codes`. */
function findCode(error: unknown, codes: ReadonlySet<string>): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Whether `fetch` failed because the connection was reset or closed before any response byte arrived:
 * typically a keep-alive socket the server (or a proxy) closed while idle, just as it was reused. Such a
 * request never reached the application, so sending it again is safe.
 */
export function isStaleSocketError(error: unknown): boolean {
  return findCode(error, STALE_SOCKET_CODES) !== undefined;
}

/** Parses a body: JSON when it parses, the text otherwise, `undefined` when empty. */
export function parseBodyText(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
