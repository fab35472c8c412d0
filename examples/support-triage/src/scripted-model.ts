import type { ModelProvider, ModelResponse } from '@custody/core';

/**
 * A stand-in for a real model: answers each call with the next scripted response, so the example
 * runs offline and the same way every time. Asking for more than the script has is an error.
 */
export function createScriptedModel(
  script: readonly ModelResponse[],
): ModelProvider & { remaining(): number } {
  let next = 0;
  const provider: ModelProvider = async (request) => {
    const response = script[next];
    if (!response) {
      throw new Error(
        `scripted model ran out of responses after ${script.length} (asked with ${request.messages.length} messages)`,
      );
    }
    next++;
    return {
      model: 'scripted-1',
      usage: { inputTokens: 40 * request.messages.length, outputTokens: 25 },
      ...response,
    };
  };
  return Object.assign(provider, { remaining: () => script.length - next });
}

/** What the support model "decides" for the example's ticket. */
export const triageScript: readonly ModelResponse[] = [
  {
    toolCalls: [{ id: 'tc_1', name: 'gmail.read', input: { messageId: 'msg_1001' } }],
    finishReason: 'tool_calls',
  },
  {
    toolCalls: [
      {
        id: 'tc_2',
        name: 'jira.create_issue',
        input: {
          project: 'SUP',
          summary: 'Double charge and damaged item for Dana Reyes',
          priority: 'high',
          labels: ['billing'],
        },
      },
    ],
    finishReason: 'tool_calls',
  },
  {
    toolCalls: [
      {
        id: 'tc_3',
        name: 'gmail.draft',
        input: {
          to: 'dana@example.com',
          subject: 'Re: Charged twice and the lamp arrived broken',
          body: 'Hi Dana, sorry about this. We are refunding the duplicate charge today and arranging the lamp refund.',
        },
      },
    ],
    finishReason: 'tool_calls',
  },
  {
    toolCalls: [
      {
        id: 'tc_4',
        name: 'gmail.send',
        input: {
          to: 'dana@example.com',
          subject: 'Re: Charged twice and the lamp arrived broken',
          body: 'Refund on its way.',
        },
      },
    ],
    finishReason: 'tool_calls',
  },
  {
    toolCalls: [
      {
        id: 'tc_5',
        name: 'stripe.refund',
        input: { chargeId: 'ch_dup', amountCents: 2_499, reason: 'duplicate' },
      },
      {
        id: 'tc_6',
        name: 'stripe.refund',
        input: { chargeId: 'ch_lamp', amountCents: 18_900, reason: 'requested_by_customer' },
      },
    ],
    finishReason: 'tool_calls',
  },
  {
    text: 'Filed SUP-101, drafted a reply for a human to send, refunded the $24.99 duplicate, and asked finance to approve the $189.00 lamp refund.',
    finishReason: 'stop',
  },
];
