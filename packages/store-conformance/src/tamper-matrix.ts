import { generateKeyPairSync } from 'node:crypto';
import {
  type ChainHead,
  type CheckpointSigner,
  createEd25519Signer,
  createLedger,
  type Ledger,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerProblemCode,
  type LedgerStore,
  type LedgerVerification,
  readAll,
  verifyLedger,
} from '@custody/core';
import {
  canonicalize,
  checkpointCount,
  checkpointRoot,
  createCheckpoint,
  envelopeJson,
  payloadCommitment,
  sealEvent,
  sha256Hex,
  signCheckpoint,
  signOperatorPayload,
} from '@custody/core/ledger';
import { describe, expect, it } from 'vitest';
import type { StoreConformanceInstance } from './conformance-options.js';
import { conformanceSigner, EventFactory } from './fixtures.js';

/** Stored fields of one event to overwrite: any envelope field, the payload (null erases it) and the salt. */
export type LedgerEventPatch = { -readonly [K in keyof LedgerEvent]?: LedgerEvent[K] };

/**
 * Raw access to the storage under a ledger store, bypassing the store and every guard it has
 * (triggers, privileges, chain checks): what an attacker with write access to the database, or
 * the file, can do. The tamper matrix uses it to change the stored ledger behind the store's back
 * and then asserts that verification notices.
 *
 * Each function changes storage directly (for SQL: raw statements with the guards disabled) and
 * leaves everything it was not asked to change as it was. Events are named by their current id.
 */
export interface LedgerTamper {
  /** Overwrites the given stored fields of one event (seq and id included); nothing else. */
  rawUpdate(eventId: string, patch: LedgerEventPatch): Promise<void>;
  /** Deletes one stored event. */
  rawDelete(eventId: string): Promise<void>;
  /** Stores one event as given, at the end of the append order, without any chain check. */
  rawInsert(event: LedgerEvent): Promise<void>;
  /** Replaces every stored event with `events`, in this append order (checkpoints stay). */
  rawRewriteAll(events: readonly LedgerEvent[]): Promise<void>;
  /** Deletes every event of one stream. Default: `rawDelete` of each. */
  rawDeleteStream?(stream: string): Promise<void>;
  /** Exchanges the stored payload and salt of two events. Default: two `rawUpdate`s. */
  rawSwapPayloads?(eventIdA: string, eventIdB: string): Promise<void>;
  /** Sets an event's payload and salt to null, without any redaction record. Default: `rawUpdate`. */
  rawErasePayload?(eventId: string): Promise<void>;
  /** Exchanges the places of two events in the append order (what `read` returns first). Default: `rawRewriteAll`. */
  rawSwapOrder?(eventIdA: string, eventIdB: string): Promise<void>;
  /** Replaces every stored checkpoint. Without it, the cases that rewrite checkpoints are skipped. */
  rawReplaceCheckpoints?(checkpoints: readonly LedgerCheckpoint[]): Promise<void>;
}

/** Options of {@link describeTamperMatrix}. */
export interface TamperMatrixOptions<I extends StoreConformanceInstance> {
  /**
   * A fresh, empty instance of the adapter, once per case (the same `create` as for
   * `describeStoreConformance` will do; return extra fields, such as a file path, for `tamper`).
   * Its `stores.ledger` is the store under test.
   */
  create(): Promise<I>;
  /** Raw access to the storage of `instance`. */
  tamper(instance: I): LedgerTamper;
  /** Timeout of each case in milliseconds (default 30 000). */
  timeoutMs?: number;
  /**
   * What the adapter claims: `checkpoints` (the store keeps checkpoints) and
   * `rawReplaceCheckpoints` (`tamper` can rewrite them). Without it, cases needing a missing one
   * are skipped; with it, such cases are not defined, and a false claim fails the case.
   */
  capabilities?: readonly ('checkpoints' | 'rawReplaceCheckpoints')[];
}

/** The ledger every case starts from, and how to verify it. */
interface Scene {
  readonly store: LedgerStore;
  readonly ledger: Ledger;
  readonly factory: EventFactory;
  /** A finished run: run.started, two tool calls, run.ended. Covered by the checkpoint. */
  readonly a: LedgerEvent[];
  /** A finished run of four events. Covered by the checkpoint. */
  readonly b: LedgerEvent[];
  /** An open run: three events before the checkpoint, two after it. */
  readonly c: LedgerEvent[];
  /** The signed checkpoint taken after a, b and the first three events of c. */
  readonly checkpoint: LedgerCheckpoint;
  verify(): Promise<LedgerVerification>;
}

