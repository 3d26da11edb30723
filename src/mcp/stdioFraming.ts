import { Transform, type TransformCallback } from 'node:stream';
import { parseJSONRPCMessage, STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/server';

export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;

export interface JsonRpcErrorReply {
  readonly jsonrpc: '2.0';
  readonly id: string | number | null;
  readonly error: { readonly code: number; readonly message: string };
}

const BATCH_REFUSED = 'Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send each message on a line of its own';

function validId(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

/**
 * The SDK's stdio transport drops a line it cannot take as one JSON-RPC message (bad JSON, a
 * batch, a message without `method`) and the client waits forever for an answer. This filter sits
 * between stdin and the transport: well-formed messages pass through unchanged, one per line, and
 * every other line is answered here, as JSON-RPC 2.0 requires: -32700 for text that is not JSON,
 * -32600 for JSON that is not one message. A batch is refused too (MCP 2025-06-18 removed
 * batching, and the SDK serves no revision's batches), but answered as JSON-RPC answers a batch:
 * one array with a -32600 for each request in it, under the request's id, so a client waiting on
 * those ids is released and learns to send one message per line (an empty batch gets one -32600).
 */
export function jsonRpcLineFilter(reply: (response: JsonRpcErrorReply | JsonRpcErrorReply[]) => void, maxLineBytes = STDIO_DEFAULT_MAX_BUFFER_SIZE): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** The current line overflowed and was answered; its rest is skipped up to the next newline. */
  let skipping = false;

  const errorReply = (id: string | number | null, code: number, message: string): JsonRpcErrorReply => ({ jsonrpc: '2.0', id, error: { code, message } });
  const answer = (id: string | number | null, code: number, message: string): void => reply(errorReply(id, code, message));
  const answerBatch = (batch: unknown[]): void => {
    if (batch.length === 0) return answer(null, RPC_INVALID_REQUEST, 'Invalid Request: an empty JSON-RPC batch');
    const replies: JsonRpcErrorReply[] = [];
    for (const item of batch) {
      const message = (typeof item === 'object' && item !== null ? item : {}) as { id?: unknown; method?: unknown; result?: unknown; error?: unknown };
      const hasMethod = typeof message.method === 'string';
      if (hasMethod && validId(message.id)) replies.push(errorReply(message.id, RPC_INVALID_REQUEST, BATCH_REFUSED));
      // Notifications and responses get no answer, as JSON-RPC 2.0 says; anything else is answered as invalid.
      else if (!(hasMethod && !('id' in message)) && !(validId(message.id) && ('result' in message || 'error' in message))) {
        replies.push(errorReply(null, RPC_INVALID_REQUEST, BATCH_REFUSED));
      }
    }
    if (replies.length > 0) reply(replies);
  };

  const checkLine = (line: string): boolean => {
    if (line.trim() === '') return false;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      answer(null, RPC_PARSE_ERROR, `Parse error: ${(err as Error).message}`);
      return false;
    }
    if (Array.isArray(value)) {
      answerBatch(value);
      return false;
    }
    try {
      parseJSONRPCMessage(value);
      return true;
    } catch {
      const id = (value as { id?: unknown } | null)?.id;
      answer(
        validId(id) ? id : null,
        RPC_INVALID_REQUEST,
        'Invalid Request: a JSON-RPC message needs "jsonrpc": "2.0" and a string "method" (or, for a response, an "id" with a "result" or an "error")',
      );
      return false;
    }
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      let start = 0;
      for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
        const piece = chunk.subarray(start, newline);
        start = newline + 1;
        if (skipping) {
          skipping = false;
          continue;
        }
        const lineBytes = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
        pending = [];
        pendingBytes = 0;
        const line = lineBytes.toString('utf8').replace(/\r$/, '');
        if (checkLine(line)) this.push(`${line}\n`);
      }
      const rest = chunk.subarray(start);
      if (rest.length > 0 && !skipping) {
        pending.push(rest);
        pendingBytes += rest.length;
        if (pendingBytes > maxLineBytes) {
          pending = [];
          pendingBytes = 0;
          skipping = true;
          answer(null, RPC_INVALID_REQUEST, `Invalid Request: a message longer than ${maxLineBytes} bytes is not read`);
        }
      }
      done();
    },
  });
}
