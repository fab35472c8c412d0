import type { PipelineStep } from './step.js';

/**
 * Reserves the call's budget. Core keeps no budget, so this step only hands on; it is the
 * named point where a budget package plugs in (`{ at: 'reserve-budget', step }` in a
 * `PipelineExtension`): its step reserves here, before the policy is asked, and settles the
 * reservation when `next` answers, whatever the outcome.
 */
export const reserveBudget: PipelineStep = {
  name: 'reserve-budget',
  run: (_call, next) => next(),
};
