import { createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CliIo, type CliOutput, ExitCode, writeLine } from '../cli-io.js';
import { plural } from '../format.js';
import { describeSource, withLedgerSource } from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags, requireFlag } from '../parse-flags.js';
import { createProgress } from '../progress.js';
import { FILTER_HELP, FILTER_OPTIONS, queryFromFlags } from '../query-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody export`. */
export const EXPORT_HELP = `Usage: custody export <store> -o <file> --requested-by <who> --reason <why> [options]

Writes the matching events to a file, as JSONL (canonical JSON, one event a line, then the stored
checkpoints: custody verify checks it offline) or CSV (for spreadsheets). The export itself is
first recorded in the ledger (ledger.exported, with who asked, why, and the filters).

Options:
  -o, --output <file>    the file to write (refused if it exists, unless --force)
  --format jsonl|csv     default: from the file's extension
  --requested-by <who>   who asked for the export, recorded (e.g. user:dpo@acme.com)
  --reason <why>         why, recorded (e.g. "audit request #2026-114")
  --run <runId>          only this run
${FILTER_HELP}
  --force                overwrite an existing file
  --schema <name>        PostgreSQL schema holding the tables (default custody)
  --json                 print the outcome as JSON
  -h, --help             show this help

Only exports of whole runs (no filter, --run or --tenant) verify as chains; the other filters
leave events out of runs.

${STORE_HELP}.

Examples:
  custody export ./.custody/ledger.db -o audit.jsonl --requested-by user:dpo@acme.com --reason "DSAR #77"
  custody export postgres://auditor@db:5432/app --format csv -o refunds.csv --tool stripe.refund \\
    --from 2026-11-01 --to 2026-12-01 --requested-by user:cfo --reason "November refunds review"`;

const FORMATS = ['jsonl', 'csv'] as const;

/** `custody export`: records the export in the ledger, then streams its lines to a file. */
export async function exportCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    output: { type: 'string', short: 'o' },
    format: { type: 'string' },
    'requested-by': { type: 'string' },
    reason: { type: 'string' },
    run: { type: 'string' },
    ...FILTER_OPTIONS,
    force: { type: 'boolean' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg] = expectPositionals(positionals, ['store']);
  const output = requireFlag(values.output, '-o <file>', 'the file to write the export to');
  const format = exportFormat(values.format, output);
  const requestedBy = requireFlag(
    values['requested-by'],
    '--requested-by <who>',
    'who asked for the export is recorded in the ledger (e.g. user:dpo@acme.com)',
  );
  const reason = requireFlag(
    values.reason,
    '--reason <why>',
    'why the export was made is recorded in the ledger',
  );
  const query = queryFromFlags(values);
  const target = parseStoreArg(storeArg, { schema: values.schema, writes: true });
  const path = resolve(output);
  checkOutput(output, path, values.force === true, target.kind === 'sqlite' ? target.path : undefined);

  const events = await withLedgerSource(target, async (source) => {
    if (source.kind !== 'store') throw new Error('unreachable: export needs a store');
    const result = await source.ledger.export({ format, query, requestedBy, reason });
    await writeExport(path, result.lines, result.events, io.stderr);
    return result.events;
  });

  if (values.json) {
    writeLine(io.stdout, JSON.stringify({ file: path, format, events, query, requestedBy, reason }, null, 2));
    return ExitCode.ok;
  }
  writeLine(
    io.stdout,
    `custody export: wrote ${plural(events, 'event')} from ${describeSource(target)} to ${output} (${format}); recorded as ledger.exported by ${requestedBy}`,
  );
  if (events === 0) writeLine(io.stderr, 'note: no event matched the filters');
  return ExitCode.ok;
}

function exportFormat(value: string | undefined, output: string): 'jsonl' | 'csv' {
  const format = value ?? extname(output).slice(1).toLowerCase();
  if ((FORMATS as readonly string[]).includes(format)) return format as 'jsonl' | 'csv';
  throw new UsageError(
    value === undefined
      ? `--format jsonl|csv is required: it cannot be told from the file name ${basename(output)}`
      : `--format must be jsonl or csv, got ${JSON.stringify(value)}`,
  );
}

function checkOutput(output: string, path: string, force: boolean, storePath: string | undefined): void {
  if (storePath !== undefined && resolve(storePath) === path) {
    throw new UsageError(`-o ${output} is the ledger itself; write the export to another file`);
  }
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UsageError(`the folder of -o ${output} (${folder}) does not exist; create it first`);
  }
  if (existsSync(path)) {
    if (!statSync(path).isFile()) throw new UsageError(`-o ${output} is not a file`);
    if (!force)
      throw new UsageError(`${output} already exists; choose another file or pass --force to replace it`);
  }
}

const CHUNK = 64 * 1024;

/**
 * Streams lines to a temporary file beside `path` and renames it into place once complete, so a
 * failed export never leaves a truncated file that looks whole.
 */
async function writeExport(
  path: string,
  lines: Iterable<string>,
  events: number,
  stderr: CliOutput,
): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  const progress = createProgress({ output: stderr, total: events, noun: 'events' });
  let written = 0;
  function* chunks(): Generator<string> {
    let buffer = '';
    for (const line of lines) {
      buffer += `${line}\n`;
      written++;
      if (buffer.length >= CHUNK) {
        yield buffer;
        buffer = '';
        // The first line is the JSONL header or the CSV column row; checkpoints may follow the events.
        progress.update(Math.min(Math.max(written - 1, 0), events));
      }
    }
    if (buffer !== '') yield buffer;
  }
  try {
    await pipeline(Readable.from(chunks()), createWriteStream(partial, { flags: 'wx' }));
    progress.update(events);
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    progress.finish();
  }
}
