import { InvalidArgumentError } from 'commander';

/**
 * Parsers for numeric command-line values. Each throws commander's InvalidArgumentError, which
 * commander turns into "error: option '--x <v>' argument 'v' is invalid. <reason>" and exit 1,
 * so a bad value stops the program before anything starts.
 */

export function parsePositiveInteger(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return value;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `90s`, `5m`, `2h`, `500ms`; a bare number is seconds. Returns milliseconds (at least 1 s). */
export function parseDurationMs(text: string): number {
  return durationMs(text, 1_000, 'expected a duration of at least 1s, e.g. 90s, 5m or 2h (a bare number is seconds).');
}

/** A timeout: like parseDurationMs, from 50 ms (`500ms`, `2s`). */
export function parseTimeoutMs(text: string): number {
  return durationMs(text, 50, 'expected a duration of at least 50ms, e.g. 500ms or 2s (a bare number is seconds).');
}

function durationMs(text: string, minimumMs: number, problem: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 's').toLowerCase()]! : NaN;
  if (!Number.isFinite(ms) || ms < minimumMs) throw new InvalidArgumentError(problem);
  return Math.round(ms);
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `500M`, `2G`, `64k`, `1048576` (bytes); binary units, an optional trailing `B`. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  const bytes = match ? Math.floor(Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 4096) throw new InvalidArgumentError('expected a size of at least 4k, e.g. 100M or 2G.');
  return bytes;
}
