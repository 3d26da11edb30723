/**
 * Real MCP clients for tests: the v1 SDK client and the v2 client, over stdio (a child process)
 * or Streamable HTTP, behind one small interface so a test can run against both.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Stream } from 'node:stream';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport, getDefaultEnvironment as v1DefaultEnv } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport, getDefaultEnvironment as v2DefaultEnv } from '@modelcontextprotocol/client/stdio';

export type ClientFlavor = 'v1' | 'v2';
export const CLIENT_FLAVORS: readonly ClientFlavor[] = ['v1', 'v2'];

export interface ListedTool {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly inputSchema: Record<string, unknown>;
  readonly outputSchema?: Record<string, unknown>;
  readonly annotations?: Record<string, unknown>;
}

export interface ToolCallResult {
  readonly content: ReadonlyArray<{ readonly type: string; readonly text?: string }>;
  readonly structuredContent?: Record<string, unknown>;
  readonly isError?: boolean;
  readonly _meta?: Record<string, unknown>;
}

export interface McpTestClient {
  readonly flavor: ClientFlavor;
  /** The HTTP session id; undefined over stdio. */
  readonly sessionId: string | undefined;
  readonly protocolVersion: string | undefined;
  listTools(): Promise<ListedTool[]>;
  callTool(name: string, args?: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<ToolCallResult>;
  /** HTTP only: DELETE the session, as a well-behaved client does before leaving. */
  terminateSession(): Promise<void>;
  close(): Promise<void>;
}

export interface StdioTestClient extends McpTestClient {
  /** Everything the server process wrote to stderr so far. */
  stderr(): string;
}

interface NegotiationChoice {
  /** v2 only: 'auto' probes for the 2026-07-28 revision before falling back to initialize. */
  readonly versionNegotiation?: 'legacy' | 'auto';
}

export interface StdioTarget extends NegotiationChoice {
  readonly args: readonly string[];
  readonly command?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface HttpTarget extends NegotiationChoice {
  readonly url: string;
  readonly token?: string;
}

const clientInfo = { name: 'futu-mcp-test', version: '0.0.0' };

function v2Client(choice: NegotiationChoice): V2Client {
  return new V2Client(clientInfo, { versionNegotiation: { mode: choice.versionNegotiation ?? 'legacy' } });
}

type V1Transport = V1StdioTransport | V1HttpTransport;
type V2Transport = V2StdioTransport | V2HttpTransport;

function wrapV1(client: V1Client, transport: V1Transport): McpTestClient {
  return {
    flavor: 'v1',
    get sessionId() {
      return transport instanceof V1HttpTransport ? transport.sessionId : undefined;
    },
    get protocolVersion() {
      return transport instanceof V1HttpTransport ? transport.protocolVersion : undefined;
    },
    listTools: async () => (await client.listTools()).tools as ListedTool[],
    callTool: async (name, args = {}, options = {}) => (await client.callTool({ name, arguments: args }, undefined, options)) as ToolCallResult,
    terminateSession: async () => {
      if (transport instanceof V1HttpTransport) await transport.terminateSession();
    },
    close: () => client.close(),
  };
}

function wrapV2(client: V2Client, transport: V2Transport): McpTestClient {
  return {
    flavor: 'v2',
    get sessionId() {
      return transport instanceof V2HttpTransport ? transport.sessionId : undefined;
    },
    get protocolVersion() {
      return client.getNegotiatedProtocolVersion();
    },
    listTools: async () => (await client.listTools()).tools as ListedTool[],
    callTool: async (name, args = {}, options = {}) => (await client.callTool({ name, arguments: args }, options)) as ToolCallResult,
    terminateSession: async () => {
      if (transport instanceof V2HttpTransport) await transport.terminateSession();
    },
    close: () => client.close(),
  };
}

function collect(stream: Stream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return () => text;
}

/** Spawns `command args` (node by default) and connects over its stdin/stdout. */
export async function connectStdio(flavor: ClientFlavor, target: StdioTarget): Promise<StdioTestClient> {
  const command = target.command ?? process.execPath;
  if (flavor === 'v1') {
    const transport = new V1StdioTransport({ command, args: [...target.args], env: { ...v1DefaultEnv(), ...target.env }, stderr: 'pipe' });
    const stderr = collect(transport.stderr);
    const client = new V1Client(clientInfo);
    await client.connect(transport);
    return { ...wrapV1(client, transport), stderr };
  }
  const transport = new V2StdioTransport({ command, args: [...target.args], env: { ...v2DefaultEnv(), ...target.env }, stderr: 'pipe' });
  const stderr = collect(transport.stderr);
  const client = v2Client(target);
  await client.connect(transport);
  return { ...wrapV2(client, transport), stderr };
}

/** Connects to a Streamable HTTP endpoint, sending `Authorization: Bearer <token>` on every request. */
export async function connectHttp(flavor: ClientFlavor, target: HttpTarget): Promise<McpTestClient> {
  const requestInit: RequestInit = target.token === undefined ? {} : { headers: { Authorization: `Bearer ${target.token}` } };
  if (flavor === 'v1') {
    const transport = new V1HttpTransport(new URL(target.url), { requestInit });
    const client = new V1Client(clientInfo);
    await client.connect(transport);
    return wrapV1(client, transport);
  }
  const transport = new V2HttpTransport(new URL(target.url), { requestInit });
  const client = v2Client(target);
  await client.connect(transport);
  return wrapV2(client, transport);
}

/** The text of a result's first text block. */
export function textOf(result: ToolCallResult): string {
  const block = result.content.find((item) => item.type === 'text');
  if (block?.text === undefined) throw new Error(`result has no text block: ${JSON.stringify(result)}`);
  return block.text;
}

/** Polls until `check` returns (or resolves to) a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Awaited: an async check returns a promise, which is never undefined, and must not count as done.
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RawRequest {
  readonly method?: string;
  /** Sent as given, including Host (fetch would not let a test forge it). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Stream the body in chunks without Content-Length. */
  readonly chunked?: boolean;
}

/** One HTTP exchange over node:http, for requests an MCP client would never send. */
export function rawHttp(url: string, init: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined && !init.chunked) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = httpRequest(
      { host: target.hostname.replace(/^\[(.*)\]$/, '$1'), port: target.port, path: target.pathname + target.search, method: init.method ?? 'GET', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (init.body !== undefined && init.chunked) {
      const body = Buffer.from(init.body);
      for (let offset = 0; offset < body.length; offset += 64 * 1024) req.write(body.subarray(offset, offset + 64 * 1024));
    } else if (init.body !== undefined) {
      req.write(init.body);
    }
    req.end();
  });
}

/** Headers a Streamable HTTP client sends with a JSON-RPC POST. */
export function mcpPostHeaders(token?: string, sessionId?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(token !== undefined && { authorization: `Bearer ${token}` }),
    ...(sessionId !== undefined && { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }),
  };
}

export const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw-http-test', version: '0.0.0' } },
});

export function toolCallBody(name: string, args: Record<string, unknown> = {}, id = 2): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
}

/** A keyless client that opens a POST /mcp and never finishes its headers (a slow-loris connection). */
export async function slowLoris(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write('POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  return socket;
}
