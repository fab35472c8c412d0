import { createHmac, randomBytes } from 'node:crypto';
import { describeValue, invalidArgument } from '../errors.js';
import { canonicalize } from './canonical-json.js';

/**
 * Which values never reach any store. Applied to every event payload, approval request and stored
 * idempotency outcome before it is written, and to the text of errors, so secrets a tool takes or
 * returns are not kept.
 */
export interface RedactionPolicy {
  /** Property names to mask wherever they appear, compared case-insensitively (`password`, `apiKey`). */
  readonly keys?: readonly string[];
  /** What a masked value becomes. Default `"[REDACTED]"`. */
  readonly replacement?: string;
  /**
   * The secret that keyed hashes of masked values are made with (at least 32 bytes). Idempotency
   * fingerprints and approval digests cover masked values through these hashes, so two calls that
   * differ only in a password stay apart without the password being stored. Default: random per
   * runtime. Give every process that shares stores the same key (from your secret manager), or a
   * retried call with an explicit idempotency key after a restart is refused as a conflict, and an
   * approval cannot be matched by another process.
   */
  readonly hmacKey?: string | Uint8Array;
}

/** A function that returns a masked copy of a value (the input is never changed). */
export type Redactor = (value: unknown) => unknown;

/** A redaction policy put to work: masking for storage, keyed hashes for binding, secrets for text. */
export interface Redaction {
  /** A copy with every masked value replaced by the replacement: what is stored. */
  readonly mask: Redactor;
  /**
   * A copy with every masked value replaced by a keyed hash of it: what fingerprints and digests
   * cover, so masked values still tell calls apart.
   */
  readonly keyed: Redactor;
  /** The masked values inside `value` as text (strings and numbers), to mask in error messages. */
  secretsIn(value: unknown): string[];
  readonly keys: readonly string[];
  readonly replacement: string;
}

/** Names masked by default when a policy gives none. */
export const DEFAULT_REDACTED_KEYS: readonly string[] = [
  'password',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'authorization',
  'accessToken',
  'refreshToken',
  'clientSecret',
  'privateKey',
  'cookie',
];

const MIN_HMAC_KEY_BYTES = 32;

/**
 * Builds a redactor from a policy: a function returning a masked copy of a value.
 *
 * @example
 * ```ts
 * createRuntime({ tools, policy, redaction: { keys: ['password', 'cardNumber'] } });
 * ```
 */
export function createRedactor(policy: RedactionPolicy): Redactor {
  return createRedaction(policy).mask;
}

/** Builds the masking, keyed hashing and secret listing of a policy; validates it at once. */
export function createRedaction(policy: RedactionPolicy): Redaction {
  if (typeof policy !== 'object' || policy === null) {
    throw invalidArgument(
      `redaction must be an object like { keys: ['password'] }, got ${describeValue(policy)}`,
    );
  }
  const keys = policy.keys ?? DEFAULT_REDACTED_KEYS;
  if (!Array.isArray(keys) || keys.some((key) => typeof key !== 'string' || key === '')) {
    throw invalidArgument(`redaction.keys must be an array of property names, got ${describeValue(keys)}`);
  }
  const replacement = policy.replacement ?? '[REDACTED]';
  if (typeof replacement !== 'string') {
    throw invalidArgument(`redaction.replacement must be a string, got ${describeValue(replacement)}`);
  }
  const hmacKey = hmacKeyOf(policy.hmacKey);
  const masked = new Set(keys.map((key) => key.toLowerCase()));
  const isMasked = (key: string) => masked.has(key.toLowerCase());
  return {
    keys: Object.freeze([...keys]),
    replacement,
    mask: (value) => replaceMasked(value, isMasked, () => replacement),
    keyed: (value) =>
      replaceMasked(
        value,
        isMasked,
        (item) => `hmac-sha256:${createHmac('sha256', hmacKey).update(canonicalize(item)).digest('hex')}`,
      ),
    secretsIn(value) {
      const found: string[] = [];
      replaceMasked(value, isMasked, (item) => {
        collectText(item, found);
        return null;
      });
      return found;
    },
  };
}

function hmacKeyOf(key: RedactionPolicy['hmacKey']): Uint8Array {
  if (key === undefined) return randomBytes(MIN_HMAC_KEY_BYTES);
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < MIN_HMAC_KEY_BYTES) {
    throw invalidArgument(
      `redaction.hmacKey must be at least ${MIN_HMAC_KEY_BYTES} bytes (a string or a Uint8Array), got ${describeValue(key)}; ` +
        "generate one with crypto.randomBytes(32).toString('base64') and keep it in your secret manager",
    );
  }
  return bytes;
}

/** A copy of `value` in which the value of every masked key is `replace(value)`. */
function replaceMasked(
  value: unknown,
  isMasked: (key: string) => boolean,
  replace: (item: unknown) => unknown,
): unknown {
  const walk = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(walk);
    if (typeof item !== 'object' || item === null) return item;
    const proto = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== null) return item;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(item)) {
      // defineProperty, not assignment: an own "__proto__" key stays a key and never a prototype.
      Object.defineProperty(out, key, {
        value: isMasked(key) ? replace(child) : walk(child),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return walk(value);
}

function collectText(value: unknown, into: string[]): void {
  if (typeof value === 'string') into.push(value);
  else if (typeof value === 'number' || typeof value === 'bigint') into.push(String(value));
  else if (Array.isArray(value)) for (const item of value) collectText(item, into);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) collectText(item, into);
}
