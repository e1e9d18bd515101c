import type { FrameOf } from "./codec.js";

/** A sequenced frame the client sends: DATA, SUBSCRIBE or UNSUBSCRIBE. */
export type Sequenced = FrameOf<0x10> | FrameOf<0x12> | FrameOf<0x13>;

/** One queued frame and whoever waits for its acknowledgement. */
export interface Pending {
  frame: Sequenced;
  readonly size: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  /** A REJECT already failed it: the ACK that covers it must not resolve it too. */
  settled: boolean;
}

/**
 * This client's sequenced frames the gateway has not acknowledged: written, or queued while
 * disconnected. Kept in seq order for replay after a resume; renumbered into a fresh session after
 * a loss. Bounded in frames and bytes.
 */
export class Outbox {
  private items: Pending[] = [];
  private head = 0;
  private bytes = 0;
  private next = 1;
  /** Highest seq written to some connection in this session. */
  private maxWritten = 0;

  constructor(readonly maxMessages: number, readonly maxBytes: number) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /** Highest seq handed out so far (0 if none). */
  get lastSeq(): number {
    return this.next - 1;
  }

  fits(size: number): boolean {
    return this.size < this.maxMessages && this.bytes + size <= this.maxBytes;
  }

  /** Numbers `frame` with the next seq and queues it; the caller checked {@link fits}. */
  add(frame: Sequenced, size: number, resolve: () => void, reject: (e: unknown) => void): Pending {
    frame.seq = this.next++;
    const p: Pending = { frame, size, resolve, reject, settled: false };
    this.items.push(p);
    this.bytes += size;
    return p;
  }

  /** The queued frame numbered `seq`, or undefined. */
  get(seq: number): Pending | undefined {
    const first = this.items[this.head];
    if (first === undefined) return undefined;
    return this.items[this.head + (seq - first.frame.seq)];
  }

  /** Frames after `seq`, in order (what a connection has not been given yet). */
  *after(seq: number): IterableIterator<Pending> {
    for (let i = this.head; i < this.items.length; i++) {
      const p = this.items[i]!;
      if (p.frame.seq > seq) yield p;
    }
  }

  written(seq: number): void {
    if (seq > this.maxWritten) this.maxWritten = seq;
  }

  /** Resolves everything up to `seq`; false if `seq` was never handed out. */
  acknowledged(seq: number): boolean {
    if (seq >= this.next) return false;
    while (this.head < this.items.length && this.items[this.head]!.frame.seq <= seq) {
      const p = this.items[this.head]!;
      this.items[this.head++] = undefined as unknown as Pending;
      this.bytes -= p.size;
      if (!p.settled) p.resolve();
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /**
   * The session was lost: frames that went out are handed to `unconfirmed`; frames never written
   * are renumbered from 1, after `first` (re-subscriptions), into the new session.
   *
   * @returns how many went out unconfirmed
   */
  restartSession(first: Sequenced[], unconfirmed: (p: Pending) => void): number {
    const old = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.next = 1;
    const maxWritten = this.maxWritten;
    this.maxWritten = 0;
    let failed = 0;
    for (const f of first) {
      if (this.fits(64)) this.add(f, 64, () => {}, () => {});
    }
    for (const p of old) {
      if (p.frame.seq <= maxWritten) {
        failed++;
        if (!p.settled) unconfirmed(p);
      } else if (p.settled) {
        // failed already; nothing to send
      } else if (this.fits(p.size)) {
        this.add(p.frame, p.size, p.resolve, p.reject);
      } else {
        unconfirmed(p);
      }
    }
    return failed;
  }

  /** Drops everything, handing each unsettled one to `dropped`. */
  clear(dropped: (p: Pending) => void): void {
    const old = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    for (const p of old) if (!p.settled) dropped(p);
  }
}
