import { hash } from 'node:crypto';
import { boundedMemo } from '../shared/boundedMemo.js';

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * JSON.stringify writes them. For the values an audit record holds this is RFC 8785 (JCS), so the
 * chain can be re-verified by other tools. Anything JSON cannot represent faithfully (NaN, bigint,
 * class instances, undefined or missing array items) throws instead of being silently coerced,
 * because a coerced value would hash differently after a round trip through the file.
 *
 * Built by plain concatenation: it runs for every record appended and every line verified, and
 * a map/filter/join version cost about a third more.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: non-finite number ${value}`);
      return JSON.stringify(value);
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return canonicalArray(value);
      if (isPlainObject(value)) return canonicalObject(value as Record<string, unknown>);
  }
  throw new TypeError(`canonical JSON: unsupported ${typeof value}`);
}

/**
 * Calls `visit` with each member canonicalJson(object) would write, in its order: its key, and
 * `"key":value` as written. For callers that add members (a record's chain fields) without
 * serializing the rest again. Throws as canonicalJson does.
 */
export function forEachCanonicalMember(object: Readonly<Record<string, unknown>>, visit: (key: string, text: string) => void): void {
  if (!isPlainObject(object)) throw new TypeError('canonical JSON: members of a non-plain object');
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member !== undefined) visit(key, `${quotedKey(key)}:${canonicalJson(member)}`);
  }
}

function canonicalArray(items: readonly unknown[]): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    // Index access, not map(): map skips holes and join would then write "[1,,2]".
    const item = items[i];
    if (item === undefined) throw new TypeError('canonical JSON: undefined array item');
    if (i > 0) out += ',';
    out += canonicalJson(item);
  }
  return `${out}]`;
}

function canonicalObject(object: Record<string, unknown>): string {
  let out = '{';
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    if (member === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${quotedKey(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/** Member names come from a small fixed set (record fields), so their JSON is remembered. */
const quotedKey = boundedMemo((key) => JSON.stringify(key), 1_024);

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes; one-shot crypto.hash skips a Hash object per record. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Lowercase hex SHA-256 of the canonical JSON of `value`. */
export function canonicalDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
