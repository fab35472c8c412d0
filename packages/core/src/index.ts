/**
 * `@custody/core`: what an app uses — the runtime, tools, runs and their results, errors,
 * principals, policy types, the store ports and the in-memory stores, telemetry names, and the
 * operator's ledger API (`createLedger`, `verifyLedger`, checkpoint signing). The ledger's
 * building blocks (sealing, canonical JSON, hashing, checkpoint pieces, operator-record signing)
 * are under `@custody/core/ledger`, the test doubles under `@custody/core/testing`.
 *
 * @packageDocumentation
 */
export type { ActionDigest } from './action-digest.js';
export type {
  CallDenied,
  CallFailed,
  CallInvalid,
  CallOk,
  CallPendingApproval,
  CallResult,
  InputIssue,
  ToolInput,
  ToolOutput,
} from './call-result.js';
export { outputOrThrow } from './call-result.js';
export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export type {
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelToolCall,
  RetrievedDocument,
  Retriever,
} from './doors.js';
export type { CustodyErrorCode, CustodyErrorOptions } from './errors.js';
export { CustodyError, describeValue, invalidArgument } from './errors.js';
export { globToRegExp, matchesAny } from './glob.js';
export type { IdKind, IdSource } from './ids.js';
export { randomIds } from './ids.js';
export type { InputLimits } from './input-limits.js';
export type { CheckpointSignature, LedgerCheckpoint } from './ledger/checkpoint.js';
export type { UncoveredEvents } from './ledger/checkpoint-coverage.js';
export type { CheckpointKeys, CheckpointSigner } from './ledger/checkpoint-signer.js';
export { createEd25519Signer } from './ledger/checkpoint-signer.js';
export type { ChainHead, EventType, LedgerEvent } from './ledger/event.js';
export { EventTypes } from './ledger/event.js';
export type { LedgerExportHeader, ParsedLedgerExport } from './ledger/ledger-export.js';
export { parseJsonlExport } from './ledger/ledger-export.js';
export type { LedgerVerifyOptions } from './ledger/ledger-verify-options.js';
export type { RedactionPolicy } from './ledger/redaction-policy.js';
export type {
  LedgerProblem,
  LedgerProblemCheckpoint,
  LedgerProblemCode,
  LedgerProblemKind,
  LedgerVerification,
  VerifyLedgerOptions,
} from './ledger/verify.js';
export { verifyLedger } from './ledger/verify.js';
export type { ExportResult, Ledger, LedgerActionRequest, LedgerOptions } from './ledger-operations/ledger.js';
export { createLedger } from './ledger-operations/ledger.js';
export type { Mode, ModeTarget } from './mode.js';
export type { CallOutput, CallRequest, CallRun, CallState } from './pipeline/call-state.js';
export type {
  NextStep,
  PipelineExtension,
  PipelineStep,
  StepName,
  ToolInvocation,
  ToolInvocationWrapper,
} from './pipeline/step.js';
export { STEP_NAMES } from './pipeline/step.js';
export type {
  ApproverRequirement,
  DecisionEffect,
  PolicyDecision,
  PolicyEngine,
  PolicyRef,
  PolicyRequest,
  PolicyRunContext,
} from './policy.js';
export type { AgentIdentity, Principal, PrincipalKind, ResourceScope } from './principal.js';
export { scopeGranted } from './principal.js';
export type { CallOptions, Run, RunOutcome } from './run-contract.js';
export type { Runtime, RuntimeOptions, StartRunOptions } from './runtime.js';
export { createRuntime } from './runtime.js';
export type { TextMaskOptions } from './secret-text.js';
export { maskSecretsInText } from './secret-text.js';
export type {
  ApprovalQuery,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalStore,
} from './stores/approval-store.js';
export type { GroupCommitOptions, Settled } from './stores/group-commit.js';
export { GroupCommit } from './stores/group-commit.js';
export type {
  IdempotencyClaim,
  IdempotencyClaimRequest,
  IdempotencyRecord,
  IdempotencyStore,
} from './stores/idempotency-store.js';
export type { FullLedgerStore, LedgerPage, LedgerQuery, LedgerStore } from './stores/ledger-store.js';
export { readAll } from './stores/ledger-store.js';
export { InMemoryApprovalStore } from './stores/memory-approval-store.js';
export { InMemoryIdempotencyStore } from './stores/memory-idempotency-store.js';
export { InMemoryLedgerStore } from './stores/memory-ledger-store.js';
export type { MemoryStores } from './stores/memory-stores.js';
export { createMemoryStores } from './stores/memory-stores.js';
export { InMemoryUnitOfWork } from './stores/memory-unit-of-work.js';
export type { RuntimeStores } from './stores/stores.js';
export type {
  IdempotencyCompletion,
  IdempotencyRelease,
  UnitOfWork,
  UnitOfWorkResult,
  UnitOfWorkStore,
} from './stores/unit-of-work.js';
export { assertUnitOfWork } from './stores/unit-of-work.js';
export { CustodyAttributes, GenAiAttributes, GenAiOperations } from './telemetry/attributes.js';
export type {
  AnyTool,
  EffectClass,
  Tool,
  ToolCatalogEntry,
  ToolContext,
  ToolSpec,
  VerifyOutcome,
} from './tool.js';
export { defineTool, toolCatalogEntry } from './tool.js';
export type { VisibleTool } from './visible-tools.js';
export { listVisibleTools } from './visible-tools.js';
