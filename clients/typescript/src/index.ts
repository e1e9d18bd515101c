/**
 * The longlink TypeScript SDK: a client for the longlink gateway over WebSocket, for browsers and
 * Node 20+. Zero runtime dependencies. See docs/SDK-TYPESCRIPT.md.
 */
export { LonglinkClient, SUBPROTOCOL, systemClock, redirectUrl } from "./client.js";
export type {
  ClientOptions, ClientState, Clock, Destination, MessagesDroppedEvent, ReceivedMessage, SessionLostEvent, StateChange,
  TokenProvider, WebSocketConstructor, WebSocketLike,
} from "./client.js";
export { ErrorCode, codeName, LonglinkError, SessionLostError, OutboxFullError, ConnectionError } from "./errors.js";
export type { ErrorCodeName } from "./errors.js";
export { encode, decodeBody, FrameDecoder, FrameType, ProtocolError, SessionStatus } from "./codec.js";
export type { Frame, FrameOf } from "./codec.js";
export { Backoff, Heartbeat, decide } from "./policy.js";
export type { Decision, Loss, ReconnectOptions } from "./policy.js";