type Need = 'checkpoints' | 'rawReplaceCheckpoints';

interface TamperCase {
  readonly name: string;
  readonly needs?: readonly Need[];
  /**
   * The problem verification must report, and the id of the event it must point at; or
   * `verifies` for tampering no verifier can see, with the reason in `why`.
   */
  readonly expect:
    | { readonly code: LedgerProblemCode; readonly eventId?: (scene: Scene) => string }
    | { readonly verifies: true; readonly why: string };
  tamper(raw: Required<LedgerTamper>, scene: Scene): Promise<void>;
}

const CLOCK = { now: () => Date.parse('2030-01-01T01:00:00.000Z') };
const SIGNER_KEY_ID = 'ledger-signing-key';

let forgerKey: ReturnType<typeof generateKeyPairSync> | undefined;
/** A signer with a key the verifier does not trust: under its own key id, or claiming the real one. */
function forger(keyId: string): CheckpointSigner {
  forgerKey ??= generateKeyPairSync('ed25519');
  return createEd25519Signer({ keyId, privateKey: forgerKey.privateKey });
}

/** Flips the lowest bit of one character: one bit of the stored bytes, for ASCII text. */
function flipBit(text: string, index: number): string {
  return text.slice(0, index) + String.fromCharCode(text.charCodeAt(index) ^ 1) + text.slice(index + 1);
}

/** Flips the lowest bit of one hex digit, keeping the text hex. */
function flipHexDigit(hex: string, index: number): string {
  return hex.slice(0, index) + (Number.parseInt(hex[index]!, 16) ^ 1).toString(16) + hex.slice(index + 1);
}

/** `event` with envelope fields changed and its hash recomputed, as a forger who can hash would. */
function reseal(event: LedgerEvent, changes: LedgerEventPatch): LedgerEvent {
  const changed = { ...event, ...changes };
  return { ...changed, hash: sha256Hex(envelopeJson(changed)) };
}

/** The stored fields a reseal changed, as a patch. */
function envelopePatch(event: LedgerEvent): LedgerEventPatch {
  return { id: event.id, seq: event.seq, prevHash: event.prevHash, hash: event.hash, actor: event.actor };
}

/**
 * Every event re-sealed from scratch, stream by stream, in the same append order, with `edit`
 * applied to the payload of one event: a consistent forged ledger, made without the signing key.
 */
function forgeAll(events: readonly LedgerEvent[], target: string, payload: unknown): LedgerEvent[] {
  const heads = new Map<string, ChainHead>();
  return events.map((event) => {
    const { stream, runId, traceId, spanId, ts, type, tenant, actor } = event;
    const forged = sealEvent(
      {
        stream,
        runId,
        traceId,
        spanId,
        ts,
        type,
        tenant,
        actor,
        payload: event.id === target ? payload : event.payload,
      },
      heads.get(stream),
    );
    heads.set(stream, { seq: forged.seq, hash: forged.hash });
    return forged;
  });
}

async function current(store: LedgerStore, eventId: string): Promise<LedgerEvent> {
  const event = (await readAll(store)).find((candidate) => candidate.id === eventId);
  if (!event) throw new Error(`tamper matrix: no stored event ${eventId}`);
  return event;
}

