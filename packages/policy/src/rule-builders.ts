import { CustodyError, describeValue, globToRegExp, invalidArgument } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { validateApprovers } from './approvers.js';
import type {
  ApprovalRuleOptions,
  PolicyRule,
  RuleCondition,
  RuleEffect,
  RuleOptions,
  ToolTarget,
} from './rule.js';

const RULE_BRAND = Symbol.for('@custody/policy/PolicyRule');

/** Letters, digits, `_`, `-`, `.` (what a tool name may hold) and `*`. */
const TOOL_PATTERN = /^[A-Za-z0-9_.*-]+$/;

const BUILDERS: Record<RuleEffect, string> = {
  permit: 'permit',
  forbid: 'forbid',
  require_approval: 'requireApproval',
};

const COMMON_OPTIONS = ['id', 'tools', 'when', 'params', 'reason'] as const;

/** Likely mistakes for option names; a misspelt condition would otherwise make a rule unconditional. */
const SUGGESTIONS: Record<string, string> = {
  condition: 'when',
  if: 'when',
  where: 'when',
  predicate: 'when',
  tool: 'tools',
  patterns: 'tools',
  match: 'tools',
  approver: 'approvers',
  approval: 'approvers',
  message: 'reason',
  description: 'reason',
  name: 'id',
};

/**
 * A rule that allows matching calls, unless a forbid or an approval rule also matches.
 *
 * @example
 * ```ts
 * permit({ id: 'jira-issues', tools: ['jira.issues.*'], reason: 'agents may file and edit issues' });
 *
 * // With tool objects, the condition's input is typed from the tool's schema.
 * permit({
 *   id: 'refund-small',
 *   tools: [refundTool],
 *   params: { limitCents: 5_000 },
 *   when: ({ input, params }) => input.amountCents < params.limitCents,
 * });
 * ```
 */
export function permit<const T extends ToolTarget, P = undefined>(options: RuleOptions<T, P>): PolicyRule {
  return buildRule('permit', options);
}

/**
 * A rule that denies matching calls. Any matching forbid wins over every other rule.
 *
 * @example
 * ```ts
 * forbid({ id: 'no-send', tools: ['gmail.send'], reason: 'the assistant drafts; a person sends' });
 * forbid({
 *   id: 'no-cross-tenant-admin',
 *   tools: ['*.admin.*'],
 *   when: ({ principal }) => !hasRole(principal, 'admin'),
 * });
 * ```
 */
export function forbid<const T extends ToolTarget, P = undefined>(options: RuleOptions<T, P>): PolicyRule {
  return buildRule('forbid', options);
}

/**
 * A rule that sends matching calls for approval: `count` distinct approvers holding `role` (all
 * requirements must be met). Wins over permits; loses to forbids. When several approval rules
 * match, their requirements are merged (per role, the highest count).
 *
 * @example
 * ```ts
 * requireApproval({
 *   id: 'refund-large',
 *   tools: [refundTool],
 *   params: { limitCents: 5_000 },
 *   when: ({ input, params }) => input.amountCents >= params.limitCents,
 *   approvers: { role: 'finance', count: 2 },
 *   reason: 'large refunds need two people from finance',
 * });
 * ```
 */
export function requireApproval<const T extends ToolTarget, P = undefined>(
  options: ApprovalRuleOptions<T, P>,
): PolicyRule {
  return buildRule('require_approval', options);
}

/** True for a rule built by this package (any copy of it). */
export function isPolicyRule(value: unknown): value is PolicyRule {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RULE_BRAND] === true
  );
}

function buildRule(effect: RuleEffect, options: unknown): PolicyRule {
  const builder = BUILDERS[effect];
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(
      `${builder}() expects an options object such as { id: "my-rule", tools: ["jira.*"] }, got ${describeValue(options)}`,
    );
  }
  const spec = options as Record<string, unknown>;
  const { id } = spec;
  if (typeof id !== 'string' || id.trim() === '' || id.trim() !== id) {
    throw invalidArgument(
      `${builder}() rule id must be a non-empty string without surrounding spaces, such as "refund-small", got ${describeValue(id)}`,
    );
  }
  const where = `${builder}() rule "${id}"`;

  const allowed: readonly string[] =
    effect === 'require_approval' ? [...COMMON_OPTIONS, 'approvers'] : COMMON_OPTIONS;
  for (const key of Object.keys(spec)) {
    if (allowed.includes(key)) continue;
    if (key === 'approvers') {
      throw invalidArgument(
        `${where}: approvers only apply to requireApproval(); use requireApproval() for this rule`,
      );
    }
    const hint = SUGGESTIONS[key] ? `did you mean "${SUGGESTIONS[key]}"? ` : '';
    throw invalidArgument(
      `${where}: unknown option "${key}"; ${hint}valid options are ${allowed.join(', ')}`,
    );
  }

  const tools = validateTools(spec.tools, where);

  const { when, reason, params } = spec;
  if (when !== undefined && typeof when !== 'function') {
    throw invalidArgument(
      `${where}: when must be a function returning true or false, such as ({ input }) => input.amountCents < 5000, got ${describeValue(when)}`,
    );
  }
  if (reason !== undefined && (typeof reason !== 'string' || reason.trim() === '')) {
    throw invalidArgument(
      `${where}: reason must be a non-empty string when given, got ${describeValue(reason)}`,
    );
  }
  if (params !== undefined) {
    try {
      canonicalize(params);
    } catch (error) {
      const detail = CustodyError.isInstance(error)
        ? error.message.replace(/^\[custody\] /, '')
        : String(error);
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `${where}: params must be plain JSON (they are hashed into the policy): ${detail}`,
        { cause: error },
      );
    }
  }

  const rule: Record<string | symbol, unknown> = { id, effect, tools };
  if (effect === 'require_approval') rule.approvers = validateApprovers(spec.approvers, where);
  if (reason !== undefined) rule.reason = reason;
  if (params !== undefined) rule.params = deepFreeze(structuredClone(params));
  if (when !== undefined) rule.when = when as RuleCondition;
  Object.defineProperty(rule, RULE_BRAND, { value: true });
  return Object.freeze(rule) as unknown as PolicyRule;
}

function validateTools(value: unknown, where: string): readonly string[] {
  const fix = 'pass tool name patterns such as ["jira.*"] or tools built with defineTool';
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument(`${where}: tools must be a non-empty array, got ${describeValue(value)}; ${fix}`);
  }
  const patterns = value.map((target: unknown, index) => {
    if (typeof target === 'string') {
      if (!TOOL_PATTERN.test(target)) {
        throw invalidArgument(
          `${where}: tools[${index}] must be a tool name pattern made of letters, digits, "_", "-", "." and "*" (such as "jira.*"), got ${describeValue(target)}`,
        );
      }
      globToRegExp(target);
      return target;
    }
    if (isTool(target)) return target.name;
    throw invalidArgument(
      `${where}: tools[${index}] is neither a pattern nor a tool, got ${describeValue(target)}; ${fix}`,
    );
  });
  return Object.freeze(patterns);
}

function isTool(value: unknown): value is { name: string } {
  if (typeof value !== 'object' || value === null) return false;
  const tool = value as Record<string, unknown>;
  return (
    typeof tool.name === 'string' && typeof tool.execute === 'function' && typeof tool.connector === 'string'
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
