/**
 * Masking secrets inside free text: error messages, verification details, anything a tool or a
 * store says in words. Structured values are masked by key (the redaction policy); text has no
 * keys, so it is masked two ways: every value the redaction policy masked in the call, wherever it
 * occurs, and the shapes secrets take in text (`X-Api-Key: …`, `?api_key=…`, `Bearer …`,
 * `user:password@` in a URL) whatever the policy says.
 */

/** Secret names recognised in text (`name: value`, `name=value`, `"name":"value"`) by default. */
const TEXT_SECRET_NAMES = [
  'api[-_]?key',
  'x[-_]api[-_]key',
  'auth[-_]?token',
  'access[-_]?token',
  'refresh[-_]?token',
  'id[-_]?token',
  'token',
  'secret',
  'client[-_]?secret',
  'password',
  'passwd',
  'pwd',
  'authorization',
  'proxy[-_]authorization',
  'cookie',
  'set[-_]cookie',
  'session[-_]?id',
  'private[-_]?key',
  'signature',
  'sig',
];

/** Values shorter than this are not searched for in text: "1" would mask every digit. */
const MIN_SECRET_LENGTH = 4;

/** Options of {@link maskSecretsInText}. */
export interface TextMaskOptions {
  /** More secret names (the redaction policy's keys). */
  readonly keys?: readonly string[];
  /** What a masked value becomes. Default `"[REDACTED]"`. */
  readonly replacement?: string;
}

const patternCache = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function namedSecretPattern(keys: readonly string[]): RegExp {
  const cacheKey = keys.join('\u0000');
  let pattern = patternCache.get(cacheKey);
  if (!pattern) {
    const names = [...TEXT_SECRET_NAMES, ...keys.map(escapeRegExp)].join('|');
    // A name that ends a word, an optional closing quote, `:` or `=`, an optional auth scheme,
    // then the value: quoted, or up to the next separator.
    pattern = new RegExp(
      `(?<![A-Za-z0-9])((?:[A-Za-z0-9_-]*[-_])?(?:${names}))(["']?\\s*[:=]\\s*["']?)` +
        `((?:Bearer|Basic|Token|Digest)\\s+)?([^\\s"'&,;]+)`,
      'gi',
    );
    if (patternCache.size > 64) patternCache.clear();
    patternCache.set(cacheKey, pattern);
  }
  return pattern;
}

const BEARER = /\b(Bearer|Basic)\s+(?!\[)[A-Za-z0-9._~+/=-]{6,}/g;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)(@)/gi;

/**
 * Returns `text` with every occurrence of the given secret values, and every secret in a shape
 * text gives away (header, query string, bearer token, URL password), replaced.
 *
 * @example
 * ```ts
 * maskSecretsInText('GET /v1?api_key=abc123 failed', []) // 'GET /v1?api_key=[REDACTED] failed'
 * ```
 */
export function maskSecretsInText(
  text: string,
  secrets: readonly string[],
  options: TextMaskOptions = {},
): string {
  const replacement = options.replacement ?? '[REDACTED]';
  let out = text;
  // Longest first, so a secret that contains another is masked whole.
  const values = [...new Set(secrets)]
    .filter((secret) => secret.length >= MIN_SECRET_LENGTH && secret !== replacement)
    .sort((a, b) => b.length - a.length);
  for (const secret of values) out = out.split(secret).join(replacement);
  out = out.replace(namedSecretPattern(options.keys ?? []), (match, name, separator, scheme, value) =>
    value === replacement ? match : `${name}${separator}${scheme ?? ''}${replacement}`,
  );
  out = out.replace(BEARER, (_match, scheme) => `${scheme} ${replacement}`);
  return out.replace(URL_USERINFO, (_match, head, _password, at) => `${head}${replacement}${at}`);
}
