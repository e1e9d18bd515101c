package io.longlink.server.spi;

/**
 * One node as the cluster sees it.
 *
 * @param id unique per node (default: its client address)
 * @param clientAddress HOST:PORT clients connect to
 * @param adminAddress HOST:PORT of its admin API, or empty
 * @param connections open client connections at the last announcement
 * @param state RUNNING or DRAINING (a stopped node is not listed)
 * @param announcedAtMillis when it last announced itself (its own clock, Unix ms)
 */
public record NodeInfo(String id, String clientAddress, String adminAddress, int connections, String state,
    long announcedAtMillis) {

  /** Taking new clients. */
  public boolean running() {
    return "RUNNING".equals(state);
  }
}
