import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealEvent } from './chain.js';
import { createCheckpoint, signCheckpoint } from './checkpoint.js';
import { createEd25519Signer } from './checkpoint-signer.js';
import type { ChainHead, LedgerEvent } from './event.js';
import { verifyLedger } from './verify.js';

function chain(stream: string, count: number, startTs = 0): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let head: ChainHead | undefined;
  for (let i = 0; i < count; i++) {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        ts: new Date(startTs + i).toISOString(),
        type: 'tool.result',
        tenant: 'acme',
        actor: 'agent:bot',
        payload: { i, text: `event ${i} of ${stream}`, nested: { ok: true } },
      },
      head,
    );
    head = { seq: event.seq, hash: event.hash };
    events.push(event);
  }
  return events;
}

/** Two runs interleaved, as a shared ledger stores them. */
function ledger(): LedgerEvent[] {
  const a = chain('run_a', 5);
  const b = chain('run_b', 5);
  return a.flatMap((event, i) => [event, b[i]!]);
}

describe('verifyLedger', () => {
  it('accepts an untouched ledger of interleaved streams', () => {
    const result = verifyLedger(ledger());
    expect(result).toMatchObject({ ok: true, events: 10, streams: 2, redacted: 0 });
  });

  it('pinpoints an altered byte in an envelope', () => {
    const events = ledger();
    events[4] = { ...events[4]!, ts: events[4]!.ts.replace(/.$/, 'Y') };
    const result = verifyLedger(events);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problem).toMatchObject({ code: 'HASH_MISMATCH', kind: 'altered', index: 4 });
  });

  it('pinpoints an altered payload', () => {
    const events = ledger();
    events[6] = { ...events[6]!, payload: { i: 3, text: 'event 3 of run_a', nested: { ok: false } } };
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({
      code: 'PAYLOAD_MISMATCH',
      kind: 'altered',
      index: 6,
    });
  });

  it('detects a payload erased without a salt erased too', () => {
    const events = ledger();
    events[2] = { ...events[2]!, payload: null };
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({ code: 'PAYLOAD_MISSING', index: 2 });
  });

  it('accepts a redacted payload backed by a redaction record, and reports it', () => {
    const events = ledger();
    const target = events[2]!;
    events[2] = { ...target, payload: null, salt: null };
    const last = events.filter((event) => event.stream === target.stream).at(-1)!;
    const record = sealEvent(
      {
        ...last,
        type: 'ledger.redacted',
        payload: {
          eventId: target.id,
          payloadHash: target.payloadHash,
          reason: 'GDPR erasure',
          requestedBy: 'user:dpo',
        },
      },
      { seq: last.seq, hash: last.hash },
    );
    expect(verifyLedger([...events, record])).toMatchObject({
      ok: true,
      redacted: 1,
      redactedIds: [target.id],
    });
  });

  it('rejects a payload erased without a redaction record', () => {
    const events = ledger();
    events[2] = { ...events[2]!, payload: null, salt: null };
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({
      code: 'PAYLOAD_MISSING',
      kind: 'altered',
      index: 2,
    });
  });

  it('pinpoints a deleted event in the middle', () => {
    const events = ledger();
    events.splice(4, 1); // run_a seq 2
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({
      code: 'SEQ_GAP',
      kind: 'deleted',
      index: 5,
      stream: 'run_a',
      seq: 3,
    });
  });

  it('pinpoints a deleted first event', () => {
    const events = ledger().slice(1);
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({
      code: 'SEQ_GAP',
      kind: 'deleted',
      index: 1,
      stream: 'run_a',
    });
  });

  it('pinpoints reordered events', () => {
    const events = ledger();
    [events[2], events[4]] = [events[4]!, events[2]!]; // run_a seq 1 and 2 swapped
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({ code: 'REORDERED', kind: 'reordered', index: 2 });
  });

  it('pinpoints an inserted event that claims an existing seq', () => {
    const events = ledger();
    const forged = chain('run_a', 3)[2]!; // a valid-looking event for seq 2 of another chain
    events.splice(5, 0, forged);
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({ kind: 'inserted', index: 5 });
  });

  it('pinpoints an inserted event that renumbers what follows', () => {
    const a = chain('run_a', 4);
    // A forger inserts an event after seq 1 and renumbers seq 2 and 3 without rehashing them.
    const forged = sealEvent({ ...a[2]!, payload: { forged: true } }, { seq: 1, hash: a[1]!.hash });
    const renumbered = [a[0]!, a[1]!, forged, { ...a[2]!, seq: 3 }, { ...a[3]!, seq: 4 }];
    const result = verifyLedger(renumbered);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.index).toBeLessThanOrEqual(3);
  });

  it('detects a truncated tail only with a checkpoint, and pinpoints the stream', () => {
    const events = ledger();
    const checkpoint = createCheckpoint(events);
    const truncated = events.slice(0, -2); // drops run_a seq 4 and run_b seq 4
    expect(verifyLedger(truncated).ok).toBe(true);
    const result = verifyLedger(truncated, { checkpoint });
    expect(!result.ok && result.problem).toMatchObject({ code: 'TRUNCATED', kind: 'truncated', index: 8 });
  });

  it('detects a whole stream deleted, given a checkpoint', () => {
    const events = ledger();
    const checkpoint = createCheckpoint(events);
    const result = verifyLedger(
      events.filter((event) => event.stream !== 'run_b'),
      { checkpoint },
    );
    expect(!result.ok && result.problem).toMatchObject({
      code: 'TRUNCATED',
      message: expect.stringContaining('run_b'),
    });
  });

  it('detects a stream rewritten from scratch, given a checkpoint', () => {
    const events = ledger();
    const checkpoint = createCheckpoint(events);
    const rewritten = [...events.filter((event) => event.stream !== 'run_a'), ...chain('run_a', 5, 99)];
    const result = verifyLedger(rewritten, { checkpoint });
    expect(!result.ok && result.problem).toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
  });

  it('accepts events appended after a checkpoint', () => {
    const a = chain('run_a', 6);
    const checkpoint = createCheckpoint(a.slice(0, 4));
    expect(verifyLedger(a, { checkpoint })).toMatchObject({ ok: true, checkpointVerified: true });
  });

  it('rejects a checkpoint whose heads were edited', () => {
    const events = ledger();
    const checkpoint = createCheckpoint(events);
    const edited = {
      ...checkpoint,
      heads: { ...checkpoint.heads, run_a: { seq: 2, hash: events[4]!.hash } },
    };
    expect(!verifyLedger(events, { checkpoint: edited }).ok).toBe(true);
  });

  it('reports a malformed event instead of throwing', () => {
    const events = ledger();
    (events as unknown[])[3] = { ...events[3]!, seq: -1 };
    const result = verifyLedger(events);
    expect(!result.ok && result.problem).toMatchObject({ code: 'MALFORMED', index: 3 });
  });

  it('verifies a pruned stream from its anchor', () => {
    const a = chain('run_a', 6);
    const kept = a.slice(3);
    expect(verifyLedger(kept).ok).toBe(false);
    expect(verifyLedger(kept, { anchors: { run_a: { seq: 3, prevHash: a[2]!.hash } } }).ok).toBe(true);
  });
});

