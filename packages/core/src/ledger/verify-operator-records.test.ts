import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealEvent } from './chain.js';
import { createCheckpoint, signCheckpoint } from './checkpoint.js';
import { type CheckpointSigner, createEd25519Signer } from './checkpoint-signer.js';
import type { LedgerEvent } from './event.js';
import { signOperatorPayload } from './operator-record.js';
import { verifyLedger } from './verify.js';

const owner = generateKeyPairSync('ed25519');
const operator = generateKeyPairSync('ed25519');
const attacker = generateKeyPairSync('ed25519');
const pem = (key: typeof owner.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();
const keys = { ledger: pem(owner.publicKey) };
const signer = createEd25519Signer({ keyId: 'ledger', privateKey: owner.privateKey });
const operatorSigner = createEd25519Signer({ keyId: 'ops', privateKey: operator.privateKey });
/** The forger signs with a key nobody trusts, under the trusted key's id. */
const forgerAsLedger = createEd25519Signer({ keyId: 'ledger', privateKey: attacker.privateKey });
const forgerOwnKey = createEd25519Signer({ keyId: 'mallory', privateKey: attacker.privateKey });

/** Appends one event to `stream` after `events` (its last event of that stream is the head). */
function extend(
  events: LedgerEvent[],
  stream: string,
  fields: { type?: string; tenant?: string; runId?: string | null; payload?: Record<string, unknown> } = {},
): LedgerEvent {
  const last = events.filter((event) => event.stream === stream).at(-1);
  const event = sealEvent(
    {
      stream,
      runId: fields.runId === undefined ? stream : fields.runId,
      traceId: null,
      spanId: null,
      ts: new Date(Date.UTC(2026, 0, 1) + events.length).toISOString(),
      type: fields.type ?? 'tool.result',
      tenant: fields.tenant ?? 'acme',
      actor: 'agent:bot',
      payload: fields.payload ?? { n: events.length, secret: `value ${events.length}` },
    },
    last && { seq: last.seq, hash: last.hash },
  );
  events.push(event);
  return event;
}

/** Appends an operator record, signed by `by` unless it is undefined. */
async function appendRecord(
  events: LedgerEvent[],
  stream: string,
  type: 'ledger.redacted' | 'ledger.pruned',
  payload: Record<string, unknown>,
  by: CheckpointSigner | undefined,
  envelope: { tenant?: string; runId?: string | null } = {},
): Promise<LedgerEvent> {
  const tenant = envelope.tenant ?? 'acme';
  const runId = envelope.runId === undefined ? (type === 'ledger.pruned' ? null : stream) : envelope.runId;
  const signed = by ? await signOperatorPayload(by, { type, stream, tenant, runId }, payload) : payload;
  return extend(events, stream, { type, tenant, runId, payload: signed });
}

/** Run `run_a` of four events, its event 1 erased, with the redaction record `by` signs (or none). */
async function erased(by: CheckpointSigner | undefined, overrides: Record<string, unknown> = {}) {
  const events: LedgerEvent[] = [];
  for (let i = 0; i < 4; i++) extend(events, 'run_a');
  const target = events[1]!;
  await appendRecord(
    events,
    'run_a',
    'ledger.redacted',
    {
      eventId: target.id,
      eventType: target.type,
      payloadHash: target.payloadHash,
      reason: 'erasure request',
      requestedBy: 'user:dpo',
      ...overrides,
    },
    by,
  );
  events[1] = { ...target, payload: null, salt: null };
  const checkpoint = await signCheckpoint(createCheckpoint(events), signer);
  return { events, target, checkpoint };
}

/**
 * Runs run_a (3 events) and run_b (2 events), a signed checkpoint over both, then run_b deleted
 * with a `ledger.pruned` record in `operator:acme` naming `entry` (default: run_b's exact head).
 */
async function pruned(
  by: CheckpointSigner | undefined,
  entry?: (head: LedgerEvent) => Record<string, unknown>,
  stream = 'operator:acme',
) {
  const events: LedgerEvent[] = [];
  for (let i = 0; i < 3; i++) extend(events, 'run_a');
  for (let i = 0; i < 2; i++) extend(events, 'run_b');
  const checkpoint = await signCheckpoint(createCheckpoint(events), signer);
  const head = events.at(-1)!;
  const listed = entry?.(head) ?? {
    stream: 'run_b',
    seq: head.seq,
    hash: head.hash,
    events: 2,
    heads: [{ seq: head.seq, hash: head.hash }],
  };
  await appendRecord(
    events,
    stream,
    'ledger.pruned',
    {
      before: '2026-02-01T00:00:00.000Z',
      streams: [listed],
      reason: 'retention',
      requestedBy: 'svc:retention',
    },
    by,
    { runId: null },
  );
  return { remaining: events.filter((event) => event.stream !== 'run_b'), checkpoint };
}

function problemOf(result: ReturnType<typeof verifyLedger>) {
  return result.ok ? undefined : result.problem;
}

describe('redaction records carry the authority they claim', () => {
  it('honours a signed record naming the event and its payload hash, and counts it', async () => {
    const { events, target, checkpoint } = await erased(signer);
    expect(verifyLedger(events, { checkpoints: [checkpoint], keys })).toMatchObject({
      ok: true,
      redactedIds: [target.id],
      operatorRecords: 1,
      signedOperatorRecords: 1,
    });
  });

  it('catches an unsigned record written by someone who can append (OK before: any record counted)', async () => {
    const { events, checkpoint } = await erased(undefined);
    expect(problemOf(verifyLedger(events, { checkpoints: [checkpoint], keys }))).toMatchObject({
      code: 'OPERATOR_UNSIGNED',
      kind: 'forged',
      eventId: 'run_a:4',
    });
    // Without operator keys the record is placed and bound correctly, so it stands: keys are the proof.
    expect(verifyLedger(events, { checkpoints: [checkpoint] })).toMatchObject({
      ok: true,
      operatorRecords: 1,
      signedOperatorRecords: 0,
    });
  });

  it('catches a record signed by an untrusted key, under its own id or the trusted one', async () => {
    const unknown = await erased(forgerOwnKey);
    expect(
      problemOf(verifyLedger(unknown.events, { checkpoints: [unknown.checkpoint], keys })),
    ).toMatchObject({ code: 'OPERATOR_UNKNOWN_KEY', kind: 'forged' });
    const claimed = await erased(forgerAsLedger);
    expect(
      problemOf(verifyLedger(claimed.events, { checkpoints: [claimed.checkpoint], keys })),
    ).toMatchObject({ code: 'OPERATOR_SIG_INVALID', kind: 'forged' });
  });

  it('catches a signed record whose payload hash does not match the erased event, even without keys', async () => {
    const { events } = await erased(signer, { payloadHash: 'f'.repeat(64) });
    expect(problemOf(verifyLedger(events))).toMatchObject({ code: 'OPERATOR_MISMATCH', kind: 'forged' });
  });

  it('catches a record in another stream, or before the event it names, even without keys', async () => {
    const events: LedgerEvent[] = [];
    for (let i = 0; i < 3; i++) extend(events, 'run_a');
    extend(events, 'run_b');
    const target = events[1]!;
    const payload = {
      eventId: target.id,
      payloadHash: target.payloadHash,
      reason: 'x',
      requestedBy: 'user:x',
    };
    await appendRecord(events, 'run_b', 'ledger.redacted', payload, signer);
    events[1] = { ...target, payload: null, salt: null };
    expect(problemOf(verifyLedger(events))).toMatchObject({ code: 'OPERATOR_MISPLACED', eventId: 'run_b:1' });

    const early: LedgerEvent[] = [];
    extend(early, 'run_c');
    await appendRecord(
      early,
      'run_c',
      'ledger.redacted',
      { eventId: 'run_c:5', payloadHash: '0'.repeat(64) },
      signer,
    );
    expect(problemOf(verifyLedger(early))).toMatchObject({ code: 'OPERATOR_MISPLACED', eventId: 'run_c:1' });
  });

  it('catches a signed record moved to another stream: the signature binds the envelope', async () => {
    const { events } = await erased(signer);
    const record = events.at(-1)!;
    // The same signed payload, re-sealed by a forger into run_z, naming an event of run_z.
    const other: LedgerEvent[] = [];
    for (let i = 0; i < 2; i++) extend(other, 'run_z');
    const moved = {
      ...(record.payload as Record<string, unknown>),
      eventId: 'run_z:1',
      payloadHash: other[1]!.payloadHash,
    };
    extend(other, 'run_z', { type: 'ledger.redacted', payload: moved });
    other[1] = { ...other[1]!, payload: null, salt: null };
    const checkpoint = await signCheckpoint(createCheckpoint(other), signer);
    expect(problemOf(verifyLedger(other, { checkpoints: [checkpoint], keys }))).toMatchObject({
      code: 'OPERATOR_SIG_INVALID',
    });
  });

  it('catches an operator record whose own payload was erased', async () => {
    const { events } = await erased(signer);
    const last = events.length - 1;
    events[last] = { ...events[last]!, payload: null, salt: null };
    // With its payload gone it names nothing: both erasures read as erasures without a record.
    expect(problemOf(verifyLedger(events))).toMatchObject({ code: 'PAYLOAD_MISSING' });
  });

  it('checks operator records against operatorKeys when they differ from the checkpoint keys', async () => {
    const { events, checkpoint } = await erased(operatorSigner);
    const operatorKeys = { ops: pem(operator.publicKey) };
    expect(verifyLedger(events, { checkpoints: [checkpoint], keys })).toMatchObject({
      ok: false,
      problem: { code: 'OPERATOR_UNKNOWN_KEY' },
    });
    expect(verifyLedger(events, { checkpoints: [checkpoint], keys, operatorKeys })).toMatchObject({
      ok: true,
      signedCheckpoints: 1,
      signedOperatorRecords: 1,
    });
    // Operator keys alone: records must be signed, checkpoints need not be.
    expect(verifyLedger(events, { operatorKeys })).toMatchObject({ ok: true, signedOperatorRecords: 1 });
  });
});

describe('prune records carry the authority they claim', () => {
  it('honours a signed record in operator:<tenant> naming the exact checkpointed head', async () => {
    const { remaining, checkpoint } = await pruned(signer);
    expect(verifyLedger(remaining, { checkpoints: [checkpoint], keys })).toMatchObject({
      ok: true,
      operatorRecords: 1,
      signedOperatorRecords: 1,
    });
  });

  it('catches an unsigned or wrongly signed record that hides a deleted run', async () => {
    const cases = [
      [undefined, 'OPERATOR_UNSIGNED'],
      [forgerOwnKey, 'OPERATOR_UNKNOWN_KEY'],
      [forgerAsLedger, 'OPERATOR_SIG_INVALID'],
    ] as const;
    for (const [by, code] of cases) {
      const { remaining, checkpoint } = await pruned(by);
      expect(problemOf(verifyLedger(remaining, { checkpoints: [checkpoint], keys })), code).toMatchObject({
        code,
        kind: 'forged',
        stream: 'operator:acme',
      });
    }
  });

  it('no longer honours a record naming a higher seq than the checkpoint saw (OK before)', async () => {
    const { remaining, checkpoint } = await pruned(signer, (head) => ({
      stream: 'run_b',
      seq: head.seq + 5,
      hash: 'e'.repeat(64),
      events: 7,
    }));
    expect(problemOf(verifyLedger(remaining, { checkpoints: [checkpoint], keys }))).toMatchObject({
      code: 'OPERATOR_MISMATCH',
      kind: 'forged',
      message: expect.stringContaining('stream run_b has no events'),
    });
  });

  it('honours a checkpoint that pinned an earlier head only when the record lists that head', async () => {
    const events: LedgerEvent[] = [];
    for (let i = 0; i < 4; i++) extend(events, 'run_b');
    const early = await signCheckpoint(createCheckpoint(events.slice(0, 2)), signer);
    const late = await signCheckpoint(createCheckpoint(events), signer);
    const head = events.at(-1)!;
    const entry = { stream: 'run_b', seq: head.seq, hash: head.hash, events: 4 };
    const withHeads = (heads: { seq: number; hash: string }[]) => {
      const log: LedgerEvent[] = [];
      return appendRecord(log, 'operator:acme', 'ledger.pruned', { streams: [{ ...entry, heads }] }, signer, {
        runId: null,
      }).then(() => log);
    };
    const listed = await withHeads([
      { seq: 1, hash: events[1]!.hash },
      { seq: head.seq, hash: head.hash },
    ]);
    expect(verifyLedger(listed, { checkpoints: [early, late], keys }).ok).toBe(true);
    const unlisted = await withHeads([{ seq: head.seq, hash: head.hash }]);
    expect(problemOf(verifyLedger(unlisted, { checkpoints: [early, late], keys }))).toMatchObject({
      code: 'OPERATOR_MISMATCH',
      message: expect.stringContaining('not at seq 1'),
    });
  });

  it('catches a record outside operator:<tenant>, even without keys', async () => {
    const { remaining, checkpoint } = await pruned(signer, undefined, 'run_a');
    expect(problemOf(verifyLedger(remaining, { checkpoints: [checkpoint] }))).toMatchObject({
      code: 'OPERATOR_MISPLACED',
      stream: 'run_a',
    });
  });

  it('catches a record that lists its streams in a shape nothing can check', async () => {
    const { remaining } = await pruned(signer, () => ({ stream: 'run_b', seq: 'latest' }));
    expect(problemOf(verifyLedger(remaining))).toMatchObject({ code: 'OPERATOR_MISMATCH' });
  });

  it('still reports a deleted run that no record names as TRUNCATED', async () => {
    const { remaining, checkpoint } = await pruned(signer, () => ({
      stream: 'run_q',
      seq: 0,
      hash: '1'.repeat(64),
      events: 1,
    }));
    expect(problemOf(verifyLedger(remaining, { checkpoints: [checkpoint], keys }))).toMatchObject({
      code: 'TRUNCATED',
      message: expect.stringContaining('stream run_b is in a checkpoint but has no events'),
    });
  });
});
