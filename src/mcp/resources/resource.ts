import type { AccountDirectory } from '../../gateway/accounts.js';
import type { FutuGateway } from '../../gateway/api.js';
import type { KeyRecord, Scope } from '../../keys/types.js';

/**
 * One MCP resource: a read of one tool (its arguments, scope, Cedar action, executor and output
 * shape are the tool's), addressed by a URI, and the gateway pushes that change it.
 */
export interface ResourceDeclaration {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** `futu://quote/{symbol}` for a family of resources, or the one URI of a single resource. */
  readonly uriTemplate: string;
  /** The scope its reads need (the tool's): resources/list shows it only to keys that have it. */
  readonly scope: Scope;
  /** The tool whose read the resource is. */
  readonly tool: string;
  /** The tool's arguments for `uri`, before the tool's input schema; undefined if it is not this resource's. */
  argsOf(uri: string): Record<string, unknown> | undefined;
  /** The URI a read with these (validated) arguments answers, as pushes name it. */
  uriOf(args: Record<string, unknown>): string;
  /** Feeds the gateway's pushes for this resource to `changed`; returns the unsubscribe. */
  watch(gateway: FutuGateway, changed: (update: ResourceUpdate) => void): () => void;
  /** What a subscription needs from OpenD beyond the first read (futu://orders: the account pushes). */
  readonly pushes?: PushSource;
}

/** One push: the resource it changes, the tool arguments its re-check authorizes, and its content for change detection. */
export interface ResourceUpdate {
  readonly uri: string;
  readonly args: Record<string, unknown>;
  /** The pushed state; a push equal to the previous one of the same URI changes nothing. Absent: every push is a change. */
  readonly state?: string;
}

export interface PushContext {
  readonly gateway: FutuGateway;
  readonly accounts: AccountDirectory;
}

/** OpenD pushes a subscription asks for while it lives (per subscription id); `args` are its read's. */
export interface PushSource {
  claim(subscriptionId: number, key: KeyRecord, args: Record<string, unknown>, context: PushContext): Promise<void>;
  release(subscriptionId: number, gateway: FutuGateway): Promise<void>;
}

/**
 * A quote-type subscription held in the key's OpenD budget while the resource subscription
 * lives, so the key's reads never release it to make room; released (to an ordinary claim) with it.
 */
export class HeldSubscription implements PushSource {
  private readonly releases = new Map<number, () => void>();

  constructor(private readonly subType: 'QUOTE' | 'ORDER_BOOK') {}

  async claim(subscriptionId: number, key: KeyRecord, args: Record<string, unknown>, { gateway }: PushContext): Promise<void> {
    this.releases.set(subscriptionId, await gateway.holdSubscription(String(args.symbol), this.subType, key.id));
  }

  async release(subscriptionId: number): Promise<void> {
    this.releases.get(subscriptionId)?.();
    this.releases.delete(subscriptionId);
  }
}

/** A template's single variable from `uri`, or undefined when `uri` is not of the form `prefix` + value. */
export function templateValue(uri: string, prefix: string): string | undefined {
  if (!uri.startsWith(prefix)) return undefined;
  const value = uri.slice(prefix.length);
  if (value === '' || value.includes('/') || value.includes('?') || value.includes('#')) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
