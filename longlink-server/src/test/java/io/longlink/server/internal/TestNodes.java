package io.longlink.server.internal;

import io.longlink.protocol.Ticker;
import io.longlink.server.Authenticator;
import io.longlink.server.MessageHandler;
import io.longlink.server.ServerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.longlink.server.LonglinkServer;

/** Single nodes built the way {@code LonglinkServer.builder()} builds them, for tests that look at their connections. */
final class TestNodes {
  private TestNodes() {}

  static GatewayNode node(ServerConfig config, Authenticator auth) {
    return new GatewayNode(config, auth, io.longlink.server.Authorizer.byCredential(), MessageHandler.routeAll(), null, Ticker.system(), new SimpleMeterRegistry(),
        null, null, "", "", "", null);
  }
}
