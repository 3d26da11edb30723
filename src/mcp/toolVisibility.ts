import { grantingScopes, isActionName } from '../authz/actions.js';
import type { KeyStore } from '../keys/store.js';
import type { KeyRecord } from '../keys/types.js';
import type { CallContext, ToolVisibility } from './server.js';
import type { ToolListing } from './tool.js';

export interface KeyToolVisibility extends ToolVisibility {
  /** Tell every connection's server that keys or policies were reloaded. */
  reloaded(): void;
}

/**
 * tools/list per key: a connection sees the tools its key holds a scope for (HTTP: the key that
 * opened the session, as it is now; stdio: the startup key). A key presented but no longer
 * usable sees none; stdio without a startup key sees all, as each call may bring its own api_key.
 * Listing is a courtesy to the model, never a control: every call is still authorized.
 */
export function keyToolVisibility(keys: KeyStore, startupKey: string | undefined, tools: readonly ToolListing[]): KeyToolVisibility {
  const listeners = new Set<() => void>();
  const visibleFor = (key: KeyRecord): ReadonlySet<string> =>
    new Set(
      tools
        .filter((t) => {
          if (!isActionName(t.name)) return false;
          const granting = grantingScopes(t.name);
          return granting === null || granting.some((scope) => key.scopes.includes(scope));
        })
        .map((t) => t.name),
    );
  const keyOf = (context: CallContext): KeyRecord | null | undefined => {
    try {
      if (context.bearerKey !== undefined) return keys.refresh(context.bearerKey);
      if (context.transport === 'stdio' && startupKey) return keys.authenticate(startupKey);
      return undefined;
    } catch {
      return null;
    }
  };
  return {
    visibleTo: (context) => {
      const key = keyOf(context);
      if (key === undefined) return undefined;
      return key === null ? new Set() : visibleFor(key);
    },
    onReload: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reloaded: () => {
      for (const listener of [...listeners]) listener();
    },
  };
}
