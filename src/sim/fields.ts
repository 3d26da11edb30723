import type { Message } from '../gateway/proto.js';
import type { Security } from '../gateway/symbol.js';
import { SimError } from './contract.js';

/** Typed reads of decoded C2S objects (enums as numbers, 64-bit integers as decimal strings). */
export function securityOf(value: unknown, what = 'security'): Security {
  const sec = value as Partial<Security> | undefined;
  if (!sec || typeof sec.market !== 'number' || typeof sec.code !== 'string') throw new SimError(`${what} is required`);
  return { market: sec.market, code: sec.code };
}

export function securityListOf(c2s: Message, field = 'securityList'): Security[] {
  const list = c2s[field];
  return Array.isArray(list) ? list.map((s) => securityOf(s)) : [];
}

export function numberOf(c2s: Message, field: string): number | undefined {
  const v = c2s[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

export function requiredNumber(c2s: Message, field: string): number {
  const n = numberOf(c2s, field);
  if (n === undefined) throw new SimError(`${field} is required`);
  return n;
}

export function stringOf(c2s: Message, field: string): string | undefined {
  const v = c2s[field];
  return typeof v === 'string' ? v : undefined;
}

export function bytesOf(c2s: Message, field: string): Buffer | undefined {
  const v = c2s[field];
  if (v instanceof Uint8Array && v.length > 0) return Buffer.from(v);
  return undefined;
}

export function messageOf(c2s: Message, field: string): Message | undefined {
  const v = c2s[field];
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Message) : undefined;
}

/** A uint64 field as its decimal string (accepts numbers and bigints from hand-built objects). */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value).toString();
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}
