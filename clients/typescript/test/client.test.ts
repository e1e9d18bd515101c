import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { LonglinkClient, LonglinkError, OutboxFullError, SessionLostError, ErrorCode } from "../src/index.js";
import type { ClientOptions, ReceivedMessage, StateChange, WebSocketConstructor } from "../src/index.js";
import { ScriptedGateway, concat, data, welcome } from "./scripted-gateway.js";
import { encode } from "../src/codec.js";

const WS = WebSocket as unknown as WebSocketConstructor;
let gateway: ScriptedGateway;
const clients: LonglinkClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await gateway?.close();
});

async function setUp(options: Partial<ClientOptions> = {}) {
  gateway = new ScriptedGateway();
  const client = new LonglinkClient({ url: await gateway.url, clientId: "me", WebSocket: WS, ...options });
  clients.push(client);
  const received: ReceivedMessage[] = [];
  const states: StateChange[] = [];
  client.on("message", (m) => received.push(m));
  client.on("state", (s) => states.push(s));
  return { client, received, states };
}

/** A client logged in to the scripted gateway, with the gateway's side of its connection. */
async function loggedIn(options: Partial<ClientOptions> = {}, welcomeWith: Parameters<typeof welcome>[0] = {}) {
  const set = await setUp(options);
  const connected = set.client.connect();
  const conn = await gateway.accept();
  await conn.expect(0x01);
  conn.send(welcome(welcomeWith));
  await connected;
  return { ...set, conn };
}

/** Resolves when `predicate` holds after some event of `client` (no polling on a timer). */
function until(client: LonglinkClient, predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate()) return resolve();
    const offs = [client.on("state", check), client.on("message", check)];
    const t = setInterval(check, 5); // for conditions that change without an event (acks)
    function check() {
      if (!predicate()) return;
      offs.forEach((o) => o());
      clearInterval(t);
      resolve();
    }
  });
}

test("logs in with the provider's token; the send promise resolves only on the gateway's ACK", async () => {
  let asked = 0;
  const { client, states } = await setUp({ token: async () => `token-${++asked}` });
  const connected = client.connect();
  const conn = await gateway.accept();
  const hello = await conn.expect(0x01);
  assert.deepEqual([hello.version, hello.clientId, hello.token, hello.resumeSessionId, hello.lastReceivedSeq],
    [1, "me", "token-1", "", 0]);
  assert.ok(hello.attemptStamp > 1_600_000_000_000, "wall-clock stamp");
  conn.send(welcome());
  await connected;
  assert.deepEqual(states.map((s) => s.current), ["connecting", "handshaking", "connected"]);
  assert.equal(client.sessionId, "s1");

  let acked = false;
  const sent = client.send({ client: "bob" }, "hi").then(() => { acked = true; });
  const d = await conn.expect(0x10);
  assert.deepEqual([d.seq, d.targetKind, d.target, d.from, new TextDecoder().decode(d.payload)], [1, 1, "bob", "", "hi"]);
  const published = client.send({ topic: "news" }, new Uint8Array([1, 2]));
  assert.equal((await conn.expect(0x10)).seq, 2);
  await new Promise((r) => setImmediate(r));
  assert.equal(acked, false, "not resolved before the ACK");
  conn.send({ type: 0x11, seq: 2 });
  await Promise.all([sent, published]);
  assert.equal(client.queuedMessages, 0);
});

test("a REJECT fails that send with the gateway's code; the session goes on", async () => {
  const { client, conn } = await loggedIn();
  const refused = client.send({ topic: "secret" }, "x");
  const fine = client.send({ topic: "public" }, "y");
  await conn.expect(0x10);
  await conn.expect(0x10);
  conn.send({ type: 0x15, seq: 1, code: ErrorCode.FORBIDDEN, message: "no" }, { type: 0x11, seq: 2 });
  await assert.rejects(refused, (e: unknown) => e instanceof LonglinkError && e.code === ErrorCode.FORBIDDEN);
  await fine;
  assert.equal(client.stats.rejected, 1);
  assert.equal(client.state, "connected");
});