/** The adapter's raw access, with the optional functions filled in from the required ones. */
function complete(raw: LedgerTamper, store: LedgerStore): Required<LedgerTamper> {
  return {
    rawUpdate: (id, patch) => raw.rawUpdate(id, patch),
    rawDelete: (id) => raw.rawDelete(id),
    rawInsert: (event) => raw.rawInsert(event),
    rawRewriteAll: (events) => raw.rawRewriteAll(events),
    rawDeleteStream: raw.rawDeleteStream
      ? (stream) => raw.rawDeleteStream!(stream)
      : async (stream) => {
          for (const event of await readAll(store, { stream })) await raw.rawDelete(event.id);
        },
    rawSwapPayloads: raw.rawSwapPayloads
      ? (a, b) => raw.rawSwapPayloads!(a, b)
      : async (a, b) => {
          const [first, second] = [await current(store, a), await current(store, b)];
          await raw.rawUpdate(a, { payload: second.payload, salt: second.salt });
          await raw.rawUpdate(b, { payload: first.payload, salt: first.salt });
        },
    rawErasePayload: raw.rawErasePayload
      ? (id) => raw.rawErasePayload!(id)
      : (id) => raw.rawUpdate(id, { payload: null, salt: null }),
    rawSwapOrder: raw.rawSwapOrder
      ? (a, b) => raw.rawSwapOrder!(a, b)
      : async (a, b) => {
          const all = await readAll(store);
          const i = all.findIndex((event) => event.id === a);
          const j = all.findIndex((event) => event.id === b);
          [all[i], all[j]] = [all[j]!, all[i]!];
          await raw.rawRewriteAll(all);
        },
    rawReplaceCheckpoints: raw.rawReplaceCheckpoints
      ? (checkpoints) => raw.rawReplaceCheckpoints!(checkpoints)
      : async () => {
          throw new Error('unreachable: cases that need rawReplaceCheckpoints are skipped without it');
        },
  };
}

let sceneCounter = 0;

/** Appends three runs in interleaved batches, takes a signed checkpoint, then appends two more events. */
async function setScene(store: LedgerStore): Promise<Scene> {
  const factory = new EventFactory(`t${++sceneCounter}-`);
  const [a, b, c] = [factory.stream('a'), factory.stream('b'), factory.stream('c')];
  const note = (text: string) => ({ note: `${text} — ünïcödé 😀` });
  const event = (stream: string, type: string, payload: Record<string, unknown>) =>
    factory.next(stream, { type, payload });
  const batches: LedgerEvent[][] = [
    [
      event(a, 'run.started', note('a starts')),
      event(b, 'run.started', note('b starts')),
      event(c, 'run.started', note('c starts')),
    ],
    [
      event(a, 'tool.requested', { tool: 'stripe.refund', ...note('refund 500') }),
      event(a, 'tool.result', { tool: 'stripe.refund', status: 'ok', ...note('refunded 500') }),
      event(b, 'tool.requested', { tool: 'jira.create', ...note('create issue') }),
    ],
    [
      event(c, 'tool.requested', { tool: 'email.send', ...note('send mail') }),
      event(a, 'tool.requested', { tool: 'jira.create', ...note('file the refund') }),
      event(b, 'tool.result', { tool: 'jira.create', status: 'ok', ...note('issue SUP-1') }),
    ],
    [
      event(a, 'tool.result', { tool: 'jira.create', status: 'ok', ...note('issue SUP-2') }),
      event(c, 'tool.result', { tool: 'email.send', status: 'ok', ...note('sent') }),
      event(b, 'run.ended', { outcome: 'succeeded', ...note('b ends') }),
      event(a, 'run.ended', { outcome: 'succeeded', ...note('a ends') }),
    ],
  ];
  for (const batch of batches) await store.append(batch);
  const { signer, keys } = conformanceSigner(SIGNER_KEY_ID);
  const ledger = createLedger({ store, signer, clock: CLOCK });
  const checkpoint = await ledger.checkpoint();
  const later = [
    event(c, 'tool.requested', { tool: 'email.send', ...note('second mail') }),
    event(c, 'tool.result', { tool: 'email.send', status: 'ok', ...note('sent again') }),
  ];
  await store.append(later);
  const appended = [...batches.flat(), ...later];
  const keeps = typeof store.listCheckpoints === 'function' && typeof store.appendCheckpoint === 'function';
  const scene: Scene = {
    store,
    ledger,
    factory,
    a: appended.filter((e) => e.stream === a),
    b: appended.filter((e) => e.stream === b),
    c: appended.filter((e) => e.stream === c),
    checkpoint,
    verify: async () =>
      keeps
        ? ledger.verify({ keys })
        : verifyLedger(await readAll(store), { checkpoints: [checkpoint], keys }),
  };
  return scene;
}

const FORGED_PAYLOAD = { tool: 'stripe.refund', note: 'refund 5000000 — approved by nobody' };

