/** The protocol's error codes (docs/PROTOCOL.md section 7), by name. */
export const ErrorCode = {
  NORMAL: 0,
  PROTOCOL_ERROR: 1,
  UNSUPPORTED_VERSION: 2,
  FRAME_TOO_LARGE: 3,
  UNKNOWN_FRAME_TYPE: 4,
  UNEXPECTED_FRAME: 5,
  SEQUENCE_GAP: 6,
  AUTH_FAILED: 10,
  HANDSHAKE_TIMEOUT: 11,
  RESUME_REFUSED: 12,
  TOKEN_EXPIRED: 13,
  FORBIDDEN: 14,
  HEARTBEAT_TIMEOUT: 20,
  REPLACED: 30,
  SERVER_SHUTDOWN: 31,
  KICKED: 32,
  LIMIT_EXCEEDED: 40,
  SLOW_CONSUMER: 41,
  RATE_LIMITED: 42,
  INTERNAL_ERROR: 50,
  NO_HANDLER: 60,
  REQUEST_FAILED: 61,
  DEADLINE_EXCEEDED: 62,
  UNREACHABLE: 63,
  UNAVAILABLE: 64,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

const NAMES = new Map<number, ErrorCodeName>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name as ErrorCodeName]),
);

/** The name of `code`, or `OTHER(n)` for one this SDK does not know (section 7: not a failure). */
export function codeName(code: number): string {
  return NAMES.get(code) ?? `OTHER(${code})`;
}

/**
 * A failure the gateway (or the protocol) named with a code: an ERROR, GOAWAY, CLOSE or REJECT, or
 * a protocol violation this client detected.
 */
export class LonglinkError extends Error {
  /** The code's name, e.g. `AUTH_FAILED`. */
  readonly codeName: string;

  constructor(readonly code: number, message: string) {
    super(`${codeName(code)}: ${message}`);
    this.name = "LonglinkError";
    this.codeName = codeName(code);
  }
}

/** A send whose session was lost before the gateway acknowledged it: it may or may not have arrived. */
export class SessionLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionLostError";
  }
}

/** A send refused because the outbox already holds its limit of unacknowledged messages or bytes. */
export class OutboxFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutboxFullError";
  }
}

/** The connection broke (or never opened) for a reason that has no protocol code: a socket error or close. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}
