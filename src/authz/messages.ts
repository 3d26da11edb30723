import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import { formatMoney } from './money.js';

/**
 * @message templating. Cedar annotations are static text, so a forbid's message names the
 * values it needs and the engine fills them from the request it just evaluated:
 *
 *   {principal.<attr>}        an attribute of the API key entity
 *   {context.<attr>}          an attribute of the request context
 *   {<placeholder>|money}     a Money value (minor units) as "HKD 60,000.00", in the key's
 *                             limitCurrency
 *   {<placeholder>|prior}     a count that includes this call, minus this call ("3 in 60s"
 *                             means three earlier orders)
 *
 * Any other brace is a load error, and the loader checks every placeholder names an attribute
 * the schema declares for every action the policy can apply to.
 */
export type PlaceholderRoot = 'principal' | 'context';
export type PlaceholderFilter = 'money' | 'prior';

export interface Placeholder {
  readonly root: PlaceholderRoot;
  readonly attr: string;
  readonly filter?: PlaceholderFilter;
}

const PLACEHOLDER = /\{(principal|context)\.([A-Za-z_][A-Za-z0-9_]*)(?:\|(money|prior))?\}/g;

export function parsePlaceholders(template: string): { placeholders: Placeholder[]; problems: string[] } {
  const placeholders: Placeholder[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    placeholders.push({ root: m[1] as PlaceholderRoot, attr: m[2]!, ...(m[3] ? { filter: m[3] as PlaceholderFilter } : {}) });
  }
  const leftover = template.replace(PLACEHOLDER, '');
  const problems = /[{}]/.test(leftover) ? [`malformed placeholder in "${template}"`] : [];
  return { placeholders, problems };
}

export interface TemplateValues {
  readonly principal: Readonly<Record<string, CedarValueJson>>;
  readonly context: Readonly<Record<string, CedarValueJson>>;
}

export function renderMessage(template: string, values: TemplateValues): string {
  return template.replace(PLACEHOLDER, (_all, root: PlaceholderRoot, attr: string, filter?: PlaceholderFilter) => {
    const value = values[root][attr];
    if (filter === 'money' && typeof value === 'number') return formatMoney(value, String(values.principal.limitCurrency ?? ''));
    if (filter === 'prior' && typeof value === 'number') return String(Math.max(0, value - 1));
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
    return '?';
  });
}