/** A forged event at seq 2 of run a, linked to seq 1, with a payload the run never recorded. */
function forgedInsert(scene: Scene): LedgerEvent {
  const [first, second] = scene.a;
  return sealEvent(
    {
      stream: second!.stream,
      runId: second!.runId,
      traceId: second!.traceId,
      spanId: second!.spanId,
      ts: second!.ts,
      type: 'tool.requested',
      tenant: first!.tenant,
      actor: second!.actor,
      payload: FORGED_PAYLOAD,
    },
    { seq: second!.seq, hash: second!.hash },
  );
}

/** Run a's events from seq 2 on, renumbered one up and re-hashed (their links left as they were). */
function renumbered(scene: Scene): LedgerEvent[] {
  return scene.a
    .slice(2)
    .map((event) => reseal(event, { seq: event.seq + 1, id: `${event.stream}:${event.seq + 1}` }));
}

/** Swaps the seq and id of two events of one stream in place (through a free seq), optionally re-hashing. */
async function swapSeq(
  raw: Required<LedgerTamper>,
  x: LedgerEvent,
  y: LedgerEvent,
  rehash: boolean,
): Promise<void> {
  const parked = `${x.stream}:parked`;
  const xAsY = rehash ? reseal(x, { seq: y.seq, id: y.id }) : { ...x, seq: y.seq, id: y.id };
  const yAsX = rehash ? reseal(y, { seq: x.seq, id: x.id }) : { ...y, seq: x.seq, id: x.id };
  await raw.rawUpdate(x.id, { seq: 1_000_000, id: parked });
  await raw.rawUpdate(y.id, envelopePatch(yAsX));
  await raw.rawUpdate(parked, envelopePatch(xAsY));
}

/** The forged ledger of the rewrite cases: payload of run a's refund request changed, every chain re-hashed. */
async function rewriteEverything(raw: Required<LedgerTamper>, scene: Scene): Promise<LedgerEvent[]> {
  const forged = forgeAll(await readAll(scene.store), scene.a[1]!.id, FORGED_PAYLOAD);
  await raw.rawRewriteAll(forged);
  return forged;
}

/**
 * A `ledger.pruned` record naming run b's head, sealed into `operator:<tenant>` as the API writes
 * it, signed by `by` (or unsigned): what someone who can write rows adds to explain a deletion.
 */
async function forgedPruneRecord(scene: Scene, by: CheckpointSigner | undefined): Promise<LedgerEvent> {
  const head = scene.b.at(-1)!;
  const stream = `operator:${head.tenant}`;
  const payload = {
    before: '2030-02-01T00:00:00.000Z',
    streams: [{ stream: head.stream, seq: head.seq, hash: head.hash, events: scene.b.length }],
    reason: 'retention',
    requestedBy: 'service:retention',
  };
  const envelope = { type: 'ledger.pruned', stream, tenant: head.tenant, runId: null };
  return scene.factory.next(stream, {
    type: 'ledger.pruned',
    runId: null,
    actor: 'service:retention',
    payload: by ? await signOperatorPayload(by, envelope, payload) : payload,
  });
}

/** An unsigned `ledger.redacted` record naming `target` (run a's), sealed at the head of `stream`. */
function forgedRedactionRecord(scene: Scene, target: LedgerEvent, stream = target.stream): LedgerEvent {
  return scene.factory.next(stream, {
    type: 'ledger.redacted',
    actor: 'user:dpo@example.com',
    payload: {
      eventId: target.id,
      eventType: target.type,
      payloadHash: target.payloadHash,
      reason: 'erasure request',
      requestedBy: 'user:dpo@example.com',
    },
  });
}

