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
    .option('--chains', 'each FILE is a chain of its own, as the audit logs of several replicas are (with --with-rotated, each with its rotated files); exit 1 if any is broken')
    .action(
      action((command, out) => {
        process.exitCode = verifyCommand(command.args, command.opts<VerifyOptions>(), out);
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

interface VerifyOptions {
  readonly expectHead?: string;
  readonly withRotated?: boolean;
  readonly chains?: boolean;
}

/** `futucli audit verify`; returns the exit code. */
export function verifyCommand(files: readonly string[], options: VerifyOptions, out: Output, progressSink: { write(text: string): unknown } = process.stderr): number {
  if (options.expectHead !== undefined && !HASH_PATTERN.test(options.expectHead.toLowerCase())) {
    out.error('USAGE_ERROR', '--expect-head must be a record hash: 64 hex characters');
    return EXIT_CANNOT_CHECK;
  }
  if (options.chains) {
    if (options.expectHead !== undefined) {
      out.error('USAGE_ERROR', '--expect-head names the head of one chain: verify that chain on its own (without --chains)');
      return EXIT_CANNOT_CHECK;
    }
    return verifyChains(files, options, out, progressSink);
  }
  const chain = options.withRotated ? withRotatedFiles(files) : { files: [...files], continued: false };
  let result: VerifyResult;
  try {
    result = verifyAuditLog(chain.files, { expectHead: options.expectHead, continued: chain.continued, onProgress: progressReporter(progressSink) });
  } catch (err) {
    if (!isFutuError(err)) throw err;
    out.failure(err);
    return EXIT_CANNOT_CHECK;
  }
  out.result(result, () => describeResult(result));
  return result.ok ? EXIT_OK : EXIT_BROKEN;
}

/** One chain of --chains: checked, or not readable at all. */
type ChainResult = ({ readonly file: string } & VerifyResult) | { readonly file: string; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/**
 * --chains: every replica writes its own log, so each FILE is checked as a chain of its own. Exit
 * 1 when any is broken, else 2 when any could not be read, else 0.
 */
function verifyChains(files: readonly string[], options: VerifyOptions, out: Output, progressSink: { write(text: string): unknown }): number {
  const chains = files.map((file): ChainResult => {
    const chain = options.withRotated ? withRotatedFiles([file]) : { files: [file], continued: false };
    try {
      return { file, ...verifyAuditLog(chain.files, { continued: chain.continued, onProgress: progressReporter(progressSink) }) };
    } catch (err) {
      if (!isFutuError(err)) throw err;
      return { file, ok: false as const, error: { code: err.code, message: err.message } };
    }
  });
  const broken = chains.some((c) => !c.ok && !('error' in c));
  const unreadable = chains.some((c) => 'error' in c);
  out.result({ ok: !broken && !unreadable, chains }, () =>
    chains.map((c) => `${c.file}: ${'error' in c ? `could not check (${c.error.code}): ${c.error.message}` : describeResult(c)}`).join('\n'),
  );
  return broken ? EXIT_BROKEN : unreadable ? EXIT_CANNOT_CHECK : EXIT_OK;
}

/** Progress goes to stderr, never into the result, and only once a run has taken a while. */
function progressReporter(progressSink: { write(text: string): unknown }): (progress: VerifyProgress) => void {
  const started = Date.now();
  let lastReport = started;
  return ({ file, records }) => {
    const now = Date.now();
    if (now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    const rate = Math.round(records / ((now - started) / 1000));
    progressSink.write(`verifying ${file}: ${records.toLocaleString('en-US')} records checked (${rate.toLocaleString('en-US')}/s)\n`);
  };
}

function describeResult(result: VerifyResult): string {
  if (!result.ok) return `BROKEN at ${result.file === undefined ? '' : `${result.file} `}line ${result.line}: ${result.reason}`;
  const from = result.from_seq === undefined ? '' : ` from seq ${result.from_seq} (older rotated files were deleted)`;
  const replicas = result.replicas === undefined ? '' : `; written by replica ${result.replicas.join(', ')}`;
  return `OK: ${result.records} records${from}, head ${result.head}${replicas}`;
}
