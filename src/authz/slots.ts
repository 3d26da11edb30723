import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/**
 * cedar-wasm caches preparsed schemas and policy sets per thread by id, replaces an entry when
 * the same id is preparsed again, and has no eviction. So each engine owns exactly two fixed
 * slots and alternates: the candidate goes into the inactive one, the active one keeps serving
 * until the switch. Ids are per engine instance (not per version), so memory stays bounded.
 */
export interface PreparsedSlot {
  readonly id: string;
}

let engines = 0;

export class SlotPair {
  private readonly ids: readonly [string, string];
  private activeIndex: 0 | 1 | null = null;

  constructor() {
    engines += 1;
    this.ids = [`futu-authz-${engines}-A`, `futu-authz-${engines}-B`];
  }

  inactive(): PreparsedSlot {
    return { id: this.ids[this.activeIndex === 0 ? 1 : 0] };
  }

  /** Preparses into the inactive slot; returns the problems (empty on success). */
  prepare(schemaText: string, policies: Record<string, string>): string[] {
    const { id } = this.inactive();
    const schema = cedar.preparseSchema(id, schemaText);
    if (schema.type !== 'success') return schema.errors.map((e) => `preparse schema: ${e.message}`);
    const set = cedar.preparsePolicySet(id, { staticPolicies: policies });
    if (set.type !== 'success') return set.errors.map((e) => `preparse policies: ${e.message}`);
    return [];
  }

  /** Makes the inactive slot the active one and returns it. */
  switchToInactive(): PreparsedSlot {
    const next = this.inactive();
    this.activeIndex = this.activeIndex === 0 ? 1 : 0;
    return next;
  }
}
