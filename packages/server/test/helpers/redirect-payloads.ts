import fc from 'fast-check';

/**
 * Pieces of open-redirect payloads (claim C7): slashes and backslashes, raw and percent-encoded (once and
 * twice), dot segments, tabs, newlines and other controls, schemes, user info, IPv6 literals, and unicode
 * look-alikes of `/` and `.` (fullwidth solidus U+FF0F, division slash U+2215, fraction slash U+2044,
 * ideographic full stop U+3002), NBSP and direction marks.
 */
export const DANGEROUS_PIECES = [
  '/',
  '//',
  '///',
  '\\',
  '/\\',
  '\\/',
  '\\\\',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '%252f',
  '%255c',
  '%25252f',
  '%2f%2f',
  '/%2f',
  '/%5c',
  '.',
  '..',
  './',
  '../',
  '/./',
  '/../',
  '%2e',
  '%2E',
  '%2e%2e',
  '%252e',
  '.%2e',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  ' ',
  '%09',
  '%0a',
  '%0D',
  '%00',
  '%1f',
  '%7f',
  '%20',
  '%2509',
  '@',
  '/@',
  '//user@',
  'user:pass@',
  'javascript:',
  'JaVaScRiPt:',
  'data:text/html,',
  'http:',
  'https:',
  'HTTP://',
  'vbscript:',
  '[::1]',
  '[2001:db8::1]',
  '[::ffff:127.0.0.1]',
  'evil.test',
  'evil.test:8080',
  '\uff0f',
  '\u2215',
  '\u2044',
  '\u3002',
  '\uff0e',
  '\u00a0',
  '\u200f',
  '\u202e',
  '\u200b',
  '\ufeff',
  '#',
  '?',
  ':',
  '%',
  '&',
  '=',
  ';',
] as const;

/** A safe path piece: lower-case letters, digits, `-` and `_`. */
export const safePiece = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);

/** A path made of safe pieces only, such as `/ab/c-1`: the rule must accept it unchanged. */
export const safePath = fc
  .array(safePiece, { minLength: 0, maxLength: 4 })
  .map((parts) => `/${parts.join('/')}`);

/**
 * A generated open-redirect payload: dangerous and safe pieces in any order, sometimes after a leading
 * `/` (the shape that passes a naive "starts with one slash" check).
 */
export const redirectPayload = fc
  .tuple(
    fc.constantFrom('', '/', '/', '//', '\\', '/.'),
    fc.array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...DANGEROUS_PIECES) },
        { weight: 1, arbitrary: safePiece },
      ),
      {
        minLength: 1,
        maxLength: 8,
      },
    ),
  )
  .map(([lead, pieces]) => `${lead}${pieces.join('')}`);

/** Payloads of the attack run (issue #16, defects 2 and 3) and classics, tried before the generated ones. */
export const KNOWN_PAYLOADS = [
  '/.//evil.test',
  '/x/..//evil.test',
  '/%2e//evil.test',
  '/././/evil.test',
  '/\\evil.test',
  '/\t/evil.test',
  '/%09/evil.test',
  '/%5Cevil.test',
  '//evil.test',
  '///evil.test',
  '/%2F%2Fevil.test',
  '/%252F%252Fevil.test',
  '/@evil.test',
  '//user@evil.test',
  'https://evil.test',
  'javascript:alert(1)',
  'data:text/html,x',
  '/\uff0f/evil.test',
  '/\u2215\u2215evil.test',
  '/\u00a0//evil.test',
  '/\u200f//evil.test',
  '/[::1]/x',
  '//[2001:db8::1]/',
  '/..',
  '/../..//evil.test',
  '/%2e%2e//evil.test',
  '/x/%2e%2e//evil.test',
] as const;

/** Whether `href`, resolved against `base` as a browser resolves a link or a `Location`, stays on `origin`. */
export function staysOn(origin: string, href: string, base: string = origin): boolean {
  try {
    return new URL(href, base).origin === origin;
  } catch {
    return false;
  }
}
