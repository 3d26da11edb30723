import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileExclusiveAsync, writeFileAtomicAsync } from '../shared/atomicFile.js';
import { acquireLock, isProcessAlive, type LockOptions } from '../shared/fileLock.js';
import { LocalQueue } from '../shared/localQueue.js';
import { newReplicaId } from '../shared/replicaId.js';
import { AuthzError } from './errors.js';
import { log } from '../shared/log.js';
import {
  CONFIRMATION_RETENTION_MS,
  isConfirmationId,
  isOpenConfirmation,
  parseConfirmation,
  parseHalt,
  parseHumanEvent,
  type Confirmation,
  type ConfirmationState,
  type Halt,
  type HumanEvent,
} from './humanState.js';
import {
  assertIntentId,
  HUMAN_EVENTS_PER_DRAIN,
  IDEMPOTENCY_WINDOW_MS,
  IntentHolds,
  isSettled,
  isUnresolved,
  parseIntent,
  parseOwner,
  type ConfirmationTransition,
  type OrderIntent,
  type OrderOwner,
  type OrderRef,
  type TradeStateStore,
} from './tradeState.js';

/**
 * TradeStateStore in the state directory, shared by the processes on one machine:
 *   trades/locks/<hash>.lock     cross-process locks (shared/fileLock: pid-checked, stale-broken)
 *   trades/owners/<hash>.json    one write-once file per order placed through futu-mcp
 *   trades/intents/<id>.json     one file per intent; a client_order_id's is created exclusively
 *   trades/confirmations/<id>.json  one file per confirmation a human was asked for
 *   trades/halts.json            the halts in force (futucli halt / resume)
 *   trades/human-events/<time>-<random>.json  what humans did, until a server audits it
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
  /** The clock confirmations expire by; default this host's. */
  readonly now?: () => number;
  /** This process in the intents it writes (its replica id); default a new one. */
  readonly holderId?: string;
}

