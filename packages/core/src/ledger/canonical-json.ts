import { CustodyError, describeValue } from '../errors.js';

/**
 * RFC 8785 (JSON Canonicalization Scheme) encoder.
 *
 * It produces the same bytes as the `json-canonicalize` package for every value it accepts (the
 * tests prove it on RFC 8785's reference cases and on generated values), and it rejects, with a
 * clear error, what JSON cannot carry faithfully: NaN, ±Infinity, BigInt, functions, symbols,
 * `undefined` as a value or array element, class instances (Date, Map, Buffer, …), lone UTF-16
 * surrogates and cycles. Object properties whose value is `undefined` are omitted, as
 * `JSON.stringify` does, because zod and spread syntax produce them routinely.
 *
 * It sits on the hot path (every ledger event is hashed over its output), so it lets V8's native
 * JSON.stringify do the writing: RFC 8785 serializes strings and numbers exactly as ECMAScript's
 * JSON.stringify does, and differs only in ordering object keys by UTF-16 code units. One pass
 * checks every value and puts keys in that order (copying only objects whose keys are out of
 * order), then JSON.stringify writes the result. Where V8 would not keep the order — an object
 * whose keys are out of order and include array-index keys like "10", which every object lists
 * first in numeric order — a hand-written encoder takes over.
 *
 * @example
 * ```ts
 * canonicalize({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalize(value: unknown): string {
  try {
    let ordered: unknown;
    try {
      ordered = inCanonicalOrder(value, []);
    } catch (error) {
      if (error === UNORDERABLE) return encode(value, []);
      throw error;
    }
    return JSON.stringify(ordered);
  } catch (error) {
    if (error instanceof Unrecordable) {
      const path = `$${error.path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('')}`;
      throw new CustodyError(
        'CUSTODY_CANONICAL_INVALID',
        `value at ${path} cannot be recorded: ${error.what}; ${error.fix}`,
        {
          details: { path },
        },
      );
    }
    throw error;
  }
}

/**
 * Thrown inside the encoder; each enclosing level prepends its key on the way out, so the happy
 * path never builds a path string.
 */
class Unrecordable {
  readonly path: (string | number)[] = [];
  constructor(
    readonly what: string,
    readonly fix: string,
  ) {}
}

/** Thrown by {@link inCanonicalOrder} when JSON.stringify cannot be made to write canonical order. */
const UNORDERABLE = Symbol('keys JSON.stringify cannot order');

/** A canonical array index ("0", "7", "4294967294"), which objects always enumerate first. */
const ARRAY_INDEX = /^(?:0|[1-9][0-9]{0,9})$/;

function isArrayIndex(key: string): boolean {
  return ARRAY_INDEX.test(key) && Number(key) < 4_294_967_295;
}

function lacksOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return true;
  return false;
}

// The checks both passes make, in one place so the two can never disagree on what is faithful JSON.

function checkString(value: string): void {
  if (!value.isWellFormed())
    throw new Unrecordable('the string contains a lone UTF-16 surrogate', 'pass well-formed Unicode text');
}

function checkNumber(value: number): void {
  if (!Number.isFinite(value))
    throw new Unrecordable(`got ${value}`, 'JSON has no NaN or Infinity; use null or a string');
}

/** Throws unless `value` is a plain object (or has no prototype) not already being encoded above. */
function checkObject(value: object, stack: readonly object[]): void {
  if (stack.includes(value)) throw new Unrecordable('the value contains a cycle', 'pass a tree, not a graph');
  if (Array.isArray(value)) return;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new Unrecordable(
      `got ${describeValue(value)}`,
      'convert it to plain JSON first (for a Date, use toISOString())',
    );
  }
}

/** Sets a property as data, even `__proto__`, which plain assignment would treat as the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Checks that `value` is faithful JSON (throwing {@link Unrecordable} where it is not) and returns
 * it with every object's keys in canonical order: the value itself when they already are (the
 * common case: nothing is copied), else a copy of the objects that need it.
 */
function inCanonicalOrder(value: unknown, stack: object[]): unknown {
  switch (typeof value) {
    case 'string':
      checkString(value);
      return value;
    case 'number':
      checkNumber(value);
      return value;
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      checkObject(value, stack);
      if (Array.isArray(value)) {
        stack.push(value);
        let copy: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          try {
            if (item === undefined)
              throw new Unrecordable('got undefined in an array', 'use null for a missing element');
            const ordered = inCanonicalOrder(item, stack);
            if (ordered !== item) {
              copy ??= value.slice();
              copy[i] = ordered;
            }
          } catch (error) {
            if (error instanceof Unrecordable) error.path.unshift(i);
            throw error;
          }
        }
        stack.pop();
        return copy ?? value;
      }
      stack.push(value);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      let copy: Record<string, unknown> | undefined;
      if (lacksOrder(keys)) {
        if (keys.some(isArrayIndex)) throw UNORDERABLE;
        keys.sort();
        copy = {};
      }
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k]!;
        const item = record[key];
        try {
          checkString(key);
          if (item === undefined) continue;
          const ordered = inCanonicalOrder(item, stack);
          if (copy === undefined && ordered !== item) {
            // The first child that had to be reordered: copy the keys before it, then go on.
            copy = {};
            for (let before = 0; before < k; before++) {
              const earlier = keys[before]!;
              if (record[earlier] !== undefined) setOwn(copy, earlier, record[earlier]);
            }
          }
          if (copy !== undefined) setOwn(copy, key, ordered);
        } catch (error) {
          if (error instanceof Unrecordable) error.path.unshift(key);
          throw error;
        }
      }
      stack.pop();
      return copy ?? value;
    }
    case 'undefined':
      throw new Unrecordable('got undefined', 'use null for a missing value');
    default:
      throw new Unrecordable(`got ${describeValue(value)}`, 'only JSON values can be recorded');
  }
}

function encodeString(value: string): string {
  checkString(value);
  return JSON.stringify(value);
}

function encode(value: unknown, stack: object[]): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      checkNumber(value);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      checkObject(value, stack);
      if (Array.isArray(value)) {
        stack.push(value);
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item = value[i];
          try {
            if (item === undefined)
              throw new Unrecordable('got undefined in an array', 'use null for a missing element');
            out += (i === 0 ? '' : ',') + encode(item, stack);
          } catch (error) {
            if (error instanceof Unrecordable) error.path.unshift(i);
            throw error;
          }
        }
        stack.pop();
        return out + ']';
      }
      stack.push(value);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      // Keys already in order (the common case for objects the runtime builds) skip the sort.
      if (lacksOrder(keys)) keys.sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue;
        try {
          out += (first ? '' : ',') + encodeString(key) + ':' + encode(item, stack);
        } catch (error) {
          if (error instanceof Unrecordable) error.path.unshift(key);
          throw error;
        }
        first = false;
      }
      stack.pop();
      return out + '}';
    }
    case 'undefined':
      throw new Unrecordable('got undefined', 'use null for a missing value');
    default:
      throw new Unrecordable(`got ${describeValue(value)}`, 'only JSON values can be recorded');
  }
}

/**
 * Joins already-canonical member values into a canonical object. Keys are sorted here; each
 * value must itself be the output of {@link canonicalize}. Lets the hot path reuse an encoding
 * (a tool input) inside a larger payload without encoding it twice.
 */
export function canonicalObject(members: Record<string, string | undefined>): string {
  const keys = Object.keys(members);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const json = members[key];
    if (json === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + json;
    first = false;
  }
  return out + '}';
}
