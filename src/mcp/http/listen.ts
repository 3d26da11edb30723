import { networkInterfaces } from 'node:os';
import { isIPv6 } from 'node:net';
import { localhostAllowedHostnames } from '@modelcontextprotocol/server';
import { FutuError } from '../../shared/errors.js';

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

const LISTEN = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/;
const WILDCARDS = new Set(['0.0.0.0', '::']);

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT`; a missing host means loopback, never all interfaces. */
export function parseListen(listen: string): BindAddress {
  const match = LISTEN.exec(listen.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new FutuError('invalid_listen_address', `invalid listen address "${listen}": expected HOST:PORT, [IPv6]:PORT or :PORT`);
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A host as it appears in a URL or a Host header: IPv6 literals in brackets. */
export function urlHostname(host: string): string {
  return isIPv6(host) ? `[${host}]` : host.toLowerCase();
}

/** Where a local client should connect to reach this bind address. */
export function connectHost(bind: BindAddress): string {
  if (bind.host === '::') return '::1';
  return WILDCARDS.has(bind.host) ? '127.0.0.1' : bind.host;
}

/**
 * Host names a request may carry when none are configured: the names this bind address can be
 * reached by directly. A DNS-rebinding page carries its own domain, which is never among them.
 */
export function defaultAllowedHostnames(bind: BindAddress): string[] {
  if (isLoopback(bind.host)) return localhostAllowedHostnames();
  if (!WILDCARDS.has(bind.host)) return [urlHostname(bind.host)];
  const interfaceAddresses = Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .map((address) => urlHostname(address.address));
  return [...new Set([...localhostAllowedHostnames(), ...interfaceAddresses])];
}
