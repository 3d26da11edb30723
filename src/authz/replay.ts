import type { Decision } from './decision.js';
import { recordedRequest, type DecisionLogEntry } from './decisionLog.js';
import type { AuthzEngine } from './engine.js';

/**
 * `futucli policy replay`: every request of a decision log evaluated again by a candidate policy
 * set. A decision changed when allow became deny or the reverse; a different reason for the
 * same verdict is not a change. Changes are counted by policy: a newly denied call under the
 * candidate policy that now denies it (the one whose message the caller would see), a newly
 * allowed one under the recorded policy that no longer denies it.
 */
export interface ReplayedDecision {
  readonly decision: 'allow' | 'deny';
  readonly code: string;
  readonly policies: readonly string[];
}

export interface ReplayChange {
  /** The line of the decision log. */
  readonly line: number;
  readonly timestamp: string;
  readonly action: string;
  readonly key_id: string;
  readonly resource: string;
  readonly change: 'newly_denied' | 'newly_allowed';
  readonly recorded: ReplayedDecision & { readonly policy_version: string };
  readonly candidate: ReplayedDecision;
}

export interface ReplayReport {
  readonly candidate_version: string;
  readonly total: number;
  readonly unchanged: number;
  readonly newly_denied: number;
  readonly newly_allowed: number;
  /** Sorted by policy id. */
  readonly by_policy: readonly { readonly policy: string; readonly newly_denied: number; readonly newly_allowed: number }[];
  readonly changes: readonly ReplayChange[];
}

/** The label of a denial no forbid decided (no permit matched, or an evaluation error). */
export const NO_POLICY = '(no permit)';

export function replayDecisions(entries: readonly { line: number; entry: DecisionLogEntry }[], candidate: AuthzEngine): ReplayReport {
  const changes: ReplayChange[] = [];
  const byPolicy = new Map<string, { newly_denied: number; newly_allowed: number }>();
  const count = (policy: string, field: 'newly_denied' | 'newly_allowed') => {
    const row = byPolicy.get(policy) ?? { newly_denied: 0, newly_allowed: 0 };
    row[field] += 1;
    byPolicy.set(policy, row);
  };
  for (const { line, entry } of entries) {
    const now = replayed(candidate.authorize(recordedRequest(entry)));
    if (now.decision === entry.decision) continue;
    const change = now.decision === 'deny' ? 'newly_denied' : 'newly_allowed';
    count((change === 'newly_denied' ? now.policies[0] : entry.policies[0]) ?? (now.code === 'POLICY_ERROR' ? now.code : NO_POLICY), change);
    changes.push({
      line,
      timestamp: entry.timestamp,
      action: entry.action,
      key_id: entry.principal.id,
      resource: `${entry.resource.type}::${JSON.stringify(entry.resource.id)}`,
      change,
      recorded: { decision: entry.decision, code: entry.code, policies: entry.policies, policy_version: entry.policy_version },
      candidate: now,
    });
  }
  const newlyDenied = changes.filter((c) => c.change === 'newly_denied').length;
  return {
    candidate_version: candidate.version,
    total: entries.length,
    unchanged: entries.length - changes.length,
    newly_denied: newlyDenied,
    newly_allowed: changes.length - newlyDenied,
    by_policy: [...byPolicy.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([policy, row]) => ({ policy, ...row })),
    changes,
  };
}

function replayed(decision: Decision): ReplayedDecision {
  return { decision: decision.allowed ? 'allow' : 'deny', code: decision.code, policies: decision.determiningPolicies.map((p) => p.id) };
}
