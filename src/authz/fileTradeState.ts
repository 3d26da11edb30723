import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileExclusiveAsync, writeFileAtomicAsync } from '../shared/atomicFile.js';
import { acquireLock, type LockOptions } from '../shared/fileLock.js';
import { AuthzError } from './errors.js';
import { isConfirmationId, type Confirmation, type ConfirmationState, type Halt } from './humanState.js';
import { IDEMPOTENCY_WINDOW_MS, isUnresolved, type ConfirmationTransition, type OrderIntent, type OrderOwner, type OrderRef, type TradeStateStore } from './tradeState.js';

/**
 * TradeStateStore in the state directory, shared by the processes on one machine:
 *   trades/locks/<hash>.lock     cross-process locks (shared/fileLock: pid-checked, stale-broken)
 *   trades/owners/<hash>.json    one write-once file per order placed through futu-mcp
 *   trades/intents/<id>.json     one file per intent; a client_order_id's is created exclusively
 *   trades/confirmations/<id>.json  one file per confirmation a human was asked for
 *   trades/halts.json            the halts in force (futucli halt / resume)
 * Names are hashes: account ids, order ids and key ids never become path components as given.
 * Files are 0600, directories 0700, every write durable (fsync, directory fsync) before it
 * resolves.
 */
export interface FileTradeStateOptions {
  readonly stateDir: string;
  readonly lockTimeoutMs?: number;
  readonly staleLockMs?: number;
  /** How long an owner record is kept (orders older than this can no longer be told apart). */
  readonly ownerRetentionMs?: number;
}

