import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

/**
 * The parts of the Cedar schema the gateway itself needs to know: its actions (to compare with
 * the tool registry) and which attributes exist on the key and in each action's context (to
 * check @message placeholders at load time).
 */
export interface SchemaModel {
  /** Actions that can be requested (groups without appliesTo excluded). */
  readonly actions: readonly string[];
  readonly principalAttributes: ReadonlySet<string>;
  readonly contextAttributes: ReadonlyMap<string, ReadonlySet<string>>;
}

interface RecordJson {
  type: string;
  name?: string;
  attributes?: Record<string, unknown>;
}

export function describeSchema(schemaText: string, namespace: string): SchemaModel {
  const answer = cedar.schemaToJson(schemaText);
  if (answer.type !== 'success') throw new Error(answer.errors.map((e) => e.message).join('; '));
  const ns = answer.json[namespace];
  if (!ns) throw new Error(`schema has no namespace ${namespace}`);
  const commonTypes = (ns.commonTypes ?? {}) as Record<string, RecordJson>;
  const recordAttributes = (t: RecordJson | undefined): Set<string> => {
    const record = t && t.type !== 'Record' ? commonTypes[t.name ?? t.type] : t;
    return new Set(Object.keys(record?.attributes ?? {}));
  };
  const principal = ns.entityTypes['ApiKey'] as { shape?: RecordJson } | undefined;
  const contextAttributes = new Map<string, Set<string>>();
  for (const [name, action] of Object.entries(ns.actions)) {
    const appliesTo = (action as { appliesTo?: { principalTypes: string[]; context?: RecordJson } }).appliesTo;
    if (appliesTo && appliesTo.principalTypes.length > 0) contextAttributes.set(name, recordAttributes(appliesTo.context));
  }
  return {
    actions: [...contextAttributes.keys()].sort(),
    principalAttributes: recordAttributes(principal?.shape),
    contextAttributes,
  };
}