test("delivers in order, drops duplicates, and acknowledges at the end of each WebSocket message", async () => {
  const { client, received, conn } = await loggedIn();
  conn.send(data(1, "bob", "a"));
  assert.equal((await conn.expect(0x11)).seq, 1);
  conn.sendRaw(concat([data(2, "bob", "b"), data(2, "bob", "b"), data(3, "bob", "c")].map(encode))); // one message, three frames
  assert.equal((await conn.expect(0x11)).seq, 3);
  assert.deepEqual(received.map((m) => [m.seq, m.from, m.text()]), [[1, "bob", "a"], [2, "bob", "b"], [3, "bob", "c"]]);
  assert.equal(client.stats.duplicates, 1);
});

test("resumes after a dead connection: both sides replay what the other lacks, the application sees each message once", async () => {
  const { client, received, conn: first } = await loggedIn({}, { sessionId: "sess" });
  let conn = first;
  conn.send(data(1, "bob", "m1"), data(2, "bob", "m2"));
  await until(client, () => received.length === 2);
  const sends = [client.send({ client: "bob" }, "c1"), client.send({ client: "bob" }, "c2"), client.send({ client: "bob" }, "c3")];
  await conn.expect(0x10);
  conn.send({ type: 0x11, seq: 1 });
  await sends[0];
  conn.kill();

  conn = await gateway.accept();
  const hello = await conn.expect(0x01);
  assert.equal(hello.resumeSessionId, "sess");
  assert.equal(hello.lastReceivedSeq, 2);
  // the gateway had c2 (not acked yet when the line died) and sends m2 again before m3
  conn.send(welcome({ sessionId: "sess", sessionStatus: 1, lastReceivedSeq: 2 }), data(2, "bob", "m2"), data(3, "bob", "m3"));
  await sends[1]; // the WELCOME's lastReceivedSeq acknowledges it
  const replayed = await conn.expect(0x10);
  assert.deepEqual([replayed.seq, new TextDecoder().decode(replayed.payload)], [3, "c3"]);
  conn.send({ type: 0x11, seq: 3 });
  await sends[2];
  await until(client, () => received.length === 3);
  assert.deepEqual(received.map((m) => m.text()), ["m1", "m2", "m3"]);
  assert.equal(client.stats.reconnects, 1);
});

test("a lost session is reported with counts; unconfirmed sends fail; topics are subscribed again", async () => {
  const { client } = await setUp();
  const lost: unknown[] = [];
  client.on("sessionLost", (e) => lost.push(e));
  const connected = client.connect();
  let conn = await gateway.accept();
  await conn.expect(0x01);
  conn.send(welcome({ sessionId: "old" }));
  await connected;
  const sub = client.subscribe("news");
  await conn.expect(0x12);
  conn.send({ type: 0x11, seq: 1 });
  await sub;
  const inFlight = client.send({ client: "bob" }, "maybe");
  await conn.expect(0x10);
  conn.kill();
  conn = await gateway.accept();
  assert.equal((await conn.expect(0x01)).resumeSessionId, "old");
  const queued = client.send({ client: "bob" }, "later"); // written in no connection yet: carried into the new session
  conn.send(welcome({ sessionId: "new", sessionStatus: 2, lostMessages: 4 }));
  await assert.rejects(inFlight, SessionLostError);
  assert.deepEqual(lost, [{ oldSessionId: "old", newSessionId: "new", messagesLostByServer: 4, unconfirmedSends: 1 }]);
  const resub = await conn.expect(0x12);
  assert.deepEqual([resub.seq, resub.topic], [1, "news"]);
  const renumbered = await conn.expect(0x10);
  assert.deepEqual([renumbered.seq, new TextDecoder().decode(renumbered.payload)], [2, "later"]);
  conn.send({ type: 0x11, seq: 2 });
  await queued;
});

test("GOAWAY REPLACED: the client gives up and does not come back", async () => {
  const { client, states, conn } = await loggedIn();
  const pending = client.send({ client: "x" }, "y");
  conn.send({ type: 0x20, code: ErrorCode.REPLACED, reason: "another login", reconnectDelayMs: 0, alternativeEndpoint: "" });
  await assert.rejects(pending, (e: unknown) => e instanceof LonglinkError && e.code === ErrorCode.REPLACED);
  const last = states.at(-1)!;
  assert.equal(last.current, "disconnected");
  assert.ok(last.cause instanceof LonglinkError && last.cause.code === ErrorCode.REPLACED);
});

