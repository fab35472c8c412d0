import { deepFreeze } from '../frozen-snapshot.js';
import { EventTypes } from '../ledger/event.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import { errorMessage } from './error-text.js';
import { failedResult, keyCompletion } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * The last step: records the result, and commits it together with the completion of the
 * idempotency key, so a later call with the key gets this outcome. The agent receives the output
 * as recorded (parsed back from its canonical JSON), so a replay, which can only answer with the
 * recording, hands it exactly the same value: same keys, same order.
 */
export const commit: PipelineStep = {
  name: 'commit',
  async run(call) {
    const { callId, name: tool } = call.request;
    const { value, json, verification } = call.output;
    const redaction = call.runtime.redaction;
    // The ledger's frozen (and redacted) copy: nobody can change it.
    const recordedOutput = redaction ? deepFreeze(redaction.mask(value)) : value;
    call.recorder.record(
      EventTypes.toolResult,
      {
        callId,
        tool,
        status: 'ok',
        output: recordedOutput,
        durationMs: call.runtime.clock.now() - call.started,
      },
      call.spanId,
    );
    call.span.setAttribute(CustodyAttributes.idempotencyHit, false);
    try {
      await call.recorder.commit(keyCompletion(call, { status: 'ok', output: recordedOutput }));
    } catch (error) {
      return failedResult(call, {
        code: 'CUSTODY_LEDGER_WRITE_FAILED',
        message: `tool "${tool}" ran but its result could not be written yet: ${errorMessage(error)}`,
        retryable: false,
        executed: true,
        cause: error,
      });
    }
    // The agent's own copy: it may change it freely.
    const output: unknown = JSON.parse(json);
    const decision = call.decision;
    return verification
      ? { status: 'ok', callId, tool, output, idempotencyHit: false, decision, verification }
      : { status: 'ok', callId, tool, output, idempotencyHit: false, decision };
  },
};
