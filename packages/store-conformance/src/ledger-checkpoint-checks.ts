import { generateKeyPairSync } from 'node:crypto';
import { createEd25519Signer, type LedgerCheckpoint, type LedgerEvent, verifyLedger } from '@custody/core';
import { createCheckpoint, signCheckpoint } from '@custody/core/ledger';
import { expect } from 'vitest';
import type { CheckContext, DefineCheck } from './conformance-harness.js';

/** Three streams appended in interleaved batches; returns every event in append order. */
async function seedStreams(c: CheckContext): Promise<LedgerEvent[]> {
  const [a, b, ops] = [c.events.stream('a'), c.events.stream('b'), c.events.stream('ops')];
  const batches = [
    [c.events.next(a), c.events.next(b)],
    [c.events.next(a), c.events.next(ops, { runId: null }), c.events.next(a)],
    [c.events.next(b)],
  ];
  for (const batch of batches) await c.ledger.append(batch);
  return batches.flat();
}

/** A signed checkpoint over `events`, and the public key that verifies it. */
async function signedCheckpoint(events: readonly LedgerEvent[], createdAt: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = createEd25519Signer({ keyId: 'conformance-key', privateKey });
  const checkpoint = await signCheckpoint(createCheckpoint(events, { createdAt }), signer);
  return { checkpoint, keys: { [signer.keyId]: publicKey } };
}

/** The optional `heads`, `appendCheckpoint` and `listCheckpoints` capabilities. */
export function ledgerCheckpointChecks(check: DefineCheck): void {
  check.section('ledger: heads (optional heads)', () => {
    check(
      'heads() is empty on a fresh store and names the head of every stream',
      ['ledger', 'heads'],
      async (c) => {
        expect(await c.ledger.heads!(), 'heads() on a fresh store').toEqual({});
        const events = await seedStreams(c);
        expect(await c.ledger.heads!(), 'heads() after appends').toEqual(createCheckpoint(events).heads);
        const more = c.events.next(c.events.stream('b'));
        await c.ledger.append([more]);
        expect(await c.ledger.heads!(), 'heads() after one more event').toEqual(
          createCheckpoint([...events, more]).heads,
        );
      },
    );

    check('heads survive a reopen', ['ledger', 'heads', 'reopen'], async (c) => {
      const events = await seedStreams(c);
      await c.reopen();
      expect(await c.ledger.heads!()).toEqual(createCheckpoint(events).heads);
    });
  });

  check.section('ledger: checkpoints (optional appendCheckpoint and listCheckpoints)', () => {
    check(
      'checkpoints come back as stored, oldest first, and verify the ledger',
      ['ledger', 'checkpoints'],
      async (c) => {
        expect(await c.ledger.listCheckpoints!(), 'listCheckpoints() on a fresh store').toEqual([]);
        const early = await seedStreams(c);
        const first = await signedCheckpoint(early, '2030-01-01T00:01:00.000Z');
        await c.ledger.appendCheckpoint!(first.checkpoint);
        const late = [c.events.next(c.events.stream('a')), c.events.next(c.events.stream('new'))];
        await c.ledger.append(late);
        const second: LedgerCheckpoint = createCheckpoint([...early, ...late], {
          createdAt: '2030-01-01T00:02:00.000Z',
        });
        await c.ledger.appendCheckpoint!(second);
        const stored = await c.ledger.listCheckpoints!();
        expect(stored, 'listCheckpoints()').toEqual([first.checkpoint, second]);
        const verification = verifyLedger([...early, ...late], { checkpoints: stored });
        expect(
          verification.ok ? 'ok' : verification.problem.message,
          'verify against the stored checkpoints',
        ).toBe('ok');
        const signed = verifyLedger(early, { checkpoint: stored[0]!, keys: first.keys });
        expect(signed.ok ? 'ok' : signed.problem.message, 'the stored signature still verifies').toBe('ok');
      },
    );

    check(
      'a stored checkpoint is not affected by mutating the caller’s object or a returned one',
      ['ledger', 'checkpoints'],
      async (c) => {
        const events = await seedStreams(c);
        const original = createCheckpoint(events, { createdAt: '2030-01-01T00:01:00.000Z' });
        const given = structuredClone(original) as { heads: Record<string, { seq: number }>; root: string };
        await c.ledger.appendCheckpoint!(given as unknown as LedgerCheckpoint);
        given.root = 'f'.repeat(64);
        given.heads[events[0]!.stream]!.seq = 99;
        const [returned] = (await c.ledger.listCheckpoints!()) as unknown as { root: string }[];
        returned!.root = '0'.repeat(64);
        expect(await c.ledger.listCheckpoints!()).toEqual([original]);
      },
    );

    check('checkpoints survive a reopen', ['ledger', 'checkpoints', 'reopen'], async (c) => {
      const events = await seedStreams(c);
      const { checkpoint } = await signedCheckpoint(events, '2030-01-01T00:01:00.000Z');
      await c.ledger.appendCheckpoint!(checkpoint);
      await c.reopen();
      expect(await c.ledger.listCheckpoints!()).toEqual([checkpoint]);
    });
  });
}
