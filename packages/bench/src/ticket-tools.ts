import { defineTool } from '@custody/core';
import { z } from 'zod';

/** Input of the write tool: what a support agent files. */
export interface TicketDraft {
  readonly customerId: string;
  readonly title: string;
  readonly priority: 'low' | 'normal' | 'high' | 'urgent';
  readonly tags: readonly string[];
}

/** The draft's schema, shared by the Custody tool and the AI SDK tool so both validate the same way. */
export const ticketDraftSchema = z.object({
  customerId: z.string().min(1),
  title: z.string().min(1).max(200),
  priority: z.enum(['low', 'normal', 'high', 'urgent']),
  tags: z.array(z.string()).max(10),
});

let nextTicket = 0;

/**
 * The app's own function, as it exists before Custody: trivially async, no I/O, so every
 * microsecond a gate adds shows. The baseline awaits it directly.
 */
export async function createTicket(draft: TicketDraft): Promise<{ ticketId: string }> {
  nextTicket++;
  return { ticketId: `T-${nextTicket}-${draft.customerId}` };
}

/** The read counterpart: looks a ticket up. */
export async function getTicket(query: { ticketId: string }): Promise<{ ticketId: string; status: string }> {
  return { ticketId: query.ticketId, status: 'open' };
}

/** `tickets.create`: a write, so every call claims an idempotency key. */
export const createTicketTool = defineTool({
  name: 'tickets.create',
  version: '1.0.0',
  effect: 'write',
  scopes: ['tickets:write'],
  description: 'Files a support ticket for a customer.',
  input: ticketDraftSchema,
  output: z.object({ ticketId: z.string() }),
  resource: (input) => ({ customer: input.customerId }),
  execute: (input) => createTicket(input),
});

/** `tickets.get`: a read, so no idempotency key is claimed. */
export const getTicketTool = defineTool({
  name: 'tickets.get',
  version: '1.0.0',
  effect: 'read',
  scopes: ['tickets:read'],
  description: 'Reads a support ticket.',
  input: z.object({ ticketId: z.string().min(1) }),
  output: z.object({ ticketId: z.string(), status: z.string() }),
  execute: (input) => getTicket(input),
});

/**
 * The `index`-th draft; distinct for every index, so no gated write is ever an idempotency hit
 * (the key is derived from the canonical input).
 */
export function ticketDraft(index: number): TicketDraft {
  const priorities = ['low', 'normal', 'high'] as const;
  return {
    customerId: `cus_${(index % 97).toString().padStart(4, '0')}`,
    title: `Refund not received for order #${100_000 + index}`,
    priority: priorities[index % priorities.length]!,
    tags: ['billing', 'refund'],
  };
}

/** Distinct drafts, one per call (see {@link ticketDraft}). */
export function ticketDrafts(count: number): TicketDraft[] {
  return Array.from({ length: count }, (_, i) => ticketDraft(i));
}

/** Distinct lookups, one per call. */
export function ticketQueries(count: number): { ticketId: string }[] {
  return Array.from({ length: count }, (_, i) => ({ ticketId: `T-${i}` }));
}
