import type { User } from '@fleece/sdk/contract';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { identities, users } from '../../db/schema/identity.js';
import { enterScope, withScope } from '../../db/tenant.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/secrets.js';

/** A user row. */
export type UserRow = typeof users.$inferSelect;

/** What a provider asserted about the person signing in. */
export interface ProviderProfile {
  provider: 'google' | 'github' | 'entra';
  /** The provider's stable account id (`sub`, or GitHub's numeric id). */
  subject: string;
  email: string;
  /** Whether the provider asserts that this person controls `email`. */
  emailVerified: boolean;
  name: string | null;
}

/** Why a sign-in was refused. */
export class SignInRefused extends Error {
  override name = 'SignInRefused';
  constructor(
    /** Stable reason, recorded in the `auth.login.failed` audit event. */
    readonly reason: 'account_inactive' | 'email_unverified_conflict' | 'email_unverified',
    message: string,
  ) {
    super(message);
  }
}

/** Normalises an email address for comparison: trimmed and lower-case. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The public view of a user row. */
export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    emailVerified: row.emailVerified,
    createdAt: row.createdAt.toISOString(),
  };
}

/** What {@link UserService} is built from (its dependencies and settings). */
export interface UserServiceOptions {
  db: Db;
  clock: Clock;
  adminEmails: readonly string[];
}

/**
 * Users and their linked identities: finding or creating the account behind a sign-in, and the admin
 * bootstrap (`FLEECE_ADMIN_EMAILS`). `GET /api/v1/me` is served by the plans module's `MeService`.
 *
 * Linking rule: a provider identity attaches to an existing account with the same email only when the
 * provider asserts the email is verified; an unverified email that collides with an account is refused
 * (otherwise anyone could claim an account by registering its address, unverified, at some provider).
 */
export class UserService {
  /**
   * The user with `email` (compared without regard to case), if any. Inside `tx` the caller's scope must
   * show that row (the sign-in scope of the address); without `tx` the lookup runs in that scope.
   */
  async byEmail(email: string, tx?: Db): Promise<UserRow | undefined> {
    const query = (t: Db) =>
      t
        .select()
        .from(users)
        .where(sql`lower(${users.email}) = ${normaliseEmail(email)}`);
    const [row] = tx
      ? await query(tx)
      : await withScope(this.deps.db, { email: normaliseEmail(email) }, query);
    return row;
  }

  /** Enters the tenant scope of `user` on `tx` once sign-in has found or created the account. */
  private async enter(tx: Db, user: UserRow): Promise<UserRow> {
    await enterScope(tx, { userId: user.id });
    return user;
  }

  private async insertUser(tx: Db, email: string, emailVerified: boolean, name: string | null) {
    const now = this.deps.clock.now();
    const [row] = await tx
      .insert(users)
      .values({ id: newId('usr'), email: email.trim(), emailVerified, name, createdAt: now, updatedAt: now })
      .returning();
    return row!;
  }

  /**
   * Applies the sign-in rules to a user inside `tx`: refuses suspended accounts, and promotes a verified
   * address listed in `FLEECE_ADMIN_EMAILS` to admin. An account pending deletion may sign in, to cancel
   * the deletion (its sessions reach nothing else; see src/modules/deletion/).
   * @throws {SignInRefused} `account_inactive` for a suspended account.
   */
  private async admit(tx: Db, user: UserRow): Promise<UserRow> {
    if (user.status === 'suspended') {
      throw new SignInRefused('account_inactive', 'This account is suspended.');
    }
    if (
      user.role !== 'admin' &&
      user.emailVerified &&
      this.deps.adminEmails.includes(normaliseEmail(user.email))
    ) {
      const [promoted] = await tx
        .update(users)
        .set({ role: 'admin', updatedAt: this.deps.clock.now() })
        .where(eq(users.id, user.id))
        .returning();
      return promoted!;
    }
    return user;
  }

  /**
   * The account of someone who proved control of `email` by opening a magic link, created on first use;
   * the address becomes verified. Enters the sign-in scope of the address on `tx`, then the account's
   * tenant scope: the rest of the transaction acts as that user.
   * @throws {SignInRefused} `account_inactive`.
   */
  async signInWithEmail(tx: Db, email: string): Promise<{ user: UserRow; created: boolean }> {
    await enterScope(tx, { email: normaliseEmail(email) });
    const existing = await this.byEmail(email, tx);
    if (existing) {
      let user = existing;
      if (!user.emailVerified) {
        [user] = (await tx
          .update(users)
          .set({ emailVerified: true, updatedAt: this.deps.clock.now() })
          .where(eq(users.id, user.id))
          .returning()) as [UserRow];
      }
      return { user: await this.admit(tx, await this.enter(tx, user)), created: false };
    }
    const user = await this.insertUser(tx, email, true, null);
    return { user: await this.admit(tx, await this.enter(tx, user)), created: true };
  }

  /**
   * The account behind a provider sign-in: the linked identity's user; else, when the provider asserts a
   * verified email, the account with that email (the identity is linked to it); else a new account.
   * Looks the identity up in the sign-in scope of the provider's `<provider>:<subject>` and address, then
   * enters the account's tenant scope on `tx`.
   * @throws {SignInRefused} `account_inactive`; `email_unverified_conflict` when an unverified email belongs
   *   to an existing account.
   */
  async signInWithProvider(tx: Db, profile: ProviderProfile): Promise<{ user: UserRow; created: boolean }> {
    const now = this.deps.clock.now();
    await enterScope(tx, {
      identity: `${profile.provider}:${profile.subject}`,
      email: normaliseEmail(profile.email),
    });
    const [linked] = await tx
      .select({ id: identities.id, userId: identities.userId })
      .from(identities)
      .where(and(eq(identities.provider, profile.provider), eq(identities.subject, profile.subject)));
    if (linked) {
      // The identity names its account, whose address may differ from the provider's: enter its scope.
      await enterScope(tx, { userId: linked.userId });
      const [user] = await tx.select().from(users).where(eq(users.id, linked.userId));
      await tx
        .update(identities)
        .set({ email: profile.email, emailVerified: profile.emailVerified, updatedAt: now })
        .where(eq(identities.id, linked.id));
      return { user: await this.admit(tx, user!), created: false };
    }
    const existing = await this.byEmail(profile.email, tx);
    let user: UserRow;
    let created = false;
    if (existing) {
      if (!profile.emailVerified) {
        throw new SignInRefused(
          'email_unverified_conflict',
          `${profile.provider} does not confirm that this email address is verified, and an account already uses it. Sign in with a magic link instead.`,
        );
      }
      user = existing;
      if (!user.emailVerified) {
        [user] = (await tx
          .update(users)
          .set({ emailVerified: true, updatedAt: now })
          .where(eq(users.id, user.id))
          .returning()) as [UserRow];
      }
    } else {
      user = await this.insertUser(tx, profile.email, profile.emailVerified, profile.name);
      created = true;
    }
    await this.enter(tx, user);
    await tx.insert(identities).values({
      id: newId('idn'),
      userId: user.id,
      provider: profile.provider,
      subject: profile.subject,
      email: profile.email,
      emailVerified: profile.emailVerified,
      createdAt: now,
      updatedAt: now,
    });
    return { user: await this.admit(tx, user), created };
  }

  constructor(private readonly deps: UserServiceOptions) {}
}
