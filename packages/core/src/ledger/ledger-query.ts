import type { LedgerEvent } from './event.js';
import { eventOutcome, eventToolName } from './event-fields.js';

/** Filters for reading the ledger. Every field narrows; all are optional. */
export interface LedgerQuery {
  readonly runId?: string;
  readonly stream?: string;
  readonly traceId?: string;
  readonly tenant?: string;
  /** One event type or several. */
  readonly type?: string | readonly string[];
  /** `kind:id` of the actor. */
  readonly actor?: string;
  /** Tool name, for tool events. */
  readonly tool?: string;
  /**
   * The outcome an event records (`ok`, `failed`, `allow`, `deny`, `succeeded`, …): its payload's
   * `status`, else `outcome`, else `effect`. See {@link eventOutcome}.
   */
  readonly outcome?: string;
  /** Inclusive ISO 8601 lower bound on `ts`. */
  readonly from?: string;
  /** Exclusive ISO 8601 upper bound on `ts`. */
  readonly to?: string;
  /** Page size (default 1000). */
  readonly limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  readonly cursor?: string;
}

/** True when `event` passes every filter of `query` (cursor and limit aside). */
export function matchesLedgerQuery(event: LedgerEvent, query: LedgerQuery): boolean {
  if (query.runId !== undefined && event.runId !== query.runId) return false;
  if (query.stream !== undefined && event.stream !== query.stream) return false;
  if (query.traceId !== undefined && event.traceId !== query.traceId) return false;
  if (query.tenant !== undefined && event.tenant !== query.tenant) return false;
  if (query.actor !== undefined && event.actor !== query.actor) return false;
  if (query.type !== undefined) {
    if (typeof query.type === 'string' ? event.type !== query.type : !query.type.includes(event.type))
      return false;
  }
  if (query.tool !== undefined && eventToolName(event) !== query.tool) return false;
  if (query.outcome !== undefined && eventOutcome(event) !== query.outcome) return false;
  if (query.from !== undefined && event.ts < query.from) return false;
  if (query.to !== undefined && event.ts >= query.to) return false;
  return true;
}
