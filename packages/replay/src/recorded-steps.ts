import type {
  ApproverRequirement,
  CallResult,
  CustodyErrorCode,
  InputIssue,
  LedgerEvent,
  ModelRequest,
  ModelResponse,
  PolicyDecision,
  ResourceScope,
} from '@custody/core';

/** A model call as recorded: what was asked and what came back (or the error). */
export interface ModelStep {
  readonly kind: 'model';
  readonly role: string;
  readonly request: ModelRequest;
  readonly response?: ModelResponse;
  readonly error?: { readonly name: string; readonly message: string };
}

/** A retrieval as recorded, with the documents it served. */
export interface RetrievalStep {
  readonly kind: 'retrieval';
  readonly source: string;
  readonly sourceVersion: string | null;
  readonly query: string;
  readonly documents: readonly {
    readonly id: string;
    readonly version: string | null;
    readonly contentHash: string;
    readonly content: string;
    readonly metadata: Readonly<Record<string, unknown>> | null;
  }[];
}

/** A tool call as recorded: the input, the decision, and the answer the run's door gave. */
export interface ToolStep {
  readonly kind: 'tool';
  readonly callId: string;
  readonly tool: string;
  readonly input: unknown;
  readonly idempotencyKey?: string;
  /** The policy decision, when the call got that far. */
  readonly decision?: PolicyDecision & { readonly resource?: ResourceScope };
  /** The outcome, rebuilt from the call's events. */
  readonly result: CallResult;
  /** True when the tool function ran. */
  readonly executed: boolean;
}

/** A clock reading (`run.now()`). */
export interface ClockStep {
  readonly kind: 'clock';
  readonly value: string;
}

/** A minted id (`run.id()`). */
export interface IdStep {
  readonly kind: 'id';
  readonly value: string;
}

/** Everything that crossed the run's door, in order. */
export type RecordedStep = ModelStep | RetrievalStep | ToolStep | ClockStep | IdStep;

type Payload = Record<string, unknown>;

interface ToolStepDraft {
  callId: string;
  tool: string;
  input: unknown;
  idempotencyKey?: string;
  decision?: PolicyDecision & { resource?: ResourceScope };
  result?: CallResult;
  executed: boolean;
  verification?: { ok: boolean; details?: unknown };
}

/**
 * Rebuilds the door's answers from a run's events (in seq order): each model call, retrieval,
 * clock reading, id, and each tool call with the {@link CallResult} the agent received.
 */
