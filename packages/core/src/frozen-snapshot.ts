/**
 * Values handed to app code (a tool's `execute`, `resource`, `verify`, `compensate`, policy rules)
 * are snapshots: parsed from the canonical JSON that was checked and recorded, then frozen all the
 * way down. So the caller cannot change them after the check (it holds no reference to them), and
 * no step can change what a later step or the ledger sees.
 */

/** Parses canonical JSON into a deep-frozen value. */
export function frozenFromJson<T = unknown>(json: string): T {
  return deepFreeze(JSON.parse(json)) as T;
}

/** Freezes a parsed JSON value and everything in it; returns it. Iterative: depth is no danger. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  const pending: object[] = [value];
  while (pending.length > 0) {
    const item = pending.pop()!;
    Object.freeze(item);
    for (const child of Object.values(item)) {
      if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) pending.push(child);
    }
  }
  return value;
}
