import type { IncomingMessage } from 'node:http';
import type { KeyRecord } from '../../keys/types.js';
import { describeError, isFutuError } from '../../shared/errors.js';
import { log } from '../../shared/log.js';
import { HttpError } from './respond.js';

/** The key behind a bearer token. */
export interface Principal {
  readonly keyId: string;
  readonly scopes: readonly string[];
  /**
   * The record the token matched, when the authenticator has one: the call pipeline re-reads it
   * by id for each call (KeyStore.reauthenticate) instead of hashing the same token a second time.
   */
  readonly key?: KeyRecord;
}

/** Resolves a bearer token to its key, or throws (a FutuError's message is shown to the client). */
export type Authenticator = (token: string) => Promise<Principal>;

export interface Authenticated {
  readonly token: string;
  readonly principal: Principal;
}

const BEARER = /^Bearer +(\S+) *$/i;

// Header parameter values are quoted-strings: keep them printable and free of quotes.
function headerSafe(text: string): string {
  return text.replace(/["\\]|[^\x20-\x7e]/g, "'");
}

/**
 * Authenticates one HTTP request. Every request is checked on its own, so a revoked or expired
 * key stops working at its next request, even inside an open session.
 */
export async function authenticateRequest(req: IncomingMessage, authenticate: Authenticator, metadataUrlOf: () => string): Promise<Authenticated> {
  const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
  if (token === undefined) {
    throw new HttpError(401, 'missing_token', 'missing bearer token: send Authorization: Bearer <API key>', {
      'www-authenticate': `Bearer resource_metadata="${metadataUrlOf()}"`,
    });
  }
  try {
    return { token, principal: await authenticate(token) };
  } catch (err) {
    if (!isFutuError(err)) log.warn('API key check failed unexpectedly', { error: describeError(err) });
    const reason = isFutuError(err) ? err.message : 'invalid API key';
    const refusal = new HttpError(401, 'invalid_token', reason, {
      'www-authenticate': `Bearer error="invalid_token", error_description="${headerSafe(reason)}", resource_metadata="${metadataUrlOf()}"`,
    });
    if (isFutuError(err)) {
      refusal.causeCode = err.code;
      if (typeof err.details.key_id === 'string') refusal.keyId = err.details.key_id;
    }
    throw refusal;
  }
}
