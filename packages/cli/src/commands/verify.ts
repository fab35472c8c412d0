import type { KeyObject } from 'node:crypto';
import {
  CustodyError,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerProblem,
  verifyLedger,
} from '@custody/core';
import { OPERATOR_RECORD_TYPES } from '@custody/core/ledger';
import { readAnchor } from '../anchor-file.js';
import { readTrustedKeys, resolveKeyIds, type TrustedKeyFlag } from '../checkpoint-keys.js';
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

Checks every event's hash, payload commitment and link to the one before, every stored
checkpoint (root and count, and with --key its signature) and every operator record (a
ledger.pruned or ledger.redacted event must sit where the API writes it and name the exact head or
payload it removed; with keys, be signed by one). Prints counts, how many events no checkpoint
covers, and the first problem. Exit 0 when everything verifies, 1 on a problem, 2 on a usage error.

Options:
  --key <keyId>=<public.pem>  trust this public key for checkpoint signatures and operator records
                              (repeatable). With any --key, at least one checkpoint must exist and
                              each, and each operator record, must be validly signed
  --key <public.pem>          the same, with the key id from --key-id, or from the checkpoints when
                              they are all signed with one key
  --key-id <keyId>            the key id of a bare --key path
  --operator-key <keyId>=<public.pem>
                              also trust this key for operator records only (repeatable; a bare path
                              takes the key id of the records when they are all signed with one)
  --anchor <file|folder>      also verify against every checkpoint kept there (written by custody
                              checkpoint --anchor; repeatable): a ledger behind it (restored from an
                              older copy) or rewritten since fails
  --require-covered           fail when some event is covered by no checkpoint
  --run <runId>               verify one run: its chain, and its head against every checkpoint
  --schema <name>             PostgreSQL schema holding the tables (default custody)
  --json                      print the result as JSON
  -h, --help                  show this help

${STORE_HELP},
or a JSONL export written by custody export (checked offline, with the checkpoints it carries).

Examples:
  custody verify ./.custody/ledger.db
  custody verify postgres://auditor@db:5432/app --key ledger-2026-11=keys/public.pem
  custody verify ./.custody/ledger.db --key keys/public.pem --anchor /mnt/worm/custody-anchor/ --require-covered
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

/** The keys `--key` and `--operator-key` name, resolved against what was signed. */
interface TrustedKeys {
  readonly keys: Record<string, KeyObject> | undefined;
  readonly operatorKeys: Record<string, KeyObject> | undefined;
}

/**
 * `custody verify`: verifies a store or an export and reports counts and the first problem.
 * Resolves to 0 when everything verifies, 1 on a problem.
 */
export async function verifyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    key: { type: 'string', multiple: true },
    'key-id': { type: 'string' },
    'operator-key': { type: 'string', multiple: true },
    anchor: { type: 'string', multiple: true },
    'require-covered': { type: 'boolean' },
    run: { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg] = expectPositionals(positionals, ['store']);
  if (values.run !== undefined && values.run.trim() === '') throw new UsageError('--run needs a run id');
  const target = parseStoreArg(storeArg, { schema: values.schema });
  const warn = (message: string) => writeLine(io.stderr, `warning: ${message}`);
  const keyFlags = readTrustedKeys(values.key ?? [], values['key-id'], warn);
  const operatorKeyFlags = readTrustedKeys(values['operator-key'] ?? [], undefined, warn, '--operator-key');
  const anchors = (values.anchor ?? []).map((arg) => {
    if (arg.trim() === '')
      throw new UsageError('--anchor needs the file or folder custody checkpoint --anchor wrote');
    return readAnchor(arg);
  });
  const anchorCheckpoints = anchors.flatMap((anchor) => anchor.checkpoints);
  const requireCovered = values['require-covered'] === true;
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
  const signedKeyIds = [
    ...new Set(
      [...checkpoints, ...anchorCheckpoints].flatMap((checkpoint) => checkpoint.signature?.keyId ?? []),
    ),
  ];
  const { keys, operatorKeys } = trustedKeys(keyFlags, operatorKeyFlags, signedKeyIds, events);
  const result = verifyLedger(events, {
    checkpoints,
    ...(anchorCheckpoints.length > 0 ? { anchorCheckpoints } : {}),
    ...(keys ? { keys } : {}),
    ...(operatorKeys ? { operatorKeys } : {}),
    ...(requireCovered ? { requireCovered } : {}),
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
  const operatorRecords = events.filter((event) => OPERATOR_RECORD_TYPES.includes(event.type)).length;
  const counts = {
    events: events.length,
    streams: new Set(events.map((event) => event.stream)).size,
    checkpoints: checkpoints.length,
    signedCheckpoints: signed,
    anchorCheckpoints: anchorCheckpoints.length,
    verifiedSignatures: result.ok ? result.signedCheckpoints : 0,
    redactions: events.filter((event) => event.payload === null).length,
    operatorRecords,
    signedOperatorRecords: result.ok ? result.signedOperatorRecords : 0,
    uncovered: result.uncovered,
  };
  if (!keys && signed > 0) {
    notes.push(
      `${plural(signed, 'checkpoint is', 'checkpoints are')} signed (key ${signedKeyIds.join(', ')}) but no --key was given, so no signature was checked`,
    );
  }
  if (!operatorKeys && operatorRecords > 0) {
    notes.push(
      `${plural(operatorRecords, 'operator record')} (ledger.pruned, ledger.redacted) ${operatorRecords === 1 ? 'explains' : 'explain'} deletions or erasures, but without --key or --operator-key no signature was checked: anyone who can write to the store could have added ${operatorRecords === 1 ? 'it' : 'them'}`,
    );
  }
  if (checkpoints.length === 0 && anchorCheckpoints.length === 0 && !keys) {
    notes.push(
      'no checkpoint: a truncated tail or a deleted run would go unnoticed; store one with custody checkpoint',
    );
  }
  if (!requireCovered && counts.uncovered.events > 0 && counts.events > 0) {
    notes.push(
      `${plural(counts.uncovered.events, 'event')} in ${plural(counts.uncovered.streams, 'stream')} ${counts.uncovered.events === 1 ? 'is' : 'are'} covered by no checkpoint: a cut or a forgery among them goes unnoticed until one is; pass --require-covered to fail on them`,
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
          anchors: anchors.map((anchor) => ({
            path: anchor.target.label,
            kind: anchor.target.kind,
            checkpoints: anchor.checkpoints.length,
          })),
          trustedKeyIds: keys ? Object.keys(keys) : [],
          trustedOperatorKeyIds: operatorKeys ? Object.keys(operatorKeys) : [],
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
      ...anchors.map(
        (anchor) =>
          ['anchor', `${anchor.target.label}: ${plural(anchor.checkpoints.length, 'checkpoint')}`] as const,
      ),
      ['uncovered', describeUncovered(counts.uncovered)],
      ['redactions', String(counts.redactions)],
      ...(operatorRecords > 0
        ? [
            [
              'operator records',
              describeOperatorRecords(counts, operatorKeys !== undefined, result.ok),
            ] as const,
          ]
        : []),
    ]),
  );
  for (const note of notes) writeLine(io.stdout, `note: ${note}`);
  if (problem) {
    writeProblem(io, problem);
    return ExitCode.failed;
  }
  writeLine(io.stdout, okMessage(counts, keys !== undefined));
  return ExitCode.ok;
}

