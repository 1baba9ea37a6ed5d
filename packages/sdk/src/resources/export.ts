import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ExportFormat, ExportHeader, ExportTrailer } from '../contract/export.js';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  FleeceError,
} from '../core/errors.js';
import type { RequestOptions } from '../core/request-options.js';
import { APIResource } from '../core/resource.js';
import { ExportVerifier } from '../lib/export-verifier.js';

/** Progress of a download, reported as bytes arrive. */
export interface ExportProgress {
  /** Bytes received so far (of the NDJSON, or of the zip archive with `format: 'zip'`). */
  bytes: number;
  /** Data records received so far (NDJSON only; `undefined` for zip, whose bytes are compressed). */
  records: number | undefined;
}

/** Options of {@link Export.download}. */
export interface ExportDownloadOptions extends RequestOptions {
  /** `ndjson` (default) or `zip` (a zip archive holding `fleece-export.ndjson`). */
  format?: ExportFormat;
  /** Called after each chunk with the running totals (bytes, and records for NDJSON). */
  onProgress?: (progress: ExportProgress) => void;
  /**
   * NDJSON only: check the trailer (counts, byte length, SHA-256 of the body) while downloading, and throw
   * {@link ExportVerificationError} when it does not match or is missing. Default `true`. (A zip is
   * verified by unzipping it and checking the NDJSON inside, as `fleece export` does.)
   */
  verify?: boolean;
  /** With a `Writable` destination: end it when the download completes (default `true`, as `pipeline`). */
  end?: boolean;
}

/** What {@link Export.download} wrote. */
export interface ExportDownload {
  format: ExportFormat;
  /** Bytes written to the destination. */
  bytes: number;
  /** The file written (the path given), or `undefined` for a `Writable` destination. */
  path: string | undefined;
  /** The export's header and verified trailer (NDJSON with `verify`), else `undefined`. */
  header: ExportHeader | undefined;
  trailer: ExportTrailer | undefined;
  /** The response's `X-Request-Id`. */
  requestId: string | undefined;
}

/** Counts bytes (and feeds the verifier), reports progress, and fails the stream after `idleMs` of silence. */
class Meter extends Transform {
  bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  constructor(
    private readonly verifier: ExportVerifier | undefined,
    private readonly onProgress: ((progress: ExportProgress) => void) | undefined,
    private readonly idleMs: number,
    private readonly requestId: string | undefined,
  ) {
    super();
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.destroy(
        new APIConnectionTimeoutError({
          message: `The export stalled: no bytes for ${this.idleMs} ms (request id ${this.requestId}).`,
          requestId: this.requestId,
        }),
      );
    }, this.idleMs);
    this.#timer.unref?.();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#arm();
    try {
      this.verifier?.update(chunk);
    } catch (error) {
      done(error as Error);
      return;
    }
    this.bytes += chunk.length;
    this.onProgress?.({ bytes: this.bytes, records: this.verifier?.records });
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    clearTimeout(this.#timer);
    done();
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    clearTimeout(this.#timer);
    done(error);
  }
}

/**
 * `GET /api/v1/export` (as `client.export`): everything your account owns, streamed as NDJSON (a header
 * line, one record per line with its `type`, a trailer with per-type counts and the SHA-256 of the body),
 * or as a zip archive of that file. Needs the `export` scope on an API key; the server allows 5 exports an
 * hour per user. See docs/api.md "Data export" for the format.
 */
export class Export extends APIResource {
  /**
   * Downloads an export into `destination`: a `Writable` (written with backpressure, ended at the end
   * unless `end: false`), or a file path, written atomically: to a temporary file in the same directory
   * (mode 0600), renamed over the path only once complete (and verified), deleted on any failure, so the
   * path never holds a partial export. NDJSON is verified against its trailer while it streams
   * (`verify: false` to skip). `onProgress` gets the running byte (and record) count. A stream that sends
   * nothing for `idleTimeout` ms (default the client's, 60 s) fails.
   *
   * @returns what was written, with the verified header and trailer for NDJSON.
   * @throws {ExportVerificationError} when the NDJSON is cut short or does not match its trailer.
   * @throws {RateLimitError} (429) after 5 exports within an hour (`retryAfter` says when to try again).
   * @throws {PermissionDeniedError} (403) `insufficient_scope` with an API key without the `export` scope.
   * @throws {APIConnectionTimeoutError} when the stream stalls; {@link APIConnectionError} when it breaks;
   *   {@link APIUserAbortError} when `signal` aborts.
   * @example
   * const result = await client.export.download('fleece-export.ndjson', {
   *   onProgress: ({ bytes, records }) => process.stderr.write(`\r${bytes} bytes, ${records} records`),
   * });
   * console.log(`${result.trailer?.records} records, SHA-256 ${result.trailer?.sha256}`);
   * @example
   * // Into any Writable, as a zip:
   * await client.export.download(createWriteStream('export.zip'), { format: 'zip' });
   */
  async download(
    destination: Writable | string,
    options: ExportDownloadOptions = {},
  ): Promise<ExportDownload> {
    const { format = 'ndjson', onProgress, verify = true, end = true, ...request } = options;
    const response = await this._client
      .get('/api/v1/export', {
        ...request,
        query: { format },
        headers: {
          accept: format === 'zip' ? 'application/zip' : 'application/x-ndjson',
          ...request.headers,
        },
      })
      .asResponse();
    const requestId = response.headers.get('x-request-id') ?? undefined;
    if (!response.body) throw new FleeceError(`The export answered with no body (request id ${requestId}).`);
    const verifier = format === 'ndjson' && verify ? new ExportVerifier() : undefined;
    const meter = new Meter(verifier, onProgress, request.idleTimeout ?? this._client.idleTimeout, requestId);
    const source = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
    const signal = request.signal;
    const fail = (error: unknown): never => {
      if (signal?.aborted) throw new APIUserAbortError({ requestId, cause: signal.reason });
      if (error instanceof FleeceError) throw error;
      throw new APIConnectionError({
        message: `The export download broke off: ${(error as Error).message} (request id ${requestId}).`,
        requestId,
        cause: error,
      });
    };

    if (typeof destination !== 'string') {
      try {
        await pipeline(source, meter, destination, { signal, end });
      } catch (error) {
        fail(error);
      }
      const verified = verifier?.finish();
      return { format, bytes: meter.bytes, path: undefined, ...verifiedParts(verified), requestId };
    }

    const temporary = join(
      dirname(destination),
      `.${basename(destination)}.${randomBytes(6).toString('hex')}.partial`,
    );
    try {
      try {
        await pipeline(source, meter, createWriteStream(temporary, { flags: 'wx', mode: 0o600 }), { signal });
      } catch (error) {
        fail(error);
      }
      const verified = verifier?.finish();
      await rename(temporary, destination);
      return { format, bytes: meter.bytes, path: destination, ...verifiedParts(verified), requestId };
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw error;
    }
  }
}

function verifiedParts(verified: ReturnType<ExportVerifier['finish']> | undefined) {
  return { header: verified?.header, trailer: verified?.trailer };
}
