import type { LedgerCheckpoint } from './checkpoint.js';
import type { LedgerEvent } from './event.js';

/** Events that no checkpoint covers, and how many streams they belong to. */
export interface UncoveredEvents {
  readonly events: number;
  readonly streams: number;
}

/**
 * Counts the events no checkpoint covers: an event is covered when some checkpoint pins its stream
 * at a seq at or after the event's. Until one does, a cut tail or a forged append among them
 * cannot be told from what the writer really wrote. Also returns the index of the first one.
 */
export function countUncovered(
  events: readonly LedgerEvent[],
  checkpoints: readonly LedgerCheckpoint[],
): UncoveredEvents & { readonly first: number } {
  const covered = new Map<string, number>();
  for (const checkpoint of checkpoints) {
    for (const [stream, head] of Object.entries(checkpoint.heads ?? {})) {
      const seq = head?.seq;
      if (typeof seq === 'number' && seq > (covered.get(stream) ?? -1)) covered.set(stream, seq);
    }
  }
  const streams = new Set<string>();
  let count = 0;
  let first = -1;
  for (let index = 0; index < events.length; index++) {
    // Runs before the shape checks of verification: a malformed event counts as uncovered.
    const event = events[index] as LedgerEvent | null;
    const seq = event?.seq;
    if (typeof seq === 'number' && seq <= (covered.get(event!.stream) ?? -1)) continue;
    count++;
    streams.add(String(event?.stream));
    if (first < 0) first = index;
  }
  return { events: count, streams: streams.size, first };
}
