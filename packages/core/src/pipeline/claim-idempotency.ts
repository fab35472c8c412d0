import type { CallResult } from '../call-result.js';
import { CustodyError, type CustodyErrorCode } from '../errors.js';
import { canonicalize } from '../ledger/canonical-json.js';
import { EventTypes } from '../ledger/event.js';
import type { IdempotencyClaim } from '../stores/idempotency-store.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import type { CallState } from './call-state.js';
import { errorMessage } from './error-text.js';
import { commitQuietly, failedResult, notRun } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * Claims the call's idempotency key, in one commit with everything recorded so far (the request
 * and the decision): the write-ahead record is durable before anything touches the world. A key
 * already completed answers with its stored result, one in use or used with other input answers
 * `failed`; none of them executes again. A plain read has no key and writes nothing yet: its
 * events commit once, with its result.
 */
export const claimIdempotency: PipelineStep = {
  name: 'claim-idempotency',
  async run(call, next) {
    const { idempotencyKey: key, fingerprint } = call;
    if (key === undefined || fingerprint === undefined) return next();
    const { callId } = call.request;
    let claim: IdempotencyClaim | undefined;
    try {
      const committed = await call.recorder.commit({
        claim: {
          tenant: call.run.scope.tenant,
          key,
          fingerprint,
          callId,
          leaseMs: call.runtime.idempotencyLeaseMs,
          now: call.runtime.clock.now(),
        },
      });
      claim = committed.claim;
    } catch (error) {
      return unclaimed(call, error);
    }
    if (claim === undefined) {
      return notRun(call, 'its idempotency store gave no answer to the claim', undefined);
    }
    if (claim.status === 'claimed') return next();
    call.span.setAttribute(CustodyAttributes.idempotencyHit, true);
    return answerFromKey(call, claim);
  },
};

/** The claim's commit failed: nothing ran, and the call says which store failed. */
function unclaimed(call: CallState, error: unknown): Promise<CallResult> | CallResult {
  if (CustodyError.isInstance(error) && error.code === 'CUSTODY_STORE_ERROR') {
    const reason = error.cause ?? error;
    return notRun(call, `could not claim its idempotency key: ${errorMessage(reason)}`, reason);
  }
  return failedResult(call, {
    code: 'CUSTODY_LEDGER_WRITE_FAILED',
    message: errorMessage(error),
    retryable: true,
    executed: false,
    cause: error,
  });
}

/** The key is taken: records the answer given instead of executing, and gives it. */
async function answerFromKey(
  call: CallState,
  claim: Exclude<IdempotencyClaim, { status: 'claimed' }>,
): Promise<CallResult> {
  const { callId, name } = call.request;
  const key = call.idempotencyKey;
  const payload: Record<string, unknown> = { callId, tool: name, key, status: claim.status };
  if (claim.status === 'completed') {
    payload.originalCallId = claim.record.callId;
    // So the run's story (and a replay) is complete.
    payload.outcome = claim.record.outcome;
  }
  call.recorder.record(EventTypes.idempotencyHit, payload, call.spanId);
  await commitQuietly(call);
  if (claim.status === 'in_progress') {
    return failedResult(call, {
      code: 'CUSTODY_IDEMPOTENCY_IN_PROGRESS',
      message: `another call with idempotency key "${key}" is executing; it was not run twice. Retry later to get its result`,
      retryable: true,
      executed: false,
    });
  }
  if (claim.status === 'conflict') {
    return failedResult(call, {
      code: 'CUSTODY_IDEMPOTENCY_CONFLICT',
      message: `idempotency key "${key}" was already used with different input; use a new key for a different call`,
      retryable: false,
      executed: false,
    });
  }
  const outcome = claim.record.outcome as {
    status: string;
    output?: unknown;
    code?: CustodyErrorCode;
    message?: string;
  };
  if (outcome.status === 'ok') {
    // A copy in canonical key order, as every recorded answer is delivered.
    const output = JSON.parse(canonicalize(outcome.output ?? null));
    return { status: 'ok', callId, tool: name, output, idempotencyHit: true, decision: call.decision };
  }
  return failedResult(call, {
    code: outcome.code ?? 'CUSTODY_EXECUTION_FAILED',
    message:
      `${outcome.message ?? 'the earlier call failed'} (stored result of call ${claim.record.callId}; ` +
      'pass a new idempotencyKey to try again)',
    retryable: false,
    executed: false,
  });
}
