import { type LedgerEvent, type LedgerQuery, type LedgerStore, readAll } from '@custody/core';
import { matchesLedgerQuery } from '@custody/core/ledger';
import { expect } from 'vitest';
import { expectSameEvents } from './assertions.js';
import type { CheckContext, DefineCheck } from './conformance-harness.js';
import { expectCustodyError } from './fixtures.js';
import { redact } from './ledger-erasure-checks.js';

/** A query with the `outcome` filter (payload.status ?? payload.outcome ?? payload.effect, when a string). */
type OutcomeQuery = LedgerQuery & { readonly outcome?: string };

/**
 * Payloads with and without an outcome: `status`, then `outcome`, then `effect`, the first that is
 * neither null nor missing, counts when it is a string. Two streams, three batches.
 */
async function seedOutcomes(c: CheckContext): Promise<LedgerEvent[]> {
  const one = c.events.stream('outcomes-1');
  const two = c.events.stream('outcomes-2');
  const payloads: [string, string, unknown][] = [
    [one, 'tool.result', { tool: 'jira.create', status: 'ok' }],
    [two, 'run.ended', { outcome: 'succeeded' }],
    [one, 'policy.decided', { effect: 'deny', ruleIds: ['r1'] }],
    [two, 'tool.result', { status: null, outcome: 'failed' }],
    [one, 'tool.result', { status: 7, outcome: 'ok' }],
    [one, 'tool.result', { status: 'ok', outcome: 'other', effect: 'allow' }],
    [two, 'vendor.note', 'ok'],
    [two, 'vendor.note', ['ok']],
    [one, 'vendor.note', { result: { status: 'ok' } }],
    [two, 'policy.decided', { effect: 'allow' }],
    [one, 'tool.result', { status: '' }],
    [two, 'tool.result', { status: { code: 'ok' } }],
    [one, 'run.ended', { outcome: 'ünïcödé ✓ 😀' }],
    [two, 'tool.result', { status: false, effect: 'allow' }],
    [one, 'tool.result', {}],
    [two, 'tool.result', { status: 'ok' }],
  ];
  const events = payloads.map(([stream, type, payload]) => c.events.next(stream, { type, payload }));
  for (const batch of [events.slice(0, 5), events.slice(5, 11), events.slice(11)])
    await c.ledger.append(batch);
  return events;
}

const OUTCOMES = [
  'ok',
  'succeeded',
  'deny',
  'failed',
  'allow',
  '',
  'ünïcödé ✓ 😀',
  'other',
  '7',
  'false',
  'none',
];

const TRACE_A = '11111111111111111111111111111111';
const TRACE_B = '22222222222222222222222222222222';
const TRACE_C = '33333333333333333333333333333333';

/**
 * Four streams over two tenants, appended in four interleaved batches: tool events for two
 * tools, an operator stream without run or trace, an unknown event type, a `tool` field that is
 * not a string, and timestamps that do not follow append order (a writer with a skewed clock).
 * Returns every event in append order.
 */
