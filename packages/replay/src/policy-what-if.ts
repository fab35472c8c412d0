import {
  type AnyTool,
  CustodyError,
  type DecisionEffect,
  type PolicyEngine,
  type PolicyRef,
  type PolicyRequest,
} from '@custody/core';
import type { ReplayBundle } from './bundle.js';

/** One recorded decision and what the candidate policy says instead. */
export interface DecisionComparison {
  readonly step: number;
  readonly callId: string;
  readonly tool: string;
  readonly input: unknown;
  readonly recorded: {
    readonly effect: DecisionEffect;
    readonly ruleIds: readonly string[];
    readonly policy: PolicyRef;
  };
  readonly candidate: {
    readonly effect: DecisionEffect;
    readonly ruleIds: readonly string[];
    readonly policy: PolicyRef;
    readonly reasons: readonly string[];
  };
  readonly changed: boolean;
}

/** The result of {@link policyWhatIf}. */
export interface PolicyWhatIfResult {
  readonly runId: string;
  /** Every recorded decision, re-decided. */
  readonly decisions: readonly DecisionComparison[];
  /** Only the decisions whose effect or rule ids would change. */
  readonly changes: readonly DecisionComparison[];
  /** Calls stopped before the policy (unknown tool, allow-list, scopes, resource, mode): not re-decided. */
  readonly notDecided: number;
}

/**
 * Re-decides every recorded call of a run under a candidate policy and lists each decision that
 * would change, with the rule ids on both sides. Nothing is executed and no agent runs: the
 * requests are rebuilt from the recording (principal, agent, scope, tool, input, resource).
 *
 * @example
 * ```ts
 * const { changes } = await policyWhatIf(bundle, candidatePolicy);
 * for (const change of changes) console.log(change.tool, change.recorded.effect, '→', change.candidate.effect);
 * ```
 */
export async function policyWhatIf(
  bundle: ReplayBundle,
  candidate: PolicyEngine,
  options: { tools?: readonly AnyTool[] } = {},
): Promise<PolicyWhatIfResult> {
  if (typeof candidate?.decide !== 'function') {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      'policyWhatIf needs a candidate policy engine (definePolicy)',
    );
  }
  const catalog = new Map(bundle.tools.map((entry) => [entry.name, entry]));
  const current = new Map((options.tools ?? []).map((tool) => [tool.name, tool]));
  const principal = (value: typeof bundle.run.principal) => ({
    kind: value.kind,
    id: value.id,
    roles: value.roles,
    ...(value.scopes ? { scopes: value.scopes } : {}),
    ...(value.tenant ? { tenant: value.tenant } : {}),
  });
  const decisions: DecisionComparison[] = [];
  let notDecided = 0;
  for (const [step, recorded] of bundle.steps.entries()) {
    if (recorded.kind !== 'tool') continue;
    if (!recorded.decision) {
      notDecided++;
      continue;
    }
    const entry = catalog.get(recorded.tool);
    const tool = current.get(recorded.tool);
    const dot = recorded.tool.indexOf('.');
    const request: PolicyRequest = {
      tool: {
        name: recorded.tool,
        version: tool?.version ?? entry?.version ?? 'unknown',
        connector: recorded.tool.slice(0, dot),
        action: recorded.tool.slice(dot + 1),
        effect: tool?.effect ?? entry?.effect ?? 'write',
        scopes: tool?.scopes ?? entry?.scopes ?? [],
      },
      input: structuredClone(recorded.input),
      resource: recorded.decision.resource ?? bundle.run.scope,
      run: {
        runId: bundle.run.runId,
        principal: principal(bundle.run.principal),
        onBehalfOf: bundle.run.onBehalfOf ? principal(bundle.run.onBehalfOf) : undefined,
        agent: bundle.run.agent,
        scope: bundle.run.scope,
        metadata: bundle.run.metadata,
      },
    };
    let answer: Awaited<ReturnType<PolicyEngine['decide']>>;
    try {
      answer = await candidate.decide(request);
    } catch (error) {
      answer = {
        effect: 'deny',
        policy: candidate.ref,
        ruleIds: [],
        reasons: [`candidate policy failed to decide: ${(error as Error)?.message ?? String(error)}`],
      };
    }
    const sameRules =
      answer.ruleIds.length === recorded.decision.ruleIds.length &&
      [...answer.ruleIds].sort().every((id, i) => id === [...recorded.decision!.ruleIds].sort()[i]);
    decisions.push({
      step,
      callId: recorded.callId,
      tool: recorded.tool,
      input: recorded.input,
      recorded: {
        effect: recorded.decision.effect,
        ruleIds: recorded.decision.ruleIds,
        policy: recorded.decision.policy,
      },
      candidate: {
        effect: answer.effect,
        ruleIds: answer.ruleIds,
        policy: answer.policy,
        reasons: answer.reasons,
      },
      changed: answer.effect !== recorded.decision.effect || !sameRules,
    });
  }
  return { runId: bundle.run.runId, decisions, changes: decisions.filter((d) => d.changed), notDecided };
}
