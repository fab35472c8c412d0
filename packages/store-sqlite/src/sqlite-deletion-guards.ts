import { CustodyError, EventTypes } from '@custody/core';
import type { SqliteConnection } from './sqlite-connection.js';
import type { SqliteStatement } from './sqlite-driver.js';

/** The head of a stream as stored: what `deleteStreams` checks before deleting the stream. */
export interface StoredHead {
  readonly stream: string;
  readonly seq: number;
  readonly hash: string;
  readonly tenant: string;
  readonly run_id: string | null;
}

/** An event `erasePayload` was asked to erase, as stored. */
export interface StoredTarget {
  readonly id: string;
  readonly stream: string;
  readonly seq: number;
  readonly tenant: string;
  readonly run_id: string | null;
  readonly payload_hash: string;
  /** 1 once the payload is erased (SQL NULL). */
  readonly erased: number;
}

/** The legal holds in force in one tenant's operator stream. */
interface Holds {
  readonly tenant: boolean;
  readonly runIds: ReadonlySet<string>;
}

/**
 * The store guards of the ledger port, checked inside the transaction that deletes or erases (the
 * caller holds the write lock: `BEGIN IMMEDIATE`), so nothing can be appended between the check
 * and the deletion. The rules are core's (`checkStreamDeletion`, `checkPayloadErasure`), read
 * from the tables instead of from events in memory:
 *
 * - a run is held when, in stream `operator:<tenant>`, the latest `ledger.hold_placed` /
 *   `ledger.hold_released` naming its run id, or the latest naming none (tenant-wide), placed one;
 * - a stream may be deleted only when a `ledger.pruned` record in `operator:<tenant>` lists it
 *   with its current head seq and hash;
 * - a payload may be erased only when a `ledger.redacted` record later in its stream names the
 *   event id and its payload hash.
 *
 * Stores do not check signatures: verification does.
 */
export class SqliteDeletionGuards {
  readonly #selectHolds: SqliteStatement;
  readonly #selectPruneRecord: SqliteStatement;
  readonly #selectRedactionRecords: SqliteStatement;

