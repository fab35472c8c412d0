import { CustodyError, defineTool } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPolicyRequest } from './create-policy-request.js';

const refund = defineTool({
  name: 'stripe.refund',
  version: '1.2.0',
  effect: 'write',
  scopes: ['stripe:refunds:write'],
  input: z.object({ customerId: z.string(), amountCents: z.coerce.number().int().positive() }),
  output: z.object({ refundId: z.string() }),
  resource: (input) => ({ customer: input.customerId }),
  execute: () => ({ refundId: 're_1' }),
});

describe('createPolicyRequest', () => {
  it('builds the request the runtime would: parsed input, tool facts, resource from the tool', () => {
    const request = createPolicyRequest({
      tool: refund,
      input: { customerId: 'cus_1', amountCents: '250' },
      scope: { tenant: 'acme' },
    });
    expect(request).toEqual({
      tool: {
        name: 'stripe.refund',
        version: '1.2.0',
        connector: 'stripe',
        action: 'refund',
        effect: 'write',
        scopes: ['stripe:refunds:write'],
      },
      input: { customerId: 'cus_1', amountCents: 250 },
      resource: { tenant: 'acme', customer: 'cus_1' },
      run: {
        runId: 'run-test',
        principal: { kind: 'user', id: 'test-user' },
        onBehalfOf: undefined,
        agent: { id: 'test-agent', version: '1.0.0', tools: ['*'] },
        scope: { tenant: 'acme' },
        metadata: {},
      },
    });
  });

  it('accepts a bare tool name', () => {
    const request = createPolicyRequest({ tool: 'jira.issues.create', input: { a: 1 }, effect: 'read' });
    expect(request.tool).toEqual({
      name: 'jira.issues.create',
      version: '1.0.0',
      connector: 'jira',
      action: 'issues.create',
      effect: 'read',
      scopes: [],
    });
    expect(request.input).toEqual({ a: 1 });
  });

  it('rejects invalid input and bad tools clearly', () => {
    const message = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return CustodyError.isInstance(error) ? error.message : String(error);
      }
      return 'nothing thrown';
    };
    expect(
      message(() => createPolicyRequest({ tool: refund, input: { customerId: 'c', amountCents: -1 } })),
    ).toContain('createPolicyRequest() input for tool "stripe.refund" is invalid: amountCents:');
    expect(message(() => createPolicyRequest({ tool: 'nodot' }))).toContain(
      'tool must be a tool or a "connector.action" name, got "nodot"',
    );
    expect(message(() => createPolicyRequest({ tool: 5 as never }))).toContain('got 5');
  });
});