const OWNER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export class FileTradeState implements TradeStateStore {
  private readonly dirs: { readonly locks: string; readonly owners: string; readonly intents: string; readonly confirmations: string };
  private readonly haltsPath: string;
  private readonly lockOptions: LockOptions;
  private readonly ownerRetentionMs: number;
  /** Calls in this process queue here first, so the file lock only arbitrates between processes. */
  private readonly localTails = new Map<string, Promise<unknown>>();

  constructor(options: FileTradeStateOptions) {
    const root = join(options.stateDir, 'trades');
    this.dirs = { locks: join(root, 'locks'), owners: join(root, 'owners'), intents: join(root, 'intents'), confirmations: join(root, 'confirmations') };
    this.haltsPath = join(root, 'halts.json');
    this.lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000, staleAfterMs: options.staleLockMs ?? 30_000 };
    this.ownerRetentionMs = options.ownerRetentionMs ?? OWNER_RETENTION_MS;
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.localTails.get(name) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous.then(() => mine);
    this.localTails.set(name, tail);
    try {
      await previous;
      const lock = await guarded(async () => {
        this.ensureDirs();
        return acquireLock(join(this.dirs.locks, `${digest(name)}.lock`), this.lockOptions);
      });
      try {
        return await work();
      } finally {
        lock.release();
      }
    } finally {
      done();
      if (this.localTails.get(name) === tail) this.localTails.delete(name);
    }
  }

  async ownerOf(order: OrderRef): Promise<OrderOwner | undefined> {
    const text = await guarded(() => readOptional(this.ownerPath(order)));
    if (text === undefined) return undefined;
    return guarded(async () => parseOwner(text));
  }

  async recordOwner(order: OrderRef, owner: OrderOwner): Promise<void> {
    await guarded(async () => {
      this.ensureDirs();
      const created = await createFileExclusiveAsync(this.ownerPath(order), JSON.stringify(owner), 0o600);
      if (!created) {
        const existing = await this.ownerOf(order);
        if (existing?.keyId !== owner.keyId || existing.tag !== owner.tag) throw new Error(`order ${order.orderId} already has another owner`);
      }
    });
  }

  async claimIntent(intent: OrderIntent): Promise<{ readonly claimed: true } | { readonly claimed: false; readonly existing: OrderIntent }> {
    return guarded(async () => {
      this.ensureDirs();
      if (await createFileExclusiveAsync(this.intentPath(intent.id), JSON.stringify(intent), 0o600)) return { claimed: true };
      const existing = await this.getIntent(intent.id);
      // Dropped between the two steps: the id is free again.
      if (!existing) return this.claimIntent(intent);
      return { claimed: false, existing };
    });
  }

  async getIntent(id: string): Promise<OrderIntent | undefined> {
    const text = await guarded(() => readOptional(this.intentPath(id)));
    return text === undefined ? undefined : guarded(async () => parseIntent(text, id));
  }

  async putIntent(intent: OrderIntent): Promise<void> {
    await guarded(async () => {
      this.ensureDirs();
      await writeFileAtomicAsync(this.intentPath(intent.id), JSON.stringify(intent), 0o600);
    });
  }

  async dropIntent(id: string): Promise<void> {
    await guarded(() => rm(this.intentPath(id), { force: true }));
  }

  async unresolvedIntents(): Promise<OrderIntent[]> {
    const intents = await this.allIntents();
    return intents.filter(isUnresolved);
  }

  async createConfirmation(confirmation: Confirmation): Promise<void> {
    await guarded(async () => {
      this.ensureDirs();
      if (!(await createFileExclusiveAsync(this.confirmationPath(confirmation.id), JSON.stringify(confirmation), 0o600))) {
        throw new Error('a confirmation with this id exists');
      }
    });
  }

  async getConfirmation(id: string): Promise<Confirmation | undefined> {
    if (!isConfirmationId(id)) return undefined;
    const text = await guarded(() => readOptional(this.confirmationPath(id)));
    return text === undefined ? undefined : guarded(async () => parseConfirmation(text, id));
  }

  async transitionConfirmation(id: string, from: ConfirmationState, next: (current: Confirmation) => Confirmation): Promise<ConfirmationTransition | undefined> {
    if (!isConfirmationId(id)) return undefined;
    return this.withLock(`confirmation\0${id}`, async () => {
      const current = await this.getConfirmation(id);
      if (!current) return undefined;
      if (current.state !== from) return { changed: false, current };
      const changed = { ...next(current), id: current.id, version: 1 as const };
      await guarded(() => writeFileAtomicAsync(this.confirmationPath(id), JSON.stringify(changed), 0o600));
      return { changed: true, current: changed };
    });
  }

  async halts(): Promise<Halt[]> {
    const text = await guarded(() => readOptional(this.haltsPath));
    return text === undefined ? [] : guarded(async () => parseHalts(text));
  }

  async setHalt(halt: Halt): Promise<void> {
    await this.withLock('halts', async () => {
      const others = (await this.halts()).filter((h) => h.keyId !== halt.keyId);
      await this.writeHalts([...others, halt]);
    });
  }

  async clearHalt(keyId: string | null): Promise<boolean> {
    return this.withLock('halts', async () => {
      const halts = await this.halts();
      const kept = halts.filter((h) => h.keyId !== keyId);
      if (kept.length === halts.length) return false;
      await this.writeHalts(kept);
      return true;
    });
  }

  private async writeHalts(halts: readonly Halt[]): Promise<void> {
    await guarded(async () => {
      this.ensureDirs();
      await writeFileAtomicAsync(this.haltsPath, JSON.stringify({ version: 1, halts }), 0o600);
    });
  }

  /**
   * Forgets what no call can ask about any more: settled intents past the idempotency window,
   * and owner records past their retention. Unresolved intents are kept whatever their age.
   */
  async prune(now: number): Promise<void> {
    for (const intent of await this.allIntents()) {
      if ((intent.state === 'placed' || intent.state === 'refused') && now - intent.createdAt > IDEMPOTENCY_WINDOW_MS) await this.dropIntent(intent.id);
    }
    for (const name of await guarded(() => listDir(this.dirs.owners))) {
      const path = join(this.dirs.owners, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > this.ownerRetentionMs) await rm(path, { force: true });
    }
  }

  private async allIntents(): Promise<OrderIntent[]> {
    const names = await guarded(() => listDir(this.dirs.intents));
    const intents: OrderIntent[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const intent = await this.getIntent(name.slice(0, -'.json'.length));
      if (intent) intents.push(intent);
    }
    return intents;
  }

  private ensureDirs(): void {
    for (const dir of Object.values(this.dirs)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private ownerPath(order: OrderRef): string {
    return join(this.dirs.owners, `${digest(`${order.env}\0${order.accId}\0${order.orderId}`)}.json`);
  }

  private confirmationPath(id: string): string {
    return join(this.dirs.confirmations, `${id}.json`);
  }

  private intentPath(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new AuthzError('STATE_STORE_UNAVAILABLE', 'trade state: malformed intent id');
    return join(this.dirs.intents, `${id}.json`);
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every failure of the store is one typed error: the caller denies the call on it. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AuthzError) throw err;
    throw new AuthzError('STATE_STORE_UNAVAILABLE', `trade state unavailable (denied): ${(err as Error)?.message ?? String(err)}`);
  }
}

