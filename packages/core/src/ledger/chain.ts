import { describeValue, invalidArgument } from '../errors.js';
import { canonicalize } from './canonical-json.js';
import {
  type ChainHead,
  type EventDraft,
  type EventType,
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
 * links to `prev`. The event holds a deep copy of the payload as it was when sealed. Throws
 * `CUSTODY_CANONICAL_INVALID` if the payload is not faithful JSON, before anything is written.
 */
export function sealEvent<P>(draft: EventDraft<P>, prev: ChainHead | undefined): LedgerEvent<P> {
  const { type, ts, spanId, payload } = draft;
  return new StreamSealer(draft).seal({ type, ts, spanId, payload, prev });
}

/** What {@link StreamSealer.seal} seals: the fields that differ from event to event. */
export interface SealInput<P> {
  readonly type: EventType;
  readonly ts: string;
  readonly spanId: string | null;
  readonly payload: P;
  /** The stream's head before this event; undefined for its first event. */
  readonly prev: ChainHead | undefined;
}

/** The envelope fields every event a writer appends to one stream shares. */
export interface SealerIdentity {
  readonly stream: string;
  readonly runId: string | null;
  readonly traceId: string | null;
  readonly tenant: string;
  readonly actor: string;
}

/**
 * Seals the events one actor appends to one stream. The envelope fields they share are encoded
 * once, here, so sealing an event encodes only what differs (seq, hashes, span, time, type): the
 * envelope is hashed for every event, and building it field by field was the largest cost of
 * sealing after the two hashes. {@link envelopeJson} stays the reference encoding; tests hold the
 * two byte-identical.
 */
export class StreamSealer {
  readonly #identity: SealerIdentity;
  /** `{"actor":…,"id":"<stream>:` — the id's closing quote follows the seq. */
  readonly #head: string;
  /** From after `"runId":` up to `"seq":`. */
  readonly #middle: string;
  /** From `,"stream":` up to `"ts":`. */
  readonly #tail: string;
  // The span and time of consecutive events repeat (a call's events share its span, many events
  // share a millisecond), so the last encoding of each is kept.
  #spanId: string | null = null;
  #spanIdJson = 'null';
  #ts = '';
  #tsJson = '""';

  constructor(identity: SealerIdentity) {
    const streamJson = JSON.stringify(identity.stream);
    this.#identity = identity;
    // The id is `<stream>:<seq>`: the stream's JSON without its closing quote, then `:` and
    // digits, none of which JSON escapes, so the result equals JSON.stringify of the whole id.
    this.#head = `{"actor":${JSON.stringify(identity.actor)},"id":${streamJson.slice(0, -1)}:`;
    this.#middle = `","runId":${JSON.stringify(identity.runId)},"schemaVersion":${LEDGER_SCHEMA_VERSION},"seq":`;
    this.#tail = `,"stream":${streamJson},"tenant":${JSON.stringify(identity.tenant)},"traceId":${JSON.stringify(identity.traceId)},"ts":`;
  }

  /** Seals the event that follows `input.prev`; see {@link sealEvent}. */
  seal<P>(input: SealInput<P>): LedgerEvent<P> {
    const { type, ts, spanId, payload, prev } = input;
    if (payload === null || payload === undefined) {
      // A null payload means "erased by a redaction" to every verifier; a fresh event needs a value.
      throw invalidArgument(`event ${type} needs a payload (use {} for none), got ${describeValue(payload)}`);
    }
    const identity = this.#identity;
    const json = canonicalize(payload);
    const salt = randomHex(16);
    const seq = prev ? prev.seq + 1 : 0;
    const payloadHash = payloadCommitment(salt, json);
    const prevHash = prev ? prev.hash : GENESIS_HASH;
    // Keys in RFC 8785 order, as envelopeJson writes them. The hashes are 64 hex characters and
    // seq a safe integer, which JSON writes as they are.
    const envelope =
      this.#head +
      seq +
      '","payloadHash":"' +
      payloadHash +
      '","prevHash":"' +
      prevHash +
      this.#middle +
      seq +
      ',"spanId":' +
      this.#encodeSpanId(spanId) +
      this.#tail +
      this.#encodeTs(ts) +
      ',"type":' +
      this.#encodeType(type) +
      '}';
    // One object literal in envelope order: spreading an intermediate object was measured at ten
    // times the cost of the literal.
    return {
      schemaVersion: LEDGER_SCHEMA_VERSION,
      id: `${identity.stream}:${seq}`,
      stream: identity.stream,
      seq,
      runId: identity.runId,
      traceId: identity.traceId,
      spanId,
      ts,
      type,
      tenant: identity.tenant,
      actor: identity.actor,
      payloadHash,
      prevHash,
      hash: sha256Hex(envelope),
      // A snapshot, not the caller's object: the app may change its object after recording (an
      // agent appends to its messages array), and the ledger must keep what was hashed.
      payload: JSON.parse(json) as P,
      salt,
    };
  }

  #encodeSpanId(spanId: string | null): string {
    if (spanId !== this.#spanId) {
      this.#spanId = spanId;
      this.#spanIdJson = JSON.stringify(spanId);
    }
    return this.#spanIdJson;
  }

  #encodeTs(ts: string): string {
    if (ts !== this.#ts) {
      this.#ts = ts;
      this.#tsJson = JSON.stringify(ts);
    }
    return this.#tsJson;
  }

  #encodeType(type: string): string {
    let json = typeJson.get(type);
    if (json === undefined) {
      json = JSON.stringify(type);
      // Event types are a small fixed set; an app inventing types without end must not grow this.
      if (typeJson.size < 256) typeJson.set(type, json);
    }
    return json;
  }
}

/** JSON of the event types seen, shared by every sealer. */
const typeJson = new Map<string, string>();
