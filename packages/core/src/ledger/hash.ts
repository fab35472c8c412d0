import { createHash, hash as oneShotHash, randomBytes, randomFillSync } from 'node:crypto';

const hasOneShot = typeof oneShotHash === 'function';

/** SHA-256 of a UTF-8 string, as 64 lowercase hex characters. */
export function sha256Hex(text: string): string {
  // crypto.hash (Node >= 20.12) skips the Hash object and is about twice as fast for small inputs.
  return hasOneShot ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolHex = '';
let poolOffset = POOL_SIZE;

/**
 * Random hex from a pooled CSPRNG buffer: one `randomFillSync` and one hex conversion per 4 KB,
 * then every salt or span id is a slice of that text (half the cost of converting each one).
 * Used for payload salts and span ids.
 */
export function randomHex(bytes: number): string {
  if (bytes > POOL_SIZE) return randomBytes(bytes).toString('hex');
  if (poolOffset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    poolHex = pool.toString('hex');
    poolOffset = 0;
  }
  const out = poolHex.slice(poolOffset * 2, (poolOffset + bytes) * 2);
  poolOffset += bytes;
  return out;
}
