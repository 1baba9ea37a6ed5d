import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import {
  EXPORT_FORMATS,
  EXPORT_ZIP_ENTRY,
  type ExportFormat,
  ExportVerificationError,
  ExportVerifier,
  type VerifiedExport,
} from '@fleece/sdk';
import { CliError, ValidationError } from '../../lib/errors.js';
import { PRIVATE_FILE_MODE } from '../../lib/fs.js';
import type { Invocation } from '../../lib/invocation.js';
import { ApiSession } from '../../lib/session.js';
import { messages } from '../../messages.js';
import type { ExportOptions } from './index.js';

/** How often the progress line is redrawn, in ms. */
const PROGRESS_INTERVAL_MS = 100;

/** `20261129-140501`: the local-independent UTC time in default file names. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** `12.3 MiB`, `512 B`: bytes for people (binary units). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Reads the NDJSON entry of a zip export through the verifier. */
async function verifyZip(path: string): Promise<VerifiedExport> {
  const { default: yauzl } = await import('yauzl');
  return new Promise<VerifiedExport>((done, fail) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error)
        return fail(new ExportVerificationError(`The export is not a readable zip: ${error.message}.`));
      let found = false;
      zip.on('error', fail);
      zip.on('entry', (entry: { fileName: string }) => {
        if (entry.fileName !== EXPORT_ZIP_ENTRY) return zip.readEntry();
        found = true;
        zip.openReadStream(entry as never, (err, stream) => {
          if (err) return fail(err);
          const verifier = new ExportVerifier();
          stream.on('data', (chunk: Buffer) => {
            try {
              verifier.update(chunk);
            } catch (e) {
              stream.destroy();
              fail(e);
            }
          });
          stream.on('error', fail);
          stream.on('end', () => {
            try {
              done(verifier.finish());
            } catch (e) {
              fail(e);
            } finally {
              zip.close();
            }
          });
        });
      });
      zip.on('end', () => {
        if (!found) fail(new ExportVerificationError(`The zip export has no ${EXPORT_ZIP_ENTRY} in it.`));
      });
      zip.readEntry();
    });
  });
}

/** The file extensions that name a format, so `-o x.zip` means a zip and `-o x.ndjson` NDJSON. */
const FORMAT_OF_EXTENSION: Record<string, ExportFormat> = {
  '.zip': 'zip',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
};

/**
 * The export format: `--format` when given (exit 2 when it is unknown, or contradicts the extension of
 * `-o`, as in `-o x.ndjson --format zip`); else the one the extension of `-o` names (`.zip`, `.ndjson`,
 * `.jsonl`); else NDJSON.
 */
export function exportFormat(options: ExportOptions): ExportFormat {
  const implied = options.output ? FORMAT_OF_EXTENSION[extname(options.output).toLowerCase()] : undefined;
  const given = options.format;
  if (given === undefined) return implied ?? 'ndjson';
  if (!EXPORT_FORMATS.includes(given as ExportFormat)) {
    throw new ValidationError(messages.exportBadFormat(given), { hint: messages.exportBadFormatHint });
  }
  if (implied !== undefined && implied !== given) {
    throw new ValidationError(messages.exportFormatContradicts(options.output!, given), {
      hint: messages.exportFormatContradictsHint(given),
    });
  }
  return given as ExportFormat;
}

/**
 * `cannot write to <path>: <reason>` for a file-system error, with what to do: exit 2 before anything was
 * requested (a bad `-o`), exit 1 when writing failed midway (a full disk).
 */
function cannotWrite(path: string, error: unknown, midway = false): CliError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such directory'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOTDIR'
          ? 'not a directory'
          : code === 'ENOSPC'
            ? 'no space left on the device'
            : code === 'EROFS'
              ? 'read-only file system'
              : ((error as Error).message ?? String(error));
  const options = { hint: messages.exportCannotWriteHint, cause: error };
  return midway
    ? new CliError(messages.exportCannotWrite(path, reason), options)
    : new ValidationError(messages.exportCannotWrite(path, reason), options);
}

