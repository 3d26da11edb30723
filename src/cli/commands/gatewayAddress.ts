import { GatewayError } from '../../gateway/errors.js';

/** `--gateway HOST:PORT` (IPv6 in brackets). */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65_535) {
    throw new GatewayError('INVALID_ARGUMENT', `invalid --gateway "${text.slice(0, 80)}": expected HOST:PORT, e.g. 127.0.0.1:11111`);
  }
  return { host: (m[1] ?? m[2])!, port };
}
