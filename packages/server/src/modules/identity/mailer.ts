import type { FastifyBaseLogger } from 'fastify';
import { Resend } from 'resend';
import type { Config } from '../../config.js';

/** Sends the sign-in emails. */
export interface Mailer {
  /** `resend` or `outbox` (the server log). */
  readonly kind: 'resend' | 'outbox';
  /**
   * Sends a magic sign-in link to `to`.
   * @throws when the email service refuses the message (the caller logs it; the client still gets 202).
   */
  sendMagicLink(to: string, link: string, expiresInMinutes: number): Promise<void>;
}

function magicLinkText(link: string, minutes: number): string {
  return `Sign in to Fleece by opening this link within ${minutes} minutes:\n\n${link}\n\nIf you did not ask to sign in, ignore this email: nothing happens until the link is opened.`;
}

/** Sends through Resend (`RESEND_API_KEY`, from `FLEECE_EMAIL_FROM`), over HTTPS. */
export class ResendMailer implements Mailer {
  readonly kind = 'resend';
  private readonly resend: Resend;
  constructor(
    apiKey: string,
    private readonly from: string,
  ) {
    this.resend = new Resend(apiKey);
  }

  async sendMagicLink(to: string, link: string, expiresInMinutes: number): Promise<void> {
    const { error } = await this.resend.emails.send({
      from: this.from,
      to,
      subject: 'Your Fleece sign-in link',
      text: magicLinkText(link, expiresInMinutes),
    });
    if (error) throw new Error(`Resend refused the magic-link email: ${error.name}: ${error.message}`);
  }
}

/**
 * The development outbox: writes the whole link to the server log (at `info`, field `link`), so a person
 * running Fleece without an email service can still sign in. Anyone who can read the log can use the link:
 * configure Resend in production.
 */
export class LogOutbox implements Mailer {
  readonly kind = 'outbox';
  constructor(private readonly log: FastifyBaseLogger) {}

  async sendMagicLink(to: string, link: string, expiresInMinutes: number): Promise<void> {
    this.log.info(
      { outbox: 'magic_link', to, link, expiresInMinutes },
      `dev outbox: magic sign-in link: ${link}`,
    );
  }
}

/** The mailer the configuration asks for: Resend when `RESEND_API_KEY` is set, otherwise the log outbox. */
export function createMailer(config: Config, log: FastifyBaseLogger): Mailer {
  return config.email.resendApiKey
    ? new ResendMailer(config.email.resendApiKey, config.email.from)
    : new LogOutbox(log);
}
