export type { ActionDigest, ActionDigestInput } from './action-digest.js';
export { computeActionDigest } from './action-digest.js';
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
export { canonicalize, canonicalObject } from './ledger/canonical-json.js';
export {
  envelopeJson,
  payloadCommitment,
  type SealerIdentity,
  StreamSealer,
  sealEvent,
} from './ledger/chain.js';
export type { CheckpointSignature, LedgerCheckpoint } from './ledger/checkpoint.js';
export {
  checkpointCount,
  checkpointMessage,
  checkpointRoot,
  createCheckpoint,
  signCheckpoint,
} from './ledger/checkpoint.js';
export type { UncoveredEvents } from './ledger/checkpoint-coverage.js';
export { countUncovered } from './ledger/checkpoint-coverage.js';
export type { CheckpointKeys, CheckpointSigner } from './ledger/checkpoint-signer.js';
export { createEd25519Signer, verifyEd25519 } from './ledger/checkpoint-signer.js';
export type { HoldsInForce } from './ledger/deletion-guards.js';
export {
  checkPayloadErasure,
  checkStreamDeletion,
  holdsInForce,
  isHeld,
  pruneRecordNamesHead,
  redactionRecordNamesEvent,
} from './ledger/deletion-guards.js';
export type { ChainHead, EventDraft, EventType, LedgerEvent } from './ledger/event.js';
export { EventTypes, GENESIS_HASH, LEDGER_SCHEMA_VERSION } from './ledger/event.js';
export { sha256Hex } from './ledger/hash.js';
export type { ExportResult, Ledger, LedgerActionRequest, LedgerOptions } from './ledger/ledger.js';
export { createLedger } from './ledger/ledger.js';
export type { LedgerExportHeader, ParsedLedgerExport } from './ledger/ledger-export.js';
export { CSV_COLUMNS, csvCell, csvLines, jsonlLines, parseJsonlExport } from './ledger/ledger-export.js';
export type { LedgerVerifyOptions } from './ledger/ledger-verify-options.js';
export { merkleRoot } from './ledger/merkle.js';
export type {
  OperatorAuthority,
  OperatorAuthorityProblem,
  OperatorRecordEnvelope,
} from './ledger/operator-record.js';
export {
  checkOperatorAuthority,
  OPERATOR_RECORD_PURPOSE,
  OPERATOR_RECORD_TYPES,
  operatorRecordMessage,
  signOperatorPayload,
} from './ledger/operator-record.js';
export type { PrunedStream } from './ledger/pruned-stream.js';
export type { RedactionPolicy, Redactor } from './ledger/redaction-policy.js';
export { createRedactor, DEFAULT_REDACTED_KEYS } from './ledger/redaction-policy.js';
export type {
  LedgerProblem,
  LedgerProblemCheckpoint,
  LedgerProblemCode,
  LedgerProblemKind,
  LedgerVerification,
  VerifyLedgerOptions,
} from './ledger/verify.js';
export { verifyLedger } from './ledger/verify.js';
export type { Mode, ModeTarget } from './mode.js';
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
export { principalRef, RESOURCE_LEVELS, resourceOutsideScope, scopeGranted } from './principal.js';
export type { CallOptions, Run, RunOutcome, VisibleTool } from './run.js';
export { listVisibleTools, outputOrThrow } from './run.js';
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
export type {
  IdempotencyClaim,
  IdempotencyClaimRequest,
  IdempotencyRecord,
  IdempotencyStore,
} from './stores/idempotency-store.js';
export type { FullLedgerStore, LedgerPage, LedgerQuery, LedgerStore } from './stores/ledger-store.js';
export { eventOutcome, eventToolName, matchesLedgerQuery, readAll } from './stores/ledger-store.js';
export { InMemoryApprovalStore } from './stores/memory-approval-store.js';
export { InMemoryIdempotencyStore } from './stores/memory-idempotency-store.js';
export { InMemoryLedgerStore } from './stores/memory-ledger-store.js';
export type { MemoryStores } from './stores/memory-stores.js';
export { createMemoryStores } from './stores/memory-stores.js';
export type { RuntimeStores } from './stores/stores.js';
export { CustodyAttributes, GenAiAttributes, GenAiOperations } from './telemetry/attributes.js';
export type { TimelineEntry } from './timeline.js';
export { describeEvent, renderTimeline } from './timeline.js';
export type {
  AnyTool,
  EffectClass,
  Tool,
  ToolCatalogEntry,
  ToolContext,
  ToolSpec,
  VerifyOutcome,
} from './tool.js';
export { defineTool, EFFECT_CLASSES, toolCatalogEntry } from './tool.js';