/**
 * Resolves `--key` (checkpoints, and operator records too) and `--operator-key` (operator records
 * only) to key ids; a bare path takes the one key id of what was signed.
 */
function trustedKeys(
  keyFlags: readonly TrustedKeyFlag[],
  operatorKeyFlags: readonly TrustedKeyFlag[],
  signedKeyIds: readonly string[],
  events: readonly LedgerEvent[],
): TrustedKeys {
  const keys = keyFlags.length > 0 ? resolveKeyIds(keyFlags, signedKeyIds) : undefined;
  if (operatorKeyFlags.length === 0) return { keys, operatorKeys: keys };
  const recordKeyIds = [
    ...new Set(
      events.flatMap((event) => {
        if (!OPERATOR_RECORD_TYPES.includes(event.type)) return [];
        const keyId = (event.payload as { authority?: { keyId?: unknown } } | null)?.authority?.keyId;
        return typeof keyId === 'string' ? [keyId] : [];
      }),
    ),
  ];
  const operatorOnly = resolveKeyIds(operatorKeyFlags, recordKeyIds, 'operator records', '--operator-key');
  for (const keyId of Object.keys(operatorOnly)) {
    if (keys && Object.hasOwn(keys, keyId)) {
      throw new UsageError(
        `key id ${keyId} is given with both --key and --operator-key; a --key is already trusted for operator records`,
      );
    }
  }
  return { keys, operatorKeys: { ...keys, ...operatorOnly } };
}

function describeUncovered(uncovered: { events: number; streams: number }): string {
  if (uncovered.events === 0) return '0 (every event is covered by a checkpoint)';
  return `${plural(uncovered.events, 'event')} in ${plural(uncovered.streams, 'stream')} covered by no checkpoint`;
}

function describeOperatorRecords(
  counts: { operatorRecords: number; signedOperatorRecords: number },
  keysGiven: boolean,
  ok: boolean,
): string {
  if (!keysGiven) return `${counts.operatorRecords} (signatures not checked)`;
  return ok
    ? `${counts.operatorRecords} (signatures verified)`
    : `${counts.operatorRecords} (not all verified)`;
}

function okMessage(
  counts: {
    verifiedSignatures: number;
    checkpoints: number;
    anchorCheckpoints: number;
    signedOperatorRecords: number;
  },
  keysGiven: boolean,
): string {
  const anchored =
    counts.anchorCheckpoints > 0
      ? `, and the ledger is not behind ${plural(counts.anchorCheckpoints, 'anchor checkpoint')} kept outside it`
      : '';
  const operators =
    counts.signedOperatorRecords > 0
      ? `; ${plural(counts.signedOperatorRecords, 'operator record')} signed by a trusted key`
      : '';
  if (keysGiven) {
    return `OK: every event and link verifies, and ${plural(counts.verifiedSignatures, 'checkpoint')} signed by a trusted key ${counts.verifiedSignatures === 1 ? 'vouches' : 'vouch'} that nothing it covers was cut or rewritten${anchored}${operators}`;
  }
  const matched = counts.checkpoints + counts.anchorCheckpoints;
  return matched > 0
    ? `OK: every event and link verifies and matches ${plural(matched, 'checkpoint')}${anchored}${operators}`
    : `OK: every event and link verifies${operators}`;
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
  if ('checkpoint' in problem && problem.checkpoint !== undefined) {
    const { anchor, index, createdAt } = problem.checkpoint;
    fields.push([
      'checkpoint',
      `${anchor ? 'anchor checkpoint' : 'stored checkpoint'} ${index} (${createdAt})`,
    ]);
  }
  fields.push(['message', problem.message]);
  writeLine(io.stdout, formatFields(fields));
}
