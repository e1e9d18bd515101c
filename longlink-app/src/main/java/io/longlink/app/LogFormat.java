package io.longlink.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import org.slf4j.LoggerFactory;

/** How the process logs: human-readable lines (default) or one JSON object per line. */
enum LogFormat {
  CONSOLE,
  JSON;

  /** Switches logback to this format (the default configuration is CONSOLE). */
  void apply() {
    if (this == CONSOLE || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return;
    }
    ctx.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(ctx);
    try {
      configurator.doConfigure(LogFormat.class.getResource("/logback-json.xml"));
    } catch (JoranException e) {
      throw new IllegalStateException("cannot switch to JSON logs: " + e.getMessage(), e);
    }
  }

  /** Benchmarks open connections by the hundred thousand: no line per connection for them. */
  static void quietLifecycle() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.getLogger("longlink.lifecycle").setLevel(Level.WARN);
    }
  }
}
