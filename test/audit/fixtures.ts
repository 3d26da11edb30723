import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { SystemEvent, ToolCallEvent } from '../../src/audit/index.js';

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
