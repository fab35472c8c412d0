import { canonicalize } from './canonical-json.js';
import { envelopeJson, payloadCommitment } from './chain.js';
import { checkpointCount, checkpointMessage, checkpointRoot, type LedgerCheckpoint } from './checkpoint.js';
import { countUncovered } from './checkpoint-coverage.js';
import { type CheckpointKeys, verifyEd25519 } from './checkpoint-signer.js';
import { GENESIS_HASH, LEDGER_SCHEMA_VERSION, type LedgerEvent } from './event.js';
import { sha256Hex } from './hash.js';
import {
  type LedgerProblemCheckpoint,
  type LedgerProblemCode,
  type LedgerVerification,
  PROBLEM_KIND,
  type VerifyLedgerOptions,
} from './ledger-problem.js';
import { OperatorRecordVerifier } from './operator-record-verifier.js';

export type {
  LedgerProblem,
  LedgerProblemCheckpoint,
  LedgerProblemCode,
  LedgerProblemKind,
  LedgerVerification,
  VerifyLedgerOptions,
} from './ledger-problem.js';

interface StreamState {
  seq: number;
  hash: string;
  /** Hash of the event before the last one: tells an inserted event from an altered link. */
  previousHash: string;
}

/** A checkpoint to check, with how problems found against it name it. */
interface GivenCheckpoint {
  readonly checkpoint: LedgerCheckpoint;
  readonly ref: LedgerProblemCheckpoint;
  readonly label: string;
}

type Failure = (
  code: LedgerProblemCode,
  index: number,
  message: string,
  event?: LedgerEvent,
  checkpoint?: LedgerProblemCheckpoint,
) => LedgerVerification & { ok: false };

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verifies a sequence of events (one stream or many interleaved, each stream in seq order) and
 * reports the first problem: an altered envelope or payload, a deleted, reordered or inserted
 * event, an operator record without the authority it claims, or — given checkpoints — a
 * truncated tail, a deleted or rewritten stream. Always reports how many events no checkpoint
 * covers.
 *
 * @example
 * ```ts
 * const result = verifyLedger(await readAll(store, { runId }));
 * if (!result.ok) console.error(result.problem.kind, 'at', result.problem.index, result.problem.message);
 * ```
 */
