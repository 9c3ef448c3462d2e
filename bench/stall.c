/* stall: how late this machine wakes a thread that only sleeps. One thread
 * per online CPU, each pinned to its CPU, sleeps 1 ms at a time for S
 * seconds and measures how much later than asked each sleep ends.
 *
 * A late wake-up means nothing on that CPU could have run then: on a VM the
 * vCPU itself stopped (the hypervisor ran something else), or other threads
 * of the same priority held the CPU. Either delays every thread there, the
 * server's and the load generator's alike. The benchmarks run it next to
 * their health probes to tell the server's delays from the machine's. One
 * thread per CPU, because a single sleeper sees only the CPU it happens to
 * run on: a probe can wait behind other processes on the other one.
 *
 *   cc -O2 -pthread bench/stall.c -o stall
 *   ./stall SECONDS LOGFILE
 *
 * LOGFILE gets one line per wake-up that was at least 2 ms late:
 * "<start_us> <end_us> <cpu>", CLOCK_MONOTONIC microseconds from when the
 * sleep should have ended to when it did (the same clock probe.lua uses).
 * Output (one line, key=value, over all CPUs): sleeps max_late_us
 * late_over_5ms late_over_10ms cpus. Exit status 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_US    1000
#define LOG_LATE_US 2000
#define MAX_CPUS    256

struct sleeper {
    int cpu;
    long long end_us;
    pthread_t thread;
    /* results */
    long long sleeps, max_late, over5, over10;
    FILE *log; /* shared; lines are written whole under log_mu */
    int failed;
};

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(s->cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
        s->failed = 1;
        return NULL;
    }
    const struct timespec nap = {0, SLEEP_US * 1000L};
    for (long long t0 = now_us(); t0 < s->end_us; t0 = now_us()) {
        if (nanosleep(&nap, NULL) != 0 && errno != EINTR) {
            s->failed = 1;
            return NULL;
        }
        long long due = t0 + SLEEP_US, woke = now_us(), late = woke - due;
        s->sleeps++;
        if (late > s->max_late)
            s->max_late = late;
        s->over5 += late > 5000;
        s->over10 += late > 10000;
        if (late >= LOG_LATE_US) {
            pthread_mutex_lock(&log_mu);
            fprintf(s->log, "%lld %lld %d\n", due, woke, s->cpu);
            pthread_mutex_unlock(&log_mu);
        }
    }
    return NULL;
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
    cpu_set_t online;
    if (sched_getaffinity(0, sizeof(online), &online) != 0) {
        perror("stall: sched_getaffinity");
        return 1;
    }
    FILE *log = fopen(argv[2], "w");
    if (!log) {
        perror("stall: LOGFILE");
        return 1;
    }
    static struct sleeper s[MAX_CPUS];
    int n = 0;
    long long end = now_us() + (long long)(seconds * 1e6);
    for (int cpu = 0; cpu < MAX_CPUS && cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &online))
            continue;
        s[n] = (struct sleeper){.cpu = cpu, .end_us = end, .log = log};
        if (pthread_create(&s[n].thread, NULL, sleeper_main, &s[n]) != 0) {
            perror("stall: pthread_create");
            return 1;
        }
        n++;
    }
    long long sleeps = 0, max_late = 0, over5 = 0, over10 = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(s[i].thread, NULL);
        failed |= s[i].failed;
        sleeps += s[i].sleeps;
        over5 += s[i].over5;
        over10 += s[i].over10;
        if (s[i].max_late > max_late)
            max_late = s[i].max_late;
    }
    if (fclose(log) != 0 || failed || n == 0) {
        fprintf(stderr, "stall: %s\n", n == 0 ? "no CPU to run on" : "a sleeper or the log failed");
        return 1;
    }
    printf("sleeps=%lld max_late_us=%lld late_over_5ms=%lld late_over_10ms=%lld cpus=%d\n", sleeps,
           max_late, over5, over10, n);
    return 0;
}
