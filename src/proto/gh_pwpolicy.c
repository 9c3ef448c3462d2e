/*
 * gh_pwpolicy: password rules for new passwords (NIST SP 800-63B §5.1.1.2;
 * ASVS 6.2.x; SECURITY.md rows 1-5).
 *
 * Two read-only look-up structures are set up by gh_pwpolicy_init and then
 * shared by every thread without locks:
 *
 * - the common-password list, embedded at build time (share/, gh-embed):
 *   lower-case lines sorted bytewise. An array of line start offsets lets
 *   gh_pwpolicy_check binary-search it without allocating.
 * - the optional Have I Been Pwned "SHA-1, ordered by hash" file, mapped
 *   read-only. Its lines ("40 hex digits:COUNT", LF or CRLF) have no fixed
 *   length, so the search works on byte offsets and moves each probe back to
 *   the start of its line.
 */
#include "gh_pwpolicy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <uninorm.h>

#include "gh_embed.h"
#include "gh_utf8.h"

/* Defined in the file meson generates from share/common-passwords.txt. */
extern const gh_embed_file gh_common_passwords_files[];
extern const size_t gh_common_passwords_count;

#define COMMON_NAME    "common-passwords.txt"
#define BREACHED_ENV   "GATEHOUSE_BREACHED_PASSWORDS_FILE"
#define SERVICE_WORD   "gatehouse"
#define LOCAL_PART_MIN 3    /* shorter local parts are not checked */
#define MAX_LENGTH_CAP 4096 /* largest max_length gh_pwpolicy_init accepts */
#define SHA1_HEX_LEN   40
#define HIBP_MIN_LINE  (SHA1_HEX_LEN + 2) /* hash, ':', at least one digit */
#define MSG_COMMON     "This password is too common; choose another."
#define MSG_BREACHED   "This password has appeared in a data breach; choose another."
#define MSG_EMAIL      "Don't use your email address in your password."
#define MSG_SERVICE    "Don't use the name of this service in your password."
#define MSG_INVALID                                                                                \
    "Use only printable characters; tabs and other control characters aren't allowed."
#define MSG_UNAVAILABLE "Passwords can't be checked right now; try again later."

/* Shared state: written only by init and shutdown, read by checks. */
static struct {
    pthread_mutex_t lock;        /* serialises init and shutdown */
    const unsigned char *common; /* the embedded list */
    size_t common_len;
    uint32_t *common_off; /* start offset of each non-empty line */
    size_t common_n;
    const unsigned char *breached; /* mapped HIBP file or NULL */
    size_t breached_len;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Length messages name the configured number, so they are built per call. */
static _Thread_local char length_msg[64];

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static unsigned char upper(unsigned char c)
{
    return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 'a' + 'A') : c;
}

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the common-password list ---- */

/* Byte-wise comparison of a[0..an) and b[0..bn), as LC_ALL=C sort orders. */
static int bytes_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = m ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn;
}

/* Builds the line index of the embedded list; checks it is strictly sorted. */
static int common_load(char *err, size_t errlen)
{
    const gh_embed_file *f =
        gh_embed_find(gh_common_passwords_files, gh_common_passwords_count, COMMON_NAME);
    if (!f || f->len == 0 || f->len >= UINT32_MAX) {
        set_err(err, errlen, "the embedded common-password list is missing or empty");
        return -1;
    }
    const unsigned char *d = f->data;
    size_t lines = 0;
    for (size_t i = 0; i < f->len; i++)
        lines += d[i] == '\n';
    lines += d[f->len - 1] != '\n'; /* a last line without its '\n' */

    uint32_t *off = malloc(lines * sizeof *off);
    if (!off) {
        set_err(err, errlen, "out of memory loading the common-password list");
        return -1;
    }
    size_t n = 0, start = 0;
    const unsigned char *prev = NULL;
    size_t prev_len = 0;
    while (start < f->len) {
        const unsigned char *nl = memchr(d + start, '\n', f->len - start);
        size_t end = nl ? (size_t)(nl - d) : f->len;
        size_t len = end - start;
        if (len > 0) { /* empty lines are skipped */
            if (prev && bytes_cmp(prev, prev_len, d + start, len) >= 0) {
                free(off);
                set_err(err, errlen,
                        "the embedded common-password list is not sorted bytewise without "
                        "duplicates; regenerate it with tools/make-common-passwords.sh");
                return -1;
            }
            off[n++] = (uint32_t)start;
            prev = d + start;
            prev_len = len;
        }
        start = end + 1;
    }
    st.common = d;
    st.common_len = f->len;
    st.common_off = off;
    st.common_n = n;
    return 0;
}

