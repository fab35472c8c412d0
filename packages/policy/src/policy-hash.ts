import { canonicalize, sha256Hex } from '@custody/core/ledger';
import type { PolicyRule } from './rule.js';

/** Version of the canonical description below; bump it if the description's shape changes. */
const HASH_FORMAT = 'custody.policy.v1';

/**
 * SHA-256 over the RFC 8785 canonical JSON of everything that decides: the policy id and version,
 * and for every rule, in order, its id, effect, tool patterns, approvers, reason, params and the
 * source text of its condition. Editing any of them changes the hash; the description does not
 * decide anything and is left out.
 *
 * The condition's source is `fn.toString()` of the function as it runs, so values it captures
 * from surrounding code (and helpers it calls) are not covered: pass those as `params`.
 */
export function computePolicyHash(id: string, version: string, rules: readonly PolicyRule[]): string {
  return sha256Hex(
    canonicalize({
      format: HASH_FORMAT,
      id,
      version,
      rules: rules.map((rule) => ({
        id: rule.id,
        effect: rule.effect,
        tools: rule.tools,
        approvers: rule.approvers?.map(({ role, count }) => ({ role, count })),
        reason: rule.reason,
        params: rule.params,
        when: rule.when?.toString(),
      })),
    }),
  );
}
