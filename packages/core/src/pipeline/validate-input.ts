import type { z } from 'zod';
import { snapshotCallInput } from '../call-input.js';
import type { CallInvalid, InputIssue } from '../call-result.js';
import { CustodyError } from '../errors.js';
import { findInputShapeProblem, type InputLimitProblem } from '../input-limits.js';
import { EventTypes } from '../ledger/event.js';
import { sha256Hex } from '../ledger/hash.js';
import type { CallState } from './call-state.js';
import { errorMessage, maskText } from './error-text.js';
import { commitQuietly, recordRawRequest } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * Validates the input strictly against the tool's schema, then takes the one frozen
 * snapshot every later step, the tool and the ledger share, and records the request. Nothing
 * runs on invalid input: the call answers `invalid` with issues the model can act on.
 */
export const validateInput: PipelineStep = {
  name: 'validate-input',
  async run(call, next) {
    const { name, rawInput } = call.request;
    const { runtime } = call;
    const shapeProblem = findInputShapeProblem(rawInput, runtime.limits);
    if (shapeProblem) return rejectInput(call, { code: 'CUSTODY_INPUT_INVALID', problem: shapeProblem });
    const parsed: z.ZodSafeParseResult<unknown> = call.tool.input.safeParse(rawInput);
    if (!parsed.success) {
      const issues: InputIssue[] = parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.'),
        message: issue.message,
        code: issue.code,
      }));
      const message = `tool "${name}" input is invalid: ${issues
        .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
        .join('; ')}`;
      recordRawRequest(call);
      return recordInvalid(call, { code: 'CUSTODY_INPUT_INVALID', message, issues });
    }
    try {
      call.input = snapshotCallInput(parsed.data, { redaction: runtime.redaction, limits: runtime.limits });
    } catch (error) {
      const tooLarge = CustodyError.isInstance(error) && error.code === 'CUSTODY_INPUT_INVALID';
      return rejectInput(call, {
        code: tooLarge ? 'CUSTODY_INPUT_INVALID' : 'CUSTODY_CANONICAL_INVALID',
        problem: {
          path: '',
          message: `${tooLarge ? 'is too large' : 'cannot be recorded'}: ${errorMessage(error)}`,
        },
      });
    }
    recordRequest(call);
    return next();
  },
};

/** Derives the idempotency key (writes always have one) and records `tool.requested`. */
function recordRequest(call: CallState): void {
  const { tool, input } = call;
  const { callId, name, idempotencyKey: explicitKey } = call.request;
  if (tool.effect !== 'read' || explicitKey !== undefined) {
    call.fingerprint = sha256Hex(`${name}\n${tool.version}\n${input.boundJson}`);
    call.idempotencyKey = explicitKey ?? `${call.run.runId}:${call.fingerprint}`;
  }
  const requested: Record<string, unknown> = {
    callId,
    tool: name,
    version: tool.version,
    effect: tool.effect,
    input: input.recorded,
  };
  if (call.idempotencyKey !== undefined) requested.idempotencyKey = call.idempotencyKey;
  call.recorder.record(EventTypes.toolRequested, requested, call.spanId);
}

/**
 * Answers `invalid` for an input refused before validation could finish (too deep, circular, too
 * large, not recordable): records the request without the input when the input itself is the
 * problem, and the reason.
 */
function rejectInput(
  call: CallState,
  rejection: { code: CallInvalid['code']; problem: InputLimitProblem },
): Promise<CallInvalid> {
  const { callId, name } = call.request;
  const { code, problem } = rejection;
  const message = maskText(call, `tool "${name}" input ${problem.message}`, []);
  if (code === 'CUSTODY_INPUT_INVALID' && problem.path !== '') {
    // Too deep or circular: walking it again to record it is what must not happen.
    call.recorder.record(
      EventTypes.toolRequested,
      { callId, tool: name, input: null, inputUnrecordable: message },
      call.spanId,
    );
  } else {
    recordRawRequest(call);
  }
  return recordInvalid(call, { code, message, issues: [{ path: problem.path, message }] });
}

async function recordInvalid(
  call: CallState,
  invalid: { code: CallInvalid['code']; message: string; issues: InputIssue[] },
): Promise<CallInvalid> {
  const { callId, name: tool } = call.request;
  call.recorder.record(EventTypes.inputRejected, { callId, tool, ...invalid }, call.spanId);
  await commitQuietly(call);
  return { status: 'invalid', callId, tool, ...invalid };
}
