import type { Tracer } from '@opentelemetry/api';
import type { Clock } from './clock.js';
import type { ModelProvider } from './doors.js';
import type { IdSource } from './ids.js';
import type { ResolvedInputLimits } from './input-limits.js';
import type { Redaction, Redactor } from './ledger/redaction-policy.js';
import type { ModeTable } from './mode.js';
import type { Pipeline } from './pipeline/pipeline.js';
import type { PolicyEngine } from './policy.js';
import type { RuntimeStores } from './stores/stores.js';
import type { AnyTool } from './tool.js';

/** What a Run needs from its runtime. Not exported from the package. */
export interface RuntimeInternals {
  readonly tools: ReadonlyMap<string, AnyTool>;
  readonly policy: PolicyEngine;
  readonly stores: RuntimeStores;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly tracer: Tracer;
  readonly modes: ModeTable;
  readonly model: ModelProvider | undefined;
  readonly approvalTtlMs: number;
  readonly idempotencyLeaseMs: number;
  readonly idempotencyTtlMs: number;
  /** Masks secrets before anything is stored; undefined when no redaction policy is set. */
  readonly redact: Redactor | undefined;
  /** The redaction policy at work (masking, keyed hashes, secrets for text); undefined without one. */
  readonly redaction: Redaction | undefined;
  readonly limits: ResolvedInputLimits;
  /** The gated pipeline every call runs: the built-in steps and the extensions' ones. */
  readonly pipeline: Pipeline;
  toolNames(): string;
  inputSchema(tool: AnyTool): unknown;
}
