import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isActionName } from '../../authz/actions.js';
import { Authorizer } from '../../authz/authorizer.js';
import { prepareCandidate, testFailures } from '../../authz/candidate.js';
import type { Decision } from '../../authz/decision.js';
import { readDecisionLog } from '../../authz/decisionLog.js';
import { AuthzEngine } from '../../authz/engine.js';
import { FxConverter, loadFxTable } from '../../authz/fx.js';
import { formatPolicyDir } from '../../authz/policyFormat.js';
import { compilePolicySet, defaultPolicyPaths, type PolicyPaths } from '../../authz/policySet.js';
import { policyCoverage } from '../../authz/policyTests.js';
import { keyMayUseAccount } from '../../authz/principal.js';
import { replayDecisions, type ReplayedDecision, type ReplayReport } from '../../authz/replay.js';
import { SlotPair } from '../../authz/slots.js';
import type { ReferencePriceSource } from '../../authz/valuation.js';
import { AccountDirectory } from '../../gateway/accounts.js';
import { FutuGateway } from '../../gateway/api.js';
import { KeyStore } from '../../keys/store.js';
import { parseHostPort, referencePrices } from '../../mcp/app.js';
import { callRateCap, callScope, checkCallGates, previewDecision } from '../../mcp/callDecision.js';
import { describeIssues } from '../../mcp/server.js';
import type { ToolContext } from '../../mcp/tools/kit.js';
import { TOOLS } from '../../mcp/tools/index.js';
import { describeError, FutuError, isFutuError } from '../../shared/errors.js';
import { action, outputFor, type Output } from '../output.js';
import { defaultKeysFile, defaultStateDir } from '../paths.js';
import { offlineToolContext } from './explainContext.js';
import { addStateStoreOptions, openCliStateStores, type StateStoreFlags } from '../stateOptions.js';

/**
 * futucli policy: validate, test (with coverage), fmt, replay a decision log, and explain what the
 * server decides for a call. The test files use the Cedar CLI run-tests format, so `cedar
 * run-tests` runs the same files.
 */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('Cedar policies: validate, test, format, explain a decision');
  const dirOptions = (c: Command) =>
    c
      .option('--policies <dir>', 'policy directory (*.cedar, VERSION, tests/)', defaultPolicyPaths().policiesDir)
      .option('--org-policies <dir>', 'organisation policy directory (*.cedar, tests/) added to the set; repeatable', collect, [])
      .option('--allow-org-permits', 'let organisation files hold permits (which can widen what the shipped permits allow)')
      .option('--schema <file>', 'Cedar schema', defaultPolicyPaths().schemaFile);

  dirOptions(policy.command('validate').description('parse, check annotations and validate strictly (warnings fail)')).action(action(validate));
  dirOptions(policy.command('test').description('validate, then run the policy tests in <policies>/tests and each <org-policies>/tests'))
    .option('--coverage', 'list every policy with the tests in which it determined the decision; fail if any never does')
    .action(action(runTests));
  dirOptions(
    policy
      .command('replay')
      .description('evaluate every request of a decision log (futu-mcp --decision-log) again with these policies and show what changed'),
  )
    .requiredOption('--decisions <file>', 'decision log written by futu-mcp --decision-log')
    .option('--fail-on-change', 'exit 1 if any decision changed (for CI on a policy change)')
    .action(action(replay));
  dirOptions(policy.command('fmt').description('format *.cedar files in place'))
    .option('--check', 'write nothing; fail if any file is not formatted')
    .action(action(fmt));
  addStateStoreOptions(
    dirOptions(
      policy
        .command('explain')
        .description(
          "what the server decides for a key's tool call: the same gates, account resolution, valuation and Cedar evaluation, " +
            'recording and reserving nothing; exit 0 allow, 1 deny, 2 usage error',
        ),
    ),
  )
    .option('--key <id>', 'key id in keys.json')
    .option('--tool <name>', 'tool name, e.g. futu_place_order')
    .option('--args <json>', 'the tool arguments as JSON', '{}')
    .option('--env <env>', 'simulate or real (overrides args.env)')
    .option('--keys-file <path>', 'keys.json location')
    .option('--state-dir <dir>', "the server's --state-dir (rate and daily usage, order ownership, halts), unless --redis is given")
    .option('--gateway <host:port>', 'ask this OpenD for accounts, orders, positions and quotes, as the server does')
    .option('--reference-price <n>', 'without --gateway: the price MARKET orders and sells are valued at')
    .option('--order <json>', 'without --gateway: the order a modify/cancel acts on {"symbol","side","qty","price"}')
    .option('--sellable <n>', 'without --gateway: shares the account can sell (else a SELL is checked as a short)')
    .option('--fx-file <path>', 'FX table overriding the built-in rates')
    .option('--at <time>', 'evaluate at this ISO time instead of now')
    .action(explainAction);
}

