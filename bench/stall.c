/* stall: how late this machine wakes a thread that only sleeps. It sleeps
 * 1 ms at a time for S seconds and measures how much later than asked each
 * sleep ends. On an idle machine, a late wake-up means the machine itself
 * stopped (on a VM: the hypervisor ran something else on this vCPU), which
 * delays every thread, the server's and the load generator's alike. The
 * benchmarks run it next to their health probes to tell the server's delays
 * from the machine's.
 *
 *   cc -O2 bench/stall.c -o stall
 *   ./stall SECONDS LOGFILE
 *
 * LOGFILE gets one line per wake-up that was at least 2 ms late:
 * "<start_us> <end_us>", CLOCK_MONOTONIC microseconds from when the sleep
 * should have ended to when it did (the same clock probe.lua uses).
 * Output (one line, key=value): sleeps max_late_us late_over_5ms
 * late_over_10ms. Exit status 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SLEEP_US    1000
#define LOG_LATE_US 2000

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: stall SECONDS LOGFILE\n");
        return 1;
    }
    double seconds = atof(argv[1]);
    if (seconds <= 0) {
        fprintf(stderr, "stall: SECONDS must be positive\n");
        return 1;
    }
    FILE *log = fopen(argv[2], "w");
    if (!log) {
        perror("stall: LOGFILE");
        return 1;
    }
    long long end = now_us() + (long long)(seconds * 1e6);
    long long sleeps = 0, max_late = 0, over5 = 0, over10 = 0;
    const struct timespec nap = {0, SLEEP_US * 1000L};
    for (long long t0 = now_us(); t0 < end; t0 = now_us()) {
        if (nanosleep(&nap, NULL) != 0 && errno != EINTR) {
            perror("stall: nanosleep");
            return 1;
        }
        long long due = t0 + SLEEP_US, woke = now_us(), late = woke - due;
        sleeps++;
        if (late > max_late)
            max_late = late;
        over5 += late > 5000;
        over10 += late > 10000;
        if (late >= LOG_LATE_US)
            fprintf(log, "%lld %lld\n", due, woke);
    }
    if (fclose(log) != 0) {
        perror("stall: LOGFILE");
        return 1;
    }
    printf("sleeps=%lld max_late_us=%lld late_over_5ms=%lld late_over_10ms=%lld\n", sleeps,
           max_late, over5, over10);
    return 0;
}
