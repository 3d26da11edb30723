import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarValueJson, EntityJson, TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { PreparsedSlot } from './slots.js';

/**
 * Policy tests in the Cedar CLI `run-tests` format, so the same files run with
 * `cedar run-tests --policies … --schema … --tests policies/tests/x.tests.json`:
 * a JSON array of { name?, request: {principal, action, resource, context}, entities (array, or
 * a path relative to the test file inside its directory), decision, reason, num_errors }.
 * A case passes when the decision matches, every listed reason is among the actual reasons
 * (subset), and the number of evaluation errors is exactly num_errors.
 * Test files are *.tests.json; entity files (*.entities.json) sit next to them.
 */
export interface PolicyTestCase {
  readonly file: string;
  readonly name: string;
  readonly principal: TypeAndId;
  readonly action: TypeAndId;
  readonly resource: TypeAndId;
  readonly context: Record<string, CedarValueJson>;
  readonly entities: EntityJson[];
  readonly decision: 'allow' | 'deny';
  readonly reason: readonly string[];
  readonly numErrors: number;
}

export interface PolicyTestResult {
  readonly test: PolicyTestCase;
  readonly passed: boolean;
  readonly problems: readonly string[];
  /** The policies that determined the actual decision (Cedar's reasons); empty if it was not evaluated. */
  readonly determining: readonly string[];
}

const TEST_FILE_SUFFIX = '.tests.json';

/** `label` prefixes each case's file name (an org directory's tests are named by their path). */
export function readPolicyTests(testsDir: string, label = ''): { cases: PolicyTestCase[]; problems: string[] } {
  const cases: PolicyTestCase[] = [];
  const problems: string[] = [];
  if (!existsSync(testsDir)) return { cases, problems };
  const files = readdirSync(testsDir).filter((f) => f.endsWith(TEST_FILE_SUFFIX)).sort();
  for (const file of files) {
    try {
      cases.push(...parseTestFile(testsDir, file).map((c) => ({ ...c, file: `${label}${file}` })));
    } catch (err) {
      problems.push(`${label}${file}: ${(err as Error).message}`);
    }
  }
  return { cases, problems };
}

/** What tests run against: a preparsed slot, or (for the shipped set on its own) the texts themselves. */
export type PolicyTestTarget = PreparsedSlot | { readonly schemaText: string; readonly policies: Readonly<Record<string, string>> };

export function runPolicyTests(cases: readonly PolicyTestCase[], target: PolicyTestTarget): PolicyTestResult[] {
  return cases.map((test) => {
    const problems: string[] = [];
    let answer: cedar.AuthorizationAnswer;
    const request = { principal: test.principal, action: test.action, resource: test.resource, context: test.context, entities: test.entities, validateRequest: true };
    try {
      answer =
        'id' in target
          ? target.authorize(request)
          : cedar.isAuthorized({ ...request, schema: target.schemaText, policies: { staticPolicies: { ...target.policies } } });
    } catch (err) {
      return { test, passed: false, problems: [`evaluation threw: ${(err as Error).message}`], determining: [] };
    }
    if (answer.type !== 'success') {
      return { test, passed: false, problems: answer.errors.map((e) => `request rejected: ${e.message}`), determining: [] };
    }
    const { decision, diagnostics } = answer.response;
    const reasons = diagnostics.reason;
    if (decision !== test.decision) problems.push(`expected ${test.decision}, got ${decision}`);
    const missing = test.reason.filter((id) => !reasons.includes(id));
    if (missing.length > 0) problems.push(`expected reasons missing: ${missing.join(', ')} (actual: ${[...reasons].sort().join(', ') || 'none'})`);
    if (diagnostics.errors.length !== test.numErrors) {
      problems.push(`expected ${test.numErrors} errors, got ${diagnostics.errors.length}`);
    }
    return { test, passed: problems.length === 0, problems, determining: reasons };
  });
}

function parseTestFile(testsDir: string, file: string): PolicyTestCase[] {
  const path = join(testsDir, file);
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(raw)) throw new Error('a tests file must be a JSON array');
  return raw.map((entry: unknown, index) => {
    const t = entry as Record<string, unknown>;
    const name = typeof t.name === 'string' ? t.name : `#${index + 1}`;
    const where = `test "${name}"`;
    const request = t.request as Record<string, unknown> | undefined;
    if (!request || typeof request !== 'object') throw new Error(`${where}: missing request`);
    if (t.decision !== 'allow' && t.decision !== 'deny') throw new Error(`${where}: decision must be "allow" or "deny"`);
    if (!Array.isArray(t.reason) || !t.reason.every((r) => typeof r === 'string')) throw new Error(`${where}: reason must be an array of policy ids`);
    if (!Number.isSafeInteger(t.num_errors)) throw new Error(`${where}: num_errors must be an integer`);
    const context = request.context;
    if (typeof context !== 'object' || context === null || Array.isArray(context)) throw new Error(`${where}: request.context must be an object`);
    return {
      file,
      name,
      principal: parseEntityUid(request.principal, where),
      action: parseEntityUid(request.action, where),
      resource: parseEntityUid(request.resource, where),
      context: context as Record<string, CedarValueJson>,
      entities: loadEntities(testsDir, dirname(path), t.entities, where),
      decision: t.decision,
      reason: t.reason as string[],
      numErrors: t.num_errors as number,
    };
  });
}

/** `Futu::ApiKey::"sim-bot"` → {type: "Futu::ApiKey", id: "sim-bot"}. */
function parseEntityUid(text: unknown, where: string): TypeAndId {
  const m = typeof text === 'string' ? /^([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::("(?:[^"\\]|\\.)*")$/.exec(text) : null;
  if (!m) throw new Error(`${where}: "${String(text)}" is not an entity uid like Type::"id"`);
  return { type: m[1]!, id: JSON.parse(m[2]!) as string };
}

function loadEntities(testsDir: string, fileDir: string, spec: unknown, where: string): EntityJson[] {
  if (Array.isArray(spec)) return spec as EntityJson[];
  if (typeof spec !== 'string') throw new Error(`${where}: entities must be an array or a file path`);
  const path = resolve(fileDir, spec);
  const rel = relative(resolve(testsDir), path);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${where}: entities file ${spec} is outside the tests directory`);
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${where}: entities file ${spec} must hold a JSON array`);
  return parsed as EntityJson[];
}

export interface PolicyCoverage {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly file: string;
  readonly line: number;
  /** `<tests file>: <test name>` of every test in which the policy determined the decision. */
  readonly tests: readonly string[];
}

/**
 * Which tests exercise each policy: a policy is covered by a test when it is among the policies
 * that determined the test's decision (a satisfied permit of an allow, a satisfied forbid of a
 * deny). A policy no test makes decide is untested, whatever the tests around it assert.
 */
export function policyCoverage(
  policies: Iterable<{ readonly id: string; readonly effect: 'permit' | 'forbid'; readonly file: string; readonly line: number }>,
  results: readonly PolicyTestResult[],
): PolicyCoverage[] {
  const testsOf = new Map<string, string[]>();
  for (const r of results) {
    for (const id of r.determining) testsOf.set(id, [...(testsOf.get(id) ?? []), `${r.test.file}: ${r.test.name}`]);
  }
  return [...policies].map((p) => ({ id: p.id, effect: p.effect, file: p.file, line: p.line, tests: testsOf.get(p.id) ?? [] }));
}
