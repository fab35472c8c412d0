import { type LedgerEvent, readAll } from '@custody/core';
import { canonicalize, GENESIS_HASH } from '@custody/core/ledger';
import { expect } from 'vitest';
import { expectConflict, expectSameEvents, expectStream, expectVerifies, settle } from './assertions.js';
import type { CheckContext, DefineCheck } from './conformance-harness.js';
import { largePayload, UNICODE_PAYLOAD } from './fixtures.js';

/** Append, read, head, re-append, conflicts, races, atomic batches and payload fidelity. */
export function ledgerChecks(check: DefineCheck): void {
  check.section('ledger: append and read', () => {
    check(
      'a fresh store is empty (create() must return empty stores)',
      ['ledger'],
      async ({ ledger, events }) => {
        const page = await ledger.read();
        expect(page.events, 'read() on a fresh store').toEqual([]);
        expect(page.nextCursor, 'nextCursor on a fresh store').toBeUndefined();
        expect(await ledger.head(events.stream('run')), 'head() on a fresh store').toBeUndefined();
      },
    );

    check('appends a stream and reads it back in order, seq from 0 without gaps', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 5);
      await c.ledger.append(chain);
      const stored = await readAll(c.ledger, { stream });
      expect(
        stored.map((event) => event.seq),
        'seq numbers',
      ).toEqual([0, 1, 2, 3, 4]);
      expect(stored[0]!.prevHash, 'prevHash of seq 0').toBe(GENESIS_HASH);
      await expectStream(c.ledger, stream, chain, 'one stream');
    });

    check('reads interleaved streams back in append order, across several appends', ['ledger'], async (c) => {
      const a = c.events.stream('a');
      const b = c.events.stream('b');
      const appended: LedgerEvent[] = [];
      for (let round = 0; round < 4; round++) {
        const batch = [c.events.next(b), c.events.next(a), c.events.next(b)];
        await c.ledger.append(batch);
        appended.push(...batch);
      }
      const all = (await c.ledger.read()).events;
      expectSameEvents(all, appended, 'read() of everything');
      expectVerifies(all, 'interleaved streams');
      await expectStream(
        c.ledger,
        a,
        appended.filter((event) => event.stream === a),
        'stream a',
      );
      await expectStream(
        c.ledger,
        b,
        appended.filter((event) => event.stream === b),
        'stream b',
      );
    });

    check(
      'head() is undefined for an unknown stream and the last event after appends',
      ['ledger'],
      async (c) => {
        const stream = c.events.stream('run');
        expect(await c.ledger.head(stream), 'head() before any append').toBeUndefined();
        const first = c.events.next(stream);
        await c.ledger.append([first]);
        expect(await c.ledger.head(stream), 'head() after one event').toEqual({ seq: 0, hash: first.hash });
        const more = c.events.chain(stream, 3);
        await c.ledger.append(more);
        expect(await c.ledger.head(stream), 'head() after four events').toEqual({
          seq: 3,
          hash: more[2]!.hash,
        });
        expect(await c.ledger.head(c.events.stream('other')), 'head() of another stream').toBeUndefined();
      },
    );

    check('an empty batch resolves and writes nothing', ['ledger'], async ({ ledger }) => {
      await ledger.append([]);
      expect((await ledger.read()).events).toEqual([]);
    });

    check('keeps null ids, unknown event types and payloads of every JSON kind', ['ledger'], async (c) => {
      const stream = c.events.stream('kinds');
      // No `null` payload: core's verifyLedger reads a null payload as a redaction.
      const payloads: unknown[] = [
        0,
        -12.5,
        'text',
        '',
        true,
        false,
        [],
        {},
        [null, [1, 'two']],
        { a: { b: null } },
      ];
      const chain = payloads.map((payload, index) =>
        c.events.next(stream, {
          payload,
          type: index % 2 === 0 ? 'vendor.custom_event.v9' : 'run.started',
          runId: null,
          traceId: null,
          spanId: null,
        }),
      );
      await c.ledger.append(chain);
      await expectStream(c.ledger, stream, chain, 'payload kinds');
    });
  });

  check.section('ledger: idempotent re-append', () => {
    check('re-appending stored events is a no-op', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 3);
      await c.ledger.append(chain);
      await c.ledger.append(chain);
      await c.ledger.append([chain[1]!]);
      await c.ledger.append([chain[0]!, chain[2]!]);
      await expectStream(c.ledger, stream, chain, 'after re-appends');
      expect((await c.ledger.read()).events, 'no duplicates anywhere').toHaveLength(3);
    });

    check(
      'a batch of stored events followed by new ones appends only the new ones',
      ['ledger'],
      async (c) => {
        const stream = c.events.stream('run');
        const stored = c.events.chain(stream, 2);
        await c.ledger.append(stored);
        const fresh = c.events.chain(stream, 2);
        await c.ledger.append([...stored, ...fresh]);
        await expectStream(c.ledger, stream, [...stored, ...fresh], 'after a retried batch');
      },
    );

    check('an event with a stored id but another hash is a conflict', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const [first] = c.events.chain(stream, 1);
      await c.ledger.append([first!]);
      const impostor = c.events.after(undefined, stream, { payload: { forged: true } });
      expect(impostor.id, 'fixture: the impostor reuses the id').toBe(first!.id);
      expectConflict(await settle(c.ledger.append([impostor])), 'same id, other hash');
      await expectStream(c.ledger, stream, [first!], 'after the rejected impostor');
    });
  });

  check.section('ledger: conflicts', () => {
    check('rejects a first event whose seq is not 0', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const orphan = c.events.after({ seq: 0, hash: GENESIS_HASH }, stream);
      expect(orphan.seq).toBe(1);
      expectConflict(await settle(c.ledger.append([orphan])), 'seq 1 on an empty stream');
      await expectStream(c.ledger, stream, [], 'after the rejection');
    });

    check('rejects a first event whose prevHash is not the genesis hash', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const detached = c.events.after({ seq: -1, hash: 'ab'.repeat(32) }, stream);
      expect(detached.seq).toBe(0);
      expectConflict(await settle(c.ledger.append([detached])), 'seq 0 linked to a non-genesis hash');
      await expectStream(c.ledger, stream, [], 'after the rejection');
    });

    check('rejects a gap in seq', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 2);
      await c.ledger.append(chain);
      const skipped = c.events.after({ seq: 2, hash: chain[1]!.hash }, stream);
      expectConflict(await settle(c.ledger.append([skipped])), 'seq 3 after seq 1');
      await expectStream(c.ledger, stream, chain, 'after the rejection');
    });

    check('rejects an event for a seq that is already taken (a fork)', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 3);
      await c.ledger.append(chain);
      const fork = c.events.after(chain[0], stream, { payload: { fork: true } });
      expect(fork.seq).toBe(1);
      expectConflict(await settle(c.ledger.append([fork])), 'a second event at seq 1');
      await expectStream(c.ledger, stream, chain, 'after the rejected fork');
    });

    check('rejects a wrong prevHash', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 2);
      await c.ledger.append(chain);
      const misLinked = c.events.after({ seq: 1, hash: chain[0]!.hash }, stream);
      expect(misLinked.seq).toBe(2);
      expectConflict(await settle(c.ledger.append([misLinked])), 'seq 2 linked to seq 0');
      await expectStream(c.ledger, stream, chain, 'after the rejection');
    });

    check('a batch with one bad event writes none of it', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const [first] = c.events.chain(stream, 1);
      await c.ledger.append([first!]);
      const good = c.events.chain(stream, 2);
      const bad = c.events.after({ seq: good[1]!.seq + 1, hash: good[1]!.hash }, stream);
      expectConflict(
        await settle(c.ledger.append([good[0]!, good[1]!, bad])),
        'last event of the batch leaves a gap',
      );
      expectConflict(
        await settle(
          c.ledger.append([good[0]!, c.events.after(good[0], stream, { payload: 'x' }), good[1]!]),
        ),
        'two events for the same seq inside one batch',
      );
      await expectStream(c.ledger, stream, [first!], 'after the rejected batches');
      await c.ledger.append(good);
      await expectStream(c.ledger, stream, [first!, ...good], 'the good part, appended on its own');
    });

    check('a batch with a bad event in another stream writes none of it', ['ledger'], async (c) => {
      const a = c.events.stream('a');
      const b = c.events.stream('b');
      const goodA = c.events.chain(a, 3);
      const badB = c.events.after({ seq: 4, hash: GENESIS_HASH }, b);
      expectConflict(await settle(c.ledger.append([...goodA, badB])), 'stream b starts at seq 5');
      await expectStream(c.ledger, a, [], 'stream a after the rejected batch');
      await expectStream(c.ledger, b, [], 'stream b after the rejected batch');
      expect((await c.ledger.read()).events, 'nothing at all').toEqual([]);
    });

    check(
      'two writers racing for the same seq: exactly one wins, the loser writes nothing',
      ['ledger'],
      async (c) => {
        await race(c, 2);
      },
    );

    check('eight writers racing for the same seq: exactly one wins', ['ledger'], async (c) => {
      await race(c, 8);
    });

    check('concurrent appends to other streams succeed while one caller conflicts', ['ledger'], async (c) => {
      const batches = Array.from({ length: 12 }, (_, i) => c.events.chain(c.events.stream(`writer-${i}`), 3));
      const shared = c.events.stream('shared');
      const [base] = c.events.chain(shared, 1);
      await c.ledger.append([base!]);
      const stale = c.events.after(undefined, shared, { payload: 'stale writer' });
      const results = await Promise.allSettled([
        ...batches.slice(0, 6).map((batch) => c.ledger.append(batch)),
        c.ledger.append([stale]),
        ...batches.slice(6).map((batch) => c.ledger.append(batch)),
      ]);
      expectConflict(results[6]!, 'the stale writer');
      results.forEach((result, index) => {
        if (index === 6) return;
        expect(
          result.status,
          `writer ${index}: an unrelated conflict must not fail it (${String((result as PromiseRejectedResult).reason)})`,
        ).toBe('fulfilled');
      });
      for (const batch of batches)
        await expectStream(c.ledger, batch[0]!.stream, batch, `stream ${batch[0]!.stream}`);
      await expectStream(c.ledger, shared, [base!], 'the contested stream');
    });
  });

  check.section('ledger: fidelity', () => {
    check('unicode payloads and envelope fields round-trip exactly', ['ledger'], async (c) => {
      const stream = c.events.stream('ünïcödé-流-🚀');
      const chain = [
        c.events.next(stream, { payload: UNICODE_PAYLOAD }),
        c.events.next(stream, {
          tenant: 'tenant-ü-租户-🏢',
          actor: 'user:zoë@例え.jp',
          type: 'custom.ünïcode.事件',
          payload: { text: UNICODE_PAYLOAD.astral, list: [UNICODE_PAYLOAD.emoji, UNICODE_PAYLOAD.escapes] },
        }),
        c.events.next(stream, { payload: UNICODE_PAYLOAD.controls }),
      ];
      await c.ledger.append(chain);
      await expectStream(c.ledger, stream, chain, 'unicode');
      expect(
        (await c.ledger.read({ tenant: 'tenant-ü-租户-🏢' })).events,
        'filter on a unicode tenant',
      ).toHaveLength(1);
    });

    check('a 1 MB payload round-trips exactly', ['ledger'], async (c) => {
      const stream = c.events.stream('large');
      const payload = largePayload();
      expect(Buffer.byteLength(canonicalize(payload)), 'fixture size in UTF-8 bytes').toBeGreaterThan(
        1024 * 1024,
      );
      const chain = [c.events.next(stream, { payload }), c.events.next(stream, { payload: 'after' })];
      await c.ledger.append(chain);
      await expectStream(c.ledger, stream, chain, '1 MB payload');
    });
  });
}

