import { type ChainHead, type LedgerEvent, type PolicyRequest, randomIds, verifyLedger } from '@custody/core';
import {
  canonicalize,
  type EventDraft,
  envelopeJson,
  StreamSealer,
  sealEvent,
  sha256Hex,
} from '@custody/core/ledger';
import { trace } from '@opentelemetry/api';
import { startSupportSession } from './gated-call.js';
import { collectGarbage, type Timing, timeEachCall, timeInRounds } from './measure.js';
import { supportPolicy } from './support-policy.js';
import { createTicketTool, ticketDrafts } from './ticket-tools.js';

/** Options of {@link measureHotPath}. */
export interface HotPathOptions {
  /** Events in the ledger that `verifyLedger` checks per round. */
  ledgerEvents: number;
}

/** One line of the hot-path table. */
export interface HotPathFigure {
  /** Stable key, for reading one figure back from the JSON. */
  readonly id: string;
  readonly timing: Timing;
  /** `rounds`: many operations per sample; `per call`: each operation timed on its own, like the gate. */
  readonly method: 'rounds' | 'per call';
  /** What one operation is: "op" or "event". */
  readonly unit: string;
  /** Operations per second at the median. */
  readonly perSecond: number;
  /** Where the piece sits in a gated write, for the reader. */
  readonly note: string;
}

/** Hot-path pieces and the ~1 KB payload they were measured on. */
export interface HotPathFigures {
  readonly payloadBytes: number;
  readonly figures: readonly HotPathFigure[];
}

const ROUNDS = { rounds: 60, warmupRounds: 10 };

/**
 * A tool result of about 1 KB, shaped like what a CRM lookup returns: nested objects, arrays,
 * numbers, a non-ASCII name, keys deliberately out of canonical order.
 */
export function sampleResultPayload(): Record<string, unknown> {
  return {
    tool: 'crm.customers.get',
    status: 'ok',
    callId: 'call_m4x9k2f1c0ffee00beef',
    durationMs: 42,
    output: {
      customer: {
        name: 'Zoë Ångström',
        id: 'cus_0042',
        email: 'zoe.angstrom@example.com',
        plan: 'business',
        tags: ['vip', 'eu', 'billing-contact'],
        address: { street: 'Sveavägen 12', city: 'Stockholm', postcode: '111 57', country: 'SE' },
        balanceCents: -1250,
        notes: 'Prefers email. Asked about annual invoicing in March; follow up before renewal.',
      },
      recentOrders: Array.from({ length: 5 }, (_, i) => ({
        status: i === 0 ? 'refund_pending' : 'fulfilled',
        id: `ord_${20_260_101 + i}`,
        totalCents: 4_990 + i * 1_000,
        currency: 'EUR',
        createdAt: `2026-01-0${i + 1}T10:1${i}:00.000Z`,
        items: i + 1,
      })),
    },
  };
}

/**
 * Times the pieces a gated call is made of, each on its own, so a regression shows where the
 * microseconds went: canonical JSON, SHA-256, sealing events (a synthetic 1 KB one, and the four
 * real events of one gated write), the policy, input validation, a no-op span, an id, and the
 * verification throughput of a ledger written by real gated calls.
 */