interface DirOptions {
  policies: string;
  orgPolicies: string[];
  allowOrgPermits?: boolean;
  schema: string;
}

const pathsOf = (o: DirOptions): PolicyPaths => ({
  policiesDir: resolve(o.policies),
  schemaFile: resolve(o.schema),
  // As given, so problems and coverage name org files the way the reviewer wrote them.
  orgDirs: o.orgPolicies,
  allowOrgPermits: o.allowOrgPermits === true,
});

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function validate(command: Command, out: Output): void {
  const compiled = compilePolicySet(pathsOf(command.opts<DirOptions>()));
  const policies = [...compiled.meta.values()].map((m) => ({ id: m.id, effect: m.effect, code: m.code, file: m.file, line: m.line, origin: m.origin }));
  out.result({ version: compiled.version, policies }, () =>
    [
      `valid: ${policies.length} policies, version ${compiled.version}`,
      ...policies.map((p) => `  ${p.effect.padEnd(6)} ${p.id} (${p.code}, ${p.file}:${p.line}${p.origin === 'org' ? ', organisation' : ''})`),
    ].join('\n'),
  );
}

function runTests(command: Command, out: Output): void {
  const options = command.opts<DirOptions & { coverage?: boolean }>();
  const { compiled, tests } = prepareCandidate(pathsOf(options), new SlotPair());
  const failures = testFailures(tests);
  const results = tests.map((t) => ({ file: t.test.file, name: t.test.name, passed: t.passed, problems: t.problems }));
  const coverage = options.coverage ? policyCoverage(compiled.meta.values(), tests) : undefined;
  const untested = coverage?.filter((c) => c.tests.length === 0) ?? [];
  const covered = coverage ? coverage.length - untested.length : 0;
  const json = { version: compiled.version, passed: results.length - failures.length, failed: failures.length, results };
  out.result(coverage ? { ...json, coverage, untested: untested.map((c) => c.id) } : json, () =>
    [
      ...tests.map((t) => `${t.passed ? 'ok  ' : 'FAIL'} ${t.test.file}: ${t.test.name}${t.passed ? '' : `\n       ${t.problems.join('\n       ')}`}`),
      `${results.length - failures.length} passed, ${failures.length} failed (policy version ${compiled.version})`,
      ...(coverage
        ? [
            'coverage (tests in which each policy determined the decision):',
            ...coverage.map((c) => `  ${c.tests.length === 0 ? 'UNTESTED' : String(c.tests.length).padStart(8)}  ${c.effect.padEnd(6)} ${c.id} (${c.file}:${c.line})`),
            `${covered}/${coverage.length} policies determined a test decision (${Math.floor((100 * covered) / Math.max(coverage.length, 1))} %)` +
              (untested.length > 0 ? `; never: ${untested.map((c) => c.id).join(', ')}` : ''),
          ]
        : []),
    ].join('\n'),
  );
  if (tests.length === 0) out.notice('no policy tests found (expected <policies>/tests/*.tests.json)');
  if (failures.length > 0 || tests.length === 0 || untested.length > 0) process.exitCode = 1;
}

