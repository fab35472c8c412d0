import { describeValue, invalidArgument } from '../errors.js';
import { canonicalize } from './canonical-json.js';
import {
  type ChainHead,
  type EventDraft,
  GENESIS_HASH,
  LEDGER_SCHEMA_VERSION,
  type LedgerEvent,
} from './event.js';
import { randomHex, sha256Hex } from './hash.js';

/** The canonical JSON of an event's envelope: every field except `hash`, `payload` and `salt`. */
export function envelopeJson(event: Omit<LedgerEvent, 'hash' | 'payload' | 'salt'>): string {
  // Keys are written in RFC 8785 order by hand; the fields are strings, integers and nulls, for
  // which JSON.stringify emits exactly the canonical form (asserted against json-canonicalize).
  // The two hashes are 64 hex characters and seq and schemaVersion safe integers (sealEvent makes
  // them so, and verifyLedger checks their shape before it gets here), so they need no escaping.
  return (
    '{"actor":' +
    JSON.stringify(event.actor) +
    ',"id":' +
    JSON.stringify(event.id) +
    ',"payloadHash":"' +
    event.payloadHash +
    '","prevHash":"' +
    event.prevHash +
    '","runId":' +
    JSON.stringify(event.runId) +
    ',"schemaVersion":' +
    event.schemaVersion +
    ',"seq":' +
    event.seq +
    ',"spanId":' +
    JSON.stringify(event.spanId) +
    ',"stream":' +
    JSON.stringify(event.stream) +
    ',"tenant":' +
    JSON.stringify(event.tenant) +
    ',"traceId":' +
    JSON.stringify(event.traceId) +
    ',"ts":' +
    JSON.stringify(event.ts) +
    ',"type":' +
    JSON.stringify(event.type) +
    '}'
  );
}

/** The salted commitment to a payload that the envelope carries. */
export function payloadCommitment(salt: string, payloadCanonicalJson: string): string {
  return sha256Hex(salt + payloadCanonicalJson);
}

/**
 * Turns a draft into the next event of its stream: assigns seq and id, commits to the payload and
 * links to `prev`. The event holds a deep copy of the payload as it was when sealed. Throws `CUSTODY_CANONICAL_INVALID` if the payload is not faithful JSON, before
 * anything is written.
 *
 * @param payloadJson the payload's canonical JSON when the caller already has it (hot path).
 * @param copy false only when the payload is built by the caller from values nobody else holds
 *   and nobody will change (the runtime's own bookkeeping events); skips the snapshot.
 */
export function sealEvent<P>(
  draft: EventDraft<P>,
  prev: ChainHead | undefined,
  payloadJson?: string,
  copy = true,
): LedgerEvent<P> {
  if (draft.payload === null || draft.payload === undefined) {
    // A null payload means "erased by a redaction" to every verifier; a fresh event needs a value.
    throw invalidArgument(
      `event ${draft.type} needs a payload (use {} for none), got ${describeValue(draft.payload)}`,
    );
  }
  const json = payloadJson ?? canonicalize(draft.payload);
  const salt = randomHex(16);
  const seq = prev ? prev.seq + 1 : 0;
  // One object literal, hash filled in last: spreading an intermediate envelope object was the
  // single most expensive step of sealing (measured at 10x the cost of the literal).
  const event: { -readonly [K in keyof LedgerEvent<P>]: LedgerEvent<P>[K] } = {
    schemaVersion: LEDGER_SCHEMA_VERSION,
    id: `${draft.stream}:${seq}`,
    stream: draft.stream,
    seq,
    runId: draft.runId,
    traceId: draft.traceId,
    spanId: draft.spanId,
    ts: draft.ts,
    type: draft.type,
    tenant: draft.tenant,
    actor: draft.actor,
    payloadHash: payloadCommitment(salt, json),
    prevHash: prev ? prev.hash : GENESIS_HASH,
    hash: '',
    // A snapshot, not the caller's object: the app may change its object after recording (an
    // agent appends to its messages array), and the ledger must keep what was hashed.
    payload: copy ? (JSON.parse(json) as P) : draft.payload,
    salt,
  };
  event.hash = sha256Hex(envelopeJson(event));
  return event;
}
