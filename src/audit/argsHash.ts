import { canonicalDigest } from './canonical.js';
import { scrubSecrets } from './secrets.js';

/**
 * `args_hash`: lets an auditor match a record to a known request without storing the arguments.
 * Secret-bearing members (api_key, password, ...) are removed before hashing: a hash of a
 * low-entropy secret can be brute-forced, and the same call with another key should hash alike.
 * Missing arguments hash like `{}`.
 */
export function hashArguments(args: unknown): string {
  return argumentsDigest(args).slice(0, 16);
}

/** The full digest hashArguments shortens: what binds a call where a collision must be out of reach (confirmations, idempotency). */
export function argumentsDigest(args: unknown): string {
  return canonicalDigest(scrubSecrets(args ?? {}, 'drop').value);
}
