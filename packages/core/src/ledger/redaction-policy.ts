import { describeValue, invalidArgument } from '../errors.js';

/**
 * Which values never reach any store. Applied to every event payload, approval request and stored
 * idempotency outcome before it is written, so secrets a tool takes or returns are not kept.
 */
export interface RedactionPolicy {
  /** Property names to mask wherever they appear, compared case-insensitively (`password`, `apiKey`). */
  readonly keys?: readonly string[];
  /** What a masked value becomes. Default `"[REDACTED]"`. */
  readonly replacement?: string;
}

/** A function that returns a masked copy of a value (the input is never changed). */
export type Redactor = (value: unknown) => unknown;

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

/**
 * Builds a redactor from a policy. Note that masked fields no longer tell calls apart: two calls
 * that differ only in a masked field share an idempotency fingerprint and an action digest.
 *
 * @example
 * ```ts
 * createRuntime({ tools, policy, redaction: { keys: ['password', 'cardNumber'] } });
 * ```
 */
export function createRedactor(policy: RedactionPolicy): Redactor {
  if (typeof policy !== 'object' || policy === null) {
    throw invalidArgument(
      `redaction must be an object like { keys: ['password'] }, got ${describeValue(policy)}`,
    );
  }
  const keys = policy.keys ?? DEFAULT_REDACTED_KEYS;
  if (!Array.isArray(keys) || keys.some((key) => typeof key !== 'string' || key === '')) {
    throw invalidArgument(`redaction.keys must be an array of property names, got ${describeValue(keys)}`);
  }
  const masked = new Set(keys.map((key) => key.toLowerCase()));
  const replacement = policy.replacement ?? '[REDACTED]';
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = masked.has(key.toLowerCase()) ? replacement : walk(item);
    return out;
  };
  return walk;
}
