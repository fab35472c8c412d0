import { createHash, hash as oneShotHash, randomFillSync } from 'node:crypto';

const hasOneShot = typeof oneShotHash === 'function';

/** SHA-256 of a UTF-8 string, as 64 lowercase hex characters. */
export function sha256Hex(text: string): string {
  // crypto.hash (Node >= 20.12) skips the Hash object and is about twice as fast for small inputs.
  return hasOneShot ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * Random hex from a pooled CSPRNG buffer: one `randomFillSync` per 256 salts instead of one per
 * event. Used for payload salts and span ids.
 */
export function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return out;
}
