import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkKeyId } from '../checkpoint-keys.js';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { expectPositionals, HELP_OPTION, parseFlags, requireFlag } from '../parse-flags.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody keygen`. */
export const KEYGEN_HELP = `Usage: custody keygen -o <dir> --key-id <keyId> [options]

Creates an Ed25519 key pair for signing checkpoints: <dir>/private.pem (mode 0600; keep it with
the signer, and nowhere else) and <dir>/public.pem (give it to whoever verifies).

Options:
  -o, --output <dir>   folder for the two files (created if missing)
  --key-id <keyId>     the name verifiers will know the key by, e.g. ledger-2026-11
  --force              overwrite existing private.pem / public.pem
  --json               print the paths and key id as JSON
  -h, --help           show this help

Example:
  custody keygen -o ./keys --key-id ledger-2026-11
  custody checkpoint ./.custody/ledger.db --key ./keys/private.pem --key-id ledger-2026-11
  custody verify ./.custody/ledger.db --key ledger-2026-11=./keys/public.pem`;

/** `custody keygen`: writes a new Ed25519 key pair as PEM files. */
export async function keygenCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    output: { type: 'string', short: 'o' },
    'key-id': { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  expectPositionals(positionals, []);
  const dir = requireFlag(values.output, '-o <dir>', 'the folder to write private.pem and public.pem to');
  const keyId = checkKeyId(
    requireFlag(
      values['key-id'],
      '--key-id <keyId>',
      'the name verifiers will know the key by, e.g. ledger-2026-11',
    ),
  )!;
  const folder = resolve(dir);
  if (existsSync(folder) && !statSync(folder).isDirectory()) {
    throw new UsageError(`-o ${dir} is a file; give a folder for private.pem and public.pem`);
  }
  const privatePath = join(folder, 'private.pem');
  const publicPath = join(folder, 'public.pem');
  if (!values.force) {
    for (const path of [privatePath, publicPath]) {
      if (existsSync(path)) {
        throw new UsageError(
          `${path} already exists; pass --force to replace it (checkpoints signed with the old key then need the old public.pem to verify)`,
        );
      }
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  // Written 0600 from the start (no window where it is readable), and again in case umask or an old file widened it.
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(privatePath, 0o600);
  writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });

  if (values.json) {
    writeLine(
      io.stdout,
      JSON.stringify(
        { keyId, algorithm: 'ed25519', privateKey: privatePath, publicKey: publicPath },
        null,
        2,
      ),
    );
    return ExitCode.ok;
  }
  writeLine(io.stdout, `Ed25519 key pair "${keyId}":`);
  writeLine(io.stdout, `  private  ${privatePath}  (0600: keep it with the signer only)`);
  writeLine(io.stdout, `  public   ${publicPath}  (give it to verifiers)`);
  writeLine(io.stdout, 'Next:');
  writeLine(io.stdout, `  custody checkpoint <store> --key ${privatePath} --key-id ${keyId}`);
  writeLine(io.stdout, `  custody verify <store> --key ${keyId}=${publicPath}`);
  return ExitCode.ok;
}
