import type { ToolAnnotations } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { tradePasswordUnavailable } from '../../keys/errors.js';
import { confirmationId } from './args.js';
import { defineTool } from './kit.js';

/** Changes OpenD's state (so not read-only) but repeating it changes nothing more. */
const UNLOCK_ANNOTATIONS = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: true,
  openWorldHint: true,
} as const satisfies ToolAnnotations;

export const unlockTrade = defineTool({
  name: 'futu_unlock_trade',
  title: 'Unlock or lock real trading',
  description:
    'Unlocks real-money trading in OpenD (unlock: true, the default) or locks it again (unlock: false). ' +
    'The trade password is read by the server from its keychain or environment: never ask the user for it and never pass it. ' +
    'Simulate (paper) trading needs no unlock. Unlock is OpenD-wide and lasts until locked or OpenD restarts, so lock again when done.',
  scope: 'trade:unlock',
  input: z.strictObject({ unlock: z.boolean().default(true).describe('true to unlock real trading (default), false to lock it'), confirmation_id: confirmationId }),
  output: z.object({
    unlocked: z.boolean().describe('Whether real trading is now unlocked'),
    note: z.string(),
  }),
  annotations: UNLOCK_ANNOTATIONS,
  summarize: (r) => (r.unlocked ? 'Real trading unlocked (OpenD-wide)' : 'Real trading locked'),
  authz: async (args) => ({ kind: 'unlock', unlocking: args.unlock }),
  execute: async (args, ctx) => {
    if (!args.unlock) {
      await ctx.gateway.unlockTrade({ unlock: false });
      return { unlocked: false, note: 'Real trading is locked; futu_unlock_trade unlocks it again.' };
    }
    if (!ctx.tradePasswordMd5) throw tradePasswordUnavailable();
    await ctx.gateway.unlockTrade({ unlock: true, pwdMD5: await ctx.tradePasswordMd5() });
    return {
      unlocked: true,
      note: 'Real trading is unlocked for every client of this OpenD until it is locked (futu_unlock_trade with unlock false) or OpenD restarts.',
    };
  },
});
