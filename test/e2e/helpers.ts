/**
 * End-to-end harness: the real futu-mcp CLI as a child process (stdio or HTTP), real keys files
 * written by the real `futucli gen-key`, real audit files, real sockets. One E2eRun per test file
 * owns everything it started and, at the end, checks what every run must satisfy: the audit chains
 * verify and no secret reached an audit file, a server log or /metrics.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FutuGateway } from '../../src/gateway/api.js';
import type { AccountRef } from '../../src/gateway/types.js';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport, getDefaultEnvironment as v1DefaultEnv } from '@modelcontextprotocol/sdk/client/stdio.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { Client as V2Client } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport, getDefaultEnvironment as v2DefaultEnv } from '@modelcontextprotocol/client/stdio';
import { updateKeysFile } from '../../src/keys/file.js';
import { childEnv, FUTUCLI, runFutucliAsync } from '../helpers/futucli.js';
import {
  connectHttp,
  rawHttp,
  textOf,
  waitFor,
  type ClientFlavor,
  type ListedTool,
  type McpTestClient,
  type ToolCallResult,
} from '../helpers/mcpClients.js';

export { CLIENT_FLAVORS, textOf, waitFor, type ClientFlavor, type McpTestClient, type ToolCallResult } from '../helpers/mcpClients.js';

/** dist/src/cli/futu-mcp.js, next to the futucli the shared helper runs. */
export const FUTU_MCP = join(dirname(FUTUCLI), 'futu-mcp.js');

/**
 * The trade password of every simulator in these tests. The embedded simulator takes it from
 * FUTU_TRADE_PWD, and so does the server's unlock. A distinctive value (not the demo '123456')
 * so a secret scan cannot be fooled by digits that happen to appear in an id or a number.
 */
export const TRADE_PWD = 'e2e-Trade-Pwd-4q7Z';
export const TRADE_PWD_MD5 = createHash('md5').update(TRADE_PWD).digest('hex');

/**
 * Servers on the embedded simulator run on this fixed clock, with every market trading, so no
 * test depends on the wall clock (prices, bands and fills are the same at any hour of any day).
 */
export const E2E_SIM_CLOCK = '2026-12-03T10:00:00+08:00';
const E2E_SIM_ARGS = ['--sim-clock', E2E_SIM_CLOCK, '--sim-market-hours', 'always'] as const;

export const ALL_SCOPES = ['qot:read', 'acc:read', 'trade:simulate', 'trade:real', 'trade:unlock'] as const;

/** A line of the audit file, as written. */
export type AuditRecord = Record<string, unknown> & {
  readonly seq: number;
  readonly event: string;
  readonly outcome: string;
};

export function readAudit(file: string): AuditRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}

/** The only record after `afterSeq` matching `fields`; fails listing what is there otherwise. */
export function onlyRecordAfter(file: string, afterSeq: number, fields: Readonly<Record<string, unknown>>): AuditRecord {
  const fresh = readAudit(file).filter((r) => r.seq > afterSeq);
  const matching = fresh.filter((r) => Object.entries(fields).every(([k, v]) => isDeepStrictEqual(r[k], v)));
  assert.equal(matching.length, 1, `one audit record matching ${JSON.stringify(fields)} after seq ${afterSeq}; new records: ${JSON.stringify(fresh, null, 1)}`);
  return matching[0]!;
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

export function auditHead(file: string): number {
  const records = readAudit(file);
  return records.length === 0 ? 0 : records[records.length - 1]!.seq;
}

/**
 * The value of one Prometheus sample: `name` with exactly these labels (all of them; label order
 * is irrelevant). 0 when the series does not exist yet, which is what a counter that was never
 * incremented looks like.
 */
export function sample(metricsText: string, name: string, labels: Readonly<Record<string, string>>): number {
  const wanted = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!] as const).sort(([a], [b]) => a.localeCompare(b));
    if (got.length === wanted.length && got.every(([k, v], i) => wanted[i]![0] === k && wanted[i]![1] === v)) return Number(m[3]);
  }
  return 0;
}

