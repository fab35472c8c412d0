import { canonicalize as reference } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { envelopeJson, payloadCommitment, sealEvent } from './chain.js';
import { GENESIS_HASH } from './event.js';
import { sha256Hex } from './hash.js';

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

  it('uses a precomputed payload encoding when given one', () => {
    const json = reference(draft.payload);
    const event = sealEvent(draft, undefined, json);
    expect(event.payloadHash).toBe(sha256Hex(event.salt + json));
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
