import { encode, FrameDecoder, ProtocolError, SessionStatus, TARGET_CLIENT, TARGET_TOPIC, TARGET_USER, VERSION_DEVICES,
  assertNever } from "./codec.js";
import type { Frame, FrameOf } from "./codec.js";
import { ConnectionError, ErrorCode, LonglinkError, OutboxFullError, SessionLostError } from "./errors.js";
import { Outbox } from "./outbox.js";
import type { Sequenced } from "./outbox.js";
import { Backoff, Heartbeat, decide } from "./policy.js";

/** The WebSocket subprotocol the gateway speaks (PROTOCOL.md 1.1). */
export const SUBPROTOCOL = "longlink.v1";

/** The part of the WHATWG WebSocket this client uses: browsers' own, or e.g. the `ws` package's in Node. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Time as this client sees it; tests pass a fake one. */
export interface Clock {
  /** Monotonic milliseconds (fractions allowed). */
  now(): number;
  /** Wall-clock epoch milliseconds (HELLO's attempt stamp). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => globalThis.performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A token, or where to get one: asked at every login and whenever the gateway sends REAUTH. */
export type TokenProvider = () => string | Promise<string>;

/** Lifecycle: the same states and moves as the Java SDK's ClientState. */
export type ClientState = "disconnected" | "connecting" | "handshaking" | "connected" | "reconnecting" | "closed";

/** Where a message goes: one client id, or every subscriber of a topic. */
/** A client id, a topic, or every device of a user (its principal; protocol version 3). */
export type Destination = { readonly client: string } | { readonly topic: string } | { readonly user: string };

export interface ReceivedMessage {
  /** The sender's client id; empty for a message the gateway's backend published. */
  readonly from: string;
  /** The client id or topic it was sent to. */
  readonly target: string;
  readonly targetKind: "client" | "topic" | "user";
  /** Its server → client sequence number in this session. */
  readonly seq: number;
  readonly payload: Uint8Array;
  /** The payload as UTF-8 text. */
  text(): string;
}

export interface StateChange {
  readonly previous: ClientState;
  readonly current: ClientState;
  /** Why, when the application did not ask for the move: a LonglinkError with the gateway's code, or a ConnectionError. */
  readonly cause?: unknown;
  /** For "reconnecting": milliseconds until the next attempt. */
  readonly retryInMs?: number;
}

/** The gateway no longer had the session; a fresh one replaced it (and topics were subscribed again). */
export interface SessionLostEvent {
  readonly oldSessionId: string;
  readonly newSessionId: string;
  /** Messages for this client the gateway knows it dropped (0: none, or unknown). */
  readonly messagesLostByServer: number;
  /** This client's sends that went out unacknowledged: their promises failed with SessionLostError. */
  readonly unconfirmedSends: number;
}

/** The gateway dropped these messages to keep a slow client's buffer bounded (GAP, PROTOCOL.md 5.5). */
export interface MessagesDroppedEvent {
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
}

interface Events {
  message: ReceivedMessage;
  state: StateChange;
  sessionLost: SessionLostEvent;
  messagesDropped: MessagesDroppedEvent;
}

export interface ClientOptions {
  /** Gateway WebSocket URL(s), e.g. `ws://127.0.0.1:7002/longlink`; tried in order. */
  url: string | readonly string[];
  clientId: string;
  /**
   * Log in as this device of its user (protocol version 3): kept beside the user's other devices,
   * reached by `{ user }` sends, shown in presence. 1..64 UTF-8 bytes, no control characters. Default:
   * none (one session per client id, protocol version 1).
   */
  deviceId?: string;
  /** A fixed token or a provider (asked at every login and on REAUTH). Default: no token. */
  token?: string | TokenProvider;
  /** The WebSocket constructor; default `globalThis.WebSocket` (browsers; Node 22+). */
  WebSocket?: WebSocketConstructor;
  /** Reconnect after a lost connection (default true). */
  reconnect?: boolean;
  /** Keep trying when the very first connect fails (default false: `connect()` fails). */
  retryInitialConnect?: boolean;
  /** Backed-off attempts before giving up; 0 (default): no limit. */
  maxAttempts?: number;
  /** A connection up this long starts the backoff over (default 30 s). */
  stableAfterMs?: number;
  /** Overrides the backoff the gateway announces (default: the gateway's). */
  backoff?: { initialMs: number; maxMs: number };
  /** Bound on unacknowledged or queued sends (default 10,000 messages, 64 MiB). */
  maxPending?: { messages: number; bytes: number };
  /** Acknowledge at the latest after this many messages (default 64; else at the end of each WebSocket message). */
  ackEvery?: number;
  /** Open + login must finish within this (default 10 s). */
  connectTimeoutMs?: number;
  /** Largest frame accepted from the gateway (default 16 MiB). */
  maxFrameSize?: number;
  clock?: Clock;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
}

type Listener<T> = (event: T) => void;

const MAX_ID_BYTES = 128;
const MAX_TOPIC_BYTES = 256;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
const STATE_MOVES: Record<ClientState, readonly ClientState[]> = {
  disconnected: ["connecting"],
  connecting: ["handshaking", "reconnecting", "disconnected"],
  handshaking: ["connected", "reconnecting", "disconnected"],
  connected: ["reconnecting", "disconnected"],
  reconnecting: ["connecting", "disconnected"],
  closed: [],
};

/**
 * A longlink client over WebSocket. Logs in, sends with promises that resolve on the gateway's ACK,
 * receives every message exactly once and in order, and across lost connections reconnects with
 * full-jitter backoff and resumes its session: both sides replay what the other has not
 * acknowledged and duplicates are dropped. A session the gateway no longer has ends in a
 * `sessionLost` event with counts, never a silent gap.
 *
 * Single-threaded (the JavaScript event loop); listeners are called synchronously, in order.
 */
export class LonglinkClient {
  private readonly endpoints: readonly string[];
  private readonly ctor: WebSocketConstructor;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly tokenProvider: TokenProvider;
  private readonly outbox: Outbox;
  private readonly listeners: { [K in keyof Events]: Set<Listener<Events[K]>> } = {
    message: new Set(), state: new Set(), sessionLost: new Set(), messagesDropped: new Set(),
  };
  private readonly topics = new Set<string>();

