import type { CallResult } from '../call-result.js';
import type { CallState } from './call-state.js';

/** The built-in steps of the gated pipeline, in the order they run (see docs/pipeline.md). */
export const STEP_NAMES = [
  'resolve-tool',
  'validate-input',
  'check-mode',
  'authorize',
  'reserve-budget',
  'decide-policy',
  'claim-idempotency',
  'execute',
  'validate-output',
  'commit',
] as const;

/** The name of a built-in step: the points where a package plugs its own steps in. */
export type StepName = (typeof STEP_NAMES)[number];

/** Runs the rest of the pipeline after the current step and answers with the call's outcome. */
export type NextStep = () => Promise<CallResult>;

/**
 * One step of the gated pipeline. It does its part over the call's state and either answers the
 * call itself (a denial, a failure) or hands on to `next`; a step that hands on may act again on
 * the outcome `next` answers with, which is how a step wraps everything after it.
 */
export interface PipelineStep {
  /** Shown in errors and docs; built-in steps use their {@link StepName}. */
  readonly name: string;
  run(call: CallState, next: NextStep): Promise<CallResult>;
}

/** Runs the tool once; what `execute` calls, through every {@link ToolInvocationWrapper}. */
export type ToolInvocation = () => Promise<unknown>;

/**
 * Wraps each run of the tool inside `execute`: the point for connector reliability (timeouts,
 * retries, circuit breakers, rate limits). It returns what the tool returned, or throws.
 */
export type ToolInvocationWrapper = (call: CallState, invoke: ToolInvocation) => Promise<unknown>;

/**
 * What a package adds to the pipeline. Steps go in ahead of a built-in step, so they run before
 * it and, around `next`, see the outcome of it and of everything after it.
 *
 * @example
 * ```ts
 * // A budget: reserve before the policy is asked, settle once the call is done, whatever its outcome.
 * const budget: PipelineExtension = {
 *   name: 'budget',
 *   steps: [{
 *     at: 'reserve-budget',
 *     step: {
 *       name: 'budget.reserve',
 *       async run(call, next) {
 *         const hold = await reserve(call.run.runId, call.tool.name);
 *         try { return await next(); } finally { await hold.settle(); }
 *       },
 *     },
 *   }],
 * };
 * createRuntime({ tools, policy, extensions: [budget] });
 * ```
 */
export interface PipelineExtension {
  readonly name: string;
  /** Each step runs just before the built-in step named by `at` (after earlier extensions' steps there). */
  readonly steps?: readonly { readonly at: StepName; readonly step: PipelineStep }[];
  /** Wraps each run of the tool (wrappers of earlier extensions are outermost). */
  readonly aroundExecute?: ToolInvocationWrapper;
}
