// Deterministic JSON: object keys sorted, no whitespace, so equal values give equal bytes.

/**
 * Serialises `value` with object keys in sorted order and no whitespace.
 * @throws {TypeError} for values JSON cannot represent exactly (non-finite numbers, functions,
 * bigints, undefined inside arrays).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortValue(value, '$'));
}

function sortValue(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path} is not a finite number`);
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => {
      if (item === undefined) throw new TypeError(`${path}[${i}] is undefined`);
      return sortValue(item, `${path}[${i}]`);
    });
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = sortValue(item, `${path}.${key}`);
    }
    return out;
  }
  throw new TypeError(`${path} has type ${typeof value}, which JSON cannot hold`);
}
