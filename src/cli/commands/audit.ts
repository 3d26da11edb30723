import type { Command } from 'commander';
import { isFutuError } from '../../shared/errors.js';
import { verifyAuditLog, type VerifyResult } from '../../audit/index.js';
import { HASH_PATTERN } from '../../audit/chain.js';
import { action, type Output } from '../output.js';

export const EXIT_OK = 0;
/** The chain is broken: a security finding, kept apart from "could not check". */
export const EXIT_BROKEN = 1;
export const EXIT_CANNOT_CHECK = 2;

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('inspect the MCP audit log');
  audit
    .command('verify')
    .description('check the hash chain of an audit log (exit 0 intact, 1 broken, 2 could not check)')
    .argument('<files...>', 'the file given to futu-mcp --audit-log; after a rotation, the old files first, then the newer ones, checked as one chain')
    .option('--expect-head <hash>', 'also require this record hash (noted from an earlier verify) to still be in the file: detects records cut from the end')
    .action(
      action((command, out) => {
        process.exitCode = verifyCommand(command.args, command.opts<{ expectHead?: string }>(), out);
      }),
    );
}

/** `futucli audit verify`; returns the exit code. */
export function verifyCommand(files: readonly string[], options: { readonly expectHead?: string }, out: Output): number {
  if (options.expectHead !== undefined && !HASH_PATTERN.test(options.expectHead.toLowerCase())) {
    out.error('USAGE_ERROR', '--expect-head must be a record hash: 64 hex characters');
    return EXIT_CANNOT_CHECK;
  }
  let result: VerifyResult;
  try {
    result = verifyAuditLog(files, { expectHead: options.expectHead });
  } catch (err) {
    if (!isFutuError(err)) throw err;
    out.failure(err);
    return EXIT_CANNOT_CHECK;
  }
  out.result(result, () => (result.ok ? `OK: ${result.records} records, head ${result.head}` : `BROKEN at ${result.file === undefined ? '' : `${result.file} `}line ${result.line}: ${result.reason}`));
  return result.ok ? EXIT_OK : EXIT_BROKEN;
}
