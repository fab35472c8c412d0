import { CustodyError, describeValue } from '../errors.js';
import { maskSecretsInText } from '../secret-text.js';
import type { CallState } from './call-state.js';

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : describeValue(error);
}

/**
 * Text with secrets masked: the values the redaction policy masks inside `values` wherever they
 * occur, and secrets in the shapes text gives them (headers, query strings, bearer tokens, URL
 * passwords) always. Every error text a call records or returns passes through here.
 */
export function maskText(call: Pick<CallState, 'runtime'>, text: string, values: readonly unknown[]): string {
  const redaction = call.runtime.redaction;
  const secrets = redaction ? values.flatMap((value) => redaction.secretsIn(value)) : [];
  return maskSecretsInText(
    text,
    secrets,
    redaction ? { keys: redaction.keys, replacement: redaction.replacement } : {},
  );
}

/** What the ledger keeps of an error: its name, its code, and its message masked by `mask`. */
export function errorRecord(
  error: unknown,
  mask: (text: string) => string,
): { name: string; message: string; code?: string } {
  if (CustodyError.isInstance(error))
    return { name: error.name, message: mask(error.message), code: error.code };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: error.name, message: mask(error.message), code }
      : { name: error.name, message: mask(error.message) };
  }
  return { name: 'NonError', message: mask(errorMessage(error)) };
}
