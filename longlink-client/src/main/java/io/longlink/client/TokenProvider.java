package io.longlink.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where a {@link LonglinkClient} gets the token it logs in with: at every connection attempt (a
 * resume after a cut, or after GOAWAY TOKEN_EXPIRED, asks again), and when the gateway asks for a
 * fresh one before the current one expires (REAUTH; the client then sends it without
 * reconnecting). Called on the client's event loop: an implementation that needs I/O (an HTTP call
 * to the application's backend) returns a stage completed later, elsewhere. A failed stage fails
 * that attempt (it is retried like a lost connection) or that refresh (the gateway then ends the
 * connection when the token runs out, and the client reconnects and asks again).
 */
@FunctionalInterface
public interface TokenProvider {
  CompletionStage<String> token();

  /** Always the same token. */
  static TokenProvider fixed(String token) {
    CompletableFuture<String> t = CompletableFuture.completedFuture(token);
    return () -> t;
  }
}
