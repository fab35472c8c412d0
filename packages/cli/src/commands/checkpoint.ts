import { createEd25519Signer, createLedger } from '@custody/core';
import { checkKeyId, readPrivateKey } from '../checkpoint-keys.js';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { formatFields, plural } from '../format.js';
import { describeSource, withLedgerSource } from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags, requireFlag } from '../parse-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';

/** Help of `custody checkpoint`. */
export const CHECKPOINT_HELP = `Usage: custody checkpoint <store> --key <private.pem> --key-id <keyId> [options]

Commits to the head of every stream, signs the commitment with the Ed25519 private key and stores
it beside the events. Later, custody verify --key proves nothing it covers was cut or rewritten:
run it on a schedule (e.g. hourly) from a host that holds the key but not write access to history.

Options:
  --key <private.pem>  the signing key (custody keygen writes one)
  --key-id <keyId>     its name, recorded in the signature; verifiers look the public key up by it
  --schema <name>      PostgreSQL schema holding the tables (default custody)
  --json               print the stored checkpoint as JSON
  -h, --help           show this help

${STORE_HELP}.

Example:
  custody checkpoint ./.custody/ledger.db --key ./keys/private.pem --key-id ledger-2026-11`;

/** `custody checkpoint`: creates, signs and stores a checkpoint of the whole ledger. */
export async function checkpointCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    key: { type: 'string' },
    'key-id': { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg] = expectPositionals(positionals, ['store']);
  const keyPath = requireFlag(
    values.key,
    '--key <private.pem>',
    'the Ed25519 private key that signs (custody keygen makes one)',
  );
  const keyId = checkKeyId(
    requireFlag(values['key-id'], '--key-id <keyId>', 'the key id verifiers will use to find the public key'),
  )!;
  const target = parseStoreArg(storeArg, { schema: values.schema, writes: true });
  const privateKey = readPrivateKey(keyPath, (message) => writeLine(io.stderr, `warning: ${message}`));
  const signer = createEd25519Signer({ keyId, privateKey });

  return withLedgerSource(target, async (source) => {
    if (source.kind !== 'store') throw new Error('unreachable: checkpoint needs a store');
    if (!source.store.appendCheckpoint) {
      writeLine(io.stderr, `custody checkpoint: ${describeSource(target)} cannot keep checkpoints`);
      return ExitCode.failed;
    }
    const checkpoint = await createLedger({ store: source.store, signer }).checkpoint();
    if (values.json) {
      writeLine(io.stdout, JSON.stringify(checkpoint, null, 2));
      return ExitCode.ok;
    }
    writeLine(io.stdout, `custody checkpoint: stored in ${describeSource(target)}`);
    writeLine(
      io.stdout,
      formatFields([
        ['created', checkpoint.createdAt],
        [
          'covers',
          `${plural(checkpoint.count, 'event')} in ${plural(Object.keys(checkpoint.heads).length, 'stream')}`,
        ],
        ['root', checkpoint.root],
        ['signed', `${keyId} (ed25519)`],
      ]),
    );
    return ExitCode.ok;
  });
}
