import type { OAuthErrorCode } from '@fleece/sdk/contract';

/**
 * An OAuth error answer (RFC 6749 §5.2, RFC 8628 §3.5): rendered by the OAuth endpoints as
 * `{ error, error_description }` with status 400, or 401 for `invalid_client`.
 */
export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly status: number;
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.status = error === 'invalid_client' ? 401 : 400;
  }

  /** The response body. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}
