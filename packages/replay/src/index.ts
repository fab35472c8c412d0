export type { ExportBundleOptions, ReplayBundle } from './bundle.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  bundleFromEvents,
  exportBundle,
  loadBundle,
  replayBundleSchema,
} from './bundle.js';
export type { JsonDifference } from './json-diff.js';
export { jsonDifferences, renderDifferences } from './json-diff.js';
export type { DecisionComparison, PolicyWhatIfResult } from './policy-what-if.js';
export { policyWhatIf } from './policy-what-if.js';
export type {
  ClockStep,
  IdStep,
  ModelStep,
  RecordedStep,
  RetrievalStep,
  ToolStep,
} from './recorded-steps.js';
export { recordedSteps } from './recorded-steps.js';
export type {
  Divergence,
  DivergenceKind,
  ReplayAgent,
  ReplayMode,
  ReplayOptions,
  ReplayResult,
  StepSummary,
} from './replay.js';
export { ReplayDivergedError, renderReport, replay } from './replay.js';
export type { ReplaySetup } from './replay-setup.js';
export { defineReplaySetup } from './replay-setup.js';
