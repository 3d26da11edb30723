import type { CedarValueJson, EntityJson, TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { SCOPES, type Scope } from '../keys/types.js';
import { log, redactPlaintextKeys } from '../shared/log.js';
import { isActionName, type ActionName } from './actions.js';
import type { AuthzRequest } from './builder.js';
import type { Decision } from './decision.js';
import { AuthzError } from './errors.js';

/**
 * --decision-log FILE: one JSON line per call Cedar decided, holding the Cedar request exactly as
 * evaluated (the key's entity attributes, action, resource, context), the decision and the
 * policy version, so `futucli policy replay` can ask a candidate policy set what it would have
 * decided. The request holds no secret by construction (the key entity carries the key's id,
 * scopes and limits, never its plaintext or hash), and every line is scrubbed of anything shaped
 * like a plaintext key all the same.
 *
 * It is an analysis aid beside the audit log, not part of the security record: it is written
 * asynchronously and a write failure is logged, never a reason to deny a call (the hash-chained
 * audit log remains the fail-closed record of every call).
 */
export interface DecisionLogEntry {
  readonly timestamp: string;
  readonly policy_version: string;
  readonly action: ActionName;
  readonly principal: { readonly type: string; readonly id: string; readonly attrs: Record<string, CedarValueJson> };
  readonly resource: { readonly type: string; readonly id: string };
  readonly context: Record<string, CedarValueJson>;
  /** The scope a default deny (no permit matched) reports as missing; null for a tool every key may call. */
  readonly required_scope: Scope | null;
  readonly decision: 'allow' | 'deny';
  readonly code: string;
  readonly policies: readonly string[];
}

export class DecisionLog {
  private failed = false;

  private constructor(
    readonly path: string,
    private readonly stream: WriteStream,
  ) {
    stream.on('error', (err) => {
      if (!this.failed) log.error('decision log write failed; decisions are no longer recorded there', { file: path, error: err.message });
      this.failed = true;
    });
  }

  static open(path: string): DecisionLog {
    return new DecisionLog(path, createWriteStream(path, { flags: 'a', mode: 0o600 }));
  }

  /** Records a Cedar decision; one decided outside Cedar (no request) has nothing to replay. */
  record(decision: Decision, now: Date = new Date()): void {
    const { request } = decision;
    if (!request || this.failed) return;
    const uid = request.principal.uid as TypeAndId;
    const entry: DecisionLogEntry = {
      timestamp: now.toISOString(),
      policy_version: decision.policyVersion,
      action: request.action,
      principal: { type: uid.type, id: uid.id, attrs: request.principal.attrs ?? {} },
      resource: request.resource,
      context: request.context,
      required_scope: request.requiredScope,
      decision: decision.allowed ? 'allow' : 'deny',
      code: decision.code,
      policies: decision.determiningPolicies.map((p) => p.id),
    };
    this.stream.write(`${redactPlaintextKeys(JSON.stringify(entry))}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/** The entries of a decision log with their line numbers; a malformed line is an error naming it. */
export function readDecisionLog(path: string): { line: number; entry: DecisionLogEntry }[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AuthzError('INVALID_VALUE', `cannot read decision log ${path}: ${(err as Error).message}`);
  }
  const entries: { line: number; entry: DecisionLogEntry }[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const line = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new AuthzError('INVALID_VALUE', `${path}:${line}: not a JSON line`);
    }
    const problem = entryProblem(parsed);
    if (problem) throw new AuthzError('INVALID_VALUE', `${path}:${line}: ${problem}`);
    entries.push({ line, entry: parsed as DecisionLogEntry });
  });
  return entries;
}

/** The Cedar request a log entry recorded, ready to evaluate again. */
export function recordedRequest(entry: DecisionLogEntry): AuthzRequest {
  const principal: EntityJson = { uid: { type: entry.principal.type, id: entry.principal.id }, attrs: entry.principal.attrs, parents: [] };
  return { action: entry.action, principal, resource: entry.resource, context: entry.context, requiredScope: entry.required_scope };
}

function entryProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e.action !== 'string' || !isActionName(e.action)) return `unknown action ${JSON.stringify(e.action)}`;
  if (!isUid(e.principal) || !isRecord((e.principal as Record<string, unknown>).attrs)) return 'principal must be {type, id, attrs}';
  if (!isUid(e.resource)) return 'resource must be {type, id}';
  if (!isRecord(e.context)) return 'context must be an object';
  if (e.required_scope !== null && (typeof e.required_scope !== 'string' || !(SCOPES as readonly string[]).includes(e.required_scope))) return 'required_scope must be a scope or null';
  if (e.decision !== 'allow' && e.decision !== 'deny') return 'decision must be "allow" or "deny"';
  if (!Array.isArray(e.policies) || !e.policies.every((p) => typeof p === 'string')) return 'policies must be a list of policy ids';
  if (typeof e.code !== 'string' || typeof e.policy_version !== 'string') return 'code and policy_version must be strings';
  return undefined;
}

function isUid(value: unknown): boolean {
  return isRecord(value) && typeof value.type === 'string' && typeof value.id === 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
