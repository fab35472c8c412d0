import { canonicalize } from './canonical-json.js';
import type { ChainHead, LedgerEvent } from './event.js';
import { sha256Hex } from './hash.js';

/**
 * A commitment to the state of a ledger: how many events it held and the head of every stream.
 * Keep it somewhere the ledger's writer cannot rewrite (or sign it): chains alone cannot reveal a
 * truncated tail or a whole stream deleted, a checkpoint can.
 */
export interface LedgerCheckpoint {
  readonly schemaVersion: 1;
  /** Number of events covered. */
  readonly count: number;
  /** Head (last seq and hash) of every stream covered. */
  readonly heads: Readonly<Record<string, ChainHead>>;
  /** SHA-256 of the canonical JSON of `{ count, heads }`. */
  readonly root: string;
}

/** The root a checkpoint must carry for its count and heads. */
export function checkpointRoot(count: number, heads: Readonly<Record<string, ChainHead>>): string {
  return sha256Hex(canonicalize({ count, heads }));
}

/** Builds a checkpoint over events (any order across streams; the highest seq per stream wins). */
export function createCheckpoint(events: Iterable<LedgerEvent>): LedgerCheckpoint {
  const heads: Record<string, ChainHead> = {};
  let count = 0;
  for (const event of events) {
    count++;
    const head = heads[event.stream];
    if (!head || event.seq > head.seq) heads[event.stream] = { seq: event.seq, hash: event.hash };
  }
  return { schemaVersion: 1, count, heads, root: checkpointRoot(count, heads) };
}
