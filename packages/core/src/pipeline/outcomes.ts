import type { CallDenied, CallFailed } from '../call-result.js';
import type { CustodyErrorCode } from '../errors.js';
import { EventTypes } from '../ledger/event.js';
import type { RecorderWork } from '../recording/event-recorder.js';
import type { CallState } from './call-state.js';
import { errorMessage, errorRecord, maskText } from './error-text.js';

// How a call ends early or badly, recorded the same way by every step that ends it so.

/** A `failed` answer; `cause` only when there is one. */
export function failedResult(
  call: CallState,
  failure: {
    code: CustodyErrorCode;
    message: string;
    retryable: boolean;
    executed: boolean;
    cause?: unknown;
  },
): CallFailed {
  const { code, message, retryable, executed, cause } = failure;
  const { callId, name: tool } = call.request;
  return cause === undefined
    ? { status: 'failed', callId, tool, code, message, retryable, executed }
    : { status: 'failed', callId, tool, code, message, retryable, executed, cause };
}

/**
 * Writes what the call recorded (with `work`, when given) once its outcome is decided and nothing
 * executes after it: a store failure leaves the events queued for the next write rather than
 * failing a call whose answer stands.
 */
export async function commitQuietly(call: CallState, work: RecorderWork = {}): Promise<void> {
  try {
    await call.recorder.commit(work);
  } catch {
    /* queued for the next write */
  }
}

/** A gate said no: records why and answers `denied`. */
export async function deny(
  call: CallState,
  denial: { code: CustodyErrorCode; reason: string },
): Promise<CallDenied> {
  const { callId, name: tool } = call.request;
  call.recorder.record(
    EventTypes.toolDenied,
    { callId, tool, code: denial.code, reason: denial.reason },
    call.spanId,
  );
  await commitQuietly(call);
  return { status: 'denied', callId, tool, code: denial.code, reason: denial.reason };
}

/** Records what the agent asked for even when it is not valid or not recordable as given. */
export function recordRawRequest(call: CallState): void {
  const { callId, name: tool, rawInput } = call.request;
  try {
    call.recorder.record(EventTypes.toolRequested, { callId, tool, input: rawInput }, call.spanId);
  } catch (error) {
    call.recorder.record(
      EventTypes.toolRequested,
      { callId, tool, input: null, inputUnrecordable: maskText(call, errorMessage(error), []) },
      call.spanId,
    );
  }
}

/** A store failed before the tool ran: records it and answers `failed`, never throws. */
export async function notRun(call: CallState, what: string, error: unknown): Promise<CallFailed> {
  const { callId, name: tool } = call.request;
  const message = maskText(call, `tool "${tool}" did not run: ${what}`, []);
  call.recorder.record(
    EventTypes.toolResult,
    { callId, tool, status: 'failed', code: 'CUSTODY_STORE_ERROR', message, executed: false },
    call.spanId,
  );
  await commitQuietly(call);
  return failedResult(call, {
    code: 'CUSTODY_STORE_ERROR',
    message,
    retryable: true,
    executed: false,
    cause: error,
  });
}

/**
 * The work that stores a call's outcome under its key, when it has one. Should the idempotency
 * store fail on its own (stores without a shared unit of work), the failure is recorded and the
 * outcome stands: the tool did run, and until the lease runs out a repeat still finds the key taken.
 */
export function keyCompletion(call: CallState, outcome: Record<string, unknown>): RecorderWork {
  const { idempotencyKey: key, fingerprint } = call;
  if (key === undefined || fingerprint === undefined) return {};
  const { runtime, request } = call;
  return {
    complete: {
      tenant: call.run.scope.tenant,
      key,
      fingerprint,
      callId: request.callId,
      outcome,
      completedAt: runtime.clock.now(),
      ttlMs: runtime.idempotencyTtlMs,
    },
    onCompleteFailed: (error) => {
      call.recorder.record(
        EventTypes.idempotencyStoreFailed,
        {
          callId: request.callId,
          tool: request.name,
          key,
          leaseMs: runtime.idempotencyLeaseMs,
          error: maskText(call, errorMessage(error), []),
        },
        call.spanId,
      );
    },
  };
}

/**
 * The tool ran and the call failed: records the failure, keeps it under the idempotency key (the
 * world may have changed, so a retry must not execute a second time) and answers `failed`. The
 * message and the error's text are masked first; `secretsFrom` holds the values whose masked
 * fields must not reappear in words.
 */
export async function finishFailed(
  call: CallState,
  failure: {
    code: CustodyErrorCode;
    message: string;
    retryable: boolean;
    cause?: unknown;
    secretsFrom: readonly unknown[];
  },
): Promise<CallFailed> {
  const { callId, name: tool } = call.request;
  const { code, retryable, cause } = failure;
  const mask = (text: string) => maskText(call, text, failure.secretsFrom);
  const message = mask(failure.message);
  call.recorder.record(
    EventTypes.toolResult,
    {
      callId,
      tool,
      status: 'failed',
      code,
      message,
      executed: true,
      error: cause === undefined ? undefined : errorRecord(cause, mask),
      durationMs: call.runtime.clock.now() - call.started,
    },
    call.spanId,
  );
  await commitQuietly(call, keyCompletion(call, { status: 'failed', code, message }));
  return failedResult(call, { code, message, retryable, executed: true, cause });
}
