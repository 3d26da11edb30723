import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ACTION_SPECS, isActionName, type TradeAction } from '../../authz/actions.js';
import { Authorizer } from '../../authz/authorizer.js';
import { prepareCandidate, testFailures } from '../../authz/candidate.js';
import type { Decision } from '../../authz/decision.js';
import { AuthzEngine } from '../../authz/engine.js';
import { AuthzError } from '../../authz/errors.js';
import { FxConverter, loadFxTable } from '../../authz/fx.js';
import { LimitsLedger } from '../../authz/ledger.js';
import { formatPolicyDir } from '../../authz/policyFormat.js';
import { compilePolicySet, defaultPolicyPaths, type PolicyPaths } from '../../authz/policySet.js';
import { principalEntity } from '../../authz/principal.js';
import { policyCoverage } from '../../authz/policyTests.js';
import { readDecisionLog } from '../../authz/decisionLog.js';
import { replayDecisions, type ReplayedDecision, type ReplayReport } from '../../authz/replay.js';
import { SlotPair } from '../../authz/slots.js';
import { callTargetFromArgs, envFromArgs, tradeTermsFromArgs, type ToolArgs } from '../../authz/toolArgs.js';
import type { ExistingOrder, ReferencePriceSource } from '../../authz/valuation.js';
import { MachineIdentity } from '../../keys/machine.js';
import { KeyStore } from '../../keys/store.js';
import type { KeyRecord } from '../../keys/types.js';
import { action, type Output } from '../output.js';
import { defaultKeysFile, defaultStateDir } from '../paths.js';

/**
 * futucli policy: validate, test, fmt and explain the Cedar policy set. The test files use the
 * Cedar CLI run-tests format, so `cedar run-tests` runs the same files.
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
  dirOptions(
    policy
      .command('explain')
      .description("evaluate a tool call for a key and show the decision, determining policies and context (records nothing)"),
  )
    .requiredOption('--key <id>', 'key id in keys.json')
    .requiredOption('--tool <name>', 'tool name, e.g. futu_place_order')
    .option('--args <json>', 'the tool arguments as JSON', '{}')
    .option('--env <env>', 'simulate or real (overrides args.env)')
    .option('--keys-file <path>', 'keys.json location')
    .option('--state-dir <dir>', 'limits ledger directory (for rate and daily usage)')
    .option('--reference-price <n>', 'price to value MARKET orders at (explain has no gateway to quote)')
    .option('--order <json>', 'modify/cancel: the existing order {"symbol","side","qty","price"}')
    .option('--fx-file <path>', 'FX table overriding the built-in rates')
    .option('--at <time>', 'evaluate at this ISO time instead of now')
    .action(action(explain));
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

interface ExplainOptions extends DirOptions {
  key: string;
  tool: string;
  args: string;
  env?: string;
  keysFile?: string;
  stateDir?: string;
  referencePrice?: string;
  order?: string;
  fxFile?: string;
  at?: string;
}

async function explain(command: Command, out: Output): Promise<void> {
  const o = command.optsWithGlobals<ExplainOptions>();
  if (!isActionName(o.tool)) throw new AuthzError('INVALID_VALUE', `unknown tool "${o.tool}"`);
  const args: ToolArgs = { ...parseJson<ToolArgs>(o.args, '--args'), ...(o.env ? { env: o.env } : {}) };
  const now = o.at ? new Date(o.at) : new Date();
  if (Number.isNaN(now.getTime())) throw new AuthzError('INVALID_VALUE', `--at "${o.at}" is not a date-time`);

  const key = KeyStore.open(o.keysFile ?? defaultKeysFile()).getById(o.key);
  const caller = { key, now, machineBound: isBoundHere(key) };
  const authorizer = new Authorizer({
    engine: AuthzEngine.load(pathsOf(o)),
    ledger: new LimitsLedger({ stateDir: o.stateDir ?? defaultStateDir() }),
    fx: new FxConverter(o.fxFile ? loadFxTable(o.fxFile) : undefined),
    ...(o.referencePrice ? { prices: fixedPrice(Number(o.referencePrice)) } : {}),
  });

  const tool = o.tool;
  const decision =
    ACTION_SPECS[tool].group === 'trade'
      ? await authorizer.previewTrade({
          ...caller,
          terms: tradeTermsFromArgs(tool as TradeAction, args, o.order ? parseJson<ExistingOrder>(o.order, '--order') : undefined),
          env: envFromArgs(args),
          account: String(args.acc_id ?? ''),
        })
      : authorizer.authorizeCall({ ...caller, action: tool as Exclude<typeof tool, TradeAction>, target: callTargetFromArgs(args) });
  const principal = principalEntity(key).attrs ?? {};
  out.result({ decision, principal }, () => renderExplanation(decision, principal, o.referencePrice === undefined));
}

function renderExplanation(decision: Decision, principal: Record<string, unknown>, noReferencePrice: boolean): string {
  const lines = [
    `decision: ${decision.allowed ? 'ALLOW' : `DENY (${decision.code})`}`,
    `message: ${decision.message}`,
    `policy version: ${decision.policyVersion}`,
    'determining policies:',
    ...(decision.determiningPolicies.length === 0 ? ['  (none: no permit matched)'] : []),
    ...decision.determiningPolicies.map((p) => `  ${p.effect} ${p.id} [${p.code}]: ${p.message}`),
    ...(decision.errors.length > 0 ? ['evaluation errors:', ...decision.errors.map((e) => `  ${e}`)] : []),
    'context:',
    ...Object.entries(decision.context).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`),
    'principal:',
    ...Object.entries(principal).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`),
  ];
  if (decision.code === 'PRICE_UNAVAILABLE' && noReferencePrice) {
    lines.push('note: MARKET orders are valued from a live quote; explain has no gateway, pass --reference-price N');
  }
  return lines.join('\n');
}

function isBoundHere(key: KeyRecord): boolean {
  try {
    new MachineIdentity().assertBound(key.id, key.allowed_machines);
    return true;
  } catch {
    return false;
  }
}

function fixedPrice(price: number): ReferencePriceSource {
  if (!Number.isFinite(price) || price <= 0) throw new AuthzError('INVALID_VALUE', '--reference-price must be a positive number');
  return { bestPrices: async () => ({ bid: price, ask: price, last: price }) };
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AuthzError('INVALID_VALUE', `${what} is not valid JSON`);
  }
}
