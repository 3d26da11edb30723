import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';

/**
 * The resource subscriptions of one 2026-07-28 `subscriptions/listen` stream, authorized for its
 * key before the stream opened. `deliver` reaches that stream only; closing the stream closes them.
 */
export class ListenScope {
  private listener: ((event: ServerEvent) => void) | undefined;
  private closed = false;
  private readonly subscriptions: Array<{ close(): void }> = [];

  add(subscription: { close(): void }): void {
    if (this.closed) subscription.close();
    else this.subscriptions.push(subscription);
  }

  /** Tells the stream that `uri` changed; dropped before the stream opened or after it closed. */
  deliver(uri: string): void {
    this.listener?.({ kind: 'resource_updated', uri });
  }

  get opened(): boolean {
    return this.listener !== undefined;
  }

  attach(listener: (event: ServerEvent) => void): void {
    if (!this.closed) this.listener = listener;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener = undefined;
    for (const subscription of this.subscriptions.splice(0)) subscription.close();
  }
}

/**
 * The event bus of the 2026-07-28 handler's listen streams. The SDK's bus sends a resource
 * update to every stream whose filter names the URI, whoever's key opened it; here a resource
 * update goes only to the stream whose own (authorized, re-checked) subscription it is: the
 * stream is bound to its ListenScope while the handler opens it (`within`), and `publish` of a
 * resource update reaches no one. List changes still go to every stream.
 */
export class KeyedListenBus implements ServerEventBus {
  private readonly scope = new AsyncLocalStorage<ListenScope>();
  private readonly listeners = new Set<(event: ServerEvent) => void>();

  /** Runs `serve` (the handler answering one listen request) with the stream it opens bound to `scope`. */
  within<T>(scope: ListenScope, serve: () => T): T {
    return this.scope.run(scope, serve);
  }

  publish(event: ServerEvent): void {
    if (event.kind === 'resource_updated') return;
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    const scope = this.scope.getStore();
    scope?.attach(listener);
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      scope?.close();
    };
  }
}
