/*
 * gh_clock: the clocks, read in one place.
 *
 * Wall-clock milliseconds for what is stored or sent (expiry times, token
 * claims, audit timestamps), a monotonic clock for durations and deadlines
 * (which must not jump when the system time is set), and the RFC 3339 text
 * of a wall-clock time.
 */
#ifndef GH_CLOCK_H
#define GH_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch (wall clock) and a monotonic clock. */
int64_t gh_now_ms(void);
int64_t gh_mono_ms(void);
/* RFC 3339 UTC time with milliseconds, e.g. 2026-11-23T18:00:00.123Z (25 bytes). */
void gh_rfc3339(int64_t ms, char out[32]);

#endif
