import { type CommandModule, lazyAction, withExamples } from '../../lib/command.js';

/** Options of `fleece export`. */
export interface ExportOptions {
  output?: string;
  format?: string;
  force?: boolean;
  json?: boolean;
}

/** `fleece export`: download everything your account owns, verified, written atomically. */
const exportCommand: CommandModule = {
  register(parent, ctx) {
    const command = parent
      .command('export')
      .summary('download everything your account owns (NDJSON or zip), verified')
      .description(
        'Download everything your account owns: profile, sign-in identities, API key metadata, sessions, ' +
          'agents, flows, executions (input and output), conversations, consents and your audit log. The ' +
          'file is NDJSON (one JSON record per line, each with its "type"; a header line, and a trailer with ' +
          'per-type counts and the SHA-256 of the body), or a zip holding that file. It is written to a ' +
          'temporary file beside the target and renamed into place only once complete and its checksum ' +
          'verified, so an interrupted or corrupt export never leaves a partial file under the target name. ' +
          'The file is created with mode 0600: it holds your personal data. On a terminal a progress line ' +
          'shows bytes and records. The server allows 5 exports an hour; API keys need the `export` scope. ' +
          'The directory of -o (or -o itself when it is a directory) must exist and be writable: it is checked ' +
          'before anything is requested, so a wrong path never spends one of the 5 exports.',
      )
      .option(
        '-o, --output <file|dir>',
        'where to write it; a directory gets fleece-export-<time>.ndjson or .zip inside (default: that name here)',
      )
      .option(
        '--format <format>',
        'ndjson or zip (default: the extension of -o, .zip or .ndjson; else ndjson)',
      )
      .option('-f, --force', 'replace the output file if it exists')
      .option('--json', 'print { path, format, bytes, records, counts, sha256 } as JSON when done')
      .action(lazyAction<ExportOptions>(ctx, () => import('./run.js')));
    withExamples(command, [
      ['fleece export', 'fleece-export-<time>.ndjson in this directory'],
      ['fleece export -o backup.zip', 'a zip archive (the extension picks the format)'],
      ['fleece export -o backups/', 'backups/fleece-export-<time>.ndjson'],
      ['fleece export -o data.ndjson --force --json | jq .sha256', 'in a script'],
    ]);
  },
};

export default exportCommand;
