import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { createRequestStateCodec, inputResponse, type ClientCapabilities, type ElicitRequestFormParams, type RequestStateCodec } from '@modelcontextprotocol/server';
import type { ElicitationAnswer, ResumedRound, RoundState } from '../authz/confirmations.js';
import { FutuError } from '../shared/errors.js';
import { createFileExclusiveAsync } from '../shared/atomicFile.js';

/**
 * The confirmation form, in both eras: one boolean. Only an explicit accept with confirm = true
 * is a yes; a 2025 session asks with elicitation/create, a 2026-07-28 request returns it in an
 * input_required result under CONFIRM_INPUT.
 */
export const CONFIRM_FORM_SCHEMA: ElicitRequestFormParams['requestedSchema'] = {
  type: 'object',
  properties: { confirm: { type: 'boolean', title: 'Confirm', description: 'Yes: send this exactly as shown. No: refuse it.' } },
  required: ['confirm'],
};

/** The key of the form in a 2026-07-28 call's inputRequests and the retry's inputResponses. */
export const CONFIRM_INPUT = 'confirm';

/** A client's answer to the form, whichever way it came back. */
export function answerOf(result: { action?: unknown; content?: Record<string, unknown> | undefined } | undefined): ElicitationAnswer {
  if (result?.action === 'accept') return result.content?.confirm === true ? 'accept' : 'decline';
  return result?.action === 'decline' ? 'decline' : 'cancel';
}

/** Whether a client can show the form: it declared elicitation, and form mode (an empty declaration means form). */
export function canShowForm(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  return elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
}

/** The sealed payload, in short names: the client carries it on every retry. */
const SEALED = z.strictObject({
  c: z.string().regex(/^[0-9a-f]{32}$/),
  k: z.string().min(1),
  d: z.string().min(1),
  e: z.number().int().positive(),
});
type Sealed = z.infer<typeof SEALED>;

/**
 * Seals a first round's state for the client to bring back, and opens what a retry brings: HMAC
 * over the payload and its expiry (the SDK's createRequestStateCodec), so a client can read but
 * not alter it. Signed, not encrypted: nothing in it is a secret (the confirmation id is also
 * what an out-of-band refusal shows). Every replica that may see the retry needs the same key.
 */
export class ConfirmationRoundSeal {
  private readonly codec: RequestStateCodec<Sealed>;

  constructor(key: Uint8Array, timeoutMs: number) {
    this.codec = createRequestStateCodec<Sealed>({ key, ttlSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)) });
  }

  seal(state: RoundState): Promise<string> {
    return this.codec.mint({ c: state.confirmationId, k: state.keyId, d: state.argsDigest, e: state.expiresAt });
  }

  /**
   * A retry's request state and form answer. Fail closed: anything that is not a state this
   * server sealed, unaltered and unexpired, is unreadable; the caller refuses the call.
   */
  async open(raw: unknown, inputResponses: Record<string, unknown> | undefined): Promise<ResumedRound> {
    if (typeof raw !== 'string') return { unreadable: 'invalid' };
    let payload: unknown;
    try {
      // verify() needs no handler context without a bind callback; the context is ours to check.
      payload = await this.codec.verify(raw, undefined as never);
    } catch (err) {
      return { unreadable: err instanceof Error && err.message === 'expired' ? 'expired' : 'invalid' };
    }
    const sealed = SEALED.safeParse(payload);
    if (!sealed.success) return { unreadable: 'invalid' };
    const { c, k, d, e } = sealed.data;
    const view = inputResponse(inputResponses, CONFIRM_INPUT);
    const answer = view.kind === 'elicit' ? answerOf(view) : 'cancel';
    return { state: { confirmationId: c, keyId: k, argsDigest: d, expiresAt: e }, answer };
  }
}

/** FUTU_MCP_REQUEST_STATE_SECRET: replicas that share no state dir set the same one. */
export const REQUEST_STATE_SECRET_ENV = 'FUTU_MCP_REQUEST_STATE_SECRET';
const SECRET_FILE = 'request-state.key';
const MIN_SECRET_BYTES = 32;

/**
 * The key sealing request states: FUTU_MCP_REQUEST_STATE_SECRET (at least 32 bytes) when set,
 * else 32 random bytes kept in `<state dir>/request-state.key` (0600), made by whichever server
 * starts first, so every server sharing the state dir opens the others' states.
 */
export async function requestStateKey(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Uint8Array> {
  const configured = env[REQUEST_STATE_SECRET_ENV];
  if (configured !== undefined && configured !== '') {
    const key = Buffer.from(configured, 'utf8');
    if (key.length < MIN_SECRET_BYTES) {
      throw new FutuError('INVALID_ARGUMENT', `${REQUEST_STATE_SECRET_ENV} must be at least ${MIN_SECRET_BYTES} bytes (e.g. openssl rand -hex 32)`);
    }
    return key;
  }
  const file = join(stateDir, SECRET_FILE);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await createFileExclusiveAsync(file, randomBytes(MIN_SECRET_BYTES).toString('hex'), 0o600);
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
  if (key.length < MIN_SECRET_BYTES) throw new FutuError('STATE_DIR_UNSAFE', `${file} does not hold a ${MIN_SECRET_BYTES}-byte key; delete it and restart to make a new one`);
  return key;
}
