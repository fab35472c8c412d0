import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type GatedCallFigures, type GatedCallOptions, measureGatedCalls } from './gated-call.js';

/** The gated-call figures with an OpenTelemetry SDK recording every span. */
export interface SdkTelemetryFigures extends GatedCallFigures {
  /** Spans the SDK finished during the phase (warm-up included): proves it was live. */
  readonly spansRecorded: number;
}

/**
 * Measures gated calls with a real OpenTelemetry SDK registered: a `BasicTracerProvider` with
 * a simple span processor and an in-memory exporter (cleared every 1,000 spans so memory stays flat).
 * No context manager is registered, as with a bare SDK; Custody parents its spans explicitly.
 * Run it in its own process (see `sdk-telemetry-entry.ts`), so the global provider never leaks
 * into the other phases.
 */
export async function measureWithSdkTelemetry(options: GatedCallOptions): Promise<SdkTelemetryFigures> {
  const exporter = new InMemorySpanExporter();
  let spansRecorded = 0;
  // Runs after the simple processor has exported the span; keeps the exporter's buffer small.
  const counter: SpanProcessor = {
    onStart: () => {},
    onEnd: () => {
      spansRecorded++;
      if (spansRecorded % 1_000 === 0) exporter.reset();
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter), counter] });
  if (!trace.setGlobalTracerProvider(provider)) {
    throw new Error('[custody-bench] another OpenTelemetry tracer provider is already registered');
  }
  try {
    const figures = await measureGatedCalls(options);
    return { ...figures, spansRecorded };
  } finally {
    trace.disable();
    await provider.shutdown();
  }
}

/**
 * Runs {@link measureWithSdkTelemetry} in a child process (same node flags and loader as this one,
 * plus `--expose-gc`) and returns its figures, so registering the SDK globally cannot touch the
 * no-op phases, not even through the JIT's type feedback.
 */
export function measureWithSdkTelemetryInChild(options: GatedCallOptions): Promise<SdkTelemetryFigures> {
  const entry = fileURLToPath(new URL('./sdk-telemetry-entry.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = fork(entry, [JSON.stringify(options)], {
      execArgv: [...process.execArgv, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let figures: SdkTelemetryFigures | undefined;
    child.on('message', (message) => {
      figures = message as SdkTelemetryFigures;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (figures && code === 0) resolve(figures);
      else
        reject(
          new Error(
            `[custody-bench] the OpenTelemetry SDK phase (${entry}) exited with ${signal ?? `code ${code}`} before reporting its figures`,
          ),
        );
    });
  });
}
