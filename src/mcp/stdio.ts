import { format } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import type { Server } from '@modelcontextprotocol/server';
import { serveStdio as serveSdkStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { describeError } from '../shared/errors.js';
import { log } from '../shared/log.js';

export interface StdioOptions {
  readonly input?: Readable;
  readonly output?: Writable;
  /** Signals that end the connection gracefully. */
  readonly signals?: readonly NodeJS.Signals[];
}

export interface StdioHandle {
  /** Resolves once the connection has ended: stdin closed, a signal, or `close()`. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

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
 * Serves MCP on stdin/stdout (JSON-RPC frames only; logs go to stderr). Takes a factory because
 * the SDK may build a throwaway instance to answer a 2026-era `server/discover` probe before the
 * client settles on an era.
 */
export function serveStdio(createServer: () => Server, options: StdioOptions = {}): StdioHandle {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  if (output === process.stdout) keepStdoutForProtocol();

  const connection = serveSdkStdio(() => createServer(), {
    transport: new StdioServerTransport(input, output),
    onerror: (error) => log.warn('stdio transport error', { error: describeError(error) }),
  });

  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const signal of signals) process.off(signal, onSignal);
      input.off('end', onInputEnd);
      input.off('close', onInputEnd);
      await connection.close();
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

  for (const signal of signals) process.on(signal, onSignal);
  input.once('end', onInputEnd);
  input.once('close', onInputEnd);
  log.info('stdio server ready');
  return { closed, close };
}
