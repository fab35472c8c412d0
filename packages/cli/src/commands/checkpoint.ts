import { CustodyError, createEd25519Signer, createLedger, type LedgerCheckpoint } from '@custody/core';
import { ANCHOR_HELP, type AnchorTarget, anchorForWriting, writeAnchor } from '../anchor-file.js';
import { checkKeyId, readPrivateKey } from '../checkpoint-keys.js';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { formatFields, plural } from '../format.js';
import { describeSource, withLedgerSource } from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags, requireFlag } from '../parse-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody checkpoint`. */
export const CHECKPOINT_HELP = `Usage: custody checkpoint <store> --key <private.pem> --key-id <keyId> [options]

Commits to the head of every stream, signs the commitment with the Ed25519 private key and stores
it beside the events. Later, custody verify --key proves nothing it covers was cut or rewritten:
run it on a schedule (e.g. hourly) from a host that holds the key but not write access to history.
A checkpoint stored beside the events cannot reveal the whole ledger being restored from an older
copy: with --anchor it is also written outside the ledger, and custody verify --anchor checks it.

Options:
  --key <private.pem>      the signing key (custody keygen writes one)
  --key-id <keyId>         its name, recorded in the signature; verifiers look the public key up by it
  --anchor <file|folder>   also write the signed checkpoint there, kept apart from the ledger (another
                           host, a write-once bucket): ${ANCHOR_HELP}
  --schema <name>          PostgreSQL schema holding the tables (default custody)
  --json                   print the stored checkpoint as JSON
  -h, --help               show this help

${STORE_HELP}.

Examples:
  custody checkpoint ./.custody/ledger.db --key ./keys/private.pem --key-id ledger-2026-11
  custody checkpoint ./.custody/ledger.db --key ./keys/private.pem --key-id ledger-2026-11 --anchor /mnt/worm/custody-anchor/`;

/** `custody checkpoint`: creates, signs and stores a checkpoint of the whole ledger. */
export async function checkpointCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    key: { type: 'string' },
    'key-id': { type: 'string' },
    anchor: { type: 'string' },
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
  if (values.anchor !== undefined && values.anchor.trim() === '') {
    throw new UsageError('--anchor needs a file or folder to write the checkpoint to');
  }
  const anchor = values.anchor === undefined ? undefined : anchorForWriting(values.anchor);
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
    const anchored = anchor ? anchorOrFail(anchor, checkpoint) : undefined;
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
        ...(anchored ? [['anchored', anchored] as const] : []),
      ]),
    );
    return ExitCode.ok;
  });
}

/** Writes the anchor; a failure says the checkpoint is stored in the ledger but not anchored. */
function anchorOrFail(anchor: AnchorTarget, checkpoint: LedgerCheckpoint): string {
  try {
    return writeAnchor(anchor, checkpoint);
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_STORE_ERROR',
      `the checkpoint was stored in the ledger but could not be written to --anchor ${anchor.label}: ${error instanceof Error ? error.message : String(error)}; fix the anchor and run custody checkpoint again`,
      { cause: error },
    );
  }
}
