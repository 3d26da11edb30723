import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NAMESPACE } from './actions.js';
import { FORBID_CODES, PolicyLoadError } from './errors.js';
import { parsePlaceholders, type Placeholder } from './messages.js';
import { describeSchema, type SchemaModel } from './schemaModel.js';

/**
 * Reading and checking a policy directory, everything short of preparsing: split each file into
 * policies, require the annotations (@id unique across files, @code, @message, @priority on
 * forbids), check message placeholders against the schema, and validate strictly (warnings
 * fail too). Any defect throws one PolicyLoadError listing all problems found.
 */
export interface PolicyPaths {
  /** Holds *.cedar, VERSION and tests/. */
  readonly policiesDir: string;
  readonly schemaFile: string;
}

export interface PolicyMeta {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly code: string;
  /** The @message template (see messages.ts). */
  readonly message: string;
  /** Forbids only: lowest number wins the message when several forbids match. */
  readonly priority: number;
  readonly file: string;
}

export interface CompiledPolicySet {
  readonly semver: string;
  /** `<semver>+<12 hex of SHA-256 over policies (sorted by @id), schema, cedar version>`. */
  readonly version: string;
  readonly schemaText: string;
  readonly schema: SchemaModel;
  readonly policies: Readonly<Record<string, string>>;
  readonly meta: ReadonlyMap<string, PolicyMeta>;
}

const PERMIT_CODE = 'ALLOW';
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

/** The policies and schema shipped with the package (dist/src/authz → package root). */
export function defaultPolicyPaths(): PolicyPaths {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  return { policiesDir: join(root, 'policies'), schemaFile: join(root, 'schemas', 'futu.cedarschema') };
}

export function compilePolicySet(paths: PolicyPaths): CompiledPolicySet {
  const { semver, schemaText, files } = readSources(paths);
  const schemaCheck = cedar.checkParseSchema(schemaText);
  if (schemaCheck.type !== 'success') throw new PolicyLoadError(schemaCheck.errors.map((e) => `schema: ${e.message}`));
  const schema = describeSchema(schemaText, NAMESPACE);

  const problems: string[] = [];
  const policies: Record<string, string> = {};
  const meta = new Map<string, PolicyMeta>();
  for (const file of files) {
    for (const entry of splitPolicies(file.name, file.text, problems)) {
      const policy = readAnnotations(file.name, entry.text, entry.json, problems);
      if (!policy) continue;
      const earlier = meta.get(policy.id);
      if (earlier) {
        problems.push(`duplicate @id "${policy.id}" in ${earlier.file} and ${file.name}`);
        continue;
      }
      checkPlaceholders(policy, entry.text, schemaText, schema, problems);
      policies[policy.id] = entry.text;
      meta.set(policy.id, policy);
    }
  }
  if (problems.length > 0) throw new PolicyLoadError(problems);

  const validation = cedar.validate({ schema: schemaText, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (validation.type !== 'success') throw new PolicyLoadError(validation.errors.map((e) => `validation: ${e.message}`));
  const findings = [
    ...validation.validationErrors.map((e) => `validation error in ${e.policyId}: ${e.error.message}`),
    ...validation.validationWarnings.map((e) => `validation warning in ${e.policyId}: ${e.error.message}`),
    ...validation.otherWarnings.map((e) => `validation warning: ${e.message}`),
  ];
  if (findings.length > 0) throw new PolicyLoadError(findings);

  return { semver, version: `${semver}+${fingerprint(policies, schemaText)}`, schemaText, schema, policies, meta };
}

function readSources(paths: PolicyPaths) {
  try {
    const semver = readFileSync(join(paths.policiesDir, 'VERSION'), 'utf8').trim();
    if (!SEMVER.test(semver)) throw new Error(`VERSION "${semver.slice(0, 40)}" is not semver`);
    const schemaText = readFileSync(paths.schemaFile, 'utf8');
    const names = readdirSync(paths.policiesDir).filter((f) => f.endsWith('.cedar')).sort();
    if (names.length === 0) throw new Error(`no .cedar files in ${paths.policiesDir}`);
    const files = names.map((name) => ({ name, text: readFileSync(join(paths.policiesDir, name), 'utf8') }));
    return { semver, schemaText, files };
  } catch (err) {
    if (err instanceof PolicyLoadError) throw err;
    throw new PolicyLoadError([(err as Error).message]);
  }
}

function splitPolicies(file: string, text: string, problems: string[]): { text: string; json: cedar.PolicyJson }[] {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') {
    problems.push(...parts.errors.map((e) => `${file}: ${e.message}`));
    return [];
  }
  if (parts.policy_templates.length > 0) problems.push(`${file}: templates are not supported`);
  const out: { text: string; json: cedar.PolicyJson }[] = [];
  for (const policyText of parts.policies) {
    const json = cedar.policyToJson(policyText);
    if (json.type === 'success') out.push({ text: policyText, json: json.json });
    else problems.push(...json.errors.map((e) => `${file}: ${e.message}`));
  }
  return out;
}

function readAnnotations(file: string, text: string, json: cedar.PolicyJson, problems: string[]): PolicyMeta | null {
  const ann = json.annotations ?? {};
  const where = ann.id ? `${file}: policy "${ann.id}"` : `${file}: policy starting "${text.slice(0, 60).replace(/\s+/g, ' ')}"`;
  const missing = ['id', 'code', 'message', ...(json.effect === 'forbid' ? ['priority'] : [])].filter((a) => !ann[a]);
  if (missing.length > 0) {
    problems.push(`${where} lacks ${missing.map((a) => `@${a}`).join(', ')}`);
    return null;
  }
  const code = ann.code!;
  if (json.effect === 'permit' && code !== PERMIT_CODE) problems.push(`${where}: a permit's @code must be ${PERMIT_CODE}`);
  if (json.effect === 'forbid' && !(FORBID_CODES as readonly string[]).includes(code)) {
    problems.push(`${where}: @code must be one of ${FORBID_CODES.join(', ')}`);
  }
  const priority = json.effect === 'forbid' ? Number(ann.priority) : Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(priority)) problems.push(`${where}: @priority must be an integer`);
  return { id: ann.id!, effect: json.effect, code, message: ann.message!, priority, file };
}

