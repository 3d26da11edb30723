import { z } from 'zod';
import { CLIENT_CAPABILITIES_META_KEY, inputRequired, Server } from '@modelcontextprotocol/server';
import type {
  AuthInfo,
  CacheHint,
  CallToolResult,
  ClientCapabilities,
  InputRequiredResult,
  ProtocolEra,
  ReadResourceResult,
  Resource,
  ResourceTemplateType,
  ServerContext,
  Tool,
} from '@modelcontextprotocol/server';
import type { ResumedRound, RoundState } from '../authz/confirmations.js';
import type { KeyRecord } from '../keys/types.js';
import { describeError, isFutuError } from '../shared/errors.js';
import { log, type Log } from '../shared/log.js';
import { truncate } from '../shared/truncate.js';
import { answerOf, canShowForm, CONFIRM_FORM_SCHEMA, CONFIRM_INPUT, type ConfirmationRoundSeal } from './confirmationRounds.js';
import type { Principal } from './http/auth.js';
import { assertValidListings, type ToolListing } from './tool.js';

/** What a transport knows about one tool call; the pipeline resolves the key from it per call. */
export interface CallContext {
  readonly transport: 'stdio' | 'http';
  /** The bearer token of the HTTP request carrying this call; never set on stdio. */
  readonly bearerToken?: string;
  /** The key record bearerToken matched when this request was authenticated (HTTP only). */
  readonly bearerKey?: KeyRecord;
  readonly sessionId?: string;
  /** The JSON-RPC id of the tools/call request (for the log lines of this call). */
  readonly requestId: string;
  /** The key id that opened the HTTP session (always the key of this request: others are refused). */
  readonly sessionKeyId?: string;
  /** Aborted when the client cancels the call (`notifications/cancelled`) or disconnects. */
  readonly signal: AbortSignal;
  /**
   * Shows the client's user a yes/no form (MCP elicitation) and resolves to their answer; absent
   * when the client declared no elicitation capability.
   */
  readonly askHuman?: (message: string, timeoutMs: number) => Promise<HumanAnswer>;
  /**
   * The same for a 2026-07-28 request, which cannot wait for the human: the form goes back in an
   * input_required result and the answer comes with the client's retry (`resumed`). Absent when
   * the client declared no form elicitation; never set together with askHuman.
   */
  readonly confirmationRounds?: { readonly resumed?: ResumedRound };
}

export type HumanAnswer = 'accept' | 'decline' | 'cancel' | 'timeout';

