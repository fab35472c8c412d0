import type { z } from 'zod';
import { frozenFromJson } from '../frozen-snapshot.js';
import { canonicalize } from '../ledger/canonical-json.js';
import { EventTypes } from '../ledger/event.js';
import { CustodyAttributes } from '../telemetry/attributes.js';
import type { VerifyOutcome } from '../tool.js';
import type { CallState } from './call-state.js';
import { errorMessage, maskText } from './error-text.js';
import { finishFailed } from './outcomes.js';
import type { PipelineStep } from './step.js';

/**
 * Checks what the tool returned against its output schema, freezes it as it will be recorded,
 * and for writes runs `verify` (a read-back of the world): on a mismatch the call fails and, when
 * the tool can, `compensate` undoes the action. The tool did run in every case.
 */
export const validateOutput: PipelineStep = {
  name: 'validate-output',
  async run(call, next) {
    const { tool, input } = call;
    const name = tool.name;
    const parsed: z.ZodSafeParseResult<unknown> = tool.output.safeParse(call.rawOutput);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .map((issue) => `${issue.path.map(String).join('.') || 'output'}: ${issue.message}`)
        .join('; ');
      return finishFailed(call, {
        code: 'CUSTODY_OUTPUT_INVALID',
        message: `tool "${name}" returned output that does not match its schema (${detail}); it did run`,
        retryable: false,
        secretsFrom: [input.value, call.rawOutput],
      });
    }
    // Frozen as recorded: verify and compensate see what the ledger will keep, and the tool's own
    // object (which it may still hold) no longer matters.
    let json: string;
    try {
      json = canonicalize(parsed.data);
    } catch (error) {
      return finishFailed(call, {
        code: 'CUSTODY_CANONICAL_INVALID',
        message: `tool "${name}" ran, but its output cannot be recorded: ${errorMessage(error)}`,
        retryable: false,
        cause: error,
        secretsFrom: [input.value],
      });
    }
    const value = frozenFromJson(json);
    call.output = { value, json };
    if (!tool.verify || tool.effect === 'read') return next();
    const verification = await verifyWrite(call);
    call.output = { value, json, verification };
    call.span.setAttribute(CustodyAttributes.verification, verification.ok ? 'ok' : 'mismatch');
    if (verification.ok) return next();
    const compensated = await compensate(call);
    return finishFailed(call, {
      code: 'CUSTODY_VERIFY_MISMATCH',
      message:
        `tool "${name}" ran but verification found the world does not match its output` +
        (compensated === undefined
          ? ''
          : compensated
            ? '; the action was compensated'
            : '; compensation failed'),
      retryable: false,
      secretsFrom: [input.value, value],
    });
  },
};

/** Runs the tool's `verify` and records what it found; a verify that throws found a mismatch. */
async function verifyWrite(call: CallState): Promise<{ ok: boolean; details?: unknown }> {
  const { tool, toolContext: context } = call;
  const input = call.input.value;
  const output = call.output.value;
  let outcome: { ok: boolean; details?: unknown };
  try {
    const answer: VerifyOutcome = await tool.verify!({ input, output, context });
    outcome =
      typeof answer === 'boolean' ? { ok: answer } : { ok: answer.ok === true, details: answer.details };
  } catch (error) {
    outcome = { ok: false, details: { error: maskText(call, errorMessage(error), [input, output]) } };
  }
  const recorded = { callId: context.callId, tool: tool.name };
  try {
    call.recorder.record(EventTypes.verification, { ...recorded, ...outcome }, call.spanId);
  } catch (error) {
    // Details the ledger cannot hold: the verdict is recorded without them.
    call.recorder.record(
      EventTypes.verification,
      { ...recorded, ok: outcome.ok, details: { unrecordable: errorMessage(error) } },
      call.spanId,
    );
  }
  return outcome;
}

/** Runs the tool's `compensate`, if it has one, and records how it went. */
async function compensate(call: CallState): Promise<boolean | undefined> {
  const { tool, toolContext: context } = call;
  if (!tool.compensate) return undefined;
  const input = call.input.value;
  const output = call.output.value;
  const recorded = { callId: context.callId, tool: tool.name };
  try {
    await tool.compensate({ input, output, context });
    call.recorder.record(EventTypes.compensation, { ...recorded, ok: true }, call.spanId);
    return true;
  } catch (error) {
    call.recorder.record(
      EventTypes.compensation,
      { ...recorded, ok: false, error: maskText(call, errorMessage(error), [input, output]) },
      call.spanId,
    );
    return false;
  }
}
