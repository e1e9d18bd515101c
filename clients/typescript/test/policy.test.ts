import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, Heartbeat, decide } from "../src/policy.js";
import type { Loss, ReconnectOptions } from "../src/policy.js";
import { ErrorCode, LonglinkError } from "../src/errors.js";

const backoff = new Backoff(1000, 60_000);
const on: ReconnectOptions = { reconnect: true, retryInitialConnect: false, maxAttempts: 0, stableAfterMs: 30_000 };
const base: Loss = { cause: new Error("reset"), connectedForMs: 5000, everConnected: true, attempt: 0, triedInRound: 0,
  endpoints: 1, goAwayDelayMs: 0, spentOnAttemptMs: 0 };
const half = () => 0.5;

test("backoff ceilings double up to the cap; jitter is uniform below the ceiling", () => {
  assert.deepEqual([0, 1, 2, 5, 6, 7, 100].map((a) => backoff.ceilingMs(a)), [1000, 2000, 4000, 32000, 60000, 60000, 60000]);
  assert.equal(backoff.delayMs(3, () => 0), 0);
  assert.equal(backoff.delayMs(3, () => 0.999), 7992);
  assert.throws(() => new Backoff(0, 10), RangeError);
  assert.throws(() => new Backoff(10, 5), RangeError);
});

// [what, options, loss, expected decision]
const table: [string, ReconnectOptions, Partial<Loss>, object][] = [
  ["AUTH_FAILED gives up", on, { cause: new LonglinkError(ErrorCode.AUTH_FAILED, "no") }, { action: "give-up" }],
  ["REPLACED gives up", on, { cause: new LonglinkError(ErrorCode.REPLACED, "x") }, { action: "give-up" }],
  ["KICKED gives up", on, { cause: new LonglinkError(ErrorCode.KICKED, "x") }, { action: "give-up" }],
  ["CLOSE NORMAL from the server gives up", on, { cause: new LonglinkError(ErrorCode.NORMAL, "x") }, { action: "give-up" }],
  ["UNSUPPORTED_VERSION gives up", on, { cause: new LonglinkError(ErrorCode.UNSUPPORTED_VERSION, "x") }, { action: "give-up" }],
  ["SERVER_SHUTDOWN backs off at least the GOAWAY delay", on,
    { cause: new LonglinkError(ErrorCode.SERVER_SHUTDOWN, "x"), goAwayDelayMs: 7000 }, { action: "back-off", attempt: 1, delayMs: 7000 }],
  ["a lost connection backs off with jitter", on, {}, { action: "back-off", attempt: 1, delayMs: 500, nextRound: false }],
  ["the third attempt's ceiling is 4 s", on, { attempt: 2, connectedForMs: -1 }, { action: "back-off", attempt: 3, delayMs: 2000, nextRound: true }],
  ["time spent on the failed attempt counts", on, { attempt: 2, connectedForMs: -1, spentOnAttemptMs: 1500 }, { action: "back-off", delayMs: 500 }],
  ["a stable connection starts the count over", on, { attempt: 9, connectedForMs: 30_000 }, { action: "back-off", attempt: 1, delayMs: 500 }],
  ["an attempt that never connected fails over while endpoints remain", on,
    { connectedForMs: -1, endpoints: 3, triedInRound: 1 }, { action: "fail-over" }],
  ["the last endpoint of a round backs off", on, { connectedForMs: -1, endpoints: 3, triedInRound: 2 }, { action: "back-off" }],
  ["first connect without retryInitialConnect: each endpoint once", on,
    { everConnected: false, connectedForMs: -1, endpoints: 2, triedInRound: 0 }, { action: "fail-over" }],
  ["first connect, last endpoint: gives up", on, { everConnected: false, connectedForMs: -1, endpoints: 2, triedInRound: 1 }, { action: "give-up" }],
  ["first connect with retryInitialConnect backs off", { ...on, retryInitialConnect: true },
    { everConnected: false, connectedForMs: -1 }, { action: "back-off" }],
  ["reconnect off gives up", { ...on, reconnect: false }, {}, { action: "give-up" }],
  ["max attempts reached gives up", { ...on, maxAttempts: 3 }, { attempt: 3, connectedForMs: -1 }, { action: "give-up", attempt: 3 }],
  ["below max attempts backs off", { ...on, maxAttempts: 3 }, { attempt: 2, connectedForMs: -1 }, { action: "back-off", attempt: 3 }],
];

for (const [what, options, loss, expected] of table) {
  test(`reconnect policy: ${what}`, () => {
    const d = decide(options, { ...base, ...loss }, backoff, half);
    for (const [k, v] of Object.entries(expected)) assert.equal((d as Record<string, unknown>)[k], v, `${k} of ${JSON.stringify(d)}`);
  });
}

test("heartbeat: ping after an interval without writes, dead after interval × misses without reads", () => {
  const hb = new Heartbeat(1000, 3, 0);
  assert.equal(hb.check(999), "none");
  assert.equal(hb.msUntilNextCheck(0), 1000);
  assert.equal(hb.check(1000), "ping");
  hb.onWrite(1000);
  hb.onRead(1500);
  assert.equal(hb.check(1999), "none");
  assert.equal(hb.msUntilNextCheck(1999), 1);
  hb.onWrite(2000);
  hb.onWrite(3000);
  hb.onWrite(4000);
  assert.equal(hb.check(4499), "none");
  assert.equal(hb.check(4500), "dead");
});
