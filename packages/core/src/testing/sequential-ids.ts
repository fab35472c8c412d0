import type { IdKind, IdSource } from '../ids.js';

/**
 * Deterministic ids: `run_0001`, `call_0001`, … and counting trace and span ids. Two runtimes
 * with fresh sequential ids produce identical ledgers for identical work (salts aside).
 */
export function createSequentialIds(): IdSource {
  const counters = new Map<string, number>();
  const bump = (kind: string) => {
    const next = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, next);
    return next;
  };
  return {
    next: (kind: IdKind) => `${kind}_${String(bump(kind)).padStart(4, '0')}`,
    traceId: () => bump('trace').toString(16).padStart(32, '0'),
    spanId: () => bump('span').toString(16).padStart(16, '0'),
  };
}
