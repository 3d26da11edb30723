/** What the CLI entry points need of a started server to drive it by signals. */
export interface SignalledServer {
  reload(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * SIGHUP's default action ends the process, so its handler goes in before startup: a HUP that
 * arrives while the server starts (keys edited meanwhile) reloads once it is ready instead of
 * killing it. SIGINT/SIGTERM close it gracefully once it runs.
 */
export function handleSignals(): { ready(server: SignalledServer): void } {
  let running: SignalledServer | undefined;
  let reloadWhenReady = false;
  process.on('SIGHUP', () => {
    if (running) void running.reload();
    else reloadWhenReady = true;
  });
  return {
    ready(server) {
      running = server;
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void server.close());
      if (reloadWhenReady) void server.reload();
    },
  };
}
