/** One difference between two JSON values, at a path like `input.items[2].sku`. */
export interface JsonDifference {
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

const MISSING = Symbol('missing');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Lists where two JSON values differ (at most `limit` places), deepest first reached first. */
export function jsonDifferences(expected: unknown, actual: unknown, limit = 20): JsonDifference[] {
  const out: JsonDifference[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= limit) return;
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        walk(i < a.length ? a[i] : MISSING, i < b.length ? b[i] : MISSING, `${path}[${i}]`);
      }
      return;
    }
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        walk(key in a ? a[key] : MISSING, key in b ? b[key] : MISSING, path ? `${path}.${key}` : key);
      }
      return;
    }
    if (a === b || JSON.stringify(a) === JSON.stringify(b)) return;
    out.push({
      path: path || '(value)',
      expected: a === MISSING ? undefined : a,
      actual: b === MISSING ? undefined : b,
    });
  };
  walk(expected, actual, '');
  return out;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** A readable diff: one `- expected` / `+ actual` pair per differing path. */
export function renderDifferences(differences: readonly JsonDifference[]): string {
  return differences.map((d) => `  ${d.path}\n    - ${show(d.expected)}\n    + ${show(d.actual)}`).join('\n');
}
