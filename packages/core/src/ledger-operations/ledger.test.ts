import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { makeRuntime, startTriageRun } from '../../test/helpers.js';
import { createEd25519Signer } from '../ledger/checkpoint-signer.js';
import { csvCell, parseJsonlExport } from '../ledger/ledger-export.js';
import { verifyLedger } from '../ledger/verify.js';
import { createLedger } from './ledger.js';

async function recordedRuns() {
  const setup = makeRuntime();
  for (let i = 0; i < 3; i++) {
    const run = await startTriageRun(setup.runtime);
    await run.call('jira.create_issue', { project: 'SUP', summary: `issue ${i}` });
    await run.call('stripe.refund', { chargeId: `ch_${i}`, amountCents: 100 + i });
    await run.end({ outcome: 'succeeded' });
  }
  return setup;
}

const keys = generateKeyPairSync('ed25519');
const publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const signer = createEd25519Signer({ keyId: 'k1', privateKey: keys.privateKey });

describe('createLedger', () => {
  it('checkpoints, stores the checkpoint and verifies against it with the public key', async () => {
    const { stores } = await recordedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    const checkpoint = await ledger.checkpoint();
    expect(checkpoint.signature?.keyId).toBe('k1');
    expect(await ledger.checkpoints()).toHaveLength(1);
    expect(await ledger.verify({ keys: { k1: publicPem } })).toMatchObject({
      ok: true,
      signedCheckpoints: 1,
    });
    const runId = (await ledger.query({ type: 'run.started' }))[1]!.runId!;
    expect(await ledger.verify({ runId, keys: { k1: publicPem } })).toMatchObject({ ok: true, streams: 1 });
  });

  it('redacts a payload, recording who and why, and verification still passes', async () => {
    const { stores } = await recordedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    await ledger.checkpoint();
    const [requested] = await ledger.query({ type: 'tool.requested', tool: 'jira.create_issue' });
    const record = await ledger.redact(requested!.id, {
      requestedBy: 'user:dpo',
      reason: 'erasure request #77',
    });
    expect(record).toMatchObject({ type: 'ledger.redacted', stream: requested!.stream, actor: 'user:dpo' });
    expect(record.payload).toMatchObject({ eventId: requested!.id, reason: 'erasure request #77' });
    const [after] = await ledger.query({ runId: requested!.runId!, type: 'tool.requested' });
    expect(after).toMatchObject({ payload: null, salt: null });
    expect(await ledger.verify({ keys: { k1: publicPem } })).toMatchObject({
      ok: true,
      redacted: 1,
      redactedIds: [requested!.id],
    });
    await expect(ledger.redact(requested!.id, { requestedBy: 'user:dpo', reason: 'again' })).rejects.toThrow(
      /already redacted/,
    );
    await expect(ledger.redact('nope:1', { requestedBy: 'user:dpo', reason: 'x' })).rejects.toThrow(
      /no event with id/,
    );
    await expect(ledger.redact(requested!.id, { requestedBy: '', reason: 'x' })).rejects.toThrow(
      /needs requestedBy/,
    );
  });

  it('refuses to redact a run that is still writing', async () => {
    const { runtime, stores } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.call('jira.get_issue', { id: 'X' });
    const ledger = createLedger({ store: stores.ledger, signer });
    const [event] = await ledger.query({ runId: run.runId, type: 'tool.requested' });
    await expect(ledger.redact(event!.id, { requestedBy: 'user:dpo', reason: 'x' })).rejects.toThrow(
      /has not ended/,
    );
  });

  it('exports JSONL that verifies offline, records the export, and refuses an edited file', async () => {
    const { stores } = await recordedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    await ledger.checkpoint();
    const exported = await ledger.export({
      format: 'jsonl',
      requestedBy: 'user:auditor',
      reason: 'quarterly audit',
    });
    const text = [...exported.lines].join('\n');
    const parsed = parseJsonlExport(text);
    expect(parsed.header).toMatchObject({ format: 'custody-ledger', version: 1 });
    expect(parsed.events).toHaveLength(exported.events);
    expect(verifyLedger(parsed.events, { checkpoints: parsed.checkpoints, keys: { k1: publicPem } }).ok).toBe(
      true,
    );
    expect(await ledger.query({ type: 'ledger.exported' })).toHaveLength(1);
    const edited = text.replace('"issue 1"', '"issue 9"');
    const reparsed = parseJsonlExport(edited);
    expect(verifyLedger(reparsed.events, { checkpoints: reparsed.checkpoints }).ok).toBe(false);
    expect(() => parseJsonlExport(text.replace('{"actor"', '{ "actor"'))).toThrow(/not in canonical form/);
  });

  it('exports CSV with fixed columns, safe against formula injection', async () => {
    const { stores } = await recordedRuns();
    const ledger = createLedger({ store: stores.ledger });
    const exported = await ledger.export({
      format: 'csv',
      query: { type: 'tool.result' },
      requestedBy: 'user:a',
      reason: 'r',
    });
    const lines = [...exported.lines];
    expect(lines[0]).toBe(
      'id,stream,seq,ts,type,tenant,actor,run_id,trace_id,span_id,tool,status,hash,prev_hash,payload_hash,payload',
    );
    expect(lines).toHaveLength(7);
    expect(lines[1]).toContain(',tool.result,acme,agent:triage-bot,');
    expect(csvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell('-2+3')).toBe(`"'-2+3"`);
    expect(csvCell('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
  });
});

describe('retention and legal holds', () => {
  it('prunes finished runs older than the cutoff, records it, and old checkpoints still verify', async () => {
    const { runtime, stores, clock } = makeRuntime();
    const old = await startTriageRun(runtime);
    await old.call('jira.get_issue', { id: '1' });
    await old.end({ outcome: 'succeeded' });
    const ledger = createLedger({ store: stores.ledger, signer, clock });
    await ledger.checkpoint();
    clock.advance(90 * 24 * 3600 * 1000);
    const recent = await startTriageRun(runtime);
    await recent.end({ outcome: 'succeeded' });
    const open = await startTriageRun(runtime); // still running: never pruned
    await open.call('jira.get_issue', { id: '2' });

    const result = await ledger.prune({
      tenant: 'acme',
      before: new Date(clock.now() - 30 * 24 * 3600 * 1000).toISOString(),
      requestedBy: 'service:retention',
      reason: '30-day retention',
    });
    expect(result).toEqual({ runs: 1, events: 6 });
    expect(await ledger.query({ runId: old.runId })).toEqual([]);
    expect(await ledger.query({ runId: recent.runId })).not.toEqual([]);
    const [pruned] = await ledger.query({ type: 'ledger.pruned' });
    expect(pruned!.payload).toMatchObject({
      streams: [{ stream: old.runId, events: 6 }],
      reason: '30-day retention',
    });
    expect(await ledger.verify({ keys: { k1: publicPem } })).toMatchObject({ ok: true });
  });

  it('a run deleted without a pruning record is refused by the store, and caught by the checkpoint', async () => {
    const { stores } = await recordedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    await ledger.checkpoint();
    const [first] = await ledger.query({ type: 'run.started' });
    await expect(stores.ledger.deleteStreams([first!.stream])).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message: expect.stringContaining(
        `no ledger.pruned record names stream ${first!.stream} at its head seq`,
      ),
    });
    // Deleted behind the store's back (a raw copy without the stream), the checkpoint still catches it.
    const rest = (await ledger.query()).filter((event) => event.stream !== first!.stream);
    const result = verifyLedger(rest, { checkpoints: await ledger.checkpoints(), keys: { k1: publicPem } });
    expect(!result.ok && result.problem).toMatchObject({ code: 'TRUNCATED', kind: 'truncated' });
  });

  it('legal holds block pruning until released; placing and releasing are recorded', async () => {
    const { runtime, stores, clock } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.end({ outcome: 'succeeded' });
    clock.advance(1000);
    const other = await startTriageRun(runtime);
    await other.end({ outcome: 'succeeded' });
    clock.advance(1000);
    const ledger = createLedger({ store: stores.ledger, signer, clock });
    const request = { requestedBy: 'user:counsel', reason: 'litigation 2026-17' };
    const before = new Date(clock.now()).toISOString();

    await ledger.hold({ tenant: 'acme', ...request });
    await expect(ledger.prune({ tenant: 'acme', before, ...request })).rejects.toMatchObject({
      code: 'CUSTODY_LEGAL_HOLD',
    });
    await ledger.releaseHold({ tenant: 'acme', ...request });
    await ledger.hold({ tenant: 'acme', runId: run.runId, ...request });
    expect(await ledger.holds('acme')).toEqual([{ tenant: 'acme', runId: run.runId }]);
    expect(await ledger.prune({ tenant: 'acme', before, ...request })).toMatchObject({ runs: 1 });
    expect(await ledger.query({ runId: run.runId })).not.toEqual([]);
    expect(await ledger.query({ runId: other.runId })).toEqual([]);
    const types = (await ledger.query({ stream: 'operator:acme' })).map((event) => event.type);
    expect(types).toEqual([
      'ledger.hold_placed',
      'ledger.hold_released',
      'ledger.hold_placed',
      'ledger.pruned',
    ]);
    await expect(ledger.releaseHold({ tenant: 'acme', ...request })).rejects.toThrow(
      /no hold on tenant acme/,
    );
    await expect(ledger.prune({ tenant: 'acme', before: 'yesterday', ...request })).rejects.toThrow(
      /ISO 8601/,
    );
  });
});