export function recordedSteps(events: readonly LedgerEvent[]): RecordedStep[] {
  const steps: (RecordedStep | ToolStepDraft)[] = [];
  const calls = new Map<string, ToolStepDraft>();
  for (const event of events) {
    const p = (event.payload ?? {}) as Payload;
    const call = typeof p.callId === 'string' ? calls.get(p.callId) : undefined;
    switch (event.type) {
      case 'model.called':
        steps.push({
          kind: 'model',
          role: p.role as string,
          request: p.request as ModelRequest,
          ...(p.response !== undefined ? { response: p.response as ModelResponse } : {}),
          ...(p.error !== undefined ? { error: p.error as { name: string; message: string } } : {}),
        });
        break;
      case 'retrieval.performed':
        steps.push({
          kind: 'retrieval',
          source: p.source as string,
          sourceVersion: (p.sourceVersion as string | null) ?? null,
          query: p.query as string,
          documents: p.documents as RetrievalStep['documents'],
        });
        break;
      case 'clock.read':
        steps.push({ kind: 'clock', value: p.value as string });
        break;
      case 'id.generated':
        steps.push({ kind: 'id', value: p.value as string });
        break;
      case 'tool.requested': {
        const draft: ToolStepDraft = {
          callId: p.callId as string,
          tool: p.tool as string,
          input: p.input,
          executed: false,
          ...(typeof p.idempotencyKey === 'string' ? { idempotencyKey: p.idempotencyKey } : {}),
        };
        calls.set(draft.callId, draft);
        steps.push(draft);
        break;
      }
      case 'tool.denied':
        if (call) {
          call.result = {
            status: 'denied',
            callId: call.callId,
            tool: call.tool,
            code: p.code as CustodyErrorCode,
            reason: p.reason as string,
          };
        }
        break;
      case 'tool.input_rejected':
        if (call) {
          call.result = {
            status: 'invalid',
            callId: call.callId,
            tool: call.tool,
            code:
              (p.code as 'CUSTODY_INPUT_INVALID' | 'CUSTODY_CANONICAL_INVALID') ?? 'CUSTODY_INPUT_INVALID',
            message: (p.message as string) ?? `tool "${call.tool}" input is invalid`,
            issues: (p.issues as InputIssue[]) ?? [],
          };
        }
        break;
      case 'policy.decided':
        if (call) {
          const decision = {
            effect: p.effect,
            policy: p.policy,
            ruleIds: p.ruleIds,
            reasons: p.reasons,
            ...(p.approvers !== undefined ? { approvers: p.approvers } : {}),
            ...(p.errors !== undefined ? { errors: p.errors } : {}),
            ...(p.resource !== undefined ? { resource: p.resource } : {}),
          } as PolicyDecision & { resource?: ResourceScope };
          call.decision = decision;
          if (decision.effect === 'deny') {
            call.result = {
              status: 'denied',
              callId: call.callId,
              tool: call.tool,
              code: decision.errors?.length ? 'CUSTODY_POLICY_ERROR' : 'CUSTODY_POLICY_DENIED',
              reason: decision.reasons.join('; ') || `policy ${decision.policy.id} denied "${call.tool}"`,
              decision,
            };
          }
        }
        break;
      case 'approval.requested':
        if (call?.decision) {
          call.result = {
            status: 'pending_approval',
            callId: call.callId,
            tool: call.tool,
            approval: {
              id: p.approvalId as string,
              digest: p.digest as string,
              approvers: p.approvers as ApproverRequirement[],
              expiresAt: p.expiresAt as string,
            },
            decision: call.decision,
          };
        }
        break;
      case 'idempotency.hit':
        if (call) call.result = idempotencyResult(call, p);
        break;
      case 'tool.attempt':
        if (call) call.executed = true;
        break;
      case 'tool.verified':
        if (call)
          call.verification = {
            ok: p.ok === true,
            ...(p.details !== undefined ? { details: p.details } : {}),
          };
        break;
      case 'tool.result':
        if (call) {
          call.executed = p.executed !== false && call.executed;
          call.result =
            p.status === 'ok'
              ? {
                  status: 'ok',
                  callId: call.callId,
                  tool: call.tool,
                  output: p.output,
                  idempotencyHit: false,
                  decision: call.decision as PolicyDecision,
                  ...(call.verification ? { verification: call.verification } : {}),
                }
              : {
                  status: 'failed',
                  callId: call.callId,
                  tool: call.tool,
                  code: p.code as CustodyErrorCode,
                  message: (p.message as string) ?? `tool "${call.tool}" failed`,
                  retryable: false,
                  executed: p.executed !== false,
                };
        }
        break;
      default:
        break;
    }
  }
  return steps.map((step) => {
    if ('kind' in step) return step;
    return {
      kind: 'tool',
      callId: step.callId,
      tool: step.tool,
      input: step.input,
      ...(step.idempotencyKey !== undefined ? { idempotencyKey: step.idempotencyKey } : {}),
      ...(step.decision ? { decision: step.decision } : {}),
      executed: step.executed,
      // A call whose events stop early (the ledger write failed before execution) failed there.
      result: step.result ?? {
        status: 'failed',
        callId: step.callId,
        tool: step.tool,
        code: 'CUSTODY_LEDGER_WRITE_FAILED',
        message: `the recording of "${step.tool}" stops before its outcome`,
        retryable: true,
        executed: false,
      },
    } satisfies ToolStep;
  });
}

function idempotencyResult(call: ToolStepDraft, p: Payload): CallResult {
  const base = { callId: call.callId, tool: call.tool };
  if (p.status === 'completed') {
    const outcome = (p.outcome ?? {}) as {
      status?: string;
      output?: unknown;
      code?: CustodyErrorCode;
      message?: string;
    };
    return outcome.status === 'ok'
      ? {
          ...base,
          status: 'ok',
          output: outcome.output,
          idempotencyHit: true,
          decision: call.decision as PolicyDecision,
        }
      : {
          ...base,
          status: 'failed',
          code: outcome.code ?? 'CUSTODY_EXECUTION_FAILED',
          message: outcome.message ?? 'the earlier call failed',
          retryable: false,
          executed: false,
        };
  }
  return p.status === 'in_progress'
    ? {
        ...base,
        status: 'failed',
        code: 'CUSTODY_IDEMPOTENCY_IN_PROGRESS',
        message: `another call with idempotency key "${p.key}" was executing`,
        retryable: true,
        executed: false,
      }
    : {
        ...base,
        status: 'failed',
        code: 'CUSTODY_IDEMPOTENCY_CONFLICT',
        message: `idempotency key "${p.key}" was already used with different input`,
        retryable: false,
        executed: false,
      };
}
