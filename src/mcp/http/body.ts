import type { IncomingMessage } from 'node:http';
import { HttpError, RPC_PARSE_ERROR } from './respond.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function tooLarge(maxBytes: number): HttpError {
  // Closing the connection stops the client streaming the rest of an oversized body at us.
  return new HttpError(413, 'payload_too_large', `request body exceeds ${maxBytes} bytes`, { connection: 'close' });
}

/** Reads and parses a JSON body, refusing more than `maxBytes` without buffering the excess. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBytes);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'parse_error', 'Parse error: request body is not valid JSON', {}, RPC_PARSE_ERROR);
  }
}

/** Reads a body of at most `maxBytes`, refusing more without buffering the excess. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      req.resume();
      reject(tooLarge(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd);
      req.resume();
      reject(tooLarge(maxBytes));
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData).once('end', onEnd).once('error', reject);
  });
}
