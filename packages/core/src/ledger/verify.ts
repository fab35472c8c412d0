import { canonicalize } from './canonical-json.js';
import { envelopeJson, payloadCommitment } from './chain.js';
import { checkpointCount, checkpointMessage, checkpointRoot, type LedgerCheckpoint } from './checkpoint.js';
import { type CheckpointKeys, verifyEd25519 } from './checkpoint-signer.js';
import { EventTypes, GENESIS_HASH, LEDGER_SCHEMA_VERSION, type LedgerEvent } from './event.js';
import { sha256Hex } from './hash.js';

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
  | 'CHECKPOINT_MISSING';

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
};

/** The first problem verification found. */
export interface LedgerProblem {
  readonly code: LedgerProblemCode;
  readonly kind: LedgerProblemKind;
  /** Position in the verified sequence (for a truncated tail: the length, where events are missing). */
  readonly index: number;
  readonly stream?: string;
  readonly seq?: number;
  readonly eventId?: string;
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
      /** How many checkpoints were checked, and how many of those carried a verified signature. */
      readonly checkpoints: number;
      readonly signedCheckpoints: number;
    }
  | {
      readonly ok: false;
      readonly events: number;
      readonly streams: number;
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
   * Public keys trusted to sign checkpoints, by key id. When given, every checkpoint must carry a
   * valid signature by one of them, and at least one checkpoint must be present.
   */
  keys?: CheckpointKeys;
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

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verifies a sequence of events (one stream or many interleaved, each stream in seq order) and
 * reports the first problem: an altered envelope or payload, a deleted, reordered or inserted
 * event, or — given a checkpoint — a truncated tail or rewritten stream.
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
  const failure = (code: LedgerProblemCode, index: number, message: string, event?: LedgerEvent) =>
    ({
      ok: false,
      events: events.length,
      streams: streams.size,
      problem: {
        code,
        kind: KIND[code],
        index,
        message,
        ...(event ? { stream: event.stream, seq: event.seq, eventId: event.id } : {}),
      },
    }) as const;

  const checkpoints = [...(options.checkpoint ? [options.checkpoint] : []), ...(options.checkpoints ?? [])];
  let signedCheckpoints = 0;
  for (const [i, checkpoint] of checkpoints.entries()) {
    const label = `checkpoint ${i} (${checkpoint.createdAt})`;
    if (
      checkpointRoot(checkpoint.heads) !== checkpoint.root ||
      checkpointCount(checkpoint.heads) !== checkpoint.count
    ) {
      return failure('ROOT_MISMATCH', 0, `${label} was altered: its root or count does not match its heads`);
    }
    if (options.keys) {
      const signature = checkpoint.signature;
      if (!signature)
        return failure('SIG_INVALID', 0, `${label} is not signed, but signed checkpoints are required`);
      const key = options.keys[signature.keyId];
      if (key === undefined) {
        return failure(
          'UNKNOWN_KEY',
          0,
          `${label} is signed with key "${signature.keyId}", which is not among the trusted keys`,
        );
      }
      if (!verifyEd25519(checkpointMessage(checkpoint, signature.keyId), signature.value, key)) {
        return failure('SIG_INVALID', 0, `${label} has an invalid signature for key "${signature.keyId}"`);
      }
      signedCheckpoints++;
    }
  }
  if (options.keys && checkpoints.length === 0) {
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
  const redactions = collectRedactions(events);
  const pruned = collectPrunedStreams(events);

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
      if (!redactions.has(event.id)) {
        return failure(
          'PAYLOAD_MISSING',
          index,
          `event ${event.id} lost its payload without a redaction record (ledger.redacted) for it`,
          event,
        );
      }
      redactedIds.push(event.id);
    } else {
      let json: string;
      try {
        json = canonicalize(event.payload);
      } catch (error) {
        return failure(
          'PAYLOAD_MISMATCH',
          index,
          `event ${event.id} payload is not JSON: ${String(error)}`,
          event,
        );
      }
      if (payloadCommitment(event.salt, json) !== event.payloadHash) {
        return failure('PAYLOAD_MISMATCH', index, `event ${event.id} payload was altered`, event);
      }
    }

    const state = streams.get(event.stream);
    if (!state) {
      const anchor = options.anchors?.[event.stream];
      const startSeq = anchor?.seq ?? 0;
      const startPrev = anchor?.prevHash ?? GENESIS_HASH;
      if (event.seq !== startSeq) {
        return failure(
          event.seq > startSeq ? 'SEQ_GAP' : 'REORDERED',
          index,
          `stream ${event.stream} starts at seq ${event.seq}, expected ${startSeq}: ` +
            (event.seq > startSeq ? 'its first events were deleted' : 'its events are out of order'),
          event,
        );
      }
      if (event.prevHash !== startPrev) {
        return failure(
          'PREV_MISMATCH',
          index,
          `event ${event.id} does not link to the start of its stream`,
          event,
        );
      }
      streams.set(event.stream, { seq: event.seq, hash: event.hash, previousHash: event.prevHash });
    } else {
      const expected = state.seq + 1;
      if (event.seq === state.seq) {
        return failure(
          'FORK',
          index,
          `two events claim seq ${event.seq} of stream ${event.stream}: one was inserted or the stream forked`,
          event,
        );
      }
      if (event.seq < state.seq) {
        return failure(
          'REORDERED',
          index,
          `event ${event.id} comes after seq ${state.seq}: events were reordered`,
          event,
        );
      }
      if (event.seq > expected) {
        const laterIndex = findLater(events, index + 1, event.stream, expected);
        return laterIndex >= 0
          ? failure(
              'REORDERED',
              index,
              `seq ${expected} of stream ${event.stream} appears later: events were reordered`,
              event,
            )
          : failure(
              'SEQ_GAP',
              index,
              `stream ${event.stream} jumps from seq ${state.seq} to ${event.seq}: ${event.seq - expected} event(s) deleted`,
              event,
            );
      }
      if (event.prevHash !== state.hash) {
        return event.prevHash === state.previousHash
          ? failure(
              'INSERTED',
              index - 1,
              `the event before ${event.id} was inserted: ${event.id} links past it to seq ${state.seq - 1}`,
              events[index - 1],
            )
          : failure('PREV_MISMATCH', index, `event ${event.id} does not link to the event before it`, event);
      }
      state.previousHash = state.hash;
      state.seq = event.seq;
      state.hash = event.hash;
    }
    const seqs = pinned.get(event.stream);
    if (seqs?.has(event.seq)) seqs.set(event.seq, event.hash);
  }

  const only = options.streams ? new Set(options.streams) : undefined;
  for (const checkpoint of checkpoints) {
    for (const [stream, head] of Object.entries(checkpoint.heads)) {
      if (only && !only.has(stream)) continue;
      const state = streams.get(stream);
      if (!state) {
        const prunedHead = pruned.get(stream);
        // Retention deleted the whole stream and said so in a chained `ledger.pruned` event.
        if (prunedHead && (prunedHead.seq > head.seq || prunedHead.hash === head.hash)) continue;
        return failure(
          'TRUNCATED',
          events.length,
          `stream ${stream} is in a checkpoint but has no events: it was deleted`,
        );
      }
      if (state.seq < head.seq) {
        return failure(
          'TRUNCATED',
          events.length,
          `stream ${stream} ends at seq ${state.seq} but a checkpoint saw seq ${head.seq}: its tail was truncated`,
        );
      }
      if (pinned.get(stream)?.get(head.seq) !== head.hash) {
        return failure(
          'CHECKPOINT_MISMATCH',
          events.length,
          `stream ${stream} at seq ${head.seq} differs from a checkpoint: the stream was rewritten`,
        );
      }
    }
  }
  return {
    ok: true,
    events: events.length,
    streams: streams.size,
    redacted: redactedIds.length,
    redactedIds,
    checkpointVerified: checkpoints.length > 0,
    checkpoints: checkpoints.length,
    signedCheckpoints,
  };
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

/** Ids of events that a `ledger.redacted` event in this set says were redacted. */
function collectRedactions(events: readonly LedgerEvent[]): Set<string> {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.type !== EventTypes.redacted) continue;
    const target = (event.payload as { eventId?: unknown } | null)?.eventId;
    if (typeof target === 'string') ids.add(target);
  }
  return ids;
}

/** Heads of the streams that `ledger.pruned` events in this set say retention deleted. */
function collectPrunedStreams(events: readonly LedgerEvent[]): Map<string, { seq: number; hash: string }> {
  const heads = new Map<string, { seq: number; hash: string }>();
  for (const event of events) {
    if (event.type !== EventTypes.pruned) continue;
    const streams = (event.payload as { streams?: unknown } | null)?.streams;
    if (!Array.isArray(streams)) continue;
    for (const entry of streams as { stream?: unknown; seq?: unknown; hash?: unknown }[]) {
      if (
        typeof entry?.stream === 'string' &&
        typeof entry.seq === 'number' &&
        typeof entry.hash === 'string'
      ) {
        heads.set(entry.stream, { seq: entry.seq, hash: entry.hash });
      }
    }
  }
  return heads;
}
