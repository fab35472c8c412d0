import type { CallResult, Run } from '@custody/core';

/** A support ticket as the agent receives it. */
export interface Ticket {
  readonly messageId: string;
  readonly subject: string;
}

/** What the agent did, for the caller. */
export interface TriageOutcome {
  readonly summary: string;
  readonly calls: readonly { readonly tool: string; readonly result: CallResult }[];
}

const SYSTEM_PROMPT =
  'You are a support agent. Read the ticket, file an issue, draft a reply, and refund what is owed. ' +
  'If a tool is denied or needs approval, do not retry it; say so in your summary.';

/** How a call's outcome is handed back to the model: short, and explicit about refusals. */
function toolMessage(result: CallResult): string {
  switch (result.status) {
    case 'ok':
      return JSON.stringify(result.output);
    case 'denied':
      return `DENIED: ${result.reason}`;
    case 'invalid':
      return `INVALID INPUT: ${result.message}`;
    case 'pending_approval':
      return `PENDING APPROVAL ${result.approval.id}: needs ${result.approval.approvers.map((a) => `${a.count} ${a.role}`).join(' and ')}`;
    case 'failed':
      return `FAILED: ${result.message}`;
  }
}

/**
 * The app's own agent loop, unchanged by Custody except that every model call, retrieval and
 * tool call goes through `run`: the loop asks the model, runs the tools it asks for, and hands
 * each outcome (including refusals) back, until the model answers in text.
 */
export async function triageAgent(
  run: Run,
  ticket: Ticket,
  options: { maxSteps?: number } = {},
): Promise<TriageOutcome> {
  const calls: { tool: string; result: CallResult }[] = [];
  const knowledge = await run.retrieve('support-kb', ticket.subject, async () => [
    {
      id: 'kb/refunds',
      version: '12',
      content: 'Refund duplicate charges at once. Refunds over $50 need finance approval.',
    },
    { id: 'kb/tone', version: '3', content: 'Apologise once, state the fix, give a date.' },
  ]);
  const messages: unknown[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'system', content: knowledge.map((doc) => `[${doc.id}] ${doc.content}`).join('\n') },
    { role: 'user', content: `New ticket ${ticket.messageId}: ${ticket.subject}` },
  ];
  const tools = run
    .tools()
    .map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema }));
  for (let step = 0; step < (options.maxSteps ?? 10); step++) {
    const reply = await run.model('triage', {
      model: 'scripted-1',
      provider: 'scripted',
      messages,
      tools,
      params: { temperature: 0 },
      promptTemplate: { id: 'support-triage', version: '4' },
    });
    if (!reply.toolCalls?.length) return { summary: reply.text ?? '', calls };
    messages.push({ role: 'assistant', toolCalls: reply.toolCalls });
    for (const call of reply.toolCalls) {
      const result = await run.call(call.name, call.input);
      calls.push({ tool: call.name, result });
      messages.push({ role: 'tool', toolCallId: call.id, content: toolMessage(result) });
    }
  }
  return { summary: 'stopped: too many steps', calls };
}
