import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/**
 * cedar-wasm caches preparsed schemas and policy sets per thread by id, replaces an entry when
 * the same id is preparsed again, and has no eviction. So each engine owns exactly two fixed
 * slots and alternates: the candidate goes into the inactive one, the active one keeps serving
 * until the switch. Ids are per engine instance (not per version), so memory stays bounded.
 */
export interface PreparsedSlot {
  readonly id: string;
  /**
   * Our @id for each policy id Cedar reports in diagnostics. The set is preparsed as one policy
   * set text (several times faster than a map of texts, which matters as reloads preparse on the
   * event loop), and Cedar then names the policies policy0, policy1, … in text order.
   */
  readonly policyIds: (cedarIds: readonly string[]) => string[];
}

let engines = 0;

const CEDAR_POLICY_ID = /^policy(\d+)$/;

export class SlotPair {
  private readonly ids: readonly [string, string];
  /** Per slot, our @ids in the order they were preparsed. */
  private readonly order: [readonly string[], readonly string[]] = [[], []];
  /** Per slot, the schema text it holds: a reload that keeps the schema does not preparse it again. */
  private readonly schemas: [string | undefined, string | undefined] = [undefined, undefined];
  private activeIndex: 0 | 1 | null = null;

  constructor() {
    engines += 1;
    this.ids = [`futu-authz-${engines}-A`, `futu-authz-${engines}-B`];
  }

  inactive(): PreparsedSlot {
    const index = this.activeIndex === 0 ? 1 : 0;
    const order = this.order[index];
    return {
      id: this.ids[index],
      policyIds: (cedarIds) => cedarIds.map((cedarId) => order[Number(CEDAR_POLICY_ID.exec(cedarId)?.[1] ?? NaN)] ?? cedarId),
    };
  }

  /** Preparses into the inactive slot; returns the problems (empty on success). `policies` holds one policy per entry. */
  prepare(schemaText: string, policies: Readonly<Record<string, string>>): string[] {
    const index = this.activeIndex === 0 ? 1 : 0;
    const id = this.ids[index];
    // Reloads preparse on the event loop, and a schema takes tens of milliseconds: the first load
    // readies it in both slots, so a reload that keeps it only preparses the policies.
    const slotsToReady = this.activeIndex === null ? [index, 1 - index] : [index];
    for (const i of slotsToReady) {
      if (this.schemas[i] === schemaText) continue;
      this.schemas[i] = undefined;
      const schema = cedar.preparseSchema(this.ids[i]!, schemaText);
      if (schema.type !== 'success') return schema.errors.map((e) => `preparse schema: ${e.message}`);
      this.schemas[i] = schemaText;
    }
    const entries = Object.entries(policies);
    const set = cedar.preparsePolicySet(id, { staticPolicies: entries.map(([, text]) => text).join('\n') });
    if (set.type !== 'success') return set.errors.map((e) => `preparse policies: ${e.message}`);
    this.order[index] = entries.map(([policyId]) => policyId);
    return [];
  }

  /** Makes the inactive slot the active one and returns it. */
  switchToInactive(): PreparsedSlot {
    const next = this.inactive();
    this.activeIndex = this.activeIndex === 0 ? 1 : 0;
    return next;
  }
}