export async function measureHotPath(options: HotPathOptions): Promise<HotPathFigures> {
  const payload = sampleResultPayload();
  const payloadJson = canonicalize(payload);
  const payloadBytes = Buffer.byteLength(payloadJson);
  const figures: HotPathFigure[] = [];
  const add = (id: string, timing: Timing, note: string, unit = 'op') => {
    const method = id === 'seal-write' || id === 'hash-write' ? 'per call' : 'rounds';
    figures.push({ id, timing, method, unit, perSecond: 1e6 / timing.medianUs, note });
    collectGarbage();
  };
  const rounds = (operationsPerRound: number) => ({ ...ROUNDS, operationsPerRound });

  collectGarbage();
  add(
    'canonicalize',
    timeInRounds(`canonicalize (${payloadBytes} B payload)`, () => canonicalize(payload), rounds(2_000)),
    'RFC 8785; once per event',
  );
  add(
    'json-stringify',
    timeInRounds('JSON.stringify (same payload)', () => JSON.stringify(payload), rounds(2_000)),
    'floor: no key sorting, no validation (not canonical)',
  );
  add(
    'sha256',
    timeInRounds(`sha256Hex (${payloadBytes} B)`, () => sha256Hex(payloadJson), rounds(5_000)),
    'payload commitment; every event, plus the input fingerprint',
  );

  const draft: EventDraft = {
    stream: 'run_bench',
    runId: 'run_bench',
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    ts: '2026-01-01T00:00:00.000Z',
    type: 'tool.result',
    tenant: 'acme',
    actor: 'agent:support-bot',
    payload,
  };
  add(
    'seal',
    timeInRounds(
      'sealEvent (1 KB, encodes it)',
      chained((head) => sealEvent(draft, head)),
      rounds(1_000),
    ),
    'canonicalize + salt + payload hash + envelope hash',
  );
  const ledger = await recordLedger(options.ledgerEvents);
  const writeEvents = ledger.slice(1, 5);
  const expected = ['tool.requested', 'policy.decided', 'tool.attempt', 'tool.result'];
  if (writeEvents.map((event) => event.type).join() !== expected.join()) {
    throw new Error(`[custody-bench] a gated write should record ${expected.join(', ')}`);
  }
  const envelopeEvent = writeEvents[1]!;
  add(
    'envelope-hash',
    timeInRounds(
      `envelopeJson + sha256Hex (${envelopeJson(envelopeEvent).length} B)`,
      () => sha256Hex(envelopeJson(envelopeEvent)),
      rounds(5_000),
    ),
    'the envelope hash alone; every event',
  );
  const writeDrafts = writeEvents.map(toDraft);
  // As the runtime does: one sealer per run, each payload encoded as it is sealed.
  const writeSealer = new StreamSealer(writeDrafts[0]!);
  // Timed call by call, like the gate, so the two medians compare (GC pauses land in the p99).
  add(
    'seal-write',
    await timeEachCall(
      'seal the 4 events of one gated write',
      () => {
        let head: ChainHead | undefined;
        for (const eventDraft of writeDrafts) {
          const { type, ts, spanId, payload } = eventDraft;
          head = writeSealer.seal({ type, ts, spanId, payload, prev: head });
        }
        return head;
      },
      { iterations: 20_000, warmup: 2_000 },
    ),
    'real payloads, one stream sealer, timed one write at a time like the gate',
  );
  // The SHA-256 digests a gated write cannot do without: each event's salted payload commitment
  // and its envelope hash, and the input fingerprint behind the derived idempotency key.
  const requested = writeEvents[0]!.payload as { tool: string; version: string; input: unknown };
  const digestInputs = [
    ...writeEvents.flatMap((event) => [`${event.salt}${canonicalize(event.payload)}`, envelopeJson(event)]),
    `${requested.tool}\n${requested.version}\n${canonicalize(requested.input)}`,
  ];
  writeEvents.forEach((event, i) => {
    if (
      sha256Hex(digestInputs[2 * i]!) !== event.payloadHash ||
      sha256Hex(digestInputs[2 * i + 1]!) !== event.hash
    ) {
      throw new Error(`[custody-bench] the digest inputs of ${event.type} do not reproduce its hashes`);
    }
  });
  const digestBytes = digestInputs.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  add(
    'hash-write',
    await timeEachCall(
      `the ${digestInputs.length} SHA-256 digests of one gated write (${digestBytes} B)`,
      () => {
        let last = '';
        for (const text of digestInputs) last = sha256Hex(text);
        return last;
      },
      { iterations: 20_000, warmup: 2_000 },
    ),
    'payload commitment + envelope hash per event, and the input fingerprint: the floor of recording every step',
  );

  const policy = supportPolicy();
  const request = writeRequest(ticketDrafts(1)[0]);
  const decision = policy.decide(request);
  if (decision.effect !== 'allow') {
    throw new Error(`[custody-bench] the policy should allow the write, got ${decision.effect}`);
  }
  add(
    'policy',
    timeInRounds('policy.decide (5 rules, write)', () => policy.decide(request), rounds(5_000)),
    '3 conditions evaluated; decision cached per matched set',
  );
  const drafts = ticketDrafts(1_000);
  add(
    'zod',
    timeInRounds(
      'zod safeParse (tool input)',
      (i) => createTicketTool.input.safeParse(drafts[i % 1_000]),
      rounds(5_000),
    ),
    'strict input validation; the output is parsed too',
  );
  const tracer = trace.getTracer('@custody/bench');
  add(
    'noop-span',
    timeInRounds(
      'no-op span start + end',
      () => tracer.startSpan('execute_tool tickets.create').end(),
      rounds(5_000),
    ),
    'no SDK registered: one execute_tool span per call',
  );
  add(
    'call-id',
    timeInRounds('randomIds.next (call id)', () => randomIds.next('call'), rounds(5_000)),
    'one call id per call; salts and span ids share its pool',
  );

  const verify = timeInRounds('verifyLedger', () => verifyLedger(ledger), {
    rounds: 10,
    warmupRounds: 2,
    operationsPerRound: 1,
  });
  const check = verifyLedger(ledger);
  if (!check.ok) {
    throw new Error(`[custody-bench] the recorded ledger does not verify: ${check.problem.message}`);
  }
  add(
    'verify',
    perItem(verify, `verifyLedger (${ledger.length.toLocaleString('en-US')} events)`, ledger.length),
    'recomputes both hashes and every link',
    'event',
  );
  return { payloadBytes, figures };
}

