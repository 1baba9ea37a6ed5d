import { createHash, type Hash } from 'node:crypto';
import {
  EXPORT_RECORD_TYPES,
  ExportHeader,
  type ExportRecordType,
  ExportTrailer,
} from '../contract/export.js';
import { FleeceError } from '../core/errors.js';

/** Thrown when an export is incomplete (no trailer) or its body does not match the trailer's checksum. */
export class ExportVerificationError extends FleeceError {
  override name = 'ExportVerificationError';
}

/** What {@link ExportVerifier.finish} found: the header, the trailer, and the counts it checked. */
export interface VerifiedExport {
  header: ExportHeader;
  trailer: ExportTrailer;
}

/**
 * Checks an NDJSON export (docs/api.md "Data export") as its bytes go by, in constant memory: it hashes
 * every byte before the trailer line with SHA-256, counts the data records per type, and at the end
 * compares both with the trailer. Feed it the raw bytes in order with {@link update} (chunks may split
 * lines anywhere), then call {@link finish}.
 *
 * @example
 * const verifier = new ExportVerifier();
 * for await (const chunk of createReadStream('fleece-export.ndjson')) verifier.update(chunk);
 * const { trailer } = verifier.finish(); // throws ExportVerificationError on a mismatch
 * console.log(`${trailer.records} records, sha256 ${trailer.sha256}`);
 */
export class ExportVerifier {
  readonly #hash: Hash = createHash('sha256');
  /** The bytes of the line being read (not yet ended by LF). */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #bytes = 0;
  #header: ExportHeader | undefined;
  #trailer: ExportTrailer | undefined;
  #afterTrailer = false;
  readonly #counts = Object.fromEntries(EXPORT_RECORD_TYPES.map((t) => [t, 0])) as Record<
    ExportRecordType,
    number
  >;
  /** Data records seen so far (header and trailer not counted). */
  records = 0;

  /**
   * Takes the next bytes of the export.
   * @throws {ExportVerificationError} when a line is not JSON, the first line is not a header, or bytes
   *   follow the trailer.
   */
  update(chunk: Uint8Array): void {
    let start = 0;
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (;;) {
      const newline = buffer.indexOf(0x0a, start);
      if (newline === -1) {
        if (start < buffer.length) {
          this.#partial.push(buffer.subarray(start));
          this.#partialBytes += buffer.length - start;
        }
        return;
      }
      const piece = buffer.subarray(start, newline + 1);
      const line = this.#partial.length > 0 ? Buffer.concat([...this.#partial, piece]) : piece;
      this.#partial = [];
      this.#partialBytes = 0;
      this.#line(line);
      start = newline + 1;
    }
  }

  #line(line: Buffer): void {
    if (this.#afterTrailer) throw new ExportVerificationError('The export has data after its trailer line.');
    let value: { type?: unknown };
    try {
      value = JSON.parse(line.toString('utf8')) as { type?: unknown };
    } catch {
      throw new ExportVerificationError(`Line ${this.records + 2} of the export is not JSON.`);
    }
    if (!this.#header) {
      const header = ExportHeader.safeParse(value);
      if (!header.success) {
        throw new ExportVerificationError(
          'The export does not start with a header line (a format this version does not know?).',
        );
      }
      this.#header = header.data;
    } else if (value.type === 'trailer') {
      const trailer = ExportTrailer.safeParse(value);
      if (!trailer.success) throw new ExportVerificationError('The export has a malformed trailer line.');
      this.#trailer = trailer.data;
      this.#afterTrailer = true;
      return;
    } else {
      const type = value.type as ExportRecordType;
      if (type in this.#counts) this.#counts[type]++;
      this.records++;
    }
    this.#hash.update(line);
    this.#bytes += line.length;
  }

  /**
   * Ends the check.
   * @returns the header and the verified trailer.
   * @throws {ExportVerificationError} when the export has no trailer (it was cut short), or its byte count,
   *   per-type counts or SHA-256 differ from the trailer's.
   */
  finish(): VerifiedExport {
    if (this.#partialBytes > 0 && !this.#afterTrailer) {
      // A last line without LF: the trailer itself may lack one.
      const line = Buffer.concat(this.#partial);
      this.#partial = [];
      this.#partialBytes = 0;
      this.#line(line);
    }
    const header = this.#header;
    const trailer = this.#trailer;
    if (!header || !trailer) {
      throw new ExportVerificationError(
        'The export is incomplete: it has no trailer line (the download was cut short). Export again.',
      );
    }
    const sha256 = this.#hash.digest('hex');
    if (trailer.bytes !== this.#bytes || trailer.sha256 !== sha256) {
      throw new ExportVerificationError(
        `The export does not match its checksum: the trailer says ${trailer.bytes} bytes with SHA-256 ${trailer.sha256}, the body has ${this.#bytes} bytes with SHA-256 ${sha256}. Export again.`,
      );
    }
    for (const type of EXPORT_RECORD_TYPES) {
      if ((trailer.counts[type] ?? 0) !== this.#counts[type]) {
        throw new ExportVerificationError(
          `The export's trailer counts ${trailer.counts[type] ?? 0} ${type} records, the body has ${this.#counts[type]}.`,
        );
      }
    }
    return { header, trailer };
  }
}
