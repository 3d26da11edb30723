import type { z } from 'zod';
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import { FutuError } from '../shared/errors.js';

/**
 * The scope a tool needs. `trade` is resolved at call time to `trade:simulate` or `trade:real`
 * from the call's `env`, so one declaration covers both environments; `own-limits` needs none
 * (any valid key reads its own limits).
 */
export type ToolScope = 'qot:read' | 'acc:read' | 'trade' | 'trade:unlock' | 'own-limits';

const READ_SCOPES: ReadonlySet<ToolScope> = new Set(['qot:read', 'acc:read', 'own-limits']);

/**
 * Hints for tools that only read. Some clients auto-approve read-only tools, so only reads get
 * these. Just readOnlyHint: the spec ignores idempotentHint when it is true and defaults
 * openWorldHint to true, and every listed tool would otherwise repeat both.
 */
export const READ_TOOL_ANNOTATIONS = {
  readOnlyHint: true,
} as const satisfies ToolAnnotations;

/** Hints for tools that move money: clients should ask the human before every call. */
export const TRADE_TOOL_ANNOTATIONS = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
} as const satisfies ToolAnnotations;

/** What the MCP layer needs to list a tool and validate its calls. */
export interface ToolListing<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly scope: ToolScope;
  /** Must be a strict object (`z.strictObject`): an unknown field is refused, never dropped. */
  readonly input: I;
  /** Also an allowlist: fields of a result the schema does not name never reach the client. */
  readonly output: O;
  readonly annotations: ToolAnnotations;
  /** A one-line human summary opening the text block (e.g. "HK.00700 350.20 HKD +1.2%"). */
  readonly summarize?: (result: z.output<O>) => string;
  /**
   * The rest of the text block: a compact rendering of the result, e.g. a header row and one line
   * per item for a series. Without it the text carries the result as compact JSON.
   */
  readonly render?: (result: z.output<O>) => string;
}

/**
 * One tool = one declaration. The MCP layer reads the listing half; the call pipeline owns
 * `authz` (builds the Cedar request) and `execute`, and fills in `Ctx` and `AuthzRequest`.
 */
export interface ToolDeclaration<
  I extends z.ZodObject = z.ZodObject,
  O extends z.ZodObject = z.ZodObject,
  Ctx = unknown,
  AuthzRequest = unknown,
> extends ToolListing<I, O> {
  readonly authz: (args: z.output<I>, ctx: Ctx) => AuthzRequest;
  readonly execute: (args: z.output<I>, ctx: Ctx) => Promise<z.input<O>>;
}

export class ToolDeclarationError extends FutuError {
  constructor(tool: string, problem: string) {
    super('invalid_tool_declaration', `tool "${tool}": ${problem}`, { tool });
  }
}

// MCP tool name rules (spec 2025-11-25): 1-128 characters of A-Z a-z 0-9 _ - .
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Refuses, at startup, declarations that would weaken the server: lenient inputs, duplicate
 * names, or hints that let a client treat a state-changing tool as a harmless read.
 */
export function assertValidListings(tools: readonly ToolListing[]): void {
  const seen = new Set<string>();
  for (const tool of tools) {
    if (!TOOL_NAME.test(tool.name)) throw new ToolDeclarationError(tool.name, 'name must be 1-128 of A-Z a-z 0-9 _ - .');
    if (seen.has(tool.name)) throw new ToolDeclarationError(tool.name, 'declared twice');
    seen.add(tool.name);
    if (tool.input.def.catchall?._zod.def.type !== 'never') {
      throw new ToolDeclarationError(tool.name, 'input must be z.strictObject so unknown fields are refused');
    }
    const readsOnly = READ_SCOPES.has(tool.scope);
    if ((tool.annotations.readOnlyHint === true) !== readsOnly) {
      throw new ToolDeclarationError(tool.name, `readOnlyHint must be ${readsOnly} for scope ${tool.scope}`);
    }
    if (tool.scope === 'trade' && tool.annotations.destructiveHint !== true) {
      throw new ToolDeclarationError(tool.name, 'trade tools must carry destructiveHint: true');
    }
  }
}