export interface ToolFailure {
  readonly code: string;
  /** Shown to the LLM verbatim: must be safe (no secrets) and specific. */
  readonly message: string;
  /** Fields a client may act on (a confirmation_id, retry_after_seconds); also safe to show. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Where an error result carries its code and details as data (structuredContent must match the tool's output schema, so not there). */
export const ERROR_META_KEY = 'futu-mcp/error';

/** A call that waits for the human's answer in the client: the form to show and the state to seal for the retry. */
export interface ConfirmationRoundAsk {
  readonly state: RoundState;
  readonly form: string;
}

export type CallOutcome = { readonly structured: Record<string, unknown> } | { readonly error: ToolFailure } | { readonly confirmationRound: ConfirmationRoundAsk };

/** Receives only calls to listed tools whose arguments passed the tool's input schema. */
export type CallHandler = (toolName: string, args: Record<string, unknown>, context: CallContext) => Promise<CallOutcome>;

/**
 * Told about calls refused before `handleCall` (unknown tool, invalid arguments), e.g. to audit
 * them. `argumentKey` is the call's own `api_key` when it sent a string one, so the refusal is
 * recorded under the key that made the call; it is a secret, for key lookup only.
 */
export type RefusalListener = (
  toolName: string,
  failure: ToolFailure,
  context: CallContext,
  argumentKey: string | undefined,
) => void | ToolFailure | Promise<void | ToolFailure>;

/**
 * Which tools a connection's key may call, so `tools/list` shows only those. Calls are not
 * filtered here: a call to an unlisted tool still reaches the pipeline and its scope denial.
 */
export interface ToolVisibility {
  /** Names of the tools the key behind `context` may call; undefined lists every tool. */
  visibleTo(context: CallContext): ReadonlySet<string> | undefined;
  /** Calls `listener` whenever keys or policies were reloaded; returns the unsubscribe. */
  onReload(listener: () => void): () => void;
}

/**
 * The live resources (futu://quote/{symbol}, ...): reads and subscriptions authorized per call,
 * as ResourceHub (resources/hub.ts) implements them. A refusal is thrown as a ProtocolError.
 */
export interface ResourceService {
  templates(context: CallContext): ResourceTemplateType[];
  list(context: CallContext): Resource[];
  read(uri: string, context: CallContext): Promise<ReadResourceResult>;
  /** Resolves once authorized; `notify` is called on each change the key may still have. */
  subscribe(uri: string, context: CallContext, notify: () => void): Promise<{ close(): void }>;
}

export interface CreateMcpServerOptions {
  readonly name: string;
  readonly version: string;
  readonly tools: readonly ToolListing[];
  readonly handleCall: CallHandler;
  readonly onRefused?: RefusalListener;
  /** Sent in the initialize result: how to use the tools as a whole. */
  readonly instructions?: string;
  readonly visibility?: ToolVisibility;
  /** The protocol era this instance serves, as the serving entry says (default legacy: a 2025 session). */
  readonly era?: ProtocolEra;
  /**
   * 'request': one instance per HTTP request (the 2026-07-28 handler), which reports tool list
   * changes through the handler's subscriptions rather than on a connection of its own.
   */
  readonly lifetime?: 'connection' | 'request';
  /** Seals 2026-07-28 confirmation rounds; without it such calls are confirmed out of band. */
  readonly roundSeal?: ConfirmationRoundSeal;
  readonly resources?: ResourceService;
}

/**
 * Cache hints of 2026-07-28 results (2025 responses never carry them). The tool list depends on
 * the caller's key, so it is private to that caller; a minute keeps a changed key's list from
 * lingering (every call is authorized anyway). Discovery is the same for every key, but is only
 * answered to an authenticated caller: private as well.
 */
const CACHE_HINTS: { readonly 'tools/list': CacheHint; readonly 'server/discover': CacheHint } = {
  'tools/list': { ttlMs: 60_000, cacheScope: 'private' },
  'server/discover': { ttlMs: 10 * 60_000, cacheScope: 'private' },
};

const SESSION_KEY_ID = 'sessionKeyId';
const BEARER_KEY = 'bearerKey';

/**
 * The AuthInfo an HTTP transport attaches to each request so calls see their own token and key.
 * Only the server sets it (the SDK passes req.auth through), so its extras can be trusted.
 */
export function httpAuthInfo(token: string, principal: Principal, sessionKeyId: string): AuthInfo {
  return { token, clientId: principal.keyId, scopes: [...principal.scopes], extra: { [SESSION_KEY_ID]: sessionKeyId, [BEARER_KEY]: principal.key } };
}

/**
 * `legacySession`: the 2025 session whose client may be asked with elicitation/create;
 * `rounds`: the 2026-07-28 confirmation rounds of this request (see roundsOf).
 */
function callContextOf(ctx: ServerContext, legacySession?: Server, rounds?: CallContext['confirmationRounds']): CallContext {
  const auth = ctx.http?.authInfo;
  const sessionKeyId = auth?.extra?.[SESSION_KEY_ID];
  const canElicit = legacySession !== undefined && canShowForm(legacySession.getClientCapabilities());
  return {
    ...(canElicit && { askHuman: (message: string, timeoutMs: number) => askHuman(ctx, message, timeoutMs) }),
    ...(rounds && { confirmationRounds: rounds }),
    transport: ctx.http ? 'http' : 'stdio',
    bearerToken: auth?.token,
    bearerKey: auth?.extra?.[BEARER_KEY] as KeyRecord | undefined,
    sessionId: ctx.sessionId,
    requestId: String(ctx.mcpReq.id),
    sessionKeyId: typeof sessionKeyId === 'string' ? sessionKeyId : undefined,
    signal: ctx.mcpReq.signal,
  };
}

/** The log for one call: every line carries its request id, session and transport (and `bindings`). */
export function callLog(context: CallContext, bindings: Record<string, unknown> = {}): Log {
  return log.child({ request_id: context.requestId, session_id: context.sessionId, transport: context.transport, ...bindings });
}

/** A 2025 session asks its client with elicitation/create and waits for the answer. */
async function askHuman(ctx: ServerContext, message: string, timeoutMs: number): Promise<HumanAnswer> {
  try {
    const result = await ctx.mcpReq.elicitInput({ mode: 'form', message, requestedSchema: CONFIRM_FORM_SCHEMA }, { timeout: timeoutMs, signal: ctx.mcpReq.signal });
    return answerOf(result);
  } catch (err) {
    // The SDK's request timeout (SdkError REQUEST_TIMEOUT; -32001 in the v1 wire code); anything else
    // (a closed session, a cancelled call) is no answer either.
    const code = (err as { code?: unknown })?.code;
    return code === 'REQUEST_TIMEOUT' || code === -32001 ? 'timeout' : 'cancel';
  }
}

/** The client capabilities a 2026-07-28 request declares in its envelope (validated by the SDK before dispatch). */
function declaredCapabilities(ctx: ServerContext): ClientCapabilities | undefined {
  // The SDK's bundled typings lose the envelope's keys.
  return (ctx.mcpReq.envelope as Readonly<Record<string, unknown>> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
}

interface ListedTool {
  readonly listing: ToolListing;
  readonly definition: Tool;
}

// One HTTP session = one server instance; converting 20 schemas per session would be waste.
const definitions = new WeakMap<ToolListing, Tool>();

function definitionOf(listing: ToolListing): Tool {
  let definition = definitions.get(listing);
  if (!definition) {
    definition = {
      name: listing.name,
      title: listing.title,
      description: listing.description,
      inputSchema: jsonSchemaOf(listing.input, 'input') as Tool['inputSchema'],
      outputSchema: jsonSchemaOf(listing.output, 'output') as Tool['outputSchema'],
      annotations: listing.annotations,
    };
    definitions.set(listing, definition);
  }
  return definition;
}

/**
 * Protocol revisions before 2025-06-18 have no tool `title`, `outputSchema` or
 * `structuredContent`: a session that negotiated one gets neither (its clients read the text
 * block, which carries the whole result). Unknown or later revisions get them.
 */
const REVISIONS_WITHOUT_STRUCTURED_OUTPUT: ReadonlySet<string> = new Set(['2024-11-05', '2025-03-26']);

function speaksStructuredOutput(server: Server): boolean {
  const revision = server.getNegotiatedProtocolVersion();
  return revision === undefined || !REVISIONS_WITHOUT_STRUCTURED_OUTPUT.has(revision);
}

const legacyDefinitions = new WeakMap<Tool, Tool>();

function legacyDefinitionOf(definition: Tool): Tool {
  let legacy = legacyDefinitions.get(definition);
  if (!legacy) {
    const { title: _title, outputSchema: _outputSchema, ...rest } = definition;
    legacy = rest;
    legacyDefinitions.set(definition, legacy);
  }
  return legacy;
}

function legacyResult(result: CallToolResult): CallToolResult {
  const { structuredContent: _structured, ...rest } = result;
  return rest;
}

/**
 * Without `$schema` (MCP already says tool schemas are 2020-12) and, in output schemas, without
 * `additionalProperties: false` (results are filtered through the schema anyway): both repeat in
 * every tool and cost the model's context on every tools/list. Input schemas keep it, as the
 * server does refuse unknown arguments.
 */
function jsonSchemaOf(schema: z.ZodObject, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    override: (ctx) => {
      const node = ctx.jsonSchema;
      if (io === 'output' && node.additionalProperties === false) delete node.additionalProperties;
      if (Array.isArray(node.prefixItems)) listTupleAsArray(node as Record<string, unknown>);
    },
  }) as Record<string, unknown>;
  return rest;
}

