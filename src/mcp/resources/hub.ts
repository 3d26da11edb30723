import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { ReadResourceResult, Resource, ResourceTemplateType } from '@modelcontextprotocol/server';
import type { AccountDirectory } from '../../gateway/accounts.js';
import type { FutuGateway } from '../../gateway/api.js';
import type { KeyRecord } from '../../keys/types.js';
import { describeError, isFutuError } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import type { Metrics, PushFilterReason } from '../metrics.js';
import { describeIssues, type CallContext, type CallHandler, type ToolFailure } from '../server.js';
import type { ToolListing } from '../tool.js';
import { orderbookResource } from './orderbook.js';
import { ordersResource } from './orders.js';
import { quoteResource } from './quote.js';
import type { ResourceDeclaration, ResourceUpdate } from './resource.js';
import { Throttle, WALL_CLOCK, type ThrottleClock } from './throttle.js';

/** At most one notifications/resources/updated per resource and subscriber in this interval. */
export const UPDATE_INTERVAL_MS = 1000;

const MIME_TYPE = 'application/json';

/** What the hub needs from the call pipeline: reads go through it like tool calls, pushes are re-checked by it. */
export interface ResourceReader {
  readonly handleCall: CallHandler;
  keyOf(context: CallContext): KeyRecord;
  pushDenial(key: KeyRecord, toolName: string, args: Record<string, unknown>): Promise<PushFilterReason | undefined>;
}

export interface ResourceHubDeps {
  readonly reader: ResourceReader;
  /** The tool listings, whose input schemas validate the arguments a URI gives. */
  readonly tools: readonly ToolListing[];
  readonly gateway: FutuGateway;
  readonly accounts: AccountDirectory;
  readonly metrics: Metrics;
  readonly clock?: ThrottleClock;
}

/** A live subscription: closing it stops its notifications and gives back what it asked of OpenD. */
export interface ResourceSubscription {
  close(): void;
}

interface Live {
  readonly id: number;
  readonly declaration: ResourceDeclaration;
  /** The URI pushes name (the canonical symbol), which may differ from the one subscribed. */
  readonly pushUri: string;
  readonly key: KeyRecord;
  readonly throttle: Throttle<Record<string, unknown>>;
  closed: boolean;
}

/**
 * The resources futu://quote/{symbol}, futu://orderbook/{symbol} and futu://orders for every
 * transport and era. A read is the tool call it names, through the call pipeline (key, scope,
 * Cedar, quota, audit); a subscription is such a read at subscribe time, and each push is
 * re-authorized for the key as it is at dispatch: a push the key may no longer have is dropped
 * and counted in futu_ws_push_filtered_total{key_id,reason}.
 */
export class ResourceHub {
  readonly declarations: readonly ResourceDeclaration[] = [quoteResource, orderbookResource, ordersResource()];
  private readonly tools: ReadonlyMap<string, ToolListing>;
  private readonly live = new Set<Live>();
  /** The last pushed state per URI, so a repeated push is no change. */
  private readonly lastState = new Map<string, string>();
  private readonly unwatch: Array<() => void>;
  private nextId = 1;

  constructor(private readonly deps: ResourceHubDeps) {
    this.tools = new Map(deps.tools.map((tool) => [tool.name, tool]));
    this.unwatch = this.declarations.map((declaration) => declaration.watch(deps.gateway, (update) => this.changed(declaration, update)));
  }

  /** The resource families the context's key has the scope to read. */
  templates(context: CallContext): ResourceTemplateType[] {
    return this.readable(context, true).map((d) => ({ uriTemplate: d.uriTemplate, ...this.describe(d) }));
  }

  /** The single resources the context's key has the scope to read (the families are listed as templates). */
  list(context: CallContext): Resource[] {
    return this.readable(context, false).map((d) => ({ uri: d.uriTemplate, ...this.describe(d) }));
  }

  async read(uri: string, context: CallContext): Promise<ReadResourceResult> {
    const { declaration, args } = this.resolve(uri);
    const outcome = await this.deps.reader.handleCall(declaration.tool, args, context);
    if (!('structured' in outcome)) throw refusal('error' in outcome ? outcome.error : { code: 'INTERNAL_ERROR', message: `${declaration.tool} cannot be read as a resource` });
    return { contents: [{ uri, mimeType: MIME_TYPE, text: JSON.stringify(outcome.structured) }] };
  }

