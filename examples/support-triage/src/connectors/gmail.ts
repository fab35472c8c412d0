import { defineTool } from '@custody/core';
import { z } from 'zod';

interface Message {
  id: string;
  from: string;
  subject: string;
  body: string;
}

/** A Gmail stand-in kept in memory. */
export function createFakeGmail(inbox: Message[]) {
  const drafts: { id: string; to: string; subject: string; body: string }[] = [];
  const sent: { to: string; subject: string }[] = [];

  const read = defineTool({
    name: 'gmail.read',
    version: '1.0.0',
    effect: 'read',
    scopes: ['gmail:read'],
    description: 'Read one message from the support inbox.',
    input: z.object({ messageId: z.string() }),
    output: z.object({ id: z.string(), from: z.string(), subject: z.string(), body: z.string() }),
    execute: async ({ messageId }) => {
      const message = inbox.find((candidate) => candidate.id === messageId);
      if (!message) throw new Error(`no message ${messageId}`);
      return message;
    },
  });

  const draft = defineTool({
    name: 'gmail.draft',
    version: '1.0.0',
    effect: 'write',
    scopes: ['gmail:compose'],
    description: 'Save a reply as a draft for a human to review.',
    input: z.object({ to: z.email(), subject: z.string(), body: z.string().min(1) }),
    output: z.object({ draftId: z.string() }),
    execute: async (input) => {
      const id = `draft_${drafts.length + 1}`;
      drafts.push({ id, ...input });
      return { draftId: id };
    },
  });

  const send = defineTool({
    name: 'gmail.send',
    version: '1.0.0',
    effect: 'external_send',
    scopes: ['gmail:compose'],
    description: 'Send an email to a customer.',
    input: z.object({ to: z.email(), subject: z.string(), body: z.string().min(1) }),
    output: z.object({ messageId: z.string() }),
    execute: async (input) => {
      sent.push({ to: input.to, subject: input.subject });
      return { messageId: `sent_${sent.length}` };
    },
  });

  return { drafts, sent, tools: [read, draft, send] };
}
