import type { AuthorizationAnswer } from '@cedar-policy/cedar-wasm/nodejs';
import v8 from 'node:v8';
import { log } from '../shared/log.js';
import { NAMESPACE } from './actions.js';
import type { AuthzRequest } from './builder.js';
import type { Decision, DeterminingPolicy, ShadowVerdict } from './decision.js';
import { cacheKey, DecisionCache, DEFAULT_DECISION_CACHE_SIZE, keyedRequest, type DecisionCacheStats } from './decisionCache.js';
import { PolicyLoadError } from './errors.js';
import { renderMessage } from './messages.js';
import { prepareCandidate, testFailures, type Candidate } from './candidate.js';
import { runWorker } from '../shared/offThread.js';
import type { CompiledPolicySet, PolicyMeta, PolicyPaths } from './policySet.js';
import type { PolicyTestResult } from './policyTests.js';
import { SlotPair, type Evaluate, type PreparsedSlot } from './slots.js';

// Node 20.20 (V8 11.3) aborts the process with SIGTRAP, "Fatal error ... unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation, when it lazily deoptimizes authorize() while
// TurboFan has inlined the JS->Wasm call into cedar-wasm; sustained load (~1,500 calls/s)
// reaches that within seconds. Not inlining JS->Wasm calls avoids it at no measurable cost
// here (the call itself is ~250 µs of Wasm). The flag is read when TurboFan compiles, so
// setting it here, before any authorize() has run hot, covers every process that authorizes
// (on 20.20.2 the optimized code is then the same as with the flag on the command line);
// V8 flags cannot be passed in NODE_OPTIONS. Re-test without it on each newer Node major and
// drop it once the abort is gone (V8 prints "unrecognized flag" if the flag itself is removed).
v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');

const CANDIDATE_WORKER = new URL('./candidateWorker.js', import.meta.url);

function assertTestsPass(tests: Candidate['tests']): void {
  const failures = testFailures(tests);
  if (failures.length > 0) throw new PolicyLoadError(failures);
}

export interface EngineOptions {
  /** Replaces cedar's statefulIsAuthorized for authorize() only: fault injection in tests. */
  readonly evaluate?: Evaluate;
  /** Decisions of non-trade requests kept per policy set (decisionCache.ts). */
  readonly decisionCacheSize?: number;
  /** --shadow-policies: a candidate set evaluated beside the active one, never deciding. */
  readonly shadow?: PolicyPaths;
}

interface ActiveSet {
  readonly slot: PreparsedSlot;
  readonly compiled: CompiledPolicySet;
  readonly decisions: DecisionCache;
}

/** definitive: the outcome may be reused; an evaluation failure must be retried, never remembered. */
interface Outcome {
  readonly decision: Decision;
  readonly definitive: boolean;
}

const NONE: readonly never[] = Object.freeze([]);

export interface LoadReport {
  readonly version: string;
  readonly policies: number;
  readonly tests: readonly PolicyTestResult[];
  /** The shadow set's version after the load, and why it kept the previous one if it did. */
  readonly shadow?: { readonly version: string; readonly problem?: string };
}

/**
 * Cedar evaluation with fixed A/B slots. Load and reload run the whole pipeline (compile →
 * preparse into the inactive slot → policy tests against that slot → switch); any failure
 * throws PolicyLoadError and leaves the running set untouched.
 *
 * authorize() is fail-closed: allow only on a successful answer that says allow with no
 * evaluation errors (an erroring forbid is otherwise silently skipped by Cedar); every other
 * outcome, a throw included, is a deny.
 *
 * Non-trade decisions are memoized per active policy set (decisionCache.ts), so a reload starts
 * from an empty cache. Decisions are frozen: a cached one goes to every caller of that request.
 *
 * With a shadow set, every request evaluated is evaluated by the shadow engine too, after the
 * active decision is made and whatever the shadow answers (or throws): a disagreement is only
 * attached to the decision (Decision.shadow) for the audit record and the metric. A shadow set
 * that fails to reload keeps its previous version and never blocks the active set's reload.
 */
export class AuthzEngine {
  private readonly slots = new SlotPair();
  private active: ActiveSet | null = null;
  /** Cedar's statefulIsAuthorized unless a test injects a fault (the slot's default). */
  private readonly evaluate: Evaluate | undefined;
  private readonly decisionCacheSize: number;
  private hits = 0;
  private misses = 0;
  private reloading: Promise<void> = Promise.resolve();
  private readonly shadow: AuthzEngine | undefined;

