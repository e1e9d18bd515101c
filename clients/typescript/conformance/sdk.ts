// The conformance cases marked "sdk" in conformance/cases.json, driven through this SDK against a real gateway:
//   node build-test/conformance/sdk.js --ws ws://127.0.0.1:PORT/longlink --admin http://127.0.0.1:PORT --cases FILE
// The gateway must keep sessions for about a second (--session-retention 1s) so that session-lost is quick.
// Prints one line per case and `N passed, M failed` last; exit code 1 if any failed or a case has no implementation here.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import { LonglinkClient, LonglinkError, ErrorCode } from "../src/index.js";
import type { ClientOptions, ReceivedMessage, WebSocketConstructor, WebSocketLike } from "../src/index.js";

const { values: args } = parseArgs({ options: { ws: { type: "string" }, admin: { type: "string" }, cases: { type: "string" } } });
if (!args.ws || !args.admin || !args.cases) throw new Error("usage: sdk.js --ws URL --admin URL --cases cases.json");
const cases: { id: string; sdk?: boolean }[] = JSON.parse(readFileSync(args.cases, "utf8")).cases;

/** A client with a connection the harness can cut, and keep from coming back while `offline`. */
class Harness {
  readonly received: ReceivedMessage[] = [];
  readonly client: LonglinkClient;
  private socket: WebSocket | null = null;
  offline = false;
  private waiters: (() => void)[] = [];