/** Fails (exit 2, nothing requested) unless `dir` is an existing directory this process may write in. */
async function checkWritableDirectory(dir: string): Promise<void> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw cannotWrite(dir, error);
  }
}

/**
 * The file an export is written to, as an absolute path: `-o` itself when it names a file; inside it,
 * under the default name `fleece-export-<UTC time>.<ndjson|zip>`, when it names an existing directory
 * or ends in a path separator (`-o backups/`); the default name in the current directory without `-o`.
 * Nothing is checked for writing here (see {@link checkWritableDirectory}).
 *
 * @param now - wall-clock ms since the epoch, for the default name.
 */
export async function exportTarget(
  output: string | undefined,
  format: ExportFormat,
  now: number,
): Promise<string> {
  const name = `fleece-export-${stamp(now)}.${format === 'zip' ? 'zip' : 'ndjson'}`;
  if (output === undefined) return resolve(name);
  if (/[\\/]$/.test(output)) return resolve(output, name);
  const isDirectory = await stat(output).then(
    (info) => info.isDirectory(),
    () => false,
  );
  return isDirectory ? resolve(output, name) : resolve(output);
}

/**
 * Runs `fleece export`: streams `GET /api/v1/export` into a temporary file beside the target (mode 0600),
 * verifies the trailer (NDJSON while it streams, a zip by reading its NDJSON entry afterwards), then renames
 * the file into place. Any failure or Ctrl+C deletes the temporary file: the target name never holds a
 * partial export.
 */
export async function run(inv: Invocation, options: ExportOptions): Promise<void> {
  const format = exportFormat(options);
  const target = await exportTarget(options.output, format, inv.ctx.now());
  if (!options.force) {
    const exists = await access(target).then(
      () => true,
      () => false,
    );
    if (exists) throw new ValidationError(messages.exportExists(target), { hint: messages.exportExistsHint });
  }
  await checkWritableDirectory(dirname(target));
  const session = await ApiSession.open(inv);
  const client = await session.client();

  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
  // Opened (and awaited) before the request, so a file that cannot be created fails here, as a message,
  // and the stream's errors are always listened to.
  let handle: FileHandle;
  try {
    handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    throw cannotWrite(dirname(target), error);
  }
  const file = handle.createWriteStream();
  let writeError: unknown;
  file.on('error', (error) => {
    writeError ??= error;
  });
  const spinner = await inv.out.spinner(messages.exportProgress(0, format === 'ndjson' ? 0 : undefined));
  let drawn = 0;
  try {
    const started = performance.now();
    const result = await client.export.download(file, {
      format,
      signal: inv.ctx.signal,
      onProgress: ({ bytes, records }) => {
        const now = performance.now();
        if (now - drawn < PROGRESS_INTERVAL_MS) return;
        drawn = now;
        spinner.update(messages.exportProgress(bytes, records));
      },
    });
    const verified = result.trailer && result.header ? result : await verifyZip(temporary);
    await rename(temporary, target);
    spinner.stop();
    const trailer = verified.trailer!;
    inv.out.debug(
      `GET /api/v1/export → 200, ${result.bytes} bytes in ${Math.round(performance.now() - started)} ms (request id ${result.requestId})`,
    );
    if (options.json) {
      inv.out.json({
        path: target,
        format,
        bytes: result.bytes,
        records: trailer.records,
        counts: trailer.counts,
        sha256: trailer.sha256,
      });
    } else {
      inv.out.success(messages.exportDone(trailer.records, formatBytes(result.bytes), target));
      inv.out.info(messages.exportChecksum(trailer.sha256));
    }
  } catch (error) {
    spinner.stop();
    file.destroy();
    await unlink(temporary).catch(() => {});
    if (writeError !== undefined) throw cannotWrite(target, writeError, true);
    if (error instanceof ExportVerificationError) {
      throw new CliError(error.message, { hint: messages.exportVerifyHint, cause: error });
    }
    throw error;
  }
}
