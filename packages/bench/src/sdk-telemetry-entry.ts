// Child-process entry of the OpenTelemetry SDK phase: measures, sends the figures to the parent, exits.
import type { GatedCallOptions } from './gated-call.js';
import { measureWithSdkTelemetry } from './sdk-telemetry.js';

const options = JSON.parse(process.argv[2] ?? '{}') as GatedCallOptions;
const figures = await measureWithSdkTelemetry(options);
process.send?.(figures, () => process.disconnect());
