/**
 * The longlink v1 frames (docs/PROTOCOL.md sections 2-4 and 9) and their byte encoding: a frame is
 * `u32 length | u8 type | body`, integers big-endian, strings u16-length UTF-8, bytes u32-length.
 *
 * Sequence numbers and other u64 fields are JavaScript numbers: the decoder refuses values above
 * 2^53 - 1 (they cannot be represented exactly), which no session reaches in practice.
 */

export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  PING: 0x03,
  PONG: 0x04,
  DATA: 0x10,
  ACK: 0x11,
  SUBSCRIBE: 0x12,
  UNSUBSCRIBE: 0x13,
  GAP: 0x14,
  REJECT: 0x15,
  GOAWAY: 0x20,
  ERROR: 0x21,
  CLOSE: 0x22,
  REAUTH: 0x23,
  AUTH: 0x24,
  REQUEST: 0x30,
  RESPONSE: 0x31,
  CANCEL: 0x32,
} as const;

export type TargetKind = 1 | 2 | 3;
export const TARGET_CLIENT: TargetKind = 1;
export const TARGET_TOPIC: TargetKind = 2;
/** Every device of a user (protocol version 3, docs/PROTOCOL.md 5.6). */
export const TARGET_USER: TargetKind = 3;
/** The protocol version whose HELLO carries a device id. */
export const VERSION_DEVICES = 3;

export const SessionStatus = { NEW: 0, RESUMED: 1, LOST: 2 } as const;
export type SessionStatusCode = (typeof SessionStatus)[keyof typeof SessionStatus];

export type Frame =
  | {
      type: 0x01; version: number; clientId: string; token: string; resumeSessionId: string; lastReceivedSeq: number;
      attemptStamp: number; deviceId?: string;
    }
  | {
      type: 0x02; version: number; sessionId: string; sessionStatus: SessionStatusCode; lastReceivedSeq: number; lostMessages: number;
      heartbeatIntervalMs: number; heartbeatMisses: number; maxFrameSize: number; backoffInitialMs: number; backoffMaxMs: number;
      sessionRetentionMs: number; heartbeatMinMs?: number; heartbeatMaxMs?: number;
    }
  | { type: 0x03; timestamp: number }
  | { type: 0x04; timestamp: number }
  | { type: 0x10; seq: number; targetKind: TargetKind; target: string; from: string; payload: Uint8Array }
  | { type: 0x11; seq: number }
  | { type: 0x12; seq: number; topic: string }
  | { type: 0x13; seq: number; topic: string }
  | { type: 0x14; fromSeq: number; toSeq: number }
  | { type: 0x15; seq: number; code: number; message: string }
  | { type: 0x20; code: number; reason: string; reconnectDelayMs: number; alternativeEndpoint: string }
  | { type: 0x21; code: number; message: string }
  | { type: 0x22; code: number; reason: string }
  | { type: 0x23; expiresInMs: number }
  | { type: 0x24; token: string }
  | { type: 0x30; requestId: number; deadline: number; target: string; from: string; payload: Uint8Array }
  | { type: 0x31; requestId: number; code: number; message: string; payload: Uint8Array }
  | { type: 0x32; requestId: number };

/** A frame of one type, e.g. `FrameOf<0x10>` for DATA. */
export type FrameOf<T extends Frame["type"]> = Extract<Frame, { type: T }>;