  constructor(connection: SqliteConnection) {
    const sql = (text: string) => connection.statement(text);
    this.#selectHolds = sql(
      'SELECT type, payload FROM custody_events WHERE stream = ? AND type IN (?, ?) AND payload IS NOT NULL ORDER BY seq',
    );
    // One record at a time, newest first: the record naming a stream is almost always the last one.
    this.#selectPruneRecord = sql(
      'SELECT seq, payload FROM custody_events WHERE stream = ? AND tenant = ? AND type = ? AND seq < ? ' +
        'AND payload IS NOT NULL ORDER BY seq DESC LIMIT 1',
    );
    this.#selectRedactionRecords = sql(
      'SELECT payload FROM custody_events WHERE stream = ? AND seq > ? AND type = ? AND payload IS NOT NULL',
    );
  }

  /**
   * Why the streams whose heads are `heads` must not be deleted (the first refusal, in the order
   * given), or undefined when every one of them may be.
   */
  deletionRefusal(heads: readonly StoredHead[]): CustodyError | undefined {
    const holds = new Map<string, Holds>();
    const pruned = new Map<string, PrunedHeads>();
    for (const head of heads) {
      const { stream, seq, hash, tenant, run_id: runId } = head;
      let tenantHolds = holds.get(tenant);
      if (!tenantHolds) {
        tenantHolds = this.#holds(tenant);
        holds.set(tenant, tenantHolds);
      }
      if (isHeld(tenantHolds, runId)) {
        return new CustodyError(
          'CUSTODY_LEGAL_HOLD',
          `stream ${stream} cannot be deleted: ${heldWhat(tenantHolds, tenant, runId)} is under legal hold; ` +
            'release the hold first (createLedger().releaseHold)',
          { details: { stream, tenant, runId } },
        );
      }
      let records = pruned.get(tenant);
      if (!records) {
        records = new PrunedHeads((before) =>
          this.#selectPruneRecord.get(`operator:${tenant}`, tenant, EventTypes.pruned, before),
        );
        pruned.set(tenant, records);
      }
      if (!records.names(stream, seq, hash)) {
        return new CustodyError(
          'CUSTODY_STORE_ERROR',
          `no ledger.pruned record names stream ${stream} at its head seq ${seq}; prune through createLedger().prune`,
          { details: { stream, seq, hash } },
        );
      }
    }
    return undefined;
  }

  /** Why `target`'s payload must not be erased, or undefined when it may be. */
  erasureRefusal(target: StoredTarget): CustodyError | undefined {
    const { id: eventId, stream, seq, tenant, run_id: runId } = target;
    const holds = this.#holds(tenant);
    if (isHeld(holds, runId)) {
      return new CustodyError(
        'CUSTODY_LEGAL_HOLD',
        `event ${eventId} cannot be erased: ${heldWhat(holds, tenant, runId)} is under legal hold; ` +
          'release the hold first (createLedger().releaseHold)',
        { details: { eventId, tenant, runId } },
      );
    }
    const records = this.#selectRedactionRecords.all(stream, seq, EventTypes.redacted) as {
      payload: string;
    }[];
    const named = records.some((record) => {
      const payload = parseObject(record.payload);
      return payload?.eventId === eventId && payload.payloadHash === target.payload_hash;
    });
    if (!named) {
      return new CustodyError(
        'CUSTODY_STORE_ERROR',
        `no ledger.redacted record in stream ${stream} names event ${eventId} with its payload hash; ` +
          'redact through createLedger().redact',
        { details: { eventId, stream } },
      );
    }
    return undefined;
  }

  /** Folds the hold events of `operator:<tenant>` in seq order: the latest per run id (or tenant-wide) decides. */
  #holds(tenant: string): Holds {
    const rows = this.#selectHolds.all(
      `operator:${tenant}`,
      EventTypes.holdPlaced,
      EventTypes.holdReleased,
    ) as { type: string; payload: string }[];
    let tenantHeld = false;
    const runIds = new Set<string>();
    for (const row of rows) {
      const payload = JSON.parse(row.payload) as unknown;
      // A JSON null payload names nothing, as an erased one (core reads `payload === null` the same).
      if (payload === null) continue;
      const runId = (payload as { runId?: unknown }).runId ?? null;
      const placed = row.type === EventTypes.holdPlaced;
      if (runId === null) tenantHeld = placed;
      else if (typeof runId === 'string') {
        if (placed) runIds.add(runId);
        else runIds.delete(runId);
      }
    }
    return { tenant: tenantHeld, runIds };
  }
}

/**
 * The heads listed by a tenant's `ledger.pruned` records, read newest first and only as far back
 * as needed: a prune of ten thousand runs parses its own record once, not every record ever written.
 */
class PrunedHeads {
  readonly #keys = new Set<string>();
  readonly #next: (before: number) => unknown;
  #before = Number.MAX_SAFE_INTEGER;
  #exhausted = false;

  constructor(next: (before: number) => unknown) {
    this.#next = next;
  }

  names(stream: string, seq: number, hash: string): boolean {
    const key = headKey(stream, seq, hash);
    while (!this.#keys.has(key)) {
      if (this.#exhausted) return false;
      const row = this.#next(this.#before) as { seq: number; payload: string } | undefined;
      if (!row) {
        this.#exhausted = true;
        return false;
      }
      this.#before = row.seq;
      const streams = parseObject(row.payload)?.streams;
      if (!Array.isArray(streams)) continue;
      for (const entry of streams as { stream?: unknown; seq?: unknown; hash?: unknown }[]) {
        if (
          typeof entry?.stream === 'string' &&
          typeof entry.seq === 'number' &&
          typeof entry.hash === 'string'
        ) {
          this.#keys.add(headKey(entry.stream, entry.seq, entry.hash));
        }
      }
    }
    return true;
  }
}

function headKey(stream: string, seq: number, hash: string): string {
  return JSON.stringify([stream, seq, hash]);
}

/** A stored payload's JSON, when it is an object (a record with any other payload names nothing). */
function parseObject(text: string): Record<string, unknown> | undefined {
  const value = JSON.parse(text) as unknown;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function isHeld(holds: Holds, runId: string | null): boolean {
  return holds.tenant || (runId !== null && holds.runIds.has(runId));
}

function heldWhat(holds: Holds, tenant: string, runId: string | null): string {
  return holds.tenant ? `tenant ${tenant}` : `run ${runId} of tenant ${tenant}`;
}
