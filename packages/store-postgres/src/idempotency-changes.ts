import {
  CustodyError,
  describeValue,
  type IdempotencyClaim,
  type IdempotencyClaimRequest,
} from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import type { Queryable } from './database.js';
import { checkEpoch, claimAnswer } from './postgres-idempotency-store.js';
import type { SchemaNames } from './schema.js';

/**
 * One idempotency change of a unit of work, checked and encoded before it is queued, so a bad
 * one fails its own commit alone. The SQL is that of {@link PostgresIdempotency}, for a whole
 * group at once: every claim of a group is one `INSERT … ON CONFLICT`, and so on.
 */
export type IdempotencyChange =
  | { readonly kind: 'claim'; readonly request: IdempotencyClaimRequest }
  | {
      readonly kind: 'complete';
      readonly tenant: string;
      readonly key: string;
      readonly fingerprint: string;
      readonly callId: string;
      /** Canonical JSON, or null for an `undefined` outcome. */
      readonly outcome: string | null;
      readonly completedAt: number;
      readonly expiresAt: number;
    }
  | { readonly kind: 'release'; readonly tenant: string; readonly key: string; readonly callId: string };

/** The changes of one unit, each with the index of its unit in the group. */
export interface GroupChange {
  readonly unit: number;
  readonly change: IdempotencyChange;
}

/** The group-commit key of an idempotency key: never equal to a stream's. */
export function idempotencyKeyOf(change: IdempotencyChange): string {
  const tenant = change.kind === 'claim' ? change.request.tenant : change.tenant;
  const key = change.kind === 'claim' ? change.request.key : change.key;
  return `idempotency:${JSON.stringify([tenant, key])}`;
}

/** Checks a unit's claim, completion and release as the idempotency store would, in that order. */
export function prepareChanges(work: {
  readonly claim?: unknown;
  readonly complete?: unknown;
  readonly release?: unknown;
}): IdempotencyChange[] {
  const changes: IdempotencyChange[] = [];
  if (work.claim !== undefined) {
    const request = record(work.claim, 'claim') as unknown as IdempotencyClaimRequest;
    for (const field of ['tenant', 'key', 'fingerprint', 'callId'] as const) text(request, field, 'claim');
    checkEpoch(request.now, 'now');
    checkEpoch(request.leaseMs, 'leaseMs');
    changes.push({
      kind: 'claim',
      request: {
        tenant: request.tenant,
        key: request.key,
        fingerprint: request.fingerprint,
        callId: request.callId,
        leaseMs: request.leaseMs,
        now: request.now,
      },
    });
  }
  if (work.complete !== undefined) {
    const done = record(work.complete, 'complete');
    for (const field of ['tenant', 'key', 'fingerprint', 'callId'] as const) text(done, field, 'complete');
    checkEpoch(done.completedAt, 'completedAt');
    checkEpoch(done.ttlMs, 'ttlMs');
    changes.push({
      kind: 'complete',
      tenant: done.tenant as string,
      key: done.key as string,
      fingerprint: done.fingerprint as string,
      callId: done.callId as string,
      outcome: done.outcome === undefined ? null : canonicalize(done.outcome),
      completedAt: done.completedAt as number,
      expiresAt: (done.completedAt as number) + (done.ttlMs as number),
    });
  }
  if (work.release !== undefined) {
    const release = record(work.release, 'release');
    for (const field of ['tenant', 'key', 'callId'] as const) text(release, field, 'release');
    changes.push({
      kind: 'release',
      tenant: release.tenant as string,
      key: release.key as string,
      callId: release.callId as string,
    });
  }
  return changes;
}

/**
 * The changes of a group in rounds: within a round no key appears twice (one statement cannot
 * change a row twice), and a key's changes keep their order from round to round.
 */
export function changeRounds(changes: readonly GroupChange[]): GroupChange[][] {
  const rounds: GroupChange[][] = [];
  const seen = new Map<string, number>();
  for (const entry of changes) {
    const key = idempotencyKeyOf(entry.change);
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    const members = rounds[round] ?? [];
    members.push(entry);
    rounds[round] = members;
  }
  return rounds;
}

/** The SQL of one round of changes, as common table expressions to put in one statement. */
export interface ChangeStatement {
  /** `name AS (…)` entries for a `WITH` list; the claims' one is named `claimed`. */
  readonly ctes: readonly string[];
  /** Their parameters, numbered from the `firstParam` given. */
  readonly params: readonly unknown[];
  /** How many claims the round makes. */
  readonly claims: number;
}

/**
 * One round of changes as data-modifying CTEs. Each writes only when `condition` (an SQL boolean
 * over the statement's own CTEs, e.g. the fast path's guard) holds. `claimed` returns the keys a
 * claim took: created, or taken over from an expired lease or record, exactly as
 * `PostgresIdempotency.claim` decides; the keys it did not take are locked by it until the
 * transaction ends, so reading them next in the same transaction gives the answer that holds.
 */
