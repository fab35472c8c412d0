import {
  CustodyError,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerProblem,
  verifyLedger,
} from '@custody/core';
import { readTrustedKeys, resolveKeyIds } from '../checkpoint-keys.js';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { formatFields, plural } from '../format.js';
import {
  describeSource,
  type LedgerSource,
  queryEvents,
  sourceCheckpoints,
  withLedgerSource,
} from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags } from '../parse-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody verify`. */
export const VERIFY_HELP = `Usage: custody verify <store | export.jsonl> [options]

Checks every event's hash, payload commitment and link to the one before, and every stored
checkpoint (root and count, and with --key its signature). Prints counts and the first problem.
Exit 0 when everything verifies, 1 on a problem, 2 on a usage error.

Options:
  --key <keyId>=<public.pem>  trust this public key for checkpoint signatures (repeatable). With any
                              --key, at least one checkpoint must exist and each must be validly signed
  --key <public.pem>          the same, with the key id from --key-id, or from the checkpoints when
                              they are all signed with one key
  --key-id <keyId>            the key id of a bare --key path
  --run <runId>               verify one run: its chain, and its head against every checkpoint
  --schema <name>             PostgreSQL schema holding the tables (default custody)
  --json                      print the result as JSON
  -h, --help                  show this help

${STORE_HELP},
or a JSONL export written by custody export (checked offline, with the checkpoints it carries).

Examples:
  custody verify ./.custody/ledger.db
  custody verify postgres://auditor@db:5432/app --key ledger-2026-11=keys/public.pem
  custody verify audit-2026-11.jsonl --key keys/public.pem --run run_01hx…`;

/** What was read to verify, and how much of it the checkpoints must account for. */
interface Evidence {
  readonly events: LedgerEvent[];
  readonly checkpoints: LedgerCheckpoint[];
  /** Only these streams' heads are compared with the checkpoints (a run, or a filtered export). */
  readonly streams: string[] | undefined;
  readonly notes: string[];
}

/**
 * A problem as reported: verification's; an export line that could not even be read (`MALFORMED`
 * with its line); or a `--run` with no events that no checkpoint knows either (`RUN_NOT_FOUND`).
 */
type ReportedProblem =
  | LedgerProblem
  | { code: 'MALFORMED'; kind: 'malformed'; line?: number; message: string }
  | { code: 'RUN_NOT_FOUND'; kind: 'unverifiable'; message: string };

/**
 * `custody verify`: verifies a store or an export and reports counts and the first problem.
 * Resolves to 0 when everything verifies, 1 on a problem.
 */
export async function verifyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    key: { type: 'string', multiple: true },
    'key-id': { type: 'string' },
    run: { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg] = expectPositionals(positionals, ['store']);
  if (values.run !== undefined && values.run.trim() === '') throw new UsageError('--run needs a run id');
  const target = parseStoreArg(storeArg, { schema: values.schema });
  const keyFlags = readTrustedKeys(values.key ?? [], values['key-id'], (message) =>
    writeLine(io.stderr, `warning: ${message}`),
  );
  const source = describeSource(target);

  let evidence: Evidence;
  try {
    evidence = await withLedgerSource(target, (opened) => gatherEvidence(opened, values.run));
  } catch (error) {
    const problem = target.kind === 'jsonl' ? unreadableExport(error) : undefined;
    if (!problem) throw error;
    if (values.json) {
      const report = { ok: false, source: { kind: target.kind, label: target.label }, problem };
      writeLine(io.stdout, JSON.stringify(report, null, 2));
    } else {
      writeLine(io.stdout, `custody verify: ${source}`);
      writeProblem(io, problem);
    }
    return ExitCode.failed;
  }

  const { events, checkpoints, streams, notes } = evidence;
  const signedKeyIds = [...new Set(checkpoints.flatMap((checkpoint) => checkpoint.signature?.keyId ?? []))];
  const keys = keyFlags.length > 0 ? resolveKeyIds(keyFlags, signedKeyIds) : undefined;
  const result = verifyLedger(events, {
    checkpoints,
    ...(keys ? { keys } : {}),
    ...(streams ? { streams } : {}),
  });
  let problem: ReportedProblem | undefined = result.ok ? undefined : result.problem;
  if (!problem && values.run !== undefined && events.length === 0) {
    problem = {
      code: 'RUN_NOT_FOUND',
      kind: 'unverifiable',
      message: `there are no events of run ${values.run}: check the run id (custody runs lists them)`,
    };
  }
  const signed = checkpoints.filter((checkpoint) => checkpoint.signature !== undefined).length;
  const counts = {
    events: events.length,
    streams: new Set(events.map((event) => event.stream)).size,
    checkpoints: checkpoints.length,
    signedCheckpoints: signed,
    verifiedSignatures: result.ok ? result.signedCheckpoints : 0,
    redactions: events.filter((event) => event.payload === null).length,
  };
  if (!keys && signed > 0) {
    notes.push(
      `${plural(signed, 'checkpoint is', 'checkpoints are')} signed (key ${signedKeyIds.join(', ')}) but no --key was given, so no signature was checked`,
    );
  }
  if (checkpoints.length === 0 && !keys) {
    notes.push(
      'no checkpoint: a truncated tail or a deleted run would go unnoticed; store one with custody checkpoint',
    );
  }

  if (values.json) {
    writeLine(
      io.stdout,
      JSON.stringify(
        {
          ok: problem === undefined,
          source: { kind: target.kind, label: target.label },
          ...(values.run !== undefined ? { runId: values.run } : {}),
          ...counts,
          trustedKeyIds: keys ? Object.keys(keys) : [],
          ...(problem ? { problem } : {}),
          notes,
        },
        null,
        2,
      ),
    );
    return problem ? ExitCode.failed : ExitCode.ok;
  }

  const latest = checkpoints.reduce<LedgerCheckpoint | undefined>(
    (newest, checkpoint) => (!newest || checkpoint.createdAt > newest.createdAt ? checkpoint : newest),
    undefined,
  );
  writeLine(io.stdout, `custody verify: ${source}${values.run !== undefined ? `, run ${values.run}` : ''}`);
  const checkpointDetail =
    checkpoints.length === 0
      ? ''
      : signed === 0
        ? ' (unsigned)'
        : ` (${signed} signed with ${signedKeyIds.join(', ')}; ${
            !keys ? 'signatures not checked' : result.ok ? 'signatures verified' : 'not all verified'
          })`;
  writeLine(
    io.stdout,
    formatFields([
      ['events', String(counts.events)],
      ['streams', String(counts.streams)],
      ['checkpoints', `${counts.checkpoints}${checkpointDetail}`],
      ...(latest
        ? [['latest', `${latest.createdAt}, covering ${plural(latest.count, 'event')}`] as const]
        : []),
      ['redactions', String(counts.redactions)],
    ]),
  );
  for (const note of notes) writeLine(io.stdout, `note: ${note}`);
  if (problem) {
    writeProblem(io, problem);
    return ExitCode.failed;
  }
  writeLine(
    io.stdout,
    keys
      ? `OK: every event and link verifies, and ${plural(counts.verifiedSignatures, 'checkpoint')} signed by a trusted key ${counts.verifiedSignatures === 1 ? 'vouches' : 'vouch'} that nothing it covers was cut or rewritten`
      : checkpoints.length > 0
        ? `OK: every event and link verifies and matches ${plural(checkpoints.length, 'checkpoint')}`
        : 'OK: every event and link verifies',
  );
  return ExitCode.ok;
}

