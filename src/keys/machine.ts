import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { keyNotBound, machineIdUnavailable } from './errors.js';

/**
 * Machine binding ("soft binding"): a key may list the machines it works on, so a copied
 * keys.json plus plaintext stops working on another host. It does not stop an attacker who is
 * already on the bound host.
 *
 * Fingerprint encoding (ours; the reference product documents the formula, not the encoding):
 *   `fp_` + lowercase hex SHA-256( "futu-machine-bind:v1:" + key_id + ":" + raw_machine_id )
 * keys.json may hold the 64 hex digits with or without the `fp_` prefix, in either case; we
 * always write the prefixed lowercase form. Mixing in key_id keeps one key's fingerprint from
 * identifying the machine for another key; the raw machine id is never printed or stored.
 */
const FINGERPRINT_PREFIX = 'fp_';
const FINGERPRINT_INPUT = /^(?:fp_)?([0-9a-fA-F]{64})$/;

/**
 * For containers and tests: a file holding the raw machine id, read instead of the OS source.
 * When set, it is the only source (no fallback), so a broken override fails closed.
 */
export const MACHINE_ID_FILE_ENV = 'FUTU_MCP_MACHINE_ID_FILE';

export interface MachineId {
  readonly raw: string;
  /** Where it came from, for operator messages (a path or command name, never the id). */
  readonly source: string;
}

/** Returns the raw machine id or throws MACHINE_ID_UNAVAILABLE. */
export type MachineIdReader = () => MachineId;

export function machineFingerprint(keyId: string, rawMachineId: string): string {
  const digest = createHash('sha256').update(`futu-machine-bind:v1:${keyId}:${rawMachineId}`, 'utf8').digest('hex');
  return FINGERPRINT_PREFIX + digest;
}

/** The canonical `fp_<hex>` form of a fingerprint as written by an operator, or undefined. */
export function normalizeFingerprint(text: string): string | undefined {
  const m = FINGERPRINT_INPUT.exec(text);
  return m ? FINGERPRINT_PREFIX + m[1]!.toLowerCase() : undefined;
}

export function readPlatformMachineId(env: NodeJS.ProcessEnv = process.env, platform = process.platform): MachineId {
  const override = env[MACHINE_ID_FILE_ENV];
  if (override) return fromFiles([override]);
  switch (platform) {
    case 'linux':
      return fromFiles(['/etc/machine-id', '/var/lib/dbus/machine-id']);
    case 'darwin':
      return fromCommand('ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice'], /"IOPlatformUUID"\s*=\s*"([^"]+)"/);
    case 'win32':
      // /reg:64 reads the 64-bit registry view even from a 32-bit node, where MachineGuid lives.
      return fromCommand(
        'reg',
        ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid', '/reg:64'],
        /MachineGuid\s+REG_SZ\s+(\S+)/,
      );
    default:
      throw machineIdUnavailable(`no machine id source on ${platform}`);
  }
}

function fromFiles(paths: readonly string[]): MachineId {
  for (const path of paths) {
    let raw: string;
    try {
      raw = readFileSync(path, 'utf8').trim();
    } catch {
      continue;
    }
    // systemd writes "uninitialized" until first boot completes; it is not an identity.
    if (raw !== '' && raw !== 'uninitialized') return { raw, source: path };
  }
  throw machineIdUnavailable(`cannot read ${paths.join(' or ')}`);
}

/** What `ioreg` (macOS) and `reg` (Windows) need to run, and nothing else. */
function minimalEnv(): NodeJS.ProcessEnv {
  const { PATH, SystemRoot } = process.env;
  return { PATH: PATH ?? '', ...(SystemRoot !== undefined ? { SystemRoot } : {}) };
}

function fromCommand(command: string, args: string[], pattern: RegExp): MachineId {
  let stdout: string;
  try {
    // A bare environment: the server's holds FUTU_TRADE_PWD and maybe FUTU_MCP_API_KEY.
    stdout = execFileSync(command, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'], env: minimalEnv() });
  } catch {
    throw machineIdUnavailable(`${command} failed`);
  }
  const raw = pattern.exec(stdout)?.[1]?.trim();
  if (!raw) throw machineIdUnavailable(`${command} printed no machine id`);
  return { raw, source: command };
}

/** This machine, as seen by binding checks. The id is read once, on first use, then cached. */
export class MachineIdentity {
  private cached: MachineId | undefined;

  constructor(private readonly read: MachineIdReader = () => readPlatformMachineId()) {}

  private id(): MachineId {
    this.cached ??= this.read();
    return this.cached;
  }

  /** Where the raw id comes from; throws MACHINE_ID_UNAVAILABLE. */
  source(): string {
    return this.id().source;
  }

  /** This machine's fingerprint for `keyId`; throws MACHINE_ID_UNAVAILABLE. */
  fingerprintFor(keyId: string): string {
    return machineFingerprint(keyId, this.id().raw);
  }

  /**
   * Throws unless a key with these `allowedMachines` may be used here: null = unbound (always
   * fine, even when the id is unreadable), [] = frozen, otherwise this machine must be listed.
   */
  assertBound(keyId: string, allowedMachines: readonly string[] | null): void {
    if (allowedMachines === null) return;
    if (allowedMachines.length === 0) throw keyNotBound(keyId);
    if (!allowedMachines.includes(this.fingerprintFor(keyId))) throw keyNotBound(keyId);
  }
}