export function verifyLedger(
  events: readonly LedgerEvent[],
  options: VerifyLedgerOptions = {},
): LedgerVerification {
  const streams = new Map<string, StreamState>();
  const redactedIds: string[] = [];
  const given = givenCheckpoints(options);
  const checkpoints = given.map((entry) => entry.checkpoint);
  const coverage = countUncovered(events, checkpoints);
  const uncovered = { events: coverage.events, streams: coverage.streams };
  const failure: Failure = (code, index, message, event, checkpoint) => ({
    ok: false,
    events: events.length,
    streams: streams.size,
    uncovered,
    problem: {
      code,
      kind: PROBLEM_KIND[code],
      index,
      message,
      ...(event ? { stream: event.stream, seq: event.seq, eventId: event.id } : {}),
      ...(checkpoint ? { checkpoint } : {}),
    },
  });

  let signedCheckpoints = 0;
  for (const entry of given) {
    const problem = checkpointProblem(entry, options.keys);
    if (problem) return failure(problem.code, 0, problem.message, undefined, entry.ref);
    if (options.keys) signedCheckpoints++;
  }
  if (options.keys && given.length === 0) {
    return failure(
      'CHECKPOINT_MISSING',
      events.length,
      'no checkpoint to verify against: the ledger cannot be proven complete',
    );
  }
  // The seqs at which some checkpoint fixed a stream's head, and the hash seen there.
  const pinned = new Map<string, Map<number, string | undefined>>();
  for (const checkpoint of checkpoints) {
    for (const [stream, head] of Object.entries(checkpoint.heads)) {
      let seqs = pinned.get(stream);
      if (!seqs) {
        seqs = new Map();
        pinned.set(stream, seqs);
      }
      seqs.set(head.seq, undefined);
    }
  }
  const operatorKeys = options.operatorKeys ?? options.keys;
  const operators = new OperatorRecordVerifier(
    events,
    operatorKeys && Object.keys(operatorKeys).length > 0 ? operatorKeys : undefined,
  );
  /** Erased events whose redaction record comes later: index by id, settled at the record. */
  const awaitingRecord = new Map<string, number>();

  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const shapeError = checkShape(event);
    if (shapeError) return failure('MALFORMED', index, `event ${index} is malformed: ${shapeError}`);

    if (sha256Hex(envelopeJson(event)) !== event.hash) {
      return failure(
        'HASH_MISMATCH',
        index,
        `event ${event.id} was altered: its envelope no longer matches its hash`,
        event,
      );
    }
    if (event.payload === null || event.salt === null) {
      if (event.payload !== null || event.salt !== null) {
        return failure(
          'PAYLOAD_MISSING',
          index,
          `event ${event.id} has a payload or a salt but not both`,
          event,
        );
      }
      if (!operators.isNamed(event.id)) {
        return failure(
          'PAYLOAD_MISSING',
          index,
          `event ${event.id} lost its payload without a redaction record (ledger.redacted) for it`,
          event,
        );
      }
      awaitingRecord.set(event.id, index);
      redactedIds.push(event.id);
    } else {
      const payloadProblem = checkPayload(event);
      if (payloadProblem) return failure('PAYLOAD_MISMATCH', index, payloadProblem, event);
    }

    const state = streams.get(event.stream);
    const link = state ? checkLink(events, index, state) : checkStart(event, options.anchors?.[event.stream]);
    if (link) return failure(link.code, link.index ?? index, link.message, link.event ?? event);
    if (state) {
      state.previousHash = state.hash;
      state.seq = event.seq;
      state.hash = event.hash;
    } else {
      streams.set(event.stream, { seq: event.seq, hash: event.hash, previousHash: event.prevHash });
    }
    const seqs = pinned.get(event.stream);
    if (seqs?.has(event.seq)) seqs.set(event.seq, event.hash);

    operators.see(event);
    const operatorProblem = operators.check(event);
    if (operatorProblem) return failure(operatorProblem.code, index, operatorProblem.message, event);
  }
  for (const [eventId, index] of awaitingRecord) {
    if (operators.isBacked(eventId)) continue;
    return failure(
      'PAYLOAD_MISSING',
      index,
      `event ${eventId} lost its payload, and no valid redaction record (ledger.redacted) later in its stream names it with its payload hash`,
      events[index],
    );
  }

  const only = options.streams ? new Set(options.streams) : undefined;
  for (const entry of given) {
    for (const [stream, head] of Object.entries(entry.checkpoint.heads)) {
      if (only && !only.has(stream)) continue;
      const problem = compareHead(stream, head, entry, streams.get(stream), pinned, operators);
      if (problem) return failure(problem.code, events.length, problem.message, undefined, entry.ref);
    }
  }
  if (options.requireCovered && coverage.events > 0) {
    const first = events[coverage.first]!;
    return failure(
      'UNCOVERED',
      coverage.first,
      `${plural(coverage.events, 'event')} in ${plural(coverage.streams, 'stream')} ${coverage.events === 1 ? 'is' : 'are'} covered by no checkpoint (the first: ${first.id}): a cut or a forged append among them cannot be caught; take a checkpoint`,
      first,
    );
  }
  const counts = operators.counts;
  return {
    ok: true,
    events: events.length,
    streams: streams.size,
    redacted: redactedIds.length,
    redactedIds,
    checkpointVerified: given.length > 0,
    checkpoints: given.length,
    signedCheckpoints,
    anchorCheckpoints: options.anchorCheckpoints?.length ?? 0,
    operatorRecords: counts.records,
    signedOperatorRecords: counts.signed,
    uncovered,
  };
}

