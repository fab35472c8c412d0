import type { CheckpointKeys } from './checkpoint-signer.js';
import { type ChainHead, EventTypes, type LedgerEvent } from './event.js';
import { checkOperatorAuthority, type OperatorAuthorityProblem } from './operator-record.js';

/** Why an operator record does not carry the authority it claims. */
export interface OperatorRecordProblem {
  readonly code: OperatorAuthorityProblem['code'] | 'OPERATOR_MISPLACED' | 'OPERATOR_MISMATCH';
  readonly message: string;
}

/** Whether the prune records account for a checkpointed stream that has no events left. */
export type PrunedHeadStatus = 'named' | 'other-head' | 'not-named';

const HEX64 = /^[0-9a-f]{64}$/;

interface PrunedEntry {
  readonly stream: string;
  readonly seq: number;
  readonly hash: string;
  readonly heads?: readonly { readonly seq: number; readonly hash: string }[];
}

/**
 * The operator-record side of {@link verifyLedger}: a `ledger.redacted` record counts for an event
 * only if it sits later in that event's stream and names its id and payload hash; a
 * `ledger.pruned` record counts only if it sits in `operator:<tenant>` and names the exact heads
 * it removed; given operator keys, each must also be signed by one of them. Records are checked at
 * their own place in the sequence, so the first problem is still the first in ledger order.
 */
export class OperatorRecordVerifier {
  readonly #keys: CheckpointKeys | undefined;
  /** Ids that some `ledger.redacted` record names. */
  readonly #named = new Set<string>();
  /** Payload hash of each named event seen so far, to bind a record to its target. */
  readonly #targets = new Map<string, string>();
  /** Events erased with a record that passed every check. */
  readonly #backed = new Set<string>();
  /** Per pruned stream, the `seq:hash` heads valid prune records name. */
  readonly #prunedHeads = new Map<string, Set<string>>();
  #records = 0;
  #signed = 0;

  constructor(events: readonly LedgerEvent[], keys: CheckpointKeys | undefined) {
    this.#keys = keys;
    for (const event of events) {
      if (event?.type !== EventTypes.redacted) continue;
      const target = (event.payload as { eventId?: unknown } | null)?.eventId;
      if (typeof target === 'string') this.#named.add(target);
    }
  }

