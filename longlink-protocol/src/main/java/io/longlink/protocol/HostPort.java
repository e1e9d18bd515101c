package io.longlink.protocol;

import java.net.InetSocketAddress;

/** The {@code HOST:PORT} form every command takes for an address. */
public final class HostPort {
  private HostPort() {}

  /**
   * @param option the option it came from, named in the error message
   * @throws IllegalArgumentException naming the option and the value when it is not HOST:PORT
   */
  public static InetSocketAddress parse(String hostPort, String option) {
    int i = hostPort.lastIndexOf(':');
    try {
      if (i <= 0) {
        throw new IllegalArgumentException();
      }
      return new InetSocketAddress(hostPort.substring(0, i), Integer.parseInt(hostPort.substring(i + 1)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + ": '" + hostPort + "' (expected: HOST:PORT)");
    }
  }
}