/** Every checkpoint the options name, with the label its problems use. */
function givenCheckpoints(options: VerifyLedgerOptions): GivenCheckpoint[] {
  const stored = [...(options.checkpoint ? [options.checkpoint] : []), ...(options.checkpoints ?? [])];
  const entry = (checkpoint: LedgerCheckpoint, index: number, anchor: boolean): GivenCheckpoint => ({
    checkpoint,
    ref: { index, createdAt: checkpoint.createdAt, anchor },
    label: anchor
      ? `anchor checkpoint ${index} (${checkpoint.createdAt}, kept outside the ledger)`
      : `checkpoint ${index} (${checkpoint.createdAt})`,
  });
  return [
    ...stored.map((checkpoint, i) => entry(checkpoint, i, false)),
    ...(options.anchorCheckpoints ?? []).map((checkpoint, i) => entry(checkpoint, i, true)),
  ];
}

/** A checkpoint's own problem: its root or count altered, or (given keys) its signature. */
function checkpointProblem(
  { checkpoint, label }: GivenCheckpoint,
  keys: CheckpointKeys | undefined,
): { code: LedgerProblemCode; message: string } | undefined {
  if (
    typeof checkpoint?.heads !== 'object' ||
    checkpoint.heads === null ||
    checkpointRoot(checkpoint.heads) !== checkpoint.root ||
    checkpointCount(checkpoint.heads) !== checkpoint.count
  ) {
    return {
      code: 'ROOT_MISMATCH',
      message: `${label} was altered: its root or count does not match its heads`,
    };
  }
  if (!keys) return undefined;
  const signature = checkpoint.signature;
  if (!signature) {
    return { code: 'SIG_INVALID', message: `${label} is not signed, but signed checkpoints are required` };
  }
  const key = Object.hasOwn(keys, signature.keyId) ? keys[signature.keyId] : undefined;
  if (key === undefined) {
    return {
      code: 'UNKNOWN_KEY',
      message: `${label} is signed with key "${signature.keyId}", which is not among the trusted keys`,
    };
  }
  if (!verifyEd25519(checkpointMessage(checkpoint, signature.keyId), signature.value, key)) {
    return { code: 'SIG_INVALID', message: `${label} has an invalid signature for key "${signature.keyId}"` };
  }
  return undefined;
}

/** The problem of a payload that no longer matches its commitment, if any. */
function checkPayload(event: LedgerEvent): string | undefined {
  let json: string;
  try {
    json = canonicalize(event.payload);
  } catch (error) {
    return `event ${event.id} payload is not JSON: ${String(error)}`;
  }
  return payloadCommitment(event.salt!, json) === event.payloadHash
    ? undefined
    : `event ${event.id} payload was altered`;
}

interface LinkProblem {
  readonly code: LedgerProblemCode;
  readonly message: string;
  /** Where the problem is, when not at the event being checked. */
  readonly index?: number;
  readonly event?: LedgerEvent;
}

/** The first event seen of a stream must start it: at seq 0 from genesis, or at its retention anchor. */
function checkStart(
  event: LedgerEvent,
  anchor: { seq: number; prevHash: string } | undefined,
): LinkProblem | undefined {
  const startSeq = anchor?.seq ?? 0;
  const startPrev = anchor?.prevHash ?? GENESIS_HASH;
  if (event.seq !== startSeq) {
    return {
      code: event.seq > startSeq ? 'SEQ_GAP' : 'REORDERED',
      message:
        `stream ${event.stream} starts at seq ${event.seq}, expected ${startSeq}: ` +
        (event.seq > startSeq ? 'its first events were deleted' : 'its events are out of order'),
    };
  }
  if (event.prevHash !== startPrev) {
    return { code: 'PREV_MISMATCH', message: `event ${event.id} does not link to the start of its stream` };
  }
  return undefined;
}

