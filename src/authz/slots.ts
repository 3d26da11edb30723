import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/**
 * cedar-wasm caches preparsed schemas and policy sets per thread by id, replaces an entry when
 * the same id is preparsed again, and has no eviction. So each engine owns exactly two fixed
 * slots and alternates: the candidate goes into the inactive one, the active one keeps serving
 * until the switch. Ids are per engine instance (not per version), so memory stays bounded.
 *
 * A slot's policies are preparsed in chunks of CHUNK_POLICIES, each its own Cedar policy set:
 * a running server preparses a reloaded set on the event loop, and one wasm call over a large
 * set (+1,000 policies: hundreds of milliseconds) would stall every call meanwhile; chunk by
 * chunk, with the event loop served between them, no stall is longer than one chunk's. The
 * shipped set fits one chunk, so it is evaluated exactly as one set.
 */
export type Evaluate = (call: cedar.StatefulAuthorizationCall) => cedar.AuthorizationAnswer;

export type SlotCall = Omit<cedar.StatefulAuthorizationCall, 'preparsedPolicySetId' | 'preparsedSchemaName'>;

export interface PreparsedSlot {
  readonly id: string;
  /**
   * Cedar's answer for the whole set: every chunk evaluated and combined as Cedar combines
   * policies (any satisfied forbid denies, naming the forbids; else any satisfied permit allows,
   * naming the permits; else deny). Reasons and the policies of errors are our @ids.
   */
  authorize(call: SlotCall, evaluate?: Evaluate): cedar.AuthorizationAnswer;
}

/** Policies per preparsed chunk: about ten milliseconds of preparse each on a 2-core VM. */
export const CHUNK_POLICIES = 128;

let engines = 0;

const CEDAR_POLICY_ID = /^policy(\d+)$/;

interface SlotContent {
  /** Our @ids, chunk by chunk, in the order Cedar numbers them (policy0, policy1, … per chunk). */
  chunks: (readonly string[])[];
  /** The schema text the slot holds: a reload that keeps the schema does not preparse it again. */
  schema: string | undefined;
  /** Chunk ids ever preparsed in this slot (cedar keeps them until replaced). */
  chunkIdsUsed: number;
}

export class SlotPair {
  private readonly ids: readonly [string, string];
  private readonly content: [SlotContent, SlotContent] = [
    { chunks: [], schema: undefined, chunkIdsUsed: 0 },
    { chunks: [], schema: undefined, chunkIdsUsed: 0 },
  ];
  private activeIndex: 0 | 1 | null = null;

  constructor() {
    engines += 1;
    this.ids = [`futu-authz-${engines}-A`, `futu-authz-${engines}-B`];
  }

  inactive(): PreparsedSlot {
    const index = this.activeIndex === 0 ? 1 : 0;
    const id = this.ids[index];
    const { chunks } = this.content[index];
    return { id, authorize: (call, evaluate = cedar.statefulIsAuthorized) => authorizeOverChunks(id, chunks, call, evaluate) };
  }

  /** Preparses into the inactive slot; returns the problems (empty on success). `policies` holds one policy per entry. */
  prepare(schemaText: string, policies: Readonly<Record<string, string>>): string[] {
    const steps = this.steps(schemaText, policies);
    for (let step = steps.next(); ; step = steps.next()) if (step.done) return step.value;
  }

  /** prepare(), serving the event loop between one wasm call and the next (a running server's reload). */
  async prepareServing(schemaText: string, policies: Readonly<Record<string, string>>): Promise<string[]> {
    const steps = this.steps(schemaText, policies);
    for (let step = steps.next(); ; step = steps.next()) {
      if (step.done) return step.value;
      await yieldToEventLoop();
    }
  }

  /** Makes the inactive slot the active one and returns it. */
  switchToInactive(): PreparsedSlot {
    const next = this.inactive();
    this.activeIndex = this.activeIndex === 0 ? 1 : 0;
    return next;
  }

  /** One wasm call per step. */
  private *steps(schemaText: string, policies: Readonly<Record<string, string>>): Generator<void, string[]> {
    const index = this.activeIndex === 0 ? 1 : 0;
    const slot = this.content[index];
    // The first load readies the schema in both slots, so reloads that keep it only preparse policies.
    for (const i of this.activeIndex === null ? [index, 1 - index] : [index]) {
      const content = this.content[i]!;
      if (content.schema === schemaText) continue;
      content.schema = undefined;
      const schema = cedar.preparseSchema(this.ids[i]!, schemaText);
      if (schema.type !== 'success') return schema.errors.map((e) => `preparse schema: ${e.message}`);
      content.schema = schemaText;
      yield;
    }
    const entries = Object.entries(policies);
    const chunks: string[][] = [];
    for (let start = 0; start < entries.length || chunks.length === 0; start += CHUNK_POLICIES) chunks.push(entries.slice(start, start + CHUNK_POLICIES).map(([id]) => id));
    slot.chunks = [];
    for (const [k, ids] of chunks.entries()) {
      // One text per chunk: several times faster to preparse than a map of texts.
      const set = cedar.preparsePolicySet(chunkId(this.ids[index], k), { staticPolicies: ids.map((id) => policies[id]).join('\n') });
      if (set.type !== 'success') return set.errors.map((e) => `preparse policies: ${e.message}`);
      yield;
    }
    // Chunks a larger set left behind would stay in memory: empty them.
    for (let k = chunks.length; k < slot.chunkIdsUsed; k++) cedar.preparsePolicySet(chunkId(this.ids[index], k), { staticPolicies: '' });
    slot.chunkIdsUsed = chunks.length;
    slot.chunks = chunks;
    return [];
  }
}

function chunkId(slotId: string, chunk: number): string {
  return `${slotId}#${chunk}`;
}

function authorizeOverChunks(slotId: string, chunks: readonly (readonly string[])[], call: SlotCall, evaluate: Evaluate): cedar.AuthorizationAnswer {
  const ours = (ids: readonly string[], cedarId: string) => ids[Number(CEDAR_POLICY_ID.exec(cedarId)?.[1] ?? NaN)] ?? cedarId;
  const forbids: string[] = [];
  const permits: string[] = [];
  const errors: cedar.AuthorizationError[] = [];
  const warnings: cedar.DetailedError[] = [];
  for (const [k, ids] of chunks.entries()) {
    const answer = evaluate({ ...call, preparsedPolicySetId: chunkId(slotId, k), preparsedSchemaName: slotId });
    if (answer.type !== 'success') return answer;
    const { decision, diagnostics } = answer.response;
    (decision === 'allow' ? permits : forbids).push(...diagnostics.reason.map((id) => ours(ids, id)));
    errors.push(...diagnostics.errors.map((e) => ({ ...e, policyId: ours(ids, e.policyId) })));
    warnings.push(...answer.warnings);
  }
  const decision = forbids.length === 0 && permits.length > 0 ? 'allow' : 'deny';
  return { type: 'success', response: { decision, diagnostics: { reason: decision === 'allow' ? permits : forbids, errors } }, warnings };
}
