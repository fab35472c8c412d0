import fc from 'fast-check';
import { canonicalize as reference } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { attemptJson, decidedJson, okResultJson, requestedJson } from './call-payloads.js';
import { canonicalize } from './ledger/canonical-json.js';
import type { PolicyDecision } from './policy.js';

// Texts as an app or a model may send them, weird ones included (quotes, controls, astral).
const text = fc.string({ unit: 'binary' }).filter((value) => value.isWellFormed());
const json = fc.jsonValue({ maxDepth: 3 });

describe('call payload encoders', () => {
  it('tool.requested is the canonical JSON of its payload, with and without a key', () => {
    fc.assert(
      fc.property(
        text,
        fc.constantFrom('read', 'write', 'destructive', 'external_send'),
        fc.option(text, { nil: undefined }),
        json,
        text,
        text,
        (callId, effect, idempotencyKey, input, tool, version) => {
          const payload = { callId, tool, version, effect, input, idempotencyKey };
          const encoded = requestedJson(
            JSON.stringify(callId),
            effect,
            idempotencyKey,
            canonicalize(input),
            JSON.stringify(tool),
            version,
          );
          expect(encoded).toBe(reference(JSON.parse(JSON.stringify(payload))));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('policy.decided is the canonical JSON of its payload, and a frozen decision is reused', () => {
    const decisions = fc.record(
      {
        effect: fc.constantFrom('allow', 'deny', 'require_approval'),
        policy: fc.record({ id: text, version: text, hash: text }),
        ruleIds: fc.array(text),
        reasons: fc.array(text),
        approvers: fc.record({ role: text, count: fc.nat() }),
        errors: fc.array(fc.record({ ruleId: text, message: text })),
      },
      { requiredKeys: ['effect', 'policy', 'ruleIds', 'reasons'] },
    );
    fc.assert(
      fc.property(text, text, decisions, json, fc.boolean(), (callId, tool, decision, resource, frozen) => {
        const used = (frozen ? Object.freeze(decision) : decision) as PolicyDecision;
        const payload = { callId, tool, ...decision, resource };
        for (let twice = 0; twice < 2; twice++) {
          const encoded = decidedJson(
            JSON.stringify(callId),
            JSON.stringify(tool),
            used,
            canonicalize(resource),
          );
          expect(encoded).toBe(reference(payload));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('tool.attempt and an ok tool.result are the canonical JSON of their payloads', () => {
    fc.assert(
      fc.property(
        text,
        text,
        fc.nat(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        json,
        (callId, tool, attempt, durationMs, output) => {
          expect(attemptJson(JSON.stringify(callId), JSON.stringify(tool), attempt)).toBe(
            reference({ callId, tool, attempt }),
          );
          expect(
            okResultJson(JSON.stringify(callId), JSON.stringify(tool), durationMs, canonicalize(output)),
          ).toBe(reference({ callId, tool, status: 'ok', output, durationMs }));
        },
      ),
      { numRuns: 500 },
    );
  });
});
