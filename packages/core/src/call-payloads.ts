import { canonicalize } from './ledger/canonical-json.js';
import type { PolicyDecision } from './policy.js';

// The canonical JSON of the four payloads every allowed call records, written straight from
// pre-encoded parts. RFC 8785 orders keys by UTF-16 code units; each function below lists its
// keys in that order by hand, and call-payloads.test.ts holds every one byte-identical to
// canonicalize() of the payload object the event carries. `callId` and `tool` arrive as JSON
// already: a call encodes them once for all its events.

/** `tool.requested`: `{ callId, effect, idempotencyKey?, input, tool, version }`. */
export function requestedJson(
  callId: string,
  effect: string,
  idempotencyKey: string | undefined,
  input: string,
  tool: string,
  version: string,
): string {
  return (
    `{"callId":${callId},"effect":${JSON.stringify(effect)}` +
    (idempotencyKey === undefined ? '' : `,"idempotencyKey":${JSON.stringify(idempotencyKey)}`) +
    `,"input":${input},"tool":${tool},"version":${JSON.stringify(version)}}`
  );
}

/** A decision's fields around the per-call ones: `approvers` sorts before `callId`, and so on. */
interface DecisionParts {
  /** `"approvers":…,` or nothing. */
  readonly beforeCallId: string;
  /** `"effect":…,"errors":…,"policy":…,"reasons":…` */
  readonly beforeResource: string;
  /** `"ruleIds":…` */
  readonly beforeTool: string;
}

const decisionParts = new WeakMap<PolicyDecision, DecisionParts>();

/**
 * `policy.decided`: `{ approvers?, callId, effect, errors?, policy, reasons, resource, ruleIds,
 * tool }`. A frozen decision (what `@custody/policy` returns, one per matched rule set) is
 * encoded once and reused.
 */
export function decidedJson(
  callId: string,
  tool: string,
  decision: PolicyDecision,
  resource: string,
): string {
  let parts = decisionParts.get(decision);
  if (parts === undefined) {
    parts = {
      beforeCallId:
        decision.approvers === undefined ? '' : `"approvers":${canonicalize(decision.approvers)},`,
      beforeResource:
        `"effect":${JSON.stringify(decision.effect)}` +
        (decision.errors === undefined ? '' : `,"errors":${canonicalize(decision.errors)}`) +
        `,"policy":${canonicalize(decision.policy)},"reasons":${canonicalize(decision.reasons)}`,
      beforeTool: `"ruleIds":${canonicalize(decision.ruleIds)}`,
    };
    if (Object.isFrozen(decision)) decisionParts.set(decision, parts);
  }
  return `{${parts.beforeCallId}"callId":${callId},${parts.beforeResource},"resource":${resource},${parts.beforeTool},"tool":${tool}}`;
}

/** `tool.attempt`: `{ attempt, callId, tool }`. */
export function attemptJson(callId: string, tool: string, attempt: number): string {
  return `{"attempt":${attempt},"callId":${callId},"tool":${tool}}`;
}

/** `tool.result` of a call that succeeded: `{ callId, durationMs, output, status: 'ok', tool }`. */
export function okResultJson(callId: string, tool: string, durationMs: number, output: string): string {
  return `{"callId":${callId},"durationMs":${canonicalize(durationMs)},"output":${output},"status":"ok","tool":${tool}}`;
}
