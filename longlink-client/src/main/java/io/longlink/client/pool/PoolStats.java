package io.longlink.client.pool;

import java.time.Duration;

/**
 * A pool's state and counters at one moment.
 *
 * @param open objects in existence (idle, borrowed or being created)
 * @param idle objects ready to hand out
 * @param borrowed objects in use
 * @param waiters callers waiting for an object
 * @param acquired successful acquires since the pool started
 * @param timeouts acquires that ran out of time
 * @param rejected acquires refused at once because the wait queue was full
 * @param leaks borrows reported as held past the leak detection threshold
 * @param created objects created
 * @param destroyed objects destroyed (idle timeout, lifetime, broken, surplus, close)
 * @param acquireP50 median time to acquire
 * @param acquireP99 99th percentile time to acquire
 * @param acquireMax longest acquire
 */
public record PoolStats(int open, int idle, int borrowed, int waiters, long acquired, long timeouts, long rejected,
    long leaks, long created, long destroyed, Duration acquireP50, Duration acquireP99, Duration acquireMax) {}
