import { canonicalize } from './canonical-json.js';
import type { CheckpointSigner } from './checkpoint-signer.js';
import type { ChainHead, LedgerEvent } from './event.js';
import { merkleRoot } from './merkle.js';

/** A signature over a checkpoint's commitment. */
export interface CheckpointSignature {
  readonly keyId: string;
  readonly algorithm: 'ed25519';
  /** Base64. */
  readonly value: string;
}

/**
 * A commitment to the state of a ledger: the head (last seq and hash) of every stream, a Merkle
 * root over those heads, and the number of events they cover; signed, it is the one thing a writer
 * without the key cannot forge. Chains alone cannot reveal a truncated tail, a deleted stream or a
 * stream rewritten from scratch; a signed checkpoint can, for everything written before it.
 */
export interface LedgerCheckpoint {
  readonly schemaVersion: 1;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Events covered: every stream from seq 0 up to its head. */
  readonly count: number;
  readonly heads: Readonly<Record<string, ChainHead>>;
  /** RFC 9162 Merkle tree hash over the heads, one leaf per stream in sorted order. */
  readonly root: string;
  readonly signature?: CheckpointSignature;
}

/** The Merkle root a checkpoint must carry for its heads. */
export function checkpointRoot(heads: Readonly<Record<string, ChainHead>>): string {
  const leaves = Object.keys(heads)
    .sort()
    .map((stream) => canonicalize([stream, heads[stream]!.seq, heads[stream]!.hash]));
  return merkleRoot(leaves);
}

/** The count a checkpoint must carry for its heads. */
export function checkpointCount(heads: Readonly<Record<string, ChainHead>>): number {
  let count = 0;
  for (const head of Object.values(heads)) count += head.seq + 1;
  return count;
}

/** The bytes a checkpoint signature covers: everything but the heads, which the root commits to. */
export function checkpointMessage(
  checkpoint: Omit<LedgerCheckpoint, 'signature'>,
  keyId: string,
): Uint8Array {
  return Buffer.from(
    canonicalize({
      algorithm: 'ed25519',
      count: checkpoint.count,
      createdAt: checkpoint.createdAt,
      keyId,
      root: checkpoint.root,
      schemaVersion: checkpoint.schemaVersion,
    }),
    'utf8',
  );
}

/**
 * Builds an unsigned checkpoint over events (any order across streams; the highest seq per
 * stream is its head).
 */
export function createCheckpoint(
  events: Iterable<LedgerEvent>,
  options: { createdAt?: string } = {},
): LedgerCheckpoint {
  const heads: Record<string, ChainHead> = {};
  for (const event of events) {
    const head = heads[event.stream];
    if (!head || event.seq > head.seq) heads[event.stream] = { seq: event.seq, hash: event.hash };
  }
  return {
    schemaVersion: 1,
    createdAt: options.createdAt ?? new Date().toISOString(),
    count: checkpointCount(heads),
    heads,
    root: checkpointRoot(heads),
  };
}

/** Signs a checkpoint. */
export async function signCheckpoint(
  checkpoint: LedgerCheckpoint,
  signer: CheckpointSigner,
): Promise<LedgerCheckpoint> {
  const { signature: _old, ...unsigned } = checkpoint;
  const value = await signer.sign(checkpointMessage(unsigned, signer.keyId));
  return {
    ...unsigned,
    signature: { keyId: signer.keyId, algorithm: 'ed25519', value: Buffer.from(value).toString('base64') },
  };
}
