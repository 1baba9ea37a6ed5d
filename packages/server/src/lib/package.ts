import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  // Sources live in src/**, the build in dist/: walk up to the package.json of @fleece/server.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === '@fleece/server')
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('Cannot find the @fleece/server package root');
    dir = parent;
  }
}

const root = findPackageRoot();

/** Absolute path of a file shipped with the @fleece/server package (migrations, web assets). */
export function packagePath(...segments: string[]): string {
  return path.join(root, ...segments);
}

/** The @fleece/server version from its package.json. */
export const VERSION: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
