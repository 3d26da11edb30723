import { canonicalDigest } from './canonical.js';

/** prev_hash of a file's first record. */
export const GENESIS_HASH = '0'.repeat(64);

export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** The hash a record must carry: over everything in it except `hash` itself. */
export function recordHash(record: Readonly<Record<string, unknown>>): string {
  const { hash: _ignored, ...unhashed } = record;
  return canonicalDigest(unhashed);
}