  private constructor(
    readonly paths: PolicyPaths,
    options: EngineOptions,
  ) {
    this.evaluate = options.evaluate;
    this.decisionCacheSize = options.decisionCacheSize ?? DEFAULT_DECISION_CACHE_SIZE;
    // Loaded (and its load failure thrown) before the active set: a start with a broken
    // candidate must fail, not run without the comparison the operator asked for.
    this.shadow = options.shadow ? AuthzEngine.load(options.shadow, { decisionCacheSize: this.decisionCacheSize }) : undefined;
  }

  static load(paths: PolicyPaths, options: EngineOptions = {}): AuthzEngine {
    const engine = new AuthzEngine(paths, options);
    engine.reload();
    return engine;
  }

  /** Loads the policy set again, and the shadow set beside it; on failure the running sets keep serving. */
  reload(): LoadReport {
    let candidate: Candidate;
    try {
      candidate = prepareCandidate(this.paths, this.slots);
      assertTestsPass(candidate.tests);
    } catch (err) {
      throw this.refused(err);
    }
    return this.activate(candidate, this.active ? this.reloadShadow() : this.shadowReport());
  }

  /**
   * reload() for a running server: compiling, validating and testing the set (seconds for a
   * large one) run on a worker thread while the running set keeps serving; only the preparse of
   * the tested texts into the inactive slot and the switch run here. Any failure throws
   * PolicyLoadError and leaves the running set active. Reloads run one at a time, in call order.
   *
   * The shadow set is made ready beside the active one (its own worker) and switches only when
   * the active set does: a refused reload keeps both running sets; a refused shadow set keeps
   * its previous version (LoadReport.shadow.problem) and never blocks the active set's reload.
   */
  reloadOffThread(): Promise<LoadReport> {
    const run = this.reloading.then(async () => {
      const [own, shadow] = await Promise.allSettled([this.prepareOffThread(), this.shadow?.prepareOffThread()]);
      if (own.status === 'rejected') throw this.refused(own.reason);
      return this.activate(own.value, this.switchShadow(shadow));
    });
    this.reloading = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The set compiled, validated and tested on a worker, then preparsed here into the inactive slot. */
  private async prepareOffThread(): Promise<Candidate> {
    const candidate = await runWorker<Candidate & { done: true }>(CANDIDATE_WORKER, { paths: this.paths }, () => undefined).catch((err: unknown) => {
      const problems = (err as { problems?: unknown })?.problems;
      throw Array.isArray(problems) ? new PolicyLoadError(problems as string[]) : err;
    });
    assertTestsPass(candidate.tests);
    const problems = await this.slots.prepareServing(candidate.compiled.schemaText, candidate.compiled.policies);
    if (problems.length > 0) throw new PolicyLoadError(problems);
    return candidate;
  }

  private refused(err: unknown): unknown {
    log.error('policy load refused; the running set (if any) stays active', {
      version: this.active?.compiled.version,
      problems: err instanceof PolicyLoadError ? err.problems : [(err as Error).message],
    });
    return err;
  }

  /** Switches to the candidate just preparsed into the inactive slot, with an empty decision cache. */
  private activate({ compiled, tests }: Candidate, shadow: LoadReport['shadow']): LoadReport {
    if (tests.length === 0) log.warn('policy set has no policy tests', { policiesDir: this.paths.policiesDir });
    const previous = this.active?.compiled.version;
    this.active = { slot: this.slots.switchToInactive(), compiled, decisions: new DecisionCache(this.decisionCacheSize) };
    log.info('policy set active', { version: compiled.version, previous, policies: compiled.meta.size, tests: tests.length, shadow: shadow?.version });
    return { version: compiled.version, policies: compiled.meta.size, tests, ...(shadow ? { shadow } : {}) };
  }

  /** The shadow set's version, if there is one. */
  get shadowVersion(): string | undefined {
    return this.shadow?.version;
  }

  private reloadShadow(): LoadReport['shadow'] {
    if (!this.shadow) return undefined;
    try {
      this.shadow.reload();
      return this.shadowReport();
    } catch (err) {
      return this.shadowKept(err);
    }
  }

  /** After the active set's off-thread reload succeeded: the shadow set prepared beside it switches too. */
  private switchShadow(prepared: PromiseSettledResult<Candidate | undefined>): LoadReport['shadow'] {
    if (!this.shadow) return undefined;
    if (prepared.status === 'rejected') return this.shadowKept(prepared.reason);
    this.shadow.activate(prepared.value!, undefined);
    return this.shadowReport();
  }

  private shadowKept(err: unknown): LoadReport['shadow'] {
    const problem = err instanceof PolicyLoadError ? err.problems.join('; ') : (err as Error).message;
    log.error('shadow policy reload refused; the previous shadow set stays', { version: this.shadow!.version, problem });
    return { version: this.shadow!.version, problem };
  }

  private shadowReport(): LoadReport['shadow'] {
    return this.shadow ? { version: this.shadow.version } : undefined;
  }

  get version(): string {
    return this.current().compiled.version;
  }

  get policies(): ReadonlyMap<string, PolicyMeta> {
    return this.current().compiled.meta;
  }

  get actions(): readonly string[] {
    return this.current().compiled.schema.actions;
  }

  get decisionCacheStats(): DecisionCacheStats {
    return { hits: this.hits, misses: this.misses, size: this.current().decisions.size };
  }

  authorize(request: AuthzRequest): Decision {
    const active = this.current();
    const key = cacheKey(request);
    if (key === undefined) return this.compared(request, this.decide(active, request).decision);
    const cached = active.decisions.get(key);
    if (cached) {
      this.hits += 1;
      return cached;
    }
    this.misses += 1;
    const keyed = keyedRequest(key, request);
    const { decision, definitive } = this.decide(active, keyed);
    const withShadow = this.compared(keyed, decision);
    if (definitive) active.decisions.set(key, withShadow);
    return withShadow;
  }

  /** The active decision, with the shadow set's verdict attached where the two disagree. */
  private compared(request: AuthzRequest, decision: Decision): Decision {
    if (!this.shadow) return decision;
    let candidate: Decision;
    try {
      candidate = this.shadow.authorize(request);
    } catch (err) {
      log.error('shadow evaluation failed; the active decision stands', { action: request.action, error: (err as Error)?.message });
      return decision;
    }
    if (candidate.allowed === decision.allowed) return decision;
    const shadow: ShadowVerdict = Object.freeze({
      kind: candidate.allowed ? 'would_allow' : 'would_deny',
      allowed: candidate.allowed,
      code: candidate.code,
      policies: Object.freeze(candidate.determiningPolicies.map((p) => p.id)),
      policyVersion: candidate.policyVersion,
    });
    return Object.freeze({ ...decision, shadow });
  }

  private decide({ slot, compiled }: ActiveSet, request: AuthzRequest): Outcome {
    const verdict = (fields: Pick<Decision, 'allowed' | 'code' | 'message'> & Partial<Decision>): Outcome => ({
      decision: Object.freeze({
        action: request.action,
        determiningPolicies: NONE,
        policyVersion: compiled.version,
        context: request.context,
        errors: NONE,
        request,
        ...fields,
      }),
      definitive: true,
    });
    const policyError = (errors: string[]): Outcome => {
      log.error('policy evaluation error: request denied', { action: request.action, version: compiled.version, errors });
      const message = 'authorization failed: policy evaluation error (denied)';
      return { ...verdict({ allowed: false, code: 'POLICY_ERROR', message, errors: Object.freeze(errors) }), definitive: false };
    };

    let answer: AuthorizationAnswer;
    try {
      answer = slot.authorize(
        {
          principal: request.principal.uid,
          action: { type: `${NAMESPACE}::Action`, id: request.action },
          resource: request.resource,
          context: request.context,
          entities: [request.principal],
          validateRequest: true,
        },
        this.evaluate,
      );
    } catch (err) {
      return policyError([`evaluation threw: ${(err as Error)?.message ?? String(err)}`]);
    }
    if (answer.type !== 'success') return policyError(answer.errors.map((e) => e.message));
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0) return policyError(diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`));

    const values = { principal: request.principal.attrs ?? {}, context: request.context };
    const determining: readonly DeterminingPolicy[] = Object.freeze(
      diagnostics.reason
        .map((id) => compiled.meta.get(id))
        .filter((m): m is PolicyMeta => m !== undefined)
        .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : 1))
        .map((m) => Object.freeze({ id: m.id, effect: m.effect, code: m.code, message: renderMessage(m.message, values) })),
    );

    if (decision === 'allow') return verdict({ allowed: true, code: 'ALLOW', message: 'allowed', determiningPolicies: determining });
    const first = determining[0];
    if (first) return verdict({ allowed: false, code: first.code as Decision['code'], message: first.message, determiningPolicies: determining });
    const scopes = request.principal.attrs?.scopes;
    if (request.requiredScope !== null && Array.isArray(scopes) && !scopes.includes(request.requiredScope)) {
      return verdict({ allowed: false, code: 'MISSING_SCOPE', message: `missing scope ${request.requiredScope}` });
    }
    return verdict({ allowed: false, code: 'POLICY_DENIED', message: `no policy permits ${request.action}` });
  }

  private current(): ActiveSet {
    if (!this.active) throw new PolicyLoadError(['no policy set loaded']);
    return this.active;
  }
}
