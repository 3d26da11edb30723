import { Transform, type TransformCallback } from 'node:stream';
import { ProtocolError, type Server } from '@modelcontextprotocol/server';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { CallContext, ResourceService } from './server.js';
import { RPC_INVALID_REQUEST, type JsonRpcErrorReply } from './stdioFraming.js';

type RequestId = string | number;

/** Answers of the gate: the SDK's JSON-RPC error shape, with the refusal's code as data. */
type ListenRefusal = Omit<JsonRpcErrorReply, 'error'> & { readonly error: { readonly code: number; readonly message: string; readonly data?: unknown } };

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
  private readonly listens = new Map<RequestId, Array<{ close(): void }>>();

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
      const message = JSON.parse(line) as { id?: RequestId; method?: string; params?: { requestId?: RequestId; notifications?: { resourceSubscriptions?: unknown } } };
      if (message.method === 'notifications/cancelled' && message.params?.requestId !== undefined) this.end(message.params.requestId);
      const uris = message.params?.notifications?.resourceSubscriptions;
      if (message.method === 'subscriptions/listen' && message.id !== undefined && Array.isArray(uris) && uris.length > 0) {
        if (!(await this.authorize(message.id, uris))) continue;
      }
      out += `${line}\n`;
    }
    return out;
  }

  private async authorize(id: RequestId, uris: readonly unknown[]): Promise<boolean> {
    this.end(id);
    const subscriptions: Array<{ close(): void }> = [];
    const context: CallContext = { transport: 'stdio', requestId: String(id), signal: CONNECTION };
    try {
      for (const uri of new Set(uris)) {
        if (typeof uri !== 'string') throw new ProtocolError(RPC_INVALID_REQUEST, 'resourceSubscriptions must be URIs');
        subscriptions.push(await this.resources.subscribe(uri, context, () => this.notify(uri)));
      }
      this.listens.set(id, subscriptions);
      return true;
    } catch (err) {
      for (const subscription of subscriptions) subscription.close();
      const refusal = err instanceof ProtocolError ? err : new ProtocolError(-32603, 'internal error');
      if (!(err instanceof ProtocolError)) log.error('stdio listen authorization failed', { error: describeError(err) });
      this.reply({ jsonrpc: '2.0', id, error: { code: refusal.code, message: refusal.message, ...(refusal.data !== undefined && { data: refusal.data }) } });
      return false;
    }
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
