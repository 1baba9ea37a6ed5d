import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Writes a throwaway self-signed certificate for 127.0.0.1 (P-256, valid one day, subjectAltName IP:127.0.0.1,
 * signed by no trusted CA) into `dir` with openssl, and returns the paths of its PEM files.
 */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
