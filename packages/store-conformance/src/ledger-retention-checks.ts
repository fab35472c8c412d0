import { createLedger, type LedgerEvent, readAll } from '@custody/core';
import { createCheckpoint, type EventDraft } from '@custody/core/ledger';
import { expect } from 'vitest';
import { expectSameEvents, expectStream, expectVerifies } from './assertions.js';
import type { CheckContext, DefineCheck } from './conformance-harness.js';
import { conformanceSigner, expectCustodyError } from './fixtures.js';
import { appendPruneRecord } from './operator-records.js';

const REQUEST = { requestedBy: 'service:retention', reason: 'conformance: 30-day retention' };
/** The operator-side clock: after every event the checks write. */
const CLOCK = { now: () => Date.parse('2030-06-01T00:00:00.000Z') };
const CUTOFF = '2030-02-01T00:00:00.000Z';

/** Three streams appended in interleaved batches: a (4 events), b (3), c (2). */
async function seedThree(c: CheckContext): Promise<{ a: LedgerEvent[]; b: LedgerEvent[]; c: LedgerEvent[] }> {
  const [a, b, cs] = [c.events.stream('a'), c.events.stream('b'), c.events.stream('c')];
  const batches = [
    [c.events.next(a), c.events.next(b), c.events.next(cs)],
    [c.events.next(a), c.events.next(b)],
    [c.events.next(a), c.events.next(cs), c.events.next(b), c.events.next(a)],
  ];
  for (const batch of batches) await c.ledger.append(batch);
  const all = batches.flat();
  return {
    a: all.filter((event) => event.stream === a),
    b: all.filter((event) => event.stream === b),
    c: all.filter((event) => event.stream === cs),
  };
}

/**
 * A run as the runtime writes it: `run.started`, a tool call, then `run.ended` unless `open`,
 * every event at `day` (ISO date) plus one millisecond per event.
 */
function run(
  c: CheckContext,
  name: string,
  day: string,
  options: { tenant?: string; open?: boolean } = {},
): LedgerEvent[] {
  const stream = c.events.stream(name);
  const base = Date.parse(`${day}T00:00:00.000Z`);
  const tenant = options.tenant ?? 'tenant-a';
  const drafts: Partial<EventDraft>[] = [
    { type: 'run.started', payload: { agent: 'triage' } },
    { type: 'tool.requested', payload: { tool: 'jira.create', input: { title: name } } },
    { type: 'tool.result', payload: { tool: 'jira.create', status: 'ok' } },
    ...(options.open ? [] : [{ type: 'run.ended', payload: { outcome: 'succeeded' } }]),
  ];
  return drafts.map((draft, i) =>
    c.events.next(stream, { ...draft, tenant, ts: new Date(base + i).toISOString() }),
  );
}

