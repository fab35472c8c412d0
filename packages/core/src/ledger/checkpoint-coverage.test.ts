import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealEvent } from './chain.js';
import { createCheckpoint, signCheckpoint } from './checkpoint.js';
import { countUncovered } from './checkpoint-coverage.js';
import { createEd25519Signer } from './checkpoint-signer.js';
import type { ChainHead, LedgerEvent } from './event.js';
import { verifyLedger } from './verify.js';

const owner = generateKeyPairSync('ed25519');
const keys = { k: owner.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
const signer = createEd25519Signer({ keyId: 'k', privateKey: owner.privateKey });

function chain(stream: string, count: number, salt = ''): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let head: ChainHead | undefined;
  for (let i = 0; i < count; i++) {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: null,
        spanId: null,
        ts: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
        type: 'tool.result',
        tenant: 'acme',
        actor: 'agent:bot',
        payload: { i, salt },
      },
      head,
    );
    head = { seq: event.seq, hash: event.hash };
    events.push(event);
  }
  return events;
}

describe('uncovered events', () => {
  it('counts the events and streams no checkpoint pins at their seq or later', () => {
    const a = chain('run_a', 5);
    const b = chain('run_b', 2);
    const early = createCheckpoint([...a.slice(0, 2), ...b]);
    const later = createCheckpoint(a.slice(0, 3));
    expect(countUncovered([...a, ...b], [early, later])).toEqual({ events: 2, streams: 1, first: 3 });
    expect(countUncovered([...a, ...b], [])).toEqual({ events: 7, streams: 2, first: 0 });
  });

  it('is reported on every result, ok or failed', () => {
    const a = chain('run_a', 4);
    const checkpoint = createCheckpoint(a.slice(0, 2));
    expect(verifyLedger(a, { checkpoint })).toMatchObject({ ok: true, uncovered: { events: 2, streams: 1 } });
    expect(verifyLedger(a)).toMatchObject({ ok: true, uncovered: { events: 4, streams: 1 } });
    const broken = [a[0]!, a[2]!, a[3]!];
    expect(verifyLedger(broken, { checkpoint })).toMatchObject({
      ok: false,
      uncovered: { events: 2, streams: 1 },
      problem: { code: 'SEQ_GAP' },
    });
  });

  it('fails with UNCOVERED under requireCovered, pointing at the first uncovered event', () => {
    const a = chain('run_a', 4);
    const result = verifyLedger(a, { checkpoint: createCheckpoint(a.slice(0, 3)), requireCovered: true });
    expect(!result.ok && result.problem).toMatchObject({
      code: 'UNCOVERED',
      kind: 'unverifiable',
      index: 3,
      eventId: 'run_a:3',
      message: expect.stringContaining('1 event in 1 stream is covered by no checkpoint'),
    });
    expect(verifyLedger(a, { checkpoint: createCheckpoint(a), requireCovered: true }).ok).toBe(true);
  });
});

describe('anchor checkpoints (kept outside the ledger)', () => {
  it('catch a ledger restored from an older copy, which its own checkpoints cannot', async () => {
    const a = chain('run_a', 6);
    const b = chain('run_b', 3);
    const old = [...a.slice(0, 3)];
    const stored = [await signCheckpoint(createCheckpoint(old), signer)];
    const anchor = await signCheckpoint(createCheckpoint([...a, ...b]), signer);
    // The old copy verifies against what it holds itself.
    expect(verifyLedger(old, { checkpoints: stored, keys }).ok).toBe(true);
    const result = verifyLedger(old, { checkpoints: stored, anchorCheckpoints: [anchor], keys });
    expect(!result.ok && result.problem).toMatchObject({
      code: 'TRUNCATED',
      checkpoint: { index: 0, anchor: true, createdAt: anchor.createdAt },
      message: expect.stringContaining('the ledger is behind its anchor'),
    });
    const missing = verifyLedger([...a], { checkpoints: stored, anchorCheckpoints: [anchor], keys });
    expect(!missing.ok && missing.problem).toMatchObject({
      code: 'TRUNCATED',
      message: expect.stringContaining('stream run_b is in anchor checkpoint 0'),
    });
  });

  it('catch a ledger rewritten since the anchor, and count as checkpoints when they hold', async () => {
    const a = chain('run_a', 3);
    const anchor = await signCheckpoint(createCheckpoint(a), signer);
    const rewritten = chain('run_a', 3, 'forged');
    const result = verifyLedger(rewritten, { anchorCheckpoints: [anchor] });
    expect(!result.ok && result.problem).toMatchObject({
      code: 'CHECKPOINT_MISMATCH',
      checkpoint: { anchor: true },
    });
    expect(verifyLedger(a, { anchorCheckpoints: [anchor], keys, requireCovered: true })).toMatchObject({
      ok: true,
      checkpoints: 1,
      anchorCheckpoints: 1,
      signedCheckpoints: 1,
      uncovered: { events: 0, streams: 0 },
    });
  });

  it('must be signed by a trusted key when keys are given', async () => {
    const a = chain('run_a', 3);
    const result = verifyLedger(a, { anchorCheckpoints: [createCheckpoint(a)], keys });
    expect(!result.ok && result.problem).toMatchObject({
      code: 'SIG_INVALID',
      checkpoint: { anchor: true },
      message: expect.stringContaining('anchor checkpoint 0'),
    });
  });

  it('leave the retention anchors option as it was', () => {
    const a = chain('run_a', 6);
    const kept = a.slice(3);
    const result = verifyLedger(kept, {
      anchors: { run_a: { seq: 3, prevHash: a[2]!.hash } },
      anchorCheckpoints: [createCheckpoint(a)],
    });
    expect(result).toMatchObject({ ok: true, uncovered: { events: 0 } });
  });
});
