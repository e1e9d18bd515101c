package io.longlink.server.internal.netty;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of the few non-final per-channel fields of Netty's that the gateway clears or shares to make an
 * idle connection smaller ({@link SharedLocalAddresses}, {@link IdleReceiveHandles}, {@link IdleOutboundBuffer},
 * {@link PeerAddresses}, {@link SharedEpollOps}).
 *
 * <p>Not API: {@link #find} returns {@code null} where the field is not there (another Netty version,
 * Netty on the module path), and the callers then leave the channel as Netty made it.
 *
 * @param owner the class declaring the field
 * @param handle access to it; use only on the channel's event loop
 */
record NettyField(Class<?> owner, VarHandle handle) {
  private static final Logger log = LoggerFactory.getLogger(NettyField.class);

  /** {@code owner}'s instance field {@code name}, or {@code null} (logged at debug) if it cannot be reached. */
  static NettyField find(String owner, String name) {
    try {
      Class<?> c = Class.forName(owner, false, NettyField.class.getClassLoader());
      Class<?> type = c.getDeclaredField(name).getType();
      return new NettyField(c, MethodHandles.privateLookupIn(c, MethodHandles.lookup()).findVarHandle(c, name, type));
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      log.debug("{}.{} not reachable; channels keep it as Netty made it: {}", owner, name, e.toString());
      return null;
    }
  }

  /** True if {@code o} has this field. */
  boolean in(Object o) {
    return owner.isInstance(o);
  }

  /**
   * The first of {@code fields} (one per transport, each possibly {@code null}) that {@code o} has,
   * or {@code null}.
   */
  static NettyField firstIn(NettyField[] fields, Object o) {
    for (NettyField f : fields) {
      if (f != null && f.in(o)) {
        return f;
      }
    }
    return null;
  }
}
