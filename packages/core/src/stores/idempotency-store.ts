/** The stored, final outcome of a keyed call: returned as-is to every later call with the key. */
export interface IdempotencyRecord {
  readonly tenant: string;
  readonly key: string;
  /** SHA-256 of tool, version and canonical input: the same key with other input is a conflict. */
  readonly fingerprint: string;
  /** JSON-safe outcome (`{ status: 'ok', output }` or `{ status: 'failed', code, message }`). */
  readonly outcome: unknown;
  /** The call that executed. */
  readonly callId: string;
  /** Epoch milliseconds. */
  readonly completedAt: number;
}

/** Answer to a claim. */
export type IdempotencyClaim =
  /** The caller owns the key until `complete` or `release`, or the lease runs out. */
  | { readonly status: 'claimed' }
  /** Already executed: here is the stored outcome. Execute nothing. */
  | { readonly status: 'completed'; readonly record: IdempotencyRecord }
  /** Another caller holds the key right now. Execute nothing. */
  | { readonly status: 'in_progress'; readonly leaseExpiresAt: number }
  /** The key was used with different input. Execute nothing. */
  | { readonly status: 'conflict'; readonly fingerprint: string };

/** Arguments of {@link IdempotencyStore.claim}. */
export interface IdempotencyClaimRequest {
  readonly tenant: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly callId: string;
  /** How long the claim holds if the caller dies before completing it. */
  readonly leaseMs: number;
  /** Epoch milliseconds, from the runtime's clock. */
  readonly now: number;
}

/**
 * The idempotency port, with Stripe's semantics: a key is claimed atomically before execution,
 * the outcome is stored once execution starts (failures included) and kept for `ttlMs`; a second
 * caller with the key gets the stored outcome, a concurrent one gets `in_progress`, and one with
 * other input gets `conflict` — never a second execution.
 */
export interface IdempotencyStore {
  readonly specificationVersion: 'v1';
  claim(request: IdempotencyClaimRequest, options?: { signal?: AbortSignal }): Promise<IdempotencyClaim>;
  complete(
    record: IdempotencyRecord & { readonly ttlMs: number },
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  /** Gives a claim back without an outcome (the call never started executing). */
  release(
    request: { readonly tenant: string; readonly key: string; readonly callId: string },
    options?: { signal?: AbortSignal },
  ): Promise<void>;
  close?(): Promise<void>;
}
