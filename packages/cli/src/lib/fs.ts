import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Mode of directories holding credentials: owner only (`rwx------`). */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of files holding credentials: owner read/write only (`rw-------`). */
export const PRIVATE_FILE_MODE = 0o600;

const posix = process.platform !== 'win32';

/**
 * Creates `dir` (and its parents) with mode 0700, and tightens it to 0700 if it already exists with
 * more access. POSIX modes are skipped on Windows, where ACLs of the profile folder apply.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (!posix) return;
  const info = await stat(dir);
  if ((info.mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(dir, PRIVATE_DIR_MODE);
}

/**
 * Writes `data` to `path` atomically: to a temporary file beside it (created with `mode`, flushed to
 * disk), then renamed over `path`, so a reader sees the old or the new content and never half a file,
 * even if the process dies midway. The parent directory is created with mode 0700.
 */
export async function writeFileAtomic(path: string, data: string, mode = PRIVATE_FILE_MODE): Promise<void> {
  await ensurePrivateDir(dirname(path));
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data, 'utf8');
    if (posix) await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The POSIX permission bits of `path` (such as 0o600), or `undefined` when it does not exist. */
export async function fileMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
