import type { Command } from 'commander';
import { isFutuError } from '../../shared/errors.js';
import { verifyAuditLog, type VerifyProgress, type VerifyResult } from '../../audit/index.js';
import { rotatedFiles } from '../../audit/rotation.js';
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
    .option(
      '--with-rotated',
      'also check the files futu-mcp rotated FILE into (FILE.1, FILE.2 …, gzipped or not), oldest first, then FILE; when --audit-keep deleted the oldest, the chain is checked from the first record kept',
    )
    .action(
      action((command, out) => {
        process.exitCode = verifyCommand(command.args, command.opts<{ expectHead?: string; withRotated?: boolean }>(), out);
      }),
    );
}

/** How often, at most, progress is printed while a large log is verified. */
const PROGRESS_INTERVAL_MS = 1_000;

/** FILE expanded to its rotated files plus itself, and whether older ones were deleted (FILE.1 gone). */
function withRotatedFiles(files: readonly string[]): { files: string[]; continued: boolean } {
  const expanded: string[] = [];
  let continued = false;
  files.forEach((file, index) => {
    const rotated = rotatedFiles(file);
    if (index === 0 && rotated.length > 0 && rotated[0]!.number > 1) continued = true;
    expanded.push(...rotated.map((entry) => entry.path), file);
  });
  return { files: expanded, continued };
}

/** `futucli audit verify`; returns the exit code. */
export function verifyCommand(
  files: readonly string[],
  options: { readonly expectHead?: string; readonly withRotated?: boolean },
  out: Output,
  progressSink: { write(text: string): unknown } = process.stderr,
): number {
  if (options.expectHead !== undefined && !HASH_PATTERN.test(options.expectHead.toLowerCase())) {
    out.error('USAGE_ERROR', '--expect-head must be a record hash: 64 hex characters');
    return EXIT_CANNOT_CHECK;
  }
  const chain = options.withRotated ? withRotatedFiles(files) : { files: [...files], continued: false };
  // Progress goes to stderr, never into the result, and only once a run has taken a while.
  const started = Date.now();
  let lastReport = started;
  const onProgress = ({ file, records }: VerifyProgress): void => {
    const now = Date.now();
    if (now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    const rate = Math.round(records / ((now - started) / 1000));
    progressSink.write(`verifying ${file}: ${records.toLocaleString('en-US')} records checked (${rate.toLocaleString('en-US')}/s)\n`);
  };
  let result: VerifyResult;
  try {
    result = verifyAuditLog(chain.files, { expectHead: options.expectHead, continued: chain.continued, onProgress });
  } catch (err) {
    if (!isFutuError(err)) throw err;
    out.failure(err);
    return EXIT_CANNOT_CHECK;
  }
  out.result(result, () =>
    result.ok
      ? `OK: ${result.records} records${result.from_seq === undefined ? '' : ` from seq ${result.from_seq} (older rotated files were deleted)`}, head ${result.head}`
      : `BROKEN at ${result.file === undefined ? '' : `${result.file} `}line ${result.line}: ${result.reason}`,
  );
  return result.ok ? EXIT_OK : EXIT_BROKEN;
}
