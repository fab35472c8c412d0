import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { describeValue, invalidArgument } from '../errors.js';

/**
 * Signs checkpoints. The bundled one uses an Ed25519 key in process; implement this interface
 * to sign with a KMS or HSM instead (the private key then never enters the process).
 */
export interface CheckpointSigner {
  /** Names the key, so verifiers know which public key to check against (rotation). */
  readonly keyId: string;
  readonly algorithm: 'ed25519';
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Public keys a verifier trusts, by key id: PEM text or a `KeyObject`. */
export type CheckpointKeys = Readonly<Record<string, string | KeyObject>>;

function toPrivateKey(key: string | KeyObject): KeyObject {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.type !== 'private' || object.asymmetricKeyType !== 'ed25519') {
    throw invalidArgument(
      `checkpoint signing key must be an Ed25519 private key, got ${object.type} ${object.asymmetricKeyType}`,
    );
  }
  return object;
}

/**
 * An in-process Ed25519 signer.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateKeyPairSync('ed25519');
 * const signer = createEd25519Signer({ keyId: 'ledger-2026-11', privateKey });
 * ```
 */
export function createEd25519Signer(options: {
  keyId: string;
  privateKey: string | KeyObject;
}): CheckpointSigner {
  if (typeof options?.keyId !== 'string' || options.keyId === '') {
    throw invalidArgument(`createEd25519Signer needs a keyId, got ${describeValue(options?.keyId)}`);
  }
  const key = toPrivateKey(options.privateKey);
  return { keyId: options.keyId, algorithm: 'ed25519', sign: (message) => sign(null, message, key) };
}

/** True when `signature` (base64) is a valid Ed25519 signature of `message` by `publicKey`. */
export function verifyEd25519(
  message: Uint8Array,
  signature: string,
  publicKey: string | KeyObject,
): boolean {
  try {
    const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    return verify(null, message, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
