import { expectConflict, expectSameEvents, expectStream, expectVerifies, settle } from './assertions.js';
import type { DefineCheck } from './conformance-harness.js';
import { expectErased, redact } from './ledger-erasure-checks.js';

/** Durability of the ledger across a reopen: events, heads, chain continuity, exact payloads, erasures. */
export function ledgerDurabilityChecks(check: DefineCheck): void {
  check.section('ledger: durability (reopen)', () => {
    check(
      'events and heads survive a reopen, and appends continue the chain',
      ['ledger', 'reopen'],
      async (c) => {
        const a = c.events.stream('a');
        const b = c.events.stream('b');
        const before = [...c.events.chain(a, 3), ...c.events.chain(b, 2)];
        await c.ledger.append(before);
        await c.reopen();
        expectSameEvents((await c.ledger.read()).events, before, 'read() after reopen');
        const after = [c.events.next(a), c.events.next(b)];
        await c.ledger.append(after);
        await c.reopen();
        const all = [...before, ...after];
        expectSameEvents((await c.ledger.read()).events, all, 'read() after a second reopen');
        expectVerifies(all, 'after reopen');
        await expectStream(
          c.ledger,
          a,
          all.filter((event) => event.stream === a),
          'stream a',
        );
        await expectStream(
          c.ledger,
          b,
          all.filter((event) => event.stream === b),
          'stream b',
        );
      },
    );

    check('a stale writer is still rejected after a reopen', ['ledger', 'reopen'], async (c) => {
      const stream = c.events.stream('run');
      const chain = c.events.chain(stream, 2);
      await c.ledger.append(chain);
      await c.reopen();
      const stale = c.events.after(chain[0], stream, { payload: 'stale' });
      expectConflict(await settle(c.ledger.append([stale])), 'a fork after reopen');
      await c.ledger.append(chain);
      await expectStream(c.ledger, stream, chain, 'after reopen');
    });

    check(
      'unicode and 1 MB-class payloads survive a reopen byte for byte',
      ['ledger', 'reopen'],
      async (c) => {
        const stream = c.events.stream('ünï-🚀');
        const chain = [
          c.events.next(stream, { payload: { text: '𝄞 漢字 👩‍💻 \u2028 "\\\u0000' } }),
          c.events.next(stream, { payload: { blob: 'é😀'.repeat(200_000) } }),
        ];
        await c.ledger.append(chain);
        await c.reopen();
        await expectStream(c.ledger, stream, chain, 'after reopen');
      },
    );

    check(
      'an erased payload stays erased after a reopen',
      ['ledger', 'erasePayload', 'reopen'],
      async (c) => {
        const stream = c.events.stream('run');
        const chain = c.events.chain(stream, 3, (i) => ({ payload: { tool: 'jira.create', i } }));
        await c.ledger.append(chain);
        const record = await redact(c, chain[2]!);
        await c.reopen();
        await expectErased(c, [...chain, record], chain[2]!);
      },
    );
  });
}
