import { canonicalize } from './canonical-json.js';
import { envelopeJson, payloadCommitment } from './chain.js';
import { checkpointCount, checkpointMessage, checkpointRoot, type LedgerCheckpoint } from './checkpoint.js';
import { countUncovered, type UncoveredEvents } from './checkpoint-coverage.js';
import { type CheckpointKeys, verifyEd25519 } from './checkpoint-signer.js';
import { GENESIS_HASH, LEDGER_SCHEMA_VERSION, type LedgerEvent } from './event.js';
import { sha256Hex } from './hash.js';
import { OperatorRecordVerifier } from './operator-record-verifier.js';

/** Machine-readable cause of a verification failure. */
export type LedgerProblemCode =
  | 'MALFORMED'
  | 'HASH_MISMATCH'
  | 'PAYLOAD_MISMATCH'
  | 'PAYLOAD_MISSING'
  | 'SEQ_GAP'
  | 'REORDERED'
  | 'FORK'
  | 'INSERTED'
  | 'PREV_MISMATCH'
  | 'TRUNCATED'
  | 'CHECKPOINT_MISMATCH'
  | 'ROOT_MISMATCH'
  | 'SIG_INVALID'
  | 'UNKNOWN_KEY'
  | 'CHECKPOINT_MISSING'
  | 'OPERATOR_UNSIGNED'
  | 'OPERATOR_UNKNOWN_KEY'
  | 'OPERATOR_SIG_INVALID'
  | 'OPERATOR_MISPLACED'
  | 'OPERATOR_MISMATCH'
  | 'UNCOVERED';

/** What most likely happened to the ledger, in the words of an incident report. */
export type LedgerProblemKind =
  | 'altered'
  | 'deleted'
  | 'reordered'
  | 'inserted'
  | 'truncated'
  | 'malformed'
  | 'forged'
  | 'unverifiable';

const KIND: Record<LedgerProblemCode, LedgerProblemKind> = {
  MALFORMED: 'malformed',
  HASH_MISMATCH: 'altered',
  PAYLOAD_MISMATCH: 'altered',
  PAYLOAD_MISSING: 'altered',
  SEQ_GAP: 'deleted',
  REORDERED: 'reordered',
  FORK: 'inserted',
  INSERTED: 'inserted',
  PREV_MISMATCH: 'altered',
  TRUNCATED: 'truncated',
  CHECKPOINT_MISMATCH: 'altered',
  ROOT_MISMATCH: 'forged',
  SIG_INVALID: 'forged',
  UNKNOWN_KEY: 'forged',
  CHECKPOINT_MISSING: 'unverifiable',
  OPERATOR_UNSIGNED: 'forged',
  OPERATOR_UNKNOWN_KEY: 'forged',
  OPERATOR_SIG_INVALID: 'forged',
  OPERATOR_MISPLACED: 'forged',
  OPERATOR_MISMATCH: 'forged',
  UNCOVERED: 'unverifiable',
};

/** The checkpoint a problem was found against. */
export interface LedgerProblemCheckpoint {
  /** Position in `checkpoints` (after `checkpoint`, when given), or in `anchorCheckpoints`. */
  readonly index: number;
  readonly createdAt: string;
  /** True for a checkpoint kept outside the ledger (`anchorCheckpoints`). */
  readonly anchor: boolean;
}

/** The first problem verification found. */
export interface LedgerProblem {
  readonly code: LedgerProblemCode;
  readonly kind: LedgerProblemKind;
  /** Position in the verified sequence (for a truncated tail: the length, where events are missing). */
  readonly index: number;
  readonly stream?: string;
  readonly seq?: number;
  readonly eventId?: string;
  /** For a problem found against one checkpoint: which. */
  readonly checkpoint?: LedgerProblemCheckpoint;
  readonly message: string;
}

/** Outcome of {@link verifyLedger}. */
export type LedgerVerification =
  | {
      readonly ok: true;
      readonly events: number;
      readonly streams: number;
      /** Events whose payload was erased by a redaction; their envelopes still verify. */
      readonly redacted: number;
      /** Ids of the events whose payload was erased, each backed by a `ledger.redacted` event. */
      readonly redactedIds: readonly string[];
      /** True when at least one checkpoint was given and every one of them held. */
      readonly checkpointVerified: boolean;
      /** How many checkpoints were checked (anchors included), and how many carried a verified signature. */
      readonly checkpoints: number;
      readonly signedCheckpoints: number;
      /** How many of the checkpoints came from `anchorCheckpoints`. */
      readonly anchorCheckpoints: number;
      /** `ledger.pruned` and `ledger.redacted` records checked, and how many had a verified signature. */
      readonly operatorRecords: number;
      readonly signedOperatorRecords: number;
      /** Events no checkpoint covers (a checkpoint pins their stream at their seq or later), in how many streams. */
      readonly uncovered: UncoveredEvents;
    }
  | {
      readonly ok: false;
      readonly events: number;
      readonly streams: number;
      readonly uncovered: UncoveredEvents;
      readonly problem: LedgerProblem;
    };

/** Options for {@link verifyLedger}. */
export interface VerifyLedgerOptions {
  /**
   * A checkpoint taken earlier. Without one, deleting the tail of a stream, or a whole stream,
   * cannot be told from a run that simply wrote less.
   */
  checkpoint?: LedgerCheckpoint;
  /** Several checkpoints (e.g. all a store holds); each is checked like `checkpoint`. */
  checkpoints?: readonly LedgerCheckpoint[];
  /**
   * Checkpoints kept outside the ledger (an anchor file or folder), checked like `checkpoints`. A
   * ledger restored from an older copy still matches the checkpoints it holds itself; it is behind
   * these, and verification says so.
   */
  anchorCheckpoints?: readonly LedgerCheckpoint[];
  /**
   * Public keys trusted to sign checkpoints, by key id. When given, every checkpoint must carry a
   * valid signature by one of them, and at least one checkpoint must be present. They are also
   * the operator keys unless `operatorKeys` is given.
   */
  keys?: CheckpointKeys;
  /**
   * Public keys trusted to sign operator records (`ledger.pruned`, `ledger.redacted`), by key id.
   * Defaults to `keys`. When there are any, every such record must carry a valid signature by one
   * of them (`OPERATOR_UNSIGNED`, `OPERATOR_UNKNOWN_KEY`, `OPERATOR_SIG_INVALID` otherwise).
   */
  operatorKeys?: CheckpointKeys;
  /** Fail with `UNCOVERED` when some event is covered by no checkpoint. */
  requireCovered?: boolean;
  /**
   * The events are only these streams (one run's, say): checkpoints are still verified whole
   * (root, count, signature), but only these streams' heads are checked against the events.
   */
  streams?: readonly string[];
  /**
   * Where a stream is allowed to start when older events were pruned by retention: its first
   * remaining seq and the hash that event must link to.
   */
  anchors?: Readonly<Record<string, { seq: number; prevHash: string }>>;
}

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
      kind: KIND[code],
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
