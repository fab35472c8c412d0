/**
 * `@custody/core/ledger`: the ledger's building blocks, for storage adapters, the conformance
 * suite, replay and the CLI — sealing, canonical JSON, hashing, checkpoint pieces, operator
 * records and event helpers. Apps and operators need none of it: `createLedger`, `verifyLedger`,
 * the event and store types and checkpoint signing are exported from `@custody/core`.
 *
 * @packageDocumentation
 */
export { canonicalize } from './canonical-json.js';
export type { SealerIdentity } from './chain.js';
export { envelopeJson, payloadCommitment, StreamSealer, sealEvent } from './chain.js';
export { checkpointCount, checkpointRoot, createCheckpoint, signCheckpoint } from './checkpoint.js';
export type { EventDraft } from './event.js';
export { GENESIS_HASH } from './event.js';
export { eventOutcome, eventToolName } from './event-fields.js';
export { sha256Hex } from './hash.js';
export { CSV_COLUMNS } from './ledger-export.js';
export { matchesLedgerQuery } from './ledger-query.js';
export type { OperatorAuthority, OperatorRecordEnvelope } from './operator-record.js';
export { OPERATOR_RECORD_TYPES, signOperatorPayload } from './operator-record.js';
export type { Redactor } from './redaction-policy.js';
export { createRedactor } from './redaction-policy.js';