function replay(command: Command, out: Output): void {
  const options = command.opts<DirOptions & { decisions: string; failOnChange?: boolean }>();
  const entries = readDecisionLog(resolve(options.decisions));
  const report = replayDecisions(entries, AuthzEngine.load(pathsOf(options)));
  out.result(report, () => renderReplay(report));
  if (options.failOnChange && report.changes.length > 0) process.exitCode = 1;
}

function renderReplay(report: ReplayReport): string {
  const decided = (d: ReplayedDecision) => `${d.decision}${d.decision === 'deny' ? ` ${d.code}` : ''}${d.policies.length > 0 ? ` [${d.policies.join(', ')}]` : ''}`;
  return [
    `replayed ${report.total} decisions against ${report.candidate_version}: ${report.unchanged} unchanged, ${report.newly_denied} newly denied, ${report.newly_allowed} newly allowed`,
    ...(report.by_policy.length > 0 ? ['by policy:', ...report.by_policy.map((p) => `  ${p.policy}: ${p.newly_denied} newly denied, ${p.newly_allowed} newly allowed`)] : []),
    ...(report.changes.length > 0 ? ['changed decisions:'] : []),
    ...report.changes.map(
      (c) => `  line ${c.line} ${c.timestamp} ${c.key_id} ${c.action} ${c.resource}: ${decided(c.recorded)} -> ${decided(c.candidate)}`,
    ),
  ].join('\n');
}

function fmt(command: Command, out: Output): void {
  const { policies, check } = command.opts<DirOptions & { check?: boolean }>();
  const results = formatPolicyDir(resolve(policies), { write: !check });
  const changed = results.filter((r) => r.changed).map((r) => r.file);
  out.result({ checked: results.length, [check ? 'unformatted' : 'formatted']: changed }, () =>
    changed.length === 0
      ? `${results.length} files already formatted`
      : `${check ? 'not formatted' : 'formatted'}: ${changed.join(', ')}`,
  );
  if (check && changed.length > 0) process.exitCode = 1;
}

interface ExplainOptions extends DirOptions, StateStoreFlags {
  key?: string;
  tool?: string;
  args: string;
  env?: string;
  keysFile?: string;
  stateDir?: string;
  gateway?: string;
  referencePrice?: string;
  order?: string;
  sellable?: string;
  fxFile?: string;
  at?: string;
}

/** A mistake in how explain was called (exit 2), as opposed to a call the server would deny (exit 1). */
class UsageError extends Error {}

/** The server's answer to one call: a Cedar decision, or a refusal before Cedar (arguments, key, gates, plan). */
interface Explanation {
  readonly allowed: boolean;
  readonly code: string;
  readonly message: string;
  /** Where the call was decided. */
  readonly stage: 'arguments' | 'key' | 'gate' | 'plan' | 'cedar';
  readonly policy_version: string;
  readonly policies: readonly { id: string; effect: string; code: string; message: string; file: string; line: number }[];
  /** The Cedar request as evaluated (absent when the call was refused before Cedar). */
  readonly request?: { principal: unknown; action: string; resource: unknown; context: unknown };
  readonly errors: readonly string[];
  /** What explain could not read and assumed: the server's call-rate count, and without a gateway what OpenD would answer. */
  readonly assumptions: readonly string[];
  /** Denied by confirmation rules alone and a human's yes would allow it: the server asks a human. */
  readonly needs_human: boolean;
}

const NEEDS_HUMAN =
  'a human would be asked to confirm (the client\'s elicitation form, or futucli approve with the confirmation_id the refusal names); ' +
  'the call goes ahead only with their yes';

