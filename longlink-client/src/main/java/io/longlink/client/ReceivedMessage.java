package io.longlink.client;

import io.longlink.protocol.TargetKind;
import java.nio.charset.StandardCharsets;

/**
 * A message the gateway delivered to this client.
 *
 * @param from the sender's client id; empty when the server's backend published it
 * @param targetKind whether it was sent to this client, to a topic, or to this device's user
 * @param target this client's id, the topic, or the user's principal
 * @param seq its server → client sequence number in this session
 * @param payload the bytes as sent; the array is the receiver's to keep
 */
public record ReceivedMessage(String from, TargetKind targetKind, String target, long seq, byte[] payload) {
  /** The payload decoded as UTF-8. */
  public String payloadText() {
    return new String(payload, StandardCharsets.UTF_8);
  }
}