/** Every placeholder must name an attribute that exists for every action the policy covers. */
function checkPlaceholders(policy: PolicyMeta, text: string, schemaText: string, schema: SchemaModel, problems: string[]): void {
  const { placeholders, problems: syntax } = parsePlaceholders(policy.message);
  problems.push(...syntax.map((p) => `policy "${policy.id}": ${p}`));
  if (placeholders.length === 0) return;
  const envs = cedar.getValidRequestEnvsPolicy(text, schemaText);
  if (envs.type !== 'success') {
    problems.push(`policy "${policy.id}": ${envs.error}`);
    return;
  }
  const actions = envs.actions.map((uid) => /"(.*)"$/.exec(uid)?.[1] ?? uid);
  for (const p of placeholders) {
    if (!attributeExists(p, actions, schema)) {
      problems.push(`policy "${policy.id}": @message placeholder {${p.root}.${p.attr}} is not an attribute of every request it applies to`);
    }
  }
}

function attributeExists(p: Placeholder, actions: readonly string[], schema: SchemaModel): boolean {
  if (p.root === 'principal') return schema.principalAttributes.has(p.attr);
  return actions.every((a) => schema.contextAttributes.get(a)?.has(p.attr) === true);
}

function fingerprint(policies: Readonly<Record<string, string>>, schemaText: string): string {
  const hash = createHash('sha256');
  const feed = (part: string) => hash.update(`${Buffer.byteLength(part)}:${part}\n`);
  for (const id of Object.keys(policies).sort()) {
    feed(id);
    feed(policies[id]!);
  }
  feed(schemaText);
  feed(cedar.getCedarVersion());
  return hash.digest('hex').slice(0, 12);
}