/** `appendSync`: the same contract as `append`, answered before it returns. */
export function ledgerAppendSyncChecks(check: DefineCheck): void {
  check.section('ledger: synchronous append', () => {
    check(
      'appendSync stores a batch that append would, readable at once',
      ['ledger', 'appendSync'],
      async (c) => {
        const stream = c.events.stream('sync');
        const first = c.events.chain(stream, 2);
        c.ledger.appendSync!(first);
        await c.ledger.append(c.events.chain(stream, 1));
        const more = c.events.chain(stream, 2);
        c.ledger.appendSync!(more);
        const stored = await readAll(c.ledger, { stream });
        expect(
          stored.map((event) => event.seq),
          'seq numbers after sync and async appends',
        ).toEqual([0, 1, 2, 3, 4]);
        expectVerifies(stored, 'sync and async appends');
        c.ledger.appendSync!(more);
        expect(await readAll(c.ledger, { stream }), 'after re-appending the same events').toHaveLength(5);
      },
    );

    check(
      'appendSync throws CUSTODY_LEDGER_CONFLICT for a fork and writes nothing of the batch',
      ['ledger', 'appendSync'],
      async (c) => {
        const stream = c.events.stream('sync');
        const [base] = c.events.chain(stream, 1);
        c.ledger.appendSync!([base!]);
        const winner = c.events.fork(stream, { payload: { writer: 1 } });
        const loser = c.events.fork(stream, { payload: { writer: 2 } });
        const valid = c.events.next(c.events.stream('other'));
        c.ledger.appendSync!([winner]);
        let thrown: unknown;
        try {
          c.ledger.appendSync!([valid, loser]);
        } catch (error) {
          thrown = error;
        }
        expectConflict({ status: 'rejected', reason: thrown } as PromiseRejectedResult, 'a forked event');
        expect(await c.ledger.head(valid.stream), 'the valid event of the refused batch').toBeUndefined();
        await expectStream(c.ledger, stream, [base!, winner], 'the stream after the refused fork');
      },
    );
  });
}

async function race(c: CheckContext, writers: number): Promise<void> {
  const stream = c.events.stream('race');
  const [base] = c.events.chain(stream, 1);
  await c.ledger.append([base!]);
  const batches = Array.from({ length: writers }, (_, writer) => {
    const first = c.events.fork(stream, { payload: { writer, step: 1 } });
    return [first, c.events.after(first, stream, { payload: { writer, step: 2 } })];
  });
  const results = await Promise.allSettled(batches.map((batch) => c.ledger.append(batch)));
  const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
  expect(winners, `exactly one of ${writers} racing writers must win`).toHaveLength(1);
  results.forEach((result, index) => {
    if (index !== winners[0]) expectConflict(result, `losing writer ${index}`);
  });
  await expectStream(c.ledger, stream, [base!, ...batches[winners[0]!]!], 'the raced stream');
}
