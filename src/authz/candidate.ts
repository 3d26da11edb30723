import { PolicyLoadError } from './errors.js';
import { compilePolicySet, policyTestDirs, type CompiledPolicySet, type PolicyPaths } from './policySet.js';
import { readPolicyTests, runPolicyTests, type PolicyTestResult } from './policyTests.js';
import type { SlotPair } from './slots.js';

/**
 * A policy set (shipped directory plus org directories) made ready in the inactive slot:
 * compiled (annotations, placeholders, strict validation), preparsed, and its tests
 * (policies/tests and each org directory's tests/) run against exactly what was preparsed. Test
 * failures are returned, not thrown, so `policy test` can list them all.
 */
export interface Candidate {
  readonly compiled: CompiledPolicySet;
  readonly tests: readonly PolicyTestResult[];
}

export function prepareCandidate(paths: PolicyPaths, slots: SlotPair): Candidate {
  const compiled = compilePolicySet(paths);
  const read = policyTestDirs(paths).map(({ dir, label }) => readPolicyTests(dir, label));
  const problems = read.flatMap((r) => r.problems);
  if (problems.length > 0) throw new PolicyLoadError(problems);
  const cases = read.flatMap((r) => r.cases);
  const preparse = slots.prepare(compiled.schemaText, { ...compiled.policies });
  if (preparse.length > 0) throw new PolicyLoadError(preparse);
  return { compiled, tests: runPolicyTests(cases, slots.inactive()) };
}

export function testFailures(tests: readonly PolicyTestResult[]): string[] {
  return tests.filter((t) => !t.passed).map((t) => `policy test "${t.test.name}" (${t.test.file}) failed: ${t.problems.join('; ')}`);
}
