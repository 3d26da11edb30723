import fs from 'node:fs';

const NEWLINE = 0x0a;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A record line must end with '\n': a line without one is a write that never completed. */
class IncompleteLineError extends Error {
  constructor() {
    super('last line is incomplete (no trailing newline)');
  }
}

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buf, filled, length - filled, position + filled);
    if (n === 0) throw new Error(`file shrank while reading at offset ${position + filled}`);
    filled += n;
  }
  return buf;
}

/** The last line of the first `size` bytes of the file, without its '\n'; null for an empty file. */
export function readLastLine(fd: number, size: number): string | null {
  if (size === 0) return null;
  for (let window = 4096; ; window *= 4) {
    const start = Math.max(0, size - window);
    const buf = readAt(fd, size - start, start);
    if (buf[buf.length - 1] !== NEWLINE) throw new IncompleteLineError();
    const previousNewline = buf.lastIndexOf(NEWLINE, buf.length - 2);
    if (previousNewline >= 0 || start === 0) {
      return strictUtf8.decode(buf.subarray(previousNewline + 1, buf.length - 1));
    }
  }
}

export interface Line {
  /** 1-based. */
  readonly number: number;
  /** null when the bytes are not valid UTF-8. */
  readonly text: string | null;
  readonly terminated: boolean;
}

function decodeOrNull(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Lines of a file, read in chunks so a large audit log never has to fit in memory. */
export function readLines(fd: number, chunkSize = 1 << 20): Generator<Line> {
  return linesOf((chunk) => fs.readSync(fd, chunk, 0, chunk.length, null), chunkSize);
}

/** Lines of bytes already in memory (a decompressed file). */
export function readLinesOfBuffer(bytes: Buffer, chunkSize = 1 << 20): Generator<Line> {
  let offset = 0;
  return linesOf((chunk) => {
    const n = bytes.copy(chunk, 0, offset, Math.min(bytes.length, offset + chunk.length));
    offset += n;
    return n;
  }, chunkSize);
}

/** `read` fills the start of a chunk and returns how many bytes it put there (0 at the end). */
function* linesOf(read: (chunk: Buffer) => number, chunkSize: number): Generator<Line> {
  let pending = Buffer.alloc(0);
  let number = 0;
  const chunk = Buffer.alloc(chunkSize);
  for (;;) {
    const n = read(chunk);
    if (n === 0) break;
    pending = pending.length === 0 ? chunk.subarray(0, n) : Buffer.concat([pending, chunk.subarray(0, n)]);
    const lastNewline = pending.lastIndexOf(NEWLINE);
    if (lastNewline < 0) {
      pending = Buffer.from(pending);
      continue;
    }
    // Decoding every complete line of the chunk at once is several times faster than line by
    // line; only a chunk holding invalid UTF-8 is decoded per line, to tell which line it is.
    const whole = decodeOrNull(pending.subarray(0, lastNewline));
    if (whole !== null) {
      for (const text of whole.split('\n')) yield { number: ++number, text, terminated: true };
    } else {
      let start = 0;
      for (let nl = pending.indexOf(NEWLINE); nl >= 0 && nl <= lastNewline; nl = pending.indexOf(NEWLINE, start)) {
        yield { number: ++number, text: decodeOrNull(pending.subarray(start, nl)), terminated: true };
        start = nl + 1;
      }
    }
    // Copied: the chunk buffer is overwritten by the next read.
    pending = Buffer.from(pending.subarray(lastNewline + 1));
  }
  if (pending.length > 0) yield { number: ++number, text: decodeOrNull(pending), terminated: false };
}
