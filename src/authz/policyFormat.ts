import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyLoadError } from './errors.js';

/** Cedar's formatter over every *.cedar file of a policy directory (comments and annotations kept). */
export interface FormatResult {
  readonly file: string;
  readonly changed: boolean;
}

export function formatPolicyDir(policiesDir: string, options: { write: boolean }): FormatResult[] {
  const files = readdirSync(policiesDir).filter((f) => f.endsWith('.cedar')).sort();
  const problems: string[] = [];
  const results: FormatResult[] = [];
  for (const file of files) {
    const path = join(policiesDir, file);
    const text = readFileSync(path, 'utf8');
    const answer = cedar.formatPolicies({ policyText: text });
    if (answer.type !== 'success') {
      problems.push(...answer.errors.map((e) => `${file}: ${e.message}`));
      continue;
    }
    const changed = answer.formatted_policy !== text;
    if (changed && options.write) writeFileSync(path, answer.formatted_policy);
    results.push({ file, changed });
  }
  if (problems.length > 0) throw new PolicyLoadError(problems);
  return results;
}
