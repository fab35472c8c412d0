import { CustodyError } from '../errors.js';
import { type ChainHead, EventTypes, type LedgerEvent } from './event.js';

/**
 * The guards every ledger store keeps where a deletion happens (`deleteStreams`, `erasePayload`),
 * so a bug or a careless caller cannot skip them: nothing held is deleted or erased, and nothing is
 * deleted or erased without the operator record that explains it. Stores do not check signatures;
 * verification does. These functions work over events, so an in-process store calls them directly
 * and a SQL store can mirror them.
 */

/** The legal holds in force in one tenant's operator stream. */
export interface HoldsInForce {
  /** A tenant-wide hold (`runId: null`) is in force. */
  readonly tenant: boolean;
  /** Runs with a hold of their own in force. */
  readonly runIds: ReadonlySet<string>;
}

/**
 * Reads the holds in force from the events of stream `operator:<tenant>` (in seq order): for each
 * run id, and for the tenant (`payload.runId` null), the latest of `ledger.hold_placed` and
 * `ledger.hold_released` decides.
 */
export function holdsInForce(operatorEvents: Iterable<LedgerEvent>): HoldsInForce {
  let tenant = false;
  const runIds = new Set<string>();
  for (const event of operatorEvents) {
    if (event.type !== EventTypes.holdPlaced && event.type !== EventTypes.holdReleased) continue;
    // An erased hold event names nothing (ledger.redact refuses to erase one).
    if (event.payload === null) continue;
    const runId = (event.payload as { runId?: unknown }).runId ?? null;
    const placed = event.type === EventTypes.holdPlaced;
    if (runId === null) tenant = placed;
    else if (typeof runId === 'string') {
      if (placed) runIds.add(runId);
      else runIds.delete(runId);
    }
  }
  return { tenant, runIds };
}

/** True when the tenant, or the run `runId` of it, is under a legal hold. */
export function isHeld(holds: HoldsInForce, runId: string | null): boolean {
  return holds.tenant || (runId !== null && holds.runIds.has(runId));
}

/** True when `record` is a `ledger.pruned` event that lists `stream` with exactly `head` as its final head. */
export function pruneRecordNamesHead(record: LedgerEvent, stream: string, head: ChainHead): boolean {
  if (record.type !== EventTypes.pruned || record.stream !== `operator:${record.tenant}`) return false;
  const streams = (record.payload as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) return false;
  return streams.some(
    (entry: { stream?: unknown; seq?: unknown; hash?: unknown } | null) =>
      entry?.stream === stream && entry.seq === head.seq && entry.hash === head.hash,
  );
}

/**
 * True when `record` is a `ledger.redacted` event later in `target`'s stream that names `target`
 * by id and payload hash.
 */
export function redactionRecordNamesEvent(record: LedgerEvent, target: LedgerEvent): boolean {
  if (record.type !== EventTypes.redacted || record.stream !== target.stream || record.seq <= target.seq) {
    return false;
  }
  const payload = record.payload as { eventId?: unknown; payloadHash?: unknown } | null;
  return payload?.eventId === target.id && payload.payloadHash === target.payloadHash;
}

/**
 * Why `deleteStreams` must refuse to delete the stream whose events (in seq order) are
 * `streamEvents`, given the events of its tenant's operator stream; undefined when it may.
 * `CUSTODY_LEGAL_HOLD` when its run or tenant is held, `CUSTODY_STORE_ERROR` when no
 * `ledger.pruned` record names its current head.
 */
export function checkStreamDeletion(
  streamEvents: readonly LedgerEvent[],
  operatorEvents: readonly LedgerEvent[],
): CustodyError | undefined {
  const head = streamEvents.at(-1);
  if (!head) return undefined;
  const { stream, tenant, runId } = head;
  const holds = holdsInForce(operatorEvents);
  if (isHeld(holds, runId)) {
    return new CustodyError(
      'CUSTODY_LEGAL_HOLD',
      `stream ${stream} cannot be deleted: ${heldWhat(holds, tenant, runId)} is under legal hold; release the hold first (createLedger().releaseHold)`,
      { details: { stream, tenant, runId } },
    );
  }
  if (!operatorEvents.some((record) => pruneRecordNamesHead(record, stream, head))) {
    return new CustodyError(
      'CUSTODY_STORE_ERROR',
      `no ledger.pruned record names stream ${stream} at its head seq ${head.seq}; prune through createLedger().prune`,
      { details: { stream, seq: head.seq, hash: head.hash } },
    );
  }
  return undefined;
}

/**
 * Why `erasePayload` must refuse to erase `target`, given the events of its stream (in seq order)
 * and of its tenant's operator stream; undefined when it may. `CUSTODY_LEGAL_HOLD` when its run
 * or tenant is held, `CUSTODY_STORE_ERROR` when no `ledger.redacted` record later in its stream
 * names it with its payload hash.
 */
export function checkPayloadErasure(
  target: LedgerEvent,
  streamEvents: readonly LedgerEvent[],
  operatorEvents: readonly LedgerEvent[],
): CustodyError | undefined {
  const holds = holdsInForce(operatorEvents);
  if (isHeld(holds, target.runId)) {
    return new CustodyError(
      'CUSTODY_LEGAL_HOLD',
      `event ${target.id} cannot be erased: ${heldWhat(holds, target.tenant, target.runId)} is under legal hold; release the hold first (createLedger().releaseHold)`,
      { details: { eventId: target.id, tenant: target.tenant, runId: target.runId } },
    );
  }
  if (!streamEvents.some((record) => redactionRecordNamesEvent(record, target))) {
    return new CustodyError(
      'CUSTODY_STORE_ERROR',
      `no ledger.redacted record in stream ${target.stream} names event ${target.id} with its payload hash; redact through createLedger().redact`,
      { details: { eventId: target.id, stream: target.stream } },
    );
  }
  return undefined;
}

function heldWhat(holds: HoldsInForce, tenant: string, runId: string | null): string {
  return holds.tenant ? `tenant ${tenant}` : `run ${runId} of tenant ${tenant}`;
}
