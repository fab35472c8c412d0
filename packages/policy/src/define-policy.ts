import {
  describeValue,
  invalidArgument,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRef,
  type PolicyRequest,
} from '@custody/core';
import { compilePolicy } from './compiled-policy.js';
import type { PolicyExplanation } from './explanation.js';
import { computePolicyHash } from './policy-hash.js';
import type { PolicyRule } from './rule.js';
import { isPolicyRule } from './rule-builders.js';

/** The first argument of {@link definePolicy}: what the policy is called and which version it is. */
export interface PolicyDefinition {
  /** Stable name, recorded with every decision (`support-agent`). */
  id: string;
  /** Version, recorded with every decision and bound into approvals (`2025-06-01`, `3`, `1.4.0`). */
  version: string;
  /** For people; not part of the hash. */
  description?: string;
}

/**
 * A policy built by {@link definePolicy}: a {@link PolicyEngine} whose `decide` is synchronous,
 * plus its rules and an `explain` for debugging.
 */
export interface Policy extends PolicyEngine {
  readonly specificationVersion: 'v1';
  /** Id, version and content hash; every decision carries it. */
  readonly ref: PolicyRef;
  readonly description: string | undefined;
  /** The rules, in the order given. */
  readonly rules: readonly PolicyRule[];
  /**
   * Decides one call. Combining order: a matching forbid (or a rule whose condition failed)
   * denies; else any matching approval rule requires approval (requirements merged); else any
   * matching permit allows; else the call is denied by default.
   */
  decide(request: PolicyRequest): PolicyDecision;
  /** The same decision, with how every rule fared. Slower than `decide`; for tests and tooling. */
  explain(request: PolicyRequest): PolicyExplanation;
}

const DEFINITION_KEYS = ['id', 'version', 'description'];

/**
 * Declares a versioned policy from rules. Validates everything at once (a duplicate rule id, a
 * rule not built with `permit`/`forbid`/`requireApproval`, a missing version all throw
 * `CUSTODY_INVALID_ARGUMENT`) and computes the policy hash over the rules, their conditions'
 * source included, so any change to what decides changes `ref.hash`.
 *
 * @example
 * ```ts
 * import { definePolicy, forbid, permit, requireApproval } from '@custody/policy';
 *
 * const policy = definePolicy({ id: 'support-agent', version: '3' }, [
 *   permit({ id: 'gmail-read', tools: ['gmail.read', 'gmail.drafts.*'] }),
 *   forbid({ id: 'gmail-no-send', tools: ['gmail.send'], reason: 'a person sends email' }),
 *   permit({
 *     id: 'refund-small',
 *     tools: [refundTool],
 *     params: { limitCents: 5_000 },
 *     when: ({ input, params }) => input.amountCents < params.limitCents,
 *   }),
 *   requireApproval({
 *     id: 'refund-large',
 *     tools: [refundTool],
 *     params: { limitCents: 5_000 },
 *     when: ({ input, params }) => input.amountCents >= params.limitCents,
 *     approvers: { role: 'finance', count: 2 },
 *   }),
 * ]);
 *
 * policy.decide(request); // { effect: 'allow', policy: { id, version, hash }, ruleIds: ['refund-small'], … }
 * ```
 */
export function definePolicy(definition: PolicyDefinition, rules: readonly PolicyRule[]): Policy {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw invalidArgument(
      `definePolicy() expects { id, version } as its first argument, such as { id: "support-agent", version: "1" }, got ${describeValue(definition)}`,
    );
  }
  const { id, version, description } = definition;
  if (typeof id !== 'string' || id.trim() === '') {
    throw invalidArgument(
      `definePolicy() policy id must be a non-empty string such as "support-agent", got ${describeValue(id)}`,
    );
  }
  const where = `definePolicy() policy "${id}"`;
  for (const key of Object.keys(definition)) {
    if (!DEFINITION_KEYS.includes(key)) {
      throw invalidArgument(
        `${where}: unknown option "${key}"; valid options are ${DEFINITION_KEYS.join(', ')}`,
      );
    }
  }
  if (typeof version !== 'string' || version.trim() === '') {
    throw invalidArgument(
      `${where}: version must be a non-empty string such as "1" or "2025-06-01", got ${describeValue(version)}`,
    );
  }
  if (description !== undefined && typeof description !== 'string') {
    throw invalidArgument(
      `${where}: description must be a string when given, got ${describeValue(description)}`,
    );
  }
  if (!Array.isArray(rules)) {
    throw invalidArgument(
      `${where}: rules must be an array of rules built with permit(), forbid() or requireApproval(), got ${describeValue(rules)}`,
    );
  }
  const firstIndex = new Map<string, number>();
  rules.forEach((rule: unknown, index) => {
    if (!isPolicyRule(rule)) {
      throw invalidArgument(
        `${where}: rules[${index}] is not a rule, got ${describeValue(rule)}; build each rule with permit(), forbid() or requireApproval()`,
      );
    }
    const earlier = firstIndex.get(rule.id);
    if (earlier !== undefined) {
      throw invalidArgument(
        `${where}: rules[${earlier}] and rules[${index}] share the id "${rule.id}"; give each rule a unique id (ids appear in every decision)`,
        { ruleId: rule.id, indexes: [earlier, index] },
      );
    }
    firstIndex.set(rule.id, index);
  });

  const frozenRules = Object.freeze([...rules]);
  const ref: PolicyRef = Object.freeze({ id, version, hash: computePolicyHash(id, version, frozenRules) });
  const compiled = compilePolicy(ref, frozenRules);
  return Object.freeze({
    specificationVersion: 'v1' as const,
    ref,
    description,
    rules: frozenRules,
    decide: compiled.decide,
    explain: compiled.explain,
  });
}
