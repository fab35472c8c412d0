import { canonicalize } from './canonical-json.js';
import { type CheckpointKeys, type CheckpointSigner, verifyEd25519 } from './checkpoint-signer.js';
import { EventTypes, type LedgerEvent } from './event.js';

/** Domain separation of the signed message: an operator signature is never a checkpoint's. */
export const OPERATOR_RECORD_PURPOSE = 'custody.operator-record.v1';

/** The event types whose authority verification checks: they explain a deletion or an erasure. */
export const OPERATOR_RECORD_TYPES: readonly string[] = [EventTypes.pruned, EventTypes.redacted];

/**
 * The authority an operator record claims: an Ed25519 signature, by the named key, over the
 * record's envelope identity and payload (see {@link operatorRecordMessage}).
 */
export interface OperatorAuthority {
  readonly keyId: string;
  readonly algorithm: 'ed25519';
  /** Base64. */
  readonly signature: string;
}

/** The envelope fields an operator signature binds: the record cannot be moved to another stream. */
export interface OperatorRecordEnvelope {
  readonly type: string;
  readonly stream: string;
  readonly tenant: string;
  readonly runId: string | null;
}

/** Why an operator record's signature does not hold. */
export interface OperatorAuthorityProblem {
  readonly code: 'OPERATOR_UNSIGNED' | 'OPERATOR_UNKNOWN_KEY' | 'OPERATOR_SIG_INVALID';
  readonly message: string;
}

/**
 * The bytes an operator signature covers: the UTF-8 canonical JSON of
 * `{ purpose, type, stream, tenant, runId, payload }`, `payload` without its `authority`.
 */
export function operatorRecordMessage(
  envelope: OperatorRecordEnvelope,
  payload: Readonly<Record<string, unknown>>,
): Uint8Array {
  const { authority: _authority, ...unsigned } = payload;
  return Buffer.from(
    canonicalize({
      purpose: OPERATOR_RECORD_PURPOSE,
      type: envelope.type,
      stream: envelope.stream,
      tenant: envelope.tenant,
      runId: envelope.runId,
      payload: unsigned,
    }),
    'utf8',
  );
}

/**
 * Signs the payload of an operator record to be appended with `envelope`, and returns the payload
 * with its `authority` added.
 *
 * @example
 * ```ts
 * const payload = await signOperatorPayload(signer, { type: 'ledger.pruned', stream: 'operator:acme',
 *   tenant: 'acme', runId: null }, { before, streams, reason, requestedBy });
 * ```
 */
export async function signOperatorPayload<P extends Record<string, unknown>>(
  signer: CheckpointSigner,
  envelope: OperatorRecordEnvelope,
  payload: P,
): Promise<P & { authority: OperatorAuthority }> {
  const signature = await signer.sign(operatorRecordMessage(envelope, payload));
  return {
    ...payload,
    authority: {
      keyId: signer.keyId,
      algorithm: 'ed25519',
      signature: Buffer.from(signature).toString('base64'),
    },
  };
}

/**
 * Checks that an operator record (`ledger.pruned`, `ledger.redacted`) carries a valid signature by
 * one of `keys`. Returns the problem, or undefined when the signature holds.
 */
export function checkOperatorAuthority(
  record: LedgerEvent,
  keys: CheckpointKeys,
): OperatorAuthorityProblem | undefined {
  const payload = record.payload as Record<string, unknown> | null;
  const authority = payload?.authority as Partial<OperatorAuthority> | undefined;
  const label = `${record.type} record ${record.id}`;
  if (
    typeof authority !== 'object' ||
    authority === null ||
    typeof authority.keyId !== 'string' ||
    typeof authority.signature !== 'string' ||
    authority.algorithm !== 'ed25519'
  ) {
    return {
      code: 'OPERATOR_UNSIGNED',
      message: `${label} carries no operator signature, but operator keys were given: only a record signed by a trusted operator key explains a deletion or an erasure`,
    };
  }
  const key = Object.hasOwn(keys, authority.keyId) ? keys[authority.keyId] : undefined;
  if (key === undefined) {
    return {
      code: 'OPERATOR_UNKNOWN_KEY',
      message: `${label} is signed with key "${authority.keyId}", which is not among the trusted operator keys`,
    };
  }
  if (!verifyEd25519(operatorRecordMessage(record, payload!), authority.signature, key)) {
    return {
      code: 'OPERATOR_SIG_INVALID',
      message: `${label} has an invalid signature for key "${authority.keyId}": it was forged or edited`,
    };
  }
  return undefined;
}
