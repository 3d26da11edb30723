import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAMESPACE } from './actions.js';
import { FORBID_CODES, PolicyLoadError } from './errors.js';
import { parsePlaceholders, type Placeholder } from './messages.js';
import { positionOf, ProblemList, type SourceText } from './policyErrors.js';
import { describeSchema, type SchemaModel } from './schemaModel.js';

/**
 * Reading and checking a policy set, everything short of preparsing: split each file into
 * policies, require the annotations (@id unique across files, @code, @message, @priority on
 * forbids), check message placeholders against the schema, and validate strictly (warnings
 * fail too). Any defect throws one PolicyLoadError listing every distinct problem found, Cedar's
 * with file:line:column and the offending text.
 *
 * The set is the shipped directory plus the operator's organisation directories (--org-policies).
 * Org files live outside the package, so an upgrade never overwrites them; they are validated
 * against the same schema and go into the policy version. In Cedar a forbid can only take
 * permission away and a permit can only add it, so an org file may hold forbids (limits,
 * confirmation rules) but no permit unless the operator passed --allow-org-permits.
 */
export interface PolicyPaths {
  /** The shipped set: holds *.cedar, VERSION and tests/. */
  readonly policiesDir: string;
  readonly schemaFile: string;
  /** Organisation directories: *.cedar and optionally tests/, evaluated together with the shipped set. */
  readonly orgDirs?: readonly string[];
  /** Org files may contain permits (which can widen what the shipped permits allow). */
  readonly allowOrgPermits?: boolean;
}

export type PolicyOrigin = 'shipped' | 'org';

export interface PolicyMeta {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly code: string;
  /** The @message template (see messages.ts). */
  readonly message: string;
  /** Forbids only: lowest number wins the message when several forbids match. */
  readonly priority: number;
  /** The file name (shipped) or path (org) it was read from, and the line its text starts on. */
  readonly file: string;
  readonly line: number;
  readonly origin: PolicyOrigin;
}

export interface CompiledPolicySet {
  readonly semver: string;
  /**
   * `<semver>+<12 hex>`: SHA-256 over the shipped policies (sorted by @id), schema and cedar
   * version; with org policies `.org.<12 hex>` over theirs follows, so the shipped part of the
   * version stays recognisable.
   */
  readonly version: string;
  readonly schemaText: string;
  readonly schema: SchemaModel;
  readonly policies: Readonly<Record<string, string>>;
  readonly meta: ReadonlyMap<string, PolicyMeta>;
}

interface SourceFile {
  /** The name a problem or explain shows: the file name (shipped) or its path (org). */
  readonly name: string;
  readonly text: string;
  readonly origin: PolicyOrigin;
}

const PERMIT_CODE = 'ALLOW';
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const SCHEMA_NAME = 'futu.cedarschema';

/** The policies and schema shipped with the package (dist/src/authz → package root). */
export function defaultPolicyPaths(): PolicyPaths {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  return { policiesDir: join(root, 'policies'), schemaFile: join(root, 'schemas', SCHEMA_NAME) };
}

/** The directories whose tests/ run against the set: the shipped one, then each org directory. */
export function policyTestDirs(paths: PolicyPaths): { dir: string; label: string }[] {
  return [{ dir: join(paths.policiesDir, 'tests'), label: '' }, ...(paths.orgDirs ?? []).map((d) => ({ dir: join(d, 'tests'), label: `${d}/tests/` }))];
}

