package io.longlink.app.netns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Three network namespaces, client — NAT router — server, joined by veth pairs, with masquerading
 * on the router (../shared/kernel-faults.md). Faults: NAT mapping expiry, silent partition, one-way
 * loss. Addresses are in 198.18.0.0/15; names are unique per lab; {@link #close} deletes it all.
 *
 * <p>Needs root, iproute2 and nftables; installs nftables with apt-get when root and missing.
 * Without root or namespaces the calling test is skipped, with the reason.
 */
public final class NetnsLab implements AutoCloseable {
  public static final String CLIENT_IP = "198.18.1.2";
  public static final String SERVER_IP = "198.19.0.2";
  /** The router's address on the client's side: a host the client reaches without crossing the forward path. */
  public static final String ROUTER_IP = "198.18.1.1";

  public final String client;
  public final String router;
  public final String server;
  private final List<Integer> partitionHandles = new ArrayList<>();

  private NetnsLab(String id) {
    client = "llc" + id;
    router = "llr" + id;
    server = "lls" + id;
  }

  /** Builds the lab, or skips the current test with the reason it cannot. */
  public static NetnsLab create() throws IOException, InterruptedException {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "kernel-level fault tests need root (network namespaces, nftables); running as " + System.getProperty("user.name"));
    Assumptions.assumeTrue(run("ip", "-V").ok(), "kernel-level fault tests need iproute2 ('ip'): apt-get install iproute2");
    ensureNft();
    String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0xffff));
    NetnsLab lab = new NetnsLab(id);
    Result probe = run("ip", "netns", "add", lab.client);
    Assumptions.assumeTrue(probe.ok(), "network namespaces unavailable: " + probe.output);
    try {
      lab.build(id);
    } catch (IOException | RuntimeException e) {
      lab.close();
      throw e;
    }
    return lab;
  }

  private static void ensureNft() throws IOException, InterruptedException {
    String missing = io.longlink.testing.DebianPackages.ensure("nftables", "nft", "--version");
    Assumptions.assumeTrue(missing == null, missing);
  }

  private void build(String id) throws IOException, InterruptedException {
    must("ip", "netns", "add", router);
    must("ip", "netns", "add", server);
    for (String ns : List.of(client, router, server)) {
      must("ip", "-n", ns, "link", "set", "lo", "up");
    }
    String c0 = "v" + id + "c0";
    String r0 = "v" + id + "r0";
    String r1 = "v" + id + "r1";
    String s0 = "v" + id + "s0";
    must("ip", "link", "add", c0, "netns", client, "type", "veth", "peer", "name", r0, "netns", router);
    must("ip", "link", "add", r1, "netns", router, "type", "veth", "peer", "name", s0, "netns", server);
    must("ip", "-n", client, "addr", "add", CLIENT_IP + "/24", "dev", c0);
    must("ip", "-n", client, "link", "set", c0, "up");
    must("ip", "-n", client, "route", "add", "default", "via", "198.18.1.1");
    must("ip", "-n", router, "addr", "add", "198.18.1.1/24", "dev", r0);
    must("ip", "-n", router, "link", "set", r0, "up");
    must("ip", "-n", router, "addr", "add", "198.19.0.1/24", "dev", r1);
    must("ip", "-n", router, "link", "set", r1, "up");
    must("ip", "-n", server, "addr", "add", SERVER_IP + "/24", "dev", s0);
    must("ip", "-n", server, "link", "set", s0, "up");
    must("ip", "-n", server, "route", "add", "default", "via", "198.19.0.1");
    must("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    nft("add", "table", "ip", "nat");
    nft("add", "chain", "ip", "nat", "post", "{ type nat hook postrouting priority 100 ; }");
    nft("add", "rule", "ip", "nat", "post", "oifname", r1, "masquerade");
    nft("add", "table", "ip", "filter");
    // "fwd" is an nft keyword: the chains are named fwdchk / inchk.
    nft("add", "chain", "ip", "filter", "fwdchk", "{ type filter hook forward priority 0 ; }");
    nft("add", "chain", "ip", "filter", "inchk", "{ type filter hook input priority 0 ; }");
  }

  /**
   * Makes the router forget idle TCP flows after {@code seconds}, silently, like a home router:
   * short conntrack timeout, no loose pick-up, packets of forgotten flows dropped.
   */
  public void natExpiry(int seconds) throws IOException, InterruptedException {
    nft("add", "rule", "ip", "filter", "fwdchk", "ct", "state", "invalid", "counter", "drop");
    nft("add", "rule", "ip", "filter", "inchk", "ct", "state", "invalid", "counter", "drop");
    must("ip", "netns", "exec", router, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_timeout_established=" + seconds);
    must("ip", "netns", "exec", router, "sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_loose=0");
  }

  /** Drops every packet between client and server, both ways, until {@link #heal}. */
  public void partition() throws IOException, InterruptedException {
    nft("add", "rule", "ip", "filter", "fwdchk", "ip", "saddr", CLIENT_IP, "drop");
    nft("add", "rule", "ip", "filter", "fwdchk", "ip", "daddr", CLIENT_IP, "drop");
  }

  /** Drops {@code percent} % of the packets from client to server. */
  public void oneWayLoss(int percent) throws IOException, InterruptedException {
    nft("add", "rule", "ip", "filter", "fwdchk", "ip", "saddr", CLIENT_IP, "numgen", "random", "mod", "100", "<",
        String.valueOf(percent), "drop");
  }

  /**
   * Drops every forwarded TCP packet to or from {@code port} on the server, silently (no RST), like a
   * network that blocks the port; until {@link #heal}.
   */
  public void blockPort(int port) throws IOException, InterruptedException {
    nft("add", "rule", "ip", "filter", "fwdchk", "tcp", "dport", String.valueOf(port), "drop");
    nft("add", "rule", "ip", "filter", "fwdchk", "tcp", "sport", String.valueOf(port), "drop");
  }

  /** Removes every drop rule on the forward path (partition, loss, blocked ports). */
  public void heal() throws IOException, InterruptedException {
    nft("flush", "chain", "ip", "filter", "fwdchk");
  }

  /** A command line that runs {@code command} inside namespace {@code ns}. */
  public static List<String> in(String ns, List<String> command) {
    List<String> out = new ArrayList<>(List.of("ip", "netns", "exec", ns));
    out.addAll(command);
    return out;
  }

  private void nft(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", router, "nft"));
    cmd.addAll(List.of(args));
    must(cmd.toArray(new String[0]));
  }

  @Override
  public void close() {
    for (String ns : List.of(client, router, server)) {
      try {
        run("ip", "netns", "del", ns);
      } catch (IOException | InterruptedException e) {
        // best effort: a lab half-built still gets torn down
      }
    }
  }

  record Result(int code, String output) {
    boolean ok() {
      return code == 0;
    }
  }

  private static void must(String... cmd) throws IOException, InterruptedException {
    Result r = run(cmd);
    if (!r.ok()) {
      throw new IOException(String.join(" ", cmd) + " failed (" + r.code + "): " + r.output);
    }
  }

  static Result run(String... cmd) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      return new Result(127, e.getMessage());
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new Result(124, "timed out: " + out);
    }
    return new Result(p.exitValue(), out);
  }
}
