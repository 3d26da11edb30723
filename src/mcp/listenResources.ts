import { ProtocolError } from '@modelcontextprotocol/server';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { CallContext, ResourceService } from './server.js';

/**
 * 2026-07-28 clients subscribe to resources with `subscriptions/listen`, which the SDK answers
 * itself (over HTTP and stdio alike) without asking the server. Both transports therefore run
 * this before the SDK sees such a listen: every resource it names is subscribed (authorized)
 * for the request's key, or the listen is refused whole.
 */

type RequestId = string | number;

/** A JSON-RPC error answering a refused listen, with the refusal's code as data. */
export interface ListenRefusal {
  readonly jsonrpc: '2.0';
  readonly id: RequestId;
  readonly error: { readonly code: number; readonly message: string; readonly data?: unknown };
}

export type ListenAuthorization = { readonly subscriptions: ReadonlyArray<{ close(): void }> } | { readonly refusal: ListenRefusal };

/** The id and resource URIs of a `subscriptions/listen` naming resources; undefined for anything else. */
export function listenedResources(message: unknown): { id: RequestId; uris: unknown[] } | undefined {
  const m = message as { id?: unknown; method?: unknown; params?: { notifications?: { resourceSubscriptions?: unknown } } } | null;
  if (m?.method !== 'subscriptions/listen' || (typeof m.id !== 'string' && typeof m.id !== 'number')) return undefined;
  const uris = m.params?.notifications?.resourceSubscriptions;
  return Array.isArray(uris) && uris.length > 0 ? { id: m.id, uris } : undefined;
}

/** Subscribes each URI for `context`'s key, `notify(uri)` on its updates; the first refusal closes the others. */
export async function authorizeListen(resources: ResourceService, id: RequestId, uris: readonly unknown[], context: CallContext, notify: (uri: string) => void): Promise<ListenAuthorization> {
  const subscriptions: Array<{ close(): void }> = [];
  try {
    for (const uri of new Set(uris)) {
      if (typeof uri !== 'string') throw new ProtocolError(-32602, 'Invalid params: resourceSubscriptions must be resource URIs');
      subscriptions.push(await resources.subscribe(uri, context, () => notify(uri)));
    }
    return { subscriptions };
  } catch (err) {
    for (const subscription of subscriptions) subscription.close();
    if (!(err instanceof ProtocolError)) log.error('listen authorization failed', { error: describeError(err) });
    const refusal = err instanceof ProtocolError ? err : new ProtocolError(-32603, 'internal error: the listen was not authorized');
    return { refusal: { jsonrpc: '2.0', id, error: { code: refusal.code, message: refusal.message, ...(refusal.data !== undefined && { data: refusal.data }) } } };
  }
}
