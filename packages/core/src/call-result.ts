import type { z } from 'zod';
import { CustodyError, type CustodyErrorCode } from './errors.js';
import type { ApproverRequirement, PolicyDecision } from './policy.js';
import type { AnyTool } from './tool.js';

/** One problem with a tool input, in a form the agent can hand back to the model. */
export interface InputIssue {
  /** Dotted path into the input (`items.0.sku`), empty for the input as a whole. */
  readonly path: string;
  readonly message: string;
  readonly code?: string;
}

interface CallBase {
  readonly callId: string;
  readonly tool: string;
}

/** The tool ran (or an earlier identical call's stored result was returned). */
export interface CallOk<O = unknown> extends CallBase {
  readonly status: 'ok';
  readonly output: O;
  /** True when the result came from the idempotency store and nothing was executed. */
  readonly idempotencyHit: boolean;
  readonly decision: PolicyDecision;
  readonly verification?: { readonly ok: boolean; readonly details?: unknown };
}

/** A gate said no: unknown tool, allow-list, mode, scopes, resource scope or policy. */
export interface CallDenied extends CallBase {
  readonly status: 'denied';
  readonly code: CustodyErrorCode;
  readonly reason: string;
  readonly decision?: PolicyDecision;
}

/** The input did not match the tool's schema. Nothing was executed. */
export interface CallInvalid extends CallBase {
  readonly status: 'invalid';
  readonly code: 'CUSTODY_INPUT_INVALID' | 'CUSTODY_CANONICAL_INVALID';
  readonly message: string;
  readonly issues: readonly InputIssue[];
}

/** The policy wants approval. A durable approval request exists; nothing was executed. */
export interface CallPendingApproval extends CallBase {
  readonly status: 'pending_approval';
  readonly approval: {
    readonly id: string;
    readonly digest: string;
    readonly approvers: readonly ApproverRequirement[];
    readonly expiresAt: string;
  };
  readonly decision: PolicyDecision;
}

/** The call was allowed but did not complete. */
export interface CallFailed extends CallBase {
  readonly status: 'failed';
  readonly code: CustodyErrorCode;
  readonly message: string;
  /** Whether trying again (with a new idempotency key for writes) may succeed. */
  readonly retryable: boolean;
  /** True when the tool function ran, so the world may have changed. */
  readonly executed: boolean;
  readonly cause?: unknown;
}

/**
 * What `run.call` returns: a discriminated union on `status`, so an agent loop can hand the
 * reason back to the model instead of catching exceptions.
 */
export type CallResult<O = unknown> = CallOk<O> | CallDenied | CallInvalid | CallPendingApproval | CallFailed;

/** The output type of a tool, after its output schema parsed it. */
export type ToolOutput<T extends AnyTool> = T extends { output: infer O extends z.ZodType }
  ? z.output<O>
  : unknown;

/** The input type a caller passes to a tool (before its schema parses it). */
export type ToolInput<T extends AnyTool> = T extends { input: infer I extends z.ZodType }
  ? z.input<I>
  : unknown;

/**
 * The output of an `ok` result, or a {@link CustodyError} for any other outcome, its `code` saying
 * which. What `run.callOrThrow` does with `run.call`'s answer.
 */
export function outputOrThrow<O>(result: CallResult<O>): O {
  switch (result.status) {
    case 'ok':
      return result.output;
    case 'pending_approval':
      throw new CustodyError(
        'CUSTODY_APPROVAL_REQUIRED',
        `tool "${result.tool}" needs approval (request ${result.approval.id})`,
        {
          details: { callId: result.callId, approval: result.approval },
        },
      );
    case 'denied':
      throw new CustodyError(result.code, result.reason, {
        details: { callId: result.callId, tool: result.tool },
      });
    case 'invalid':
      throw new CustodyError(result.code, result.message, {
        details: { callId: result.callId, tool: result.tool, issues: result.issues },
      });
    case 'failed':
      throw new CustodyError(result.code, result.message, {
        cause: result.cause,
        details: { callId: result.callId, tool: result.tool, executed: result.executed },
      });
  }
}
