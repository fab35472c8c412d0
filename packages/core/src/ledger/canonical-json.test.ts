import fc from 'fast-check';
import { canonicalize as reference } from 'json-canonicalize';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../errors.js';
import { canonicalize, canonicalObject } from './canonical-json.js';

describe('canonicalize (RFC 8785)', () => {
  it('matches the RFC 8785 section 3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
        '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
    );
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalize(input)).toBe(expected);
    expect(reference(input)).toBe(expected);
  });

  it('sorts keys by UTF-16 code units as RFC 8785 section 3.2.3 shows', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'];
    const positions = keys.map((key) => canonicalize(input).indexOf(JSON.stringify(key)));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(canonicalize(input)).toBe(reference(input));
  });

  it.each([
    [0, '0'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [0.000001, '0.000001'],
    [9007199254740991, '9007199254740991'],
    [-1.5e-300, '-1.5e-300'],
    [Number.MIN_VALUE, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    [123456789012345680000, '123456789012345680000'],
  ])('formats the number %s as %s', (value, expected) => {
    expect(canonicalize(value)).toBe(expected);
    expect(reference(value)).toBe(expected);
  });

  it('is byte-identical to json-canonicalize on generated JSON values', () => {
    const json = fc.jsonValue({ maxDepth: 5 });
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalize(value)).toBe(reference(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('is byte-identical on objects with unicode keys and strings', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 12 });
    const value = fc.dictionary(
      text,
      fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
      {
        maxKeys: 8,
      },
    );
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalize(v)).toBe(reference(v));
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['NaN', { amount: Number.NaN }, '$.amount'],
    ['Infinity', { a: [1, Number.POSITIVE_INFINITY] }, '$.a[1]'],
    ['a BigInt', { id: 10n }, '$.id'],
    ['a Date', { at: new Date(0) }, '$.at'],
    ['a Map', new Map(), '$'],
    ['a function', { fn: () => 1 }, '$.fn'],
    ['undefined in an array', [1, undefined], '$[1]'],
    ['top-level undefined', undefined, '$'],
    ['a lone surrogate', { s: 'a\ud800b' }, '$.s'],
    ['a symbol', { s: Symbol('x') }, '$.s'],
  ])('rejects %s with a clear error naming the path', (_what, value, path) => {
    try {
      canonicalize(value);
      expect.unreachable('canonicalize should have thrown');
    } catch (error) {
      expect(CustodyError.isInstance(error)).toBe(true);
      expect((error as CustodyError).code).toBe('CUSTODY_CANONICAL_INVALID');
      expect((error as CustodyError).message).toContain(`value at ${path} cannot be recorded`);
    }
  });

  it.each([
    ['array-index keys out of order', { b: 1, '10': 2, '9': 3, a: { '2': 0, '1': 1 } }],
    ['array-index keys already in order', { '1': 'x', '10': 'y', '9': 'z' }],
    ['unordered objects inside ordered ones', { a: [{ z: 1, y: [{ d: 1, c: 2 }] }], b: { k: 2, j: 1 } }],
    ['an own __proto__ key', JSON.parse('{"z":1,"__proto__":{"b":2,"a":1},"a":0}')],
    ['a null-prototype object', Object.assign(Object.create(null), { z: 1, a: { y: 2, x: 1 } })],
    ['undefined members before an unordered child', { a: undefined, b: { d: 1, c: 2 } }],
  ])('orders %s as RFC 8785 does', (_what, value) => {
    expect(canonicalize(value)).toBe(reference(value));
  });

  it('is byte-identical on objects whose keys look like numbers, in any order', () => {
    const key = fc.oneof(
      fc.nat({ max: 1_000 }).map(String),
      fc.string({ maxLength: 3 }),
      fc.constant('4294967295'),
    );
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string(),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 6 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(canonicalize(v)).toBe(reference(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves the value it encodes unchanged', () => {
    const value = { b: { d: [{ f: 1, e: 2 }], c: 1 }, a: 0 };
    const before = JSON.stringify(value);
    canonicalize(value);
    expect(JSON.stringify(value)).toBe(before);
  });

  it('rejects cycles', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(() => canonicalize(a)).toThrow(/cycle/);
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });

  it('omits undefined properties as JSON.stringify does', () => {
    expect(canonicalize({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalize(Object.create(null))).toBe('{}');
  });

  it('canonicalObject joins pre-encoded members in key order', () => {
    const value = { z: [1, 2], a: 'x', m: { k: null } };
    const parts = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonicalize(v)]));
    expect(canonicalObject({ ...parts, skipped: undefined })).toBe(reference(value));
  });
});
