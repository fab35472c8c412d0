export type { ExportBundleOptions, ReplayBundle } from './bundle.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  bundleFromEvents,
  exportBundle,
  loadBundle,
  replayBundleSchema,
} from './bundle.js';
export type { AssertionResult, ObservedCall } from './eval-assertions.js';
export { checkAssertion, checkAssertions } from './eval-assertions.js';
export type { EvalAssertion, EvalExpectation } from './eval-expectation.js';
export {
  EVAL_ASSERTION_KINDS,
  evalAssertionSchema,
  evalExpectationSchema,
  parseEvalExpectation,
} from './eval-expectation.js';
export type {
  BaselineComparison,
  EvalBaseline,
  EvalCaseResult,
  EvalMetrics,
  EvalReport,
  PolicyChange,
} from './eval-report.js';
export {
  compareWithBaseline,
  DEFAULT_MAX_DROP,
  EVAL_REPORT_FORMAT,
  EVAL_REPORT_VERSION,
  evalMetrics,
  readEvalReport,
  renderEvalReport,
  writeEvalReport,
} from './eval-report.js';
export type { RunEvalCaseOptions, RunEvalOptions } from './eval-run.js';
export { runEval, runEvalCase } from './eval-run.js';
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