/** Checks structuredContent against the outputSchema the server listed, as a client would. */
const validator = new AjvJsonSchemaValidator();
export function assertMatchesOutputSchema(tool: ListedTool, result: ToolCallResult): Record<string, unknown> {
  assert.notEqual(result.isError, true, `${tool.name} failed: ${JSON.stringify(result.content)}`);
  assert.ok(tool.outputSchema, `${tool.name} lists an outputSchema`);
  const structured = result.structuredContent;
  assert.ok(structured, `${tool.name} returned structuredContent`);
  const check = validator.getValidator(tool.outputSchema as never)(structured);
  assert.ok(check.valid, `${tool.name} structuredContent violates its outputSchema: ${check.errorMessage}\n${JSON.stringify(structured)}`);
  // The text block, for clients that ignore structuredContent: a one-line summary, then the result
  // as compact JSON or, for series and account rows, a CSV table (header row, one line per item).
  const text = textOf(result);
  const body = text.slice(text.indexOf('\n') + 1);
  assert.doesNotMatch(text, /\n {2}"/, `${tool.name} text block is not pretty-printed JSON`);
  if (body.startsWith('{')) {
    assert.deepEqual(JSON.parse(body), structured, `${tool.name} text block carries the structured JSON`);
  } else {
    const [header, ...lines] = body.split('\n');
    assert.match(header ?? '', /^[a-z_]+(,[a-z_]+)+$/, `${tool.name} text block opens its table with a header row`);
    // Items are the rows of the result's lists of objects or tuples (not e.g. its column names).
    const lists = Object.values(structured).filter((v): v is unknown[] => Array.isArray(v) && typeof v[0] === 'object');
    const items = lists.reduce((n, list) => n + list.length, 0);
    assert.equal(lines.length, items, `${tool.name} text table has one line per item`);
  }
  return structured;
}

/** `error (CODE): message` — the exact text the model sees for a refused or failed call. */
export function assertToolError(result: ToolCallResult, code: string, message: string): void {
  assert.equal(result.isError, true, `expected an error, got ${JSON.stringify(result)}`);
  assert.equal(textOf(result), `error (${code}): ${message}`);
  assert.equal(result.structuredContent, undefined);
}

export interface KeySpec {
  readonly id: string;
  readonly scopes: readonly string[];
  /** More gen-key options, e.g. ['--max-orders-per-minute', '3']. */
  readonly flags?: readonly string[];
  /** Environment of the futucli run (e.g. FUTU_MCP_MACHINE_ID_FILE for --bind-this-machine). */
  readonly env?: Record<string, string>;
}

/** A test's view of one futu-mcp child serving HTTP. */
export interface HttpServerProcess {
  readonly pid: number;
  /** The MCP endpoint from the `futu-mcp ready` log line. */
  readonly url: string;
  readonly origin: string;
  readonly auditLog: string;
  /** The server's --decision-log file (scanned for secrets with the audit files). */
  readonly decisionLog: string;
  readonly keysFile: string;
  stderr(): string;
  /** GET /metrics (no token), recorded for the secret scan. */
  metrics(): Promise<string>;
  /** kill -HUP, resolved once the server logged that the reload finished. */
  hup(): Promise<void>;
  /** SIGTERM and wait for the exit (idempotent). */
  stop(): Promise<void>;
}

/** A client connected to its own futu-mcp child over stdio. */
export interface StdioServerClient extends McpTestClient {
  readonly pid: number;
  /** The initialize result's instructions and capabilities. */
  readonly instructions: string | undefined;
  readonly capabilities: Record<string, unknown> | undefined;
  /** Methods of the notifications the server sent so far, in order. */
  notifications(): string[];
  readonly auditLog: string;
  stderr(): string;
  hup(): Promise<void>;
}

export interface ServerOptions {
  readonly keysFile: string;
  /** Default: the embedded simulator. */
  readonly gateway?: string;
  readonly extraArgs?: readonly string[];
  /** Environment of the server (added to a scrubbed copy of the test's). */
  readonly env?: Readonly<Record<string, string>>;
  /** Names the server's audit file and state dir inside the run directory. */
  readonly name: string;
  /** Audit file name, to share one file between servers (default `<name>.audit.jsonl`). */
  readonly audit?: string;
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Owns the temp directory, servers, clients and artefacts of one test file. Every plaintext key
 * it generates (and its hash, as keys.json holds it), the trade password and its MD5 are the
 * secrets scanned for at the end.
 */
export class E2eRun {
  readonly dir: string;
  private readonly secrets = new Map<string, string>([
    [TRADE_PWD, 'trade password'],
    [TRADE_PWD_MD5, 'trade password MD5'],
    [TRADE_PWD_MD5.toUpperCase(), 'trade password MD5 (upper case)'],
  ]);
  private readonly logs: Array<{ what: string; text: () => string }> = [];
  private readonly metricsTexts: string[] = [];
  readonly auditFiles = new Set<string>();
  /** Every server writes a --decision-log; each is scanned for secrets like the audit files. */
  readonly decisionLogs = new Set<string>();
  private readonly cleanups: Array<() => Promise<void>> = [];

  /** Every server process started, for the last-resort cleanup. */
  private readonly pids = new Set<number>();

  constructor(name: string) {
    this.dir = mkdtempSync(join(tmpdir(), `futu-e2e-${name}-`));
    // Last resort when hooks never ran (a failed before hook, an interrupted run): no orphan, no
    // temp dir. Only children not yet seen to exit are in `pids`, so no recycled pid is signalled.
    process.once('exit', () => {
      for (const pid of this.pids) if (!processGone(pid)) process.kill(pid, 'SIGKILL');
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** `futucli gen-key` as a child process; returns the plaintext printed once. */
  async genKey(keysFile: string, id: string, scopes: readonly string[], flags: readonly string[] = [], env: Record<string, string> = {}): Promise<string> {
    const run = await runFutucliAsync(['--keys-file', keysFile, '-o', 'json', 'gen-key', '--id', id, '--scopes', scopes.join(','), ...flags], { env });
    assert.equal(run.status, 0, `gen-key ${id}: ${run.stderr}`);
    const key = (JSON.parse(run.stdout) as { key: string }).key;
    assert.match(key, /^fc_[0-9a-f]{64}$/);
    this.secrets.set(key, `plaintext key ${id}`);
    this.secrets.set(key.slice(3), `plaintext key ${id} without its prefix`);
    this.secrets.set(createHash('sha256').update(key).digest('hex'), `hash of key ${id}`);
    return key;
  }

  /** Several gen-keys into one file, a few at a time (each takes the file's lock); plaintexts by id. */
  async genKeys(keysFile: string, specs: ReadonlyArray<KeySpec>): Promise<Record<string, string>> {
    const keys: Record<string, string> = {};
    const queue = [...specs];
    const worker = async () => {
      for (let spec = queue.shift(); spec; spec = queue.shift()) {
        keys[spec.id] = await this.genKey(keysFile, spec.id, spec.scopes, spec.flags, spec.env);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    return keys;
  }

  /** `futucli revoke-key` as a child process. */
  async revokeKey(keysFile: string, id: string): Promise<void> {
    const run = await runFutucliAsync(['--keys-file', keysFile, 'revoke-key', id]);
    assert.equal(run.status, 0, `revoke-key ${id}: ${run.stderr}`);
  }

  /** Registers a secret this file made up itself (e.g. a guessed key) for the final scan. */
  addSecret(secret: string, what: string): void {
    this.secrets.set(secret, what);
  }

  /** Adds a log (e.g. of a child a test spawned itself) to the secret scan. */
  watchLog(what: string, text: () => string): void {
    this.logs.push({ what, text });
  }

  /** Moves a key's expiry into the past with the key store's own writer (gen-key refuses past dates). */
  expireKey(keysFile: string, id: string): void {
    const past = new Date(Date.now() - 60_000).toISOString();
    updateKeysFile(keysFile, (records) => records.map((r) => (r.id === id ? { ...r, expires_at: past } : r)));
  }

  private serverArgs(options: ServerOptions): { args: string[]; auditLog: string; decisionLog: string } {
    const auditLog = this.path(options.audit ?? `${options.name}.audit.jsonl`);
    const decisionLog = this.path(`${options.name}.decisions.jsonl`);
    this.auditFiles.add(auditLog);
    this.decisionLogs.add(decisionLog);
    const gateway = options.gateway ?? 'sim';
    const simArgs = gateway === 'sim' && !options.extraArgs?.some((a) => a === '--sim-clock' || a === '--sim-market-hours') ? E2E_SIM_ARGS : [];
    return {
      auditLog,
      decisionLog,
      args: [
        FUTU_MCP,
        '--gateway', gateway,
        ...simArgs,
        '--keys-file', options.keysFile,
        '--audit-log', auditLog,
        '--decision-log', decisionLog,
        '--state-dir', this.path(`${options.name}.state`),
        ...(options.extraArgs ?? []),
      ],
    };
  }

  /** futu-mcp --http-listen 127.0.0.1:0 as a child; resolves once it serves and is connected to the gateway. */
  async startHttp(options: ServerOptions & { readonly waitReady?: boolean; readonly descriptorLimit?: number }): Promise<HttpServerProcess> {
    const { args, auditLog, decisionLog } = this.serverArgs(options);
    const command = [process.execPath, ...args, '--http-listen', '127.0.0.1:0'];
    // `ulimit -n` (soft and hard) in a shell that then becomes the server: its pid is the server's.
    const [file, ...argv] =
      options.descriptorLimit === undefined ? command : ['sh', '-c', `ulimit -n ${options.descriptorLimit} && exec "$@"`, 'sh', ...command];
    const child = spawn(file!, argv, {
      env: childEnv({ FUTU_LOG_LEVEL: 'debug', FUTU_TRADE_PWD: TRADE_PWD, ...options.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.pids.add(child.pid!);
    void exited.then(() => this.pids.delete(child.pid!));
    this.logs.push({ what: `${options.name} server stderr`, text: () => stderr }, { what: `${options.name} server stdout`, text: () => stdout });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
    };
    this.cleanups.push(stop);

    const ready = await waitFor(`${options.name} to log "futu-mcp ready"`, () => {
      if (child.exitCode !== null) throw new Error(`futu-mcp exited ${child.exitCode}: ${stderr}`);
      const line = stderr.split('\n').find((l) => l.includes('"msg":"futu-mcp ready"'));
      return line ? (JSON.parse(line) as { url: string }) : undefined;
    });
    const url = ready.url;
    const origin = new URL(url).origin;
    const server: HttpServerProcess = {
      pid: child.pid!,
      url,
      origin,
      auditLog,
      decisionLog,
      keysFile: options.keysFile,
      stderr: () => stderr,
      metrics: async () => {
        const res = await rawHttp(`${origin}/metrics`);
        assert.equal(res.status, 200);
        this.metricsTexts.push(res.body);
        return res.body;
      },
      hup: () => this.hup(child, () => stderr),
      stop,
    };
    if (options.waitReady !== false) await waitForReadyz(origin, 200);
    return server;
  }

  private async hup(child: ChildProcess, stderr: () => string): Promise<void> {
    const before = countOf(stderr(), '"msg":"reload finished"');
    child.kill('SIGHUP');
    // Generous: reload workers run at the lowest CPU priority, so on a loaded CI machine (other
    // test files, a load generator) they finish late by design, while calls keep being served.
    await waitFor('the reload to finish', () => countOf(stderr(), '"msg":"reload finished"') > before, 120_000);
  }

  /**
   * Spawns futu-mcp over stdio with an SDK client (v1 or v2) and returns the client with the
   * child's pid and stderr. Resolves once the server is connected to its gateway.
   */
  async connectStdio(
    flavor: ClientFlavor,
    options: ServerOptions & { readonly apiKey?: string; readonly waitConnected?: boolean; readonly versionNegotiation?: 'legacy' | 'auto' },
  ): Promise<StdioServerClient> {
    const { args, auditLog } = this.serverArgs(options);
    const env = {
      FUTU_LOG_LEVEL: 'debug',
      FUTU_TRADE_PWD: TRADE_PWD,
      ...(options.apiKey !== undefined && { FUTU_MCP_API_KEY: options.apiKey }),
      ...options.env,
    };
    const clientInfo = { name: 'futu-mcp-e2e', version: '0.0.0' };
    let stderr = '';
    let client: McpTestClient;
    let pid: number;
    let instructions: string | undefined;
    let capabilities: Record<string, unknown> | undefined;
    const notifications: string[] = [];
    const record = async (n: { method: string }) => void notifications.push(n.method);
    if (flavor === 'v1') {
      const transport = new V1StdioTransport({ command: process.execPath, args, env: { ...v1DefaultEnv(), ...env }, stderr: 'pipe' });
      transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const sdk = new V1Client(clientInfo);
      sdk.fallbackNotificationHandler = record;
      await sdk.connect(transport);
      pid = transport.pid!;
      instructions = sdk.getInstructions();
      capabilities = sdk.getServerCapabilities() as Record<string, unknown> | undefined;
      client = {
        flavor,
        sessionId: undefined,
        protocolVersion: undefined,
        listTools: async () => (await sdk.listTools()).tools as ListedTool[],
        callTool: async (name, a = {}, o = {}) => (await sdk.callTool({ name, arguments: a }, undefined, o)) as ToolCallResult,
        terminateSession: async () => undefined,
        close: () => sdk.close(),
      };
    } else {
      const transport = new V2StdioTransport({ command: process.execPath, args, env: { ...v2DefaultEnv(), ...env }, stderr: 'pipe' });
      transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const sdk = new V2Client(clientInfo, { versionNegotiation: { mode: options.versionNegotiation ?? 'legacy' } });
      sdk.fallbackNotificationHandler = record;
      await sdk.connect(transport);
      pid = transport.pid!;
      instructions = sdk.getInstructions();
      capabilities = sdk.getServerCapabilities() as Record<string, unknown> | undefined;
      client = {
        flavor,
        sessionId: undefined,
        get protocolVersion() {
          return sdk.getNegotiatedProtocolVersion();
        },
        listTools: async () => (await sdk.listTools()).tools as ListedTool[],
        callTool: async (name, a = {}, o = {}) => (await sdk.callTool({ name, arguments: a }, o)) as ToolCallResult,
        terminateSession: async () => undefined,
        close: () => sdk.close(),
      };
    }
    this.pids.add(pid);
    this.logs.push({ what: `${options.name} server stderr`, text: () => stderr });
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        await client.close();
        // The SDK ends stdin and escalates to signals; the audit file is complete once the child is gone.
        await waitFor(`${options.name} (pid ${pid}) to exit`, () => processGone(pid), 20_000);
        this.pids.delete(pid);
      })();
      return closing;
    };
    this.cleanups.push(close);
    if (options.waitConnected !== false) await waitFor(`${options.name} to connect to its gateway`, () => stderr.includes('"msg":"connected to OpenD"'));
    return {
      ...client,
      flavor: client.flavor,
      get protocolVersion() {
        return client.protocolVersion;
      },
      pid,
      auditLog,
      instructions,
      capabilities,
      notifications: () => [...notifications],
      stderr: () => stderr,
      hup: async () => {
        const before = countOf(stderr, '"msg":"reload finished"');
        process.kill(pid, 'SIGHUP');
        await waitFor('the reload to finish', () => countOf(stderr, '"msg":"reload finished"') > before);
      },
      close,
    };
  }

  /** An SDK client over HTTP with `Authorization: Bearer token`, closed with the run; v2 'auto' speaks 2026-07-28. */
  async connectHttp(flavor: ClientFlavor, url: string, token: string, versionNegotiation?: 'legacy' | 'auto'): Promise<McpTestClient> {
    const client = await connectHttp(flavor, { url, token, versionNegotiation });
    this.cleanups.push(() => client.close().catch(() => undefined));
    return client;
  }

  /** Stops every client and server (servers write their shutdown record). */
  async closeAll(): Promise<void> {
    const pending = this.cleanups.splice(0).reverse();
    for (const cleanup of pending) await cleanup();
  }

  /** Where any secret appears in an audit file, a decision log, a server log or a /metrics body. */
  secretFindings(): string[] {
    const places: Array<{ what: string; text: string }> = [
      ...[...this.auditFiles].map((file) => ({ what: file, text: readFileSync(file, 'utf8') })),
      ...[...this.decisionLogs].filter((file) => existsSync(file)).map((file) => ({ what: file, text: readFileSync(file, 'utf8') })),
      ...this.logs.map((log) => ({ what: log.what, text: log.text() })),
      ...this.metricsTexts.map((text, i) => ({ what: `/metrics body #${i + 1}`, text })),
    ];
    const findings: string[] = [];
    for (const place of places) {
      for (const [secret, what] of this.secrets) if (place.text.includes(secret)) findings.push(`${what} in ${place.what}`);
    }
    return findings;
  }

  /** The final checks of a file: everything closed, chains verify with `futucli audit verify`, no secret anywhere. */
  async assertCleanFinish(): Promise<void> {
    await this.closeAll();
    assert.ok(this.auditFiles.size > 0);
    assert.ok(this.logs.length > 0);
    for (const file of this.auditFiles) {
      const verify = spawnSync(process.execPath, [FUTUCLI, 'audit', 'verify', file], { encoding: 'utf8', env: childEnv() });
      assert.equal(verify.status, 0, `futucli audit verify ${file}: ${verify.stdout}${verify.stderr}`);
      assert.match(verify.stdout, /^OK: \d+ records, head [0-9a-f]{64}/);
      const records = readAudit(file);
      assert.equal(records[0]?.event, 'startup', `${file} starts with the startup record`);
      assert.equal(records[records.length - 1]?.event, 'shutdown', `${file} ends with the shutdown record`);
    }
    // Sanity of the scan itself: every key really was generated and some logs were captured.
    assert.ok([...this.secrets.values()].some((what) => what.startsWith('plaintext key')));
    assert.deepEqual(this.secretFindings(), []);
  }

  async dispose(): Promise<void> {
    await this.closeAll().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls a check, synchronous or asynchronous, until it yields a value. */
export async function pollFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls /readyz until it answers `status` (and, when given, a 503 body with exactly this `reason`). */
export async function waitForReadyz(origin: string, status: 200 | 503, reason?: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await rawHttp(`${origin}/readyz`);
    if (res.status === status && (reason === undefined || (JSON.parse(res.body) as { reason?: string }).reason === reason)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for /readyz ${status} ${reason ?? ''} (last ${res.status} ${res.body})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs jq on a file with a filter in compact mode; returns the parsed records. */
export function jq(filter: string, file: string): AuditRecord[] {
  const run = spawnSync('jq', ['-c', filter, file], { encoding: 'utf8' });
  assert.equal(run.status, 0, `jq ${filter}: ${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord);
}

/** Sum of every series of a metric (e.g. all limit rejects, whatever their labels). */
export function sumOf(metricsText: string, name: string): number {
  return metricsText
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

export interface RefusalExpectation {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  /** The error code in `error (CODE): message` and in the audit record. */
  readonly code: string;
  readonly message: string;
  /** The key the audit record and the metrics must name. */
  readonly keyId: string;
  /** Audit `scope`; unchecked when undefined. */
  readonly scope?: string | null;
  /** Audit `policies`; unchecked when undefined. */
  readonly policies?: readonly string[];
  /** `reject` (denied before the gateway was asked) or `failure` (allowed, then the gateway failed). */
  readonly outcome?: 'reject' | 'failure';
  /** futu_auth_limit_rejects_total reason label, for limit denials. */
  readonly limitReason?: string;
  /** The tool label in futu_mcp_tool_calls_total (unknown tools are counted as `<unknown>`). */
  readonly metricsTool?: string;
}

export interface AuditedServer {
  readonly auditLog: string;
  /** Present over HTTP: the metrics are checked too. */
  readonly metrics?: () => Promise<string>;
}

/**
 * One refused (or failed) call, checked at all three places it must show: the exact tool error,
 * exactly one audit result record with the right key, tool, code and reason (and no intent, so
 * nothing reached OpenD for a rejection), and the counters.
 */
export async function expectRefusal(client: McpTestClient, server: AuditedServer, expected: RefusalExpectation): Promise<AuditRecord> {
  const outcome = expected.outcome ?? 'reject';
  const seq = auditHead(server.auditLog);
  const before = await server.metrics?.();
  assertToolError(await client.callTool(expected.tool, expected.args), expected.code, expected.message);

  const record = onlyRecordAfter(server.auditLog, seq, { event: 'tool_call', tool: expected.tool });
  assert.equal(record.key_id, expected.keyId);
  assert.equal(record.outcome, outcome);
  assert.equal(record.decision, outcome === 'reject' ? 'deny' : 'allow');
  assert.equal(record.code, expected.code);
  assert.equal(record.reason, expected.message);
  if (expected.scope !== undefined) assert.equal(record.scope, expected.scope);
  if (expected.policies !== undefined) assert.deepEqual(record.policies, expected.policies);
  if (outcome === 'reject') {
    assert.equal(readAudit(server.auditLog).filter((r) => r.seq > seq && r.event === 'tool_intent').length, 0, 'a rejected call records no intent');
  }

  if (before !== undefined) {
    const after = await server.metrics!();
    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    const authOutcome = outcome === 'reject' ? 'reject' : 'allow';
    assert.equal(delta('futu_auth_events_total', { iface: 'mcp', outcome: authOutcome, key_id: expected.keyId }), 1, 'futu_auth_events_total');
    assert.equal(delta('futu_mcp_tool_calls_total', { tool: expected.metricsTool ?? expected.tool, outcome }), 1, 'futu_mcp_tool_calls_total');
    if (expected.limitReason !== undefined) {
      assert.equal(delta('futu_auth_limit_rejects_total', { iface: 'mcp', key_id: expected.keyId, reason: expected.limitReason }), 1, 'futu_auth_limit_rejects_total');
    }
    const limitRejects = sumOf(after, 'futu_auth_limit_rejects_total') - sumOf(before, 'futu_auth_limit_rejects_total');
    assert.equal(limitRejects, expected.limitReason === undefined ? 0 : 1, 'futu_auth_limit_rejects_total grows only for limit denials');
  }
  return record;
}

/**
 * A trade call expected to reach OpenD. Parallel and back-to-back trades need no pacing here: the
 * gateway spaces writes as OpenD counts them (src/gateway/pacing.ts).
 */
export function trade(client: McpTestClient, tool: string, args: Record<string, unknown>): Promise<ToolCallResult> {
  return client.callTool(tool, args);
}

/** Like trade(), and the call must succeed. */
export async function tradeOk(client: McpTestClient, tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await trade(client, tool, args);
  assert.notEqual(result.isError, true, `${tool} ${JSON.stringify(args)}: ${JSON.stringify(result.content)}`);
  assert.ok(result.structuredContent);
  return result.structuredContent;
}

/** Scope sets and the order the e2e files share. */
export const READ = ['qot:read', 'acc:read'];
export const SIM = [...READ, 'trade:simulate'];
export const ORDER = { symbol: 'HK.00700', side: 'BUY', order_type: 'LIMIT', qty: 100, price: 300 } as const;

/**
 * A human at the Futu app: a gateway straight to the simulator (no futu-mcp in between), and
 * the simulate accounts of HK and US it trades in.
 */
export async function humanAt(simPort: number): Promise<{ human: FutuGateway; hk: AccountRef; us: AccountRef }> {
  const human = new FutuGateway({ port: simPort });
  await human.connect();
  const accounts = (await human.getAccounts()).filter((a) => a.env === 'simulate');
  const ref = (market: 'HK' | 'US'): AccountRef => ({ accId: accounts.find((a) => a.trdMarkets.includes(market))!.accId, env: 'simulate', trdMarket: market });
  return { human, hk: ref('HK'), us: ref('US') };
}
