package io.longlink.server;

import static io.longlink.server.ConfigChecks.check;

import java.util.List;
import java.util.Objects;

/**
 * The WebSocket listener (docs/PROTOCOL.md, "WebSocket"): the same frames and sessions as the TCP
 * port, inside binary WebSocket messages, for browsers and for networks that pass only HTTP(S).
 *
 * @param port the listener's port; {@code -1}: no WebSocket listener (the default of the
 *     embedded server), {@code 0}: any free port
 * @param path the URL path of the upgrade request, e.g. {@code /longlink}
 * @param allowedOrigins the {@code Origin}s a browser may connect from (exact, e.g. {@code
 *     https://chat.example.com}, or {@code *} for any). Empty: any origin while the listener binds
 *     a loopback address, none on any other address (browsers get 403 until the list names their
 *     pages), so that no web page a user opens can talk to the gateway in the user's name. Requests
 *     without an {@code Origin} (native clients) are not browsers and are not checked.
 */
public record WebSocketOptions(int port, String path, List<String> allowedOrigins) {
  /** The subprotocol a client offers in {@code Sec-WebSocket-Protocol}. */
  public static final String SUBPROTOCOL = "longlink.v1";

  public WebSocketOptions {
    Objects.requireNonNull(path, "path");
    allowedOrigins = List.copyOf(allowedOrigins);
    check(port >= -1 && port <= 65535, "port", port, "-1 (off) or 0..65535");
    check(path.startsWith("/") && path.chars().noneMatch(c -> c <= ' ' || c == '?' || c == '#'), "path", path,
        "an absolute URL path such as /longlink, without query or spaces");
    for (String o : allowedOrigins) {
      check(!o.isBlank() && !o.endsWith("/"), "allowedOrigins", o, "scheme://host[:port] without a trailing slash, or *");
    }
  }

  /** No WebSocket listener. */
  public static WebSocketOptions off() {
    return new WebSocketOptions(-1, "/longlink", List.of());
  }

  /** A listener on {@code port} at {@code /longlink}, origins as the record's doc says. */
  public static WebSocketOptions on(int port) {
    return new WebSocketOptions(port, "/longlink", List.of());
  }

  public boolean enabled() {
    return port != -1;
  }

  /** Whether a browser page from {@code origin} may connect, given where the listener binds. */
  public boolean allows(String origin, boolean loopback) {
    if (allowedOrigins.isEmpty()) {
      return loopback;
    }
    return allowedOrigins.contains("*") || allowedOrigins.contains(origin);
  }
}
