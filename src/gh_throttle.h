/*
 * gh_throttle: how long failed sign-ins must wait (SECURITY.md #11, #12).
 *
 * Failures are counted under three keys, each with its own curve:
 *  - account + address: the attacker's own attempts on one account slow down
 *    fast (from the 5th failure, 1 s doubling to 15 min);
 *  - address: one source spraying many accounts (from the 20th failure);
 *  - account: a distributed attack on one account; a short fixed delay after
 *    100 consecutive failures (NIST SP 800-63B 5.2.2), never a lock-out, so
 *    someone else's failures cannot keep the owner out for long.
 * Counts decay after 24 hours without a failure; a success clears the
 * account keys.
 */
#ifndef GH_THROTTLE_H
#define GH_THROTTLE_H

typedef enum { GH_TH_ACCOUNT_IP, GH_TH_IP, GH_TH_ACCOUNT } gh_throttle_kind;

enum { GH_THROTTLE_DECAY_MS = 24 * 3600 * 1000 };

/* Seconds to wait after the n-th consecutive failure under a key. */
long long gh_throttle_delay(gh_throttle_kind kind, long long failures);

#endif