/** A frame or field the peer sent breaks the protocol; `code` is the protocol's error code for it. */
export class ProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const PROTOCOL_ERROR = 1;
const FRAME_TOO_LARGE = 3;
const UNKNOWN_FRAME_TYPE = 4;
const TWO_32 = 0x1_0000_0000;
const MAX_U32 = 0x7fff_ffff;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The bytes of `frame`, length field included. Throws RangeError for a field out of range. */
export function encode(frame: Frame): Uint8Array {
  const w = new Writer();
  w.u8(frame.type);
  switch (frame.type) {
    case 0x01:
      w.u16(frame.version).str(frame.clientId).str(frame.token).str(frame.resumeSessionId).u64(frame.lastReceivedSeq)
        .u64(frame.attemptStamp);
      if (frame.version >= VERSION_DEVICES) w.str(frame.deviceId ?? "");
      break;
    case 0x02:
      w.u16(frame.version).str(frame.sessionId).u8(frame.sessionStatus).u64(frame.lastReceivedSeq).u64(frame.lostMessages)
        .u32(frame.heartbeatIntervalMs).u8(frame.heartbeatMisses).u32(frame.maxFrameSize).u32(frame.backoffInitialMs)
        .u32(frame.backoffMaxMs).u32(frame.sessionRetentionMs);
      if (frame.version >= 2) w.u32(frame.heartbeatMinMs ?? frame.heartbeatIntervalMs).u32(frame.heartbeatMaxMs ?? frame.heartbeatIntervalMs);
      break;
    case 0x03:
    case 0x04:
      w.u64(frame.timestamp);
      break;
    case 0x10:
      w.u64(frame.seq).u8(frame.targetKind).str(frame.target).str(frame.from).bytes(frame.payload);
      break;
    case 0x11:
      w.u64(frame.seq);
      break;
    case 0x12:
    case 0x13:
      w.u64(frame.seq).str(frame.topic);
      break;
    case 0x14:
      w.u64(frame.fromSeq).u64(frame.toSeq);
      break;
    case 0x15:
      w.u64(frame.seq).u16(frame.code).str(frame.message);
      break;
    case 0x20:
      w.u16(frame.code).str(frame.reason).u32(frame.reconnectDelayMs).str(frame.alternativeEndpoint);
      break;
    case 0x21:
      w.u16(frame.code).str(frame.message);
      break;
    case 0x22:
      w.u16(frame.code).str(frame.reason);
      break;
    case 0x23:
      w.u32(frame.expiresInMs);
      break;
    case 0x24:
      w.str(frame.token);
      break;
    case 0x30:
      w.u64(frame.requestId).u64(frame.deadline).str(frame.target).str(frame.from).bytes(frame.payload);
      break;
    case 0x31:
      w.u64(frame.requestId).u16(frame.code).str(frame.message).bytes(frame.payload);
      break;
    case 0x32:
      w.u64(frame.requestId);
      break;
    default:
      return assertNever(frame);
  }
  return w.finish();
}

