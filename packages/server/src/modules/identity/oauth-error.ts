import type { OAuthErrorCode } from '@fleece/sdk/contract';

/**
 * An OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5): rendered by the OAuth endpoints as
 * `{ error, error_description }` with `Cache-Control: no-store` and `Pragma: no-cache`. The status is 400,
 * or 401 for `invalid_client`, unless `options.status` says otherwise (413, 415, 429, 500 for the
 * framework's answers); `options.headers` are sent too (such as `Retry-After` with a 429).
 */
export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(description);
    this.status = options.status ?? (error === 'invalid_client' ? 401 : 400);
    this.headers = options.headers ?? {};
  }

  /** The response body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}
