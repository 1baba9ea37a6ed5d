import { z } from 'zod';

/**
 * Consents (`/api/v1/account/consents`, issue 7): what a user agreed to, per type.
 *
 * - `ai_processing`: sending prompts and conversations to the configured AI providers for real-time
 *   inference (never for training, claim C31). Without it, executing an agent, chatting and triggering a flow
 *   answer 403 `consent_required`;
 * - `product_email`: product news by email (account and security mail is sent regardless);
 * - `terms`: the terms of service.
 *
 * `GET /api/v1/account/consents` returns every type ({@link ConsentList}); `PUT
 * /api/v1/account/consents/:type` with {@link SetConsentRequest} grants or revokes one (200 {@link Consent}),
 * recording `consent.granted` or `consent.revoked` when the decision changes.
 */

/** The consent types, in the order `GET /api/v1/account/consents` lists them. */
export const CONSENT_TYPES = ['ai_processing', 'product_email', 'terms'] as const;

/** One consent type (see {@link CONSENT_TYPES}). */
export const ConsentType = z.enum(CONSENT_TYPES);
export type ConsentType = z.infer<typeof ConsentType>;

/**
 * One consent of the caller.
 *
 * - `granted`: `true` only when the user granted it for the current policy version; a grant of an older
 *   version, a revocation, or no decision at all reads `false`;
 * - `policyVersion`: the policy version the latest decision was made against, `null` when never decided;
 * - `currentPolicyVersion`: the version in force now (granting records this one);
 * - `updatedAt`: when the latest decision was made (ISO 8601), `null` when never decided.
 */
export const Consent = z.object({
  type: ConsentType,
  granted: z.boolean(),
  policyVersion: z.string().nullable(),
  currentPolicyVersion: z.string(),
  updatedAt: z.iso.datetime().nullable(),
});
export type Consent = z.infer<typeof Consent>;

/** Answer of `GET /api/v1/account/consents`: every consent type, in {@link CONSENT_TYPES} order. */
export const ConsentList = z.object({ data: z.array(Consent) });
export type ConsentList = z.infer<typeof ConsentList>;

/** Path parameters of `PUT /api/v1/account/consents/:type`. */
export const ConsentParams = z.strictObject({ type: ConsentType });
export type ConsentParams = z.infer<typeof ConsentParams>;

/** Body of `PUT /api/v1/account/consents/:type`: `true` grants the current policy version, `false` revokes. */
export const SetConsentRequest = z.strictObject({ granted: z.boolean() });
export type SetConsentRequest = z.infer<typeof SetConsentRequest>;
