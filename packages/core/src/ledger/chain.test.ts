import fc from 'fast-check';
import { canonicalize as reference } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { envelopeJson, payloadCommitment, StreamSealer, sealEvent } from './chain.js';
import { type ChainHead, GENESIS_HASH } from './event.js';
import { sha256Hex } from './hash.js';
import { verifyLedger } from './verify.js';

const draft = {
  stream: 'run_1',
  runId: 'run_1',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  ts: '2026-11-24T02:48:38.123Z',
  type: 'tool.requested',
  tenant: 'acme \u00e9\u20ac\ud83d\ude00',
  actor: 'agent:triage "bot"',
  payload: { tool: 'jira.create_issue', input: { summary: 'Printer \u2603 on fire', n: 1.5 } },
};

describe('sealEvent', () => {
  it('hashes the envelope over exactly the bytes json-canonicalize produces', () => {
    const event = sealEvent(draft, undefined);
    const { hash, payload, salt, ...envelope } = event;
    expect(envelopeJson(event)).toBe(reference(envelope));
    expect(hash).toBe(sha256Hex(reference(envelope)));
    expect(event.payloadHash).toBe(sha256Hex(salt + reference(payload)));
  });

  it('commits to the payload with a fresh salt per event', () => {
    const a = sealEvent(draft, undefined);
    const b = sealEvent(draft, undefined);
    expect(a.salt).not.toBe(b.salt);
    expect(a.payloadHash).not.toBe(b.payloadHash);
    expect(a.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(payloadCommitment(a.salt!, reference(draft.payload))).toBe(a.payloadHash);
  });

  it('links to the previous head and numbers from 0', () => {
    const first = sealEvent(draft, undefined);
    expect(first).toMatchObject({ seq: 0, prevHash: GENESIS_HASH, id: 'run_1:0' });
    const second = sealEvent(draft, { seq: first.seq, hash: first.hash });
    expect(second).toMatchObject({ seq: 1, prevHash: first.hash, id: 'run_1:1' });
  });

  it('refuses a payload JSON cannot carry, before producing an event', () => {
    expect(() => sealEvent({ ...draft, payload: { amount: Number.NaN } }, undefined)).toThrow(
      /CUSTODY|cannot be recorded/,
    );
  });
});

describe('sealEvent snapshots', () => {
  it('keeps the payload as sealed even when the caller mutates its object afterwards', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const event = sealEvent({ ...draft, payload: { messages } }, undefined);
    messages.push({ role: 'assistant', content: 'later' });
    expect(event.payload).toEqual({ messages: [{ role: 'user', content: 'hi' }] });
    expect(event.payloadHash).toBe(sha256Hex(event.salt + reference(event.payload)));
  });
});

describe('sealEvent payloads', () => {
  it('refuses a null or missing payload, which would read as erased', () => {
    expect(() => sealEvent({ ...draft, payload: null }, undefined)).toThrow(/needs a payload/);
    expect(() => sealEvent({ ...draft, payload: undefined }, undefined)).toThrow(/needs a payload/);
  });
});

describe('StreamSealer', () => {
  const identities = fc.record({
    stream: fc.string({ minLength: 1, unit: 'binary' }),
    runId: fc.option(fc.string({ unit: 'binary' })),
    traceId: fc.option(fc.stringMatching(/^[0-9a-f]{32}$/)),
    tenant: fc.string({ unit: 'binary' }),
    actor: fc.string({ unit: 'binary' }),
  });

  it('writes the envelope byte-identical to json-canonicalize, whatever the identity', () => {
    fc.assert(
      fc.property(
        identities.filter((identity) =>
          [identity.stream, identity.runId ?? '', identity.tenant, identity.actor].every((text) =>
            text.isWellFormed(),
          ),
        ),
        fc.option(fc.stringMatching(/^[0-9a-f]{16}$/)),
        fc.constantFrom('tool.requested', 'policy.decided', 'run.ended', 'x.\u00e9\u0000"'),
        fc.nat({ max: 3 }),
        (identity, spanId, type, extra) => {
          const sealer = new StreamSealer(identity);
          let head: ChainHead | undefined;
          for (let i = 0; i <= extra; i++) {
            const event = sealer.seal({
              type,
              ts: '2026-12-03T20:11:00.000Z',
              spanId,
              payload: { i },
              prev: head,
            });
            const { hash, payload, salt, ...envelope } = event;
            expect(envelopeJson(event)).toBe(reference(envelope));
            expect(hash).toBe(sha256Hex(reference(envelope)));
            expect(event.payloadHash).toBe(sha256Hex(salt + reference(payload)));
            expect(event.id).toBe(`${identity.stream}:${i}`);
            head = { seq: event.seq, hash };
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('chains like sealEvent and verifies', () => {
    const sealer = new StreamSealer(draft);
    const first = sealer.seal({ ...draft, type: 'tool.requested', prev: undefined });
    const second = sealEvent(draft, { seq: first.seq, hash: first.hash });
    const third = sealer.seal({
      type: 'tool.result',
      ts: draft.ts,
      spanId: null,
      payload: { ok: true },
      prev: second,
    });
    expect([first.prevHash, second.prevHash, third.prevHash]).toEqual([
      GENESIS_HASH,
      first.hash,
      second.hash,
    ]);
    expect(verifyLedger([first, second, third]).ok).toBe(true);
  });
});
