import { CustodyError } from './errors.js';
import { deepFreeze, frozenFromJson } from './frozen-snapshot.js';
import { findInputSizeProblem, type ResolvedInputLimits } from './input-limits.js';
import { canonicalize } from './ledger/canonical-json.js';
import type { Redaction } from './ledger/redaction-policy.js';

/**
 * A call's input after validation, in every form the pipeline needs. All of them come from one
 * canonical encoding taken as soon as the input was validated, so the value the policy checks,
 * the value the tool receives and the value the ledger records are the same bytes, whatever the
 * caller does with its own object afterwards.
 */
export interface CallInput {
  /** Deep-frozen, parsed from the canonical JSON: what every step and every app function sees. */
  readonly value: unknown;
  /** The canonical JSON of `value`. */
  readonly json: string;
  /** What is stored (events, approval requests): `value` with secrets masked; frozen. */
  readonly recorded: unknown;
  readonly recordedJson: string;
  /**
   * What idempotency fingerprints and approval digests cover: `value` with each masked value
   * replaced by a keyed hash, so calls differing only in a secret stay apart.
   */
  readonly bound: unknown;
  readonly boundJson: string;
}

/**
 * Takes the snapshot of a validated input. Throws a `CustodyError` with code
 * `CUSTODY_CANONICAL_INVALID` (not representable as JSON) or `CUSTODY_INPUT_INVALID` (over
 * `limits.maxInputBytes`).
 */
export function snapshotCallInput(
  validated: unknown,
  options: { redaction: Redaction | undefined; limits: ResolvedInputLimits },
): CallInput {
  const json = canonicalize(validated);
  const tooLarge = findInputSizeProblem(json, options.limits);
  if (tooLarge) throw new CustodyError('CUSTODY_INPUT_INVALID', tooLarge.message);
  const value = frozenFromJson(json);
  const redaction = options.redaction;
  if (!redaction) return { value, json, recorded: value, recordedJson: json, bound: value, boundJson: json };
  const recorded = deepFreeze(redaction.mask(value));
  const bound = deepFreeze(redaction.keyed(value));
  return {
    value,
    json,
    recorded,
    recordedJson: canonicalize(recorded),
    bound,
    boundJson: canonicalize(bound),
  };
}
