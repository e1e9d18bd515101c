package io.longlink.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.longlink.protocol.ErrorCode;
import io.longlink.client.ReconnectPolicy.Action;
import io.longlink.client.ReconnectPolicy.Decision;
import io.longlink.client.ReconnectPolicy.Loss;
import java.io.IOException;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The reconnect decision as a table: what the client knows when a connection ends, and what it does. */
class ReconnectPolicyTest {
  static final long S = 1_000_000_000L;
  /** Backoff 1 s .. 8 s, stable after 30 s, at most 5 attempts, jitter always halfway. */
  static final Backoff BACKOFF = new Backoff(S, 8 * S);
  static final Random HALF = new Random() {
    @Override
    public double nextDouble() {
      return 0.5;
    }
  };
  static final ReconnectPolicy POLICY = new ReconnectPolicy(true, false, 5, 30 * S, HALF);
  static final ReconnectPolicy RETRY_FIRST = new ReconnectPolicy(true, true, 0, 30 * S, HALF);
  static final ReconnectPolicy NO_RECONNECT = new ReconnectPolicy(false, true, 0, 30 * S, HALF);

  static final IOException RESET = new IOException("connection reset");
  static final LonglinkException SHUTDOWN = new LonglinkException(ErrorCode.SERVER_SHUTDOWN, "GOAWAY: node draining");

  /** One row: the case, the policy, the loss; the action, the attempt count after it, the delay, whether the round moves on. */
  record Row(String why, ReconnectPolicy policy, Loss loss, Action action, int attempt, long delayNanos,
      boolean nextRound) {}

  /** cause, connected for, ever connected, attempt, tried in round, endpoints, GOAWAY delay, spent on the attempt. */
  static Loss loss(Throwable cause, long connectedFor, boolean ever, int attempt, int tried, int endpoints,
      long goAway, long spent) {
    return new Loss(cause, connectedFor, ever, attempt, tried, endpoints, goAway, spent);
  }

  static final List<Row> TABLE = List.of(
      new Row("auth failed: never comes back", POLICY,
          loss(new LonglinkException(ErrorCode.AUTH_FAILED, "bad token"), 5 * S, true, 0, 0, 1, 0, 0),
          Action.GIVE_UP, 0, 0, false),
      new Row("replaced: coming back would kick the other connection", POLICY,
          loss(new LonglinkException(ErrorCode.REPLACED, "x"), 5 * S, true, 2, 0, 1, 0, 0), Action.GIVE_UP, 2, 0, false),
      new Row("kicked", RETRY_FIRST, loss(new LonglinkException(ErrorCode.KICKED, "x"), 5 * S, true, 0, 0, 1, 0, 0),
          Action.GIVE_UP, 0, 0, false),
      new Row("the server closed the session", POLICY,
          loss(new LonglinkException(ErrorCode.NORMAL, "bye"), 5 * S, true, 0, 0, 1, 0, 0), Action.GIVE_UP, 0, 0, false),
      new Row("first connect: next endpoint at once", POLICY, loss(RESET, -1, false, 0, 0, 3, 0, S),
          Action.FAIL_OVER, 0, 0, false),
      new Row("first connect: every endpoint tried once, give up", POLICY, loss(RESET, -1, false, 0, 2, 3, 0, S),
          Action.GIVE_UP, 0, 0, false),
      new Row("first connect retried: backs off after the round, less the time spent", RETRY_FIRST,
          loss(RESET, -1, false, 0, 0, 1, 0, S / 4), Action.BACK_OFF, 1, S / 2 - S / 4, true),
      new Row("reconnecting off", NO_RECONNECT, loss(RESET, 60 * S, true, 0, 0, 2, 0, 0), Action.GIVE_UP, 0, 0, false),
      new Row("a reconnect attempt that never connected fails over", POLICY, loss(RESET, -1, true, 1, 0, 2, 0, S),
          Action.FAIL_OVER, 1, 0, false),
      new Row("a round failed: backs off, next round further on", POLICY, loss(RESET, -1, true, 1, 1, 2, 0, 0),
          Action.BACK_OFF, 2, S, true),
      new Row("lost after a short connection: backoff grows", POLICY, loss(RESET, 2 * S, true, 2, 0, 1, 0, 0),
          Action.BACK_OFF, 3, 2 * S, false),
      new Row("lost after a stable connection: backoff starts over", POLICY, loss(RESET, 31 * S, true, 4, 0, 1, 0, 0),
          Action.BACK_OFF, 1, S / 2, false),
      new Row("backoff capped at its max", RETRY_FIRST, loss(RESET, S, true, 40, 0, 1, 0, 0),
          Action.BACK_OFF, 41, 4 * S, false),
      new Row("GOAWAY asks for longer than the backoff: its delay", POLICY, loss(SHUTDOWN, 40 * S, true, 0, 0, 1, 7 * S, 0),
          Action.BACK_OFF, 1, 7 * S, false),
      new Row("GOAWAY asks for less than the backoff: the backoff", POLICY, loss(SHUTDOWN, 2 * S, true, 3, 0, 1, S / 10, 0),
          Action.BACK_OFF, 4, 4 * S, false),
      new Row("a failed attempt took longer than the backoff: at once", POLICY, loss(RESET, -1, true, 0, 0, 1, 0, 9 * S),
          Action.BACK_OFF, 1, 0, true),
      new Row("max attempts reached", POLICY, loss(RESET, -1, true, 5, 0, 1, 0, 0), Action.GIVE_UP, 5, 0, false));

  @Test
  void decidesEveryRowOfTheTable() {
    for (Row row : TABLE) {
      Decision d = row.policy().decide(row.loss(), BACKOFF);
      assertThat(d.action()).as(row.why()).isEqualTo(row.action());
      assertThat(d.attempt()).as(row.why() + ": attempt").isEqualTo(row.attempt());
      assertThat(d.delayNanos()).as(row.why() + ": delay").isEqualTo(row.delayNanos());
      assertThat(d.nextRound()).as(row.why() + ": next round").isEqualTo(row.nextRound());
      if (d.action() == Action.GIVE_UP) {
        assertThat(d.failure()).as(row.why() + ": failure").isNotNull();
      } else {
        assertThat(d.failure()).as(row.why()).isNull();
      }
    }
  }

  @Test
  void givingUpAfterMaxAttemptsSaysHowManyAndWhy() {
    Decision d = POLICY.decide(loss(RESET, -1, true, 5, 0, 1, 0, 0), BACKOFF);
    assertThat(d.failure()).isInstanceOf(TimeoutException.class)
        .hasMessage("gave up after 5 reconnect attempts; last failure: java.io.IOException: connection reset");
  }

  @Test
  void aFatalCauseIsWhatTheClientFailsWith() {
    LonglinkException auth = new LonglinkException(ErrorCode.AUTH_FAILED, "bad token");
    assertThat(POLICY.decide(loss(auth, -1, false, 0, 0, 3, 0, 0), BACKOFF).failure()).isSameAs(auth);
  }
}
