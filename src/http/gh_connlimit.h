/*
 * gh_connlimit: what one client may hold of the HTTP server's connections.
 *
 * - At most GATEHOUSE_MAX_CONNECTIONS_PER_IP open connections per socket
 *   peer address (IPv6: per /64), refused at accept; trusted proxies
 *   (GATEHOUSE_TRUSTED_PROXIES) are exempt, since every customer arrives
 *   through them.
 * - A deadline for a request line and its headers (GATEHOUSE_HEADER_TIMEOUT),
 *   counted from the connection's start or the end of its previous request,
 *   so a client trickling a byte at a time is cut at the deadline instead of
 *   living on libmicrohttpd's idle timeout, which every byte resets.
 * - A minimum average body rate (GATEHOUSE_MIN_BODY_RATE) once a grace
 *   (GATEHOUSE_BODY_GRACE) has passed.
 *
 * Connections are tracked through libmicrohttpd's connection notifications.
 * A sweep thread checks the deadlines twice a second and cuts a connection
 * with shutdown(2), never close(2): libmicrohttpd then sees the end of the
 * stream, closes the socket itself and runs its usual clean-up. The sweep
 * holds the registry lock while it calls shutdown, and libmicrohttpd
 * reports a connection closed (which takes the same lock) before it closes
 * the descriptor, so the descriptor cannot have been reused by then.
 *
 * Each limit logs a warning when hit, at most one line per limit every
 * 10 s, with the count of the ones not logged. An idle keep-alive
 * connection (it served a request and has not begun the next) is closed at
 * the header deadline without a warning: that is routine, not an attack.
 */
#ifndef GH_CONNLIMIT_H
#define GH_CONNLIMIT_H

#include <microhttpd.h>

#include "gh_config.h"

typedef struct gh_connlimit gh_connlimit;

/* Starts the sweep thread. NULL when out of memory or threads. */
gh_connlimit *gh_connlimit_new(const gh_config *cfg);
/* Stops the sweep thread and frees; call after MHD_stop_daemon. */
void gh_connlimit_free(gh_connlimit *cl);

/* libmicrohttpd callbacks; cls is the gh_connlimit. */
enum MHD_Result gh_connlimit_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void gh_connlimit_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode code);

/* Where a connection's current request is (they do nothing for a
 * connection that is not tracked). */
void gh_connlimit_request_line(struct MHD_Connection *conn);   /* the request line arrived */
void gh_connlimit_headers_done(struct MHD_Connection *conn);   /* the body deadline starts */
void gh_connlimit_body(struct MHD_Connection *conn, size_t n); /* n body bytes arrived */
void gh_connlimit_busy(struct MHD_Connection *conn);           /* handling or responding */
void gh_connlimit_idle(struct MHD_Connection *conn); /* request over: next headers' deadline */

#endif