/** Growable big-endian writer; {@link finish} prepends the frame's length. */
class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private pos = 4;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > MAX_U32) throw new RangeError(`u32 field ${v} (expected: 0 .. 2^31-1)`);
    this.room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 field ${v} (expected: 0 .. 2^53-1)`);
    this.room(8);
    this.view.setUint32(this.pos, Math.floor(v / TWO_32));
    this.view.setUint32(this.pos + 4, v % TWO_32);
    this.pos += 8;
    return this;
  }

  str(s: string): this {
    const b = utf8.encode(s);
    if (b.length > 0xffff) throw new RangeError(`string of ${b.length} UTF-8 bytes (expected: at most 65535)`);
    this.u16(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  finish(): Uint8Array {
    this.view.setUint32(0, this.pos - 4);
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * Splits a byte stream into frames. WebSocket message boundaries carry no meaning (PROTOCOL.md 1.1):
 * the payloads of binary messages are {@link push}ed in order and every whole frame comes out.
 * Throws {@link ProtocolError} on the first bad frame; the caller then closes the connection.
 */
export class FrameDecoder {
  private pending: Uint8Array = new Uint8Array(0);

  /** @param maxFrameSize the largest `length` accepted; larger is FRAME_TOO_LARGE */
  constructor(private readonly maxFrameSize: number) {}

  /** Appends `chunk` and returns the frames completed by it, in order. */
  push(chunk: Uint8Array): Frame[] {
    let data: Uint8Array;
    if (this.pending.length === 0) {
      data = chunk;
    } else {
      data = new Uint8Array(this.pending.length + chunk.length);
      data.set(this.pending);
      data.set(chunk, this.pending.length);
    }
    const frames: Frame[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    while (data.length - at >= 4) {
      const length = view.getUint32(at);
      if (length < 1) throw new ProtocolError(PROTOCOL_ERROR, "frame length 0 (expected: at least 1, the type byte)");
      if (length > this.maxFrameSize) {
        throw new ProtocolError(FRAME_TOO_LARGE, `frame length ${length} (expected: at most ${this.maxFrameSize})`);
      }
      if (data.length - at - 4 < length) break;
      frames.push(decodeBody(data.subarray(at + 4, at + 4 + length)));
      at += 4 + length;
    }
    // Keep only the unfinished tail (copied: the chunk's buffer may be reused by the transport).
    this.pending = at === data.length ? new Uint8Array(0) : data.slice(at);
    return frames;
  }

  /** Bytes held of a frame not complete yet. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Decodes one frame from its type byte and body (the `length` bytes after the length field). */
export function decodeBody(b: Uint8Array): Frame {
  const r = new Reader(b);
  const type = r.u8();
  let f: Frame;
  switch (type) {
    case 0x01:
      f = { type, version: r.u16(), clientId: r.str(), token: r.str(), resumeSessionId: r.str(), lastReceivedSeq: r.u64(),
        attemptStamp: r.u64() };
      if (f.version >= VERSION_DEVICES) f.deviceId = r.str();
      break;
    case 0x02: {
      const version = r.u16();
      const sessionId = r.str();
      const status = r.u8();
      if (status > 2) throw new ProtocolError(PROTOCOL_ERROR, `WELCOME sessionStatus ${status} (expected: 0, 1 or 2)`);
      f = { type, version, sessionId, sessionStatus: status as SessionStatusCode, lastReceivedSeq: r.u64(),
        lostMessages: r.u64(), heartbeatIntervalMs: r.u32(), heartbeatMisses: r.u8(), maxFrameSize: r.u32(),
        backoffInitialMs: r.u32(), backoffMaxMs: r.u32(), sessionRetentionMs: r.u32() };
      if (version >= 2) { // versions 2 and 3 also carry the heartbeat bounds
        f.heartbeatMinMs = r.u32();
        f.heartbeatMaxMs = r.u32();
      }
      break;
    }
    case 0x03:
    case 0x04:
      f = { type, timestamp: r.u64() };
      break;
    case 0x10: {
      const seq = r.u64();
      const kind = r.u8();
      if (kind !== 1 && kind !== 2 && kind !== 3) {
        throw new ProtocolError(PROTOCOL_ERROR, `DATA targetKind ${kind} (expected: 1, 2 or 3)`);
      }
      f = { type, seq, targetKind: kind, target: r.str(), from: r.str(), payload: r.bytes() };
      break;
    }
    case 0x11:
      f = { type, seq: r.u64() };
      break;
    case 0x12:
    case 0x13:
      f = { type, seq: r.u64(), topic: r.str() };
      break;
    case 0x14: {
      const fromSeq = r.u64();
      const toSeq = r.u64();
      if (fromSeq === 0 || toSeq < fromSeq) {
        throw new ProtocolError(PROTOCOL_ERROR, `GAP ${fromSeq}..${toSeq} (expected: 1 <= fromSeq <= toSeq)`);
      }
      f = { type, fromSeq, toSeq };
      break;
    }
    case 0x15:
      f = { type, seq: r.u64(), code: r.u16(), message: r.str() };
      break;
    case 0x20:
      f = { type, code: r.u16(), reason: r.str(), reconnectDelayMs: r.u32(), alternativeEndpoint: r.str() };
      break;
    case 0x21:
      f = { type, code: r.u16(), message: r.str() };
      break;
    case 0x22:
      f = { type, code: r.u16(), reason: r.str() };
      break;
    case 0x23:
      f = { type, expiresInMs: r.u32() };
      break;
    case 0x24:
      f = { type, token: r.str() };
      break;
    case 0x30:
      f = { type, requestId: r.u64(), deadline: r.u64(), target: r.str(), from: r.str(), payload: r.bytes() };
      break;
    case 0x31:
      f = { type, requestId: r.u64(), code: r.u16(), message: r.str(), payload: r.bytes() };
      break;
    case 0x32:
      f = { type, requestId: r.u64() };
      break;
    default:
      throw new ProtocolError(UNKNOWN_FRAME_TYPE, `frame type 0x${type.toString(16).padStart(2, "0")} (not in version 1)`);
  }
  r.end(type);
  return f;
}

class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  private need(n: number): void {
    if (this.b.length - this.pos < n) {
      throw new ProtocolError(PROTOCOL_ERROR, `frame ends ${n - (this.b.length - this.pos)} byte(s) early`);
    }
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    if (v > MAX_U32) throw new ProtocolError(PROTOCOL_ERROR, `u32 field ${v} (expected: below 2^31)`);
    return v;
  }

  u64(): number {
    this.need(8);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    this.pos += 8;
    if (hi >= 0x20_0000) throw new ProtocolError(PROTOCOL_ERROR, "u64 field above 2^53-1 (not representable in this SDK)");
    return hi * TWO_32 + lo;
  }

  str(): string {
    const n = this.u16();
    this.need(n);
    const slice = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return strictUtf8.decode(slice);
    } catch {
      throw new ProtocolError(PROTOCOL_ERROR, "string field is not well-formed UTF-8");
    }
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const v = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  end(type: number): void {
    if (this.pos !== this.b.length) {
      throw new ProtocolError(PROTOCOL_ERROR, `${this.b.length - this.pos} trailing byte(s) after frame type 0x${type.toString(16)}`);
    }
  }
}

export function assertNever(x: never): never {
  throw new Error(`unhandled: ${JSON.stringify(x)}`);
}
