import { WebSocketServer, WebSocket } from "ws";
import type { AddressInfo } from "node:net";
import { encode, FrameDecoder } from "../src/codec.js";
import type { Frame, FrameOf } from "../src/codec.js";

/**
 * A gateway played by the test, over real WebSocket connections on loopback: each connection's
 * frames arrive in order through {@link ScriptedConnection.next}; the test answers what it wants,
 * including what a hostile server would send.
 */
export class ScriptedGateway {
  private readonly wss: WebSocketServer;
  private readonly waiting: ((c: ScriptedConnection) => void)[] = [];
  private readonly ready: ScriptedConnection[] = [];
  readonly url: Promise<string>;

  constructor(options: { protocol?: string | false } = {}) {
    this.wss = new WebSocketServer({
      host: "127.0.0.1", port: 0, path: "/longlink",
      handleProtocols: (offered) => (options.protocol === false ? false : options.protocol ?? (offered.has("longlink.v1") ? "longlink.v1" : false)),
    });
    this.url = new Promise((resolve) => this.wss.on("listening", () =>
      resolve(`ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/longlink`)));
    this.wss.on("connection", (ws) => {
      const c = new ScriptedConnection(ws);
      const w = this.waiting.shift();
      if (w) w(c);
      else this.ready.push(c);
    });
  }

  /** The next connection a client opens. */
  accept(): Promise<ScriptedConnection> {
    const c = this.ready.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

export class ScriptedConnection {
  private readonly decoder = new FrameDecoder(1 << 24);
  private readonly frames: Frame[] = [];
  private readonly waiters: ((f: Frame | null) => void)[] = [];
  closed = false;
  readonly closedWith: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error("client sent a text message");
      for (const f of this.decoder.push(new Uint8Array(data))) this.offer(f);
    });
    this.closedWith = new Promise((resolve) => ws.on("close", (code, reason) => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(null);
      resolve({ code, reason: reason.toString() });
    }));
  }

  private offer(f: Frame): void {
    const w = this.waiters.shift();
    if (w) w(f);
    else this.frames.push(f);
  }

  /** The next frame from the client; rejects if the connection closes first. */
  async next(): Promise<Frame> {
    const f = this.frames.shift() ?? (this.closed ? null : await new Promise<Frame | null>((r) => this.waiters.push(r)));
    if (f === null) throw new Error("connection closed while a frame was awaited");
    return f;
  }

  /** The next frame of type `type`, skipping PINGs and ACKs the test did not ask for. */
  async expect<T extends Frame["type"]>(type: T): Promise<FrameOf<T>> {
    for (;;) {
      const f = await this.next();
      if (f.type === type) return f as FrameOf<T>;
      if (f.type !== 0x03 && f.type !== 0x11) throw new Error(`expected frame type 0x${type.toString(16)}, got ${JSON.stringify(f)}`);
    }
  }

  send(...frames: Frame[]): void {
    for (const f of frames) this.ws.send(encode(f));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Drops the TCP connection without a close handshake, as a broken network would. */
  kill(): void {
    this.ws.terminate();
  }
}

export function welcome(overrides: Partial<FrameOf<0x02>> = {}): FrameOf<0x02> {
  return { type: 0x02, version: 1, sessionId: "s1", sessionStatus: 0, lastReceivedSeq: 0, lostMessages: 0,
    heartbeatIntervalMs: 30_000, heartbeatMisses: 3, maxFrameSize: 1 << 20, backoffInitialMs: 1, backoffMaxMs: 5,
    sessionRetentionMs: 120_000, ...overrides };
}

export function data(seq: number, from: string, text: string, target = "me"): FrameOf<0x10> {
  return { type: 0x10, seq, targetKind: 1, target, from, payload: new TextEncoder().encode(text) };
}

/** The bytes of `parts`, one after the other. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
