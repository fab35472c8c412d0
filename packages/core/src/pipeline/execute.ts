import { context as otelContext, trace } from '@opentelemetry/api';
import type { CustodyErrorCode } from '../errors.js';
import { EventTypes } from '../ledger/event.js';
import type { ToolContext } from '../tool.js';
import type { CallState } from './call-state.js';
import { errorMessage } from './error-text.js';
import { commitQuietly, failedResult, finishFailed } from './outcomes.js';
import type { PipelineStep, ToolInvocation } from './step.js';

const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs the tool on the frozen input, inside the call's span, through every extension's
 * `aroundExecute` wrapper (connector reliability). A call aborted before this point does not run;
 * a tool that throws fails the call, and its failure is kept under the key like any outcome.
 */
export const execute: PipelineStep = {
  name: 'execute',
  async run(call, next) {
    const { callId, name, signal } = call.request;
    if (signal?.aborted) return abortedBeforeRun(call);
    const context: ToolContext = Object.freeze({
      signal: signal ?? NEVER_ABORTED,
      idempotencyKey: call.idempotencyKey,
      callId,
      runId: call.run.runId,
      principal: call.run.principal,
      scope: call.resource,
      attempt: 1,
    });
    call.toolContext = context;
    call.started = call.runtime.clock.now();
    call.recorder.record(EventTypes.executionAttempt, { callId, tool: name, attempt: 1 }, call.spanId);
    try {
      call.rawOutput = await invokeTool(call);
    } catch (error) {
      const aborted = context.signal.aborted;
      const code: CustodyErrorCode = aborted ? 'CUSTODY_ABORTED' : 'CUSTODY_EXECUTION_FAILED';
      return finishFailed(call, {
        code,
        message: `tool "${name}" failed: ${errorMessage(error)}`,
        retryable: !aborted,
        cause: error,
        secretsFrom: [call.input.value],
      });
    }
    return next();
  },
};

/** The tool's own function, wrapped by the extensions' wrappers, the first one outermost. */
function invokeTool(call: CallState): Promise<unknown> {
  const { tool, input, toolContext } = call;
  // The tool's own instrumentation nests under the call's span.
  const active = trace.setSpan(call.run.context, call.span);
  let invoke: ToolInvocation = () => otelContext.with(active, () => tool.execute(input.value, toolContext));
  for (const wrap of [...call.runtime.pipeline.aroundExecute].reverse()) {
    const inner = invoke;
    invoke = () => wrap(call, inner);
  }
  return invoke();
}

async function abortedBeforeRun(call: CallState) {
  const { callId, name: tool } = call.request;
  call.recorder.record(
    EventTypes.toolResult,
    { callId, tool, status: 'failed', code: 'CUSTODY_ABORTED', executed: false },
    call.spanId,
  );
  const key = call.idempotencyKey;
  await commitQuietly(
    call,
    key === undefined ? {} : { release: { tenant: call.run.scope.tenant, key, callId } },
  );
  return failedResult(call, {
    code: 'CUSTODY_ABORTED',
    message: `call to "${tool}" was aborted before it ran`,
    retryable: true,
    executed: false,
  });
}
