package io.longlink.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.longlink.server.Authenticator;
import io.longlink.server.Authorizer;
import java.net.SocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the application's backend whether a login (or a token refresh) may proceed: a POST of
 * {@code {"clientId", "token", "remote", "tls"}} to a URL, answered with {@code {"allow": true,
 * "principal": "...", "topics": {"subscribe": [...], "publish": [...], "send": [...]}, "expiresAt":
 * "2026-12-07T10:00:00Z"}} or {@code {"allow": false, "reason": "..."}}. The JDK's pooled HTTP
 * client, a deadline per call, and at most {@code maxConcurrent} calls at once. It fails closed:
 * a timeout, an error status, an answer that is not what is described, or too many calls at
 * once refuse the login as UNAVAILABLE with a retry-after, never let anyone in. Thread-safe.
 */
public final class HttpAuthenticator implements Authenticator {
  private static final Logger log = LoggerFactory.getLogger(HttpAuthenticator.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Duration RETRY_AFTER = Duration.ofSeconds(2);

  private final URI url;
  private final Duration timeout;
  private final HttpClient http;
  private final Semaphore permits;
  private final Clock clock;
  private final LongAdder failures = new LongAdder();

  public HttpAuthenticator(URI url, Duration timeout, int maxConcurrent, Clock clock) {
    this.url = Objects.requireNonNull(url, "url");
    if (!url.getScheme().equals("http") && !url.getScheme().equals("https")) {
      throw new IllegalArgumentException("auth url: " + url + " (expected: http:// or https://)");
    }
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    if (maxConcurrent < 1) {
      throw new IllegalArgumentException("maxConcurrent: " + maxConcurrent + " (expected: >= 1)");
    }
    this.permits = new Semaphore(maxConcurrent);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  /** Calls that failed (timeout, error, garbage, overload): each refused a login as UNAVAILABLE. */
  public long failures() {
    return failures.sum();
  }

  @Override
  public AuthResult authenticate(String clientId, String token, SocketAddress remoteAddress) {
    throw new UnsupportedOperationException("asynchronous only: use authenticateAsync");
  }

  @Override
  public CompletionStage<AuthResult> authenticateAsync(String clientId, String token, SocketAddress remote,
      boolean tls) {
    if (!permits.tryAcquire()) {
      return CompletableFuture.completedFuture(unavailable("too many authentication calls in flight"));
    }
    String body = JSON.createObjectNode().put("clientId", clientId).put("token", token)
        .put("remote", String.valueOf(remote)).put("tls", tls).toString();
    HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
        .handle((response, err) -> {
          permits.release();
          if (err != null) {
            return unavailable("auth callout " + url + " failed: " + err);
          }
          if (response.statusCode() != 200) {
            return unavailable("auth callout " + url + " answered HTTP " + response.statusCode());
          }
          try {
            return verdict(clientId, JSON.readTree(response.body()));
          } catch (Exception e) {
            return unavailable("auth callout " + url + " answered garbage: " + e.getMessage());
          }
        });
  }

  private AuthResult unavailable(String why) {
    failures.increment();
    log.warn("{}: refusing the login (fail closed)", why);
    return AuthResult.unavailable(why, RETRY_AFTER);
  }

  private AuthResult verdict(String clientId, JsonNode answer) {
    JsonNode allow = answer.get("allow");
    if (allow == null || !allow.isBoolean()) {
      throw new IllegalArgumentException("no boolean \"allow\"");
    }
    if (!allow.booleanValue()) {
      return AuthResult.reject("backend refused: " + answer.path("reason").asText("no reason given"));
    }
    String principal = answer.path("principal").asText(clientId);
    if (principal.isEmpty()) {
      throw new IllegalArgumentException("empty \"principal\"");
    }
    Duration validFor = null;
    if (answer.hasNonNull("expiresAt")) {
      validFor = Duration.between(clock.instant(), Instant.parse(answer.get("expiresAt").asText()));
      if (validFor.isNegative() || validFor.isZero()) {
        return AuthResult.reject("backend answered an expiresAt in the past: " + answer.get("expiresAt").asText());
      }
    }
    return AuthResult.accept(principal, validFor, permissions(answer.get("topics")));
  }

  private static Authorizer.Permissions permissions(JsonNode topics) {
    if (topics == null || topics.isNull()) {
      return null;
    }
    return TopicGrants.of(patterns(topics.get("subscribe")), patterns(topics.get("publish")),
        patterns(topics.get("send")));
  }

  private static List<String> patterns(JsonNode list) {
    if (list == null || list.isNull()) {
      return null;
    }
    if (!list.isArray()) {
      throw new IllegalArgumentException("topics lists must be arrays of patterns");
    }
    List<String> out = new ArrayList<>();
    list.forEach(n -> out.add(n.asText()));
    return out;
  }
}