async function seedDataset(c: CheckContext): Promise<LedgerEvent[]> {
  const { events } = c;
  const runA = events.stream('run-a');
  const runB = events.stream('run-b');
  const runC = events.stream('run-c');
  const ops = events.stream('ops');
  const inA = { tenant: 'tenant-a', traceId: TRACE_A };
  const inB = { tenant: 'tenant-a', traceId: TRACE_B };
  const inC = { tenant: 'tenant-b', traceId: TRACE_C, actor: 'agent:billing@2.0.0' };
  const operator = (actor: string, mode: string) =>
    events.next(ops, {
      tenant: 'tenant-a',
      runId: null,
      traceId: null,
      spanId: null,
      actor,
      type: 'mode.changed',
      payload: { mode },
    });
  const batches: LedgerEvent[][] = [
    [
      events.next(runA, { ...inA, type: 'run.started' }),
      events.next(runB, { ...inB, type: 'run.started' }),
      events.next(runC, { ...inC, type: 'run.started' }),
    ],
    [
      events.next(runA, {
        ...inA,
        type: 'tool.requested',
        payload: { tool: 'jira.create', input: { title: 'x' } },
      }),
      events.next(runA, { ...inA, type: 'tool.result', payload: { tool: 'jira.create', ok: true } }),
      events.next(runB, { ...inB, type: 'tool.requested', payload: { tool: 'stripe.refund' } }),
      operator('user:alice', 'read_only'),
    ],
    [
      events.next(runC, { ...inC, type: 'model.called', payload: { model: 'gpt-x', tool: 42 } }),
      events.next(runB, { ...inB, type: 'tool.result', payload: { tool: 'stripe.refund', ok: false } }),
      events.next(runC, { ...inC, type: 'tool.requested', payload: { tool: 'stripe.refund' } }),
      events.next(runA, { ...inA, type: 'vendor.note', payload: { tool: 'jira.create.v2' } }),
      events.next(runA, { ...inA, type: 'run.ended' }),
    ],
    [
      events.next(runB, { ...inB, type: 'run.ended', ts: '2029-12-31T23:59:59.999Z' }),
      events.next(runC, { ...inC, type: 'tool.result', payload: { tool: 'stripe.refund', ok: true } }),
      operator('user:bob', 'normal'),
      events.next(runC, { ...inC, type: 'run.ended', ts: '2030-01-01T00:00:00.004Z' }),
    ],
  ];
  for (const batch of batches) await c.ledger.append(batch);
  return batches.flat();
}

/** Reads every page of `query`, asserting page size, no duplicates and a final page without cursor. */
async function readPages(ledger: LedgerStore, query: LedgerQuery): Promise<LedgerEvent[]> {
  const all: LedgerEvent[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await ledger.read(cursor === undefined ? query : { ...query, cursor });
    pages++;
    if (query.limit !== undefined) {
      expect(
        page.events.length,
        `page ${pages} of ${JSON.stringify(query)} exceeds the limit`,
      ).toBeLessThanOrEqual(query.limit);
    }
    for (const event of page.events) {
      expect(seen.has(event.id), `${event.id} appeared twice while paging ${JSON.stringify(query)}`).toBe(
        false,
      );
      seen.add(event.id);
      all.push(event);
    }
    cursor = page.nextCursor;
    expect(pages, `paging ${JSON.stringify(query)} does not end`).toBeLessThan(10_000);
  } while (cursor !== undefined);
  return all;
}

async function expectQueries(c: CheckContext, queries: (all: LedgerEvent[]) => LedgerQuery[]): Promise<void> {
  const all = await seedDataset(c);
  for (const query of queries(all)) {
    const expected = all.filter((event) => matchesLedgerQuery(event, query));
    const page = await c.ledger.read(query);
    expect(page.nextCursor, `${JSON.stringify(query)} fits in one page`).toBeUndefined();
    expectSameEvents(page.events, expected, `read(${JSON.stringify(query)})`);
  }
}