const CASES: readonly TamperCase[] = [
  // ── altered ───────────────────────────────────────────────────────────────────────────────
  {
    name: 'one bit of an envelope field (actor) flipped',
    expect: { code: 'HASH_MISMATCH', eventId: (s) => s.a[2]!.id },
    tamper: (raw, s) => raw.rawUpdate(s.a[2]!.id, { actor: flipBit(s.a[2]!.actor, 3) }),
  },
  {
    name: 'one bit of the stored hash flipped',
    expect: { code: 'HASH_MISMATCH', eventId: (s) => s.a[2]!.id },
    tamper: (raw, s) => raw.rawUpdate(s.a[2]!.id, { hash: flipHexDigit(s.a[2]!.hash, 17) }),
  },
  {
    name: 'one bit of the payload flipped',
    expect: { code: 'PAYLOAD_MISMATCH', eventId: (s) => s.a[2]!.id },
    tamper: (raw, s) => {
      const payload = s.a[2]!.payload as { note: string };
      return raw.rawUpdate(s.a[2]!.id, { payload: { ...payload, note: flipBit(payload.note, 0) } });
    },
  },
  {
    name: 'one bit of the salt flipped',
    expect: { code: 'PAYLOAD_MISMATCH', eventId: (s) => s.a[2]!.id },
    tamper: (raw, s) => raw.rawUpdate(s.a[2]!.id, { salt: flipHexDigit(s.a[2]!.salt!, 5) }),
  },
  {
    name: 'a payload replaced and its commitment recomputed (payloadHash changed, envelope not re-hashed)',
    expect: { code: 'HASH_MISMATCH', eventId: (s) => s.a[1]!.id },
    tamper: (raw, s) =>
      raw.rawUpdate(s.a[1]!.id, {
        payload: FORGED_PAYLOAD,
        payloadHash: payloadCommitment(s.a[1]!.salt!, canonicalize(FORGED_PAYLOAD)),
      }),
  },
  {
    name: 'an event edited and its envelope re-hashed (the event after it still links to the original)',
    expect: { code: 'PREV_MISMATCH', eventId: (s) => s.a[3]!.id },
    tamper: (raw, s) =>
      raw.rawUpdate(s.a[2]!.id, envelopePatch(reseal(s.a[2]!, { actor: 'user:mallory@example.com' }))),
  },
  {
    name: 'a hash overwritten with something that is not a hash',
    expect: { code: 'MALFORMED' },
    tamper: (raw, s) => raw.rawUpdate(s.b[1]!.id, { hash: 'not-a-sha256' }),
  },

  // ── deleted ───────────────────────────────────────────────────────────────────────────────
  {
    name: 'the first event of a run deleted',
    expect: { code: 'SEQ_GAP', eventId: (s) => s.a[1]!.id },
    tamper: (raw, s) => raw.rawDelete(s.a[0]!.id),
  },
  {
    name: 'an event in the middle of a run deleted',
    expect: { code: 'SEQ_GAP', eventId: (s) => s.a[3]!.id },
    tamper: (raw, s) => raw.rawDelete(s.a[2]!.id),
  },
  {
    name: 'the last event of a run deleted (the checkpoint covers it)',
    expect: { code: 'TRUNCATED' },
    tamper: (raw, s) => raw.rawDelete(s.a.at(-1)!.id),
  },
  {
    name: 'a whole run deleted, without a ledger.pruned record',
    expect: { code: 'TRUNCATED' },
    tamper: (raw, s) => raw.rawDeleteStream(s.b[0]!.stream),
  },

  // ── reordered ─────────────────────────────────────────────────────────────────────────────
  {
    name: 'two events of a run swap their seq (and ids), envelopes untouched',
    // The event read first (in append order) now claims seq 3, which its hash does not cover.
    expect: { code: 'HASH_MISMATCH', eventId: (s) => s.a[3]!.id },
    tamper: (raw, s) => swapSeq(raw, s.a[2]!, s.a[3]!, false),
  },
  {
    name: 'two events of a run swap their seq (and ids) and both envelopes are re-hashed',
    // Read in append order, seq 3 comes before seq 2. (A reader that sorted by seq would see a
    // broken link instead; the port reads in append order.)
    expect: { code: 'REORDERED', eventId: (s) => s.a[3]!.id },
    tamper: (raw, s) => swapSeq(raw, s.a[2]!, s.a[3]!, true),
  },
  {
    name: 'two events of a run swap places in the append order, envelopes untouched',
    expect: { code: 'REORDERED', eventId: (s) => s.a[3]!.id },
    tamper: (raw, s) => raw.rawSwapOrder(s.a[2]!.id, s.a[3]!.id),
  },

  // ── inserted ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'a forged event inserted mid-run in place; later events renumbered and re-hashed, not relinked',
    expect: { code: 'INSERTED', eventId: (s) => `${s.a[0]!.stream}:2` },
    tamper: async (raw, s) => {
      const forged = forgedInsert(s);
      const moved = new Map(renumbered(s).map((event, i) => [s.a[i + 2]!.id, event]));
      const stored = await readAll(s.store);
      const rewritten = stored.flatMap((event) => {
        const replacement = moved.get(event.id) ?? event;
        return event.id === s.a[2]!.id ? [forged, replacement] : [replacement];
      });
      await raw.rawRewriteAll(rewritten);
    },
  },
  {
    name: 'a forged event inserted mid-run by a raw INSERT; later events renumbered and re-hashed in place',
    // The INSERT lands at the end of the append order, so seq 3 is read before the forged seq 2.
    expect: { code: 'REORDERED', eventId: (s) => `${s.a[0]!.stream}:3` },
    tamper: async (raw, s) => {
      const moved = renumbered(s);
      for (let i = moved.length - 1; i >= 0; i--) {
        await raw.rawUpdate(s.a[i + 2]!.id, envelopePatch(moved[i]!));
      }
      await raw.rawInsert(forgedInsert(s));
    },
  },
  {
    name: 'a forged event appended at the head of an open run, after the last checkpoint',
    expect: {
      verifies: true,
      why:
        'NOT detectable: a correctly linked event after the last checkpoint is indistinguishable from a real ' +
        'append; checkpoints protect what they covered, so checkpoint often',
    },
    tamper: async (raw, s) => {
      const head = s.c.at(-1)!;
      await raw.rawInsert(
        s.factory.after({ seq: head.seq, hash: head.hash }, head.stream, { payload: FORGED_PAYLOAD }),
      );
    },
  },
  {
    name: 'a whole forged run inserted (a stream no checkpoint has seen)',
    expect: {
      verifies: true,
      why:
        'NOT detectable: a checkpoint commits to the streams it saw; a new stream looks like a run that ' +
        'started after it',
    },
    tamper: async (raw, s) => {
      const stream = s.factory.stream('forged-run');
      for (const event of s.factory.chain(stream, 2, () => ({ payload: FORGED_PAYLOAD }))) {
        await raw.rawInsert(event);
      }
    },
  },

  // ── truncated ─────────────────────────────────────────────────────────────────────────────
  {
    name: 'the tail of a run truncated before the last checkpoint',
    expect: { code: 'TRUNCATED' },
    tamper: async (raw, s) => {
      for (const event of s.a.slice(-2)) await raw.rawDelete(event.id);
    },
  },
  {
    name: 'an open run truncated across the last checkpoint',
    expect: { code: 'TRUNCATED' },
    tamper: async (raw, s) => {
      for (const event of s.c.slice(2)) await raw.rawDelete(event.id);
    },
  },
  {
    name: 'only the events appended after the last checkpoint truncated',
    expect: {
      verifies: true,
      why:
        'NOT detectable until a checkpoint covers them: without one, a tail cut after the last checkpoint ' +
        'looks like a run that simply wrote less',
    },
    tamper: async (raw, s) => {
      for (const event of s.c.slice(3)) await raw.rawDelete(event.id);
    },
  },

  // ── rewritten without the key ─────────────────────────────────────────────────────────────
  {
    name: 'everything rewritten without the key (every chain re-hashed), the stored checkpoint kept',
    expect: { code: 'CHECKPOINT_MISMATCH' },
    tamper: async (raw, s) => {
      await rewriteEverything(raw, s);
    },
  },
  {
    name: "everything rewritten, and a checkpoint signed with the forger's own key added through the store",
    needs: ['checkpoints'],
    expect: { code: 'UNKNOWN_KEY' },
    tamper: async (raw, s) => {
      const forged = await rewriteEverything(raw, s);
      await s.store.appendCheckpoint!(await signCheckpoint(createCheckpoint(forged), forger('forger-key')));
    },
  },
  {
    name: "everything rewritten, checkpoints replaced by one the forger signed claiming the real key's id",
    needs: ['rawReplaceCheckpoints'],
    expect: { code: 'SIG_INVALID' },
    tamper: async (raw, s) => {
      const forged = await rewriteEverything(raw, s);
      const fake = await signCheckpoint(createCheckpoint(forged), forger(SIGNER_KEY_ID));
      await raw.rawReplaceCheckpoints([fake]);
    },
  },
  {
    name: "everything rewritten, checkpoints replaced by one signed under the forger's own key id",
    needs: ['rawReplaceCheckpoints'],
    expect: { code: 'UNKNOWN_KEY' },
    tamper: async (raw, s) => {
      const forged = await rewriteEverything(raw, s);
      await raw.rawReplaceCheckpoints([await signCheckpoint(createCheckpoint(forged), forger('forger-key'))]);
    },
  },
  {
    name: 'everything rewritten, checkpoints replaced by an unsigned one over the forged heads',
    needs: ['rawReplaceCheckpoints'],
    expect: { code: 'SIG_INVALID' },
    tamper: async (raw, s) => {
      const forged = await rewriteEverything(raw, s);
      await raw.rawReplaceCheckpoints([createCheckpoint(forged)]);
    },
  },
  {
    name: 'everything rewritten and every stored checkpoint deleted',
    needs: ['rawReplaceCheckpoints'],
    expect: { code: 'CHECKPOINT_MISSING' },
    tamper: async (raw, s) => {
      await rewriteEverything(raw, s);
      await raw.rawReplaceCheckpoints([]);
    },
  },

  // ── checkpoints edited ────────────────────────────────────────────────────────────────────
  {
    name: "a run truncated and the checkpoint's heads edited to match (root and count recomputed, signature kept)",
    needs: ['rawReplaceCheckpoints'],
    expect: { code: 'SIG_INVALID' },
    tamper: async (raw, s) => {
      for (const event of s.a.slice(-2)) await raw.rawDelete(event.id);
      const last = s.a.at(-3)!;
      const heads = { ...s.checkpoint.heads, [last.stream]: { seq: last.seq, hash: last.hash } };
      await raw.rawReplaceCheckpoints([
        { ...s.checkpoint, heads, root: checkpointRoot(heads), count: checkpointCount(heads) },
      ]);
    },
  },
  {
    name: "a run truncated and the checkpoint's heads edited to match, root left as it was",
    needs: ['rawReplaceCheckpoints'],
    expect: { code: 'ROOT_MISMATCH' },
    tamper: async (raw, s) => {
      for (const event of s.a.slice(-2)) await raw.rawDelete(event.id);
      const last = s.a.at(-3)!;
      const heads = { ...s.checkpoint.heads, [last.stream]: { seq: last.seq, hash: last.hash } };
      await raw.rawReplaceCheckpoints([{ ...s.checkpoint, heads }]);
    },
  },

  // ── payloads ──────────────────────────────────────────────────────────────────────────────
  {
    name: 'two payloads swapped, with their salts',
    expect: { code: 'PAYLOAD_MISMATCH', eventId: (s) => s.a[1]!.id },
    tamper: (raw, s) => raw.rawSwapPayloads(s.a[1]!.id, s.a[2]!.id),
  },
  {
    name: 'a payload and its salt erased without a redaction record',
    expect: { code: 'PAYLOAD_MISSING', eventId: (s) => s.a[2]!.id },
    tamper: (raw, s) => raw.rawErasePayload(s.a[2]!.id),
  },
  {
    name: 'a payload erased, its salt kept',
    expect: { code: 'PAYLOAD_MISSING', eventId: (s) => s.b[1]!.id },
    tamper: (raw, s) => raw.rawUpdate(s.b[1]!.id, { payload: null }),
  },
  // ── operator records forged ───────────────────────────────────────────────────────────────
  {
    name: 'a whole run deleted, with an unsigned ledger.pruned record naming its head added',
    expect: { code: 'OPERATOR_UNSIGNED', eventId: () => 'operator:tenant-a:0' },
    tamper: async (raw, s) => {
      await raw.rawDeleteStream(s.b[0]!.stream);
      await raw.rawInsert(await forgedPruneRecord(s, undefined));
    },
  },
  {
    name: "a whole run deleted, with a ledger.pruned record the forger signed under the real key's id",
    expect: { code: 'OPERATOR_SIG_INVALID', eventId: () => 'operator:tenant-a:0' },
    tamper: async (raw, s) => {
      await raw.rawDeleteStream(s.b[0]!.stream);
      await raw.rawInsert(await forgedPruneRecord(s, forger(SIGNER_KEY_ID)));
    },
  },
  {
    name: 'a payload erased, with an unsigned ledger.redacted record for it added to its run',
    expect: { code: 'OPERATOR_UNSIGNED', eventId: (s) => `${s.a[0]!.stream}:${s.a.length}` },
    tamper: async (raw, s) => {
      await raw.rawInsert(forgedRedactionRecord(s, s.a[1]!));
      await raw.rawErasePayload(s.a[1]!.id);
    },
  },
  {
    name: 'a payload erased, with a ledger.redacted record for it added to another run',
    expect: { code: 'OPERATOR_MISPLACED', eventId: (s) => `${s.b[0]!.stream}:${s.b.length}` },
    tamper: async (raw, s) => {
      await raw.rawInsert(forgedRedactionRecord(s, s.a[1]!, s.b[0]!.stream));
      await raw.rawErasePayload(s.a[1]!.id);
    },
  },
];