const OWNER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export class FileTradeState implements TradeStateStore {
  private readonly dirs: { readonly locks: string; readonly owners: string; readonly intents: string; readonly confirmations: string; readonly humanEvents: string };
  private readonly haltsPath: string;
  private readonly lockOptions: LockOptions;
  private readonly ownerRetentionMs: number;
  private readonly clock: () => number;
  private readonly queue = new LocalQueue();
  private readonly holderId: string;
  private readonly holds = new IntentHolds();

  constructor(options: FileTradeStateOptions) {
    const root = join(options.stateDir, 'trades');
    this.dirs = { locks: join(root, 'locks'), owners: join(root, 'owners'), intents: join(root, 'intents'), confirmations: join(root, 'confirmations'), humanEvents: join(root, 'human-events') };
    this.haltsPath = join(root, 'halts.json');
    this.lockOptions = { timeoutMs: options.lockTimeoutMs ?? 10_000, staleAfterMs: options.staleLockMs ?? 30_000 };
    this.ownerRetentionMs = options.ownerRetentionMs ?? OWNER_RETENTION_MS;
    this.clock = options.now ?? Date.now;
    this.holderId = options.holderId ?? newReplicaId();
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.queue.run(name, async () => {
      const lock = await guarded(async () => {
        this.ensureDirs();
        return acquireLock(join(this.dirs.locks, `${digest(name)}.lock`), this.lockOptions);
      });
      try {
        return await work();
      } finally {
        lock.release();
      }
    });
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
      if (await createFileExclusiveAsync(this.intentPath(intent.id), this.serialize(intent), 0o600)) return { claimed: true };
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
      await writeFileAtomicAsync(this.intentPath(intent.id), this.serialize(intent), 0o600);
    });
  }

  async dropIntent(id: string): Promise<void> {
    await guarded(() => rm(this.intentPath(id), { force: true }));
  }

  async unresolvedIntents(): Promise<OrderIntent[]> {
    const intents = await this.allIntents();
    return intents.filter((intent) => isUnresolved(intent, this.holderAlive));
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

  async now(): Promise<number> {
    return this.clock();
  }

  async confirmationsDue(): Promise<Confirmation[]> {
    const now = this.clock();
    return (await this.allConfirmations()).filter((c) => isOpenConfirmation(c) && now >= c.expiresAt);
  }

  /** Every readable confirmation; one that cannot be read is never acted on, so it is skipped here. */
  private async allConfirmations(): Promise<Confirmation[]> {
    const found: Confirmation[] = [];
    for (const name of await guarded(() => listDir(this.dirs.confirmations))) {
      const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      if (!isConfirmationId(id)) continue;
      const confirmation = await this.getConfirmation(id).catch(() => undefined);
      if (confirmation) found.push(confirmation);
    }
    return found;
  }

  async halts(): Promise<Halt[]> {
    const text = await guarded(() => readOptional(this.haltsPath));
    return text === undefined ? [] : guarded(async () => parseHalts(text));
  }

  async setHalt(halt: Halt): Promise<void> {
    await this.withLock('halts', async () => {
      const others = (await this.halts()).filter((h) => h.keyId !== halt.keyId);
      await this.writeHalts([...others, halt]);
      await this.recordHumanEvent({ kind: 'halt', at: halt.since, keyId: halt.keyId, reason: halt.reason });
    });
  }

  async clearHalt(keyId: string | null): Promise<boolean> {
    return this.withLock('halts', async () => {
      const halts = await this.halts();
      const kept = halts.filter((h) => h.keyId !== keyId);
      if (kept.length === halts.length) return false;
      await this.writeHalts(kept);
      await this.recordHumanEvent({ kind: 'resume', at: this.clock(), keyId });
      return true;
    });
  }

  private async writeHalts(halts: readonly Halt[]): Promise<void> {
    await guarded(async () => {
      this.ensureDirs();
      await writeFileAtomicAsync(this.haltsPath, JSON.stringify({ version: 1, halts }), 0o600);
    });
  }

  async isUnresolved(intent: OrderIntent): Promise<boolean> {
    return isUnresolved(intent, this.holderAlive);
  }

  holdIntent<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.holds.during(id, work);
  }

  /** Ours while a call holds it; another process's while its pid lives (processes sharing a state directory share a machine). */
  private readonly holderAlive = (intent: OrderIntent): boolean => (intent.holder === this.holderId ? this.holds.has(intent.id) : isProcessAlive(intent.pid));

  private serialize(intent: OrderIntent): string {
    return JSON.stringify({ ...intent, holder: this.holderId });
  }

  async recordHumanEvent(event: HumanEvent): Promise<void> {
    // Named by time first, so a directory listing is the order the humans acted in.
    const name = `${String(event.at).padStart(16, '0')}-${randomBytes(8).toString('hex')}.json`;
    await guarded(async () => {
      this.ensureDirs();
      if (!(await createFileExclusiveAsync(join(this.dirs.humanEvents, name), JSON.stringify(event), 0o600))) throw new Error('a human event with this name exists');
    });
  }

  async drainHumanEvents(audit: (events: readonly HumanEvent[]) => Promise<void>, max = HUMAN_EVENTS_PER_DRAIN): Promise<number> {
    return this.withLock('human-events', async () => {
      const names = (await guarded(() => listDir(this.dirs.humanEvents))).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort().slice(0, max);
      const events: HumanEvent[] = [];
      const drained: string[] = [];
      for (const name of names) {
        const path = join(this.dirs.humanEvents, name);
        const text = await guarded(() => readOptional(path));
        if (text === undefined) continue;
        try {
          events.push(parseHumanEvent(text));
          drained.push(path);
        } catch {
          // Never audited as something it may not be: set aside for a human to look at.
          log.warn('a queued human event is malformed; moved aside', { file: `${name}.malformed` });
          await guarded(() => rename(path, `${path}.malformed`));
        }
      }
      if (events.length > 0) await audit(events);
      for (const path of drained) await guarded(() => rm(path, { force: true }));
      return events.length;
    });
  }

  /** Unresolved intents are kept whatever their age. */
  async prune(now: number): Promise<void> {
    for (const intent of await this.allIntents()) {
      if (isSettled(intent) && now - intent.createdAt > IDEMPOTENCY_WINDOW_MS) await this.dropIntent(intent.id);
    }
    for (const name of await guarded(() => listDir(this.dirs.owners))) {
      const path = join(this.dirs.owners, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > this.ownerRetentionMs) await rm(path, { force: true });
    }
    for (const confirmation of await this.allConfirmations()) {
      if (!isOpenConfirmation(confirmation) && now - confirmation.expiresAt > CONFIRMATION_RETENTION_MS) await guarded(() => rm(this.confirmationPath(confirmation.id), { force: true }));
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
    assertIntentId(id);
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

function parseHalts(text: string): Halt[] {
  const doc = JSON.parse(text) as { version?: unknown; halts?: unknown };
  if (doc.version !== 1 || !Array.isArray(doc.halts)) throw new Error('halts file is malformed');
  return doc.halts.map(parseHalt);
}
