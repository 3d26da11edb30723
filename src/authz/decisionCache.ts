import type { CedarValueJson, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Scope } from '../keys/types.js';
import { ACTION_SPECS, isActionName, type ActionName } from './actions.js';
import type { AuthzRequest } from './builder.js';
import type { Decision } from './decision.js';
import { deepFreeze } from '../shared/deepFreeze.js';
import { builtPrincipalId } from './principal.js';

/**
 * Decisions of non-trade requests, memoized. A Cedar decision is a pure function of the policy
 * set and the request, and for reads and unlock the request holds nothing time-varying that the
 * builder has not already folded into the context (expired, machineBound), so equal requests get
 * equal decisions. Trade requests are never cached: their context carries ledger usage, which
 * changes with nearly every order, so entries would only displace useful ones.
 *
 * The key is the JSON of everything the decision depends on. On a miss the engine evaluates the
 * request parsed back from that key rather than the caller's objects, so the decision stored
 * under a key is by construction the decision for exactly that text (no getter, toJSON, NaN or
 * undefined can make the evaluated request differ from the keyed one), and the context it
 * carries is a private copy no caller can change. The one exception is a principal built by
 * principalEntity: it is deeply frozen, so the key names it by its id instead of its JSON (the
 * bulk of the key: serializing it and hashing the longer key cost more than the rest of a hit)
 * and the frozen entity itself is evaluated.
 *
 * Eviction is FIFO: a hit is a single Map read with no bookkeeping, and with 10,000 entries a
 * hot request pushed out by a burst of one-off symbols costs one re-evaluation when it next
 * comes back, which LRU would save only at the price of a delete and re-insert on every hit.
 */
export const DEFAULT_DECISION_CACHE_SIZE = 10_000;

/**
 * Longer keys (a hand-built principal with an allowlist of a few hundred symbols) are evaluated
 * every time. That bounds key memory to about 40 MB at the default size, and keeps keys well
 * away from 16,384 characters, beyond which V8 hashes a string by its length only and Map
 * lookups degrade to linear scans.
 */
export const MAX_KEY_LENGTH = 4_096;

export interface DecisionCacheStats {
  readonly hits: number;
  /** Cacheable requests that were evaluated (including those whose outcome was not stored). */
  readonly misses: number;
  /** Entries held for the active policy set. */
  readonly size: number;
}

/** The principal as its built-entity id, or (for any other entity) its content. */
type KeyedFields = [EntityJson | string, ActionName, AuthzRequest['resource'], Record<string, CedarValueJson>, Scope | null];

/** The cache key of a request, or undefined when its decision must not or cannot be cached. */
export function cacheKey(request: AuthzRequest): string | undefined {
  if (!isActionName(request.action) || ACTION_SPECS[request.action].shape === 'trade') return undefined;
  let key: string;
  try {
    const principal = builtPrincipalId(request.principal) ?? request.principal;
    const fields: KeyedFields = [principal, request.action, request.resource, request.context, request.requiredScope];
    key = JSON.stringify(fields);
  } catch {
    // A BigInt or a cycle: the evaluation will fail closed on the caller's own objects.
    return undefined;
  }
  return key.length <= MAX_KEY_LENGTH ? key : undefined;
}

/**
 * The request a key of `request` stands for, deeply frozen so the decision built from it can be
 * shared: parsed back from the key, except a principal keyed by id, which is the caller's own
 * (frozen) entity of that id.
 */
export function keyedRequest(key: string, request: AuthzRequest): AuthzRequest {
  const [keyedPrincipal, action, resource, context, requiredScope] = deepFreeze(JSON.parse(key) as KeyedFields);
  let principal: EntityJson;
  if (typeof keyedPrincipal !== 'string') principal = keyedPrincipal;
  else if (builtPrincipalId(request.principal) === keyedPrincipal) principal = request.principal;
  else throw new Error('decision cache key names another principal than the request');
  return { principal, action, resource, context, requiredScope };
}

/** One per active policy set, so no lookup can ever see another set's decisions. */
export class DecisionCache {
  private readonly entries = new Map<string, Decision>();
  /**
   * Keys in insertion order, as a ring. Evicting through the Map's own order would cost ~4 µs
   * per miss at 10,000 entries: its iterator steps over every deleted entry not yet compacted.
   */
  private readonly order: string[] = [];
  private oldest = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`decision cache size must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Decision | undefined {
    return this.entries.get(key);
  }

  /** Only for a key that get() just missed. */
  set(key: string, decision: Decision): void {
    if (this.order.length < this.capacity) {
      this.order.push(key);
    } else {
      this.entries.delete(this.order[this.oldest]!);
      this.order[this.oldest] = key;
      this.oldest = (this.oldest + 1) % this.capacity;
    }
    this.entries.set(key, decision);
  }
}
