/**
 * Operational log (pino) on stderr: stdout belongs to the MCP stdio transport. JSON lines for
 * machines, pino-pretty for a person at a terminal. Fields whose names look secret, and values
 * shaped like a plaintext API key, are censored here as a last line of defence; callers still must
 * never pass secrets.
 */
import { Writable } from 'node:stream';
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['pretty', 'json'];

/** Field names that may carry a secret: censored in logs and in audit records alike. */
export const SECRET_FIELD = /pass|pwd|secret|token|authorization|api_?key|plaintext/i;

/** futu-mcp plaintext keys: `fc_` + 64 hex; shorter hex runs are matched too, as older docs show 32. */
const PLAINTEXT_KEY = /fc_[0-9a-f]{32,}/gi;
/** The shortest text PLAINTEXT_KEY matches: most strings are shorter and skip the regex. */
export const MIN_PLAINTEXT_KEY_LENGTH = 'fc_'.length + 32;
export const REDACTED = '[REDACTED]';

/** `text` with anything shaped like a plaintext API key replaced by `fc_[REDACTED]`. */
export function redactPlaintextKeys(text: string): string {
  return text.length < MIN_PLAINTEXT_KEY_LENGTH ? text : text.replace(PLAINTEXT_KEY, `fc_${REDACTED}`);
}

/**
 * Where secrets are known to sit (request headers, the options a command was given): pino censors
 * these paths itself. Any other field whose name looks secret is censored by `scrubbed`.
 */
const REDACT_PATHS = ['authorization', 'headers.authorization', 'req.headers.authorization', 'api_key', 'options.apiKey', 'redis.password', 'password'];

/** A copy of a log record's fields with secret-named fields censored and key-shaped text replaced. */
function scrubbed(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactPlaintextKeys(value);
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) return { type: value.name, message: redactPlaintextKeys(value.message) };
  if (Array.isArray(value)) return value.map((item) => scrubbed(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) out[name] = SECRET_FIELD.test(name) ? REDACTED : scrubbed(field, depth + 1);
  return out;
}

export type LogSink = (line: string) => void;
type Fields = Record<string, unknown>;

/** The log as the code uses it: a message first, then its fields; `child` adds fields to every line. */
export interface Log {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A log whose every line carries `bindings` (a request id, key id, session id). */
  child(bindings: Fields): Log;
}

interface LogSettings {
  level: LogLevel;
  format: LogFormat;
  /** Lines go here instead of stderr (tests). */
  sink?: LogSink;
}

const settings: LogSettings = {
  level: envLevel() ?? 'info',
  format: process.stderr.isTTY ? 'pretty' : 'json',
};
let root: PinoLogger = build(settings);

function envLevel(): LogLevel | undefined {
  const level = process.env.FUTU_LOG_LEVEL;
  return LOG_LEVELS.includes(level as LogLevel) ? (level as LogLevel) : undefined;
}

function build({ level, format, sink }: LogSettings): PinoLogger {
  const stream: DestinationStream = sink ? linesTo(sink) : pino.destination({ dest: 2, sync: true });
  const output =
    format === 'pretty'
      ? PinoPretty({ destination: stream, sync: true, colorize: !sink && process.stderr.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
      : stream;
  return pino(
    {
      level,
      base: undefined,
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => scrubbed(fields) as Fields,
      },
    },
    output,
  );
}

/** A stream handing each line (without its newline) to `sink`, synchronously. */
function linesTo(sink: LogSink): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') sink(line);
      done();
    },
  });
}

function rebuild(change: Partial<LogSettings>): void {
  Object.assign(settings, change);
  root = build(settings);
}

/** Chooses the level and the format (`--log-level`, `--log-format`); the flags win over FUTU_LOG_LEVEL. */
export function configureLog(options: { level?: LogLevel; format?: LogFormat }): void {
  rebuild({ ...(options.level && { level: options.level }), ...(options.format && { format: options.format }) });
}
export function setLogLevel(level: LogLevel): void {
  rebuild({ level });
}
/** Sends each line (JSON, or pretty text) to `next` instead of stderr; undefined restores stderr. */
export function setLogSink(next: LogSink | undefined): void {
  rebuild({ sink: next });
}

function write(target: () => PinoLogger, level: LogLevel, msg: string, fields?: Fields): void {
  try {
    // The message is scrubbed here: pino's formatters see only the fields.
    if (fields === undefined) target()[level](redactPlaintextKeys(msg));
    else target()[level](fields, redactPlaintextKeys(msg));
  } catch {
    // Logging must never take the process down.
  }
}

function logOver(target: () => PinoLogger): Log {
  return {
    debug: (msg, fields) => write(target, 'debug', msg, fields),
    info: (msg, fields) => write(target, 'info', msg, fields),
    warn: (msg, fields) => write(target, 'warn', msg, fields),
    error: (msg, fields) => write(target, 'error', msg, fields),
    child: (bindings) => {
      // Bound to the logger of the moment: a child outlives no reconfiguration that matters (tests).
      // pino's formatters see a line's fields, not a child's bindings: scrub those here.
      const child = root.child(scrubbed(bindings) as Fields);
      return logOver(() => child);
    },
  };
}

/** The process's log; reconfiguring it (level, format, sink) applies to every importer at once. */
export const log: Log = logOver(() => root);