  private currentState: ClientState = "disconnected";
  private ws: WebSocketLike | null = null;
  private decoder: FrameDecoder | null = null;
  private heartbeat: Heartbeat | null = null;
  private timer: unknown = null;
  private retryTimer: unknown = null;
  private backoff: Backoff;
  private readonly configuredBackoff: boolean;
  private connectWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  private session: string | null = null;
  private refusedSession: string | null = null;
  private lastReceived = 0;
  private unackedInbound = 0;
  private writtenSeq = 0;
  private lastStamp = 0;
  private endpointIndex = 0;
  private redirect: string | null = null;
  private attempt = 0;
  private triedInRound = 0;
  private everConnected = false;
  private connectedAt = 0;
  private attemptStartedAt = 0;
  private goAwayDelayMs = 0;
  private nextRetryAt = 0;
  private writeQueue: Uint8Array[] = [];
  private flushScheduled = false;
  private rtt: number | undefined;
  private lastPingStamp = 0;
  private readonly pings = new Map<number, { resolve: (rttMs: number) => void; reject: (e: unknown) => void }>();
  private counters = { reconnects: 0, tokenRefreshes: 0, rejected: 0, droppedByServer: 0, duplicates: 0 };

  constructor(private readonly options: ClientOptions) {
    const urls = typeof options.url === "string" ? [options.url] : [...options.url];
    if (urls.length === 0) throw new RangeError("url: no endpoint (expected: at least one ws:// or wss:// URL)");
    for (const u of urls) {
      if (!/^wss?:\/\//.test(u)) throw new RangeError(`url ${JSON.stringify(u)} (expected: ws://host:port/path or wss://…)`);
    }
    this.endpoints = urls;
    checkId("clientId", options.clientId, MAX_ID_BYTES);
    if (options.deviceId !== undefined) checkId("deviceId", options.deviceId, 64);
    const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (ctor === undefined) {
      throw new TypeError("no WebSocket constructor: this runtime has no global WebSocket (Node 20); pass options.WebSocket, e.g. from the 'ws' package");
    }
    this.ctor = ctor;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const token = options.token ?? "";
    this.tokenProvider = typeof token === "function" ? token : () => token;
    const pending = options.maxPending ?? { messages: 10_000, bytes: 64 << 20 };
    positive("maxPending.messages", pending.messages);
    positive("maxPending.bytes", pending.bytes);
    this.outbox = new Outbox(pending.messages, pending.bytes);
    this.configuredBackoff = options.backoff !== undefined;
    this.backoff = new Backoff(options.backoff?.initialMs ?? 1000, options.backoff?.maxMs ?? 60_000);
    if (options.ackEvery !== undefined) positive("ackEvery", options.ackEvery);
    if (options.connectTimeoutMs !== undefined) positive("connectTimeoutMs", options.connectTimeoutMs);
    if (options.maxFrameSize !== undefined) positive("maxFrameSize", options.maxFrameSize);
  }

  // ---- public API ----

  get clientId(): string {
    return this.options.clientId;
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The session's id once logged in; kept across resumes. */
  get sessionId(): string | null {
    return this.session;
  }

  /** The last PING round trip in milliseconds, if one was measured. */
  get lastRttMs(): number | undefined {
    return this.rtt;
  }

  /** Sends queued or unacknowledged. */
  get queuedMessages(): number {
    return this.outbox.size;
  }

  /** While reconnecting: milliseconds until the next attempt; else 0. */
  get nextRetryInMs(): number {
    return this.currentState === "reconnecting" ? Math.max(0, this.nextRetryAt - this.clock.now()) : 0;
  }

  /** Counters: reconnects, token refreshes sent, sends the gateway rejected, messages it dropped (GAP), duplicates dropped. */
  get stats(): Readonly<typeof this.counters> {
    return { ...this.counters };
  }

  /** Registers `listener` for `event`; returns what removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  /**
   * Connects and logs in. Resolves on the first WELCOME; rejects when the client gives up (every
   * endpoint failed, unless `retryInitialConnect`) or is closed first.
   */
  connect(): Promise<void> {
    if (this.currentState === "closed") return Promise.reject(new Error(`client ${this.clientId} is closed`));
    const p = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.currentState === "connected") this.settleConnect(null);
    else if (this.currentState === "disconnected") {
      this.attempt = 0;
      this.triedInRound = 0;
      this.startAttempt();
    }
    return p;
  }

  /**
   * Sends `payload` to a client or topic. Resolves once the gateway acknowledged it (it took
   * responsibility: routed it into the recipients' sessions); rejects with LonglinkError when the
   * gateway REJECTed it (e.g. FORBIDDEN), OutboxFullError when too much is unacknowledged,
   * SessionLostError when the session was lost before the ACK. Queued while reconnecting.
   */
  send(to: Destination, payload: Uint8Array | string): Promise<void> {
    const bytes = typeof payload === "string" ? utf8.encode(payload) : payload;
    try {
      const frame: FrameOf<0x10> = "client" in to
        ? { type: 0x10, seq: 0, targetKind: TARGET_CLIENT, target: checkId("client id", to.client, MAX_ID_BYTES), from: "", payload: bytes }
        : "topic" in to
          ? { type: 0x10, seq: 0, targetKind: TARGET_TOPIC, target: checkId("topic", to.topic, MAX_TOPIC_BYTES), from: "", payload: bytes }
          : { type: 0x10, seq: 0, targetKind: TARGET_USER, target: checkId("user", to.user, MAX_ID_BYTES), from: "", payload: bytes };
      return this.sequenced(frame, 32 + bytes.length + 2 * frame.target.length);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Subscribes to `topic`; resolves on the gateway's ACK. Subscriptions are kept across resumes and renewed after a session loss. */
  subscribe(topic: string): Promise<void> {
    try {
      checkId("topic", topic, MAX_TOPIC_BYTES);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = this.sequenced({ type: 0x12, seq: 0, topic }, 32 + 2 * topic.length);
    this.topics.add(topic);
    return p;
  }

  unsubscribe(topic: string): Promise<void> {
    try {
      checkId("topic", topic, MAX_TOPIC_BYTES);
    } catch (e) {
      return Promise.reject(e);
    }
    this.topics.delete(topic);
    return this.sequenced({ type: 0x13, seq: 0, topic }, 32 + 2 * topic.length);
  }

  /**
   * Measures the round trip to the gateway: a PING now, resolved with the milliseconds until its
   * PONG. Rejects with ConnectionError if the connection ends first, or when not connected.
   */
  ping(): Promise<number> {
    if (this.currentState !== "connected") {
      return Promise.reject(new ConnectionError(`client ${this.clientId} is ${this.currentState} (expected: connected)`));
    }
    const timestamp = Math.max(Math.floor(this.clock.now() * 1000), this.lastPingStamp + 1);
    this.lastPingStamp = timestamp;
    return new Promise<number>((resolve, reject) => {
      this.pings.set(timestamp, { resolve, reject });
      this.write({ type: 0x03, timestamp });
    });
  }

  /**
   * Ends the session (CLOSE to the gateway, which then keeps nothing for resume) and the client.
   * Sends not yet acknowledged fail. Resolves once the socket is closed.
   */
  close(): Promise<void> {
    if (this.currentState === "closed") return Promise.resolve();
    const ws = this.ws;
    const done = new Promise<void>((resolve) => {
      if (ws === null || ws.readyState >= 2) resolve();
      else this.closeWaiters.push(resolve);
    });
    if (ws !== null && this.currentState === "connected") {
      this.write({ type: 0x22, code: ErrorCode.NORMAL, reason: "client closed" });
      this.flushWrites();
    }
    this.stopTimers();
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const failure = new Error(`client ${this.clientId} closed before the gateway acknowledged this`);
    this.outbox.clear((p) => p.reject(failure));
    this.failPings(failure);
    this.move("closed");
    this.settleConnect(failure);
    if (ws !== null) {
      if (ws.readyState <= 1) ws.close(1000, "client closed");
      this.ws = null;
    }
    return done;
  }

  // ---- sending ----

  private sequenced(frame: Sequenced, size: number): Promise<void> {
    if (this.currentState === "closed" || this.currentState === "disconnected") {
      return Promise.reject(new Error(`client ${this.clientId} is ${this.currentState}`
        + (this.currentState === "disconnected" ? " (expected: connected or reconnecting); connect() first" : "")));
    }
    if (!this.outbox.fits(size)) {
      return Promise.reject(new OutboxFullError(`client ${this.clientId}: ${this.outbox.size} sends unacknowledged or queued `
        + `(the limit); the gateway is not keeping up or the client is offline`));
    }
    return new Promise<void>((resolve, reject) => {
      this.outbox.add(frame, size, resolve, reject);
      if (this.currentState === "connected") this.flushOutbox();
    });
  }

  /** Writes the outbox after what this connection was given, in order. */
  private flushOutbox(): void {
    for (const p of this.outbox.after(this.writtenSeq)) {
      this.write(p.frame);
      this.writtenSeq = p.frame.seq;
    }
    this.outbox.written(this.writtenSeq);
  }

  /**
   * Queues a frame; everything queued in one turn of the event loop goes out as one WebSocket
   * message (PROTOCOL.md 1.1 lets a message carry several frames), which spares a message per frame.
   */
  private write(frame: Frame): void {
    this.writeQueue.push(encode(frame));
    if (frame.type !== 0x04) this.heartbeat?.onWrite(this.clock.now()); // answering the gateway's PING is not our traffic
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flushWrites());
    }
  }

  private flushWrites(): void {
    this.flushScheduled = false;
    const q = this.writeQueue;
    if (q.length === 0) return;
    this.writeQueue = [];
    const ws = this.ws;
    if (ws === null || ws.readyState !== 1) return; // the frames stay in the outbox for the next connection
    let out: Uint8Array;
    if (q.length === 1) {
      out = q[0]!;
    } else {
      let n = 0;
      for (const b of q) n += b.length;
      out = new Uint8Array(n);
      let at = 0;
      for (const b of q) {
        out.set(b, at);
        at += b.length;
      }
    }
    try {
      ws.send(out);
    } catch (e) {
      this.lost(ws, new ConnectionError(`send failed: ${String(e)}`));
    }
  }

  // ---- connecting ----

  private startAttempt(): void {
    this.retryTimer = null;
    this.move("connecting");
    const url = this.redirect ?? this.endpoints[this.endpointIndex]!;
    this.redirect = null;
    this.attemptStartedAt = this.clock.now();
    let ws: WebSocketLike;
    try {
      ws = new this.ctor(url, SUBPROTOCOL);
    } catch (e) {
      // e.g. a malformed URL: fails like a refused connection, on the next turn (not inside connect())
      const failed = {} as WebSocketLike;
      this.ws = failed;
      queueMicrotask(() => this.lost(failed, new ConnectionError(`cannot open ${url}: ${String(e)}`)));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.decoder = new FrameDecoder(this.options.maxFrameSize ?? 16 << 20);
    const timeout = this.options.connectTimeoutMs ?? 10_000;
    this.setTimer(() => this.lost(ws, new ConnectionError(`no WELCOME from ${url} within ${timeout} ms`)), timeout);
    ws.onopen = () => {
      if (ws !== this.ws) return;
      if (ws.protocol !== SUBPROTOCOL) {
        this.lost(ws, new ConnectionError(`${url} did not agree on subprotocol ${SUBPROTOCOL} (got ${JSON.stringify(ws.protocol)})`));
        return;
      }
      this.move("handshaking");
      this.login(ws);
    };
    ws.onmessage = (ev) => this.onMessage(ws, ev.data);
    ws.onerror = (ev) => {
      const detail = (ev as { message?: unknown }).message; // Node's ws says why; browsers do not
      this.lost(ws, new ConnectionError(`WebSocket error on ${url}${typeof detail === "string" && detail ? `: ${detail}` : ""}`));
    };
    ws.onclose = (ev) => {
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
      this.lost(ws, new ConnectionError(`connection to ${url} closed (WebSocket code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`));
    };
  }

  private login(ws: WebSocketLike): void {
    Promise.resolve()
      .then(() => this.tokenProvider())
      .then((token) => {
        if (ws !== this.ws || this.currentState !== "handshaking") return;
        const stamp = Math.max(Math.floor(this.clock.wallNow()), this.lastStamp + 1);
        this.lastStamp = stamp;
        const resume = this.session ?? "";
        const device = this.options.deviceId ?? "";
        this.write({ type: 0x01, version: device === "" ? 1 : VERSION_DEVICES, clientId: this.clientId, token,
          resumeSessionId: resume, lastReceivedSeq: resume === "" ? 0 : this.lastReceived, attemptStamp: stamp,
          deviceId: device });
      }, (e) => this.lost(ws, new ConnectionError(`token provider failed: ${String(e)}`)));
  }

  private onWelcome(w: FrameOf<0x02>): void {
    const now = this.clock.now();
    if (w.sessionStatus === SessionStatus.RESUMED && w.lastReceivedSeq > this.outbox.lastSeq) {
      this.protocolError(ErrorCode.SEQUENCE_GAP, `WELCOME lastReceivedSeq ${w.lastReceivedSeq} (expected: <= ${this.outbox.lastSeq}, the last seq sent)`);
      return;
    }
    this.heartbeat = new Heartbeat(w.heartbeatIntervalMs, w.heartbeatMisses, now);
    if (!this.configuredBackoff && w.backoffInitialMs > 0 && w.backoffMaxMs >= w.backoffInitialMs) {
      this.backoff = new Backoff(w.backoffInitialMs, w.backoffMaxMs);
    }
    const previous = this.session ?? this.refusedSession;
    this.refusedSession = null;
    if (w.sessionStatus === SessionStatus.RESUMED) {
      this.outbox.acknowledged(w.lastReceivedSeq);
      this.writtenSeq = w.lastReceivedSeq;
    } else {
      this.writtenSeq = 0;
      if (previous !== null) this.sessionLost(previous, w);
    }
    if (this.everConnected) this.counters.reconnects++;
    this.session = w.sessionId;
    this.everConnected = true;
    this.connectedAt = now;
    this.triedInRound = 0;
    this.move("connected");
    this.setTimer(() => this.onHeartbeatTimer(), this.heartbeat.msUntilNextCheck(now));
    this.flushOutbox();
    this.settleConnect(null);
  }

  private sessionLost(previous: string, w: FrameOf<0x02>): void {
    this.lastReceived = 0;
    const resubscribe: Sequenced[] = [...this.topics].map((topic) => ({ type: 0x12, seq: 0, topic }));
    const lost = new SessionLostError(`session ${previous} of client ${this.clientId} was lost before the gateway `
      + "acknowledged this; it may or may not have been delivered");
    const unconfirmed = this.outbox.restartSession(resubscribe, (p) => p.reject(lost));
    this.emit("sessionLost", { oldSessionId: previous, newSessionId: w.sessionId, messagesLostByServer: w.lostMessages,
      unconfirmedSends: unconfirmed });
  }

  /** Connection `ws` failed or ended: reconnect (now, or after the backoff) or give up. */
  private lost(ws: WebSocketLike, cause: unknown): void {
    const s = this.currentState;
    if (ws !== this.ws || s === "closed" || s === "disconnected" || s === "reconnecting") return;
    this.ws = null;
    this.decoder = null;
    this.stopTimers();
    this.writeQueue = [];
    this.unackedInbound = 0;
    this.failPings(cause);
    detach(ws);
    const now = this.clock.now();
    const wasConnected = s === "connected";
    if (cause instanceof LonglinkError && cause.code === ErrorCode.RESUME_REFUSED) {
      this.refusedSession = this.session;
      this.session = null;
    }
    const d = decide({
      reconnect: this.options.reconnect ?? true,
      retryInitialConnect: this.options.retryInitialConnect ?? false,
      maxAttempts: this.options.maxAttempts ?? 0,
      stableAfterMs: this.options.stableAfterMs ?? 30_000,
    }, {
      cause, connectedForMs: wasConnected ? now - this.connectedAt : -1, everConnected: this.everConnected,
      attempt: this.attempt, triedInRound: this.triedInRound, endpoints: this.endpoints.length,
      goAwayDelayMs: this.goAwayDelayMs, spentOnAttemptMs: now - this.attemptStartedAt,
    }, this.backoff, this.random);
    this.attempt = d.attempt;
    switch (d.action) {
      case "give-up":
        this.giveUp(d.failure);
        break;
      case "fail-over":
        this.triedInRound++;
        this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length;
        this.retryIn(0, cause);
        break;
      case "back-off":
        this.goAwayDelayMs = 0;
        this.triedInRound = 0;
        if (d.nextRound) this.endpointIndex = (this.endpointIndex + 1) % this.endpoints.length;
        this.retryIn(d.delayMs, cause);
        break;
      default:
        assertNever(d);
    }
    if (ws.readyState !== undefined && ws.readyState <= 1) ws.close(1000, "longlink client: connection given up");
  }

  private failPings(cause: unknown): void {
    if (this.pings.size === 0) return;
    const failure = new ConnectionError(`connection lost before the PONG: ${String(cause)}`);
    for (const p of this.pings.values()) p.reject(failure);
    this.pings.clear();
  }

  private retryIn(delayMs: number, cause: unknown): void {
    this.nextRetryAt = this.clock.now() + delayMs;
    this.move("reconnecting", cause, delayMs);
    this.retryTimer = this.clock.setTimeout(() => this.startAttempt(), delayMs);
  }

  private giveUp(cause: unknown): void {
    this.move("disconnected", cause);
    const failure = cause ?? new ConnectionError("connection lost");
    this.settleConnect(failure);
    this.outbox.clear((p) => p.reject(failure));
  }

  private settleConnect(failure: unknown | null): void {
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) {
      if (failure === null) w.resolve();
      else w.reject(failure);
    }
  }

  // ---- receiving ----

  private onMessage(ws: WebSocketLike, data: unknown): void {
    if (ws !== this.ws || this.decoder === null) return;
    if (!(data instanceof ArrayBuffer)) {
      this.protocolError(ErrorCode.PROTOCOL_ERROR, "a text WebSocket message (expected: binary messages only)");
      return;
    }
    let frames: Frame[];
    try {
      frames = this.decoder.push(new Uint8Array(data));
    } catch (e) {
      if (e instanceof ProtocolError) this.protocolError(e.code, e.message);
      else throw e;
      return;
    }
    this.heartbeat?.onRead(this.clock.now());
    for (const f of frames) {
      if (ws !== this.ws) return; // a frame closed the connection; the rest is moot
      if (this.currentState === "handshaking") this.onHandshakeFrame(f);
      else if (this.currentState === "connected") this.onSessionFrame(f);
    }
    if (ws === this.ws && this.unackedInbound > 0) this.sendAck();
  }

  /** The gateway's answer to HELLO. */
  private onHandshakeFrame(f: Frame): void {
    switch (f.type) {
      case 0x02:
        this.onWelcome(f);
        return;
      case 0x20:
        this.onGoAway(f); // a refusal with a retry-after, e.g. RATE_LIMITED
        return;
      case 0x21:
        this.lost(this.ws!, new LonglinkError(f.code, f.message));
        return;
      case 0x01: case 0x03: case 0x04: case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x22:
      case 0x23: case 0x24: case 0x30: case 0x31: case 0x32:
        this.protocolError(ErrorCode.UNEXPECTED_FRAME, `frame type 0x${f.type.toString(16)} before WELCOME`);
        return;
      default:
        assertNever(f);
    }
  }

  /** A frame of the logged-in session. */
  private onSessionFrame(f: Frame): void {
    switch (f.type) {
      case 0x10:
        this.onData(f);
        return;
      case 0x14:
        this.onGap(f);
        return;
      case 0x11:
        if (!this.outbox.acknowledged(f.seq)) {
          this.protocolError(ErrorCode.SEQUENCE_GAP, `ACK ${f.seq} (expected: <= ${this.outbox.lastSeq}, the last seq sent)`);
        }
        return;
      case 0x15:
        this.onReject(f);
        return;
      case 0x03:
        this.write({ type: 0x04, timestamp: f.timestamp });
        return;
      case 0x04: {
        this.rtt = Math.max(0, this.clock.now() * 1000 - f.timestamp) / 1000;
        const waiting = this.pings.get(f.timestamp);
        if (waiting !== undefined) {
          this.pings.delete(f.timestamp);
          waiting.resolve(this.rtt);
        }
        return;
      }
      case 0x20:
        this.onGoAway(f);
        return;
      case 0x21:
        this.lost(this.ws!, new LonglinkError(f.code, f.message));
        return;
      case 0x22:
        this.lost(this.ws!, new LonglinkError(f.code, `server ended the session: ${f.reason}`));
        return;
      case 0x23:
        this.onReauth(this.ws!);
        return;
      case 0x30: // this SDK answers no requests (PROTOCOL.md 9)
        this.write({ type: 0x31, requestId: f.requestId, code: ErrorCode.NO_HANDLER, message: "this client answers no requests",
          payload: new Uint8Array(0) });
        return;
      case 0x31: // answers to requests this SDK never makes: dropped, as the protocol says for late ones
      case 0x32:
        return;
      case 0x01: case 0x02: case 0x12: case 0x13: case 0x24:
        this.protocolError(ErrorCode.UNEXPECTED_FRAME, `frame type 0x${f.type.toString(16)} from a server`);
        return;
      default:
        assertNever(f);
    }
  }

  private onData(d: FrameOf<0x10>): void {
    if (d.seq <= this.lastReceived) {
      this.counters.duplicates++; // a replay after resume; still counts as received
      this.unackedInbound++;
      return;
    }
    if (d.seq !== this.lastReceived + 1) {
      this.protocolError(ErrorCode.SEQUENCE_GAP, `DATA seq ${d.seq} (expected: ${this.lastReceived + 1})`);
      return;
    }
    this.lastReceived = d.seq;
    this.unackedInbound++;
    const payload = d.payload;
    this.emit("message", {
      from: d.from, target: d.target,
      targetKind: d.targetKind === TARGET_CLIENT ? "client" : d.targetKind === TARGET_TOPIC ? "topic" : "user", seq: d.seq, payload,
      text: () => utf8Decoder.decode(payload),
    });
    if (this.unackedInbound >= (this.options.ackEvery ?? 64) && this.ws !== null) this.sendAck();
  }

  private onGap(g: FrameOf<0x14>): void {
    if (g.fromSeq > this.lastReceived + 1) {
      this.protocolError(ErrorCode.SEQUENCE_GAP, `GAP from ${g.fromSeq} (expected: <= ${this.lastReceived + 1})`);
      return;
    }
    if (g.toSeq <= this.lastReceived) return;
    const count = g.toSeq - this.lastReceived;
    const fromSeq = this.lastReceived + 1;
    this.lastReceived = g.toSeq;
    this.unackedInbound++;
    this.counters.droppedByServer += count;
    this.emit("messagesDropped", { fromSeq, toSeq: g.toSeq, count });
  }

  private onReject(r: FrameOf<0x15>): void {
    const p = this.outbox.get(r.seq);
    if (p === undefined || p.settled) return; // the ACK that follows removes it; its sender learns now
    this.counters.rejected++;
    p.settled = true;
    if (p.frame.type === 0x12) this.topics.delete(p.frame.topic); // asked again later it would be refused again
    p.reject(new LonglinkError(r.code, `message ${r.seq} not delivered: ${r.message}`));
  }

  private onGoAway(g: FrameOf<0x20>): void {
    const ws = this.ws!;
    this.goAwayDelayMs = Math.max(this.goAwayDelayMs, g.reconnectDelayMs);
    if (g.alternativeEndpoint !== "") this.redirect = redirectUrl(this.endpoints[this.endpointIndex]!, g.alternativeEndpoint);
    if (g.code === ErrorCode.SERVER_SHUTDOWN && this.currentState === "connected") {
      this.sendAck(); // what arrived is acknowledged before we leave, so the next node replays nothing twice
      this.flushWrites();
    }
    this.lost(ws, new LonglinkError(g.code, `GOAWAY: ${g.reason}`));
  }

  private onReauth(ws: WebSocketLike): void {
    Promise.resolve()
      .then(() => this.tokenProvider())
      .then((token) => {
        if (ws !== this.ws || this.currentState !== "connected") return;
        this.counters.tokenRefreshes++;
        this.write({ type: 0x24, token });
      }, () => {
        // the gateway ends the connection when the token expires; the client then reconnects and asks again
      });
  }

  private sendAck(): void {
    this.unackedInbound = 0;
    this.write({ type: 0x11, seq: this.lastReceived });
  }

  private protocolError(code: number, message: string): void {
    const ws = this.ws;
    if (ws === null) return;
    this.write({ type: 0x21, code, message });
    this.flushWrites();
    this.lost(ws, new LonglinkError(code, `from the gateway: ${message}`));
  }

  private onHeartbeatTimer(): void {
    const hb = this.heartbeat;
    const ws = this.ws;
    if (hb === null || ws === null || this.currentState !== "connected") return;
    const now = this.clock.now();
    switch (hb.check(now)) {
      case "dead":
        this.lost(ws, new LonglinkError(ErrorCode.HEARTBEAT_TIMEOUT, `nothing from the gateway for ${hb.deadAfterMs} ms`));
        return;
      case "ping": {
        const timestamp = Math.max(Math.floor(now * 1000), this.lastPingStamp + 1);
        this.lastPingStamp = timestamp;
        this.write({ type: 0x03, timestamp });
        break;
      }
      case "none":
        break;
    }
    this.setTimer(() => this.onHeartbeatTimer(), hb.msUntilNextCheck(now));
  }

  // ---- plumbing ----

  private setTimer(fn: () => void, ms: number): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  private stopTimers(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.heartbeat = null;
  }

  private move(next: ClientState, cause?: unknown, retryInMs?: number): void {
    const previous = this.currentState;
    if (next !== "closed" && !STATE_MOVES[previous].includes(next)) {
      throw new Error(`client ${this.clientId}: state ${previous} -> ${next} is not a lifecycle move`);
    }
    this.currentState = next;
    const change: StateChange = { previous, current: next,
      ...(cause !== undefined ? { cause } : {}), ...(retryInMs !== undefined ? { retryInMs } : {}) };
    this.emit("state", change);
  }

  private emit<K extends keyof Events>(event: K, value: Events[K]): void {
    for (const l of this.listeners[event]) {
      try {
        l(value);
      } catch (e) {
        // a failing listener must not break the session (the Java SDK logs and goes on the same way)
        console.error(`longlink client ${this.clientId}: ${event} listener failed`, e);
      }
    }
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onerror = null;
  ws.onclose = null;
}

/** `alternativeEndpoint` (host:port) in place of the host and port of `url`, keeping scheme and path. */
export function redirectUrl(url: string, alternative: string): string {
  const u = new URL(url);
  const at = alternative.lastIndexOf(":");
  if (at > 0) {
    u.hostname = alternative.slice(0, at).replace(/^\[|\]$/g, "");
    u.port = alternative.slice(at + 1);
  } else {
    u.hostname = alternative;
  }
  return u.toString();
}

/** Checks an identifier against PROTOCOL.md section 2 and returns it. */
function checkId(what: string, value: string, maxBytes: number): string {
  if (typeof value !== "string") throw new TypeError(`${what}: ${String(value)} (expected: a string)`);
  const n = utf8.encode(value).length;
  if (n < 1 || n > maxBytes) throw new RangeError(`${what} ${JSON.stringify(value)}: ${n} UTF-8 bytes (expected: 1 .. ${maxBytes})`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new RangeError(`${what} ${JSON.stringify(value)} has a control character`);
  return value;
}

function positive(what: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${what} ${v} (expected: > 0)`);
}
