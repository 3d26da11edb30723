import { boundedMemo } from '../shared/boundedMemo.js';

/**
 * Timestamps in keys.json (RFC 3339) and gen-key's `--expires` (`90d`, `12h`, `30m` or RFC 3339).
 * Date.parse alone is too lenient (it accepts 2026-02-30 and rolls it over), so the calendar
 * fields are checked here before trusting it.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;
const DURATION = /^(\d{1,6})([dhm])$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;
/** Far enough for any sane rotation policy, near enough that Date arithmetic stays exact. */
const MAX_DURATION_MS = 100 * 365 * UNIT_MS.d;

/** Milliseconds since the epoch, or undefined if `text` is not a valid RFC 3339 date-time. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(text.toUpperCase());
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The absolute expiry for `spec`, as an ISO 8601 UTC string. Throws a plain Error describing the
 * accepted forms; callers wrap it in their own error code.
 */
export function resolveExpiry(spec: string, now: number): string {
  const duration = DURATION.exec(spec);
  if (duration) {
    const ms = Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
    if (ms === 0 || ms > MAX_DURATION_MS) throw new Error(`expiry "${spec}" must be between 1m and 100 years`);
    return new Date(now + ms).toISOString();
  }
  const at = parseRfc3339(spec);
  if (at === undefined) throw new Error(`expected a duration like 90d, 12h, 30m or an RFC 3339 date-time, got "${spec}"`);
  if (at <= now) throw new Error(`expiry ${spec} is in the past`);
  return new Date(at).toISOString();
}

/** Whether a record's `expires_at` has been reached. A key is unusable from that instant on. */
export function isExpired(expiresAt: string | null, now: number): boolean {
  if (expiresAt === null) return false;
  // Loaded records were validated, so an unparsable value here is a programming error: fail closed.
  const at = expiryInstant(expiresAt);
  return at === undefined || now >= at;
}

/** Checked on every call, against a handful of distinct values (one per key): parsed once each. */
const expiryInstant = boundedMemo(parseRfc3339, 4_096);
