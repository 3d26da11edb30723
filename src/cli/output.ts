import { CommanderError, Option, type Command } from 'commander';
import { describeError, isFutuError } from '../shared/errors.js';

/**
 * futucli output conventions, shared by every command group:
 * - `-o human` (default): results as text on stdout; errors as `error: <message>` on stderr.
 * - `-o json`: stdout carries exactly one JSON document, the result or `{"error":{code,message}}`;
 *   notices (reminders) go to stderr so they never break a parser.
 * - Warnings go to stderr in both modes.
 * - Any failure exits non-zero.
 */
export const OUTPUT_FORMATS = ['human', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('human');
}

interface Sink {
  write(text: string, done?: (err?: Error | null) => void): unknown;
}

export class Output {
  constructor(
    readonly format: OutputFormat,
    private readonly stdout: Sink = process.stdout,
    private readonly stderr: Sink = process.stderr,
  ) {}

  /** The command's result; `human` is only rendered in human mode. */
  result(json: unknown, human: () => string): void {
    this.stdout.write(this.format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : withNewline(human()));
  }

  /**
   * result(), resolving once stdout accepted the text and rejecting if it did not (a reader that
   * went away: EPIPE), for a result that must not be lost, such as a plaintext shown only once.
   */
  resultDelivered(json: unknown, human: () => string): Promise<void> {
    const text = this.format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : withNewline(human());
    return new Promise((resolve, reject) => this.stdout.write(text, (err) => (err ? reject(err) : resolve())));
  }

  /** Advice that is not the result: stdout for humans, stderr in json mode. */
  notice(text: string): void {
    (this.format === 'json' ? this.stderr : this.stdout).write(withNewline(text));
  }

  /** A caution the operator should read; always stderr, so it is never mistaken for the result. */
  warn(text: string): void {
    this.stderr.write(`warning: ${withNewline(text)}`);
  }

  failure(err: unknown): void {
    const code = isFutuError(err) ? err.code : 'INTERNAL_ERROR';
    this.error(code, describeError(err));
  }

  error(code: string, message: string): void {
    if (this.format === 'json') this.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else this.stderr.write(`error: ${message}\n`);
  }
}

export function outputFor(command: Command): Output {
  return new Output(command.optsWithGlobals<{ output?: OutputFormat }>().output ?? 'human');
}

/**
 * A commander action that reports a thrown error through Output and sets a failing exit code.
 * The handler reads its arguments and options from `command` (`command.args`, `command.opts()`).
 */
export function action(handler: (command: Command, out: Output) => Promise<void> | void) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const out = outputFor(command);
    try {
      await handler(command, out);
    } catch (err) {
      out.failure(err);
      process.exitCode = 1;
    }
  };
}

/**
 * A reader that stops early (`futucli list-keys | head -3`) closes the pipe: later writes fail with
 * EPIPE. That is the reader's choice, not an error of the command: stop quietly instead of crashing
 * with an unhandled 'error' event. A result that must be delivered uses resultDelivered().
 */
export function tolerateClosedStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

/** Parses argv and runs; usage errors follow the same conventions as command errors. */
export async function runProgram(program: Command, argv: readonly string[] = process.argv): Promise<void> {
  const format = (): OutputFormat => program.opts<{ output?: OutputFormat }>().output ?? 'human';
  // Commander copies these settings only into commands created after them, so set them on all.
  const commands = [program];
  for (const command of commands) {
    command.exitOverride();
    command.configureOutput({
      outputError: (text, write) => {
        if (format() === 'human') write(text);
      },
    });
    commands.push(...command.commands);
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode !== 0 && format() === 'json') {
      new Output('json').error('USAGE_ERROR', err.message.replace(/^error: /, ''));
    }
    process.exitCode = err.exitCode;
  }
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** A comma-separated option value as a list, blanks dropped: "HK, US" → ["HK", "US"]. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function withNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}
