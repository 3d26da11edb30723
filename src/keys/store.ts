import { timingSafeEqual } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { log } from '../shared/log.js';
import { describeError, isFutuError, type FutuError } from '../shared/errors.js';
import { deepFreeze } from '../shared/deepFreeze.js';
import { forEachInSlices, runWorker } from '../shared/offThread.js';
import { CredentialError, keyExpired, keyInvalid, keyMissing, keyRevoked, keysFileInvalid, type CredentialErrorCode } from './errors.js';
import { readKeysFile } from './file.js';
import { MachineIdentity } from './machine.js';
import { plaintextKeyDigest } from './material.js';
import { isExpired } from './time.js';
import type { KeyRecord } from './types.js';

/**
 * The server's view of keys.json: an immutable snapshot swapped whole on reload (SIGHUP). Every
 * lookup reads the current snapshot, so revocation (deleting a record), expiry and binding changes
 * apply to the next call of a session that authenticated earlier.
 */
interface Snapshot {
  readonly records: readonly KeyRecord[];
  readonly byId: ReadonlyMap<string, KeyRecord>;
  /** Records by their hex hash: a presented key costs one SHA-256 and one lookup, whatever the key count. */
  readonly byHash: ReadonlyMap<string, KeyRecord>;
}

const LOAD_WORKER = new URL('./loadWorker.js', import.meta.url);

function isWorkerError(err: unknown): err is { code: string; message: string; details: Record<string, unknown> } {
  return typeof err === 'object' && err !== null && !(err instanceof Error) && typeof (err as { code?: unknown }).code === 'string';
}

export type ReloadResult = { ok: true; keys: number } | { ok: false; error: FutuError };

export interface KeyStoreOptions {
  /** This machine for binding checks; tests inject a reader. Defaults to the OS machine id. */
  readonly machine?: MachineIdentity;
}