/**
 * Rows of a series are tuples in zod (checked per position here), but a tuple's 2020-12 form
 * (`prefixItems`, `items: false`) reads as "no items allowed" to draft-07 validators, which
 * v1 SDK clients use: list it as an array of the union of its item types instead.
 */
function listTupleAsArray(node: Record<string, unknown>): void {
  const types = new Set<string>();
  for (const item of node.prefixItems as Array<{ type?: string; anyOf?: Array<{ type?: string }> }>) {
    for (const t of item.anyOf ?? [item]) if (t.type !== undefined) types.add(t.type);
  }
  delete node.prefixItems;
  node.items = { type: types.size === 1 ? [...types][0] : [...types] };
}

/**
 * Issues name fields the client chose (`Unrecognized keys: "…"`), and the text goes back to the
 * model and into the refusal's audit record, so both the count and each issue are bounded.
 */
const MAX_ISSUES_DESCRIBED = 5;
const MAX_ISSUE_CHARS = 200;

/** `symbol: Invalid input: …; Unrecognized key: "foo"` — every issue names its field. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const described = issues
    .slice(0, MAX_ISSUES_DESCRIBED)
    .map((issue) => truncate(issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message, MAX_ISSUE_CHARS));
  if (issues.length > MAX_ISSUES_DESCRIBED) described.push(`and ${issues.length - MAX_ISSUES_DESCRIBED} more`);
  return described.join('; ');
}

// A client-chosen name is echoed into the error and the refusal record; keep it bounded.
function boundedToolName(name: string): string {
  return truncate(name, 128);
}

/** A schema that throws (instead of reporting an issue) must still end in an audited refusal. */
function safeParseArguments(listing: ToolListing, args: unknown): ReturnType<ToolListing['input']['safeParse']> {
  try {
    return listing.input.safeParse(args);
  } catch (err) {
    log.error('argument validation threw', { tool: listing.name, error: describeError(err) });
    return { success: false, error: new z.ZodError([{ code: 'custom', path: [], message: 'arguments could not be validated', input: undefined }]) } as ReturnType<
      ToolListing['input']['safeParse']
    >;
  }
}

