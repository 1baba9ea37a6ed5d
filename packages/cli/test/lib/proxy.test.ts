import { describe, expect, it } from 'vitest';
import { bypassesProxy, proxySettings, redactProxy } from '../../src/lib/proxy.js';

describe('NO_PROXY matching', () => {
  it.each([
    ['https://api.example.com', 'example.com', true],
    ['https://api.example.com', '.example.com', true],
    ['https://api.example.com', '*.example.com', true],
    ['https://example.com', 'example.com', true],
    ['https://badexample.com', 'example.com', false],
    ['http://127.0.0.1:3000', 'localhost, 127.0.0.1', true],
    ['http://127.0.0.1:3000', '127.0.0.1:4000', false],
    ['http://127.0.0.1:3000', '127.0.0.1:3000', true],
    ['https://fleece.example.com', '*', true],
    ['http://[::1]:3000', '::1', false],
    ['http://[::1]:3000', '[::1]', true],
    ['https://fleece.example.com', '', false],
  ])('%s against NO_PROXY=%j: %s', (url, noProxy, expected) => {
    expect(bypassesProxy(new URL(url), noProxy)).toBe(expected);
  });

  it('prefers the lower-case variables, as curl and undici do, and ignores blank ones', () => {
    expect(
      proxySettings({
        env: { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1', HTTP_PROXY: ' ', no_proxy: '' },
      }),
    ).toEqual({
      httpsProxy: { name: 'https_proxy', value: 'http://lower:1' },
      httpProxy: undefined,
      noProxy: undefined,
    });
  });

  it('hides proxy credentials', () => {
    expect(redactProxy('http://user:pa55@proxy:3128')).toBe('http://***@proxy:3128');
    expect(redactProxy('http://proxy:3128/')).toBe('http://proxy:3128');
  });
});
