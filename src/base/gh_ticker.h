/*
 * gh_ticker: a background thread that takes a turn now and again: after a
 * wait its turn function chooses, sooner when woken, never closer than a
 * minimum gap; stopped and joined on request. The audit sealer, the rate
 * limits' sharing thread and the pruning thread are tickers.
 *
 * The ticker owns its thread and nothing else: what a turn works on
 * belongs to the caller, who keeps it alive until gh_ticker_stop returns.
 */
#ifndef GH_TICKER_H
#define GH_TICKER_H

#include <stdbool.h>

typedef struct gh_ticker gh_ticker;

/* One turn, on the ticker's thread. woken: gh_ticker_wake was called since
 * the previous turn began. Returns the milliseconds to wait before the next
 * turn; a wake ends that wait early, but not before min_gap_ms. */
typedef unsigned (*gh_ticker_fn)(void *arg, bool woken);

/* Starts a ticker whose first turn comes after first_ms (or a wake). name
 * says which thread in the log when it cannot start. NULL when it cannot
 * (logged). */
gh_ticker *gh_ticker_start(const char *name, gh_ticker_fn fn, void *arg, unsigned first_ms,
                           unsigned min_gap_ms);

/* Asks for a turn soon. Safe from any thread and cheap when a wake is
 * already pending (one signal per burst of wakes). NULL: nothing. The
 * caller makes sure t is not stopped meanwhile. */
void gh_ticker_wake(gh_ticker *t);

/* Stops the ticker: a turn under way finishes, no other begins; joins the
 * thread and frees t. NULL: nothing to do. */
void gh_ticker_stop(gh_ticker *t);

#endif
