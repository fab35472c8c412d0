import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckpointSigner, createEd25519Signer } from '@custody/core';

/**
 * The demo's checkpoint key, made on first run and kept beside the demo ledger. A real deployment
 * keeps the private key in a KMS (implement `CheckpointSigner`) and hands verifiers the public key.
 */
export function loadOrCreateDemoKey(dir: string): {
  signer: CheckpointSigner;
  keyId: string;
  publicKeyPem: string;
} {
  const keyId = 'support-demo';
  const privatePath = join(dir, 'private.pem');
  const publicPath = join(dir, 'public.pem');
  if (!existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(publicPath, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return {
    keyId,
    signer: createEd25519Signer({ keyId, privateKey: readFileSync(privatePath, 'utf8') }),
    publicKeyPem: readFileSync(publicPath, 'utf8'),
  };
}
