import { CustodyError } from '../errors.js';
import type { LedgerCheckpoint } from './checkpoint.js';
import type { ChainHead, LedgerEvent } from './event.js';
import { verifyLedger } from './verify.js';

/** How a `ledger.pruned` record names one stream it removes. */
export interface PrunedStream {
  readonly stream: string;
  /** The stream's final head: what `deleteStreams` checks before deleting. */
  readonly seq: number;
  readonly hash: string;
  readonly events: number;
  /**
   * Every head of the stream a stored checkpoint pins, plus the final head, by seq without
   * duplicates: verification accepts the stream's absence from a checkpoint only at one of these.
   */
  readonly heads: readonly ChainHead[];
}

/**
 * Describes a stream about to be pruned (its events, in seq order from 0) for its `ledger.pruned`
 * record, after checking that it verifies as a chain and agrees with every checkpoint that pins
 * it: retention must never delete the evidence of tampering. Throws `CUSTODY_LEDGER_TAMPERED`.
 */
export function prunedStream(
  events: readonly LedgerEvent[],
  checkpoints: readonly LedgerCheckpoint[],
): PrunedStream {
  const last = events.at(-1)!;
  const verification = verifyLedger(events);
  if (!verification.ok) {
    throw tampered(last.stream, `${verification.problem.code}: ${verification.problem.message}`);
  }
  const heads = new Map<number, string>([[last.seq, last.hash]]);
  for (const checkpoint of checkpoints) {
    const pin = checkpoint.heads[last.stream];
    if (!pin) continue;
    const event = events[pin.seq];
    if (event?.hash !== pin.hash) {
      throw tampered(
        last.stream,
        event
          ? `the checkpoint of ${checkpoint.createdAt} saw another event at seq ${pin.seq}: the stream was rewritten`
          : `the checkpoint of ${checkpoint.createdAt} saw seq ${pin.seq}, but the stream ends at seq ${last.seq}: its tail was cut`,
      );
    }
    heads.set(pin.seq, pin.hash);
  }
  return {
    stream: last.stream,
    seq: last.seq,
    hash: last.hash,
    events: events.length,
    heads: [...heads].sort(([a], [b]) => a - b).map(([seq, hash]) => ({ seq, hash })),
  };
}

function tampered(stream: string, why: string): CustodyError {
  return new CustodyError(
    'CUSTODY_LEDGER_TAMPERED',
    `prune refuses to delete stream ${stream}, which does not verify (${why}); nothing was pruned: investigate with custody verify`,
    { details: { stream } },
  );
}