export function changeStatement(
  names: SchemaNames,
  round: readonly GroupChange[],
  firstParam: number,
  condition = 'true',
): ChangeStatement {
  const table = names.idempotencyKeys;
  const params: unknown[] = [];
  const param = (values: unknown[], type: string) => {
    params.push(values);
    return `$${firstParam + params.length - 1}::${type}[]`;
  };
  const ctes: string[] = [];
  // Sorted by key, so transactions over the same keys lock them in one order.
  const sorted = [...round].sort((a, b) => compare(idempotencyKeyOf(a.change), idempotencyKeyOf(b.change)));
  const claims = sorted.flatMap(({ change }) => (change.kind === 'claim' ? [change.request] : []));
  const completions = sorted.flatMap(({ change }) => (change.kind === 'complete' ? [change] : []));
  const releases = sorted.flatMap(({ change }) => (change.kind === 'release' ? [change] : []));
  if (claims.length > 0) {
    const tenants = param(
      claims.map((c) => c.tenant),
      'text',
    );
    const keys = param(
      claims.map((c) => c.key),
      'text',
    );
    const nows = param(
      claims.map((c) => c.now),
      'bigint',
    );
    const fingerprints = param(
      claims.map((c) => c.fingerprint),
      'text',
    );
    const callIds = param(
      claims.map((c) => c.callId),
      'text',
    );
    const leases = param(
      claims.map((c) => c.now + c.leaseMs),
      'bigint',
    );
    // The ON CONFLICT condition sees only the table and EXCLUDED: each key's `now` is looked up.
    const now = `(SELECT n.now FROM unnest(${tenants}, ${keys}, ${nows}) AS n(tenant, key, now) WHERE n.tenant = k.tenant AND n.key = k.key)`;
    ctes.push(
      `claimed AS (INSERT INTO ${table} AS k (tenant, key, state, fingerprint, call_id, lease_expires_at)
         SELECT c.tenant, c.key, 'claimed', c.fingerprint, c.call_id, c.lease
           FROM unnest(${tenants}, ${keys}, ${fingerprints}, ${callIds}, ${leases}) AS c(tenant, key, fingerprint, call_id, lease)
          WHERE ${condition}
         ON CONFLICT (tenant, key) DO UPDATE
           SET state = 'claimed', fingerprint = EXCLUDED.fingerprint, call_id = EXCLUDED.call_id,
               lease_expires_at = EXCLUDED.lease_expires_at, outcome = NULL, completed_at = NULL, expires_at = NULL
           WHERE (k.state = 'claimed' AND k.lease_expires_at <= ${now})
              OR (k.state = 'completed' AND k.expires_at <= ${now})
         RETURNING k.tenant, k.key)`,
    );
  }
  if (completions.length > 0) {
    const column = <K extends keyof (typeof completions)[number]>(field: K, type: string) =>
      param(
        completions.map((c) => c[field]),
        type,
      );
    // Unconditional, as in PostgresIdempotency.complete: the outcome of a call that ran is kept.
    ctes.push(
      `completed AS (INSERT INTO ${table} AS k
           (tenant, key, state, fingerprint, call_id, lease_expires_at, outcome, completed_at, expires_at)
         SELECT c.tenant, c.key, 'completed', c.fingerprint, c.call_id, NULL, c.outcome, c.completed_at, c.expires_at
           FROM unnest(${column('tenant', 'text')}, ${column('key', 'text')}, ${column('fingerprint', 'text')},
                       ${column('callId', 'text')}, ${column('outcome', 'text')}, ${column('completedAt', 'bigint')},
                       ${column('expiresAt', 'bigint')})
             AS c(tenant, key, fingerprint, call_id, outcome, completed_at, expires_at)
          WHERE ${condition}
         ON CONFLICT (tenant, key) DO UPDATE
           SET state = 'completed', fingerprint = EXCLUDED.fingerprint, call_id = EXCLUDED.call_id,
               lease_expires_at = NULL, outcome = EXCLUDED.outcome, completed_at = EXCLUDED.completed_at,
               expires_at = EXCLUDED.expires_at
         RETURNING 1)`,
    );
  }
  if (releases.length > 0) {
    ctes.push(
      `released AS (DELETE FROM ${table} k
          USING unnest(${param(
            releases.map((r) => r.tenant),
            'text',
          )}, ${param(
            releases.map((r) => r.key),
            'text',
          )}, ${param(
            releases.map((r) => r.callId),
            'text',
          )}) AS r(tenant, key, call_id)
          WHERE ${condition} AND k.tenant = r.tenant AND k.key = r.key AND k.state = 'claimed' AND k.call_id = r.call_id
         RETURNING 1)`,
    );
  }
  return { ctes, params, claims: claims.length };
}

/** The `claimed` CTE's rows: the keys its claims took, as `idempotencyKeyOf` names them. */
export function takenKeys(rows: readonly Record<string, unknown>[]): Set<string> {
  return new Set(rows.map((row) => `idempotency:${JSON.stringify([String(row.tenant), String(row.key)])}`));
}

/**
 * The answers of a round's claims that took nothing, read right after the round in its
 * transaction: the claims still lock those rows, so each holds what the claim saw. `undefined`
 * for a key whose row is gone or expired, which a lock makes impossible: the caller starts the
 * transaction over.
 */
export async function untakenAnswers(
  db: Queryable,
  names: SchemaNames,
  requests: readonly IdempotencyClaimRequest[],
): Promise<(IdempotencyClaim | undefined)[]> {
  if (requests.length === 0) return [];
  const result = await db.query(
    `SELECT k.tenant, k.key, k.state, k.fingerprint, k.call_id, k.lease_expires_at, k.outcome, k.completed_at, k.expires_at
       FROM ${names.idempotencyKeys} k
       JOIN unnest($1::text[], $2::text[]) AS r(tenant, key) ON k.tenant = r.tenant AND k.key = r.key`,
    [requests.map((r) => r.tenant), requests.map((r) => r.key)],
  );
  const rows = new Map(
    result.rows.map((row) => [JSON.stringify([String(row.tenant), String(row.key)]), row] as const),
  );
  return requests.map((request) =>
    claimAnswer(request, rows.get(JSON.stringify([request.tenant, request.key]))),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `unit of work ${what} must be an object, got ${describeValue(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

function text(value: object, field: string, what: string): void {
  const got = (value as Record<string, unknown>)[field];
  if (typeof got !== 'string') {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `unit of work ${what}.${field} must be a string, got ${describeValue(got)}`,
      { details: { field: `${what}.${field}` } },
    );
  }
}
