import {
  type ApproverRequirement,
  describeValue,
  matchesAny,
  type PolicyDecision,
  type PolicyRef,
  type PolicyRequest,
} from '@custody/core';
import { mergeApprovers } from './approvers.js';
import type { PolicyExplanation, RuleOutcome, RuleTrace } from './explanation.js';
import type { PolicyRule, RuleContext } from './rule.js';

/** A rule with what decide() needs precomputed. */
interface CompiledRule {
  readonly rule: PolicyRule;
  /** Position in the policy, for explanations. */
  readonly index: number;
  /** The reason recorded when the rule determines a decision. */
  readonly reason: string;
}

/** The rules that apply to one tool name. */
interface ToolEntry {
  readonly toolName: string;
  /** Rules whose patterns match the tool, in policy order. */
  readonly rules: readonly CompiledRule[];
}

interface RuleError {
  readonly ruleId: string;
  readonly message: string;
}

type RuleObserver = (compiled: CompiledRule, outcome: RuleOutcome, error?: string) => void;

/** Tool names seen are bounded by the catalog; the cap only guards against a runaway caller. */
const MAX_TOOL_ENTRIES = 4096;

/** The evaluation half of a policy: tool lookup, conditions and combining. */
export interface CompiledPolicy {
  decide(request: PolicyRequest): PolicyDecision;
  explain(request: PolicyRequest): PolicyExplanation;
}

/**
 * Compiles rules once: tool patterns are matched once per tool name (the rules that apply to a
 * tool are kept), and each call evaluates those rules' conditions and combines the outcome.
 */
