import type { AgentIdentity, Principal, ResourceScope } from './principal.js';
import type { EffectClass } from './tool.js';

/** The three outcomes of a policy decision. */
export type DecisionEffect = 'allow' | 'deny' | 'require_approval';

/** Which policy decided: its id, version and content hash. Recorded with every decision. */
export interface PolicyRef {
  readonly id: string;
  readonly version: string;
  readonly hash: string;
}

/** Who must approve, when a decision is `require_approval`: `count` distinct holders of `role`. */
export interface ApproverRequirement {
  readonly role: string;
  readonly count: number;
}

/**
 * A policy decision, always explained: which policy, which rules determined it, and why in
 * words a reviewer (or the model, to re-plan) can read.
 */
export interface PolicyDecision {
  readonly effect: DecisionEffect;
  readonly policy: PolicyRef;
  /** Ids of the rules that determined the effect (all forbids for a deny, …). */
  readonly ruleIds: readonly string[];
  readonly reasons: readonly string[];
  /** For `require_approval`: every requirement that must be met (all of them). */
  readonly approvers?: readonly ApproverRequirement[];
  /** Rules that threw while evaluating; each was treated as a deny. */
  readonly errors?: readonly { readonly ruleId: string; readonly message: string }[];
}

/** What a policy sees of the run making a call. */
export interface PolicyRunContext {
  readonly runId: string;
  readonly principal: Principal;
  readonly onBehalfOf: Principal | undefined;
  readonly agent: AgentIdentity;
  readonly scope: ResourceScope;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Everything a policy decides on for one call. */
export interface PolicyRequest {
  readonly tool: {
    readonly name: string;
    readonly version: string;
    readonly connector: string;
    readonly action: string;
    readonly effect: EffectClass;
    readonly scopes: readonly string[];
  };
  /** The validated input (after the tool's schema parsed it). */
  readonly input: unknown;
  /** The resource the call touches: the run's scope overlaid with what the tool declared. */
  readonly resource: ResourceScope;
  readonly run: PolicyRunContext;
}

/**
 * The policy port. `@custody/policy` implements it with rules in TypeScript; any engine (OPA,
 * Cedar, a service) can, as long as it answers with an explained {@link PolicyDecision}.
 * `decide` may be synchronous; the runtime only awaits when it returns a promise.
 */
export interface PolicyEngine {
  readonly specificationVersion: 'v1';
  readonly ref: PolicyRef;
  decide(request: PolicyRequest): PolicyDecision | Promise<PolicyDecision>;
}