test("GOAWAY SERVER_SHUTDOWN: acknowledges what arrived, waits at least the delay, reconnects to the alternative", async () => {
  const { client, received, states, conn } = await loggedIn({}, { sessionId: "s" });
  const other = new ScriptedGateway();
  try {
    const port = new URL(await other.url).port;
    conn.send({ ...data(1, "bob", "last") }, { type: 0x20, code: ErrorCode.SERVER_SHUTDOWN, reason: "drain",
      reconnectDelayMs: 40, alternativeEndpoint: `127.0.0.1:${port}` });
    assert.equal((await conn.expect(0x11)).seq, 1);
    const moved = await other.accept();
    const hello = await moved.expect(0x01);
    assert.deepEqual([hello.resumeSessionId, hello.lastReceivedSeq], ["s", 1]);
    const reconnecting = states.find((s) => s.current === "reconnecting")!;
    assert.ok(reconnecting.retryInMs! >= 40, `waited ${reconnecting.retryInMs} ms`);
    assert.equal(received.length, 1);
  } finally {
    await client.close();
    await other.close();
  }
});

const hostile: [string, (c: import("./scripted-gateway.js").ScriptedConnection) => void, number][] = [
  ["a text message", (c) => c.sendRaw("hello"), ErrorCode.PROTOCOL_ERROR],
  ["a frame longer than the client's maximum", (c) => c.sendRaw(new Uint8Array([0x00, 0x10, 0x00, 0x01])), ErrorCode.FRAME_TOO_LARGE],
  ["an unknown frame type", (c) => c.sendRaw(new Uint8Array([0, 0, 0, 1, 0x7e])), ErrorCode.UNKNOWN_FRAME_TYPE],
  ["a sequence gap", (c) => c.send(data(2, "bob", "skipped one")), ErrorCode.SEQUENCE_GAP],
  ["an ACK of a frame never sent", (c) => c.send({ type: 0x11, seq: 5 }), ErrorCode.SEQUENCE_GAP],
  ["a second WELCOME", (c) => c.send(welcome()), ErrorCode.UNEXPECTED_FRAME],
];

for (const [what, misbehave, code] of hostile) {
  test(`a hostile gateway sending ${what} gets ERROR ${code}; the client reconnects and resumes`, async () => {
    const { client, states, conn } = await loggedIn({ maxFrameSize: 1 << 16 }, { sessionId: "s" });
    misbehave(conn);
    const err = await conn.expect(0x21);
    assert.equal(err.code, code, err.message);
    await conn.closedWith;
    const again = await gateway.accept();
    assert.equal((await again.expect(0x01)).resumeSessionId, "s");
    const r = states.find((s) => s.current === "reconnecting")!;
    assert.ok(r.cause instanceof LonglinkError && r.cause.code === code);
  });
}

test("a frame before WELCOME is UNEXPECTED_FRAME", async () => {
  const { client } = await setUp();
  const connected = client.connect();
  connected.catch(() => {}); // awaited below, after the gateway's side
  const conn = await gateway.accept();
  await conn.expect(0x01);
  conn.send(data(1, "bob", "too early"));
  assert.equal((await conn.expect(0x21)).code, ErrorCode.UNEXPECTED_FRAME);
  await assert.rejects(connected, (e: unknown) => e instanceof LonglinkError && e.code === ErrorCode.UNEXPECTED_FRAME);
  assert.equal(client.state, "disconnected"); // the first connect tries each endpoint once
});

test("heartbeat: pings when idle, and declares a silent gateway dead after interval × misses", async () => {
  const { client, states, conn } = await loggedIn({}, { heartbeatIntervalMs: 30, heartbeatMisses: 3 });
  const ping = await conn.next();
  assert.equal(ping.type, 0x03);
  if (ping.type === 0x03) conn.send({ type: 0x04, timestamp: ping.timestamp });
  await until(client, () => client.lastRttMs !== undefined);
  // from now on the gateway answers nothing
  await gateway.accept();
  const dead = states.find((s) => s.current === "reconnecting")!;
  assert.ok(dead.cause instanceof LonglinkError && dead.cause.code === ErrorCode.HEARTBEAT_TIMEOUT);
});

