import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const BASE = { NODE_ENV: 'test', FLEECE_DATA_DIR: 'memory://' };
const STRIPE = {
  STRIPE_SECRET_KEY: 'sk_test_abc123',
  STRIPE_WEBHOOK_SECRET: 'whsec_abc123',
  STRIPE_PRICE_PRO: 'price_pro1',
  STRIPE_PRICE_BUSINESS: 'price_business1',
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('billing configuration (STRIPE_*)', () => {
  it('is off without any Stripe variable', () => {
    expect(loadConfig(BASE).billing).toBeUndefined();
  });

  it('is on with all four, with return URLs derived from the public URL', () => {
    const config = loadConfig({ ...BASE, ...STRIPE, FLEECE_PUBLIC_URL: 'https://fleece.example.com/' });
    expect(config.billing).toEqual({
      secretKey: 'sk_test_abc123',
      webhookSecret: 'whsec_abc123',
      prices: { pro: 'price_pro1', business: 'price_business1' },
      successUrl:
        'https://fleece.example.com/settings?checkout=success&session_id={CHECKOUT_SESSION_ID}#billing',
      cancelUrl: 'https://fleece.example.com/settings?checkout=cancelled#billing',
      portalReturnUrl: 'https://fleece.example.com/settings#billing',
    });
  });

  it('is all or nothing: a missing one is named, in one line', () => {
    for (const missing of Object.keys(STRIPE)) {
      const env: Record<string, string> = { ...STRIPE };
      delete env[missing];
      const error = refusal(env);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.variable).toBe(missing);
      expect(error.message).toBe(
        `Invalid environment variable ${missing}: Stripe billing needs STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_PRO and STRIPE_PRICE_BUSINESS together; set all four to enable billing, or none to leave it off (it is unset).`,
      );
    }
  });

  it('checks the shape of each value and never prints a secret', () => {
    const key = refusal({ ...STRIPE, STRIPE_SECRET_KEY: 'pk_test_publishable' });
    expect(key.variable).toBe('STRIPE_SECRET_KEY');
    expect(key.message).toMatch(/expected a Stripe secret or restricted key/);
    expect(key.message).toMatch(/value hidden/);
    expect(key.message).not.toMatch(/pk_test_publishable/);
    const hook = refusal({ ...STRIPE, STRIPE_WEBHOOK_SECRET: 'abc' });
    expect(hook.variable).toBe('STRIPE_WEBHOOK_SECRET');
    expect(hook.message).not.toMatch(/abc\b/);
    expect(refusal({ ...STRIPE, STRIPE_PRICE_PRO: 'prod_123' }).message).toMatch(
      /^Invalid environment variable STRIPE_PRICE_PRO: expected a Stripe price id \(price_…\) \(got "prod_123"\)\.$/,
    );
  });

  it('refuses one price for both plans (webhooks could not tell them apart)', () => {
    const error = refusal({ ...STRIPE, STRIPE_PRICE_BUSINESS: 'price_pro1' });
    expect(error.variable).toBe('STRIPE_PRICE_BUSINESS');
    expect(error.message).toMatch(/each plan needs its own Stripe price/);
  });
});
