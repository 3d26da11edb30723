import { createHash } from 'node:crypto';
import type { AsyncEntry } from '@napi-rs/keyring';
import { describeError } from '../shared/errors.js';
import { keychainUnavailable, tradePasswordInput, tradePasswordUnavailable } from './errors.js';

/**
 * The OpenD trade password. Sources, first wins: FUTU_TRADE_PWD (trimmed; empty = absent), then
 * the OS keychain (macOS Keychain, Windows Credential Manager, Linux Secret Service). Only its MD5
 * leaves this module, which is all OpenD's UnlockTrade takes; the password itself is never
 * logged, echoed or put in an error.
 */
export const TRADE_PASSWORD_ENV = 'FUTU_TRADE_PWD';
export const KEYCHAIN_SERVICE = 'futu-mcp';
export const KEYCHAIN_USER = 'trade-password';
/** A locked keychain may wait on a desktop prompt; a server must not hang on it forever. */
const KEYCHAIN_TIMEOUT_MS = 30_000;
const MAX_PASSWORD_LENGTH = 256;

export type TradePasswordSource = 'env' | 'keychain';

export interface TradePasswordDigest {
  /** Lowercase hex MD5 of the UTF-8 password. */
  readonly md5: string;
  readonly source: TradePasswordSource;
}

export function tradePasswordMd5(password: string): string {
  return createHash('md5').update(password, 'utf8').digest('hex');
}

/** Throws TRADE_PASSWORD_UNAVAILABLE when no source has it, KEYCHAIN_UNAVAILABLE if unreachable. */
export async function loadTradePasswordMd5(env: NodeJS.ProcessEnv = process.env): Promise<TradePasswordDigest> {
  const fromEnv = env[TRADE_PASSWORD_ENV]?.trim();
  if (fromEnv) return { md5: tradePasswordMd5(fromEnv), source: 'env' };
  const stored = await withKeychain((entry, signal) => entry.getPassword(signal));
  if (!stored) throw tradePasswordUnavailable();
  return { md5: tradePasswordMd5(stored), source: 'keychain' };
}

/**
 * Writes the password (trimmed, like FUTU_TRADE_PWD) to the keychain and reads it back, so a
 * store that silently dropped it is reported now rather than at the first unlock.
 */
export async function storeTradePassword(password: string): Promise<void> {
  const value = password.trim();
  if (value === '') throw tradePasswordInput('it is empty');
  if (value.length > MAX_PASSWORD_LENGTH) throw tradePasswordInput(`it is longer than ${MAX_PASSWORD_LENGTH} characters`);
  await withKeychain((entry, signal) => entry.setPassword(value, signal));
  const readBack = await withKeychain((entry, signal) => entry.getPassword(signal));
  if (readBack !== value) throw keychainUnavailable('the stored password did not read back');
}

/** Removes the keychain entry; false when there was none. */
export async function clearTradePassword(): Promise<boolean> {
  return withKeychain((entry, signal) => entry.deletePassword(signal));
}

async function withKeychain<T>(operation: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
  let keyring: typeof import('@napi-rs/keyring');
  try {
    // Loaded on demand: a platform without the native module can still run every other command.
    keyring = await import('@napi-rs/keyring');
  } catch {
    throw keychainUnavailable(`no keychain support for ${process.platform}-${process.arch}`);
  }
  // Pinned to Secret Service: the Linux default silently falls back to the kernel keyring, which
  // forgets the password at reboot, so the operator would find out only at the next unlock.
  try {
    // The constructor already connects to the store, so it fails like any other keychain call.
    const entry = new keyring.AsyncEntry(KEYCHAIN_SERVICE, KEYCHAIN_USER, { linux: { store: 'secret-service' } });
    return await operation(entry, AbortSignal.timeout(KEYCHAIN_TIMEOUT_MS));
  } catch (err) {
    throw keychainUnavailable(describeError(err));
  }
}