test("REAUTH: a fresh token from the provider goes out as AUTH", async () => {
  let n = 0;
  const { client } = await setUp({ token: () => `t${++n}` });
  const connected = client.connect();
  const conn = await gateway.accept();
  assert.equal((await conn.expect(0x01)).token, "t1");
  conn.send(welcome());
  await connected;
  conn.send({ type: 0x23, expiresInMs: 1000 });
  assert.equal((await conn.expect(0x24)).token, "t2");
  assert.equal(client.stats.tokenRefreshes, 1);
});

test("the outbox is bounded while offline: the send beyond it fails at once", async () => {
  const { client, conn } = await loggedIn({ maxPending: { messages: 2, bytes: 1 << 20 }, retryInitialConnect: true });
  conn.kill();
  await until(client, () => client.state !== "connected");
  const a = client.send({ client: "x" }, "1");
  const b = client.send({ client: "x" }, "2");
  await assert.rejects(client.send({ client: "x" }, "3"), OutboxFullError);
  const again = await gateway.accept();
  await again.expect(0x01);
  again.send(welcome({ sessionStatus: 1 }));
  assert.equal((await again.expect(0x10)).seq, 1);
  assert.equal((await again.expect(0x10)).seq, 2);
  again.send({ type: 0x11, seq: 2 });
  await Promise.all([a, b]);
});

test("a gateway that does not agree on the subprotocol is refused", async () => {
  gateway = new ScriptedGateway({ protocol: false });
  const client = new LonglinkClient({ url: await gateway.url, clientId: "me", WebSocket: WS });
  clients.push(client);
  await assert.rejects(client.connect(), /no subprotocol/);
});

test("bad options are refused with the bad value named", () => {
  assert.throws(() => new LonglinkClient({ url: "http://x", clientId: "me", WebSocket: WS }), /http:\/\/x/);
  assert.throws(() => new LonglinkClient({ url: "ws://x", clientId: "", WebSocket: WS }), /clientId "": 0 UTF-8 bytes/);
  assert.throws(() => new LonglinkClient({ url: "ws://x", clientId: "a\u0001", WebSocket: WS }), /control character/);
  assert.throws(() => new LonglinkClient({ url: [], clientId: "me", WebSocket: WS }), /no endpoint/);
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  delete g.WebSocket;
  try {
    assert.throws(() => new LonglinkClient({ url: "ws://x", clientId: "me" }), /pass options.WebSocket/);
  } finally {
    if (saved !== undefined) g.WebSocket = saved;
  }
});


test("ping() resolves on the PONG with the same timestamp, and fails when the connection ends first", async () => {
  const { client, conn } = await loggedIn();
  const rtt = client.ping();
  const p = await conn.expect(0x03);
  conn.send({ type: 0x04, timestamp: p.timestamp + 1 }, { type: 0x04, timestamp: p.timestamp }); // a stranger first
  assert.ok((await rtt) >= 0);
  const unanswered = client.ping();
  await conn.expect(0x03);
  conn.kill();
  await assert.rejects(unanswered, /connection lost before the PONG/);
});

test("a device logs in with version 3 and its device id, sends to a user and receives user messages", async () => {
  const { client, received } = await setUp({ deviceId: "phone" });
  const connected = client.connect();
  const conn = await gateway.accept();
  const hello = await conn.expect(0x01);
  assert.deepEqual([hello.version, hello.clientId, hello.deviceId], [3, "me", "phone"]);
  conn.send(welcome({ version: 3, heartbeatMinMs: 10_000, heartbeatMaxMs: 300_000 }));
  await connected;
  const sent = client.send({ user: "alice" }, "hi");
  const d = await conn.expect(0x10);
  assert.deepEqual([d.seq, d.targetKind, d.target], [1, 3, "alice"]);
  conn.send({ type: 0x11, seq: 1 });
  await sent;
  conn.send({ ...data(1, "carol", "to my devices", "me"), targetKind: 3 });
  await until(client, () => received.length === 1);
  const got = received[0]!;
  assert.deepEqual([got.targetKind, got.from, got.text()], ["user", "carol", "to my devices"]);
  assert.throws(() => new LonglinkClient({ url: "ws://x", clientId: "me", deviceId: "a\u0007" }), RangeError);
});
