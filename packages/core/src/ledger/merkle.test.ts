import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { merkleRoot } from './merkle.js';

const h = (...parts: (Buffer | string)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const leaf = (text: string) => h(Buffer.from([0]), text);
const node = (a: Buffer, b: Buffer) => h(Buffer.from([1]), a, b);

describe('merkleRoot (RFC 9162)', () => {
  it('hashes the empty tree, one leaf and an unbalanced tree as the RFC defines', () => {
    expect(merkleRoot([])).toBe(createHash('sha256').digest('hex'));
    expect(merkleRoot(['a'])).toBe(leaf('a').toString('hex'));
    // Five leaves split 4 + 1.
    const expected = node(node(node(leaf('a'), leaf('b')), node(leaf('c'), leaf('d'))), leaf('e'));
    expect(merkleRoot(['a', 'b', 'c', 'd', 'e'])).toBe(expected.toString('hex'));
  });

  it('changes when any leaf, or the order, changes', () => {
    const root = merkleRoot(['a', 'b', 'c']);
    expect(merkleRoot(['a', 'b', 'x'])).not.toBe(root);
    expect(merkleRoot(['b', 'a', 'c'])).not.toBe(root);
    expect(merkleRoot(['a', 'b'])).not.toBe(root);
  });
});
