/**
 * Operational log: one JSON line per event on stderr (stdout belongs to the MCP stdio transport).
 * Fields whose names look secret are censored here as a last line of defence; callers still must
 * never pass secrets.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** Field names that may carry a secret: censored in logs and in audit records alike. */
export const SECRET_FIELD = /pass|pwd|secret|token|authorization|api_?key|plaintext/i;

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
    record[k] = SECRET_FIELD.test(k) ? '[REDACTED]' : v;
  }
  try {
    sink(JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
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
