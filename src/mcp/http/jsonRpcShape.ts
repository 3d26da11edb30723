import { HttpError, RPC_INVALID_REQUEST } from './respond.js';

/**
 * JSON that parsed but is not a JSON-RPC message (e.g. no `method`) is an Invalid Request
 * (-32600), not a Parse error (-32700): the client sent valid JSON and should be told its message
 * is malformed. Requests and notifications need `"jsonrpc": "2.0"` and a string `method`;
 * responses an `id` and a `result` or an `error`.
 */
export function assertJsonRpcMessages(body: unknown): void {
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
    throw new HttpError(
      400,
      'invalid_request',
      'Invalid Request: each JSON-RPC message needs "jsonrpc": "2.0" and a "method" (or, for a response, an "id" with a "result" or an "error")',
      {},
      RPC_INVALID_REQUEST,
    );
  }
}

function isJsonRpcMessage(message: unknown): boolean {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return false;
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return false;
  if (typeof m.method === 'string') return true;
  return 'id' in m && ('result' in m || 'error' in m);
}
