/*
 * libFuzzer target for gh_scim_filter.
 *
 * Besides letting the sanitizers watch the parser on arbitrary bytes, it
 * checks properties that unit tests only sample: a failed parse leaves no
 * tree and a NUL-terminated reason; a parsed tree respects the documented
 * bounds, dumps within a fixed budget, and dumps the same after being
 * printed back as filter text and parsed again (so precedence, escapes and
 * valuePaths survive a round trip).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_arena.h"
#include "gh_scim_filter.h"

/* Aborts with the failed condition, so a "crash" names the broken invariant. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Big enough for any dump of a 4 KiB filter: escapes never outgrow their source. */
enum { DUMP_CAP = 32768 };

typedef struct {
    char *buf;
    size_t cap, len;
    bool full;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->full || n >= t->cap - t->len) {
        t->full = true;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void put_s(text *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_json(text *t, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put_s(t, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            put(t, e, 2);
        } else if (*c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 0xF]};
            put(t, e, 6);
        } else {
            put(t, (const char *)c, 1);
        }
    }
    put_s(t, "\"");
}

static int prec(const gh_sf_node *n)
{
    return n->kind == GH_SF_OR ? 1 : n->kind == GH_SF_AND ? 2 : 3;
}

static void emit(text *t, const gh_sf_node *n);

/* Parenthesises a child only where the grammar needs it, so nesting never grows. */
static void emit_child(text *t, const gh_sf_node *n, int min_prec)
{
    bool paren = prec(n) < min_prec;
    if (paren)
        put_s(t, "(");
    emit(t, n);
    if (paren)
        put_s(t, ")");
}

static void emit_value(text *t, const gh_sf_node *n)
{
    static const char *const ops[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};
    put_s(t, n->attr);
    put_s(t, " ");
    put_s(t, ops[n->op]);
    put_s(t, " ");
    if (n->vtype == GH_SF_VSTRING)
        put_json(t, n->value);
    else if (n->vtype == GH_SF_VNUMBER)
        put_s(t, n->value);
    else
        put_s(t, n->vtype == GH_SF_VTRUE ? "true" : n->vtype == GH_SF_VFALSE ? "false" : "null");
}

/* Prints the tree back as SCIM filter text. */
static void emit(text *t, const gh_sf_node *n)
{
    switch (n->kind) {
    case GH_SF_CMP:
        emit_value(t, n);
        break;
    case GH_SF_PRESENT:
        put_s(t, n->attr);
        put_s(t, " pr");
        break;
    case GH_SF_AND:
    case GH_SF_OR:
        emit_child(t, n->left, prec(n));
        put_s(t, n->kind == GH_SF_AND ? " and " : " or ");
        emit_child(t, n->right, prec(n) + 1);
        break;
    case GH_SF_NOT:
        put_s(t, "not (");
        emit(t, n->left);
        put_s(t, ")");
        break;
    case GH_SF_VALUEPATH:
        put_s(t, n->attr);
        put_s(t, "[");
        emit(t, n->left);
        put_s(t, "]");
        if (n->subattr) {
            put_s(t, ".");
            put_s(t, n->subattr);
        }
        break;
    }
}

/* Checks the invariants the header promises; returns the node count. */
static int check_tree(const gh_sf_node *n, bool in_vp)
{
    CHECK(n != NULL);
    switch (n->kind) {
    case GH_SF_CMP:
        CHECK(n->attr && !n->left && !n->right && !n->subattr);
        CHECK((unsigned)n->op <= GH_SF_LE && (unsigned)n->vtype <= GH_SF_VNULL);
        CHECK((n->vtype == GH_SF_VSTRING || n->vtype == GH_SF_VNUMBER) == (n->value != NULL));
        return 1;
    case GH_SF_PRESENT:
        CHECK(n->attr && !n->left && !n->right && !n->value && !n->subattr);
        return 1;
    case GH_SF_AND:
    case GH_SF_OR:
        CHECK(!n->attr);
        return 1 + check_tree(n->left, in_vp) + check_tree(n->right, in_vp);
    case GH_SF_NOT:
        CHECK(!n->attr && !n->right);
        return 1 + check_tree(n->left, in_vp);
    case GH_SF_VALUEPATH:
        /* valuePaths do not nest. */
        CHECK(!in_vp && n->attr && !n->right);
        return 1 + check_tree(n->left, true);
    }
    CHECK(!"unknown node kind");
    return 0;
}

/* Dumps into dump (DUMP_CAP bytes) and checks the size report is exact. */
static void check_dump(const gh_sf_node *n, char *dump)
{
    int len = gh_scim_filter_dump(n, dump, DUMP_CAP);
    CHECK(len > 0 && (size_t)len == strlen(dump));
    /* Exactly len + 1 bytes must fit; one byte less must fail and leave "". */
    char *tight = malloc((size_t)len + 1);
    CHECK(tight != NULL);
    CHECK(gh_scim_filter_dump(n, tight, (size_t)len + 1) == len);
    CHECK(memcmp(tight, dump, (size_t)len + 1) == 0);
    CHECK(gh_scim_filter_dump(n, tight, (size_t)len) == -1 && tight[0] == '\0');
    free(tight);
}

/* Prints the tree as filter text, parses that and expects the same dump. */
static void check_round_trip(const gh_sf_node *n, const char *dump)
{
    static char src[DUMP_CAP], again[DUMP_CAP];
    text t = {.buf = src, .cap = sizeof(src)};
    emit(&t, n);
    CHECK(!t.full);
    /* Dropping optional parentheses can add spaces; too long is not a bug. */
    if (t.len > GH_SF_MAX_INPUT)
        return;
    gh_arena *a = gh_arena_new(1 << 20);
    CHECK(a != NULL);
    gh_sf_node *m = NULL;
    char err[128];
    int rc = gh_scim_filter_parse(a, src, t.len, &m, err, sizeof(err));
    if (rc != GH_SF_OK)
        fprintf(stderr, "re-parse of '%s' failed: %s\n", src, err);
    CHECK(rc == GH_SF_OK);
    CHECK(gh_scim_filter_dump(m, again, sizeof(again)) > 0);
    CHECK(strcmp(dump, again) == 0);
    gh_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dump[DUMP_CAP];
    gh_arena *a = gh_arena_new(1 << 20);
    if (!a)
        return 0;
    gh_sf_node *root = (gh_sf_node *)&root; /* must be overwritten either way */
    char err[128];
    int rc = gh_scim_filter_parse(a, (const char *)data, size, &root, err, sizeof(err));
    if (rc == GH_SF_OK) {
        CHECK(size <= GH_SF_MAX_INPUT && err[0] == '\0');
        CHECK(check_tree(root, false) <= GH_SF_MAX_NODES);
        check_dump(root, dump);
        check_round_trip(root, dump);
    } else {
        CHECK(root == NULL);
        CHECK(rc == GH_SF_E_SYNTAX || rc == GH_SF_E_LIMIT || rc == GH_SF_E_NOMEM);
        /* The reason is reflected to clients: it must be set and terminated. */
        CHECK(err[0] != '\0' && strnlen(err, sizeof(err)) < sizeof(err));
        for (const char *c = err; *c; c++)
            CHECK(*c >= 0x20 && *c < 0x7F);
    }
    gh_arena_free(a);
    return 0;
}
