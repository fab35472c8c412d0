import { generateKeyPairSync } from 'node:crypto';
import {
  type ApprovalRequest,
  type ChainHead,
  type CheckpointKeys,
  type CheckpointSigner,
  CustodyError,
  createEd25519Signer,
  type LedgerEvent,
} from '@custody/core';
import { type EventDraft, sealEvent, sha256Hex } from '@custody/core/ledger';
import { expect } from 'vitest';

/** Every event's `ts` counts up from here, one millisecond per event, so time filters are exact. */
const BASE_TIME = Date.parse('2030-01-01T00:00:00.000Z');

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

/**
 * Seals events with core's `sealEvent`, chaining each stream through the previous event. It
 * remembers the head of every stream it wrote, so a test says `next(stream)` and gets the event
 * that legitimately extends it, or `fork(stream)` for one that competes for the same seq.
 */
export class EventFactory {
  readonly #heads = new Map<string, ChainHead>();
  #clock = 0;

  constructor(private readonly prefix: string) {}

  /** A stream (and run) id unique to the current test. */
  stream(name: string): string {
    return `${this.prefix}${name}`;
  }

  /** The next `ts`: strictly increasing across every event of the test. */
  tick(): string {
    return new Date(BASE_TIME + this.#clock++).toISOString();
  }

  /** The event that extends `stream`; the factory's head moves to it. */
  next<P>(stream: string, draft: Partial<EventDraft<P>> = {}): LedgerEvent<P> {
    const event = this.fork(stream, draft);
    this.#heads.set(stream, { seq: event.seq, hash: event.hash });
    return event;
  }

  /** An event sealed on the factory's head of `stream` without moving it: a competing writer. */
  fork<P>(stream: string, draft: Partial<EventDraft<P>> = {}): LedgerEvent<P> {
    return this.after(this.#heads.get(stream), stream, draft);
  }

  /** An event sealed on an explicit `prev` (undefined: the first event of a stream). */
  after<P>(prev: ChainHead | undefined, stream: string, draft: Partial<EventDraft<P>> = {}): LedgerEvent<P> {
    const seq = prev ? prev.seq + 1 : 0;
    return sealEvent<P>(
      {
        stream,
        runId: stream,
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        ts: this.tick(),
        type: 'tool.result',
        tenant: 'tenant-a',
        actor: 'agent:triage@1.0.0',
        payload: { stream, seq } as P,
        ...draft,
      },
      prev,
    );
  }

  /** `count` events extending `stream`. */
  chain(
    stream: string,
    count: number,
    draft: (index: number) => Partial<EventDraft> = () => ({}),
  ): LedgerEvent[] {
    return Array.from({ length: count }, (_, index) => this.next(stream, draft(index)));
  }

  /** Moves the factory's head of `stream` to `event` (after a race picked a winner). */
  adopt(event: LedgerEvent): void {
    this.#heads.set(event.stream, { seq: event.seq, hash: event.hash });
  }
}

/**
 * Text that breaks naive storage: emoji with joiners and modifiers, CJK, astral-plane characters,
 * right-to-left and combining marks, every JSON escape, C0 controls, line and paragraph
 * separators, a BOM, keys that sort differently by UTF-16 code unit than by code point, and
 * numbers at the edges of what JSON carries exactly.
 */
export const UNICODE_PAYLOAD = {
  emoji: '👩‍💻 🚀 🏳️‍🌈 👍🏽 🇯🇵',
  cjk: '漢字 かな カナ 한국어 中文',
  astral: '𝄞 𠜎 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u{1F600} \u{10FFFF}',
  rtl: 'مرحبا שלום',
  combining: 'e\u0301 n\u0303 A\u030A Z\u0351\u0352\u0353',
  escapes: 'quote " backslash \\ slash / newline \n tab \t return \r backspace \b formfeed \f',
  controls: Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).join('') + '\u007f',
  separators: 'line\u2028paragraph\u2029bom\ufeffnbsp\u00a0',
  looksLikeSql: "'); DROP TABLE events; --",
  keys: {
    ключ: 1,
    鍵: 2,
    '🔑': 3,
    '': 4,
    'a\u0000b': 5,
    '\ufb33': 6,
    '\u{1F600}': 7,
    é: 8,
    e: 9,
    '10': 10,
    '9': 11,
  },
  numbers: [
    0,
    1,
    -1,
    0.5,
    -1.25,
    1e21,
    1e-7,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
    0.1 + 0.2,
    5e-324,
    1.7976931348623157e308,
  ],
  nested: [[[]], {}, null, true, false, '', { deep: { deeper: { deepest: ['✓'] } } }],
};

/** A payload whose canonical JSON is over 1 MiB of UTF-8, mixing long strings, unicode and many small objects. */
export function largePayload(): { blob: string; rows: { i: number; text: string; ok: boolean }[] } {
  return {
    blob: 'abc€𝄞"\\\n漢'.repeat(60_000),
    rows: Array.from({ length: 6_000 }, (_, i) => ({
      i,
      text: `row ${i} — ünïcödé 😀 ${'z'.repeat(i % 17)}`,
      ok: i % 2 === 0,
    })),
  };
}

/** An approval request with every field filled in, unique by `id`. */
export function approvalRequest(id: string, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id,
    digest: sha256Hex(`digest:${id}`),
    status: 'pending',
    tenant: 'tenant-a',
    runId: 'run-1',
    callId: `call-${id}`,
    tool: { name: 'stripe.refund', version: '1.2.0' },
    input: { chargeId: 'ch_1', amountCents: 5_000, note: 'refund — ünïcödé 😀', tags: ['vip', 'manual'] },
    resource: { tenant: 'tenant-a', customer: 'cus_42' },
    requestedBy: 'agent:triage',
    onBehalfOf: 'user:alice',
    agent: { id: 'triage', version: '1.0.0' },
    approvers: [{ role: 'finance', count: 2 }],
    policy: { id: 'refunds', version: '3', hash: sha256Hex('refunds@3') },
    ruleIds: ['refund-over-limit'],
    reasons: ['amount 5000 is over the 1000 limit'],
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2030-01-02T00:00:00.000Z',
    ...overrides,
  };
}

/** Awaits `promise` and asserts it rejected with a CustodyError of `code`. */
export async function expectCustodyError(
  promise: Promise<unknown>,
  code: string,
  what: string,
): Promise<CustodyError> {
  const outcome = await promise.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  expect(outcome.ok, `${what}: expected a rejection with ${code}, but it resolved`).toBe(false);
  const { error } = outcome as { error: unknown };
  expect(CustodyError.isInstance(error), `${what}: expected a CustodyError, got ${String(error)}`).toBe(true);
  expect((error as CustodyError).code, `${what}: wrong error code (${String(error)})`).toBe(code);
  return error as CustodyError;
}

const signers = new Map<string, { signer: CheckpointSigner; keys: CheckpointKeys }>();

/**
 * An in-process Ed25519 checkpoint signer under `keyId`, and the public keys that verify it; one
 * key pair per key id and test file. Two different key ids are two different keys (a forger's).
 */
export function conformanceSigner(keyId = 'conformance-key'): {
  signer: CheckpointSigner;
  keys: CheckpointKeys;
} {
  let pair = signers.get(keyId);
  if (!pair) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signer = createEd25519Signer({ keyId, privateKey });
    pair = { signer, keys: { [keyId]: publicKey } };
    signers.set(keyId, pair);
  }
  return pair;
}