/** The call's own `api_key`, if its tool takes one and it is a string; anywhere else it is just an unknown field. */
function argumentKeyOf(listing: ToolListing, args: Record<string, unknown> | undefined): string | undefined {
  const key = 'api_key' in listing.input.shape ? args?.api_key : undefined;
  return typeof key === 'string' ? key : undefined;
}

function failureResult(failure: ToolFailure): CallToolResult {
  // Plain text so messages such as `unknown MCP tool "x"` reach the model verbatim (JSON would escape the quotes).
  const content: CallToolResult['content'] = [{ type: 'text', text: `error (${failure.code}): ${failure.message}` }];
  if (!failure.details) return { isError: true, content };
  return { isError: true, content, _meta: { [ERROR_META_KEY]: { code: failure.code, ...failure.details } } };
}

/** The text block: the summary line, then the tool's compact rendering (default: compact JSON). */
function successResult(listing: ToolListing, structured: Record<string, unknown>): CallToolResult {
  const body = listing.render ? listing.render(structured) : JSON.stringify(structured);
  const text = listing.summarize ? `${listing.summarize(structured)}\n${body}` : body;
  return { structuredContent: structured, content: [{ type: 'text', text }] };
}

async function invoke(handleCall: CallHandler, tool: string, args: Record<string, unknown>, context: CallContext): Promise<CallOutcome> {
  try {
    return await handleCall(tool, args, context);
  } catch (err) {
    if (isFutuError(err)) return { error: { code: err.code, message: err.message } };
    if (!context.signal.aborted) callLog(context, { tool }).error('tool call handler threw', { error: describeError(err) });
    return { error: { code: 'internal_error', message: `internal error in ${tool}; whether it took effect is unknown — check state before retrying` } };
  }
}

