export type { CliCommand, CliIo, CliOutput } from './cli-io.js';
export { ExitCode } from './cli-io.js';
export { CLI_HELP, runCli } from './run-cli.js';
export type { TimelineEntry } from './timeline.js';
export { describeEvent, renderTimeline } from './timeline.js';
