import { type ApproverRequirement, describeValue, invalidArgument } from '@custody/core';

/**
 * Validates a rule's `approvers` (one requirement or a list) and returns a frozen list. Each role
 * may appear once: two entries for the same role are almost always a typo for a bigger count.
 */
export function validateApprovers(value: unknown, where: string): readonly ApproverRequirement[] {
  const fix = 'pass { role: "finance", count: 2 } or a list of such requirements';
  const list: unknown[] | undefined = Array.isArray(value) ? value : isRecord(value) ? [value] : undefined;
  if (!list || list.length === 0) {
    throw invalidArgument(
      `${where}: approvers must be a requirement or a non-empty list of them, got ${describeValue(value)}; ${fix}`,
    );
  }
  const seen = new Set<string>();
  const out: ApproverRequirement[] = [];
  list.forEach((entry, index) => {
    const at = Array.isArray(value) ? `approvers[${index}]` : 'approvers';
    if (!isRecord(entry))
      throw invalidArgument(`${where}: ${at} must be an object, got ${describeValue(entry)}; ${fix}`);
    for (const key of Object.keys(entry)) {
      if (key !== 'role' && key !== 'count') {
        throw invalidArgument(
          `${where}: ${at} has unknown option "${key}"; an approver requirement has only role and count`,
        );
      }
    }
    const { role, count } = entry;
    if (typeof role !== 'string' || role.trim() === '') {
      throw invalidArgument(
        `${where}: ${at}.role must be a non-empty string such as "finance", got ${describeValue(role)}`,
      );
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      throw invalidArgument(
        `${where}: ${at}.count must be a positive integer such as 2, got ${describeValue(count)}`,
      );
    }
    if (seen.has(role)) {
      throw invalidArgument(
        `${where}: role "${role}" appears twice in approvers; list each role once with the total count it needs`,
      );
    }
    seen.add(role);
    out.push(Object.freeze({ role, count }));
  });
  return Object.freeze(out);
}

/**
 * Merges the requirements of every approval rule that matched: one entry per role, with the
 * highest count asked for (two finance approvers also satisfy a rule asking for one).
 */
export function mergeApprovers(
  lists: readonly (readonly ApproverRequirement[])[],
): readonly ApproverRequirement[] {
  const byRole = new Map<string, number>();
  for (const list of lists) {
    for (const { role, count } of list) byRole.set(role, Math.max(count, byRole.get(role) ?? 0));
  }
  return Object.freeze([...byRole].map(([role, count]) => Object.freeze({ role, count })));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
