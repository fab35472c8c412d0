import { generateKeyPairSync } from 'node:crypto';
import {
  type CheckpointSigner,
  createEd25519Signer,
  createLedger,
  type LedgerEvent,
  type LedgerVerification,
  readAll,
  verifyLedger,
} from '@custody/core';
import { createCheckpoint, signCheckpoint } from '@custody/core/ledger';
import { expect } from 'vitest';
import { expectSameEvents } from './assertions.js';
import type { CheckContext, DefineCheck } from './conformance-harness.js';
import { conformanceSigner, expectCustodyError } from './fixtures.js';
import { appendHold, appendPruneRecord, appendRedactionRecord, TENANT } from './operator-records.js';

const KEY_ID = 'conformance-key';

let forgerPair: ReturnType<typeof generateKeyPairSync> | undefined;
/** A signer with a key verification does not trust, under `keyId` (its own, or the trusted one's). */
function forger(keyId: string): CheckpointSigner {
  forgerPair ??= generateKeyPairSync('ed25519');
  return createEd25519Signer({ keyId, privateKey: forgerPair.privateKey });
}

/** Forged records, and the code verification with the trusted keys must report for each. */
const FORGERIES = [
  { what: 'an unsigned record', signer: () => undefined, code: 'OPERATOR_UNSIGNED' },
  {
    what: "a record signed with the forger's own key",
    signer: () => forger('mallory'),
    code: 'OPERATOR_UNKNOWN_KEY',
  },
  {
    what: "a record signed by the forger under the trusted key's id",
    signer: () => forger(KEY_ID),
    code: 'OPERATOR_SIG_INVALID',
  },
] as const;

/** The control case: a record signed with the trusted key verifies. */
const GENUINE = {
  what: 'a record signed with the trusted key',
  signer: () => conformanceSigner(KEY_ID).signer,
  code: 'ok',
} as const;

function outcome(result: LedgerVerification): string {
  return result.ok ? 'ok' : `${result.problem.code}: ${result.problem.message}`;
}

/** Two finished runs of three events each, appended in one batch. */
async function seedRuns(c: CheckContext): Promise<{ a: LedgerEvent[]; b: LedgerEvent[] }> {
  const [a, b] = [c.events.stream('a'), c.events.stream('b')];
  const runA = c.events.chain(a, 3, (i) => ({ payload: { tool: 'crm.update', secret: `a-${i}` } }));
  const runB = c.events.chain(b, 3, (i) => ({ payload: { tool: 'crm.update', secret: `b-${i}` } }));
  await c.ledger.append([...runA, ...runB]);
  return { a: runA, b: runB };
}

