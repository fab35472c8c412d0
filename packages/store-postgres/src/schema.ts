import { CustodyError, describeValue } from '@custody/core';

/** The schema the stores live in unless told otherwise. */
export const DEFAULT_SCHEMA = 'custody';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks a schema or role name. Only plain identifiers are accepted (letters, digits, `_`, at most
 * 63 bytes), so a name can never smuggle SQL; they are still always double-quoted, which keeps
 * their case.
 */
export function checkIdentifier(value: unknown, what: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `${what} must be a plain SQL identifier (a letter or _, then letters, digits or _, at most 63), got ${describeValue(value)}`,
      { details: { option: what } },
    );
  }
  return value;
}

/** A checked identifier, double-quoted. */
export function quoteIdentifier(name: string): string {
  return `"${name}"`;
}

/** Fully qualified, quoted names of every relation the adapter uses in one schema. */
export interface SchemaNames {
  readonly schema: string;
  readonly quotedSchema: string;
  readonly migrations: string;
  readonly ledgerEvents: string;
  readonly ledgerGuard: string;
  /** The retention function: the one way to delete events (whole streams). */
  readonly ledgerDeleteStreams: string;
  /** The erasure function: the one way to null a payload. */
  readonly ledgerErasePayload: string;
  /** The legal holds in force in one tenant (its operator stream), for the two functions above. */
  readonly ledgerLegalHolds: string;
  /** A stored payload as jsonb (U+0000 marked), for the checks of the two functions above. */
  readonly ledgerPayloadJson: string;
  /** The trigger function that makes a hold being appended wait for a deletion in progress, or be seen by it. */
  readonly ledgerHoldLock: string;
  readonly ledgerCheckpoints: string;
  readonly checkpointGuard: string;
  readonly approvalRequests: string;
  readonly idempotencyKeys: string;
}

/** The names for `schema` (already checked). */
export function schemaNames(schema: string): SchemaNames {
  const q = quoteIdentifier(schema);
  return {
    schema,
    quotedSchema: q,
    migrations: `${q}.schema_migrations`,
    ledgerEvents: `${q}.ledger_events`,
    ledgerGuard: `${q}.ledger_events_guard`,
    ledgerDeleteStreams: `${q}.ledger_delete_streams`,
    ledgerErasePayload: `${q}.ledger_erase_payload`,
    ledgerLegalHolds: `${q}.ledger_legal_holds`,
    ledgerPayloadJson: `${q}.ledger_payload_json`,
    ledgerHoldLock: `${q}.ledger_events_hold_lock`,
    ledgerCheckpoints: `${q}.ledger_checkpoints`,
    checkpointGuard: `${q}.ledger_checkpoints_guard`,
    approvalRequests: `${q}.approval_requests`,
    idempotencyKeys: `${q}.idempotency_keys`,
  };
}
