#include "gh_resource_meta.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gh_arena.h"
#include "gh_oauth.h"
#include "gh_utf8.h"

enum {
    IDENTIFIER_MAX = 512,
    NAME_MAX_BYTES = 200,
    DESCRIPTION_MAX = 200,
    RESOURCE_SCOPES_MAX = GH_MAX_SCOPES,
    INTROSPECTORS_MAX = 16,
    TTL_MAX_S = GH_RESOURCE_TTL_MAX_S,
};

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* RFC 8707 2: an absolute URI without a fragment. http(s) or urn. */
static bool identifier_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IDENTIFIER_MAX || !printable_ascii(s) || strchr(s, '#'))
        return false;
    if (strncmp(s, "https://", 8) == 0)
        return n > 8 && s[8] != '/';
    if (strncmp(s, "http://", 7) == 0)
        return n > 7 && s[7] != '/';
    return strncmp(s, "urn:", 4) == 0 && n > 4;
}

static bool text_ok(const json_t *v, size_t maxb)
{
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (!s || n == 0 || n > maxb || json_string_length(v) != n || !gh_utf8_valid(s, n))
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static json_t *fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return NULL;
}

json_t *gh_resource_validate(const json_t *in, const char *issuer, char *why, size_t whylen)
{
    static const char *const known[] = {
        "identifier",           "name", "scopes", "access_token_ttl", "access_token_format",
        "introspection_clients"};
    if (!json_is_object(in))
        return fail(why, whylen, "the resource must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        /* read-only members of a view sent back unchanged are ignored */
        if (!ok && strcmp(key, "id") != 0 && strcmp(key, "created_at") != 0 &&
            strcmp(key, "updated_at") != 0)
            return fail(why, whylen, "unknown member \"%.64s\"", key);
    }
    const char *ident = json_string_value(json_object_get(in, "identifier"));
    if (!ident || !identifier_valid(ident))
        return fail(why, whylen,
                    "identifier must be an absolute URI (https://, http:// or urn:) without a "
                    "fragment, at most %d bytes",
                    IDENTIFIER_MAX);
    if (issuer && strcmp(ident, issuer) == 0)
        return fail(why, whylen, "identifier must not be the issuer");
    json_t *name = json_object_get(in, "name");
    if (!text_ok(name, NAME_MAX_BYTES))
        return fail(why, whylen, "name must be text of 1 to %d bytes", NAME_MAX_BYTES);
    json_t *scopes = json_object_get(in, "scopes");
    if (!json_is_object(scopes) || json_object_size(scopes) == 0 ||
        json_object_size(scopes) > RESOURCE_SCOPES_MAX)
        return fail(why, whylen, "scopes must be an object of 1 to %d scope: description members",
                    RESOURCE_SCOPES_MAX);
    json_t *out_scopes = json_object();
    json_object_foreach(scopes, key, v)
    {
        char tmp[GH_MAX_SCOPE_LEN + 1];
        gh_arena *a = gh_arena_new(0);
        const char *norm = a ? gh_scope_normalise(a, key) : NULL;
        bool one = norm && strlen(key) <= GH_MAX_SCOPE_LEN && strcmp(norm, key) == 0 && *key &&
                   !strchr(key, ' ');
        if (one)
            snprintf(tmp, sizeof(tmp), "%s", key);
        gh_arena_free(a);
        if (!one) {
            json_decref(out_scopes);
            return fail(why, whylen, "\"%.64s\" is not a scope token (RFC 6749 3.3)", key);
        }
        if (gh_scope_has(GH_SCOPES_STANDARD, tmp)) {
            json_decref(out_scopes);
            return fail(why, whylen, "\"%s\" is an OpenID Connect scope, not a resource's", tmp);
        }
        if (!text_ok(v, DESCRIPTION_MAX)) {
            json_decref(out_scopes);
            return fail(why, whylen,
                        "scope \"%.64s\" needs a description (text of 1 to %d bytes): "
                        "consent shows it to the user",
                        tmp, DESCRIPTION_MAX);
        }
        json_object_set_new(out_scopes, key, json_string(json_string_value(v)));
    }
    json_t *ttl = json_object_get(in, "access_token_ttl");
    if (ttl && !json_is_null(ttl) &&
        (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
         json_integer_value(ttl) > TTL_MAX_S)) {
        json_decref(out_scopes);
        return fail(why, whylen, "access_token_ttl must be whole seconds from 1 to %d", TTL_MAX_S);
    }
    json_t *fmt = json_object_get(in, "access_token_format");
    if (fmt && !json_is_null(fmt) &&
        (!json_is_string(fmt) || strcmp(json_string_value(fmt), "jwt") != 0)) {
        json_decref(out_scopes);
        return fail(why, whylen, "access_token_format must be \"jwt\" (RFC 9068)");
    }
    json_t *ic = json_object_get(in, "introspection_clients");
    json_t *out_ic = json_array();
    if (ic && !json_is_null(ic)) {
        size_t i;
        json_t *c;
        if (!json_is_array(ic) || json_array_size(ic) > INTROSPECTORS_MAX) {
            json_decref(out_scopes);
            json_decref(out_ic);
            return fail(why, whylen,
                        "introspection_clients must be an array of at most %d client ids",
                        INTROSPECTORS_MAX);
        }
        json_array_foreach(ic, i, c)
        {
            if (!text_ok(c, 128) || !printable_ascii(json_string_value(c))) {
                json_decref(out_scopes);
                json_decref(out_ic);
                return fail(why, whylen, "introspection_clients must hold client ids");
            }
            json_array_append_new(out_ic, json_string(json_string_value(c)));
        }
    }
    return json_pack("{s:s, s:O, s:o, s:I, s:s, s:o}", "identifier", ident, "name", name, "scopes",
                     out_scopes, "access_token_ttl",
                     (json_int_t)(json_is_integer(ttl) ? json_integer_value(ttl) : 0),
                     "access_token_format", "jwt", "introspection_clients", out_ic);
}
