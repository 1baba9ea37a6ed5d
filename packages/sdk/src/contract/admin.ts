import { z } from 'zod';
import { Entitlements, PlanId, User } from './identity.js';
import { PageQuery, pageOf } from './pagination.js';

/**
 * Administration of users (`/api/v1/admin/users`), for admins signed in with a session:
 *
 * - `GET /api/v1/admin/users` lists and searches accounts, newest first ({@link AdminUserListQuery} →
 *   {@link AdminUserPage});
 * - `PATCH /api/v1/admin/users/:id` sets a plan, Enterprise limit overrides, or suspends / reinstates an
 *   account ({@link AdminUserUpdate} → {@link AdminUser}). Suspension ends the user's sessions and revokes
 *   their API keys at once, on every instance.
 */

/**
 * Enterprise limit overrides: any subset of the entitlements. They apply only while the plan is
 * `enterprise`; `null` in an update removes every override.
 */
export const LimitOverrides = Entitlements.partial().strict();
export type LimitOverrides = z.infer<typeof LimitOverrides>;

/** A user as an admin sees them: the account, its plan, and its Enterprise overrides (`null`: none). */
export const AdminUser = User.extend({
  plan: PlanId,
  limits: LimitOverrides.nullable(),
});
export type AdminUser = z.infer<typeof AdminUser>;

/**
 * Query of `GET /api/v1/admin/users`: paging, plus `q` (a case-insensitive substring of the email or name,
 * or an exact user id), `plan`, `status` and `role` filters.
 */
export const AdminUserListQuery = PageQuery.extend({
  q: z.string().trim().min(1).max(254).optional(),
  plan: PlanId.optional(),
  status: z.enum(['active', 'suspended', 'pending_deletion']).optional(),
  role: z.enum(['user', 'admin']).optional(),
});
export type AdminUserListQuery = Partial<z.output<typeof AdminUserListQuery>>;

/** Answer of `GET /api/v1/admin/users`. */
export const AdminUserPage = pageOf(AdminUser);
export type AdminUserPage = z.infer<typeof AdminUserPage>;

/** Path parameters of `PATCH /api/v1/admin/users/:id`. */
export const AdminUserParams = z.strictObject({ id: z.string().min(1).max(64) });
export type AdminUserParams = z.infer<typeof AdminUserParams>;

/**
 * Body of `PATCH /api/v1/admin/users/:id`: at least one of
 *
 * - `plan`: the new plan (records `admin.plan_overridden`);
 * - `limits`: Enterprise overrides to store (`null` clears them; records `admin.plan_overridden`);
 * - `status`: `suspended` or `active` (records `admin.user_suspended`; suspending revokes every session and
 *   API key of the user).
 */
export const AdminUserUpdate = z
  .strictObject({
    plan: PlanId.optional(),
    limits: LimitOverrides.nullable().optional(),
    status: z.enum(['active', 'suspended']).optional(),
  })
  .refine((b) => b.plan !== undefined || b.limits !== undefined || b.status !== undefined, {
    message: 'give at least one of plan, limits, status',
  });
export type AdminUserUpdate = z.infer<typeof AdminUserUpdate>;
