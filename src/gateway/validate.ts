import { GatewayError } from './errors.js';

/** Checks on caller-supplied values, done before anything reaches OpenD. */

const invalid = (message: string): GatewayError => new GatewayError('INVALID_ARGUMENT', message);
const U64_MAX = (1n << 64n) - 1n;

/**
 * A 64-bit OpenD id (accID, orderID, ...) as a decimal string in [0, 2^64-1]. Returns it in
 * canonical form (no leading zeros). Numbers are refused: above 2^53 they are already wrong.
 */
export function parseU64(value: unknown, what: string): string {
  if (typeof value !== 'string' || !/^[0-9]{1,20}$/.test(value)) {
    throw invalid(`invalid ${what}: expected a decimal string of an unsigned 64-bit id`);
  }
  const n = BigInt(value);
  if (n > U64_MAX) throw invalid(`invalid ${what}: exceeds 2^64-1`);
  return n.toString();
}

export function intInRange(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`invalid ${what}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

export function positiveNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`invalid ${what}: expected a positive number`);
  }
  return value;
}

export function nonEmpty<T>(values: readonly T[], what: string): readonly T[] {
  if (!Array.isArray(values) || values.length === 0) throw invalid(`${what} must not be empty`);
  return values;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?)?$/;

/**
 * A time bound as OpenD wants it ("YYYY-MM-DD HH:MM:SS"). A bare date means the start of the
 * day for `begin` and its last second for `end`, so a date range includes both end days.
 */
export function timeBound(value: unknown, which: 'begin' | 'end'): string {
  const m = typeof value === 'string' ? DATE_TIME.exec(value) : null;
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[3]) < 1 || Number(m[3]) > 31) {
    throw invalid(`invalid ${which}: expected "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS"`);
  }
  if (m[4] !== undefined) return value as string;
  return `${value as string} ${which === 'begin' ? '00:00:00' : '23:59:59'}`;
}

/** The trade password's digest: 32 hex digits, sent lowercase as OpenD requires. */
export function md5Hex(value: unknown): string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]{32}$/.test(value)) {
    throw invalid('invalid pwdMD5: expected the 32-digit hex MD5 of the trade password');
  }
  return value.toLowerCase();
}
