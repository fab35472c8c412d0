import { type AnyTool, CustodyError, type PolicyEngine, type RedactionPolicy, type Run } from '@custody/core';
import type { ReplayBundle } from './bundle.js';

/**
 * How an app is replayed: its current tools, its agent (given the run and the bundle, so it can
 * read the task from the run's metadata), and optionally the policy and redaction it runs with.
 * A test, `custody eval` and the replay helpers all take one.
 */
export interface ReplaySetup {
  readonly tools: readonly AnyTool[];
  readonly agent: (run: Run, bundle: ReplayBundle) => unknown;
  /** The current policy: used by policy what-if and by evaluations that re-decide calls. */
  readonly policy?: PolicyEngine;
  readonly redaction?: RedactionPolicy;
}

/**
 * Declares how to replay an app. Validates at once.
 *
 * @example
 * ```ts
 * export default defineReplaySetup({
 *   tools,
 *   policy: supportPolicy,
 *   agent: (run, bundle) => triageAgent(run, bundle.run.metadata.ticket as Ticket),
 * });
 * ```
 */
export function defineReplaySetup(setup: ReplaySetup): ReplaySetup {
  if (typeof setup?.agent !== 'function') {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      'a replay setup needs agent: (run, bundle) => yourAgent(run, …)',
    );
  }
  if (!Array.isArray(setup.tools)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      'a replay setup needs tools: the array of tools the app registers',
    );
  }
  if (setup.policy !== undefined && typeof setup.policy.decide !== 'function') {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      'a replay setup policy must be a policy engine (definePolicy)',
    );
  }
  return Object.freeze({ ...setup });
}
