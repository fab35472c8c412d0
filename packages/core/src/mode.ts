import { describeValue, invalidArgument } from './errors.js';
import type { EffectClass } from './tool.js';

/**
 * What may run. `normal`: everything the policy allows. `read_only`: only tools whose effect is
 * `read`. `paused`: nothing (the kill switch).
 */
export type Mode = 'normal' | 'read_only' | 'paused';

const MODES: readonly Mode[] = ['normal', 'read_only', 'paused'];
const SEVERITY: Record<Mode, number> = { normal: 0, read_only: 1, paused: 2 };

/** Where a mode applies: everywhere, one tenant, one connector, or one connector of one tenant. */
export interface ModeTarget {
  readonly tenant?: string;
  readonly connector?: string;
}

/** Key of a target in the mode table. */
export function modeKey(target: ModeTarget): string {
  return `${target.tenant ?? '*'}/${target.connector ?? '*'}`;
}

/** Throws a clear error unless `mode` is a {@link Mode}. */
export function assertMode(mode: unknown): asserts mode is Mode {
  if (!MODES.includes(mode as Mode)) {
    throw invalidArgument(`mode must be one of ${MODES.join(', ')}, got ${describeValue(mode)}`);
  }
}

/**
 * The mode table of a runtime. The effective mode of a call is the most restrictive of the
 * global mode, its tenant's, its connector's and its tenant-and-connector's.
 */
export class ModeTable {
  readonly #modes = new Map<string, Mode>();

  set(mode: Mode, target: ModeTarget): void {
    const key = modeKey(target);
    if (mode === 'normal') this.#modes.delete(key);
    else this.#modes.set(key, mode);
  }

  /** The effective mode for a tenant and connector, and the target that set it. */
  effective(tenant: string, connector: string): { mode: Mode; setAt: string } {
    if (this.#modes.size === 0) return { mode: 'normal', setAt: '*/*' };
    let mode: Mode = 'normal';
    let setAt = '*/*';
    for (const key of ['*/*', `${tenant}/*`, `*/${connector}`, `${tenant}/${connector}`]) {
      const candidate = this.#modes.get(key);
      if (candidate && SEVERITY[candidate] > SEVERITY[mode]) {
        mode = candidate;
        setAt = key;
      }
    }
    return { mode, setAt };
  }

  /** Current non-normal entries, for inspection. */
  entries(): { target: string; mode: Mode }[] {
    return [...this.#modes].map(([target, mode]) => ({ target, mode }));
  }
}

/** True when a tool of this effect may run in this mode. */
export function modeAllows(mode: Mode, effect: EffectClass): boolean {
  return mode === 'normal' || (mode === 'read_only' && effect === 'read');
}
