import { z } from 'zod';

/**
 * One field-level validation failure inside a problem document.
 *
 * `path` is the dotted location of the offending value in the request (for example `body.name` or
 * `query.limit`); `message` says what was expected.
 */
export const ProblemFieldError = z.object({
  path: z.string(),
  message: z.string(),
});
export type ProblemFieldError = z.infer<typeof ProblemFieldError>;

/**
 * RFC 9457 problem details, as every Fleece error response carries with
 * `Content-Type: application/problem+json`.
 *
 * - `type`: a URI naming the problem kind; `title`: its short human summary; `status`: the HTTP status;
 * - `detail`: what went wrong in this occurrence and what to do next;
 * - `code`: a stable snake_case identifier (for example `rate_limited`, `plan_limit_reached`) to branch on;
 * - `requestId`: the `X-Request-Id` of the failed request, for support;
 * - `errors`: field paths and messages on validation failures;
 * - `upgrade`: `true` when a plan limit was hit and a higher plan lifts it.
 *
 * Unknown members are kept (RFC 9457 §3.2 allows extension members).
 */
export const Problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  code: z.string(),
  requestId: z.string().optional(),
  errors: z.array(ProblemFieldError).optional(),
  upgrade: z.boolean().optional(),
});
export type Problem = z.infer<typeof Problem>;

/** The start of the `type` URI of every problem a Fleece server sends (`…/problems/<code>`). */
export const FLEECE_PROBLEM_TYPE_PREFIX = 'https://fleece.dev/problems/';

/**
 * Whether `body` is a problem document of a Fleece server: an RFC 9457 {@link Problem} with a `code` and
 * a `type` under {@link FLEECE_PROBLEM_TYPE_PREFIX}. Another web app's 404 (an HTML page, `{"error": …}`,
 * or another service's problem+json) is not.
 */
export function isFleeceProblem(body: unknown): boolean {
  const parsed = Problem.safeParse(body);
  return parsed.success && parsed.data.type.startsWith(FLEECE_PROBLEM_TYPE_PREFIX);
}
