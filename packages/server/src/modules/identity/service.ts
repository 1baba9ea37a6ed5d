import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { AuditService } from '../audit/service.js';
import { DeviceService } from './device.service.js';
import { GrantService } from './grants.service.js';
import { MagicLinkService } from './magic-link.service.js';
import { createMailer, type Mailer } from './mailer.js';
import { OAuthService } from './oauth.service.js';
import type { SessionService } from './sessions.service.js';
import { BrowserSignIn } from './signin.service.js';
import type { TokenService } from './tokens.js';
import { UserService } from './users.service.js';

/** Every identity service of one app, wired to its database, clock, configuration and audit log. */
export interface IdentityServices {
  users: UserService;
  signIn: BrowserSignIn;
  magicLinks: MagicLinkService;
  oauth: OAuthService;
  grants: GrantService;
  devices: DeviceService;
  mailer: Mailer;
}

/** What {@link identityServices} builds the identity services from. */
export interface IdentityServicesOptions {
  db: Db;
  clock: Clock;
  config: Config;
  audit: AuditService;
  sessions: SessionService;
  tokens: TokenService;
  /** Where the development outbox logs sign-in links when no mail provider is configured. */
  log: FastifyBaseLogger;
}

/** Builds the identity services (src/modules/identity/plugin.ts decorates the app with them). */
export function identityServices(options: IdentityServicesOptions): IdentityServices {
  const { db, clock, config, audit, sessions, tokens, log } = options;
  const users = new UserService({ db, clock, adminEmails: config.adminEmails });
  const signIn = new BrowserSignIn({ sessions, audit });
  const mailer = createMailer(config, log);
  const grants = new GrantService({ db, clock, tokens, sessions, audit, secret: config.secret });
  const { publicUrl } = config;
  return {
    users,
    signIn,
    mailer,
    grants,
    magicLinks: new MagicLinkService({ db, clock, publicUrl, users, signIn, mailer, audit, log }),
    oauth: new OAuthService({ config: config.oauth, publicUrl }),
    devices: new DeviceService({ db, clock, publicUrl, grants, audit }),
  };
}