export class KeyStore {
  private snapshot: Snapshot;
  /**
   * Hashes of keys deleted by a reload while this process ran, with their ids: a revoked key
   * presented again is reported (and audited) as `key revoked` under its own id rather than as an
   * unknown key. Only digests are kept, never plaintexts.
   */
  private readonly revoked = new Map<string, string>();
  private readonly machine: MachineIdentity;
  private reloading: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    records: readonly KeyRecord[],
    options: KeyStoreOptions,
  ) {
    this.snapshot = toSnapshot(records);
    this.machine = options.machine ?? new MachineIdentity();
  }

  /** Loads `file`; throws KEYS_FILE_NOT_FOUND / KEYS_FILE_PERMISSIONS / KEYS_FILE_INVALID. */
  static open(file: string, options: KeyStoreOptions = {}): KeyStore {
    return new KeyStore(file, readKeysFile(file), options);
  }

  /**
   * open() for a server's start: the file is read and validated on a worker thread, so the
   * garbage of parsing a large file (about 170 MB at 100k keys) dies with the worker instead of
   * waiting in this heap for a major collection, which would otherwise come later, while calls
   * wait (typically during the first reload).
   */
  static async openOffThread(file: string, options: KeyStoreOptions = {}): Promise<KeyStore> {
    const store = new KeyStore(file, [], options);
    store.snapshot = await store.readOffThread();
    return store;
  }

  /** Re-reads the file; on any problem the previous keys stay in force and the error is returned. */
  reload(): ReloadResult {
    let next: Snapshot;
    try {
      next = toSnapshot(readKeysFile(this.file));
    } catch (err) {
      return this.reloadFailed(err);
    }
    for (const record of this.snapshot.records) this.noteIfRevoked(record, next);
    return this.adopt(next);
  }

  /**
   * reload() for a running server: the file is read and validated on a worker thread (seconds at
   * 100k keys), its records arrive in slices and are indexed between other requests, and the
   * new snapshot replaces the old in one assignment. Calls meanwhile are answered from the old
   * snapshot; a failed reload leaves it in force. Reloads run one at a time, in call order.
   */
  reloadOffThread(): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.loadOffThread());
    this.reloading = run.then(() => undefined);
    return run;
  }

  private async loadOffThread(): Promise<ReloadResult> {
    let next: Snapshot;
    try {
      next = await this.readOffThread();
    } catch (err) {
      return this.reloadFailed(err);
    }
    await forEachInSlices(this.snapshot.records, (record) => this.noteIfRevoked(record, next));
    return this.adopt(next);
  }

  /** The file's records read on a worker thread, as a snapshot; throws what readKeysFile would. */
  private async readOffThread(): Promise<Snapshot> {
    const records: KeyRecord[] = [];
    const byId = new Map<string, KeyRecord>();
    const byHash = new Map<string, KeyRecord>();
    try {
      await runWorker(LOAD_WORKER, { file: this.file }, (message) => {
        for (const received of (message as { records: KeyRecord[] }).records) {
          // An unchanged record keeps the running snapshot's object: the copy just received dies
          // young, so a reload of 100k mostly unchanged keys does not fill the old generation
          // with a second snapshot for the collector to mark and compact while calls wait.
          const running = this.snapshot.byHash.get(received.hash);
          const record = running !== undefined && isDeepStrictEqual(running, received) ? running : deepFreeze(received);
          records.push(record);
          byId.set(record.id, record);
          byHash.set(record.hash, record);
        }
      });
    } catch (err) {
      throw isWorkerError(err) ? new CredentialError(err.code as CredentialErrorCode, err.message, err.details) : err;
    }
    return { records: Object.freeze(records), byId, byHash };
  }

  /** A key of the running snapshot that `next` no longer has is remembered as revoked, by digest. */
  private noteIfRevoked(record: KeyRecord, next: Snapshot): void {
    if (!next.byHash.has(record.hash)) this.revoked.set(record.hash, record.id);
  }

  private adopt(next: Snapshot): ReloadResult {
    for (const hash of this.revoked.keys()) if (next.byHash.has(hash)) this.revoked.delete(hash);
    this.snapshot = next;
    log.info('keys reloaded', { file: this.file, keys: next.records.length });
    return { ok: true, keys: next.records.length };
  }

  private reloadFailed(err: unknown): ReloadResult {
    const error = isFutuError(err) ? err : keysFileInvalid(`${this.file}: ${describeError(err)}`);
    log.warn('keys reload failed; previous keys stay in force', { file: this.file, code: error.code, reason: error.message });
    return { ok: false, error };
  }

  /** All records of the current snapshot (frozen). */
  list(): readonly KeyRecord[] {
    return this.snapshot.records;
  }

  /**
   * The usable record for a presented plaintext key, or KEY_MISSING / KEY_INVALID / KEY_EXPIRED /
   * KEY_NOT_BOUND / MACHINE_ID_UNAVAILABLE. The record is found by the SHA-256 of the key, so the
   * cost is one hash and one map lookup for 10 keys or 100,000, a valid key or a bogus one. The
   * lookup's timing depends only on that digest, which tells an attacker nothing about any key's
   * plaintext; the found record's hash is still compared in constant time before it is trusted.
   */
  authenticate(plaintext: string, now = Date.now()): KeyRecord {
    const presented = plaintext.trim();
    if (presented === '') throw keyMissing();
    const digest = plaintextKeyDigest(presented);
    const hex = digest.toString('hex');
    const candidate = this.snapshot.byHash.get(hex);
    const match = candidate !== undefined && timingSafeEqual(digest, Buffer.from(candidate.hash, 'hex')) ? candidate : undefined;
    if (match === undefined) {
      const revokedId = this.revoked.get(hex);
      throw revokedId === undefined ? keyInvalid() : keyRevoked(revokedId);
    }
    this.checkUsable(match, now);
    return match;
  }

  /**
   * authenticate(plaintext) for a plaintext that matched `earlier` moments ago (the HTTP layer's
   * check of the same request): the record is read afresh by id and hash, skipping a second hash
   * of the plaintext. Only when that record is gone is the plaintext looked up again, so the
   * answer is always the one authenticate(plaintext) gives.
   */
  reauthenticate(plaintext: string, earlier: KeyRecord, now = Date.now()): KeyRecord {
    const current = this.currentRecordOf(earlier);
    if (current === undefined) return this.authenticate(plaintext, now);
    this.checkUsable(current, now);
    return current;
  }

  /** Whether keys.json (as last loaded) has a key with this id. */
  has(id: string): boolean {
    return this.snapshot.byId.has(id);
  }

  /** The current record for `id`; KEY_REVOKED once it has been deleted from keys.json. */
  getById(id: string): KeyRecord {
    const record = this.snapshot.byId.get(id);
    if (record === undefined) throw keyRevoked(id);
    return record;
  }

  /** Throws KEY_EXPIRED, KEY_NOT_BOUND or MACHINE_ID_UNAVAILABLE unless the key may be used now. */
  checkUsable(record: KeyRecord, now = Date.now()): void {
    if (isExpired(record.expires_at, now)) throw keyExpired(record.id);
    this.machine.assertBound(record.id, record.allowed_machines);
  }

  /**
   * The per-call re-check for a session that authenticated as `authenticated`: the record as it
   * is now, still usable. A record re-created under the same id for a different secret counts as
   * revoked, so an old plaintext never inherits a new key's rights.
   */
  refresh(authenticated: KeyRecord, now = Date.now()): KeyRecord {
    const current = this.currentRecordOf(authenticated);
    if (current === undefined) throw keyRevoked(authenticated.id);
    this.checkUsable(current, now);
    return current;
  }

  /** The record under `record`'s id now, if it is still for the same secret. */
  private currentRecordOf(record: KeyRecord): KeyRecord | undefined {
    const current = this.snapshot.byId.get(record.id);
    return current?.hash === record.hash ? current : undefined;
  }
}

function toSnapshot(records: readonly KeyRecord[]): Snapshot {
  return {
    records: Object.freeze([...records]),
    byId: new Map(records.map((record) => [record.id, record])),
    byHash: new Map(records.map((record) => [record.hash, record])),
  };
}
