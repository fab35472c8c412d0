// Seed example: an email assistant may read mail and prepare drafts, but never send.
import { defineTool } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePolicy, forbid, permit } from '../src/index.js';
import { createPolicyRequest } from '../src/testing/index.js';

const message = z.object({ messageId: z.string() });
const draft = z.object({ to: z.array(z.email()).min(1), subject: z.string(), body: z.string() });

const read = defineTool({
  name: 'gmail.messages.read',
  version: '1.0.0',
  effect: 'read',
  input: message,
  output: z.object({ body: z.string() }),
  execute: () => ({ body: 'hello' }),
});
const createDraft = defineTool({
  name: 'gmail.drafts.create',
  version: '1.0.0',
  effect: 'write',
  input: draft,
  output: z.object({ draftId: z.string() }),
  execute: () => ({ draftId: 'd1' }),
});
const send = defineTool({
  name: 'gmail.messages.send',
  version: '1.0.0',
  effect: 'external_send',
  input: draft,
  output: z.object({ messageId: z.string() }),
  execute: () => ({ messageId: 'm1' }),
});
const sendDraft = defineTool({
  name: 'gmail.drafts.send',
  version: '1.0.0',
  effect: 'external_send',
  input: z.object({ draftId: z.string() }),
  output: z.object({ messageId: z.string() }),
  execute: () => ({ messageId: 'm1' }),
});

const policy = definePolicy(
  { id: 'email-assistant', version: '1', description: 'read and draft, never send' },
  [
    permit({
      id: 'gmail-read',
      tools: ['gmail.messages.read', 'gmail.messages.search'],
      reason: 'reading mail is triage',
    }),
    permit({ id: 'gmail-draft', tools: ['gmail.drafts.*'], reason: 'the assistant may prepare replies' }),
    forbid({
      id: 'gmail-no-send',
      tools: [send, sendDraft],
      reason: 'a person reviews and sends every email',
    }),
  ],
);

const to = ['ana@example.com'];

describe('seed example: Gmail', () => {
  it('allows reading mail', () => {
    expect(policy.decide(createPolicyRequest({ tool: read, input: { messageId: 'm1' } }))).toEqual({
      effect: 'allow',
      policy: policy.ref,
      ruleIds: ['gmail-read'],
      reasons: ['reading mail is triage'],
    });
  });

  it('allows drafting a reply', () => {
    const request = createPolicyRequest({
      tool: createDraft,
      input: { to, subject: 'Re: order', body: 'On its way' },
    });
    expect(policy.decide(request)).toMatchObject({ effect: 'allow', ruleIds: ['gmail-draft'] });
  });

  it('denies sending, directly or through a draft the draft rule would otherwise permit', () => {
    const direct = createPolicyRequest({ tool: send, input: { to, subject: 'Hi', body: 'Hello' } });
    expect(policy.decide(direct)).toEqual({
      effect: 'deny',
      policy: policy.ref,
      ruleIds: ['gmail-no-send'],
      reasons: ['a person reviews and sends every email'],
    });
    const viaDraft = createPolicyRequest({ tool: sendDraft, input: { draftId: 'd1' } });
    expect(policy.decide(viaDraft)).toMatchObject({ effect: 'deny', ruleIds: ['gmail-no-send'] });
  });

  it('denies any other Gmail tool by default', () => {
    expect(policy.decide(createPolicyRequest({ tool: 'gmail.messages.delete' }))).toMatchObject({
      effect: 'deny',
      ruleIds: [],
    });
  });
});
