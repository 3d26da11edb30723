import fs from 'node:fs';
import path from 'node:path';
import { readKeysFileOrEmpty, writeKeysFile } from '../keys/file.js';
import { generatePlaintextKey, hashPlaintextKey, PLAINTEXT_KEY_PATTERN } from '../keys/material.js';
import { NO_LIMITS, type KeyLimits, type KeyRecord, type Scope } from '../keys/types.js';

/**
 * The demo's two keys: a read-only analyst and a simulate-only trader with tight limits. Unlike
 * real keys, their plaintexts are kept (0600, in the git-ignored demo folder) so `npm start` can
 * print them on every run; they only ever open the embedded simulator.
 */
export interface DemoKeys {
  readonly keysFile: string;
  readonly analyst: string;
  readonly trader: string;
}

const DEMO_KEYS: readonly { id: string; role: 'analyst' | 'trader'; scopes: Scope[]; limits: KeyLimits; note: string }[] = [
  { id: 'demo-analyst', role: 'analyst', scopes: ['qot:read', 'acc:read'], limits: NO_LIMITS, note: 'npm start demo: read-only research' },
  {
    id: 'demo-trader',
    role: 'trader',
    scopes: ['qot:read', 'acc:read', 'trade:simulate'],
    limits: { ...NO_LIMITS, allowed_markets: ['HK', 'US'], max_order_value: 50_000, max_daily_value: 200_000, max_orders_per_minute: 3 },
    note: 'npm start demo: paper trading inside tight limits',
  },
];

export function ensureDemoKeys(demoDir: string): DemoKeys {
  fs.mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const keysFile = path.join(demoDir, 'keys.json');
  const secretsFile = path.join(demoDir, 'demo-keys.json');
  const known = readSecrets(secretsFile);
  const records = readKeysFileOrEmpty(keysFile);
  const secrets: Record<string, string> = {};
  let changed = false;
  const next: KeyRecord[] = records.filter((r) => !DEMO_KEYS.some((d) => d.id === r.id));
  for (const demo of DEMO_KEYS) {
    const existing = records.find((r) => r.id === demo.id);
    const plaintext = known[demo.id];
    if (existing && plaintext && hashPlaintextKey(plaintext) === existing.hash) {
      next.push(existing);
      secrets[demo.id] = plaintext;
      continue;
    }
    const fresh = generatePlaintextKey();
    secrets[demo.id] = fresh;
    next.push({
      id: demo.id,
      hash: hashPlaintextKey(fresh),
      scopes: demo.scopes,
      limits: demo.limits,
      allowed_machines: null,
      created_at: new Date().toISOString(),
      expires_at: null,
      note: demo.note,
    });
    changed = true;
  }
  if (changed || records.length === 0) {
    writeKeysFile(keysFile, next);
    fs.writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return { keysFile, analyst: secrets['demo-analyst']!, trader: secrets['demo-trader']! };
}

function readSecrets(file: string): Record<string, string> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object') return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string' && PLAINTEXT_KEY_PATTERN.test(e[1])));
  } catch {
    return {};
  }
}
