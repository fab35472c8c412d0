import {
  type AgentIdentity,
  type AnyTool,
  describeValue,
  invalidArgument,
  type PolicyRequest,
  type Principal,
  type ResourceScope,
  type Tool,
} from '@custody/core';
import type { z } from 'zod';

/** The tool a test request calls: a tool from `defineTool`, or just a `connector.action` name. */
export type RequestTool = AnyTool | string;

/** Options for {@link createPolicyRequest}. Everything but `tool` has a test default. */
export interface PolicyRequestOptions<T extends RequestTool = RequestTool> {
  tool: T;
  /** For a tool object: input before parsing (its schema parses it, as the runtime would). */
  input?: T extends Tool<infer I, infer _O> ? z.input<I> : unknown;
  /** Default `{ kind: 'user', id: 'test-user' }`. */
  principal?: Principal;
  onBehalfOf?: Principal;
  /** Default `{ id: 'test-agent', version: '1.0.0', tools: ['*'] }`. */
  agent?: AgentIdentity;
  /** Default `{ tenant: 'test-tenant' }`. */
  scope?: ResourceScope;
  /** Overlaid on the scope, after what the tool's `resource` function declares. */
  resource?: Partial<ResourceScope>;
  metadata?: Record<string, unknown>;
  /** Default `run-test`. */
  runId?: string;
  /** For a tool given by name: its effect class. Default `write`. */
  effect?: PolicyRequest['tool']['effect'];
}

/**
 * Builds the {@link PolicyRequest} the runtime would hand a policy, for testing policies without a
 * runtime. With a tool object the input is parsed by the tool's schema (an invalid input throws)
 * and the resource comes from the tool's `resource` function, as in a real call.
 *
 * @example
 * ```ts
 * import { createPolicyRequest } from '@custody/policy/testing';
 *
 * const request = createPolicyRequest({
 *   tool: refundTool,
 *   input: { chargeId: 'ch_1', amountCents: 12_000 },
 *   principal: { kind: 'user', id: 'ana', roles: ['support'] },
 * });
 * expect(policy.decide(request).effect).toBe('require_approval');
 * ```
 */
export function createPolicyRequest<T extends RequestTool>(options: PolicyRequestOptions<T>): PolicyRequest {
  const scope = options.scope ?? { tenant: 'test-tenant' };
  const target: unknown = options.tool;
  let tool: PolicyRequest['tool'];
  let input: unknown = options.input;
  let declared: Partial<ResourceScope> = {};
  if (typeof target === 'string') {
    const dot = target.indexOf('.');
    if (dot <= 0 || dot === target.length - 1) {
      throw invalidArgument(
        `createPolicyRequest() tool must be a tool or a "connector.action" name, got ${describeValue(target)}`,
      );
    }
    tool = {
      name: target,
      version: '1.0.0',
      connector: target.slice(0, dot),
      action: target.slice(dot + 1),
      effect: options.effect ?? 'write',
      scopes: [],
    };
  } else if (isTool(target)) {
    const parsed = target.input.safeParse(options.input);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (issue: z.core.$ZodIssue) => `${issue.path.map(String).join('.') || '(input)'}: ${issue.message}`,
      );
      throw invalidArgument(
        `createPolicyRequest() input for tool "${target.name}" is invalid: ${issues.join('; ')}`,
      );
    }
    input = parsed.data;
    declared = target.resource?.(input) ?? {};
    tool = {
      name: target.name,
      version: target.version,
      connector: target.connector,
      action: target.action,
      effect: target.effect,
      scopes: target.scopes,
    };
  } else {
    throw invalidArgument(
      `createPolicyRequest() tool must be a tool or a "connector.action" name, got ${describeValue(target)}`,
    );
  }
  return {
    tool,
    input,
    // As the runtime does: levels a tool leaves undefined inherit the run's scope.
    resource: { ...scope, ...definedOnly(declared), ...definedOnly(options.resource) },
    run: {
      runId: options.runId ?? 'run-test',
      principal: options.principal ?? { kind: 'user', id: 'test-user' },
      onBehalfOf: options.onBehalfOf,
      agent: options.agent ?? { id: 'test-agent', version: '1.0.0', tools: ['*'] },
      scope,
      metadata: options.metadata ?? {},
    },
  };
}

function isTool(value: unknown): value is AnyTool {
  if (typeof value !== 'object' || value === null) return false;
  const tool = value as Partial<AnyTool>;
  return (
    typeof tool.name === 'string' &&
    typeof tool.connector === 'string' &&
    typeof tool.input?.safeParse === 'function'
  );
}

function definedOnly(value: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value ?? {})) if (item !== undefined) out[key] = item;
  return out;
}
