package io.longlink.cluster.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Natural batching of calls to Redis: an item is sent at once while fewer than {@code maxInFlight}
 * calls are unanswered; otherwise it waits, and the next call to go out carries everything that
 * waited (up to {@code maxBatch} items). A lone message costs no added latency; under load one
 * script call carries many, so Redis runs one script and the node writes and reads one command
 * where it would have done hundreds.
 *
 * <p>Order: batches are formed and handed to {@code send} under one lock, in the order items were
 * added; {@code send} must issue its command before it returns, and Redis runs a connection's
 * commands in the order they were written. Netty writes a command issued on the connection's own
 * thread at once but queues one issued elsewhere, so a call made from an answer's callback is
 * issued only when no other call is unanswered (all earlier ones are then written); items of one
 * batcher thus reach Redis in the order they were added.
 *
 * <p>Each item is answered with the element of the batch's result at its position; a failed call
 * fails every item of its batch with the call's error (the caller cannot know how much of it ran).
 * Results are completed outside the lock.
 *
 * @param <T> what is sent
 * @param <R> what each item is answered with
 */
final class Batcher<T, R> {
  private final int maxBatch;
  private final int maxInFlight;
  private final Function<List<T>, CompletableFuture<List<R>>> send;
  private List<T> items = new ArrayList<>();
  private List<CompletableFuture<R>> answers = new ArrayList<>();
  private int inFlight;

  /**
   * @param send issues one call for a batch (never empty) and completes with one result per item,
   *     in order
   */
  Batcher(int maxBatch, int maxInFlight, Function<List<T>, CompletableFuture<List<R>>> send) {
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch: " + maxBatch + " (expected: >= 1)");
    }
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight: " + maxInFlight + " (expected: >= 1)");
    }
    this.maxBatch = maxBatch;
    this.maxInFlight = maxInFlight;
    this.send = send;
  }

  /** Adds an item; completes with its result once the call that carried it is answered. */
  CompletableFuture<R> add(T item) {
    CompletableFuture<R> answer = new CompletableFuture<>();
    Call call;
    synchronized (this) {
      items.add(item);
      answers.add(answer);
      call = inFlight < maxInFlight ? takeLocked() : null;
    }
    if (call != null) {
      call.whenAnswered();
    }
    return answer;
  }

  /** Items waiting for a call (for tests and metrics). */
  synchronized int waiting() {
    return items.size();
  }

  /** Under the lock: takes the next batch and issues its call. */
  private Call takeLocked() {
    List<T> batch;
    List<CompletableFuture<R>> batchAnswers;
    if (items.size() <= maxBatch) {
      batch = items;
      batchAnswers = answers;
      items = new ArrayList<>();
      answers = new ArrayList<>();
    } else {
      batch = new ArrayList<>(items.subList(0, maxBatch));
      batchAnswers = new ArrayList<>(answers.subList(0, maxBatch));
      items.subList(0, maxBatch).clear();
      answers.subList(0, maxBatch).clear();
    }
    inFlight++;
    CompletableFuture<List<R>> result;
    try {
      result = send.apply(batch);
    } catch (RuntimeException e) {
      result = CompletableFuture.failedFuture(e);
    }
    return new Call(result, batchAnswers);
  }

  private void answered() {
    Call next = null;
    synchronized (this) {
      inFlight--;
      // Sent from here (Lettuce's thread) only once no call is unanswered: a call issued from
      // another thread may still wait in the connection's task queue, and one written from the
      // connection's own thread would overtake it. Otherwise the next add() sends what waits.
      if (inFlight == 0 && !items.isEmpty()) {
        next = takeLocked();
      }
    }
    if (next != null) {
      next.whenAnswered();
    }
  }

  private final class Call {
    final CompletableFuture<List<R>> result;
    final List<CompletableFuture<R>> answers;

    Call(CompletableFuture<List<R>> result, List<CompletableFuture<R>> answers) {
      this.result = result;
      this.answers = answers;
    }

    /** Attached outside the lock: a call answered at once completes its items on this thread. */
    void whenAnswered() {
      result.whenComplete((results, err) -> {
        if (err == null && results.size() != answers.size()) {
          err = new IllegalStateException("batch of " + answers.size() + " answered with " + results.size() + " results");
        }
        for (int i = 0; i < answers.size(); i++) {
          if (err != null) {
            answers.get(i).completeExceptionally(err);
          } else {
            answers.get(i).complete(results.get(i));
          }
        }
        // Only then the next call: its answers cannot overtake this one's.
        answered();
      });
    }
  }
}
