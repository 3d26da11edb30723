import { Transform, type TransformCallback } from 'node:stream';
import type { Server } from '@modelcontextprotocol/server';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import { authorizeListen, listenedResources, type ListenRefusal } from './listenResources.js';
import type { CallContext, ResourceService } from './server.js';

type RequestId = string | number;

/** A connection that never cancels: listen reads over stdio run for the process's startup key. */
const CONNECTION = new AbortController().signal;

/**
 * Over stdio the SDK answers a 2026-07-28 `subscriptions/listen` itself. This stage sits before
 * it (after the line filter, one whole message per line): a listen naming resources is held
 * until each resource is authorized (its read, through the pipeline, for the startup key), then
 * passed on; a refusal is answered here and the listen never reaches the SDK. The subscriptions
 * live until the client cancels the listen or the connection ends; their updates go out through
 * the connection's 2026-07-28 server (`server()`), whose listen routing stamps them.
 */
export class StdioListenGate {
  private readonly listens = new Map<RequestId, ReadonlyArray<{ close(): void }>>();

  constructor(
    private readonly resources: ResourceService,
    private readonly server: () => Server | undefined,
    private readonly reply: (response: ListenRefusal) => void,
  ) {}

  transform(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done: TransformCallback) => {
        this.pass(chunk.toString('utf8')).then((lines) => done(null, lines), (err: unknown) => done(err as Error));
      },
    });
  }

  close(): void {
    for (const subscriptions of this.listens.values()) for (const subscription of subscriptions) subscription.close();
    this.listens.clear();
  }

  /** The lines to pass on, in order; each listen naming resources is authorized first. */
  private async pass(text: string): Promise<string> {
    let out = '';
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const message = JSON.parse(line) as { method?: string; params?: { requestId?: RequestId } };
      if (message.method === 'notifications/cancelled' && message.params?.requestId !== undefined) this.end(message.params.requestId);
      const listen = listenedResources(message);
      if (listen && !(await this.authorize(listen.id, listen.uris))) continue;
      out += `${line}\n`;
    }
    return out;
  }

  private async authorize(id: RequestId, uris: readonly unknown[]): Promise<boolean> {
    this.end(id);
    const context: CallContext = { transport: 'stdio', requestId: String(id), signal: CONNECTION };
    const authorized = await authorizeListen(this.resources, id, uris, context, (uri) => this.notify(uri));
    if ('refusal' in authorized) {
      this.reply(authorized.refusal);
      return false;
    }
    this.listens.set(id, authorized.subscriptions);
    return true;
  }

  private end(id: RequestId): void {
    for (const subscription of this.listens.get(id) ?? []) subscription.close();
    this.listens.delete(id);
  }

  private notify(uri: string): void {
    this.server()
      ?.sendResourceUpdated({ uri })
      .catch((err: unknown) => log.debug('could not send resources/updated', { uri, error: describeError(err) }));
  }
}