describe('signed checkpoints', () => {
  const owner = generateKeyPairSync('ed25519');
  const attacker = generateKeyPairSync('ed25519');
  const keys = { 'ledger-1': owner.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  const signer = createEd25519Signer({ keyId: 'ledger-1', privateKey: owner.privateKey });

  it('verifies a ledger against a signed checkpoint', async () => {
    const events = ledger();
    const checkpoint = await signCheckpoint(createCheckpoint(events), signer);
    expect(verifyLedger(events, { checkpoints: [checkpoint], keys })).toMatchObject({
      ok: true,
      checkpoints: 1,
      signedCheckpoints: 1,
    });
  });

  it('catches a whole-ledger rewrite by someone without the key', async () => {
    const original = ledger();
    const checkpoint = await signCheckpoint(createCheckpoint(original), signer);
    // The forger rewrites every stream and, lacking the key, re-signs with their own under the same id.
    const forgedEvents = [...chain('run_a', 5, 7), ...chain('run_b', 5, 7)];
    const forgedSigner = createEd25519Signer({ keyId: 'ledger-1', privateKey: attacker.privateKey });
    const forged = await signCheckpoint(createCheckpoint(forgedEvents), forgedSigner);
    const withForged = verifyLedger(forgedEvents, { checkpoints: [forged], keys });
    expect(!withForged.ok && withForged.problem).toMatchObject({ code: 'SIG_INVALID', kind: 'forged' });
    const withOriginal = verifyLedger(forgedEvents, { checkpoints: [checkpoint], keys });
    expect(!withOriginal.ok && withOriginal.problem).toMatchObject({ code: 'CHECKPOINT_MISMATCH' });
    const unsigned = verifyLedger(forgedEvents, { checkpoints: [createCheckpoint(forgedEvents)], keys });
    expect(!unsigned.ok && unsigned.problem).toMatchObject({ code: 'SIG_INVALID' });
    const otherKey = await signCheckpoint(
      createCheckpoint(forgedEvents),
      createEd25519Signer({ keyId: 'mine', privateKey: attacker.privateKey }),
    );
    const unknown = verifyLedger(forgedEvents, { checkpoints: [otherKey], keys });
    expect(!unknown.ok && unknown.problem).toMatchObject({ code: 'UNKNOWN_KEY' });
  });

  it('catches truncation before the last checkpoint, and cannot see truncation after it', async () => {
    const a = chain('run_a', 10);
    const checkpoint = await signCheckpoint(createCheckpoint(a.slice(0, 6)), signer);
    const before = verifyLedger(a.slice(0, 4), { checkpoints: [checkpoint], keys });
    expect(!before.ok && before.problem).toMatchObject({ code: 'TRUNCATED' });
    // Events written after the newest checkpoint are only as safe as the next checkpoint makes them.
    expect(verifyLedger(a.slice(0, 8), { checkpoints: [checkpoint], keys }).ok).toBe(true);
  });

  it('requires a checkpoint when keys are given', () => {
    const result = verifyLedger(ledger(), { keys });
    expect(!result.ok && result.problem).toMatchObject({ code: 'CHECKPOINT_MISSING' });
  });

  it('rejects a tampered signature and a tampered count', async () => {
    const events = ledger();
    const checkpoint = await signCheckpoint(createCheckpoint(events), signer);
    const badSig = {
      ...checkpoint,
      signature: { ...checkpoint.signature!, value: Buffer.alloc(64).toString('base64') },
    };
    expect(verifyLedger(events, { checkpoints: [badSig], keys }).ok).toBe(false);
    const badCount = { ...checkpoint, count: checkpoint.count - 1 };
    const result = verifyLedger(events, { checkpoints: [badCount], keys });
    expect(!result.ok && result.problem).toMatchObject({ code: 'ROOT_MISMATCH' });
  });
});
