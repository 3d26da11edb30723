import type { ServerResponse } from 'node:http';
import { FutuError } from '../../shared/errors.js';

/** JSON-RPC error codes the Streamable HTTP transport uses for transport-level refusals. */
export const RPC_SERVER_ERROR = -32000;
export const RPC_SESSION_NOT_FOUND = -32001;
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;

/** A refusal answered at the HTTP layer, before any MCP session sees the request. */
export class HttpError extends FutuError {
  /** For refusals of a recognised key (expired, revoked, unbound, other session): whose it was. */
  keyId?: string;
  /** The stable code behind a 401 (e.g. KEY_EXPIRED), for the audit record. */
  causeCode?: string;

  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly rpcCode = RPC_SERVER_ERROR,
  ) {
    super(code, message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(text);
}

/** Same body shape as the SDK transport's own refusals, so clients see one format. */
export function sendHttpError(res: ServerResponse, error: HttpError): void {
  sendJson(
    res,
    error.status,
    { jsonrpc: '2.0', error: { code: error.rpcCode, message: error.message, data: { reason: error.code } }, id: null },
    error.headers,
  );
}

export function requireMethod(method: string | undefined, allowed: readonly string[]): void {
  if (method === undefined || !allowed.includes(method)) {
    throw new HttpError(405, 'method_not_allowed', `method ${method ?? '?'} not allowed; use ${allowed.join(', ')}`, { allow: allowed.join(', ') });
  }
}