async function gatherEvidence(source: LedgerSource, runId: string | undefined): Promise<Evidence> {
  const checkpoints = await sourceCheckpoints(source);
  if (runId !== undefined) {
    return { events: await queryEvents(source, { runId }), checkpoints, streams: [runId], notes: [] };
  }
  if (source.kind === 'store') {
    return { events: await queryEvents(source), checkpoints, streams: undefined, notes: [] };
  }
  // An export holds what its query matched; the checkpoints it carries cover the whole ledger.
  const { header, events } = source.parsed;
  const notes: string[] = [];
  if (!header) notes.push('the file has no export header line, so how it was filtered is unknown');
  const query = (header?.query ?? {}) as Record<string, unknown>;
  const present = [...new Set(events.map((event) => event.stream))];
  const partial = Object.keys(query).filter(
    (key) => !['runId', 'stream', 'tenant', 'limit', 'cursor'].includes(key),
  );
  if (partial.length > 0) {
    notes.push(
      `the export was filtered by ${partial.join(', ')}, which leaves out events inside runs, so its chains cannot verify; export whole runs (at most --run or --tenant) for a verifiable file`,
    );
    return { events, checkpoints, streams: present, notes };
  }
  const only =
    typeof query.runId === 'string'
      ? query.runId
      : typeof query.stream === 'string'
        ? query.stream
        : undefined;
  if (only !== undefined) return { events, checkpoints, streams: [only], notes };
  if (typeof query.tenant === 'string') {
    notes.push(
      `the export holds tenant ${query.tenant} only: its streams are checked against the checkpoints, but a whole run deleted before the export would not be noticed`,
    );
    return { events, checkpoints, streams: present, notes };
  }
  return { events, checkpoints, streams: undefined, notes };
}

/**
 * An export edited by hand usually fails at parsing, before verification starts: report it as a
 * problem of the file, with its line, rather than as an error of the command.
 */
function unreadableExport(error: unknown): ReportedProblem | undefined {
  if (!CustodyError.isInstance(error) || error.code !== 'CUSTODY_INVALID_ARGUMENT') return undefined;
  const message = error.message.replace(/^\[custody\] /, '');
  const line =
    typeof error.details.line === 'number'
      ? error.details.line
      : Number(/^export line (\d+)/.exec(message)?.[1]);
  return { code: 'MALFORMED', kind: 'malformed', ...(Number.isSafeInteger(line) ? { line } : {}), message };
}

function writeProblem(io: CliIo, problem: ReportedProblem): void {
  writeLine(io.stdout, `FAILED: ${problem.code} (${problem.kind})`);
  const fields: [string, string][] = [];
  if ('eventId' in problem && problem.eventId !== undefined) {
    fields.push([
      'event',
      `${problem.eventId} (stream ${problem.stream}, seq ${problem.seq}, index ${problem.index})`,
    ]);
  } else if ('index' in problem) {
    fields.push(['index', String(problem.index)]);
  } else if ('line' in problem && problem.line !== undefined) {
    fields.push(['line', String(problem.line)]);
  }
  fields.push(['message', problem.message]);
  writeLine(io.stdout, formatFields(fields));
}
