import type { PolicyDecision } from '@custody/core';
import type { RuleEffect } from './rule.js';

/**
 * How one rule fared for one call:
 * - `tool_not_matched`: none of its tool patterns matched; its condition did not run.
 * - `matched`: a pattern matched and its condition (if any) returned `true`.
 * - `condition_false`: a pattern matched and its condition returned `false`.
 * - `error`: its condition threw or returned something other than a boolean; treated as a forbid.
 */
export type RuleOutcome = 'tool_not_matched' | 'matched' | 'condition_false' | 'error';

/** One rule's part in a decision, as {@link Policy.explain} reports it. */
export interface RuleTrace {
  readonly ruleId: string;
  readonly effect: RuleEffect;
  readonly outcome: RuleOutcome;
  /** For `error`: what went wrong. */
  readonly error?: string;
}

/** A decision together with how every rule of the policy fared. */
export interface PolicyExplanation {
  readonly decision: PolicyDecision;
  /** Every rule of the policy, in policy order. */
  readonly rules: readonly RuleTrace[];
}