  /** Operator records checked, and how many of them had their signature verified. */
  get counts(): { readonly records: number; readonly signed: number } {
    return { records: this.#records, signed: this.#signed };
  }

  /** True when some `ledger.redacted` record names `eventId` (it still has to pass its checks). */
  isNamed(eventId: string): boolean {
    return this.#named.has(eventId);
  }

  /** True when a record that passed every check backs the erasure of `eventId`. */
  isBacked(eventId: string): boolean {
    return this.#backed.has(eventId);
  }

  /** Remembers an event (whose envelope verified) that a redaction record names. */
  see(event: LedgerEvent): void {
    if (this.#named.has(event.id)) this.#targets.set(event.id, event.payloadHash);
  }

  /** Checks an event whose envelope and payload verified; undefined when it is no operator record or holds. */
  check(record: LedgerEvent): OperatorRecordProblem | undefined {
    if (record.type !== EventTypes.redacted && record.type !== EventTypes.pruned) return undefined;
    if (record.payload === null) {
      return mismatch(
        `${record.type} record ${record.id} lost its payload: operator records cannot be erased, and without it nothing it explains can be checked`,
      );
    }
    const problem =
      record.type === EventTypes.redacted ? this.#checkRedaction(record) : this.#checkPrune(record);
    if (problem) return problem;
    if (this.#keys) {
      const unsigned = checkOperatorAuthority(record, this.#keys);
      if (unsigned) return unsigned;
      this.#signed++;
    }
    this.#records++;
    if (record.type === EventTypes.redacted) this.#acceptRedaction(record);
    else this.#acceptPrune(record);
    return undefined;
  }

  /**
   * Whether valid prune records account for `stream` having no events although a checkpoint pinned
   * it at `head`: only a record naming exactly that head does.
   */
  prunedHeadStatus(stream: string, head: ChainHead): PrunedHeadStatus {
    const heads = this.#prunedHeads.get(stream);
    if (!heads) return 'not-named';
    return heads.has(`${head.seq}:${head.hash}`) ? 'named' : 'other-head';
  }

  #checkRedaction(record: LedgerEvent): OperatorRecordProblem | undefined {
    const { eventId, payloadHash } = record.payload as { eventId?: unknown; payloadHash?: unknown };
    if (typeof eventId !== 'string' || typeof payloadHash !== 'string') {
      return mismatch(
        `ledger.redacted record ${record.id} does not name the event it erases by eventId and payloadHash`,
      );
    }
    const prefix = `${record.stream}:`;
    const seq = eventId.startsWith(prefix) ? Number(eventId.slice(prefix.length)) : Number.NaN;
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= record.seq) {
      return {
        code: 'OPERATOR_MISPLACED',
        message: `ledger.redacted record ${record.id} names event ${eventId}, which is not earlier in its own stream ${record.stream}: a redaction record sits in the stream of the event it erases, after it`,
      };
    }
    const actual = this.#targets.get(eventId);
    if (actual !== undefined && actual !== payloadHash) {
      return mismatch(
        `ledger.redacted record ${record.id} names event ${eventId} with payload hash ${payloadHash.slice(0, 12)}…, but that event's payload hash is ${actual.slice(0, 12)}…`,
      );
    }
    return undefined;
  }

  #checkPrune(record: LedgerEvent): OperatorRecordProblem | undefined {
    const expected = `operator:${record.tenant}`;
    if (record.stream !== expected) {
      return {
        code: 'OPERATOR_MISPLACED',
        message: `ledger.pruned record ${record.id} sits in stream ${record.stream}, but prune records of tenant ${record.tenant} are written to ${expected}`,
      };
    }
    const streams = (record.payload as { streams?: unknown }).streams;
    if (!Array.isArray(streams) || !streams.every(isPrunedEntry)) {
      return mismatch(
        `ledger.pruned record ${record.id} does not list the streams it removed as { stream, seq, hash, heads }`,
      );
    }
    return undefined;
  }

  #acceptRedaction(record: LedgerEvent): void {
    const { eventId } = record.payload as { eventId: string };
    // Bound only when the target was seen (a stream verified from a retention anchor may start after it).
    if (this.#targets.has(eventId)) this.#backed.add(eventId);
  }

  #acceptPrune(record: LedgerEvent): void {
    for (const entry of (record.payload as { streams: PrunedEntry[] }).streams) {
      let heads = this.#prunedHeads.get(entry.stream);
      if (!heads) {
        heads = new Set();
        this.#prunedHeads.set(entry.stream, heads);
      }
      heads.add(`${entry.seq}:${entry.hash}`);
      for (const head of entry.heads ?? []) heads.add(`${head.seq}:${head.hash}`);
    }
  }
}

function mismatch(message: string): OperatorRecordProblem {
  return { code: 'OPERATOR_MISMATCH', message };
}

function isHead(value: unknown): value is { seq: number; hash: string } {
  const head = value as { seq?: unknown; hash?: unknown } | null;
  return (
    typeof head === 'object' &&
    head !== null &&
    Number.isSafeInteger(head.seq) &&
    (head.seq as number) >= 0 &&
    typeof head.hash === 'string' &&
    HEX64.test(head.hash)
  );
}

function isPrunedEntry(value: unknown): value is PrunedEntry {
  const entry = value as { stream?: unknown; heads?: unknown } | null;
  return (
    isHead(entry) &&
    typeof entry.stream === 'string' &&
    (entry.heads === undefined || (Array.isArray(entry.heads) && entry.heads.every(isHead)))
  );
}
