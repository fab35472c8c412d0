import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './usage-error.js';

/** A public key given with `--key`, its id known (`id=path`) or still to find (a bare path). */
export interface TrustedKeyFlag {
  readonly keyId: string | undefined;
  readonly path: string;
  readonly key: KeyObject;
}

const KEY_ID = /^[^\s=]+$/;

/** Checks a key id: non-empty, without spaces or `=` (which separates it from the path in `--key id=path`). */
export function checkKeyId(keyId: string | undefined, flag = '--key-id'): string | undefined {
  if (keyId === undefined) return undefined;
  if (!KEY_ID.test(keyId)) {
    throw new UsageError(
      `${flag} must be a key id without spaces or "=" (e.g. ledger-2026-11), got ${JSON.stringify(keyId)}`,
    );
  }
  return keyId;
}

/**
 * Reads each `--key` of verify (or, with `flag`, each `--operator-key`): `<keyId>=<public.pem>`,
 * or a bare path whose key id comes from `--key-id` (or later from what was signed). A value that
 * names an existing file is a path even if it contains `=`. Every file is read and checked to be
 * an Ed25519 key now, before anything is opened; a private key is accepted (its public half is
 * used) with a warning.
 */
export function readTrustedKeys(
  values: readonly string[],
  keyIdFlag: string | undefined,
  warn: (message: string) => void,
  flag = '--key',
): TrustedKeyFlag[] {
  checkKeyId(keyIdFlag);
  const keys = values.map((value) => {
    const split = value.indexOf('=');
    const bare = split <= 0 || fileExists(value);
    const keyId = bare ? undefined : checkKeyId(value.slice(0, split), `${flag} <keyId>=<pub.pem>`);
    const path = bare ? value : value.slice(split + 1);
    if (path === '') throw new UsageError(`${flag} ${value} names no file: use ${flag} <keyId>=<public.pem>`);
    return { keyId, path, key: readPublicKey(path, warn, flag) };
  });
  const bare = keys.filter((key) => key.keyId === undefined);
  if (bare.length > 1) {
    throw new UsageError(
      `${bare.length} ${flag} values are bare paths; name each key: ${flag} <keyId>=<public.pem>`,
    );
  }
  if (keyIdFlag !== undefined) {
    if (bare.length === 0) {
      throw new UsageError('--key-id names the key of a bare --key <public.pem>, and none was given');
    }
    return keys.map((key) => (key.keyId === undefined ? { ...key, keyId: keyIdFlag } : key));
  }
  return keys;
}

/**
 * Gives a bare `--key` path the key id of the checkpoints (or, with `signed` and `flag`, of the
 * operator records) when they were all signed with one key. With nothing signed any id will do:
 * verification then reports the missing signature.
 */
export function resolveKeyIds(
  keys: readonly TrustedKeyFlag[],
  signedKeyIds: readonly string[],
  signed = 'checkpoints',
  flag = '--key',
): Record<string, KeyObject> {
  const trusted: Record<string, KeyObject> = {};
  for (const key of keys) {
    let keyId = key.keyId;
    if (keyId === undefined) {
      if (signedKeyIds.length > 1) {
        throw new UsageError(
          `the ${signed} are signed with ${signedKeyIds.length} keys (${signedKeyIds.join(', ')}): ` +
            `say which one ${key.path} is, with ${flag} <keyId>=${key.path}${flag === '--key' ? ' or --key-id <keyId>' : ''}`,
        );
      }
      keyId = signedKeyIds[0] ?? `(no signed ${signed})`;
    }
    if (trusted[keyId] !== undefined) throw new UsageError(`${flag} ${keyId} is given twice`);
    trusted[keyId] = key.key;
  }
  return trusted;
}

function fileExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(resolve(path), 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${flag} file ${path} does not exist`
        : `cannot read ${flag} file ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function readPublicKey(path: string, warn: (message: string) => void, flag: string): KeyObject {
  const pem = readPem(path, flag);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new UsageError(
      `${flag} ${path} is not a PEM public key; give the public.pem written by custody keygen`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UsageError(
      `${flag} ${path} is a ${key.asymmetricKeyType} key; checkpoints and operator records are signed with Ed25519`,
    );
  }
  if (/PRIVATE KEY/.test(pem)) {
    warn(
      `${flag} ${path} is a private key; verifying needs only the public key (public.pem): keep the private one with the signer`,
    );
  }
  return key;
}

/**
 * Reads the Ed25519 private key that signs checkpoints, warning when its file is readable by
 * others (as ssh does).
 */
export function readPrivateKey(path: string, warn: (message: string) => void): KeyObject {
  const pem = readPem(path, '--key');
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new UsageError(
      `--key ${path} is not a PEM private key; give the private.pem written by custody keygen (not public.pem)`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UsageError(
      `--key ${path} is a ${key.asymmetricKeyType} key; checkpoints are signed with Ed25519`,
    );
  }
  if (process.platform !== 'win32') {
    const mode = statSync(resolve(path)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      warn(
        `private key ${path} is readable by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${path}`,
      );
    }
  }
  return key;
}