function parseOwner(text: string): OrderOwner {
  const o = JSON.parse(text) as Partial<OrderOwner>;
  if (typeof o.keyId !== 'string' || typeof o.tag !== 'string' || typeof o.day !== 'string' || !Number.isSafeInteger(o.placedAt)) {
    throw new Error('order owner record is malformed');
  }
  return o as OrderOwner;
}

const INTENT_STATES = new Set(['claimed', 'sending', 'placed', 'refused', 'unknown']);

function parseIntent(text: string, id: string): OrderIntent {
  const i = JSON.parse(text) as Partial<OrderIntent>;
  const ok =
    i.version === 1 &&
    i.id === id &&
    typeof i.tag === 'string' &&
    typeof i.keyId === 'string' &&
    (i.clientOrderId === null || typeof i.clientOrderId === 'string') &&
    typeof i.argsDigest === 'string' &&
    (i.env === 'simulate' || i.env === 'real') &&
    typeof i.accId === 'string' &&
    typeof i.symbol === 'string' &&
    Number.isSafeInteger(i.value) &&
    typeof i.day === 'string' &&
    INTENT_STATES.has(i.state as string) &&
    Number.isSafeInteger(i.pid);
  if (!ok) throw new Error('order intent record is malformed');
  return i as OrderIntent;
}

const CONFIRMATION_STATES = new Set(['pending', 'approved', 'rejected', 'used']);

function parseConfirmation(text: string, id: string): Confirmation {
  const c = JSON.parse(text) as Partial<Confirmation>;
  const ok =
    c.version === 1 &&
    c.id === id &&
    typeof c.keyId === 'string' &&
    typeof c.keyVersion === 'string' &&
    typeof c.tool === 'string' &&
    typeof c.digest === 'string' &&
    Number.isSafeInteger(c.value) &&
    typeof c.currency === 'string' &&
    typeof c.summary === 'object' &&
    c.summary !== null &&
    CONFIRMATION_STATES.has(c.state as string) &&
    Number.isSafeInteger(c.createdAt) &&
    Number.isSafeInteger(c.expiresAt) &&
    typeof c.pageToken === 'string';
  if (!ok) throw new Error('confirmation record is malformed');
  return c as Confirmation;
}

function parseHalts(text: string): Halt[] {
  const doc = JSON.parse(text) as { version?: unknown; halts?: unknown };
  if (doc.version !== 1 || !Array.isArray(doc.halts)) throw new Error('halts file is malformed');
  return doc.halts.map((h: Partial<Halt>) => {
    if ((h.keyId !== null && typeof h.keyId !== 'string') || typeof h.reason !== 'string' || !Number.isSafeInteger(h.since)) throw new Error('halts file is malformed');
    return { keyId: h.keyId, reason: h.reason, since: h.since as number };
  });
}
