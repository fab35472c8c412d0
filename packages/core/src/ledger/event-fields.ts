import type { LedgerEvent } from './event.js';

/** The tool name a tool event is about, if any (read from its payload). */
export function eventToolName(event: LedgerEvent): string | undefined {
  const payload = event.payload as { tool?: unknown } | null;
  return payload && typeof payload.tool === 'string' ? payload.tool : undefined;
}

/** The outcome an event records: `payload.status ?? payload.outcome ?? payload.effect`, when a string. */
export function eventOutcome(event: LedgerEvent): string | undefined {
  const payload = event.payload as { status?: unknown; outcome?: unknown; effect?: unknown } | null;
  if (payload === null || typeof payload !== 'object') return undefined;
  const value = payload.status ?? payload.outcome ?? payload.effect;
  return typeof value === 'string' ? value : undefined;
}