const NEED_TEXT: Record<Need, string> = {
  checkpoints: 'ledger.appendCheckpoint and ledger.listCheckpoints (optional capabilities)',
  rawReplaceCheckpoints: 'tamper.rawReplaceCheckpoints',
};

/**
 * Declares the tamper matrix for one adapter, as vitest tests: for each case, a fresh instance
 * gets three runs, a signed checkpoint (stored beside the events when the store can) and two
 * more events; the storage is then changed behind the store's back with the adapter's raw access
 * (`tamper`), and `createLedger({ store, signer }).verify({ keys })` must report the expected
 * problem code, pointing at the expected event. The few cases no verifier can detect (a tail cut
 * after the last checkpoint, a correctly linked event forged after it, a forged new stream) are
 * asserted to verify, so the limits stay documented and visible.
 *
 * @example
 * ```ts
 * describeTamperMatrix('my-store', {
 *   create: async () => ({ ...(await createInstance()), path }),
 *   tamper: (instance) => rawAccessTo(instance.path),
 * });
 * ```
 */
export function describeTamperMatrix<I extends StoreConformanceInstance>(
  name: string,
  options: TamperMatrixOptions<I>,
): void {
  if (typeof options?.create !== 'function' || typeof options.tamper !== 'function') {
    throw new TypeError(
      `[custody] describeTamperMatrix("${name}") needs options.create (a fresh instance) and options.tamper (raw access to its storage)`,
    );
  }
  const timeout = options.timeoutMs ?? 30_000;
  describe(`${name}: Custody tamper matrix`, () => {
    const declared = options.capabilities ? new Set(options.capabilities) : undefined;
    for (const tamperCase of CASES) {
      if (declared && !(tamperCase.needs ?? []).every((need) => declared.has(need))) continue;
      it(tamperCase.name, { timeout }, async (test) => {
        const instance = await options.create();
        try {
          const store = instance.stores.ledger;
          if (!store) throw new Error(`describeTamperMatrix("${name}"): create() returned no ledger store`);
          const given = options.tamper(instance);
          for (const need of tamperCase.needs ?? []) {
            const has =
              need === 'checkpoints'
                ? typeof store.appendCheckpoint === 'function' && typeof store.listCheckpoints === 'function'
                : typeof given.rawReplaceCheckpoints === 'function';
            if (!has && declared)
              throw new Error(`the adapter declares "${need}" but provides no ${NEED_TEXT[need]}`);
            if (!has) test.skip(`the adapter provides no ${NEED_TEXT[need]}`);
          }
          const scene = await setScene(store);
          const before = await scene.verify();
          expect(
            before.ok ? 'ok' : `${before.problem.code}: ${before.problem.message}`,
            'the untouched ledger must verify',
          ).toBe('ok');

          await tamperCase.tamper(complete(given, store), scene);
          const result = await scene.verify();
          const outcome = result.ok ? 'verifies' : `${result.problem.code}: ${result.problem.message}`;
          if ('verifies' in tamperCase.expect) {
            expect(outcome, tamperCase.expect.why).toBe('verifies');
            return;
          }
          const { code, eventId } = tamperCase.expect;
          expect(result.ok ? 'verifies' : result.problem.code, `verification after: ${outcome}`).toBe(code);
          if (eventId && !result.ok) {
            expect(result.problem.eventId, `the event the problem points at (${outcome})`).toBe(
              eventId(scene),
            );
          }
        } finally {
          await instance.cleanup?.();
        }
      });
    }
  });
}
