import { format } from 'node:util';
import type { ServerFactory } from './http/sessions.js';
import { serveStdio as serveSdkStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';
import type { Server } from '@modelcontextprotocol/server';
import type { ResourceService } from './server.js';
import { jsonRpcLineFilter } from './stdioFraming.js';
import { StdioListenGate } from './stdioListen.js';

export interface StdioHandle {
  /** Resolves once the connection has ended: stdin closed, SIGTERM/SIGINT, or `close()`. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Libraries that print with console.log (the futu-api package does) would interleave text with
 * the JSON-RPC frames on stdout and break the client; send them to stderr instead.
 */
function keepStdoutForProtocol(): void {
  const toStderr = (...args: unknown[]) => {
    process.stderr.write(format(...args) + '\n');
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

/**
 * Serves MCP on this process's stdin/stdout: JSON-RPC frames only on stdout, logs on stderr.
 * Takes a factory because the SDK picks the era from the client's opening message (initialize:
 * 2025, a request with the 2026-07-28 `_meta` envelope: modern) and may build a throwaway
 * instance to answer a `server/discover` probe before the client settles on one.
 */
export function serveStdio(createServer: ServerFactory, resources?: ResourceService): StdioHandle {
  keepStdoutForProtocol();
  const reply = (response: object) => process.stdout.write(`${JSON.stringify(response)}\n`);
  // Lines that are not one JSON-RPC message are answered by the filter; the rest reach the SDK,
  // a 2026-07-28 listen naming resources once they are authorized.
  let modern: Server | undefined;
  const gate = resources && new StdioListenGate(resources, () => modern, reply);
  const lines = process.stdin.pipe(jsonRpcLineFilter(reply));
  const input = gate ? lines.pipe(gate.transform()) : lines;
  const connection = serveSdkStdio(async ({ era }) => {
    const server = await createServer({ era });
    if (era === 'modern') modern = server;
    return server;
  }, {
    transport: new StdioServerTransport(input, process.stdout),
    onerror: (error) => log.warn('stdio transport error', { error: describeError(error) }),
  });

  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
      process.stdin.off('end', onInputEnd).off('close', onInputEnd);
      gate?.close();
      await connection.close();
      // The transport reads the filter; stdin itself must stop too, or it keeps the process alive.
      process.stdin.unpipe(lines);
      process.stdin.pause();
      log.info('stdio connection closed');
      markClosed();
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log.info('stdio server stopping', { signal });
    void close();
  };
  const onInputEnd = () => void close();

  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  process.stdin.once('end', onInputEnd).once('close', onInputEnd);
  log.info('stdio server ready');
  return { closed, close };
}