  constructor(readonly id: string, options: Partial<ClientOptions> = {}) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const harness = this;
    class Cuttable extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(harness.offline ? "ws://127.0.0.1:9/offline" : url, protocols);
        harness.socket = this;
      }
    }
    this.client = new LonglinkClient({ url: args.ws!, clientId: id, WebSocket: Cuttable as unknown as WebSocketConstructor,
      backoff: { initialMs: 5, maxMs: 50 }, ...options });
    this.client.on("message", (m) => {
      this.received.push(m);
      this.wake();
    });
    this.client.on("state", () => this.wake());
    this.client.on("sessionLost", () => this.wake());
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once `cond` holds, re-checked at each event of this client; fails after 10 s. */
  async until(what: string, cond: () => boolean): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`${this.id}: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50); // conditions on the gateway side change without an event here
      });
    }
  }

  /** Drops the TCP connection under the WebSocket, as a broken network would. */
  cut(): void {
    (this.socket as unknown as { terminate(): void } | null)?.terminate();
  }

  texts(): string[] {
    return this.received.map((m) => m.text());
  }
}

let n = 0;
const open: Harness[] = [];
function harness(role: string, options: Partial<ClientOptions> = {}): Harness {
  const h = new Harness(`ts-${role}-${process.pid}-${++n}`, options);
  open.push(h);
  return h;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

async function adminGet(path: string): Promise<unknown> {
  const r = await fetch(args.admin + path);
  return r.json();
}

const impl: Record<string, () => Promise<void>> = {
  async login() {
    const a = harness("a");
    await a.client.connect();
    check(a.client.state === "connected", `state ${a.client.state}`);
    const id = a.client.sessionId ?? "";
    check(id.length > 0 && id.length <= 64, `session id ${id}`);
  },
  async "route-to-client"() {
    const alice = harness("alice");
    const bob = harness("bob");
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    await alice.client.send({ client: bob.id }, "hello");
    await bob.until("the message", () => bob.received.length === 1);
    const m = bob.received[0]!;
    check(m.from === alice.id && m.target === bob.id && m.targetKind === "client" && m.text() === "hello" && m.seq === 1,
      `bob got ${JSON.stringify(m)}`);
  },
  async "route-to-topic"() {
    const alice = harness("alice");
    const bob = harness("bob");
    const topic = `ts-topic-${process.pid}-${n}`;
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    await bob.client.subscribe(topic);
    await alice.client.send({ topic }, "news");
    await bob.until("the topic message", () => bob.received.length === 1);
    check(bob.received[0]!.targetKind === "topic" && bob.received[0]!.target === topic && bob.received[0]!.from === alice.id,
      "topic message fields");
    await bob.client.unsubscribe(topic);
    await alice.client.send({ topic }, "after");
    await alice.client.send({ client: bob.id }, "marker");
    await bob.until("the marker", () => bob.received.length >= 2);
    check(JSON.stringify(bob.texts()) === JSON.stringify(["news", "marker"]), `bob got ${bob.texts()}`);
  },
  async "ack-cumulative"() {
    const alice = harness("alice");
    const bob = harness("bob");
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    await Promise.all(["1", "2", "3"].map((t) => alice.client.send({ client: bob.id }, t)));
    await bob.until("three messages", () => bob.received.length === 3);
    check(JSON.stringify(bob.received.map((m) => [m.seq, m.text()])) === '[[1,"1"],[2,"2"],[3,"3"]]', `bob got ${bob.texts()}`);
  },
  async "ping-pong"() {
    const a = harness("a");
    await a.client.connect();
    const rtt = await a.client.ping();
    check(rtt >= 0 && rtt < 5000, `rtt ${rtt}`);
  },
  async "resume-server-replays"() {
    const alice = harness("alice");
    const bob = harness("bob");
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    const session = bob.client.sessionId;
    for (let i = 0; i < 50; i++) await alice.client.send({ client: bob.id }, `m${i}`);
    await bob.until("the first 50", () => bob.received.length === 50);
    bob.offline = true;
    bob.cut();
    await bob.until("bob to notice", () => bob.client.state !== "connected");
    const sends = [];
    for (let i = 50; i < 100; i++) sends.push(alice.client.send({ client: bob.id }, `m${i}`));
    bob.offline = false;
    await bob.until("all 100", () => bob.received.length >= 100);
    await Promise.all(sends);
    check(bob.client.sessionId === session, "the same session resumed");
    check(JSON.stringify(bob.texts()) === JSON.stringify(Array.from({ length: 100 }, (_, i) => `m${i}`)), "exactly once, in order");
  },
  async "resume-client-replays"() {
    const alice = harness("alice");
    const bob = harness("bob");
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    const session = alice.client.sessionId;
    const sends = [];
    for (let i = 0; i < 100; i++) sends.push(alice.client.send({ client: bob.id }, `c${i}`));
    await new Promise((r) => setImmediate(r)); // the frames are written; most acknowledgements are still on their way
    alice.cut();
    await Promise.all(sends);
    await bob.until("all 100", () => bob.received.length >= 100);
    check(alice.client.sessionId === session, "the same session resumed");
    check(JSON.stringify(bob.texts()) === JSON.stringify(Array.from({ length: 100 }, (_, i) => `c${i}`)), "exactly once, in order");
  },
  async "session-lost"() {
    const bob = harness("bob", { backoff: { initialMs: 20, maxMs: 100 } });
    await bob.client.connect();
    const old = bob.client.sessionId;
    const lost: unknown[] = [];
    bob.client.on("sessionLost", (e) => lost.push(e));
    bob.offline = true;
    bob.cut();
    // away until the gateway dropped the session (its retention is short for this suite)
    const gone = async () => {
      const sessions = (await adminGet(`/v1/sessions?clientId=${encodeURIComponent(bob.id)}`)) as { sessions?: unknown[] };
      return (sessions.sessions ?? []).length === 0;
    };
    const deadline = Date.now() + 15_000;
    while (!(await gone())) {
      check(Date.now() < deadline, "the gateway kept the session");
      await new Promise((r) => setTimeout(r, 50));
    }
    bob.offline = false;
    await bob.until("sessionLost and connected", () => lost.length === 1 && bob.client.state === "connected");
    const e = lost[0] as { oldSessionId: string; newSessionId: string };
    check(e.oldSessionId === old && e.newSessionId === bob.client.sessionId && e.newSessionId !== old, JSON.stringify(e));
  },
  async replaced() {
    const first = harness("twice");
    await first.client.connect();
    const second = new Harness(first.id);
    open.push(second);
    let cause: unknown;
    first.client.on("state", (s) => { if (s.current === "disconnected") cause = s.cause; });
    await second.client.connect();
    await first.until("the first to be replaced", () => first.client.state === "disconnected");
    check(cause instanceof LonglinkError && cause.code === ErrorCode.REPLACED, `cause ${String(cause)}`);
    check(second.client.state === "connected", "the second stays");
  },
};

let passed = 0;
let failed = 0;
for (const c of cases.filter((c) => c.sdk)) {
  const run = impl[c.id];
  if (run === undefined) {
    console.log(`FAIL ${c.id}: marked sdk in cases.json but not driven by this SDK's suite`);
    failed++;
    continue;
  }
  const started = Date.now();
  try {
    await run();
    console.log(`ok   ${c.id} (${Date.now() - started} ms)`);
    passed++;
  } catch (e) {
    console.log(`FAIL ${c.id}: ${e instanceof Error ? e.message : String(e)}`);
    failed++;
  } finally {
    await Promise.all(open.splice(0).map((h) => h.client.close()));
  }
}
for (const id of Object.keys(impl)) {
  if (!cases.some((c) => c.id === id && c.sdk)) {
    console.log(`FAIL ${id}: driven here but not a case marked sdk in cases.json`);
    failed++;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
