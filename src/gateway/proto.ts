import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { ProtoId, protoNameOf, type ProtoName } from './protoIds.js';

/**
 * Protobuf codec over the official .proto files shipped in the npm package `futu-api` (never
 * hand-copied). 64-bit integers cross this boundary as decimal strings, in both directions.
 */
export type Message = Record<string, unknown>;

export interface ResponseEnvelope<S = Message> {
  retType: number;
  retMsg?: string;
  errCode?: number;
  s2c?: S;
}

export class ProtoCodecError extends Error {}

const require = createRequire(import.meta.url);
const PROTO_DIR = path.dirname(require.resolve('futu-api/proto/InitConnect.proto'));

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: Buffer, arrays: true, defaults: false };

interface Pair {
  request: protobuf.Type;
  response: protobuf.Type;
}

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const files = (Object.keys(ProtoId) as ProtoName[]).map((n) => path.join(PROTO_DIR, `${n}.proto`));
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

let cached: { root: protobuf.Root; pairs: Map<number, Pair> } | undefined;

function registry(): { root: protobuf.Root; pairs: Map<number, Pair> } {
  if (!cached) {
    const root = loadRoot();
    const pairs = new Map<number, Pair>();
    for (const [name, id] of Object.entries(ProtoId)) {
      const req = root.lookup(`${name}.Request`);
      const res = root.lookup(`${name}.Response`);
      if (res instanceof protobuf.Type) {
        // Push-only protos have a Response but no Request; use Response for both directions.
        pairs.set(id, { request: req instanceof protobuf.Type ? req : res, response: res });
      }
    }
    cached = { root, pairs };
  }
  return cached;
}

function pair(protoId: number): Pair {
  const p = registry().pairs.get(protoId);
  if (!p) throw new ProtoCodecError(`unknown protoID ${protoId}`);
  return p;
}

/** Replace bigint (anywhere) with its decimal string, which protobufjs converts to Long exactly. */
function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = normalize(v);
    return out;
  }
  return value;
}

/** Whether `normalize` has anything to do; checking is much cheaper than copying every request. */
function containsBigInt(value: unknown): boolean {
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  if (Array.isArray(value)) return value.some(containsBigInt);
  for (const key in value) if (containsBigInt((value as Record<string, unknown>)[key])) return true;
  return false;
}

function encodeWith(type: protobuf.Type, obj: Message): Uint8Array {
  // fromObject skips undefined fields by itself; only bigints need rewriting first.
  const msg = type.fromObject(containsBigInt(obj) ? (normalize(obj) as Message) : obj);
  // protobufjs does not check required fields when encoding: a missing double becomes NaN.
  const problem = type.verify(msg);
  if (problem) throw new ProtoCodecError(`${type.fullName}: ${problem}`);
  return type.encode(msg).finish();
}

function decodeWith<T>(type: protobuf.Type, body: Uint8Array): T {
  try {
    return type.toObject(type.decode(body), TO_OBJECT) as T;
  } catch (err) {
    throw new ProtoCodecError(`${type.fullName}: ${(err as Error).message}`);
  }
}

export function encodeRequest(protoId: number, c2s: Message): Uint8Array {
  return encodeWith(pair(protoId).request, { c2s });
}

export function decodeRequest<C = Message>(protoId: number, body: Uint8Array): C {
  return decodeWith<{ c2s: C }>(pair(protoId).request, body).c2s;
}

export function encodeResponse(protoId: number, envelope: ResponseEnvelope): Uint8Array {
  return encodeWith(pair(protoId).response, envelope as unknown as Message);
}

export function decodeResponse<S = Message>(protoId: number, body: Uint8Array): ResponseEnvelope<S> {
  return decodeWith<ResponseEnvelope<S>>(pair(protoId).response, body);
}

export function isKnownProto(protoId: number): boolean {
  return protoNameOf(protoId) !== undefined && registry().pairs.has(protoId);
}

/** Loads and resolves the proto files now (about 40 ms) instead of on the first packet. */
export function warmUpProtos(): void {
  registry();
}

/** Look up a message type by full name, e.g. 'Qot_Common.Security' (for tests and tooling). */
export function lookupType(fullName: string): protobuf.Type {
  return registry().root.lookupType(fullName);
}
