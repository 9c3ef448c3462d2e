/*
 * libFuzzer target for gh_json. Besides crashes it checks the contract:
 * whatever is accepted is a container no deeper than the limit, error text
 * is always safe to reflect, and gh_json_parse accepts exactly what plain
 * jansson accepts minus invalid UTF-8 and excess depth, which proves the
 * bracket pre-scan neither misses nor invents depth.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_json.h"
#include "gh_utf8.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Container depth of a parsed value (a scalar is 0). jansson caps recursion. */
static int depth_of(json_t *j)
{
    int max = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            int d = depth_of(v);
            max = d > max ? d : max;
        }
        return max + 1;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            int d = depth_of(v);
            max = d > max ? d : max;
        }
        return max + 1;
    }
    return 0;
}

static bool is_safe_text(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7E || c == '"' || c == '\\')
            return false;
    }
    return true;
}

/* jansson's own verdict, with our flags but none of our checks. */
static json_t *plain_load(const uint8_t *data, size_t size)
{
    json_error_t je;
    return json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
}

static void check_one(const uint8_t *data, size_t size, int max_depth, json_t *plain)
{
    json_t *j = (json_t *)&j;
    char err[160];
    int rc = gh_json_parse((const char *)data, size, max_depth, &j, err, sizeof(err));
    CHECK(rc >= GH_JSON_E_EMPTY && rc <= GH_JSON_OK);
    CHECK(is_safe_text(err));

    bool expect_ok = plain && gh_utf8_valid((const char *)data, size) &&
                     depth_of(plain) <= (max_depth > 0 ? max_depth : GH_JSON_DEFAULT_DEPTH);
    CHECK((rc == GH_JSON_OK) == expect_ok);

    if (rc != GH_JSON_OK) {
        CHECK(j == NULL && err[0] != '\0');
        return;
    }
    CHECK(err[0] == '\0');
    CHECK(json_is_object(j) || json_is_array(j));
    CHECK(json_equal(j, plain));

    /* what we accepted, dumped compactly, must be accepted again */
    char *dump = json_dumps(j, JSON_COMPACT);
    CHECK(dump);
    json_t *again = NULL;
    CHECK(gh_json_parse(dump, strlen(dump), max_depth, &again, NULL, 0) == GH_JSON_OK);
    CHECK(json_equal(j, again));
    json_decref(again);
    free(dump);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *plain = plain_load(data, size);
    check_one(data, size, 0, plain);
    check_one(data, size, 1, plain);
    check_one(data, size, 4, plain);
    json_decref(plain);
    return 0;
}
