import type { DetailedError } from '@cedar-policy/cedar-wasm/nodejs';

/**
 * Cedar's parse and validation errors as a reviewer needs them: `file:line:column: message:
 * \`offending text\``, each distinct error once. Cedar reports offsets into the text it was
 * given (a whole file, or one policy of it), and its validator repeats an error once per action
 * a policy applies to ("... in context for Futu::Action::"futu_get_quote" not found"), so the
 * action is taken out of the message and the repeats become one line naming the actions.
 */
export interface SourceText {
  /** The file as the reviewer knows it (limits.cedar, or an org file's path). */
  readonly file: string;
  /** The whole file. */
  readonly text: string;
  /** Where the text Cedar saw (the file, or one policy of it) starts inside the file. */
  readonly offset: number;
}

/** A 1-based line and column of a character offset. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

const PER_ACTION = / (?:in context )?for (Futu::Action::"[^"]+")/;
const SNIPPET_LIMIT = 80;
const SHOWN_ACTIONS = 4;

/** Collects located problems, dropping exact repeats and merging the per-action ones. */
export class ProblemList {
  private readonly entries = new Map<string, { text: string; actions: string[] }>();

  /** A plain problem (no Cedar position), kept once. */
  add(problem: string): void {
    if (!this.entries.has(problem)) this.entries.set(problem, { text: problem, actions: [] });
  }

  /** A Cedar error located in `source`; `prefix` says what kind (e.g. "validation error in rate-limit"). */
  addCedar(source: SourceText, error: DetailedError, prefix?: string): void {
    const location = error.sourceLocations?.[0];
    const where = location ? at(source, location.start) : source.file;
    const action = PER_ACTION.exec(error.message)?.[1];
    const message = action ? error.message.replace(PER_ACTION, '') : error.message;
    const snippet = location ? offending(source.text, source.offset + location.start, source.offset + location.end) : '';
    // The help differs per action ("did you mean `market`?" / "`account`?"), so a merged error drops it.
    const help = error.help && !action ? ` (${error.help})` : '';
    const text = `${where}: ${prefix ? `${prefix}: ` : ''}${message}${help}${snippet ? `: \`${snippet}\`` : ''}`;
    const entry = this.entries.get(text) ?? { text, actions: [] };
    if (action && !entry.actions.includes(action)) entry.actions.push(action);
    this.entries.set(text, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  list(): string[] {
    return [...this.entries.values()].map(({ text, actions }) => (actions.length === 0 ? text : `${text} (for ${describeActions(actions)})`));
  }
}

function at(source: SourceText, start: number): string {
  const { line, column } = positionOf(source.text, source.offset + start);
  return `${source.file}:${line}:${column}`;
}

function offending(text: string, start: number, end: number): string {
  const raw = text.slice(start, Math.max(end, start + 1)).replace(/\s+/g, ' ').trim();
  return raw.length > SNIPPET_LIMIT ? `${raw.slice(0, SNIPPET_LIMIT - 1)}…` : raw;
}

function describeActions(actions: readonly string[]): string {
  const names = actions.map((a) => /"([^"]+)"/.exec(a)?.[1] ?? a);
  if (names.length === 1) return `action ${names[0]}`;
  const shown = names.length > SHOWN_ACTIONS ? [...names.slice(0, SHOWN_ACTIONS), '…'] : names;
  return `${names.length} actions: ${shown.join(', ')}`;
}
