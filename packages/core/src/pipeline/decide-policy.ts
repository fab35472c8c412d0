import type { CallDenied } from '../call-result.js';
import { describeValue } from '../errors.js';
import { EventTypes } from '../ledger/event.js';
import type { PolicyDecision, PolicyRequest } from '../policy.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import type { CallState } from './call-state.js';
import { errorMessage, maskText } from './error-text.js';
import { commitQuietly } from './outcomes.js';
import { requestApproval } from './request-approval.js';
import type { PipelineStep } from './step.js';

/**
 * Asks the policy about the call and records its decision: `deny` answers `denied`,
 * `require_approval` stores an approval request and answers `pending_approval`, `allow` hands on.
 * A policy that throws, rejects or answers nonsense denies.
 */
export const decidePolicy: PipelineStep = {
  name: 'decide-policy',
  async run(call, next) {
    const decision = await decide(call);
    call.decision = decision;
    const { callId, name: tool } = call.request;
    call.recorder.record(
      EventTypes.policyDecided,
      {
        callId,
        tool,
        effect: decision.effect,
        policy: decision.policy,
        ruleIds: decision.ruleIds,
        reasons: decision.reasons,
        approvers: decision.approvers,
        errors: decision.errors,
        resource: call.resource,
      },
      call.spanId,
    );
    const { span } = call;
    span.setAttribute(CustodyAttributes.policyDecision, decision.effect);
    span.setAttribute(CustodyAttributes.policyId, decision.policy.id);
    span.setAttribute(CustodyAttributes.policyVersion, decision.policy.version);
    span.setAttribute(CustodyAttributes.policyHash, decision.policy.hash);
    span.setAttribute(CustodyAttributes.policyRuleIds, decision.ruleIds as string[]);
    if (decision.effect === 'deny') return denied(call, decision);
    if (decision.effect === 'require_approval') return requestApproval(call);
    return next();
  },
};

async function decide(call: CallState): Promise<PolicyDecision> {
  const { tool } = call;
  const request: PolicyRequest = {
    tool: {
      name: tool.name,
      version: tool.version,
      connector: tool.connector,
      action: tool.action,
      effect: tool.effect,
      scopes: tool.scopes,
    },
    input: call.input.value,
    resource: call.resource,
    run: call.run.policyRun,
  };
  let decision: PolicyDecision;
  try {
    decision = await call.runtime.policy.decide(request);
  } catch (error) {
    return failedDecision(call, error);
  }
  const valid =
    decision &&
    (decision.effect === 'allow' || decision.effect === 'deny' || decision.effect === 'require_approval');
  return valid
    ? decision
    : failedDecision(
        call,
        new Error(`policy returned ${describeValue(decision?.effect ?? decision)} instead of a decision`),
      );
}

/** The decision of a policy that failed to decide: deny, saying why (secrets masked). */
function failedDecision(call: CallState, error: unknown): PolicyDecision {
  const policy = call.runtime.policy;
  const message = maskText(call, errorMessage(error), [call.input.value]);
  return {
    effect: 'deny',
    policy: policy.ref,
    ruleIds: [],
    reasons: [`policy ${policy.ref.id} failed to decide: ${message}`],
    errors: [{ ruleId: '(policy)', message }],
  };
}

async function denied(call: CallState, decision: PolicyDecision): Promise<CallDenied> {
  await commitQuietly(call);
  const { callId, name: tool } = call.request;
  return {
    status: 'denied',
    callId,
    tool,
    code: decision.errors?.length ? 'CUSTODY_POLICY_ERROR' : 'CUSTODY_POLICY_DENIED',
    reason: decision.reasons.join('; ') || `policy ${decision.policy.id} denied "${tool}"`,
    decision,
  };
}
