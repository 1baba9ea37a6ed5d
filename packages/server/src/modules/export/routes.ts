import { PassThrough, type Readable } from 'node:stream';
import { EXPORT_ZIP_ENTRY, ExportQuery, Problem } from '@fleece/sdk/contract';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import yazl from 'yazl';
import { z } from 'zod';
import { auditContext } from '../audit/context.js';

const security: Record<string, string[]>[] = [{ bearer: [] }, { session: [] }];

/** `20261129T140501Z`: a file-name-safe UTC timestamp. */
function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * Data export (issue 7): `GET /api/v1/export[?format=zip]`, scope `export`, limit `dataExport` (src/limits.ts). The body
 * streams as it is read (see {@link ExportService}); the response is `application/x-ndjson`, or
 * `application/zip` holding one file, `fleece-export.ndjson`, with the same bytes. A client that goes away
 * stops the export at its next write; one that stops reading for `FLEECE_EXPORT_STALL_TIMEOUT_MS` has it
 * aborted; at most `FLEECE_EXPORT_CONCURRENCY` run at once per instance (503 `export_busy` otherwise).
 * `HEAD /api/v1/export` answers 405 `method_not_allowed` with `Allow: GET`: it exports nothing.
 */
export const exportRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/api/v1/export',
    {
      // No automatic HEAD: it would run the whole export (and record it) only to drop the body. HEAD
      // answers 405 with `Allow: GET` instead (the not-found handler of src/plugins/errors.ts).
      exposeHeadRoute: false,
      preParsing: app.requireAuth,
      config: { limit: 'dataExport', scope: 'export' },
      schema: {
        tags: ['account'],
        summary:
          'Export everything you own: NDJSON (header, one record per line, trailer with counts and SHA-256), or a zip of it',
        security,
        querystring: ExportQuery,
        response: {
          200: z
            .unknown()
            .describe(
              'application/x-ndjson (or application/zip with ?format=zip); see docs/api.md "Data export"',
            ),
          400: Problem,
          401: Problem,
          403: Problem,
          429: Problem,
          503: Problem,
        },
      },
    },
    async (request, reply) => {
      // Refused before anything streams: 503 export_busy with Retry-After when this instance runs its
      // maximum of exports (each holds a database connection on PostgreSQL).
      app.exports.reserve();
      const userId = request.principal!.userId;
      const format = request.query.format ?? 'ndjson';
      const startedAt = app.clock.now();
      const res = reply.raw;
      const abort = new AbortController();
      const delivered = new Promise<boolean>((resolve) => {
        res.once('finish', () => resolve(true));
        res.once('close', () => {
          if (!res.writableFinished) abort.abort();
          resolve(res.writableFinished);
        });
      });
      // NDJSON stays text from JSON.stringify to the socket (no Buffer per line); the zip encoder takes bytes.
      const body =
        format === 'zip' ? new PassThrough() : new PassThrough({ decodeStrings: false, encoding: 'utf8' });
      let out: Readable = body;
      if (format === 'zip') {
        const zip = new yazl.ZipFile();
        zip.addReadStream(body, EXPORT_ZIP_ENTRY, { mtime: startedAt, mode: 0o100600 });
        zip.end();
        out = zip.outputStream as Readable;
        body.once('error', (error) => out.destroy(error));
        body.once('close', () => {
          if (!body.readableEnded) out.destroy();
        });
      }
      void app.exports.run(auditContext(request), userId, body, {
        format,
        signal: abort.signal,
        response: res,
        delivered,
      });
      return reply
        .header('content-type', format === 'zip' ? 'application/zip' : 'application/x-ndjson; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="fleece-export-${stamp(startedAt)}.${format === 'zip' ? 'zip' : 'ndjson'}"`,
        )
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .send(out);
    },
  );
};
