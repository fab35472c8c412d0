import { CustodyError } from '@custody/core';
import { z } from 'zod';

const toolPattern = z
  .string()
  .min(1, 'must name a tool, or a pattern like "gmail.*"')
  .describe('A tool name, or a pattern where * matches any run of characters (gmail.*).');
const description = z.string().optional().describe('Why this assertion holds, shown when it fails.');

/**
 * The governance assertions an expect file can make, as zod schemas. Every one is checked against
 * the calls the replay answered. A call "went through" when its result is `ok` (including an
 * idempotency hit: the action happened) or `failed` after the tool ran (`executed: true`); a denied,
 * invalid or pending call, or one that failed before running, did not.
 */
export const evalAssertionSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('never_called'),
    tool: toolPattern,
    description,
  }),
  z.strictObject({
    kind: z.literal('max_calls'),
    tool: toolPattern,
    count: z.number().int().nonnegative(),
    description,
  }),
  z.strictObject({
    kind: z.literal('requires_approval_above'),
    tool: toolPattern,
    /** A key of the input, or a dotted path (`refund.amountCents`). */
    field: z.string().min(1),
    threshold: z.number(),
    /** Approvals needed in total (summed over the requirements, or over `role`'s only). */
    approvers: z.number().int().positive(),
    role: z.string().min(1).optional(),
    description,
  }),
  z.strictObject({
    kind: z.literal('decision'),
    tool: toolPattern,
    effect: z.enum(['allow', 'deny', 'require_approval']),
    description,
  }),
]);

/** The kinds of {@link EvalAssertion}. */
export const EVAL_ASSERTION_KINDS = [
  'never_called',
  'max_calls',
  'requires_approval_above',
  'decision',
] as const;

/**
 * What an expect file (`<name>.expect.json`, beside `<name>.bundle.json`) says about its case:
 * the outcome the recorded run must have ended with, and governance assertions about the calls.
 */
export const evalExpectationSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().optional(),
  outcome: z.enum(['succeeded', 'failed', 'abandoned', 'rolled_back']).optional(),
  assertions: z.array(evalAssertionSchema).default([]),
});

/**
 * One governance assertion of an expect file:
 *
 * - `never_called`: no call of `tool` went through.
 * - `max_calls`: at most `count` calls of `tool` went through.
 * - `requires_approval_above`: every call of `tool` whose `input[field]` is a number above
 *   `threshold` was held for approval by at least `approvers` approvers in total (of `role`, when
 *   given), or was denied, or was rejected as invalid; none went through.
 * - `decision`: every call of `tool` that reached the policy got `effect` (vacuously true when
 *   there is none).
 */
export type EvalAssertion = z.infer<typeof evalAssertionSchema>;

/** A case's expect file, parsed. */
export type EvalExpectation = z.infer<typeof evalExpectationSchema>;

/**
 * Checks an expect file's content (an object or its JSON text) and returns it parsed. The error
 * names the file, the place and what is wrong.
 *
 * @example
 * ```ts
 * const expectation = parseEvalExpectation(
 *   { outcome: 'succeeded', assertions: [{ kind: 'never_called', tool: 'gmail.send' }] },
 *   'refund.expect.json',
 * );
 * ```
 */
export function parseEvalExpectation(input: unknown, source = 'expectation'): EvalExpectation {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `${source} is not JSON: ${(error as Error).message}`,
        {
          details: { source },
        },
      );
    }
  }
  const parsed = evalExpectationSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path
    .map((key, index) =>
      typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`,
    )
    .join('');
  const kind = kindAt(value, issue.path);
  const message =
    issue.code === 'invalid_union' || issue.path.at(-1) === 'kind'
      ? `kind must be one of ${EVAL_ASSERTION_KINDS.join(', ')}, got ${JSON.stringify(kind)}`
      : issue.message;
  throw new CustodyError(
    'CUSTODY_INVALID_ARGUMENT',
    `${source} is invalid at ${path || 'the top level'}: ${message}`,
    {
      details: {
        source,
        issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      },
    },
  );
}

/** The `kind` of the assertion an issue path points into, if any. */
function kindAt(value: unknown, path: readonly PropertyKey[]): unknown {
  if (path[0] !== 'assertions' || typeof path[1] !== 'number') return undefined;
  const assertions = (value as { assertions?: unknown } | null)?.assertions;
  if (!Array.isArray(assertions)) return undefined;
  return (assertions[path[1]] as { kind?: unknown } | null)?.kind;
}
