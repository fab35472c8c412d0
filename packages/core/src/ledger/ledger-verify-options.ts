import type { LedgerCheckpoint } from './checkpoint.js';
import type { CheckpointKeys } from './checkpoint-signer.js';

/** Options of `createLedger().verify`. */
export interface LedgerVerifyOptions {
  /** Verify one run: its chain, and its head against every checkpoint. */
  runId?: string;
  /** Public keys trusted for checkpoint signatures (and operator records, without `operatorKeys`). */
  keys?: CheckpointKeys;
  /** Public keys trusted for operator records (`ledger.pruned`, `ledger.redacted`); defaults to `keys`. */
  operatorKeys?: CheckpointKeys;
  /**
   * Checkpoints kept outside the ledger (written with `custody checkpoint --anchor`), checked
   * besides the stored ones: a ledger restored from an older copy is behind them.
   */
  anchorCheckpoints?: readonly LedgerCheckpoint[];
  /** Fail (`UNCOVERED`) when some event is covered by no checkpoint. */
  requireCovered?: boolean;
}
