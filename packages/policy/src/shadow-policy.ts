import {
  type ApproverRequirement,
  describeValue,
  invalidArgument,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRef,
  type PolicyRequest,
} from '@custody/core';

/** What changed between the live and the candidate decision. */
export type DecisionChange = 'effect' | 'ruleIds' | 'approvers';

/** One call the candidate policy would have decided differently. */
export interface PolicyDifference {
  readonly request: PolicyRequest;
  /** The decision that was returned (and acted on). */
  readonly live: PolicyDecision;
  /** What the candidate would have decided. */
  readonly candidate: PolicyDecision;
  /** Which parts differ; `ruleIds` and `approvers` are compared as sets. */
  readonly changes: readonly DecisionChange[];
}

/** Where a shadow-mode failure happened: the candidate engine, or the `onDifference` callback. */
export type ShadowFailureSource = 'candidate' | 'onDifference';

/** Options for {@link shadowPolicy}. */
export interface ShadowPolicyOptions {
  /**
   * Called for every call the candidate decides differently. May be async; whatever it throws or
   * rejects with goes to `onError`, never to the caller.
   */
  onDifference: (difference: PolicyDifference) => void;
  /**
   * Called when the candidate throws (or rejects) or `onDifference` fails. Shadow mode never
   * affects the live answer, so by default such failures are dropped; pass this to see them.
   */
  onError?: (
    error: unknown,
    info: { readonly request: PolicyRequest; readonly source: ShadowFailureSource },
  ) => void;
}

/** The engine {@link shadowPolicy} returns: the live engine's answers, with the candidate beside it. */
export interface ShadowPolicy extends PolicyEngine {
  /** The live engine's ref: it is the one deciding. */
  readonly ref: PolicyRef;
  readonly live: PolicyEngine;
  readonly candidate: PolicyEngine;
}

/**
 * Evaluates a candidate policy beside the live one: every call is answered by `live`, exactly as
 * without shadowing, and every call the candidate decides differently (effect, rule ids or
 * approvers) is reported to `onDifference` with both decisions. Nothing the candidate or the
 * callback does (throwing, rejecting) reaches the caller. Engines that answer with promises are
 * compared when both settle; synchronous engines are compared before `decide` returns.
 *
 * @example
 * ```ts
 * const engine = shadowPolicy(currentPolicy, nextPolicy, {
 *   onDifference: ({ request, live, candidate, changes }) =>
 *     logger.warn({ tool: request.tool.name, live: live.effect, candidate: candidate.effect, changes }, 'policy drift'),
 * });
 * const runtime = createRuntime({ policy: engine, … });
 * ```
 */
export function shadowPolicy(
  live: PolicyEngine,
  candidate: PolicyEngine,
  options: ShadowPolicyOptions,
): ShadowPolicy {
  assertEngine(live, 'live');
  assertEngine(candidate, 'candidate');
  if (typeof options !== 'object' || options === null || typeof options.onDifference !== 'function') {
    throw invalidArgument(
      `shadowPolicy() needs options with an onDifference function, such as { onDifference: (d) => log(d) }, got ${describeValue(options?.onDifference ?? options)}`,
    );
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw invalidArgument(
      `shadowPolicy() onError must be a function when given, got ${describeValue(options.onError)}`,
    );
  }
  const { onDifference, onError } = options;

  function fail(error: unknown, request: PolicyRequest, source: ShadowFailureSource): void {
    try {
      onError?.(error, { request, source });
    } catch {
      // The error reporter failing has nowhere left to go; the live answer must still be returned.
    }
  }

  function compare(
    request: PolicyRequest,
    liveDecision: PolicyDecision,
    candidateDecision: PolicyDecision,
  ): void {
    const changes = decisionChanges(liveDecision, candidateDecision);
    if (changes.length === 0) return;
    try {
      const outcome: unknown = onDifference({
        request,
        live: liveDecision,
        candidate: candidateDecision,
        changes,
      });
      if (isThenable(outcome))
        outcome.then(undefined, (error: unknown) => fail(error, request, 'onDifference'));
    } catch (error) {
      fail(error, request, 'onDifference');
    }
  }

  return Object.freeze({
    specificationVersion: 'v1' as const,
    ref: live.ref,
    live,
    candidate,
    decide(request: PolicyRequest): PolicyDecision | Promise<PolicyDecision> {
      const liveResult = live.decide(request);
      let candidateResult: PolicyDecision | Promise<PolicyDecision>;
      try {
        candidateResult = candidate.decide(request);
      } catch (error) {
        fail(error, request, 'candidate');
        return liveResult;
      }
      if (!isThenable(liveResult) && !isThenable(candidateResult)) {
        compare(request, liveResult, candidateResult);
        return liveResult;
      }
      Promise.resolve(candidateResult).then(
        (candidateDecision) =>
          Promise.resolve(liveResult).then(
            (liveDecision) => compare(request, liveDecision, candidateDecision),
            // A live failure is the caller's to handle, through the promise it was given.
            () => {},
          ),
        (error: unknown) => fail(error, request, 'candidate'),
      );
      return liveResult;
    },
  });
}

/**
 * Which parts of two decisions differ: `effect`, `ruleIds` or `approvers` (the last two compared
 * as sets, so order does not count). Empty when they agree. Shadow mode reports with it; a
 * what-if over recorded decisions can too.
 *
 * @example
 * ```ts
 * decisionChanges(recorded, candidate.decide(request)); // [] when they agree, else e.g. ['effect', 'ruleIds']
 * ```
 */
export function decisionChanges(a: PolicyDecision, b: PolicyDecision): DecisionChange[] {
  const changes: DecisionChange[] = [];
  if (a.effect !== b.effect) changes.push('effect');
  if (!sameIds(a.ruleIds, b.ruleIds)) changes.push('ruleIds');
  if (!sameApprovers(a.approvers ?? [], b.approvers ?? [])) changes.push('approvers');
  return changes;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((id) => b.includes(id)) && b.every((id) => a.includes(id));
}

function sameApprovers(a: readonly ApproverRequirement[], b: readonly ApproverRequirement[]): boolean {
  if (a.length !== b.length) return false;
  const has = (list: readonly ApproverRequirement[], r: ApproverRequirement) =>
    list.some((o) => o.role === r.role && o.count === r.count);
  return a.every((r) => has(b, r)) && b.every((r) => has(a, r));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

function assertEngine(engine: unknown, which: 'live' | 'candidate'): asserts engine is PolicyEngine {
  const candidate = engine as Partial<PolicyEngine> | null;
  if (
    typeof engine !== 'object' ||
    candidate === null ||
    candidate.specificationVersion !== 'v1' ||
    typeof candidate.decide !== 'function' ||
    typeof candidate.ref !== 'object'
  ) {
    throw invalidArgument(
      `shadowPolicy() ${which} must be a PolicyEngine (specificationVersion "v1", ref, decide), such as one from definePolicy(), got ${describeValue(engine)}`,
    );
  }
}