/** Every filter of `LedgerQuery`, pagination with cursors, the default page size and bad arguments. */
export function ledgerQueryChecks(check: DefineCheck): void {
  check.section('ledger: queries', () => {
    check('read() returns every event in append order, not timestamp order', ['ledger'], async (c) => {
      const all = await seedDataset(c);
      expectSameEvents((await c.ledger.read()).events, all, 'read()');
      expectSameEvents((await c.ledger.read({})).events, all, 'read({})');
    });

    check('filters by runId, stream, traceId, tenant and actor', ['ledger'], async (c) => {
      await expectQueries(c, () => [
        { runId: c.events.stream('run-a') },
        { runId: c.events.stream('run-b') },
        { runId: 'no-such-run' },
        { stream: c.events.stream('ops') },
        { stream: c.events.stream('run-c') },
        { traceId: TRACE_B },
        { traceId: TRACE_C },
        { tenant: 'tenant-a' },
        { tenant: 'tenant-b' },
        { tenant: 'tenant-z' },
        { actor: 'user:alice' },
        { actor: 'agent:billing@2.0.0' },
        { actor: 'agent:triage@1.0.0' },
      ]);
    });

    check('filters by one event type or a list of types', ['ledger'], async (c) => {
      await expectQueries(c, () => [
        { type: 'tool.result' },
        { type: 'mode.changed' },
        { type: 'vendor.note' },
        { type: 'no.such.type' },
        { type: ['run.started', 'run.ended'] },
        { type: ['tool.requested'] },
        { type: ['model.called', 'no.such.type', 'mode.changed'] },
        { type: [] },
      ]);
    });

    check('filters by tool name, read from the payload of tool events', ['ledger'], async (c) => {
      await expectQueries(c, () => [
        { tool: 'stripe.refund' },
        { tool: 'jira.create' },
        { tool: 'jira.create.v2' },
        { tool: 'jira' },
        { tool: '42' },
      ]);
    });

    check('filters by time: from is inclusive, to is exclusive', ['ledger'], async (c) => {
      await expectQueries(c, (all) => [
        { from: all[5]!.ts },
        { to: all[5]!.ts },
        { from: all[3]!.ts, to: all[9]!.ts },
        { from: all[4]!.ts, to: all[4]!.ts },
        { from: '2029-01-01T00:00:00.000Z' },
        { to: '2029-01-01T00:00:00.000Z' },
        { from: '2031-01-01T00:00:00.000Z' },
        { to: '2030-01-01T00:00:00.004Z' },
      ]);
    });

    check('combines filters', ['ledger'], async (c) => {
      await expectQueries(c, (all) => [
        { tenant: 'tenant-a', type: 'tool.requested', tool: 'jira.create' },
        { tenant: 'tenant-b', tool: 'stripe.refund', type: ['tool.result', 'tool.requested'] },
        { runId: c.events.stream('run-b'), traceId: TRACE_A },
        { stream: c.events.stream('run-c'), actor: 'agent:billing@2.0.0', from: all[6]!.ts, to: all[14]!.ts },
        { tenant: 'tenant-a', actor: 'user:bob', type: 'mode.changed' },
      ]);
    });

    check(
      'pages through results with cursors: no duplicates, no misses, same order',
      ['ledger'],
      async (c) => {
        const all = await seedDataset(c);
        const queries: LedgerQuery[] = [
          {},
          { tenant: 'tenant-a' },
          { type: ['tool.requested', 'tool.result'] },
          { tool: 'stripe.refund' },
          { runId: c.events.stream('run-c') },
          { from: all[2]!.ts, to: all[12]!.ts },
        ];
        for (const query of queries) {
          const expected = all.filter((event) => matchesLedgerQuery(event, query));
          for (const limit of [1, 2, 3, 7, expected.length, expected.length + 1]) {
            if (limit < 1) continue;
            const paged = await readPages(c.ledger, { ...query, limit });
            expectSameEvents(paged, expected, `paging ${JSON.stringify({ ...query, limit })}`);
          }
        }
      },
    );

    check('a page that ends at the last match has no nextCursor', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 4);
      await c.ledger.append(chain);
      const whole = await c.ledger.read({ stream, limit: 4 });
      expectSameEvents(whole.events, chain, 'limit equal to the match count');
      expect(whole.nextCursor, 'nextCursor when nothing more matches').toBeUndefined();
      const first = await c.ledger.read({ stream, limit: 2 });
      expect(first.nextCursor, 'nextCursor when more events match').toBeTypeOf('string');
      const second = await c.ledger.read({ stream, limit: 2, cursor: first.nextCursor! });
      expectSameEvents(second.events, chain.slice(2), 'second page');
      expect(second.nextCursor, 'nextCursor after the last page').toBeUndefined();
    });

    check('a cursor keeps working after more events are appended', ['ledger'], async (c) => {
      const stream = c.events.stream('run');
      const other = c.events.stream('other');
      const early = c.events.chain(stream, 3);
      await c.ledger.append(early);
      const first = await c.ledger.read({ stream, limit: 2 });
      expectSameEvents(first.events, early.slice(0, 2), 'first page');
      const late = [c.events.next(other), c.events.next(stream), c.events.next(other), c.events.next(stream)];
      await c.ledger.append(late);
      const rest = await readPages(c.ledger, { stream, limit: 2, cursor: first.nextCursor! });
      expectSameEvents(
        [...first.events, ...rest],
        [...early, ...late.filter((event) => event.stream === stream)],
        'pages across appends',
      );
    });

    check('the default page size is 1000', ['ledger'], async (c) => {
      const stream = c.events.stream('long');
      const chain = c.events.chain(stream, 1001);
      await c.ledger.append(chain);
      const first = await c.ledger.read({ stream });
      expect(first.events, 'first page without a limit').toHaveLength(1000);
      expect(first.nextCursor, 'nextCursor of the first page').toBeTypeOf('string');
      const second = await c.ledger.read({ stream, cursor: first.nextCursor! });
      expectSameEvents(second.events, chain.slice(1000), 'second page');
      expect(second.nextCursor).toBeUndefined();
    });

    check(
      'filters by outcome: payload.status ?? payload.outcome ?? payload.effect, when it is a string',
      ['ledger'],
      async (c) => {
        const all = await seedOutcomes(c);
        const queries: OutcomeQuery[] = [
          ...OUTCOMES.map((outcome) => ({ outcome })),
          { outcome: 'ok', type: 'tool.result' },
          { outcome: 'ok', stream: all[0]!.stream },
          { outcome: 'allow', type: ['policy.decided', 'tool.result'] },
        ];
        for (const query of queries) {
          const expected = all.filter((event) => matchesLedgerQuery(event, query));
          expectSameEvents(await readPages(c.ledger, query), expected, `read(${JSON.stringify(query)})`);
          expectSameEvents(
            await readPages(c.ledger, { ...query, limit: 1 }),
            expected,
            `paging ${JSON.stringify(query)} one by one`,
          );
        }
        expect(
          all.filter((event) => matchesLedgerQuery(event, { outcome: 'ok' } as OutcomeQuery)),
          'fixture: three events have outcome "ok"',
        ).toHaveLength(3);
      },
    );

    check('an erased payload no longer has an outcome', ['ledger', 'erasePayload'], async (c) => {
      const all = await seedOutcomes(c);
      const target = all[0]!;
      const record = await redact(c, target);
      const after = [...all, record].map((event) =>
        event.id === target.id ? { ...event, payload: null, salt: null } : event,
      );
      for (const outcome of ['ok', 'succeeded']) {
        const query: OutcomeQuery = { outcome };
        expectSameEvents(
          await readAll(c.ledger, query),
          after.filter((event) => matchesLedgerQuery(event, query)),
          `read(${JSON.stringify(query)}) after erasing ${target.id}`,
        );
      }
    });

    check('rejects an invalid limit or cursor with CUSTODY_INVALID_ARGUMENT', ['ledger'], async (c) => {
      await c.ledger.append(c.events.chain(c.events.stream('run'), 2));
      for (const limit of [0, -1, 1.5, Number.NaN]) {
        await expectCustodyError(
          c.ledger.read({ limit }),
          'CUSTODY_INVALID_ARGUMENT',
          `read({ limit: ${limit} })`,
        );
      }
      await expectCustodyError(
        c.ledger.read({ cursor: 'not a cursor!' }),
        'CUSTODY_INVALID_ARGUMENT',
        'read() with a cursor the store never issued',
      );
    });
  });
}
