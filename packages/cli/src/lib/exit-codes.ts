/**
 * The `fleece` exit codes, documented in docs/cli.md. Scripts may branch on them; they never change
 * meaning.
 */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** Any error without a more specific code (server error, connection failure, refused input…). */
  ERROR: 1,
  /** The command line was wrong: unknown command or option, missing argument, bad value, empty stdin. */
  USAGE: 2,
  /** Not authenticated: no credentials, or the server refused them. `fleece login` fixes it. */
  NOT_AUTHENTICATED: 3,
  /** The credential may not do this, or a plan limit was reached (HTTP 403). */
  PERMISSION: 4,
  /** Rate limited (HTTP 429): wait and try again. */
  RATE_LIMITED: 5,
  /** The resource does not exist, or belongs to someone else (HTTP 404). */
  NOT_FOUND: 6,
  /** An integrity check failed: `fleece audit verify` found the audit log's hash chain broken. */
  INTEGRITY: 7,
  /** Interrupted by Ctrl+C (SIGINT), 128 + 2 as shells report it. */
  INTERRUPTED: 130,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
