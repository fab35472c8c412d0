import type { Context, Span } from '@opentelemetry/api';
import type { CallInput } from '../call-input.js';
import { CustodyError } from '../errors.js';
import type { PolicyDecision, PolicyRunContext } from '../policy.js';
import type { AgentIdentity, Principal, ResourceScope } from '../principal.js';
import type { EventRecorder } from '../recording/event-recorder.js';
import type { RuntimeInternals } from '../runtime-internals.js';
import type { AnyTool, ToolContext } from '../tool.js';

/** What every step may know about the run a call belongs to. */
export interface CallRun {
  readonly runId: string;
  readonly principal: Principal;
  readonly onBehalfOf: Principal | undefined;
  readonly agent: AgentIdentity;
  readonly scope: ResourceScope;
  /** What the policy sees of the run. */
  readonly policyRun: PolicyRunContext;
  /** `kind:id` of the acting principal. */
  readonly actorRef: string;
  /** The run's trace context: the tool's own spans nest under the call's span inside it. */
  readonly context: Context;
}

/** How a call was asked for: what `run.call` received. */
export interface CallRequest {
  readonly callId: string;
  readonly name: string;
  /** The caller's input, untouched: only `validate-input` reads it. */
  readonly rawInput: unknown;
  readonly idempotencyKey: string | undefined;
  readonly signal: AbortSignal | undefined;
}

/** The output once validated and recorded. */
export interface CallOutput {
  /** Frozen, parsed from the canonical JSON: what `verify` and `compensate` see. */
  readonly value: unknown;
  /** Its canonical JSON, from which the agent's own copy is parsed. */
  readonly json: string;
  readonly verification?: { readonly ok: boolean; readonly details?: unknown };
}

/**
 * The one object a call's steps share. Each step reads what earlier steps settled and settles its
 * own part; reading a part before its step ran is a bug in the step list, and throws saying which
 * step settles it.
 */
export class CallState {
  readonly request: CallRequest;
  readonly run: CallRun;
  readonly runtime: RuntimeInternals;
  readonly recorder: EventRecorder;
  /** The call's `execute_tool` span; steps add attributes to it. */
  readonly span: Span;
  /** The span id the call's events carry. */
  readonly spanId: string;

  #tool: AnyTool | undefined;
  #input: CallInput | undefined;
  #resource: ResourceScope | undefined;
  #decision: PolicyDecision | undefined;
  #toolContext: ToolContext | undefined;
  #rawOutput: { readonly value: unknown } | undefined;
  #output: CallOutput | undefined;
  /** The key the call claims (explicit, or derived for writes); undefined for a plain read. */
  idempotencyKey: string | undefined;
  /** SHA-256 of tool, version and bound input, when the call has a key. */
  fingerprint: string | undefined;
  /** Epoch ms when execution started. */
  started = 0;

  constructor(init: {
    request: CallRequest;
    run: CallRun;
    runtime: RuntimeInternals;
    recorder: EventRecorder;
    span: Span;
    spanId: string;
  }) {
    this.request = init.request;
    this.run = init.run;
    this.runtime = init.runtime;
    this.recorder = init.recorder;
    this.span = init.span;
    this.spanId = init.spanId;
  }

  /** The tool called, once `resolve-tool` found it. */
  get tool(): AnyTool {
    return this.#tool ?? unsettled('tool', 'resolve-tool');
  }
  set tool(tool: AnyTool) {
    this.#tool = tool;
  }

  /** The frozen snapshot of the validated input, once `validate-input` took it. */
  get input(): CallInput {
    return this.#input ?? unsettled('input', 'validate-input');
  }
  set input(input: CallInput) {
    this.#input = input;
  }

  /** The resource the call acts on, inside the run's scope, once `authorize` checked it. */
  get resource(): ResourceScope {
    return this.#resource ?? unsettled('resource', 'authorize');
  }
  set resource(resource: ResourceScope) {
    this.#resource = resource;
  }

  /** The policy's decision, once `decide-policy` asked. */
  get decision(): PolicyDecision {
    return this.#decision ?? unsettled('decision', 'decide-policy');
  }
  set decision(decision: PolicyDecision) {
    this.#decision = decision;
  }

  /** What the tool's functions receive beside the input, once `execute` built it. */
  get toolContext(): ToolContext {
    return this.#toolContext ?? unsettled('toolContext', 'execute');
  }
  set toolContext(context: ToolContext) {
    this.#toolContext = context;
  }

  /** What the tool returned, before validation, once `execute` ran it. */
  get rawOutput(): unknown {
    return (this.#rawOutput ?? unsettled('rawOutput', 'execute')).value;
  }
  set rawOutput(value: unknown) {
    this.#rawOutput = { value };
  }

  /** The validated, recorded output, once `validate-output` checked it. */
  get output(): CallOutput {
    return this.#output ?? unsettled('output', 'validate-output');
  }
  set output(output: CallOutput) {
    this.#output = output;
  }
}

function unsettled(part: string, step: string): never {
  throw new CustodyError(
    'CUSTODY_INVALID_ARGUMENT',
    `the call's ${part} is read before step "${step}" settled it: a pipeline step runs out of order`,
  );
}
