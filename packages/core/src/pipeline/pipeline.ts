import type { CallResult } from '../call-result.js';
import { CustodyError, describeValue, invalidArgument } from '../errors.js';
import { authorize } from './authorize.js';
import type { CallState } from './call-state.js';
import { checkMode } from './check-mode.js';
import { claimIdempotency } from './claim-idempotency.js';
import { commit } from './commit.js';
import { decidePolicy } from './decide-policy.js';
import { execute } from './execute.js';
import { reserveBudget } from './reserve-budget.js';
import { resolveTool } from './resolve-tool.js';
import {
  type PipelineExtension,
  type PipelineStep,
  STEP_NAMES,
  type StepName,
  type ToolInvocationWrapper,
} from './step.js';
import { validateInput } from './validate-input.js';
import { validateOutput } from './validate-output.js';

/** The gated pipeline, in order: every call passes each step until one answers it. */
const GATED_STEPS: readonly PipelineStep[] = [
  resolveTool,
  validateInput,
  checkMode,
  authorize,
  reserveBudget,
  decidePolicy,
  claimIdempotency,
  execute,
  validateOutput,
  commit,
];

/** The built-in steps with the extensions' steps in place, and the wrappers around the tool. */
export interface Pipeline {
  readonly steps: readonly PipelineStep[];
  readonly aroundExecute: readonly ToolInvocationWrapper[];
  /** Runs a call through the steps, from the first one or from the named point (a resumed call enters at `check-mode`). */
  run(call: CallState, from?: StepName): Promise<CallResult>;
}

/** Builds the pipeline a runtime runs, with each extension's steps ahead of the step they name. */
export function createPipeline(extensions: readonly PipelineExtension[] = []): Pipeline {
  if (!Array.isArray(extensions)) {
    throw invalidArgument(
      `extensions must be an array of pipeline extensions, got ${describeValue(extensions)}`,
    );
  }
  extensions.forEach(assertExtension);
  const steps: PipelineStep[] = [];
  const entries = new Map<string, number>();
  for (const builtIn of GATED_STEPS) {
    entries.set(builtIn.name, steps.length);
    for (const extension of extensions) {
      for (const added of extension.steps ?? []) if (added.at === builtIn.name) steps.push(added.step);
    }
    steps.push(builtIn);
  }
  const aroundExecute = extensions.flatMap((extension) => extension.aroundExecute ?? []);
  return {
    steps,
    aroundExecute,
    run(call, from = 'resolve-tool') {
      const start = entries.get(from);
      if (start === undefined) {
        return Promise.reject(
          invalidArgument(`pipeline has no step "${from}"; steps: ${STEP_NAMES.join(', ')}`),
        );
      }
      return runFrom(steps, call, start);
    },
  };
}

/** Runs step `index`, handing it the rest of the list as `next`, which it may call once. */
function runFrom(steps: readonly PipelineStep[], call: CallState, index: number): Promise<CallResult> {
  const step = steps[index];
  if (step === undefined) {
    return Promise.reject(
      new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        'the last pipeline step called next(): "commit" answers the call',
      ),
    );
  }
  let handedOn = false;
  return step.run(call, () => {
    if (handedOn) {
      // What runs after a step includes the tool: it must never run twice for one call.
      return Promise.reject(
        new CustodyError(
          'CUSTODY_INVALID_ARGUMENT',
          `pipeline step "${step.name}" called next() twice; the rest of a call runs once (retry inside aroundExecute instead)`,
        ),
      );
    }
    handedOn = true;
    return runFrom(steps, call, index + 1);
  });
}

function assertExtension(extension: PipelineExtension, index: number): void {
  const what = `extensions[${index}]`;
  if (typeof extension?.name !== 'string' || extension.name === '') {
    throw invalidArgument(`${what} needs a name, got ${describeValue(extension?.name)}`);
  }
  if (extension.aroundExecute !== undefined && typeof extension.aroundExecute !== 'function') {
    throw invalidArgument(`${what} (${extension.name}) aroundExecute must be a function`);
  }
  if (extension.steps !== undefined && !Array.isArray(extension.steps)) {
    throw invalidArgument(`${what} (${extension.name}) steps must be an array of { at, step }`);
  }
  for (const added of extension.steps ?? []) {
    if (!STEP_NAMES.includes(added?.at)) {
      throw invalidArgument(
        `${what} (${extension.name}) adds a step at ${describeValue(added?.at)}; points are ${STEP_NAMES.join(', ')}`,
      );
    }
    if (typeof added.step?.name !== 'string' || typeof added.step.run !== 'function') {
      throw invalidArgument(
        `${what} (${extension.name}) step at "${added.at}" needs a name and a run(call, next) function`,
      );
    }
  }
}
