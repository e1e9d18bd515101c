package io.longlink.cluster.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the store's Lua scripts by digest ({@code EVALSHA}): Redis neither receives a script's text
 * nor hashes it on every call, which was most of what a call cost it.
 *
 * <p>Every script is loaded when the store connects (on every master of a Redis Cluster). A Redis
 * that lost them (restarted, {@code SCRIPT FLUSH}) answers {@code NOSCRIPT}: that call fails like
 * any unavailable store, and the scripts are loaded again for the calls after it; once they are,
 * {@code loaded} tells the store's user it can write again (what failed meanwhile made it think the
 * store away). The failed call is not retried here: a retry would reach Redis after commands
 * issued later, reordering them.
 */
final class LuaScripts {
  private static final Logger log = LoggerFactory.getLogger(LuaScripts.class);

  private final RedisClusterAsyncCommands<String, byte[]> redis;
  /** Script text (the constants of {@link Scripts} and {@link DeviceScripts}, by identity) to digest. */
  private final Map<String, String> digests = new IdentityHashMap<>();
  private final AtomicBoolean reloading = new AtomicBoolean();
  private final Runnable loaded;

  /** @param loaded run when the scripts were loaded again after Redis had lost them */
  LuaScripts(RedisClusterAsyncCommands<String, byte[]> redis, List<String> scripts, Runnable loaded) {
    this.redis = redis;
    this.loaded = loaded;
    for (String s : scripts) {
      digests.put(s, sha1(s));
    }
  }

  static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every Java platform", e);
    }
  }

  /** Loads every script; fails if Redis does not answer within {@code timeout}. */
  void loadAll(Duration timeout) {
    CompletableFuture<?>[] loads = loads();
    try {
      CompletableFuture.allOf(loads).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot load the cluster store's scripts into Redis: " + e, e);
    }
  }

  private CompletableFuture<?>[] loads() {
    return digests.keySet().stream().map(s -> redis.scriptLoad(s.getBytes(StandardCharsets.UTF_8)).toCompletableFuture())
        .toArray(CompletableFuture[]::new);
  }

  /** Runs {@code script}, one of those given at construction. */
  <T> CompletableFuture<T> run(String script, ScriptOutputType type, String[] keys, byte[]... args) {
    String digest = digests.get(script);
    if (digest == null) {
      throw new IllegalArgumentException("script not registered with the store: " + script.lines().findFirst().orElse(""));
    }
    CompletableFuture<T> call = redis.<T>evalsha(digest, type, keys, args).toCompletableFuture();
    // The caller's own handling of this failure runs right after, on this thread, while the
    // reload's answers are still a round trip away: "loaded" comes after it.
    return call.whenComplete((r, err) -> {
      if (err != null && isNoScript(err)) {
        reload();
      }
    });
  }

  private static boolean isNoScript(Throwable err) {
    Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    return e instanceof RedisNoScriptException || String.valueOf(e.getMessage()).startsWith("NOSCRIPT");
  }

  /** One reload at a time: every call failing with NOSCRIPT meanwhile needs the same one. */
  private void reload() {
    if (!reloading.compareAndSet(false, true)) {
      return;
    }
    log.warn("Redis lost the cluster store's scripts (restarted or flushed): loading them again");
    CompletableFuture.allOf(loads()).whenComplete((v, err) -> {
      reloading.set(false);
      if (err != null) {
        log.warn("cannot load the cluster store's scripts into Redis yet: {}", err.toString());
      } else {
        loaded.run();
      }
    });
  }
}
