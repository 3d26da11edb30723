import { PolicyLoadError } from './errors.js';
import { compilePolicySet, policiesOfOrigin, policyTestDirs, type CompiledPolicySet, type PolicyPaths } from './policySet.js';
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
  const [shipped, ...org] = policyTestDirs(paths).map(({ dir, label }) => readPolicyTests(dir, label));
  const problems = [shipped!, ...org].flatMap((r) => r.problems);
  if (problems.length > 0) throw new PolicyLoadError(problems);
  const preparse = slots.prepare(compiled.schemaText, { ...compiled.policies });
  if (preparse.length > 0) throw new PolicyLoadError(preparse);
  // The shipped tests describe the shipped set: an org forbid may rightly turn one of their
  // allows into a deny, so with org files they run against the shipped policies alone (proving
  // those intact), and the org tests run against the whole set.
  const shippedTarget = org.length === 0 ? slots.inactive() : { schemaText: compiled.schemaText, policies: policiesOfOrigin(compiled, 'shipped') };
  return { compiled, tests: [...runPolicyTests(shipped!.cases, shippedTarget), ...runPolicyTests(org.flatMap((r) => r.cases), slots.inactive())] };
}

export function testFailures(tests: readonly PolicyTestResult[]): string[] {
  return tests.filter((t) => !t.passed).map((t) => `policy test "${t.test.name}" (${t.test.file}) failed: ${t.problems.join('; ')}`);
}
