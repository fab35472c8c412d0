import { toJSONSchema, type z } from 'zod';
import { describeValue, invalidArgument } from './errors.js';
import { canonicalize } from './ledger/canonical-json.js';
import { sha256Hex } from './ledger/hash.js';
import type { Principal, ResourceScope } from './principal.js';

/**
 * What a tool does to the world. Declared by the app and trusted: it decides what safe mode lets
 * through (`read_only` lets only `read` run) and whether a call needs an idempotency key.
 */
export type EffectClass = 'read' | 'write' | 'destructive' | 'external_send';

/** Every effect class, in order of increasing risk. */
export const EFFECT_CLASSES: readonly EffectClass[] = ['read', 'write', 'external_send', 'destructive'];

/** What a tool function receives besides its validated input. */
export interface ToolContext {
  /** Aborted when the caller gives up; pass it on to the client you call. */
  readonly signal: AbortSignal;
  /**
   * The call's idempotency key. Pass it through to providers that accept one (Stripe's
   * `Idempotency-Key`), so a call that succeeded before a crash is not repeated there either.
   */
  readonly idempotencyKey: string | undefined;
  readonly callId: string;
  readonly runId: string;
  readonly principal: Principal;
  readonly scope: ResourceScope;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

/** What `verify` returns: a boolean, or a result with details to record. */
export type VerifyOutcome = boolean | { ok: boolean; details?: unknown };

/** The declaration passed to {@link defineTool}. */
export interface ToolSpec<I extends z.ZodType, O extends z.ZodType> {
  /** `connector.action`, e.g. `stripe.refund`. */
  name: string;
  /** Version of the tool's contract; recorded with every call and in action digests. */
  version: string;
  effect: EffectClass;
  /** Scopes the acting principal must hold, e.g. `['stripe:refunds:write']`. */
  scopes?: readonly string[];
  description?: string;
  /** Input schema. A top-level object schema is made strict: unknown keys are rejected. */
  input: I;
  output: O;
  /**
   * The resource a call touches, read from its input. A call whose resource lies outside the
   * run's scope is denied before the policy is consulted.
   */
  resource?: (input: z.output<I>) => Partial<ResourceScope>;
  /** The function the app already has. */
  execute: (input: z.output<I>, context: ToolContext) => Promise<z.input<O>> | z.input<O>;
  /** Reads back after a write and says whether the world now matches the output. */
  verify?: (call: {
    input: z.output<I>;
    output: z.output<O>;
    context: ToolContext;
  }) => Promise<VerifyOutcome> | VerifyOutcome;
  /** Undoes a completed call (used on a verification mismatch and by rollback). */
  compensate?: (call: {
    input: z.output<I>;
    output: z.output<O>;
    context: ToolContext;
  }) => Promise<void> | void;
}

/** A tool as the runtime holds it. Build one with {@link defineTool}. */
export interface Tool<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType>
  extends ToolSpec<I, O> {
  readonly scopes: readonly string[];
  /** The part of the name before the first dot (`stripe`). */
  readonly connector: string;
  /** The part after it (`refund`). */
  readonly action: string;
}

/** Any tool, whatever its schemas. */
// biome-ignore lint/suspicious/noExplicitAny: tools of every input and output type share one catalog
export type AnyTool = Tool<any, any>;

/** How a run records a tool: its contract, with hashes of its JSON Schemas. */
export interface ToolCatalogEntry {
  readonly name: string;
  readonly version: string;
  readonly effect: EffectClass;
  readonly scopes: readonly string[];
  /** SHA-256 of the canonical JSON Schema of the input. */
  readonly inputSchemaHash: string;
  readonly outputSchemaHash: string;
}

/** The catalog entry of a tool (schema hashes over zod's JSON Schema rendering). */
export function toolCatalogEntry(tool: AnyTool): ToolCatalogEntry {
  return {
    name: tool.name,
    version: tool.version,
    effect: tool.effect,
    scopes: [...tool.scopes],
    inputSchemaHash: schemaHash(tool.input),
    outputSchemaHash: schemaHash(tool.output),
  };
}

function schemaHash(schema: z.ZodType): string {
  return sha256Hex(canonicalize(toJSONSchema(schema, { unrepresentable: 'any', io: 'input' })));
}

const TOOL_NAME = /^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_.-]*$/i;

function isSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && typeof (value as z.ZodType).safeParse === 'function';
}

/** Makes a top-level zod object reject unknown keys unless it already says what to do with them. */
function strictInput<I extends z.ZodType>(schema: I): I {
  const candidate = schema as unknown as { def?: { type?: string; catchall?: unknown }; strict?: () => I };
  if (
    candidate.def?.type === 'object' &&
    candidate.def.catchall === undefined &&
    typeof candidate.strict === 'function'
  ) {
    return candidate.strict();
  }
  return schema;
}

/**
 * Declares a tool: wraps a function the app already has with its contract. Validates the
 * declaration at once, so a typo fails at startup rather than on the first call.
 *
 * @example
 * ```ts
 * const refund = defineTool({
 *   name: 'stripe.refund',
 *   version: '1.0.0',
 *   effect: 'write',
 *   scopes: ['stripe:refunds:write'],
 *   input: z.object({ chargeId: z.string(), amountCents: z.number().int().positive() }),
 *   output: z.object({ refundId: z.string() }),
 *   execute: async (input, { idempotencyKey }) => stripe.refunds.create(input, { idempotencyKey }),
 * });
 * ```
 */
export function defineTool<I extends z.ZodType, O extends z.ZodType>(spec: ToolSpec<I, O>): Tool<I, O> {
  if (typeof spec !== 'object' || spec === null)
    throw invalidArgument(`defineTool expects an object, got ${describeValue(spec)}`);
  const { name, version, effect } = spec;
  if (typeof name !== 'string' || !TOOL_NAME.test(name)) {
    throw invalidArgument(
      `tool name must look like "connector.action" (letters, digits, "_", "-", "."), got ${describeValue(name)}`,
    );
  }
  if (typeof version !== 'string' || version.trim() === '') {
    throw invalidArgument(
      `tool "${name}" needs a version string such as "1.0.0", got ${describeValue(version)}`,
    );
  }
  if (!EFFECT_CLASSES.includes(effect)) {
    throw invalidArgument(
      `tool "${name}" effect must be one of ${EFFECT_CLASSES.join(', ')}, got ${describeValue(effect)}`,
    );
  }
  if (!isSchema(spec.input))
    throw invalidArgument(`tool "${name}" input must be a zod schema, got ${describeValue(spec.input)}`);
  if (!isSchema(spec.output)) {
    throw invalidArgument(`tool "${name}" output must be a zod schema, got ${describeValue(spec.output)}`);
  }
  if (typeof spec.execute !== 'function') {
    throw invalidArgument(`tool "${name}" needs an execute function, got ${describeValue(spec.execute)}`);
  }
  for (const key of ['verify', 'compensate', 'resource'] as const) {
    if (spec[key] !== undefined && typeof spec[key] !== 'function') {
      throw invalidArgument(
        `tool "${name}" ${key} must be a function when given, got ${describeValue(spec[key])}`,
      );
    }
  }
  const scopes = spec.scopes ?? [];
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string' || scope === '')) {
    throw invalidArgument(
      `tool "${name}" scopes must be an array of non-empty strings, got ${describeValue(scopes)}`,
    );
  }
  const dot = name.indexOf('.');
  return Object.freeze({
    ...spec,
    input: strictInput(spec.input),
    scopes: Object.freeze([...scopes]),
    connector: name.slice(0, dot),
    action: name.slice(dot + 1),
  });
}