  /**
   * Authorizes and starts a subscription: the read at subscribe time (a refusal refuses the
   * subscription; it also claims the OpenD subscription in the key's budget), then `notify` on
   * each change that passes the re-check, at most once per UPDATE_INTERVAL_MS.
   */
  async subscribe(uri: string, context: CallContext, notify: () => void): Promise<ResourceSubscription> {
    const { declaration, args } = this.resolve(uri);
    await this.read(uri, context);
    const key = this.deps.reader.keyOf(context);
    const id = this.nextId++;
    const live: Live = {
      id,
      declaration,
      pushUri: declaration.uriOf(args),
      key,
      throttle: new Throttle(UPDATE_INTERVAL_MS, this.deps.clock ?? WALL_CLOCK, (changes) => void this.deliver(live, changes, notify)),
      closed: false,
    };
    const { gateway, accounts } = this.deps;
    try {
      await declaration.pushes?.claim(id, key, args, { gateway, accounts });
    } catch (err) {
      await declaration.pushes?.release(id, gateway).catch(() => undefined);
      throw refusal(isFutuError(err) ? { code: err.code, message: err.message } : { code: 'INTERNAL_ERROR', message: `could not subscribe ${uri}` });
    }
    this.live.add(live);
    return {
      close: () => {
        if (live.closed) return;
        live.closed = true;
        live.throttle.stop();
        this.live.delete(live);
        declaration.pushes?.release(id, gateway).catch((err: unknown) => log.warn('could not release resource pushes', { uri, error: describeError(err) }));
      },
    };
  }

  /** Stops watching the gateway and every subscription. */
  close(): void {
    for (const stop of this.unwatch) stop();
    for (const live of this.live) {
      live.closed = true;
      live.throttle.stop();
    }
    this.live.clear();
  }

  /** Listing only: a key that cannot be resolved is shown nothing, and every read is authorized anyway. */
  private readable(context: CallContext, templated: boolean): ResourceDeclaration[] {
    let key: KeyRecord;
    try {
      key = this.deps.reader.keyOf(context);
    } catch {
      return [];
    }
    return this.declarations.filter((d) => d.uriTemplate.includes('{') === templated && key.scopes.includes(d.scope));
  }

  private describe(d: ResourceDeclaration): { name: string; title: string; description: string; mimeType: string } {
    return { name: d.name, title: d.title, description: d.description, mimeType: MIME_TYPE };
  }

  /** The resource a URI names and its tool arguments, validated by the tool's input schema. */
  private resolve(uri: string): { declaration: ResourceDeclaration; args: Record<string, unknown> } {
    for (const declaration of this.declarations) {
      const raw = declaration.argsOf(uri);
      if (raw === undefined) continue;
      const tool = this.tools.get(declaration.tool);
      const parsed = tool?.input.safeParse(raw);
      if (!parsed?.success) {
        const why = parsed ? describeIssues(parsed.error.issues) : `${declaration.tool} is not served`;
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `invalid resource URI ${JSON.stringify(uri.slice(0, 200))}: ${why}`);
      }
      return { declaration, args: parsed.data as Record<string, unknown> };
    }
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `unknown resource ${JSON.stringify(uri.slice(0, 200))}: futu://quote/{symbol}, futu://orderbook/{symbol} and futu://orders exist`);
  }

  private changed(declaration: ResourceDeclaration, update: ResourceUpdate): void {
    if (update.state !== undefined) {
      if (this.lastState.get(update.uri) === update.state) return;
      this.lastState.set(update.uri, update.state);
    }
    for (const live of this.live) {
      if (live.declaration === declaration && live.pushUri === update.uri) live.throttle.push(JSON.stringify(update.args), update.args);
    }
  }

  /** The re-check at dispatch: the key as it is now, for each change held; any allowed one is announced. */
  private async deliver(live: Live, changes: readonly Record<string, unknown>[], notify: () => void): Promise<void> {
    let allowed = false;
    for (const args of changes) {
      const denial = await this.deps.reader.pushDenial(live.key, live.declaration.tool, args);
      if (denial === undefined) allowed = true;
      else this.deps.metrics.wsPushFiltered(live.key.id, denial);
    }
    if (!allowed || live.closed) return;
    try {
      notify();
    } catch (err) {
      log.warn('could not send a resource update', { uri: live.pushUri, error: describeError(err) });
    }
  }
}

function refusal(failure: ToolFailure): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidRequest, `error (${failure.code}): ${failure.message}`, { code: failure.code });
}
