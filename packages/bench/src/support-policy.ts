import { definePolicy, forbid, type Policy, permit, requireApproval } from '@custody/policy';
import { createTicketTool } from './ticket-tools.js';

/**
 * A realistic support-agent policy of five rules. Two have conditions on the write tool, one has
 * a condition on every tool, so a gated write evaluates three conditions, like a real policy
 * would, rather than taking the no-condition cached path.
 */
export function supportPolicy(): Policy {
  return definePolicy({ id: 'support-agent', version: '2026-01-01' }, [
    permit({
      id: 'tickets-read',
      tools: ['tickets.get', 'tickets.search'],
      reason: 'agents may read tickets',
    }),
    permit({
      id: 'tickets-create-standard',
      tools: [createTicketTool],
      params: { priorities: ['low', 'normal', 'high'] },
      when: ({ input, params }) => params.priorities.includes(input.priority),
      reason: 'agents may file tickets up to high priority',
    }),
    requireApproval({
      id: 'tickets-create-urgent',
      tools: [createTicketTool],
      when: ({ input }) => input.priority === 'urgent',
      approvers: { role: 'support-lead', count: 1 },
      reason: 'an urgent ticket pages the on-call lead; a person confirms it',
    }),
    forbid({
      id: 'no-foreign-tenant',
      tools: ['*'],
      when: ({ principal, resource }) =>
        principal.tenant !== undefined && principal.tenant !== resource.tenant,
      reason: 'a principal acts only inside its own tenant',
    }),
    forbid({
      id: 'no-deletes',
      tools: ['*.delete'],
      reason: 'agents never delete customer data',
    }),
  ]);
}
