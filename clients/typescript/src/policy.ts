import { ErrorCode, LonglinkError } from "./errors.js";

/**
 * Reconnect delays: exponential (×2) from `initialMs` up to `maxMs`, with full jitter (uniform in
 * [0, ceiling]) so that clients cut off together do not come back together (PROTOCOL.md 5.4).
 */
export class Backoff {
  constructor(readonly initialMs: number, readonly maxMs: number) {
    if (!(initialMs > 0) || !(maxMs >= initialMs)) {
      throw new RangeError(`backoff ${initialMs} .. ${maxMs} ms (expected: 0 < initial <= max)`);
    }
  }

  /** The ceiling for backed-off attempt `attempt` (0-based): min(max, initial × 2^attempt). */
  ceilingMs(attempt: number): number {
    return attempt >= 52 ? this.maxMs : Math.min(this.maxMs, this.initialMs * 2 ** attempt);
  }

  /** A delay for attempt `attempt`: `random()` (in [0, 1)) scaled to [0, ceiling]. */
  delayMs(attempt: number, random: () => number): number {
    return Math.floor(random() * this.ceilingMs(attempt));
  }
}

/** What the client knows when a connection ends without it asking. */
export interface Loss {
  /** Why it ended; `undefined` when the connection just closed. */
  readonly cause: unknown;
  /** How long it was logged in; -1 if it never got that far. */
  readonly connectedForMs: number;
  /** Some connection of this client ever logged in. */
  readonly everConnected: boolean;
  /** Backed-off attempts since the last stable connection. */
  readonly attempt: number;
  /** Endpoints already failed over from in this round. */
  readonly triedInRound: number;
  readonly endpoints: number;
  /** The least delay a GOAWAY asked for; 0 if none. */
  readonly goAwayDelayMs: number;
  /** How long the attempt that just failed took. */
  readonly spentOnAttemptMs: number;
}

export type Decision =
  | { readonly action: "give-up"; readonly attempt: number; readonly failure: unknown }
  /** The next endpoint of this round, now. */
  | { readonly action: "fail-over"; readonly attempt: number }
  /** Wait `delayMs`, then a new round; `nextRound`: start it at the endpoint after the one that failed. */
  | { readonly action: "back-off"; readonly attempt: number; readonly delayMs: number; readonly nextRound: boolean };

export interface ReconnectOptions {
  readonly reconnect: boolean;
  readonly retryInitialConnect: boolean;
  /** Backed-off attempts before giving up; 0: no limit. */
  readonly maxAttempts: number;
  /** A connection up this long starts the attempt count over. */
  readonly stableAfterMs: number;
}

/**
 * What the client does when a connection ends: the same rules as the Java SDK's ReconnectPolicy,
 * in order:
 * 1. a fatal cause (AUTH_FAILED, UNSUPPORTED_VERSION, REPLACED, KICKED, CLOSE from the server) gives up;
 * 2. before the first login, without `retryInitialConnect`: each endpoint once, then give up;
 * 3. reconnecting off: give up;
 * 4. an attempt that never logged in fails over to the next endpoint of the round at once;
 * 5. after `maxAttempts` backed-off attempts: give up;
 * 6. otherwise back off: full jitter, less what the failed attempt took, at least the GOAWAY delay.
 * Pure: randomness comes in as a function.
 */
export function decide(o: ReconnectOptions, l: Loss, backoff: Backoff, random: () => number): Decision {
  const wasConnected = l.connectedForMs >= 0;
  const attempt = wasConnected && l.connectedForMs >= o.stableAfterMs ? 0 : l.attempt;
  const moreEndpoints = l.triedInRound + 1 < l.endpoints;
  if (isFatal(l.cause)) return { action: "give-up", attempt, failure: l.cause };
  if (!l.everConnected && !o.retryInitialConnect) {
    return moreEndpoints ? { action: "fail-over", attempt } : { action: "give-up", attempt, failure: l.cause };
  }
  if (!o.reconnect) return { action: "give-up", attempt, failure: l.cause };
  if (!wasConnected && moreEndpoints) return { action: "fail-over", attempt };
  if (o.maxAttempts > 0 && attempt >= o.maxAttempts) {
    return { action: "give-up", attempt, failure: new Error(`gave up after ${attempt} reconnect attempts; last failure: ${String(l.cause)}`) };
  }
  let delay = backoff.delayMs(attempt, random);
  if (!wasConnected) delay -= l.spentOnAttemptMs;
  delay = Math.max(delay, l.goAwayDelayMs, 0);
  return { action: "back-off", attempt: attempt + 1, delayMs: delay, nextRound: !wasConnected };
}

/** Errors after which reconnecting cannot help, or would do harm. */
export function isFatal(cause: unknown): boolean {
  if (!(cause instanceof LonglinkError)) return false;
  switch (cause.code) {
    case ErrorCode.AUTH_FAILED:
    case ErrorCode.UNSUPPORTED_VERSION:
    case ErrorCode.REPLACED: // another connection logged in as us: coming back would kick it out
    case ErrorCode.KICKED:
    case ErrorCode.NORMAL: // the server ended the session with CLOSE
      return true;
    default:
      return false;
  }
}

/**
 * Client-side liveness arithmetic (PROTOCOL.md 5.4): when to PING and when the server counts as
 * gone. Pure: callers pass `now` from their clock.
 */
export class Heartbeat {
  private lastRead: number;
  private lastWrite: number;
  readonly deadAfterMs: number;

  constructor(readonly intervalMs: number, misses: number, now: number) {
    this.deadAfterMs = intervalMs * Math.max(1, misses);
    this.lastRead = now;
    this.lastWrite = now;
  }

  onRead(now: number): void {
    this.lastRead = now;
  }

  onWrite(now: number): void {
    this.lastWrite = now;
  }

  check(now: number): "none" | "ping" | "dead" {
    if (now - this.lastRead >= this.deadAfterMs) return "dead";
    if (now - this.lastWrite >= this.intervalMs) return "ping";
    return "none";
  }

  /** Milliseconds until {@link check} may next answer something other than "none" (at least 1). */
  msUntilNextCheck(now: number): number {
    return Math.max(Math.min(this.lastWrite + this.intervalMs - now, this.lastRead + this.deadAfterMs - now), 1);
  }
}
