import type {
  AgentIdentity,
  AnyTool,
  ApproverRequirement,
  PolicyRequest,
  Principal,
  ResourceScope,
  Tool,
} from '@custody/core';
import type { z } from 'zod';

/** What a matching rule asks for. Combined across rules: forbid, then require_approval, then permit. */
export type RuleEffect = 'permit' | 'forbid' | 'require_approval';

/**
 * What a rule applies to: a tool name pattern (`stripe.refund`, `jira.*`, `*.read`; `*` matches any
 * run of characters, dots included) or a tool built with `defineTool`, which matches its name
 * exactly and types the rule's condition input.
 */
export type ToolTarget = string | AnyTool;

/**
 * The input type a condition sees for a set of targets: the parsed input of the tools' schemas
 * when every target is a tool object, `unknown` as soon as one is a name pattern.
 */
export type ToolInput<T extends ToolTarget> = T extends Tool<infer I, infer _O> ? z.output<I> : unknown;

/**
 * What a rule's condition receives: the call's validated input (typed from the tool's schema when
 * the rule names tool objects), the rule's own `params`, and the run making the call.
 */
export interface RuleContext<I = unknown, P = unknown> {
  /** The input after the tool's schema parsed it. */
  readonly input: I;
  /** The rule's `params`, exactly as declared (they are part of the policy hash). */
  readonly params: P;
  /** The tool being called. */
  readonly tool: PolicyRequest['tool'];
  /** The resource the call touches; the runtime has already checked it lies inside `scope`. */
  readonly resource: ResourceScope;
  /** Who acts. */
  readonly principal: Principal;
  /** The user an agent acts for, if any. */
  readonly onBehalfOf: Principal | undefined;
  readonly agent: AgentIdentity;
  /** The resource scope the run is bound to. */
  readonly scope: ResourceScope;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly runId: string;
  /** The whole request, for anything the fields above do not cover. */
  readonly request: PolicyRequest;
}

/**
 * A synchronous predicate over a call. Must return `true` or `false`: anything else (a promise from
 * an `async` function, `undefined`, a number) is reported as an error and the call is denied.
 */
export type RuleCondition<I = unknown, P = unknown> = (context: RuleContext<I, P>) => boolean;

/** Options shared by {@link permit}, {@link forbid} and {@link requireApproval}. */
export interface RuleOptions<T extends ToolTarget = ToolTarget, P = undefined> {
  /** Unique within the policy; recorded in every decision the rule determines. */
  id: string;
  /** Tool name patterns (`jira.*`) or tools from `defineTool`. At least one. */
  tools: readonly T[];
  /** Optional condition; the rule applies only when it returns `true`. */
  when?: RuleCondition<ToolInput<T>, P>;
  /**
   * JSON values the condition reads (thresholds, allow-lists). Prefer them over values captured
   * from the surrounding code: params are part of the policy hash, captured variables are not.
   */
  params?: P;
  /** Human-readable reason, recorded in decisions and shown to reviewers (and the model). */
  reason?: string;
}

/** Options for {@link requireApproval}: a rule plus who must approve. */
export interface ApprovalRuleOptions<T extends ToolTarget = ToolTarget, P = undefined>
  extends RuleOptions<T, P> {
  /** `count` distinct approvers holding `role`; several requirements must all be met. */
  approvers: ApproverRequirement | readonly ApproverRequirement[];
}

/**
 * A rule as a policy holds it: validated, frozen, with tool objects reduced to their names. Build
 * one with {@link permit}, {@link forbid} or {@link requireApproval}.
 */
export interface PolicyRule {
  readonly id: string;
  readonly effect: RuleEffect;
  /** Tool name patterns, in the order given. */
  readonly tools: readonly string[];
  /** Only for `require_approval` rules. */
  readonly approvers?: readonly ApproverRequirement[];
  readonly reason?: string;
  readonly params?: unknown;
  readonly when?: RuleCondition;
}