/**
 * Builds one low-level MCP server over the declarations. It owns `tools/list` and `tools/call`
 * itself (rather than McpServer.registerTool) so that unknown tools become a tool error naming
 * the tool, argument errors name the field, and nothing reaches `handleCall` unvalidated.
 */
export function createMcpServer(options: CreateMcpServerOptions): Server {
  assertValidListings(options.tools);
  const tools = new Map<string, ListedTool>(options.tools.map((listing) => [listing.name, { listing, definition: definitionOf(listing) }]));
  const server = new Server(
    { name: options.name, version: options.version },
    { capabilities: { tools: { listChanged: true }, ...(options.resources && { resources: { subscribe: true } }) }, cacheHints: CACHE_HINTS, ...(options.instructions !== undefined && { instructions: options.instructions }) },
  );
  const { era = 'legacy', roundSeal } = options;

  /**
   * The confirmation rounds of a 2026-07-28 tools/call whose client declared the form; a retry
   * brings back the sealed state (opened and checked here: no state reaches the pipeline
   * unverified) and the human's answer.
   */
  const roundsOf = async (ctx: ServerContext): Promise<CallContext['confirmationRounds']> => {
    if (era !== 'modern' || !roundSeal || !canShowForm(declaredCapabilities(ctx))) return undefined;
    const state = ctx.mcpReq.requestState();
    return state === undefined ? {} : { resumed: await roundSeal.open(state, ctx.mcpReq.inputResponses) };
  };

  /** The form for the client to show, and the sealed state to bring back with the answer. */
  const confirmationRound = async (ask: ConfirmationRoundAsk): Promise<InputRequiredResult | CallToolResult> => {
    if (!roundSeal) return failureResult({ code: 'CONFIRMATION_REQUIRED', message: 'a human must confirm this call, and this server cannot ask in this protocol era' });
    return inputRequired({
      inputRequests: { [CONFIRM_INPUT]: inputRequired.elicit({ mode: 'form', message: ask.form, requestedSchema: CONFIRM_FORM_SCHEMA }) },
      requestState: await roundSeal.seal(ask.state),
    });
  };

  const refuse = async (toolName: string, failure: ToolFailure, context: CallContext, argumentKey: string | undefined): Promise<CallToolResult> => {
    let refusal = failure;
    try {
      // Awaited so a refusal's audit record is durable before the refusal is returned. The
      // listener may refuse the call for a reason that comes first (the key's call rate).
      refusal = (await options.onRefused?.(toolName, failure, context, argumentKey)) ?? failure;
    } catch (err) {
      log.error('refusal listener threw', { tool: toolName, error: describeError(err) });
    }
    return failureResult(refusal);
  };

  const { visibility } = options;
  const listFor = (visible: ReadonlySet<string> | undefined): Tool[] => {
    const modern = speaksStructuredOutput(server);
    return [...tools.values()]
      .filter((tool) => visible === undefined || visible.has(tool.listing.name))
      .map((tool) => (modern ? tool.definition : legacyDefinitionOf(tool.definition)));
  };
  // What this connection was last shown, to tell it when a reload changes that.
  let listed: { context: CallContext; names: string } | undefined;
  const namesOf = (visible: ReadonlySet<string> | undefined): string => listFor(visible).map((tool) => tool.name).join(',');

  server.setRequestHandler('tools/list', (_request, ctx) => {
    const context = callContextOf(ctx);
    const visible = visibility?.visibleTo(context);
    listed = { context, names: namesOf(visible) };
    return { tools: listFor(visible) };
  });

  if (visibility && options.lifetime !== 'request') {
    const unsubscribe = visibility.onReload(() => {
      if (!listed || namesOf(visibility.visibleTo(listed.context)) === listed.names) return;
      listed = undefined;
      server.sendToolListChanged().catch((err: unknown) => log.warn('could not send tools/list_changed', { error: describeError(err) }));
    });
    const previousOnClose = server.onclose;
    server.onclose = () => {
      unsubscribe();
      previousOnClose?.();
    };
  }

  server.setRequestHandler('tools/call', async (request, ctx) => {
    const context = callContextOf(ctx, era === 'legacy' ? server : undefined, await roundsOf(ctx));
    const tool = tools.get(request.params.name);
    if (!tool) {
      const name = boundedToolName(request.params.name);
      return refuse(name, { code: 'UNKNOWN_TOOL', message: `unknown MCP tool ${JSON.stringify(name)}` }, context, undefined);
    }
    const name = tool.listing.name;

    const input = safeParseArguments(tool.listing, request.params.arguments ?? {});
    if (!input.success) {
      const failure = { code: 'INVALID_ARGUMENT', message: `invalid arguments for ${name}: ${describeIssues(input.error.issues)}` };
      return refuse(name, failure, context, argumentKeyOf(tool.listing, request.params.arguments));
    }

    const outcome = await invoke(options.handleCall, name, input.data, context);
    if ('error' in outcome) return failureResult(outcome.error);
    if ('confirmationRound' in outcome) return confirmationRound(outcome.confirmationRound);

    const output = tool.listing.output.safeParse(outcome.structured);
    if (!output.success) {
      callLog(context, { tool: name }).error('tool result does not match its output schema', { issues: describeIssues(output.error.issues) });
      return failureResult({
        code: 'INVALID_RESULT',
        message: `${name} ran but its result failed validation; it may have taken effect — check state before retrying`,
      });
    }
    if (!speaksStructuredOutput(server)) return legacyResult(successResult(tool.listing, output.data));
    return server.projectCallToolResult(successResult(tool.listing, output.data), tool.definition.outputSchema);
  });

  if (options.resources) serveResources(server, options.resources);
  return server;
}