/** The optional `deleteStreams` capability, and core's retention (`createLedger().prune`) on top of it. */
export function ledgerRetentionChecks(check: DefineCheck): void {
  check.section('ledger: retention (optional deleteStreams)', () => {
    check(
      'deleteStreams deletes every event of the named streams, nothing else, and returns the count',
      ['ledger', 'deleteStreams'],
      async (c) => {
        const { a, b, c: cs } = await seedThree(c);
        const record = await appendPruneRecord(c, [a.at(-1)!, cs.at(-1)!]);
        expect(await c.ledger.deleteStreams!([a[0]!.stream, cs[0]!.stream]), 'events deleted').toBe(6);
        const rest = await readAll(c.ledger);
        expectSameEvents(rest, [...b, record], 'read() after deleteStreams');
        expectVerifies(rest, 'what is left');
        expect(await c.ledger.head(a[0]!.stream), 'head() of a deleted stream').toBeUndefined();
        expect(await c.ledger.head(cs[0]!.stream), 'head() of a deleted stream').toBeUndefined();
        await expectStream(c.ledger, b[0]!.stream, b, 'the stream that was kept');
        if (c.ledger.heads) {
          expect(await c.ledger.heads(), 'heads() after deleteStreams').toEqual(
            createCheckpoint([...b, record]).heads,
          );
        }
        expect(await readAll(c.ledger, { runId: a[0]!.runId! }), 'read({ runId }) of a deleted run').toEqual(
          [],
        );
      },
    );

    check(
      'deleteStreams of an empty list, unknown streams or a repeated name deletes only what exists',
      ['ledger', 'deleteStreams'],
      async (c) => {
        const { a, b, c: cs } = await seedThree(c);
        expect(await c.ledger.deleteStreams!([]), 'deleteStreams([])').toBe(0);
        expect(await c.ledger.deleteStreams!([c.events.stream('nope')]), 'an unknown stream').toBe(0);
        const record = await appendPruneRecord(c, [b.at(-1)!]);
        expect(
          await c.ledger.deleteStreams!([b[0]!.stream, b[0]!.stream, c.events.stream('nope')]),
          'a repeated name and an unknown one',
        ).toBe(3);
        expectSameEvents(await readAll(c.ledger), [...a, ...cs, record].sort(byTs), 'the rest');
        // The streams whose names share a prefix with a deleted one are untouched.
        expect(await c.ledger.deleteStreams!([a[0]!.stream.slice(0, -1)]), 'a prefix of a name').toBe(0);
      },
    );

    check(
      'appends continue after deleteStreams: kept streams extend, conflicts are still refused, checkpoints stay',
      ['ledger', 'deleteStreams'],
      async (c) => {
        const { a, b } = await seedThree(c);
        const checkpoint = createCheckpoint([...a, ...b], { createdAt: '2030-01-01T00:05:00.000Z' });
        await c.ledger.appendCheckpoint?.(checkpoint);
        await appendPruneRecord(c, [a.at(-1)!]);
        await c.ledger.deleteStreams!([a[0]!.stream]);
        const next = c.events.next(b[0]!.stream);
        await c.ledger.append([next]);
        await expectStream(c.ledger, b[0]!.stream, [...b, next], 'a kept stream after more appends');
        await expectCustodyError(
          c.ledger.append([c.events.after(b[0], b[0]!.stream, { payload: 'stale' })]),
          'CUSTODY_LEDGER_CONFLICT',
          'a fork of a kept stream after deleteStreams',
        );
        if (c.ledger.listCheckpoints) {
          expect(await c.ledger.listCheckpoints(), 'deleteStreams never touches checkpoints').toEqual([
            checkpoint,
          ]);
        }
      },
    );

    check('deleted streams stay deleted after a reopen', ['ledger', 'deleteStreams', 'reopen'], async (c) => {
      const { a, b, c: cs } = await seedThree(c);
      const record = await appendPruneRecord(c, [b.at(-1)!]);
      await c.ledger.deleteStreams!([b[0]!.stream]);
      await c.reopen();
      expectSameEvents(await readAll(c.ledger), [...a, ...cs, record].sort(byTs), 'after reopen');
      expect(await c.ledger.head(b[0]!.stream)).toBeUndefined();
    });

    check(
      'createLedger().prune deletes finished runs older than the cutoff, records ledger.pruned, and earlier signed checkpoints still verify',
      ['ledger', 'deleteStreams', 'checkpoints'],
      async (c) => {
        const { signer, keys } = conformanceSigner();
        const old1 = run(c, 'old-1', '2030-01-05');
        const old2 = run(c, 'old-2', '2030-01-06');
        const openOld = run(c, 'open-old', '2030-01-07', { open: true });
        const recent = run(c, 'recent', '2030-03-01');
        const otherTenant = run(c, 'other-tenant', '2030-01-05', { tenant: 'tenant-b' });
        for (const events of [old1, openOld, otherTenant, old2, recent]) await c.ledger.append(events);
        const ledger = createLedger({ store: c.ledger, signer, clock: CLOCK });
        await ledger.checkpoint();

        const result = await ledger.prune({ tenant: 'tenant-a', before: CUTOFF, ...REQUEST });
        expect(result, 'prune result').toEqual({ runs: 2, events: old1.length + old2.length });
        for (const gone of [old1, old2]) {
          expect(
            await readAll(c.ledger, { runId: gone[0]!.runId! }),
            `run ${gone[0]!.runId} is pruned`,
          ).toEqual([]);
          expect(await c.ledger.head(gone[0]!.stream)).toBeUndefined();
        }
        for (const kept of [openOld, recent, otherTenant]) {
          await expectStream(c.ledger, kept[0]!.stream, kept, `run ${kept[0]!.runId} is kept`);
        }
        const [record, ...more] = await readAll(c.ledger, { type: 'ledger.pruned' });
        expect(more, 'one ledger.pruned event').toEqual([]);
        expect(record, 'the ledger.pruned event').toMatchObject({
          stream: 'operator:tenant-a',
          tenant: 'tenant-a',
          actor: REQUEST.requestedBy,
          payload: { before: CUTOFF, reason: REQUEST.reason, requestedBy: REQUEST.requestedBy },
        });
        expect(record!.payload, 'the record is signed').toMatchObject({
          authority: { keyId: signer.keyId, algorithm: 'ed25519' },
        });
        const named = (record!.payload as { streams: { stream: string; seq: number; hash: string }[] })
          .streams;
        expect(
          [...named].sort((x, y) => x.stream.localeCompare(y.stream)),
          'the pruned heads it names',
        ).toEqual(
          [old1, old2].map((events) => ({
            stream: events[0]!.stream,
            seq: events.at(-1)!.seq,
            hash: events.at(-1)!.hash,
            events: events.length,
            heads: [{ seq: events.at(-1)!.seq, hash: events.at(-1)!.hash }],
          })),
        );

        // The checkpoint taken before pruning still names the deleted runs: the record explains them.
        expect(await ledger.verify({ keys }), 'verify after prune').toMatchObject({
          ok: true,
          checkpoints: 1,
          signedCheckpoints: 1,
          operatorRecords: 1,
          signedOperatorRecords: 1,
        });
        await ledger.checkpoint();
        expect(await ledger.verify({ keys }), 'verify with a checkpoint after prune').toMatchObject({
          ok: true,
          checkpoints: 2,
          signedCheckpoints: 2,
        });
        expect(
          await ledger.prune({ tenant: 'tenant-a', before: CUTOFF, ...REQUEST }),
          'a second prune',
        ).toEqual({ runs: 0, events: 0 });
        expect(
          await readAll(c.ledger, { type: 'ledger.pruned' }),
          'no record when nothing was pruned',
        ).toHaveLength(1);
      },
    );

    check(
      'a legal hold on the tenant blocks prune and deletes nothing; a hold on one run keeps that run',
      ['ledger', 'deleteStreams', 'checkpoints'],
      async (c) => {
        const { signer, keys } = conformanceSigner();
        const held = run(c, 'held', '2030-01-05');
        const free = run(c, 'free', '2030-01-06');
        await c.ledger.append([...held, ...free]);
        const ledger = createLedger({ store: c.ledger, signer, clock: CLOCK });
        await ledger.checkpoint();
        await ledger.hold({ tenant: 'tenant-a', requestedBy: 'user:counsel', reason: 'litigation 17' });
        const before = await readAll(c.ledger);
        await expectCustodyError(
          ledger.prune({ tenant: 'tenant-a', before: CUTOFF, ...REQUEST }),
          'CUSTODY_LEGAL_HOLD',
          'prune of a tenant under legal hold',
        );
        expectSameEvents(await readAll(c.ledger), before, 'nothing deleted under a tenant hold');

        await ledger.releaseHold({ tenant: 'tenant-a', requestedBy: 'user:counsel', reason: 'settled' });
        await ledger.hold({
          tenant: 'tenant-a',
          runId: held[0]!.runId!,
          requestedBy: 'user:counsel',
          reason: 'litigation 18',
        });
        expect(await ledger.prune({ tenant: 'tenant-a', before: CUTOFF, ...REQUEST })).toEqual({
          runs: 1,
          events: free.length,
        });
        await expectStream(c.ledger, held[0]!.stream, held, 'the held run');
        expect(await readAll(c.ledger, { runId: free[0]!.runId! }), 'the run without a hold').toEqual([]);
        expect(
          (await readAll(c.ledger, { stream: 'operator:tenant-a' })).map((event) => event.type),
          'the operator stream',
        ).toEqual(['ledger.hold_placed', 'ledger.hold_released', 'ledger.hold_placed', 'ledger.pruned']);
        expect(await ledger.verify({ keys }), 'verify after a partial prune').toMatchObject({ ok: true });
      },
    );
  });
}

/** EventFactory gives every event a strictly increasing ts, so ts order is append order here. */
function byTs(x: LedgerEvent, y: LedgerEvent): number {
  return x.ts < y.ts ? -1 : x.ts > y.ts ? 1 : 0;
}