/** A later event of a stream must follow its head: the next seq, linked to the head's hash. */
function checkLink(
  events: readonly LedgerEvent[],
  index: number,
  state: StreamState,
): LinkProblem | undefined {
  const event = events[index]!;
  const expected = state.seq + 1;
  if (event.seq === state.seq) {
    return {
      code: 'FORK',
      message: `two events claim seq ${event.seq} of stream ${event.stream}: one was inserted or the stream forked`,
    };
  }
  if (event.seq < state.seq) {
    return {
      code: 'REORDERED',
      message: `event ${event.id} comes after seq ${state.seq}: events were reordered`,
    };
  }
  if (event.seq > expected) {
    return findLater(events, index + 1, event.stream, expected) >= 0
      ? {
          code: 'REORDERED',
          message: `seq ${expected} of stream ${event.stream} appears later: events were reordered`,
        }
      : {
          code: 'SEQ_GAP',
          message: `stream ${event.stream} jumps from seq ${state.seq} to ${event.seq}: ${event.seq - expected} event(s) deleted`,
        };
  }
  if (event.prevHash === state.hash) return undefined;
  return event.prevHash === state.previousHash
    ? {
        code: 'INSERTED',
        index: index - 1,
        event: events[index - 1],
        message: `the event before ${event.id} was inserted: ${event.id} links past it to seq ${state.seq - 1}`,
      }
    : { code: 'PREV_MISMATCH', message: `event ${event.id} does not link to the event before it` };
}

/** One checkpointed head against the stream as verified: deleted, truncated or rewritten. */
function compareHead(
  stream: string,
  head: { seq: number; hash: string },
  { label, ref }: GivenCheckpoint,
  state: StreamState | undefined,
  pinned: ReadonlyMap<string, ReadonlyMap<number, string | undefined>>,
  operators: OperatorRecordVerifier,
): { code: LedgerProblemCode; message: string } | undefined {
  const behind = ref.anchor ? 'the ledger is behind its anchor (restored from an older copy?) or ' : '';
  const seen = ref.anchor ? `${label} saw` : 'a checkpoint saw';
  if (!state) {
    const status = operators.prunedHeadStatus(stream, head);
    // Retention deleted the whole stream and said so in a ledger.pruned record naming this head.
    if (status === 'named') return undefined;
    if (status === 'other-head') {
      return {
        code: 'OPERATOR_MISMATCH',
        message: `stream ${stream} has no events; a ledger.pruned record names it, but not at seq ${head.seq} with the hash ${seen}: the record does not account for what was deleted`,
      };
    }
    return {
      code: 'TRUNCATED',
      message: ref.anchor
        ? `stream ${stream} is in ${label} but has no events: ${behind}the stream was deleted`
        : `stream ${stream} is in a checkpoint but has no events: it was deleted, and no ledger.pruned record names its head`,
    };
  }
  if (state.seq < head.seq) {
    return {
      code: 'TRUNCATED',
      message: `stream ${stream} ends at seq ${state.seq} but ${seen} seq ${head.seq}: ${behind}its tail was truncated`,
    };
  }
  if (pinned.get(stream)?.get(head.seq) !== head.hash) {
    return {
      code: 'CHECKPOINT_MISMATCH',
      message: ref.anchor
        ? `stream ${stream} at seq ${head.seq} differs from ${label}: the stream was rewritten since that anchor was written`
        : `stream ${stream} at seq ${head.seq} differs from a checkpoint: the stream was rewritten`,
    };
  }
  return undefined;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function findLater(events: readonly LedgerEvent[], from: number, stream: string, seq: number): number {
  for (let i = from; i < events.length; i++) {
    const event = events[i]!;
    if (event.stream === stream && event.seq === seq) return i;
  }
  return -1;
}

function checkShape(event: LedgerEvent): string | undefined {
  if (typeof event !== 'object' || event === null) return 'not an object';
  if (event.schemaVersion !== LEDGER_SCHEMA_VERSION)
    return `unknown schemaVersion ${String(event.schemaVersion)}`;
  if (typeof event.stream !== 'string' || event.stream === '') return 'stream must be a non-empty string';
  if (!Number.isSafeInteger(event.seq) || event.seq < 0) return 'seq must be a non-negative integer';
  if (typeof event.hash !== 'string' || !HEX64.test(event.hash)) return 'hash must be 64 hex characters';
  if (typeof event.prevHash !== 'string' || !HEX64.test(event.prevHash))
    return 'prevHash must be 64 hex characters';
  if (typeof event.payloadHash !== 'string' || !HEX64.test(event.payloadHash)) {
    return 'payloadHash must be 64 hex characters';
  }
  return undefined;
}
