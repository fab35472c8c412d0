import { runCli } from './run-cli.js';

// The `custody` binary: everything else lives in runCli, which tests call directly. Setting
// exitCode (not calling process.exit) lets piped output drain before the process ends.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
