export type { Policy, PolicyDefinition } from './define-policy.js';
export { definePolicy } from './define-policy.js';
export type { PolicyExplanation, RuleOutcome, RuleTrace } from './explanation.js';
export { hasRole, hasScope } from './principal-checks.js';
export type {
  ApprovalRuleOptions,
  PolicyRule,
  RuleCondition,
  RuleContext,
  RuleEffect,
  RuleOptions,
  ToolInput,
  ToolTarget,
} from './rule.js';
export { forbid, isPolicyRule, permit, requireApproval } from './rule-builders.js';
export type {
  DecisionChange,
  PolicyDifference,
  ShadowFailureSource,
  ShadowPolicy,
  ShadowPolicyOptions,
} from './shadow-policy.js';
export { decisionChanges, shadowPolicy } from './shadow-policy.js';
