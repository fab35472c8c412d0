const cache = new Map<string, RegExp>();

/**
 * Compiles a tool pattern (`jira.*`, `*.read`, `stripe.refund`) into a matcher. `*` matches any
 * run of characters, including dots; every other character is literal. Compiled once and cached,
 * since allow-lists and policy rules are matched on every call.
 */
export function globToRegExp(pattern: string): RegExp {
  let compiled = cache.get(pattern);
  if (!compiled) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    compiled = new RegExp(`^${source}$`);
    cache.set(pattern, compiled);
  }
  return compiled;
}

/** True when `name` matches any of `patterns`. */
export function matchesAny(patterns: readonly string[], name: string): boolean {
  for (const pattern of patterns) {
    if (pattern === name || pattern === '*' || globToRegExp(pattern).test(name)) return true;
  }
  return false;
}
