import { describeValue, invalidArgument } from './errors.js';

/** How large an input a call takes. Generous by default; an input past them is `invalid`. */
export interface InputLimits {
  /** How deeply objects and arrays may nest. Default 256, at most 1000. */
  readonly maxInputDepth?: number;
  /** How many bytes the input's canonical JSON may take. Default 8 MiB. */
  readonly maxInputBytes?: number;
}

/** Limits with every default filled in. */
export interface ResolvedInputLimits {
  readonly maxInputDepth: number;
  readonly maxInputBytes: number;
}

const MAX_DEPTH_CEILING = 1000;

/** Validates the limits of `createRuntime({ limits })` and fills in the defaults. */
export function resolveInputLimits(limits: InputLimits | undefined): ResolvedInputLimits {
  if (limits !== undefined && (typeof limits !== 'object' || limits === null)) {
    throw invalidArgument(
      `limits must be an object like { maxInputDepth: 256 }, got ${describeValue(limits)}`,
    );
  }
  const depth = limits?.maxInputDepth ?? 256;
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH_CEILING) {
    throw invalidArgument(
      `limits.maxInputDepth must be a whole number from 1 to ${MAX_DEPTH_CEILING}, got ${describeValue(depth)}`,
    );
  }
  const bytes = limits?.maxInputBytes ?? 8 * 1024 * 1024;
  if (!Number.isInteger(bytes) || bytes < 1) {
    throw invalidArgument(
      `limits.maxInputBytes must be a positive whole number, got ${describeValue(bytes)}`,
    );
  }
  return { maxInputDepth: depth, maxInputBytes: bytes };
}

/** Why an input is past the limits, with the path where it happens. */
export interface InputLimitProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Finds the first place where a raw input nests deeper than the limit or refers back to itself,
 * before anything recursive (zod, the canonical encoder) walks it and overflows the stack.
 */
export function findInputShapeProblem(
  value: unknown,
  limits: ResolvedInputLimits,
): InputLimitProblem | undefined {
  const ancestors = new Set<object>();
  const walk = (item: unknown, path: string, depth: number): InputLimitProblem | undefined => {
    if (typeof item !== 'object' || item === null) return undefined;
    if (ancestors.has(item)) {
      return {
        path,
        message: `input contains a circular reference at ${path || 'its root'}; send plain JSON`,
      };
    }
    if (depth >= limits.maxInputDepth) {
      return {
        path,
        message:
          `input nests deeper than ${limits.maxInputDepth} levels (at ${shortPath(path)}); flatten it, or raise ` +
          'limits.maxInputDepth in createRuntime',
      };
    }
    ancestors.add(item);
    try {
      const entries: [string, unknown][] = Array.isArray(item)
        ? item.map((child, index) => [String(index), child])
        : Object.entries(item);
      for (const [key, child] of entries) {
        const found = walk(child, path ? `${path}.${key}` : key, depth + 1);
        if (found) return found;
      }
      return undefined;
    } finally {
      ancestors.delete(item);
    }
  };
  return walk(value, '', 0);
}

/** Why an input's canonical JSON is too large, or undefined. */
export function findInputSizeProblem(
  json: string,
  limits: ResolvedInputLimits,
): InputLimitProblem | undefined {
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: count bytes only when the length leaves it open.
  if (json.length * 3 <= limits.maxInputBytes) return undefined;
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= limits.maxInputBytes) return undefined;
  return {
    path: '',
    message:
      `input is ${bytes} bytes of canonical JSON, over limits.maxInputBytes (${limits.maxInputBytes}); ` +
      'send a reference to large content instead, or raise the limit in createRuntime',
  };
}

function shortPath(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 60)}…${path.slice(-40)}`;
}
