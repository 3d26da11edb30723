/**
 * Operational log: one JSON line per event on stderr (stdout belongs to the MCP stdio transport).
 * Fields whose names look secret, and values shaped like a plaintext API key, are censored here as
 * a last line of defence; callers still must never pass secrets.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
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

export type LogSink = (line: string) => void;
let sink: LogSink = (line) => process.stderr.write(line + '\n');
let threshold: Level = (process.env.FUTU_LOG_LEVEL as Level | undefined) ?? 'info';

export function setLogSink(next: LogSink): void {
  sink = next;
}
export function setLogLevel(level: Level): void {
  threshold = level;
}

function emit(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
  for (const [k, v] of Object.entries(fields)) {
    record[k] = SECRET_FIELD.test(k) ? REDACTED : v;
  }
  try {
    // Values are scanned too: a key pasted into the wrong place (a keys.json field quoted in an
    // error message) must not reach the log either.
    sink(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? redactPlaintextKeys(v) : v)));
  } catch {
    // Logging must never take the process down.
  }
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};