/** An operation that seals onto the chain the previous call left, like a recorder does. */
function chained(seal: (head: ChainHead | undefined) => LedgerEvent): () => LedgerEvent {
  let head: ChainHead | undefined;
  return () => {
    const event = seal(head);
    head = { seq: event.seq, hash: event.hash };
    return event;
  };
}

function toDraft(event: LedgerEvent): EventDraft {
  const { stream, runId, traceId, spanId, ts, type, tenant, actor, payload } = event;
  return { stream, runId, traceId, spanId, ts, type, tenant, actor, payload };
}

/** A ledger written by real gated writes, about `events` long. */
async function recordLedger(events: number): Promise<LedgerEvent[]> {
  const { stores, run } = await startSupportSession(supportPolicy());
  const drafts = ticketDrafts(Math.ceil(events / 4));
  for (const draft of drafts) {
    if (stores.ledger.size >= events) break;
    await run.call(createTicketTool, draft);
  }
  await run.end({ outcome: 'succeeded' });
  return stores.ledger.all();
}

function perItem(timing: Timing, name: string, items: number): Timing {
  return {
    name,
    iterations: timing.iterations * items,
    medianUs: timing.medianUs / items,
    p99Us: timing.p99Us / items,
    meanUs: timing.meanUs / items,
    minUs: timing.minUs / items,
    maxUs: timing.maxUs / items,
  };
}

function writeRequest(input: unknown): PolicyRequest {
  const tool = createTicketTool;
  const scope = { tenant: 'acme' };
  return {
    tool: {
      name: tool.name,
      version: tool.version,
      connector: tool.connector,
      action: tool.action,
      effect: tool.effect,
      scopes: tool.scopes,
    },
    input,
    resource: { tenant: 'acme', customer: 'cus_0000' },
    run: {
      runId: 'run_bench',
      principal: { kind: 'agent', id: 'support-bot', tenant: 'acme', scopes: ['tickets:*'] },
      onBehalfOf: undefined,
      agent: { id: 'support-bot', version: '1.0.0', tools: ['tickets.*'] },
      scope,
      metadata: { queue: 'billing' },
    },
  };
}
