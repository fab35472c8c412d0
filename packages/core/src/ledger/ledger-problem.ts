import type { LedgerCheckpoint } from './checkpoint.js';
import type { UncoveredEvents } from './checkpoint-coverage.js';
import type { CheckpointKeys } from './checkpoint-signer.js';

// What verifyLedger answers and what it takes: the problem codes, their kinds, the result and the
// options. The checks themselves are in verify.ts.

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

/** The kind of tampering each problem code points to. */
export const PROBLEM_KIND: Record<LedgerProblemCode, LedgerProblemKind> = {
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
