import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/node';
import { defaultAllowedHostnames, urlHostname, type BindAddress } from './listen.js';

export type RequestGuard = (req: IncomingMessage, res: ServerResponse) => boolean;

// The SDK guards compare hostnames only (any port); accept `https://app.example:8443` or `[::1]` too.
function hostnameOf(entry: string): string {
  if (/^https?:\/\//i.test(entry)) return new URL(entry).hostname;
  return urlHostname(entry.replace(/^\[(.*)\]$/, '$1'));
}

/**
 * DNS-rebinding and cross-site protection for every route: the Host header must name this
 * server, and an Origin header, when a browser sends one, must be this server or an allowed
 * origin. A refused request is answered 403 by the guard itself.
 */
export function hostOriginGuard(bind: BindAddress, allowedHosts: readonly string[] = [], allowedOrigins: readonly string[] = []): {
  readonly guard: RequestGuard;
  readonly hostnames: readonly string[];
} {
  const hostnames = [...new Set([...defaultAllowedHostnames(bind), ...allowedHosts.map(hostnameOf)])];
  const validateHost = hostHeaderValidation(hostnames);
  const validateOrigin = originValidation([...new Set([...hostnames, ...allowedOrigins.map(hostnameOf)])]);
  return { guard: (req, res) => validateHost(req, res) && validateOrigin(req, res), hostnames };
}