async function explainAction(...args: unknown[]): Promise<void> {
  const command = args[args.length - 1] as Command;
  const out = outputFor(command);
  try {
    const explanation = await explain(command);
    out.result(explanation, () => renderExplanation(explanation));
    process.exitCode = explanation.allowed ? 0 : 1;
  } catch (err) {
    out.failure(err);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  }
}

async function explain(command: Command): Promise<Explanation> {
  const o = command.optsWithGlobals<ExplainOptions>();
  if (!o.key) throw new UsageError('--key <id> is required');
  const tool = TOOLS.find((t) => t.name === o.tool);
  if (!tool || !isActionName(tool.name)) throw new UsageError(o.tool ? `unknown tool "${o.tool}"` : '--tool <name> is required');
  const rawArgs: Record<string, unknown> = { ...parseJson<Record<string, unknown>>(o.args, '--args'), ...(o.env ? { env: o.env } : {}) };
  const now = o.at ? new Date(o.at) : new Date();
  if (Number.isNaN(now.getTime())) throw new UsageError(`--at "${o.at}" is not a date-time`);
  const prices = o.referencePrice === undefined ? undefined : fixedPrice(Number(o.referencePrice));
  const keysFile = o.keysFile ?? defaultKeysFile();
  const keys = KeyStore.open(keysFile);
  const key = keys.list().find((k) => k.id === o.key);
  if (!key) throw new UsageError(`no key "${o.key}" in ${keysFile}`);

  const engine = AuthzEngine.load(pathsOf(o));
  const stateDir = o.stateDir ?? defaultStateDir();
  const state = await openCliStateStores(stateDir, o);
  const gateway = o.gateway ? await connectGateway(o.gateway).catch(async (err: unknown) => {
    await state.close();
    throw err;
  }) : undefined;
  try {
    const authorizer = new Authorizer({
      engine,
      ledger: state.ledger,
      trades: state.trades,
      fx: new FxConverter(o.fxFile ? loadFxTable(o.fxFile) : undefined),
      prices: gateway ? referencePrices(gateway) : prices,
    });
    let stage: Explanation['stage'] = 'arguments';
    const assumptions: string[] = [];
    try {
      // The server's steps, in its order: arguments (the MCP layer), key, gates, plan, Cedar.
      const parsed = tool.input.safeParse(rawArgs);
      if (!parsed.success) throw new FutuError('INVALID_ARGUMENT', `invalid arguments for ${tool.name}: ${describeIssues(parsed.error.issues)}`);
      const toolArgs = parsed.data as Record<string, unknown>;
      stage = 'key';
      keys.checkUsable(key, now.getTime());
      // The server takes the call against the key's call rate next; that count lives in its memory.
      assumptions.push(
        `within the call rate: a server process refuses this key's calls beyond ${callRateCap(key)} in 60 s (call-rate-limit), ` +
          'counting them in its own memory, which explain cannot read; this call is taken as within it',
      );
      stage = 'gate';
      checkCallGates(key, callScope(tool.name, toolArgs), toolArgs, engine.version);
      stage = 'plan';
      const signal = new AbortController().signal;
      let context: ToolContext;
      if (gateway) {
        context = { gateway, accounts: new AccountDirectory(gateway), signal, keyId: key.id, accountAllowed: (id) => keyMayUseAccount(key, id) };
      } else {
        context = offlineToolContext(
          {
            key,
            env: toolArgs.env === 'real' ? 'real' : 'simulate',
            accId: typeof toolArgs.acc_id === 'string' ? toolArgs.acc_id : undefined,
            order: o.order ? parseJson(o.order, '--order') : undefined,
            sellable: o.sellable === undefined ? undefined : Number(o.sellable),
          },
          signal,
          assumptions,
        );
      }
      const plan = await tool.authz(toolArgs, context);
      stage = 'cedar';
      // Within the call rate, as assumed above: the server refuses a call beyond it before Cedar.
      const decision = await previewDecision(authorizer, { key, now, machineBound: true, withinCallRate: true }, plan);
      if (!gateway && decision.code === 'PRICE_UNAVAILABLE' && !prices) {
        assumptions.push('no reference price: MARKET orders and sells are valued from a live quote; pass --gateway or --reference-price N');
      }
      return explanationOf(decision, decision.request ? 'cedar' : 'plan', engine, assumptions, authorizer.needsHuman(decision));
    } catch (err) {
      const known = isFutuError(err);
      return {
        allowed: false,
        code: known ? err.code : 'INTERNAL_ERROR',
        message: known ? err.message : describeError(err),
        stage,
        policy_version: engine.version,
        policies: [],
        errors: [],
        assumptions,
        needs_human: false,
      };
    }
  } finally {
    await gateway?.close();
    await state.close();
  }
}