/** The guards of `deleteStreams` and `erasePayload`: legal holds, and the records a deletion needs. */
export function ledgerGuardChecks(check: DefineCheck): void {
  check.section('ledger: retention guards (deleteStreams)', () => {
    check(
      'deleteStreams refuses a stream no ledger.pruned record names at its current head, deleting nothing',
      ['ledger', 'deleteStreams'],
      async (c) => {
        const { a, b } = await seedRuns(c);
        const what = 'deleteStreams without a ledger.pruned record';
        const error = await expectCustodyError(
          c.ledger.deleteStreams!([a[0]!.stream]),
          'CUSTODY_STORE_ERROR',
          what,
        );
        expect(error.message, `${what}: the message`).toContain(
          `no ledger.pruned record names stream ${a[0]!.stream}`,
        );
        // A record naming an older head, one in a run stream, one in another tenant's operator stream.
        await appendPruneRecord(c, [a[1]!]);
        await appendPruneRecord(c, [b.at(-1)!], { stream: b[0]!.stream });
        await appendPruneRecord(c, [b.at(-1)!], { tenant: 'tenant-b' });
        const before = await readAll(c.ledger);
        await expectCustodyError(
          c.ledger.deleteStreams!([a[0]!.stream]),
          'CUSTODY_STORE_ERROR',
          'a record naming an older head',
        );
        await expectCustodyError(
          c.ledger.deleteStreams!([b[0]!.stream]),
          'CUSTODY_STORE_ERROR',
          'records outside operator:<tenant> of the stream',
        );
        // One stream with a record and one without: the whole call is refused.
        await appendPruneRecord(c, [a.at(-1)!]);
        await expectCustodyError(
          c.ledger.deleteStreams!([a[0]!.stream, b[0]!.stream]),
          'CUSTODY_STORE_ERROR',
          'one of two streams without a record',
        );
        expect((await readAll(c.ledger)).length, 'nothing deleted').toBe(before.length + 1);
        expect(await c.ledger.deleteStreams!([a[0]!.stream]), 'with a record naming its head').toBe(3);
      },
    );

    check(
      'deleteStreams refuses a held run or tenant with CUSTODY_LEGAL_HOLD, deleting nothing, until the hold is released',
      ['ledger', 'deleteStreams'],
      async (c) => {
        const { a, b } = await seedRuns(c);
        await appendPruneRecord(c, [a.at(-1)!, b.at(-1)!]);
        // The hold lands after the prune record was written: the store must still refuse.
        await appendHold(c, 'placed', b[0]!.runId);
        const stored = await readAll(c.ledger);
        await expectCustodyError(
          c.ledger.deleteStreams!([a[0]!.stream, b[0]!.stream]),
          'CUSTODY_LEGAL_HOLD',
          'deleteStreams with a held run among the streams',
        );
        expectSameEvents(await readAll(c.ledger), stored, 'nothing deleted under a run hold');
        await appendHold(c, 'released', b[0]!.runId);
        await appendHold(c, 'placed', null);
        await expectCustodyError(
          c.ledger.deleteStreams!([a[0]!.stream]),
          'CUSTODY_LEGAL_HOLD',
          'deleteStreams under a tenant-wide hold',
        );
        await appendHold(c, 'placed', a[0]!.runId);
        await appendHold(c, 'released', null);
        await expectCustodyError(
          c.ledger.deleteStreams!([a[0]!.stream]),
          'CUSTODY_LEGAL_HOLD',
          'a run hold placed while the tenant was held, the tenant hold released',
        );
        await appendHold(c, 'released', a[0]!.runId);
        expect(await c.ledger.deleteStreams!([a[0]!.stream, b[0]!.stream]), 'every hold released').toBe(6);
      },
    );

    check(
      'createLedger().prune skips a held run and refuses a held tenant: the store enforces both too',
      ['ledger', 'deleteStreams', 'checkpoints'],
      async (c) => {
        const { signer, keys } = conformanceSigner(KEY_ID);
        const { a, b } = await seedRuns(c);
        const ended = [a, b].map((run) => c.events.next(run[0]!.stream, { type: 'run.ended', payload: {} }));
        await c.ledger.append(ended);
        const ledger = createLedger({
          store: c.ledger,
          signer,
          clock: { now: () => Date.parse('2030-06-01T00:00:00.000Z') },
        });
        await ledger.checkpoint();
        await ledger.hold({
          tenant: TENANT,
          runId: a[0]!.runId!,
          requestedBy: 'user:counsel',
          reason: 'case 1',
        });
        const request = {
          tenant: TENANT,
          before: '2030-02-01T00:00:00.000Z',
          requestedBy: 'svc:retention',
          reason: 'conformance',
        };
        expect(await ledger.prune(request), 'prune with one run held').toEqual({ runs: 1, events: 4 });
        expect(await readAll(c.ledger, { stream: a[0]!.stream }), 'the held run is kept').toHaveLength(4);
        await ledger.hold({ tenant: TENANT, requestedBy: 'user:counsel', reason: 'case 2' });
        await expectCustodyError(ledger.prune(request), 'CUSTODY_LEGAL_HOLD', 'prune of a held tenant');
        expect(await ledger.verify({ keys }), 'verify after a pruning that skipped a held run').toMatchObject(
          {
            ok: true,
            signedOperatorRecords: 1,
          },
        );
      },
    );

    check(
      'a forged prune (a record appended raw, then deleteStreams) is caught by verifyLedger with the keys',
      ['ledger', 'deleteStreams'],
      async (c) => {
        const { signer, keys } = conformanceSigner(KEY_ID);
        for (const [i, forgery] of [GENUINE, ...FORGERIES].entries()) {
          // A tenant per case: verification stops at the first forged record it meets.
          const tenant = `tenant-prune-${i}`;
          const stream = c.events.stream(`run-${i}`);
          const run = c.events.chain(stream, 2, () => ({ tenant }));
          await c.ledger.append(run);
          const checkpoint = await signCheckpoint(createCheckpoint(run), signer);
          await appendPruneRecord(c, [run.at(-1)!], { signer: forgery.signer(), tenant });
          expect(
            await c.ledger.deleteStreams!([stream]),
            `${forgery.what}: the store deletes (it checks no signature)`,
          ).toBe(2);
          const result = verifyLedger(await readAll(c.ledger, { tenant }), {
            checkpoints: [checkpoint],
            keys,
          });
          expect(outcome(result), forgery.what).toMatch(new RegExp(`^${forgery.code}`));
        }
      },
    );
  });

  check.section('ledger: erasure guards (erasePayload)', () => {
    check(
      'erasePayload refuses an event no later ledger.redacted record in its stream names with its payload hash',
      ['ledger', 'erasePayload'],
      async (c) => {
        const { a, b } = await seedRuns(c);
        const target = a[1]!;
        const what = 'erasePayload without a ledger.redacted record';
        const error = await expectCustodyError(
          c.ledger.erasePayload!(target.id),
          'CUSTODY_STORE_ERROR',
          what,
        );
        expect(error.message, `${what}: the message`).toContain(target.id);
        await appendRedactionRecord(c, target, { payloadHash: b[1]!.payloadHash });
        await appendRedactionRecord(c, target, { stream: b[0]!.stream });
        await expectCustodyError(
          c.ledger.erasePayload!(target.id),
          'CUSTODY_STORE_ERROR',
          'records naming another payload hash, or in another stream',
        );
        expect((await readAll(c.ledger, { stream: target.stream }))[1]!.payload, 'nothing erased').toEqual(
          target.payload,
        );
        await appendRedactionRecord(c, target);
        expect(await c.ledger.erasePayload!(target.id), 'with a record').toBe(true);
        expect(await c.ledger.erasePayload!(target.id), 'again').toBe(true);
      },
    );

    check(
      'erasePayload refuses an event of a held run or tenant with CUSTODY_LEGAL_HOLD, erasing nothing',
      ['ledger', 'erasePayload'],
      async (c) => {
        const { a } = await seedRuns(c);
        const target = a[0]!;
        await appendRedactionRecord(c, target);
        for (const runId of [target.runId, null]) {
          await appendHold(c, 'placed', runId);
          await expectCustodyError(
            c.ledger.erasePayload!(target.id),
            'CUSTODY_LEGAL_HOLD',
            `erasePayload under a ${runId === null ? 'tenant' : 'run'} hold`,
          );
          expect((await readAll(c.ledger, { stream: target.stream }))[0]!.payload, 'nothing erased').toEqual(
            target.payload,
          );
          await appendHold(c, 'released', runId);
        }
        expect(await c.ledger.erasePayload!(target.id), 'holds released').toBe(true);
      },
    );

    check(
      'createLedger().redact refuses a held run, and its signed record verifies once the hold is released',
      ['ledger', 'erasePayload'],
      async (c) => {
        const { signer, keys } = conformanceSigner(KEY_ID);
        const { a } = await seedRuns(c);
        await c.ledger.append([c.events.next(a[0]!.stream, { type: 'run.ended', payload: {} })]);
        const ledger = createLedger({ store: c.ledger, signer });
        const checkpoint = await ledger.checkpoint();
        await ledger.hold({
          tenant: TENANT,
          runId: a[0]!.runId!,
          requestedBy: 'user:counsel',
          reason: 'case 1',
        });
        const request = { requestedBy: 'user:dpo', reason: 'erasure request' };
        await expectCustodyError(
          ledger.redact(a[1]!.id, request),
          'CUSTODY_LEGAL_HOLD',
          'redact of a held run',
        );
        await ledger.releaseHold({
          tenant: TENANT,
          runId: a[0]!.runId!,
          requestedBy: 'user:counsel',
          reason: 'settled',
        });
        await ledger.redact(a[1]!.id, request);
        const result = verifyLedger(await readAll(c.ledger), { checkpoints: [checkpoint], keys });
        expect(result, 'verify with the keys').toMatchObject({
          ok: true,
          redacted: 1,
          signedOperatorRecords: 1,
        });
      },
    );

    check(
      'a forged redaction (a record appended raw, then erasePayload) is caught by verifyLedger with the keys',
      ['ledger', 'erasePayload'],
      async (c) => {
        const { signer, keys } = conformanceSigner(KEY_ID);
        for (const [i, forgery] of [GENUINE, ...FORGERIES].entries()) {
          const stream = c.events.stream(`run-${i}`);
          const run = c.events.chain(stream, 3, (n) => ({ payload: { secret: `evidence ${n}` } }));
          await c.ledger.append(run);
          const checkpoint = await signCheckpoint(createCheckpoint(run), signer);
          await appendRedactionRecord(c, run[1]!, { signer: forgery.signer() });
          expect(
            await c.ledger.erasePayload!(run[1]!.id),
            `${forgery.what}: the store erases (it checks no signature)`,
          ).toBe(true);
          const events = await readAll(c.ledger, { stream });
          const result = verifyLedger(events, { checkpoints: [checkpoint], keys, streams: [stream] });
          expect(outcome(result), forgery.what).toMatch(new RegExp(`^${forgery.code}`));
        }
      },
    );
  });
}