describe('shared operator streams', () => {
  it('lets mode changes and ledger operations write the same operator stream in any order', async () => {
    const { runtime, stores } = makeRuntime();
    const ledger = createLedger({ store: stores.ledger });
    const operator = { kind: 'user', id: 'ops' } as const;
    await runtime.setMode('read_only', { tenant: 'acme', actor: operator, reason: 'incident' });
    await ledger.hold({ tenant: 'acme', requestedBy: 'user:counsel', reason: 'case 1' });
    await runtime.setMode('normal', { tenant: 'acme', actor: operator, reason: 'over' });
    await ledger.export({ format: 'csv', query: { tenant: 'acme' }, requestedBy: 'user:a', reason: 'audit' });
    await runtime.setMode('paused', { tenant: 'acme', actor: operator, reason: 'again' });
    const types = (await ledger.query({ stream: 'operator:acme' })).map((event) => event.type);
    expect(types).toEqual([
      'mode.changed',
      'ledger.hold_placed',
      'mode.changed',
      'ledger.exported',
      'mode.changed',
    ]);
    expect(verifyLedger(await ledger.query()).ok).toBe(true);
  });
});

describe('scheduled checkpoints', () => {
  it('takes a checkpoint on every tick until stopped, reporting failures without stopping', async () => {
    vi.useFakeTimers();
    try {
      const { stores } = await recordedRuns();
      const ledger = createLedger({ store: stores.ledger, signer });
      const errors: unknown[] = [];
      const schedule = ledger.scheduleCheckpoints({
        everyMs: 60_000,
        onError: (error) => errors.push(error),
      });
      await vi.advanceTimersByTimeAsync(180_000);
      expect(await ledger.checkpoints()).toHaveLength(3);
      const original = stores.ledger.appendCheckpoint.bind(stores.ledger);
      stores.ledger.appendCheckpoint = async () => Promise.reject(new Error('disk full'));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(errors).toHaveLength(1);
      stores.ledger.appendCheckpoint = original;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(await ledger.checkpoints()).toHaveLength(4);
      schedule.stop();
      await vi.advanceTimersByTimeAsync(600_000);
      expect(await ledger.checkpoints()).toHaveLength(4);
      expect(() => ledger.scheduleCheckpoints({ everyMs: 10 })).toThrow(/at least 1000/);
    } finally {
      vi.useRealTimers();
    }
  });
});
