import { createHash, randomBytes } from 'node:crypto';
import { MAX_REMARK_BYTES } from '../gateway/api.js';

/**
 * The tag futu-mcp writes into every order's `remark` (OpenD keeps it across restarts and the
 * Futu app shows it): `fmcp:<key tag>:<intent>`. It links an order at OpenD back to the intent
 * recorded before it was sent, so a restarted server, or one whose link dropped mid-order, can
 * still find out whether the order exists. The key tag is a hash of the key id (not a secret,
 * and never the key itself); a client_order_id rides as `c:<id>`, so the same id of two keys
 * never collides.
 */
const PREFIX = 'fmcp:';

export interface IntentIdentity {
  /** 32 hex digits: the intent's record id. */
  readonly id: string;
  readonly tag: string;
}

export function intentIdentity(keyId: string, clientOrderId: string | undefined): IntentIdentity {
  const keyTag = sha256(`key\0${keyId}`).slice(0, 8);
  if (clientOrderId === undefined) {
    const id = randomBytes(16).toString('hex');
    return { id, tag: `${PREFIX}${keyTag}:${id}` };
  }
  return { id: sha256(`client-order\0${keyId}\0${clientOrderId}`).slice(0, 32), tag: `${PREFIX}${keyTag}:c:${clientOrderId}` };
}

/** The remark sent to OpenD: the tag, then as much of the caller's own remark as fits. */
export function remarkWithTag(tag: string, remark: string | undefined): string {
  if (remark === undefined || remark === '') return tag;
  let text = `${tag} ${remark}`;
  while (Buffer.byteLength(text, 'utf8') > MAX_REMARK_BYTES) text = [...text].slice(0, -1).join('');
  return text;
}

/** Whether an order's remark carries exactly this tag (alone or followed by the caller's remark). */
export function remarkCarries(remark: string | undefined, tag: string): boolean {
  return remark === tag || (remark?.startsWith(`${tag} `) ?? false);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
