/*
 * gh_throttle: how long failed sign-ins must wait (SECURITY.md #11, #12).
 *
 * Failures are counted under three keys, each with its own curve:
 *  - account + address: the attacker's own attempts on one account slow down
 *    fast (from the 5th failure, 1 s doubling to 15 min);
 *  - address: one source spraying many accounts (from the 20th failure);
 *  - account: a distributed attack on one account. It never refuses: after
 *    GATEHOUSE_SIGNIN_ACCOUNT_LIMIT (at most 100, NIST SP 800-63B 5.2.2)
 *    consecutive failures from devices the account does not know, the
 *    account is guarded (gh_throttle_guard): a right password from such a
 *    device must also prove the mailbox with an emailed code.
 * A device the account signed in on before (its device cookie) is judged
 * only on its own account + device key, with the account + address curve,
 * so nobody else's failures slow the owner down there.
 * Counts decay after 24 hours without a failure; a success clears the keys
 * it was judged on.
 */
#ifndef GH_THROTTLE_H
#define GH_THROTTLE_H

/* GH_TH_ACCOUNT (30 s after 100 failures) is now only the curve of wrong
 * codes while setting up an authenticator app (gh_factors): sign-in's account
 * key uses gh_throttle_guard, which never refuses. */
typedef enum { GH_TH_ACCOUNT_IP, GH_TH_IP, GH_TH_ACCOUNT } gh_throttle_kind;

enum { GH_THROTTLE_DECAY_MS = 24 * 3600 * 1000 };

/* Seconds to wait after the n-th consecutive failure under a key. */
long long gh_throttle_delay(gh_throttle_kind kind, long long failures);

/* Seconds the account stays guarded after the n-th consecutive failure
 * from unknown devices, with limit failures allowed before (0: not
 * guarded). Each further failure renews it. */
long long gh_throttle_guard(long long failures, long long limit);

#endif
