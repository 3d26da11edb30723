import { hash, randomBytes } from 'node:crypto';

/**
 * Plaintext API keys: `fc_` + 64 hex chars (32 random bytes). Only their SHA-256 is ever stored;
 * 256 bits of entropy make an unsalted fast hash safe here (no dictionary to attack).
 */
const PLAINTEXT_KEY_PREFIX = 'fc_';
export const PLAINTEXT_KEY_PATTERN = /^fc_[0-9a-f]{64}$/;

export function generatePlaintextKey(): string {
  return PLAINTEXT_KEY_PREFIX + randomBytes(32).toString('hex');
}

/** Lowercase hex SHA-256 of the key's UTF-8 bytes: the `hash` stored in keys.json. */
export function hashPlaintextKey(plaintext: string): string {
  return plaintextKeyDigest(plaintext).toString('hex');
}

/** The same SHA-256 as bytes; one-shot, as it runs for every authenticated request. */
export function plaintextKeyDigest(plaintext: string): Buffer {
  return hash('sha256', plaintext, 'buffer');
}
