import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mock, type TestContext } from 'node:test';
import { AuditError, type SystemEvent, type ToolCallEvent } from '../../src/audit/index.js';
import type { Fdatasync } from '../../src/audit/openFile.js';

/** A fresh directory removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'futu-audit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readCall(overrides: Partial<ToolCallEvent> = {}): ToolCallEvent {
  return {
    event: 'tool_call',
    transport: 'stdio',
    tool: 'futu_get_quote',
    key_id: 'claude-analyst',
    decision: 'allow',
    outcome: 'success',
    reason: null,
    code: null,
    scope: 'qot:read',
    args_hash: '0123456789abcdef',
    policy_version: 'v1',
    policies: ['scope-read'],
    session_id: null,
    latency_ms: 1.25,
    ...overrides,
  } as ToolCallEvent;
}

export function rejectedOrder(overrides: Partial<ToolCallEvent> = {}): ToolCallEvent {
  return readCall({
    tool: 'futu_place_order',
    decision: 'deny',
    outcome: 'reject',
    reason: 'missing scope trade:real',
    code: 'MISSING_SCOPE',
    scope: 'trade:real',
    policies: [],
    ...overrides,
  } as Partial<ToolCallEvent>);
}

export function systemEvent(overrides: Partial<SystemEvent> = {}): SystemEvent {
  return { event: 'reload', outcome: 'success', reason: null, code: null, policy_version: 'v2', ...overrides };
}

export function fileLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

export function writeLines(file: string, lines: readonly string[]): void {
  fs.writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
}

export function fileRecords(file: string): Record<string, unknown>[] {
  return fileLines(file).map((line) => JSON.parse(line) as Record<string, unknown>);
}

export const isDeniedCall = (err: unknown): boolean =>
  err instanceof AuditError && err.code === 'AUDIT_WRITE_FAILED' && err.message === 'audit log unavailable: call denied';

/**
 * The AuditLogOptions.fdatasync seam: every call is recorded and parked until the test releases
 * it, either into the real fs.fdatasync (so a descriptor closed too early shows up as EBADF) or
 * into an injected failure.
 */
export class HeldSyncs {
  readonly fds: number[] = [];
  private readonly parked: Array<(failure: NodeJS.ErrnoException | null) => void> = [];

  readonly fdatasync: Fdatasync = (fd, done) => {
    this.fds.push(fd);
    this.parked.push((failure) => (failure === null ? fs.fdatasync(fd, done) : done(failure)));
  };

  get calls(): number {
    return this.fds.length;
  }

  /** Lets the oldest parked sync run for real. */
  release(): void {
    this.next()(null);
  }

  /** Fails the oldest parked sync with EIO, as a disk that lost a writeback would. */
  fail(): void {
    this.next()(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
  }

  private next(): (failure: NodeJS.ErrnoException | null) => void {
    const parked = this.parked.shift();
    assert.ok(parked, 'no fdatasync is waiting to be released');
    return parked;
  }
}

/** Whether a promise has settled, after letting every already-due callback run. */
export async function state(promise: Promise<unknown>): Promise<'resolved' | 'rejected' | 'pending'> {
  return Promise.race([
    promise.then(
      () => 'resolved' as const,
      () => 'rejected' as const,
    ),
    new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending'))),
  ]);
}

/**
 * Lets the appends queued so far be written: AuditLog writes its queue from a setImmediate queued
 * by the first of them, which runs (with the microtasks of an uncontended lock and the write)
 * before this later one.
 */
export function batchWritten(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves once `lockFile` is gone: the audit log's lease ends by itself once appends stop. */
export async function lockReleased(lockFile: string, withinMs = 2_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (fs.existsSync(lockFile)) {
    assert.ok(Date.now() < deadline, `${lockFile} still held after ${withinMs} ms without appends`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * A disk filling up mid-write can't be produced on demand: the next buffer write is cut short,
 * and every one after it fails with ENOSPC, until restore(). String writes (lock files) pass.
 */
export function shortWriteThenEnospc(): { readonly writes: () => number; restore(): void } {
  const realWrite = fs.writeSync;
  let writes = 0;
  const mocked = mock.method(fs, 'writeSync', (fd: number, data: Buffer | string, offset?: number, length?: number) => {
    if (typeof data === 'string') return realWrite(fd, data);
    writes += 1;
    if (writes === 1) return realWrite(fd, data, offset, Math.floor(length! / 2));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  });
  return { writes: () => writes, restore: () => mocked.mock.restore() };
}
