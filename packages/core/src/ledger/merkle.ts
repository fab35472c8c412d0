import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

function leafHash(leaf: string): Buffer {
  return createHash('sha256').update(LEAF).update(leaf, 'utf8').digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

function subtree(leaves: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 1) return leaves[from]!;
  // RFC 9162 section 2.1.1: split at the largest power of two smaller than n.
  let k = 1;
  while (k * 2 < n) k *= 2;
  return nodeHash(subtree(leaves, from, from + k), subtree(leaves, from + k, to));
}

/**
 * The Merkle tree hash of RFC 9162 (Certificate Transparency v2) over UTF-8 leaves: leaves are
 * hashed with a 0x00 prefix and inner nodes with 0x01, so a leaf can never pass for a node.
 * The empty tree hashes to SHA-256 of nothing.
 */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return createHash('sha256').digest('hex');
  return subtree(leaves.map(leafHash), 0, leaves.length).toString('hex');
}
