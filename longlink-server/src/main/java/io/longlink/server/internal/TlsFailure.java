package io.longlink.server.internal;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.security.cert.CertificateException;
import java.util.Locale;
import javax.net.ssl.SSLHandshakeException;

/** Why a TLS handshake failed, as counted by {@code longlink_tls_handshake_failures_total{reason}}. */
public enum TlsFailure {
  /** The first bytes were not a TLS record: a plaintext client (or something else) on the TLS port. */
  NOT_TLS,
  /** The handshake did not finish within the handshake timeout (a stalled or very slow peer). */
  TIMEOUT,
  /** The client's certificate was missing, expired, or not issued by a trusted authority (mutual TLS). */
  BAD_CERTIFICATE,
  /** The peer closed the connection during the handshake (often: it did not trust our certificate). */
  ABORTED,
  /** Anything else: no common protocol version or cipher, a malformed handshake message. */
  PROTOCOL;

  /** The reason behind {@code cause}, a failure of the handshake. */
  static TlsFailure of(Throwable cause) {
    Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (c instanceof NotSslRecordException) {
      return NOT_TLS;
    }
    if (c instanceof SslHandshakeTimeoutException) {
      return TIMEOUT;
    }
    if (c instanceof ClosedChannelException) {
      return ABORTED;
    }
    for (Throwable t = c; t != null; t = t.getCause()) {
      if (t instanceof CertificateException) {
        return BAD_CERTIFICATE;
      }
      String m = t.getMessage() == null ? "" : t.getMessage().toLowerCase(Locale.ROOT);
      if (t instanceof SSLHandshakeException && (m.contains("certificate") || m.contains("peer_did_not_return"))) {
        return BAD_CERTIFICATE;
      }
      if (m.contains("connection reset") || m.contains("closed")) {
        return ABORTED;
      }
    }
    return PROTOCOL;
  }

  /** The Prometheus label value. */
  String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
