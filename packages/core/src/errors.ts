/**
 * Stable error codes. A code never changes meaning once released; new failures get new codes.
 */
export type CustodyErrorCode =
  | 'CUSTODY_INVALID_ARGUMENT'
  | 'CUSTODY_TOOL_UNKNOWN'
  | 'CUSTODY_TOOL_NOT_ALLOWED'
  | 'CUSTODY_INPUT_INVALID'
  | 'CUSTODY_OUTPUT_INVALID'
  | 'CUSTODY_MODE_BLOCKED'
  | 'CUSTODY_SCOPE_MISSING'
  | 'CUSTODY_RESOURCE_OUT_OF_SCOPE'
  | 'CUSTODY_POLICY_DENIED'
  | 'CUSTODY_POLICY_ERROR'
  | 'CUSTODY_APPROVAL_REQUIRED'
  | 'CUSTODY_IDEMPOTENCY_CONFLICT'
  | 'CUSTODY_IDEMPOTENCY_IN_PROGRESS'
  | 'CUSTODY_EXECUTION_FAILED'
  | 'CUSTODY_VERIFY_MISMATCH'
  | 'CUSTODY_ABORTED'
  | 'CUSTODY_RUN_ENDED'
  | 'CUSTODY_CANONICAL_INVALID'
  | 'CUSTODY_LEDGER_CONFLICT'
  | 'CUSTODY_LEDGER_WRITE_FAILED'
  | 'CUSTODY_STORE_ERROR'
  | 'CUSTODY_LEGAL_HOLD'
  | 'CUSTODY_LEDGER_TAMPERED'
  | 'CUSTODY_BUNDLE_INVALID'
  | 'CUSTODY_REPLAY_DIVERGED';

const BRAND = Symbol.for('@custody/core/CustodyError');

/** Options for {@link CustodyError}. */
export interface CustodyErrorOptions {
  /** Structured, JSON-safe facts about the failure (tool name, offending value, …). */
  details?: Record<string, unknown>;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The one error class Custody throws. Every instance has a stable {@link CustodyErrorCode}.
 * Use {@link CustodyError.isInstance} rather than `instanceof`: it also recognises errors thrown
 * by another copy of this package (two versions installed side by side).
 *
 * @example
 * ```ts
 * try { await run.callOrThrow('stripe.refund', input); }
 * catch (error) {
 *   if (CustodyError.isInstance(error) && error.code === 'CUSTODY_POLICY_DENIED') { … }
 * }
 * ```
 */
export class CustodyError extends Error {
  readonly code: CustodyErrorCode;
  readonly details: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(code: CustodyErrorCode, message: string, options: CustodyErrorOptions = {}) {
    super(message.startsWith('[custody]') ? message : `[custody] ${message}`, { cause: options.cause });
    this.name = 'CustodyError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** True for any CustodyError, from this copy of the package or another. */
  static isInstance(value: unknown): value is CustodyError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /** A JSON-safe view, used when an error is recorded in the ledger. */
  toJSON(): { code: CustodyErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** Shorthand for the most common failure: a caller passed something the SDK cannot use. */
export function invalidArgument(message: string, details?: Record<string, unknown>): CustodyError {
  return new CustodyError('CUSTODY_INVALID_ARGUMENT', message, details ? { details } : {});
}

/** Renders any value briefly for an error message: `got -5`, `got "abc"`, `got object`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'function') return 'a function';
  const proto = Object.getPrototypeOf(value);
  if (proto && proto !== Object.prototype) return `an instance of ${proto.constructor?.name ?? 'a class'}`;
  return 'an object';
}
