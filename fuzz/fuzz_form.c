/*
 * libFuzzer target for gh_form: form parsing under default and tight
 * limits, the Cookie parser, and a round trip (re-encode every decoded
 * field with %XX and parse again: the result must be identical).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_arena.h"
#include "gh_form.h"
#include "gh_utf8.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const gh_form_limits tight = {.max_fields = 4, .max_key = 8, .max_value = 16};

static bool known_rc(int rc)
{
    return rc == GH_FORM_OK || rc == GH_FORM_E_SYNTAX || rc == GH_FORM_E_LIMIT ||
           rc == GH_FORM_E_UTF8 || rc == GH_FORM_E_NOMEM;
}

/* Invariants of any successful parse. */
static void check_items(const gh_form *f, size_t max_fields, size_t max_key, size_t max_value)
{
    CHECK(f->n <= max_fields);
    CHECK((f->n == 0) == (f->items == NULL));
    for (size_t i = 0; i < f->n; i++) {
        const gh_kv *kv = &f->items[i];
        CHECK(kv->key && kv->value);
        size_t klen = strlen(kv->key);
        CHECK(klen <= max_key);
        CHECK(kv->value_len == strlen(kv->value) && kv->value_len <= max_value);
        CHECK(gh_utf8_valid(kv->key, klen) && gh_utf8_valid(kv->value, kv->value_len));
        CHECK(gh_form_count(f, kv->key) >= 1);
        /* gh_form_get returns the first field with this key */
        size_t first = 0;
        while (strcmp(f->items[first].key, kv->key) != 0)
            first++;
        CHECK(gh_form_get(f, kv->key) == f->items[first].value);
    }
}

static void check_error(int rc, const gh_form *f)
{
    CHECK(known_rc(rc));
    if (rc != GH_FORM_OK)
        CHECK(f->items == NULL && f->n == 0);
}

/* Appends s[0..n) with every byte escaped as %XX. */
static size_t encode(char *dst, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i * 3] = '%';
        dst[i * 3 + 1] = hex[c >> 4];
        dst[i * 3 + 2] = hex[c & 15];
    }
    return n * 3;
}

/* Re-encodes f fully, parses it again and expects exactly f back. */
static void round_trip(gh_arena *a, const gh_form *f)
{
    size_t cap = 1;
    for (size_t i = 0; i < f->n; i++)
        cap += (strlen(f->items[i].key) + f->items[i].value_len) * 3 + 2;
    char *buf = malloc(cap);
    CHECK(buf);
    size_t len = 0;
    for (size_t i = 0; i < f->n; i++) {
        const gh_kv *kv = &f->items[i];
        if (i)
            buf[len++] = '&';
        len += encode(buf + len, kv->key, strlen(kv->key));
        buf[len++] = '=';
        len += encode(buf + len, kv->value, kv->value_len);
    }
    CHECK(len < cap);

    gh_form g;
    int rc = gh_form_parse(a, buf, len, NULL, &g);
    /* "=" with an empty key and value would be one field again, so n matches */
    CHECK(rc == GH_FORM_OK && g.n == f->n);
    for (size_t i = 0; i < f->n; i++) {
        CHECK(strcmp(g.items[i].key, f->items[i].key) == 0);
        CHECK(g.items[i].value_len == f->items[i].value_len);
        CHECK(memcmp(g.items[i].value, f->items[i].value, f->items[i].value_len) == 0);
    }
    free(buf);
}

static void fuzz_form(gh_arena *a, const char *s, size_t size)
{
    gh_form f, t;
    int rc = gh_form_parse(a, s, size, NULL, &f);
    check_error(rc, &f);
    if (rc == GH_FORM_OK) {
        const gh_form_limits *d = &gh_form_default_limits;
        check_items(&f, d->max_fields, d->max_key, d->max_value);
        round_trip(a, &f);
    }

    int rc_tight = gh_form_parse(a, s, size, &tight, &t);
    check_error(rc_tight, &t);
    if (rc_tight == GH_FORM_OK) {
        check_items(&t, tight.max_fields, tight.max_key, tight.max_value);
        /* tighter limits can only refuse more, never parse differently */
        CHECK(rc == GH_FORM_OK && f.n == t.n);
        for (size_t i = 0; i < t.n; i++) {
            CHECK(strcmp(f.items[i].key, t.items[i].key) == 0);
            CHECK(strcmp(f.items[i].value, t.items[i].value) == 0);
        }
    } else if (rc_tight != GH_FORM_E_LIMIT && rc_tight != GH_FORM_E_NOMEM) {
        /* syntax and encoding errors do not depend on limits */
        CHECK(rc == rc_tight || rc == GH_FORM_E_LIMIT);
    }
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void fuzz_cookie(gh_arena *a, const char *s, size_t size)
{
    /* the header arrives as a C string: stop at the first NUL, as a server would */
    char *header = malloc(size + 1);
    CHECK(header);
    memcpy(header, s, size);
    header[size] = '\0';

    gh_form f;
    int rc = gh_cookie_parse(a, header, &f);
    check_error(rc, &f);
    if (rc == GH_FORM_OK) {
        check_items(&f, GH_COOKIE_MAX, GH_COOKIE_NAME_MAX, GH_COOKIE_VALUE_MAX);
        for (size_t i = 0; i < f.n; i++) {
            const char *k = f.items[i].key;
            size_t klen = strlen(k);
            CHECK(klen > 0 && !is_ows(k[0]) && !is_ows(k[klen - 1]));
            CHECK(!strchr(k, ';') && !strchr(k, '=') && !strchr(f.items[i].value, ';'));
            CHECK(!gh_utf8_has_control(k, klen));
            CHECK(!gh_utf8_has_control(f.items[i].value, f.items[i].value_len));
        }
    }
    free(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gh_arena *a = gh_arena_new(8u << 20);
    if (!a)
        return 0;
    fuzz_form(a, (const char *)data, size);
    fuzz_cookie(a, (const char *)data, size);
    gh_arena_free(a);
    return 0;
}