function explanationOf(decision: Decision, stage: Explanation['stage'], engine: AuthzEngine, assumptions: string[], needsHuman: boolean): Explanation {
  const { request } = decision;
  return {
    allowed: decision.allowed,
    code: decision.code,
    message: decision.message,
    stage,
    policy_version: decision.policyVersion,
    policies: decision.determiningPolicies.map((p) => {
      const meta = engine.policies.get(p.id);
      return { ...p, file: meta?.file ?? '?', line: meta?.line ?? 0 };
    }),
    ...(request ? { request: { principal: request.principal, action: request.action, resource: request.resource, context: request.context } } : {}),
    errors: decision.errors,
    assumptions,
    needs_human: needsHuman,
  };
}

const STAGE_WHY: Record<Explanation['stage'], string> = {
  arguments: 'the arguments were refused before anything else (as the MCP layer refuses them)',
  key: 'the key itself cannot be used now',
  gate: 'refused by a gate before the plan may read anything from OpenD (no policy evaluated)',
  plan: 'the call could not be planned or priced (account or order resolution, valuation)',
  cedar: 'decided by the Cedar policies',
};

function renderExplanation(e: Explanation): string {
  const lines = [
    `decision: ${e.allowed ? 'ALLOW' : `DENY (${e.code})`}`,
    `message: ${e.message}`,
    `why: ${STAGE_WHY[e.stage]}${e.stage === 'cedar' && !e.allowed && e.policies.length === 0 ? ': no permit matched' : ''}`,
    ...(e.needs_human ? [`human: ${NEEDS_HUMAN}`] : []),
    `policy version: ${e.policy_version}`,
    ...(e.stage === 'cedar' ? ['determining policies:', ...(e.policies.length === 0 ? ['  (none)'] : [])] : []),
    ...e.policies.map((p) => `  ${p.effect} ${p.id} [${p.code}] ${p.file}:${p.line}: ${p.message}`),
    ...(e.errors.length > 0 ? ['evaluation errors:', ...e.errors.map((x) => `  ${x}`)] : []),
    ...(e.request ? ['cedar request:', ...JSON.stringify(e.request, null, 2).split('\n').map((l) => `  ${l}`)] : []),
    ...(e.assumptions.length > 0 ? ['assumed:', ...e.assumptions.map((a) => `  ${a}`)] : []),
  ];
  return lines.join('\n');
}

const GATEWAY_CONNECT_TIMEOUT_MS = 10_000;

async function connectGateway(address: string): Promise<FutuGateway> {
  const gateway = new FutuGateway({ ...parseHostPort(address), clientId: 'futucli-explain' });
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new UsageError(`could not connect to OpenD at ${address} within ${GATEWAY_CONNECT_TIMEOUT_MS / 1000} s`)), GATEWAY_CONNECT_TIMEOUT_MS);
    gateway.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  gateway.start();
  try {
    await connected;
  } catch (err) {
    await gateway.close();
    throw err;
  }
  return gateway;
}

function fixedPrice(price: number): ReferencePriceSource {
  if (!Number.isFinite(price) || price <= 0) throw new UsageError('--reference-price must be a positive number');
  return { bestPrices: async () => ({ bid: price, ask: price, last: price }) };
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}
