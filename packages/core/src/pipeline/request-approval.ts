import { computeActionDigest } from '../action-digest.js';
import type { CallFailed, CallPendingApproval } from '../call-result.js';
import { EventTypes } from '../ledger/event.js';
import { principalRef } from '../principal.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import type { CallState } from './call-state.js';
import { errorMessage } from './error-text.js';
import { commitQuietly, notRun } from './outcomes.js';

/**
 * The policy wants approval: stores a durable approval request bound to the action's digest,
 * records it, and answers `pending_approval`. Nothing executes.
 */
export async function requestApproval(call: CallState): Promise<CallPendingApproval | CallFailed> {
  const { tool, input, resource, decision, runtime } = call;
  const { principal, onBehalfOf, agent, scope, runId, actorRef } = call.run;
  const { callId } = call.request;
  // The digest binds masked values through their keyed hashes; the request stores them masked.
  const digest = computeActionDigest({
    principal,
    onBehalfOf,
    agent,
    tool,
    resource,
    input: input.bound,
    policy: decision.policy,
  });
  const now = runtime.clock.now();
  const id = runtime.ids.next('approval');
  const approvers = decision.approvers ?? [];
  const expiresAt = new Date(now + runtime.approvalTtlMs).toISOString();
  try {
    await runtime.stores.approvals.create({
      id,
      digest,
      status: 'pending',
      tenant: scope.tenant,
      runId,
      callId,
      tool: { name: tool.name, version: tool.version },
      input: input.recorded,
      resource,
      requestedBy: actorRef,
      onBehalfOf: onBehalfOf ? principalRef(onBehalfOf) : null,
      agent: { id: agent.id, version: agent.version },
      approvers,
      policy: decision.policy,
      ruleIds: decision.ruleIds,
      reasons: decision.reasons,
      createdAt: new Date(now).toISOString(),
      expiresAt,
    });
  } catch (error) {
    return notRun(call, `could not store its approval request: ${errorMessage(error)}`, error);
  }
  call.recorder.record(
    EventTypes.approvalRequested,
    { callId, tool: tool.name, approvalId: id, digest, approvers, expiresAt },
    call.spanId,
  );
  call.span.setAttribute(CustodyAttributes.approvalId, id);
  call.span.setAttribute(CustodyAttributes.approvalStatus, 'pending');
  await commitQuietly(call);
  return {
    status: 'pending_approval',
    callId,
    tool: tool.name,
    approval: { id, digest, approvers, expiresAt },
    decision,
  };
}
