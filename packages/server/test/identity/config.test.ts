import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { NODE_ENV: 'test', FLEECE_DATA_DIR: 'memory://' };

describe('identity configuration', () => {
  it('enables no provider by default and uses the dev outbox', () => {
    const config = loadConfig(base);
    expect(config.oauth).toEqual({ google: undefined, github: undefined, entra: undefined });
    expect(config.email.resendApiKey).toBeUndefined();
    expect(config.adminEmails).toEqual([]);
  });

  it('enables a provider with both its client id and secret, with the real endpoints by default', () => {
    const config = loadConfig({
      ...base,
      FLEECE_GOOGLE_CLIENT_ID: 'g',
      FLEECE_GOOGLE_CLIENT_SECRET: 'gs',
      FLEECE_GITHUB_CLIENT_ID: 'h',
      FLEECE_GITHUB_CLIENT_SECRET: 'hs',
      FLEECE_ENTRA_CLIENT_ID: 'e',
      FLEECE_ENTRA_CLIENT_SECRET: 'es',
      FLEECE_ADMIN_EMAILS: 'A@Example.test, b@example.test',
    });
    expect(config.oauth.google).toEqual({
      clientId: 'g',
      clientSecret: 'gs',
      issuer: 'https://accounts.google.com',
    });
    expect(config.oauth.github).toEqual({
      clientId: 'h',
      clientSecret: 'hs',
      oauthUrl: 'https://github.com',
      apiUrl: 'https://api.github.com',
    });
    expect(config.oauth.entra).toEqual({
      clientId: 'e',
      clientSecret: 'es',
      tenant: 'common',
      issuer: 'https://login.microsoftonline.com/common/v2.0',
    });
    expect(config.adminEmails).toEqual(['a@example.test', 'b@example.test']);
  });

  it('refuses a client id without its secret, naming the missing variable', () => {
    expect(() => loadConfig({ ...base, FLEECE_GITHUB_CLIENT_ID: 'h' })).toThrow(ConfigError);
    try {
      loadConfig({ ...base, FLEECE_GITHUB_CLIENT_ID: 'h' });
    } catch (error) {
      expect((error as ConfigError).variable).toBe('FLEECE_GITHUB_CLIENT_SECRET');
    }
  });

  it('needs a sender for Resend', () => {
    expect(() => loadConfig({ ...base, RESEND_API_KEY: 're_x' })).toThrow(/FLEECE_EMAIL_FROM/);
    expect(
      loadConfig({ ...base, RESEND_API_KEY: 're_x', FLEECE_EMAIL_FROM: 'Fleece <a@b.test>' }).email,
    ).toEqual({
      resendApiKey: 're_x',
      from: 'Fleece <a@b.test>',
    });
  });

  it('refuses a bad tenant and a bad admin list', () => {
    expect(() => loadConfig({ ...base, FLEECE_ENTRA_TENANT: 'a/b' })).toThrow(/FLEECE_ENTRA_TENANT/);
    expect(() => loadConfig({ ...base, FLEECE_ADMIN_EMAILS: 'not-an-email' })).toThrow(/FLEECE_ADMIN_EMAILS/);
  });
});
