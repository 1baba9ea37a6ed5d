import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
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

/**
 * Runs `fleece export`: streams `GET /api/v1/export` into a temporary file beside the target (mode 0600),
 * verifies the trailer (NDJSON while it streams, a zip by reading its NDJSON entry afterwards), then renames
 * the file into place. Any failure or Ctrl+C deletes the temporary file: the target name never holds a
 * partial export.
 */
export async function run(inv: Invocation, options: ExportOptions): Promise<void> {
  const format = options.format ?? 'ndjson';
  if (!EXPORT_FORMATS.includes(format as ExportFormat)) {
    throw new ValidationError(messages.exportBadFormat(format), { hint: messages.exportBadFormatHint });
  }
  const extension = format === 'zip' ? 'zip' : 'ndjson';
  const target = resolve(options.output ?? `fleece-export-${stamp(inv.ctx.now())}.${extension}`);
  if (!options.force) {
    const exists = await access(target).then(
      () => true,
      () => false,
    );
    if (exists) throw new ValidationError(messages.exportExists(target), { hint: messages.exportExistsHint });
  }
  const session = await ApiSession.open(inv);
  const client = await session.client();

  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
  const spinner = await inv.out.spinner(messages.exportProgress(0, format === 'ndjson' ? 0 : undefined));
  let drawn = 0;
  try {
    const started = performance.now();
    const result = await client.export.download(
      createWriteStream(temporary, { flags: 'wx', mode: PRIVATE_FILE_MODE }),
      {
        format: format as ExportFormat,
        signal: inv.ctx.signal,
        onProgress: ({ bytes, records }) => {
          const now = performance.now();
          if (now - drawn < PROGRESS_INTERVAL_MS) return;
          drawn = now;
          spinner.update(messages.exportProgress(bytes, records));
        },
      },
    );
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
    await unlink(temporary).catch(() => {});
    if (error instanceof ExportVerificationError) {
      throw new CliError(error.message, { hint: messages.exportVerifyHint, cause: error });
    }
    throw error;
  }
}