/* Line i of the list (without its '\n'). */
static const unsigned char *common_line(size_t i, size_t *len)
{
    size_t start = st.common_off[i];
    const unsigned char *s = st.common + start;
    const unsigned char *e = memchr(s, '\n', st.common_len - start);
    *len = e ? (size_t)(e - s) : st.common_len - start;
    return s;
}

/* Compares the ASCII-lower-cased pw with a list entry. */
static int lower_cmp(const char *pw, size_t n, const unsigned char *e, size_t en)
{
    size_t m = n < en ? n : en;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = lower((unsigned char)pw[i]);
        if (c != e[i])
            return c < e[i] ? -1 : 1;
    }
    return n < en ? -1 : n > en;
}

static bool is_common(const char *pw, size_t n)
{
    size_t lo = 0, hi = st.common_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, len;
        const unsigned char *e = common_line(mid, &len);
        int c = lower_cmp(pw, n, e, len);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

/* ---- the breached-password file ---- */

static bool is_hex(unsigned char c)
{
    c = upper(c);
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* True if p[0..n) (one line, no '\n') looks like "HEX40:DIGITS" with an optional '\r'. */
static bool hibp_line_ok(const unsigned char *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n < HIBP_MIN_LINE || p[SHA1_HEX_LEN] != ':')
        return false;
    for (size_t i = 0; i < SHA1_HEX_LEN; i++)
        if (!is_hex(p[i]))
            return false;
    for (size_t i = SHA1_HEX_LEN + 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static int breached_open(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, BREACHED_ENV " (%s): %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0) {
        set_err(err, errlen, BREACHED_ENV " (%s): %s", path,
                "not a regular, non-empty file in the Have I Been Pwned SHA-1 format");
        close(fd);
        return -1;
    }
    size_t len = (size_t)sb.st_size;
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED) {
        set_err(err, errlen, BREACHED_ENV " (%s): mmap: %s", path, strerror(map_errno));
        return -1;
    }
    (void)madvise(m, len, MADV_RANDOM); /* each check touches a few scattered pages */

    /* Check the format on the first and last lines (the file is too big to read all). */
    const unsigned char *d = m;
    const unsigned char *nl = memchr(d, '\n', len);
    size_t first_len = nl ? (size_t)(nl - d) : len;
    size_t end = len;
    while (end > 0 && (d[end - 1] == '\n' || d[end - 1] == '\r'))
        end--;
    size_t last = end;
    while (last > 0 && d[last - 1] != '\n')
        last--;
    if (!hibp_line_ok(d, first_len) || !hibp_line_ok(d + last, end - last)) {
        munmap(m, len);
        set_err(err, errlen, BREACHED_ENV " (%s): %s", path,
                "not in the Have I Been Pwned format (lines of 40 hex digits of SHA-1, ':', "
                "a count, sorted by hash)");
        return -1;
    }
    /* Load OpenSSL's SHA-1 now (the first digest costs milliseconds), and fail early without it. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest("", 0, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
        munmap(m, len);
        set_err(err, errlen, BREACHED_ENV " (%s): %s", path,
                "SHA-1 is not available from OpenSSL (needed to look up passwords)");
        return -1;
    }
    st.breached = d;
    st.breached_len = len;
    return 0;
}

/*
 * Compares the 40 upper-case hex digits in key with the hash at the start of
 * the line at p (at most left bytes before the end of the file). Hex letters
 * in the file may be in either case.
 */
static int hash_cmp(const char *key, const unsigned char *p, size_t left)
{
    for (size_t i = 0; i < SHA1_HEX_LEN; i++) {
        if (i == left || p[i] == '\n')
            return 1; /* a short line sorts before the key */
        unsigned char c = upper(p[i]);
        if ((unsigned char)key[i] != c)
            return (unsigned char)key[i] < c ? -1 : 1;
    }
    return 0;
}

static bool is_breached(const char *pw, size_t n)
{
    static const char hexd[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char key[SHA1_HEX_LEN];
    if (!EVP_Digest(pw, n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return true; /* cannot tell: refuse rather than accept unchecked */
    for (size_t i = 0; i < 20; i++) {
        key[2 * i] = hexd[md[i] >> 4];
        key[2 * i + 1] = hexd[md[i] & 15];
    }

    const unsigned char *d = st.breached;
    size_t size = st.breached_len;
    /* Invariant: lines starting before lo sort before key, lines at or after hi after it. */
    size_t lo = 0, hi = size;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        while (mid > lo && d[mid - 1] != '\n')
            mid--; /* back to the start of the line holding mid */
        const unsigned char *nl = memchr(d + mid, '\n', size - mid);
        size_t next = nl ? (size_t)(nl - d) + 1 : size;
        int c = hash_cmp(key, d + mid, size - mid);
        if (c == 0) {
            /* Found: COUNT follows ':'; only an explicit count of 0 means "not breached". */
            size_t i = mid + SHA1_HEX_LEN;
            if (i < size && d[i] == ':') {
                bool zero = true, digits = false;
                for (i++; i < size && d[i] >= '0' && d[i] <= '9'; i++) {
                    digits = true;
                    zero = zero && d[i] == '0';
                }
                return !(digits && zero);
            }
            return true;
        }
        if (c > 0)
            lo = next;
        else
            hi = mid;
    }
    return false;
}

/* ---- public functions ---- */

static void shutdown_locked(void)
{
    if (st.breached)
        munmap((void *)st.breached, st.breached_len);
    st.breached = NULL;
    st.breached_len = 0;
    free(st.common_off);
    st.common_off = NULL;
    st.common = NULL;
    st.common_len = 0;
    st.common_n = 0;
}

int gh_pwpolicy_init(const gh_pwpolicy *p, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (p && p->min_length != 0 && p->min_length < GH_PWPOLICY_MIN_LENGTH) {
        set_err(err, errlen, "the minimum password length must be at least 8 (NIST SP 800-63B)");
        return -1;
    }
    if (p && p->max_length != 0 && (p->max_length < 64 || p->max_length > MAX_LENGTH_CAP)) {
        set_err(err, errlen, "the maximum password length must be between 64 and 4096");
        return -1;
    }
    if (p && p->min_length > (p->max_length ? p->max_length : GH_PWPOLICY_MAX_LENGTH)) {
        set_err(err, errlen, "the minimum password length is above the maximum");
        return -1;
    }
    if (p && p->min_length_mfa != 0 &&
        (p->min_length_mfa < GH_PWPOLICY_MIN_LENGTH ||
         p->min_length_mfa > (p->min_length ? p->min_length : GH_PWPOLICY_MIN_LENGTH))) {
        set_err(err, errlen,
                "the minimum password length with a second factor must be at least 8 and at "
                "most the minimum without one");
        return -1;
    }
    pthread_mutex_lock(&st.lock);
    shutdown_locked();
    int rc = common_load(err, errlen);
    if (rc == 0 && p && p->breached_file && p->breached_file[0])
        rc = breached_open(p->breached_file, err, errlen);
    if (rc != 0)
        shutdown_locked();
    pthread_mutex_unlock(&st.lock);
    return rc;
}

void gh_pwpolicy_shutdown(void)
{
    pthread_mutex_lock(&st.lock);
    shutdown_locked();
    pthread_mutex_unlock(&st.lock);
}

char *gh_pwpolicy_normalise(gh_arena *a, const char *pw, size_t n, size_t *outlen)
{
    if (outlen)
        *outlen = 0;
    if (!a || !gh_utf8_valid(pw, n))
        return NULL;
    if (n == 0)
        return gh_arena_strndup(a, "", 0);
    size_t len = 0;
    uint8_t *norm = u8_normalize(UNINORM_NFKC, (const uint8_t *)pw, n, NULL, &len);
    if (!norm)
        return NULL;
    char *out = gh_arena_strndup(a, (const char *)norm, len);
    explicit_bzero(norm, len); /* password material outside the arena */
    free(norm);
    if (out && outlen)
        *outlen = len;
    return out;
}

/*
 * True if valid UTF-8 pw[0..n) has a tab or a C1 control (U+0080..U+009F,
 * encoded C2 80..C2 9F); gh_utf8_has_control covers the other C0 and DEL.
 */
static bool has_tab_or_c1(const char *pw, size_t n)
{
    const unsigned char *p = (const unsigned char *)pw;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\t')
            return true;
        if (p[i] == 0xC2 && i + 1 < n && p[i + 1] <= 0x9F)
            return true; /* in valid UTF-8 the byte after C2 is at least 0x80 */
    }
    return false;
}

/* True if the ASCII-lower-cased pw contains the word w (already lower-case). */
static bool contains_lower(const char *pw, size_t n, const char *w, size_t wn)
{
    if (wn == 0 || wn > n)
        return false;
    for (size_t i = 0; i + wn <= n; i++) {
        size_t j = 0;
        while (j < wn && lower((unsigned char)pw[i + j]) == lower((unsigned char)w[j]))
            j++;
        if (j == wn)
            return true;
    }
    return false;
}

static gh_pw_result result(gh_pw_result r, const char *msg, const char **why)
{
    if (why)
        *why = msg;
    return r;
}

gh_pw_result gh_pwpolicy_check(const gh_pwpolicy *p, const char *pw, size_t n, const char *email,
                               const char **why)
{
    /* SECURITY.md #1: never below 8; #2: always accept at least 64. */
    unsigned min = p && p->min_length ? p->min_length : GH_PWPOLICY_MIN_LENGTH;
    unsigned max = p && p->max_length ? p->max_length : GH_PWPOLICY_MAX_LENGTH;
    if (min < GH_PWPOLICY_MIN_LENGTH)
        min = GH_PWPOLICY_MIN_LENGTH;
    if (max < 64)
        max = 64;

    if (!gh_utf8_valid(pw, n) || gh_utf8_has_control(pw, n) || has_tab_or_c1(pw, n))
        return result(GH_PW_INVALID, MSG_INVALID, why);

    size_t cps = gh_utf8_count(pw, n); /* code points, not bytes (#2) */
    if (cps < min) {
        snprintf(length_msg, sizeof length_msg, "Use at least %u characters.", min);
        return result(GH_PW_TOO_SHORT, length_msg, why);
    }
    if (cps > max) {
        snprintf(length_msg, sizeof length_msg, "Use at most %u characters.", max);
        return result(GH_PW_TOO_LONG, length_msg, why);
    }

    if (!st.common_off) /* not initialised: refuse rather than skip the list */
        return result(GH_PW_COMMON, MSG_UNAVAILABLE, why);
    if (is_common(pw, n)) /* #4 */
        return result(GH_PW_COMMON, MSG_COMMON, why);

    if (email) { /* #5: the local part, when it is long enough to mean something */
        const char *at = strrchr(email, '@');
        size_t ln = at ? (size_t)(at - email) : strlen(email);
        if (gh_utf8_count(email, ln) >= LOCAL_PART_MIN && contains_lower(pw, n, email, ln))
            return result(GH_PW_CONTEXT, MSG_EMAIL, why);
    }
    if (contains_lower(pw, n, SERVICE_WORD, sizeof SERVICE_WORD - 1))
        return result(GH_PW_CONTEXT, MSG_SERVICE, why);

    if (st.breached && is_breached(pw, n)) /* #4 */
        return result(GH_PW_BREACHED, MSG_BREACHED, why);

    return result(GH_PW_OK, NULL, why);
}

unsigned gh_pwpolicy_min_for(const gh_pwpolicy *p, bool has_second_factor)
{
    unsigned single =
        p && p->min_length > GH_PWPOLICY_MIN_LENGTH ? p->min_length : GH_PWPOLICY_MIN_LENGTH;
    if (!has_second_factor)
        return single;
    unsigned mfa = p && p->min_length_mfa > GH_PWPOLICY_MIN_LENGTH ? p->min_length_mfa
                                                                   : GH_PWPOLICY_MIN_LENGTH;
    /* a second factor never makes the rule stricter */
    return mfa < single ? mfa : single;
}

gh_pw_result gh_pwpolicy_check_for(const gh_pwpolicy *p, bool has_second_factor, const char *pw,
                                   size_t n, const char *email, const char **why)
{
    gh_pwpolicy q = p ? *p : (gh_pwpolicy){0};
    q.min_length = gh_pwpolicy_min_for(p, has_second_factor);
    return gh_pwpolicy_check(&q, pw, n, email, why);
}

bool gh_pwpolicy_below_minimum(const gh_pwpolicy *p, bool has_second_factor, const char *pw,
                               size_t n)
{
    return gh_utf8_count(pw, n) < gh_pwpolicy_min_for(p, has_second_factor);
}

bool gh_pwpolicy_is_weak(const char *pw, size_t n)
{
    if (!st.common_off || !pw)
        return false;
    return is_common(pw, n) || (st.breached && is_breached(pw, n));
}