export function compilePolicySet(paths: PolicyPaths): CompiledPolicySet {
  const { semver, schemaText, files } = readSources(paths);
  const schemaCheck = cedar.checkParseSchema(schemaText);
  if (schemaCheck.type !== 'success') {
    const schemaProblems = new ProblemList();
    for (const e of schemaCheck.errors) schemaProblems.addCedar({ file: basename(paths.schemaFile), text: schemaText, offset: 0 }, e, 'schema');
    throw new PolicyLoadError(schemaProblems.list());
  }
  const schema = describeSchema(schemaText, NAMESPACE);

  const problems = new ProblemList();
  const policies: Record<string, string> = {};
  const meta = new Map<string, PolicyMeta>();
  const sources = new Map<string, SourceText>();
  for (const file of files) {
    for (const entry of splitPolicies(file, problems)) {
      const policy = readAnnotations(file, entry, problems);
      if (!policy) continue;
      const earlier = meta.get(policy.id);
      if (earlier) {
        problems.add(`duplicate @id "${policy.id}" in ${earlier.file} and ${file.name}`);
        continue;
      }
      if (policy.origin === 'org' && policy.effect === 'permit' && !paths.allowOrgPermits) {
        problems.add(`${file.name}:${policy.line}: policy "${policy.id}" is a permit: organisation policies may add forbids, not permits, which could widen what the shipped permits allow (pass --allow-org-permits to accept it)`);
        continue;
      }
      checkPlaceholders(policy, entry.text, schemaText, schema, problems);
      policies[policy.id] = entry.text;
      meta.set(policy.id, policy);
      sources.set(policy.id, { file: file.name, text: file.text, offset: entry.offset });
    }
  }
  if (problems.size > 0) throw new PolicyLoadError(problems.list());

  const validation = cedar.validate({ schema: schemaText, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (validation.type !== 'success') throw new PolicyLoadError(validation.errors.map((e) => `validation: ${e.message}`));
  const findings = new ProblemList();
  const located = (kind: string) => (e: { policyId: string; error: cedar.DetailedError }) => {
    const source = sources.get(e.policyId);
    if (source) findings.addCedar(source, e.error, `${kind} in ${e.policyId}`);
    else findings.add(`${kind} in ${e.policyId}: ${e.error.message}`);
  };
  validation.validationErrors.forEach(located('validation error'));
  validation.validationWarnings.forEach(located('validation warning'));
  for (const e of validation.otherWarnings) findings.add(`validation warning: ${e.message}`);
  if (findings.size > 0) throw new PolicyLoadError(findings.list());

  const org = policiesOfOrigin({ policies, meta }, 'org');
  const orgPart = (paths.orgDirs ?? []).length > 0 ? `.org.${fingerprint(org, [String(paths.allowOrgPermits === true)])}` : '';
  const version = `${semver}+${fingerprint(policiesOfOrigin({ policies, meta }, 'shipped'), [schemaText, cedar.getCedarVersion()])}${orgPart}`;
  return { semver, version, schemaText, schema, policies, meta };
}

/** The texts of the set's shipped or org policies, by @id. */
export function policiesOfOrigin(set: Pick<CompiledPolicySet, 'policies' | 'meta'>, origin: PolicyOrigin): Record<string, string> {
  return Object.fromEntries(Object.entries(set.policies).filter(([id]) => set.meta.get(id)?.origin === origin));
}

function readSources(paths: PolicyPaths): { semver: string; schemaText: string; files: SourceFile[] } {
  try {
    const semver = readFileSync(join(paths.policiesDir, 'VERSION'), 'utf8').trim();
    if (!SEMVER.test(semver)) throw new Error(`VERSION "${semver.slice(0, 40)}" is not semver`);
    const schemaText = readFileSync(paths.schemaFile, 'utf8');
    const files = readCedarFiles(paths.policiesDir, 'shipped');
    for (const dir of paths.orgDirs ?? []) files.push(...readCedarFiles(dir, 'org'));
    return { semver, schemaText, files };
  } catch (err) {
    if (err instanceof PolicyLoadError) throw err;
    throw new PolicyLoadError([(err as Error).message]);
  }
}

function readCedarFiles(dir: string, origin: PolicyOrigin): SourceFile[] {
  const names = readdirSync(dir).filter((f) => f.endsWith('.cedar')).sort();
  if (names.length === 0) throw new Error(`no .cedar files in ${origin === 'org' ? 'organisation policy directory ' : ''}${dir}`);
  return names.map((name) => ({ name: origin === 'org' ? join(dir, name) : name, text: readFileSync(join(dir, name), 'utf8'), origin }));
}

interface PolicyEntry {
  readonly text: string;
  readonly json: cedar.PolicyJson;
  /** Where the policy's text starts in its file. */
  readonly offset: number;
}

function splitPolicies(file: SourceFile, problems: ProblemList): PolicyEntry[] {
  const parts = cedar.policySetTextToParts(file.text);
  if (parts.type !== 'success') {
    for (const e of parts.errors) problems.addCedar({ file: file.name, text: file.text, offset: 0 }, e);
    return [];
  }
  if (parts.policy_templates.length > 0) problems.add(`${file.name}: templates are not supported`);
  const out: PolicyEntry[] = [];
  let cursor = 0;
  for (const policyText of parts.policies) {
    // Cedar hands back each policy's text verbatim, in file order.
    const found = file.text.indexOf(policyText, cursor);
    const offset = found >= 0 ? found : cursor;
    cursor = found >= 0 ? found + policyText.length : cursor;
    const json = cedar.policyToJson(policyText);
    if (json.type === 'success') out.push({ text: policyText, json: json.json, offset });
    else for (const e of json.errors) problems.addCedar({ file: file.name, text: file.text, offset }, e);
  }
  return out;
}

function readAnnotations(file: SourceFile, entry: PolicyEntry, problems: ProblemList): PolicyMeta | null {
  const { json, text } = entry;
  const ann = json.annotations ?? {};
  const { line } = positionOf(file.text, entry.offset);
  const where = ann.id ? `${file.name}:${line}: policy "${ann.id}"` : `${file.name}:${line}: policy starting "${text.slice(0, 60).replace(/\s+/g, ' ')}"`;
  const missing = ['id', 'code', 'message', ...(json.effect === 'forbid' ? ['priority'] : [])].filter((a) => !ann[a]);
  if (missing.length > 0) {
    problems.add(`${where} lacks ${missing.map((a) => `@${a}`).join(', ')}`);
    return null;
  }
  const code = ann.code!;
  if (json.effect === 'permit' && code !== PERMIT_CODE) problems.add(`${where}: a permit's @code must be ${PERMIT_CODE}`);
  if (json.effect === 'forbid' && !(FORBID_CODES as readonly string[]).includes(code)) {
    problems.add(`${where}: @code must be one of ${FORBID_CODES.join(', ')}`);
  }
  const priority = json.effect === 'forbid' ? Number(ann.priority) : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(priority)) problems.add(`${where}: @priority must be an integer`);
  return { id: ann.id!, effect: json.effect, code, message: ann.message!, priority, file: file.name, line, origin: file.origin };
}

/** Every placeholder must name an attribute that exists for every action the policy covers. */
function checkPlaceholders(policy: PolicyMeta, text: string, schemaText: string, schema: SchemaModel, problems: ProblemList): void {
  const { placeholders, problems: syntax } = parsePlaceholders(policy.message);
  for (const p of syntax) problems.add(`policy "${policy.id}": ${p}`);
  if (placeholders.length === 0) return;
  const envs = cedar.getValidRequestEnvsPolicy(text, schemaText);
  if (envs.type !== 'success') {
    problems.add(`policy "${policy.id}": ${envs.error}`);
    return;
  }
  const actions = envs.actions.map((uid) => /"(.*)"$/.exec(uid)?.[1] ?? uid);
  for (const p of placeholders) {
    if (!attributeExists(p, actions, schema)) {
      problems.add(`policy "${policy.id}": @message placeholder {${p.root}.${p.attr}} is not an attribute of every request it applies to`);
    }
  }
}

function attributeExists(p: Placeholder, actions: readonly string[], schema: SchemaModel): boolean {
  if (p.root === 'principal') return schema.principalAttributes.has(p.attr);
  return actions.every((a) => schema.contextAttributes.get(a)?.has(p.attr) === true);
}

function fingerprint(policies: Readonly<Record<string, string>>, extra: readonly string[]): string {
  const hash = createHash('sha256');
  const feed = (part: string) => hash.update(`${Buffer.byteLength(part)}:${part}\n`);
  for (const id of Object.keys(policies).sort()) {
    feed(id);
    feed(policies[id]!);
  }
  for (const part of extra) feed(part);
  return hash.digest('hex').slice(0, 12);
}
