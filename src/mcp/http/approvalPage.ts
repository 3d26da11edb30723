import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeSummary, isConfirmationId, type Confirmation } from '../../authz/humanState.js';
import type { TradeStateStore } from '../../authz/tradeState.js';
import { readBody } from './body.js';
import { HttpError, requireMethod } from './respond.js';

/**
 * GET /approve/<confirmation_id>: a one-time page on the server's own listener where a human sees
 * a call awaiting confirmation in plain words and approves or rejects it. No API key is needed:
 * the 128-bit random id is the capability, and the form posts back a one-time token the page
 * carries (CSRF: another site can neither read the token nor frame the page).
 */
export const APPROVAL_PATH_PREFIX = '/approve/';

export interface ApprovalPageOptions {
  readonly store: TradeStateStore;
  /** A human answered on the page (for the audit log). */
  readonly onAnswer?: (confirmation: Confirmation) => Promise<void>;
}

const MAX_FORM_BYTES = 1024;

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
} as const;

export async function serveApprovalPage(req: IncomingMessage, res: ServerResponse, pathname: string, options: ApprovalPageOptions): Promise<void> {
  requireMethod(req.method, ['GET', 'POST']);
  const id = pathname.slice(APPROVAL_PATH_PREFIX.length);
  const found = isConfirmationId(id) ? await options.store.getConfirmation(id) : undefined;
  // The servers' clock for confirmations (Redis TIME with --redis), so every replica's page agrees.
  const now = await options.store.now();
  if (!found) return send(res, 404, 'Unknown confirmation', '<p>No call awaits confirmation under this id.</p>');
  if (req.method === 'GET') return send(res, 200, 'Confirm a call', render(found, now));

  const form = new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8'));
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpError(415, 'unsupported_media_type', 'the approval form posts application/x-www-form-urlencoded');
  }
  const decision = form.get('decision');
  if (!sameToken(form.get('token') ?? '', found.pageToken) || (decision !== 'approve' && decision !== 'reject')) {
    throw new HttpError(403, 'invalid_form', 'this form is not the one the approval page served; reload the page');
  }
  if (found.state !== 'pending' || now >= found.expiresAt) return send(res, 409, 'Already answered', render(found, now));
  const answered = await options.store.transitionConfirmation(id, 'pending', (c) => ({
    ...c,
    state: decision === 'approve' ? 'approved' : 'rejected',
    answeredAt: now,
    answeredBy: 'page',
  }));
  if (!answered?.changed) return send(res, 409, 'Already answered', render(answered?.current ?? found, now));
  await options.onAnswer?.(answered.current);
  return send(res, 200, decision === 'approve' ? 'Approved' : 'Rejected', render(answered.current, now));
}

function render(c: Confirmation, now: number): string {
  const facts = describeSummary(c.summary).map((line) => `<li>${escapeHtml(line)}</li>`).join('');
  const expires = new Date(c.expiresAt).toISOString();
  const head = `<ul>${facts}</ul><p>Confirmation <code>${c.id}</code>, expires ${expires}.</p>`;
  if (c.state === 'pending' && now < c.expiresAt) {
    const button = (value: string, label: string) =>
      `<form method="post"><input type="hidden" name="token" value="${c.pageToken}"><input type="hidden" name="decision" value="${value}"><button type="submit">${label}</button></form>`;
    return `${head}<p>Approve only if you asked for exactly this.</p>${button('approve', 'Approve')}${button('reject', 'Reject')}`;
  }
  const state = c.state === 'pending' ? 'expired' : c.state;
  const next = c.state === 'approved' ? ' The call may now be repeated with its confirmation_id, once.' : '';
  return `${head}<p><strong>${state}</strong>.${next}</p>`;
}

function send(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>futu-mcp: ${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
