import { describe, expect, it } from 'vitest';
import { parseStoreArg, redactUrl } from './store-arg.js';

describe('parseStoreArg', () => {
  it('reads postgres:// and postgresql:// URLs, with the schema and a password-free label', () => {
    expect(parseStoreArg('postgres://audit:s3cret@db:5432/app', { schema: 'custody_audit' })).toEqual({
      kind: 'postgres',
      url: 'postgres://audit:s3cret@db:5432/app',
      schema: 'custody_audit',
      label: 'postgres://audit:***@db:5432/app',
    });
    expect(parseStoreArg('POSTGRESQL://db/app')).toMatchObject({ kind: 'postgres', schema: undefined });
  });

  it('refuses other URL schemes and an export file for a command that writes', () => {
    expect(() => parseStoreArg('sqlite://ledger.db')).toThrow('unsupported store URL scheme "sqlite://"');
    expect(() => parseStoreArg('audit.jsonl', { writes: true })).toThrow(
      'is a JSONL export, which is read-only',
    );
    expect(() => parseStoreArg('')).toThrow('missing <store>');
  });
});

describe('redactUrl', () => {
  it('masks the password only', () => {
    expect(redactUrl('postgres://u:p@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
  });
});
