/**
 * Last line of defence against secrets in the audit trail. Nothing secret is supposed to reach it
 * (events carry no arguments, reasons come from secret-free error messages), so a hit here means a
 * bug upstream; we still must not persist the secret in an append-only, long-retained file.
 */
const SECRET_FIELD_NAME = /pass|pwd|secret|token|authorization|api_?key|plaintext/i;
/** futu-mcp plaintext keys: `fc_` + 64 hex; shorter hex runs are accepted too, as older docs show 32. */
const PLAINTEXT_KEY = /fc_[0-9a-f]{32,}/gi;

const REDACTED = '[REDACTED]';

/** What to do with a member whose name looks secret: drop it (hashing) or keep the name, redacted (records). */
export type SecretFieldMode = 'drop' | 'redact';

export interface Scrubbed<T> {
  readonly value: T;
  /** JSON-path-like locations that were dropped or redacted, for a warning without the values. */
  readonly hits: readonly string[];
}

export function scrubSecrets<T>(value: T, mode: SecretFieldMode): Scrubbed<T> {
  const hits: string[] = [];
  const scrubbed = walk(value, '$', mode, hits) as T;
  return { value: scrubbed, hits };
}

function walk(value: unknown, path: string, mode: SecretFieldMode, hits: string[]): unknown {
  if (typeof value === 'string') {
    const cleaned = value.replace(PLAINTEXT_KEY, `fc_${REDACTED}`);
    if (cleaned !== value) hits.push(path);
    return cleaned;
  }
  if (Array.isArray(value)) return value.map((item: unknown, i) => walk(item, `${path}[${i}]`, mode, hits));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    const memberPath = `${path}.${key}`;
    if (SECRET_FIELD_NAME.test(key)) {
      hits.push(memberPath);
      if (mode === 'redact') out[key] = REDACTED;
      continue;
    }
    out[key] = walk(member, memberPath, mode, hits);
  }
  return out;
}
