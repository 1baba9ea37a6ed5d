import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResendMailer } from '../../src/modules/identity/mailer.js';

describe('magic-link email through Resend (mocked with msw)', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());

  it('sends the link over HTTPS with the API key, from the configured sender', async () => {
    let seen: { auth: string | null; body: Record<string, unknown> } | undefined;
    server.use(
      http.post('https://api.resend.com/emails', async ({ request }) => {
        seen = {
          auth: request.headers.get('authorization'),
          body: (await request.json()) as Record<string, unknown>,
        };
        return HttpResponse.json({ id: 'email_1' });
      }),
    );
    const mailer = new ResendMailer('re_test_key', 'Fleece <login@fleece.example>');
    await mailer.sendMagicLink('ada@example.test', 'https://fleece.example/login/magic?token=abc', 15);
    expect(seen?.auth).toBe('Bearer re_test_key');
    expect(seen?.body).toMatchObject({
      from: 'Fleece <login@fleece.example>',
      to: 'ada@example.test',
      subject: 'Your Fleece sign-in link',
    });
    expect(seen?.body.text).toContain('https://fleece.example/login/magic?token=abc');
    expect(seen?.body.text).toContain('15 minutes');
  });

  it('throws when Resend refuses the message', async () => {
    server.use(
      http.post('https://api.resend.com/emails', () =>
        HttpResponse.json(
          { name: 'validation_error', message: 'domain not verified', statusCode: 403 },
          { status: 403 },
        ),
      ),
    );
    const mailer = new ResendMailer('re_test_key', 'Fleece <login@unverified.example>');
    await expect(
      mailer.sendMagicLink('ada@example.test', 'https://x/login/magic?token=t', 15),
    ).rejects.toThrow(/Resend refused the magic-link email/);
  });
});
