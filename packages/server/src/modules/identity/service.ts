import type { FastifyInstance } from 'fastify';
import { DeviceService } from './device.service.js';
import { GrantService } from './grants.service.js';
import { MagicLinkService } from './magic-link.service.js';
import { createMailer, type Mailer } from './mailer.js';
import { OAuthService } from './oauth.service.js';
import { BrowserSignIn } from './signin.service.js';
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

/** Builds the identity services of `app` (needs the authenticate plugin's `tokens` and `sessions`). */
export function identityServices(app: FastifyInstance): IdentityServices {
  const { db, clock, config, audit, sessions, tokens } = app;
  const users = new UserService(db, clock, config.adminEmails);
  const signIn = new BrowserSignIn(sessions, audit);
  const mailer = createMailer(config, app.log);
  const grants = new GrantService(db, clock, tokens, sessions, audit, config.secret);
  return {
    users,
    signIn,
    mailer,
    grants,
    magicLinks: new MagicLinkService(db, clock, config.publicUrl, users, signIn, mailer, audit, app.log),
    oauth: new OAuthService(config.oauth, config.publicUrl),
    devices: new DeviceService(db, clock, config.publicUrl, grants, audit),
  };
}