export function compilePolicy(ref: PolicyRef, rules: readonly PolicyRule[]): CompiledPolicy {
  const compiled: CompiledRule[] = rules.map((rule, index) => ({ rule, index, reason: reasonOf(rule) }));
  const entries = new Map<string, ToolEntry>();

  function entryFor(toolName: string): ToolEntry {
    let entry = entries.get(toolName);
    if (entry) return entry;
    entry = { toolName, rules: compiled.filter((c) => matchesAny(c.rule.tools, toolName)) };
    if (entries.size < MAX_TOOL_ENTRIES) entries.set(toolName, entry);
    return entry;
  }

  function evaluate(request: PolicyRequest, observe?: RuleObserver): PolicyDecision {
    const entry = entryFor(request.tool.name);
    const matched: boolean[] = [];
    const errors: (RuleError & { index: number })[] = [];
    let context: RuleContext | undefined;
    entry.rules.forEach((c, i) => {
      if (c.rule.when) context ??= contextOf(request);
      const verdict = checkRule(c, context);
      if (verdict.error !== undefined) {
        errors.push({ index: i, ruleId: c.rule.id, message: verdict.error });
        observe?.(c, 'error', verdict.error);
      } else {
        observe?.(c, verdict.matched ? 'matched' : 'condition_false');
      }
      matched[i] = verdict.matched;
    });
    return buildDecision(entry, (i) => matched[i] === true, errors.length > 0 ? errors : undefined);
  }

  /** Combines: errors and forbids deny; else approvals; else permits; else default deny. */
  function buildDecision(
    entry: ToolEntry,
    isMatched: (i: number) => boolean,
    errors?: readonly (RuleError & { index: number })[],
  ): PolicyDecision {
    const denyIds: string[] = [];
    const denyReasons: string[] = [];
    const approval: CompiledRule[] = [];
    const permitted: CompiledRule[] = [];
    let errorAt = 0;
    entry.rules.forEach((c, i) => {
      const error = errors?.[errorAt];
      if (error && error.index === i) {
        errorAt++;
        denyIds.push(c.rule.id);
        denyReasons.push(`rule "${c.rule.id}" failed and counts as a forbid: ${error.message}`);
        return;
      }
      if (!isMatched(i)) return;
      if (c.rule.effect === 'forbid') {
        denyIds.push(c.rule.id);
        denyReasons.push(c.reason);
      } else if (c.rule.effect === 'require_approval') approval.push(c);
      else permitted.push(c);
    });

    if (denyIds.length > 0) {
      const decision: Mutable<PolicyDecision> = {
        effect: 'deny',
        policy: ref,
        ruleIds: denyIds,
        reasons: denyReasons,
      };
      if (errors)
        decision.errors = Object.freeze(
          errors.map(({ ruleId, message }) => Object.freeze({ ruleId, message })),
        );
      return freezeDecision(decision);
    }
    if (approval.length > 0) {
      return freezeDecision({
        effect: 'require_approval',
        policy: ref,
        ruleIds: approval.map((c) => c.rule.id),
        reasons: approval.map((c) => c.reason),
        approvers: mergeApprovers(approval.map((c) => c.rule.approvers as readonly ApproverRequirement[])),
      });
    }
    if (permitted.length > 0) {
      return freezeDecision({
        effect: 'allow',
        policy: ref,
        ruleIds: permitted.map((c) => c.rule.id),
        reasons: permitted.map((c) => c.reason),
      });
    }
    return freezeDecision({
      effect: 'deny',
      policy: ref,
      ruleIds: [],
      reasons: [
        `no rule of policy "${ref.id}" (version ${ref.version}) permitted tool "${entry.toolName}" for this call; it is denied by default`,
      ],
    });
  }

  return {
    decide: (request) => evaluate(request),
    explain(request) {
      const outcomes: RuleTrace[] = compiled.map((c) => ({
        ruleId: c.rule.id,
        effect: c.rule.effect,
        outcome: 'tool_not_matched',
      }));
      const decision = evaluate(request, (c, outcome, error) => {
        outcomes[c.index] = Object.freeze(
          error === undefined
            ? { ruleId: c.rule.id, effect: c.rule.effect, outcome }
            : { ruleId: c.rule.id, effect: c.rule.effect, outcome, error },
        );
      });
      return Object.freeze({ decision, rules: Object.freeze(outcomes.map((trace) => Object.freeze(trace))) });
    },
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function freezeDecision(decision: PolicyDecision): PolicyDecision {
  Object.freeze(decision.ruleIds);
  Object.freeze(decision.reasons);
  return Object.freeze(decision);
}

/** Whether a rule's condition holds for the call (a rule without one always matches), or why it failed. */
function checkRule(c: CompiledRule, context: RuleContext | undefined): { matched: boolean; error?: string } {
  const when = c.rule.when;
  if (!when || !context) return { matched: true };
  let result: unknown;
  try {
    result = when(c.rule.params === undefined ? context : { ...context, params: c.rule.params });
  } catch (error) {
    return {
      matched: false,
      error: error instanceof Error ? error.message || error.name : `threw ${describeValue(error)}`,
    };
  }
  if (result === true || result === false) return { matched: result };
  return { matched: false, error: nonBooleanMessage(result) };
}

function reasonOf(rule: PolicyRule): string {
  if (rule.reason !== undefined) return rule.reason;
  if (rule.effect === 'forbid') return `forbidden by rule "${rule.id}"`;
  if (rule.effect === 'require_approval') return `rule "${rule.id}" requires approval`;
  return `permitted by rule "${rule.id}"`;
}

function contextOf(request: PolicyRequest): RuleContext {
  const run = request.run;
  return {
    input: request.input,
    params: undefined,
    tool: request.tool,
    resource: request.resource,
    principal: run.principal,
    onBehalfOf: run.onBehalfOf,
    agent: run.agent,
    scope: run.scope,
    metadata: run.metadata,
    runId: run.runId,
    request,
  };
}

function nonBooleanMessage(result: unknown): string {
  if (
    typeof result === 'object' &&
    result !== null &&
    typeof (result as PromiseLike<unknown>).then === 'function'
  ) {
    // An async condition: keep its eventual rejection from surfacing as an unhandled one.
    Promise.resolve(result).catch(() => {});
    return 'condition returned a Promise; conditions must be synchronous (not async) and return true or false';
  }
  return `condition must return true or false, got ${describeValue(result)}`;
}
