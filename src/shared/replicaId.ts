import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process among the replicas of one deployment: host, pid and a random part (a pid can be
 * reused after a restart). It stamps every audit record this process writes and, with --redis,
 * its locks, intents and heartbeat: one id from the audit log to the shared state.
 */
export function newReplicaId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