/**
 * resources/list, templates, read, and (2025 sessions) resources/subscribe and unsubscribe: a
 * subscription lives until unsubscribed or the connection closes. 2026-07-28 clients subscribe
 * through subscriptions/listen instead, authorized before the SDK serves it (http.ts, stdioListen.ts).
 */
function serveResources(server: Server, resources: ResourceService): void {
  const subscriptions = new Map<string, { close(): void }>();
  let closed = false;
  server.setRequestHandler('resources/templates/list', (_request, ctx) => ({ resourceTemplates: resources.templates(callContextOf(ctx)) }));
  server.setRequestHandler('resources/list', (_request, ctx) => ({ resources: resources.list(callContextOf(ctx)) }));
  server.setRequestHandler('resources/read', (request, ctx) => resources.read(request.params.uri, callContextOf(ctx)));
  server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    const { uri } = request.params;
    const subscription = await resources.subscribe(uri, callContextOf(ctx), () => {
      server.sendResourceUpdated({ uri }).catch((err: unknown) => log.debug('could not send resources/updated', { uri, error: describeError(err) }));
    });
    subscriptions.get(uri)?.close();
    // The connection may have closed while the subscription was authorized: nothing would end it.
    if (closed) subscription.close();
    else subscriptions.set(uri, subscription);
    return {};
  });
  server.setRequestHandler('resources/unsubscribe', (request) => {
    subscriptions.get(request.params.uri)?.close();
    subscriptions.delete(request.params.uri);
    return {};
  });
  const previousOnClose = server.onclose;
  server.onclose = () => {
    closed = true;
    for (const subscription of subscriptions.values()) subscription.close();
    subscriptions.clear();
    previousOnClose?.();
  };
}
