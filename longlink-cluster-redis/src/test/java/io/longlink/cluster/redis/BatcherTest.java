package io.longlink.cluster.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * The batching rules against a fake Redis whose calls the test answers by hand: what goes out
 * together, when, and what each item is told.
 */
class BatcherTest {
  /** The calls issued, each with its items; answered by the test. */
  static final class FakeRedis {
    final List<List<Integer>> calls = new ArrayList<>();
    final List<CompletableFuture<List<String>>> answers = new ArrayList<>();

    CompletableFuture<List<String>> send(List<Integer> batch) {
      calls.add(List.copyOf(batch));
      CompletableFuture<List<String>> f = new CompletableFuture<>();
      answers.add(f);
      return f;
    }

    void answer(int call) {
      answers.get(call).complete(calls.get(call).stream().map(i -> "r" + i).toList());
    }
  }

  @Test
  void aLoneItemGoesOutAtOnceAndIsAnsweredWithItsOwnResult() throws Exception {
    FakeRedis redis = new FakeRedis();
    Batcher<Integer, String> b = new Batcher<>(10, 2, redis::send);
    CompletableFuture<String> one = b.add(1);
    assertThat(redis.calls).containsExactly(List.of(1));
    assertThat(one).isNotDone();
    redis.answer(0);
    assertThat(one.get()).isEqualTo("r1");
  }

  @Test
  void itemsWaitWhileTheCallsInFlightAreAtTheLimitThenGoOutTogetherInOrder() throws Exception {
    FakeRedis redis = new FakeRedis();
    Batcher<Integer, String> b = new Batcher<>(10, 2, redis::send);
    List<CompletableFuture<String>> got = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      got.add(b.add(i));
    }
    // Two calls in flight: 3..6 wait; the next add() while one is free takes all that waited.
    assertThat(redis.calls).containsExactly(List.of(1), List.of(2));
    assertThat(b.waiting()).isEqualTo(4);
    redis.answer(0);
    // An answer does not send while another call is unanswered (its thread could overtake it).
    assertThat(redis.calls).hasSize(2);
    got.add(b.add(7));
    assertThat(redis.calls).containsExactly(List.of(1), List.of(2), List.of(3, 4, 5, 6, 7));
    redis.answer(1);
    redis.answer(2);
    List<String> results = new ArrayList<>();
    for (CompletableFuture<String> f : got) {
      results.add(f.get());
    }
    assertThat(results).containsExactly("r1", "r2", "r3", "r4", "r5", "r6", "r7");
  }

  @Test
  void theLastAnswerSendsWhatWaitedInBatchesOfAtMostMaxBatch() {
    FakeRedis redis = new FakeRedis();
    Batcher<Integer, String> b = new Batcher<>(3, 1, redis::send);
    for (int i = 1; i <= 8; i++) {
      b.add(i);
    }
    assertThat(redis.calls).containsExactly(List.of(1));
    redis.answer(0);
    assertThat(redis.calls).containsExactly(List.of(1), List.of(2, 3, 4));
    redis.answer(1);
    redis.answer(2);
    assertThat(redis.calls).containsExactly(List.of(1), List.of(2, 3, 4), List.of(5, 6, 7), List.of(8));
    assertThat(b.waiting()).isZero();
  }

  @Test
  void aFailedCallFailsEveryItemOfItsBatchAndOnlyThose() throws Exception {
    FakeRedis redis = new FakeRedis();
    Batcher<Integer, String> b = new Batcher<>(10, 1, redis::send);
    CompletableFuture<String> first = b.add(1);
    CompletableFuture<String> second = b.add(2);
    CompletableFuture<String> third = b.add(3);
    redis.answers.get(0).completeExceptionally(new IllegalStateException("connection closed"));
    assertThatThrownBy(first::get).isInstanceOf(ExecutionException.class).hasMessageContaining("connection closed");
    assertThat(redis.calls).containsExactly(List.of(1), List.of(2, 3));
    redis.answers.get(1).completeExceptionally(new IllegalStateException("timeout"));
    assertThatThrownBy(second::get).hasMessageContaining("timeout");
    assertThatThrownBy(third::get).hasMessageContaining("timeout");
    CompletableFuture<String> after = b.add(4);
    redis.answer(2);
    assertThat(after.get()).isEqualTo("r4");
  }

  @Test
  void aSendThatThrowsOrAnswersWithTheWrongCountFailsItsItemsAndFreesItsSlot() throws Exception {
    List<List<Integer>> calls = new ArrayList<>();
    Batcher<Integer, String> b = new Batcher<>(10, 1, batch -> {
      calls.add(List.copyOf(batch));
      if (batch.contains(1)) {
        throw new IllegalArgumentException("cannot encode");
      }
      if (batch.contains(3)) {
        return CompletableFuture.completedFuture(List.of("x", "y"));
      }
      return CompletableFuture.completedFuture(batch.stream().map(i -> "r" + i).toList());
    });
    assertThatThrownBy(b.add(1)::get).hasMessageContaining("cannot encode");
    assertThat(b.add(2).get()).isEqualTo("r2");
    assertThatThrownBy(b.add(3)::get).hasMessageContaining("batch of 1 answered with 2 results");
    assertThat(b.add(4).get()).isEqualTo("r4");
    assertThat(calls).containsExactly(List.of(1), List.of(2), List.of(3), List.of(4));
  }

  @Test
  void anItemAnsweredLaterIsNeverAnsweredBeforeAnEarlierCallsItems() {
    FakeRedis redis = new FakeRedis();
    Batcher<Integer, String> b = new Batcher<>(10, 1, redis::send);
    List<String> order = new ArrayList<>();
    b.add(1).thenAccept(order::add);
    b.add(2).thenAccept(order::add);
    redis.answer(0); // answers 1, then issues the call for 2
    redis.answer(1);
    assertThat(order).containsExactly("r1", "r2");
  }

  @Test
  void boundsAreChecked() {
    assertThatThrownBy(() -> new Batcher<Integer, String>(0, 1, x -> null))
        .hasMessage("maxBatch: 0 (expected: >= 1)");
    assertThatThrownBy(() -> new Batcher<Integer, String>(1, 0, x -> null))
        .hasMessage("maxInFlight: 0 (expected: >= 1)");
  }
}
