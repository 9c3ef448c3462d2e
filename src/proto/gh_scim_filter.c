/*
 * gh_scim_filter: SCIM filter text to AST, and AST to canonical text.
 *
 * The parser pulls one token at a time from a small lexer and descends
 * through or -> and -> unary, so precedence falls out of the call structure.
 * The only recursion is through parenthesised groups, "not (...)" and
 * valuePath brackets, each of which goes through enter_group() and its depth
 * counter; "and"/"or" chains are loops, so their length costs no stack.
 */
#include "gh_scim_filter.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef enum {
    T_EOF,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_WORD,   /* run of attribute-path characters: names, operators, keywords */
    T_STRING, /* JSON string including its quotes, not yet decoded */
    T_NUMBER, /* JSON number */
} tok_type;

typedef struct {
    tok_type type;
    size_t start, end; /* byte offsets [start, end) into the input */
    bool space_before; /* whitespace separated it from the previous token */
} token;

typedef struct {
    gh_arena *a;
    const char *s;
    size_t len;
    size_t pos; /* lexer position: first byte after tok */
    token tok;  /* the one token of lookahead */
    int depth;  /* groups currently open */
    int nodes;  /* nodes allocated so far */
    bool in_valpath;
    char *err;
    size_t errlen;
} parser;

/* ---- errors ---- */

static int fail(parser *p, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the reason and returns code, so callers can write `return fail(...)`. */
static int fail(parser *p, int code, const char *fmt, ...)
{
    if (p->err && p->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->err, p->errlen, fmt, ap);
        va_end(ap);
        if (n < 0)
            p->err[0] = '\0';
    }
    return code;
}

static int fail_nomem(parser *p)
{
    return fail(p, GH_SF_E_NOMEM, "out of memory");
}

/* The current token is not what the grammar allows here. */
static int fail_unexpected(parser *p)
{
    if (p->tok.type == T_EOF)
        return fail(p, GH_SF_E_SYNTAX, "unexpected end of filter at offset %zu", p->tok.start);
    return fail(p, GH_SF_E_SYNTAX, "unexpected token at offset %zu", p->tok.start);
}

/* ---- character classes (ASCII only: locale must not change the grammar) ---- */

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

/* Characters that may appear in a T_WORD: names, URNs, '.', "$ref". */
static bool is_word_char(unsigned char c)
{
    return is_name_char(c) || c == '.' || c == ':' || c == '$';
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Case-insensitive match of s[0..n) against the lowercase word kw. */
static bool ascii_ieq(const char *s, size_t n, const char *kw)
{
    size_t k = strlen(kw);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower((unsigned char)s[i]) != (unsigned char)kw[i])
            return false;
    }
    return true;
}

/* ---- lexer ---- */

/* Finds the closing quote of the string opening at start; decoding comes later. */
static int lex_string(parser *p, size_t start, size_t *end)
{
    size_t i = start + 1;
    while (i < p->len) {
        char c = p->s[i];
        if (c == '"') {
            *end = i + 1;
            return GH_SF_OK;
        }
        /* Skip the escaped character so an escaped quote does not end the string. */
        i += (c == '\\') ? 2 : 1;
    }
    return fail(p, GH_SF_E_SYNTAX, "unterminated string at offset %zu", start);
}

static size_t skip_digits(const char *s, size_t i, size_t len)
{
    while (i < len && is_digit((unsigned char)s[i]))
        i++;
    return i;
}

/* JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; returns its end or 0. */
static size_t number_end(const char *s, size_t i, size_t len)
{
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !is_digit((unsigned char)s[i]))
        return 0;
    i = (s[i] == '0') ? i + 1 : skip_digits(s, i, len);
    if (i < len && s[i] == '.') {
        size_t j = skip_digits(s, i + 1, len);
        if (j == i + 1)
            return 0;
        i = j;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t j = skip_digits(s, i, len);
        if (j == i)
            return 0;
        i = j;
    }
    return i;
}

static int lex_number(parser *p, size_t start, size_t *end)
{
    size_t e = number_end(p->s, start, p->len);
    /* "01", "1.2.3", "1x", "1\"": JSON would reject these, so do we. */
    if (e == 0 || (e < p->len && (is_word_char((unsigned char)p->s[e]) || p->s[e] == '"')))
        return fail(p, GH_SF_E_SYNTAX, "invalid number at offset %zu", start);
    *end = e;
    return GH_SF_OK;
}

static bool self_delimiting(tok_type t)
{
    return t != T_WORD && t != T_STRING && t != T_NUMBER;
}

/* Lexes the token at i (not whitespace, not end of input) into t. */
static int lex_one(parser *p, size_t i, token *t)
{
    unsigned char c = (unsigned char)p->s[i];
    t->end = i + 1;
    switch (c) {
    case '(':
        t->type = T_LPAREN;
        return GH_SF_OK;
    case ')':
        t->type = T_RPAREN;
        return GH_SF_OK;
    case '[':
        t->type = T_LBRACK;
        return GH_SF_OK;
    case ']':
        t->type = T_RBRACK;
        return GH_SF_OK;
    case '"':
        t->type = T_STRING;
        return lex_string(p, i, &t->end);
    default:
        break;
    }
    if (c == '-' || is_digit(c)) {
        t->type = T_NUMBER;
        return lex_number(p, i, &t->end);
    }
    if (is_word_char(c)) {
        size_t e = i;
        while (e < p->len && is_word_char((unsigned char)p->s[e]))
            e++;
        t->type = T_WORD;
        t->end = e;
        return GH_SF_OK;
    }
    return fail(p, GH_SF_E_SYNTAX, "unexpected character at offset %zu", i);
}

/* Replaces the lookahead token with the next one. */
static int advance(parser *p)
{
    size_t i = p->pos;
    while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t'))
        i++;
    token t = {.type = T_EOF, .start = i, .end = i, .space_before = i > p->pos};
    if (i < p->len) {
        int rc = lex_one(p, i, &t);
        if (rc != GH_SF_OK)
            return rc;
    }
    /* Words, numbers and strings must be spaced apart, as in the RFC's ABNF. */
    if (!t.space_before && !self_delimiting(p->tok.type) && !self_delimiting(t.type))
        return fail(p, GH_SF_E_SYNTAX, "missing space at offset %zu", i);
    p->tok = t;
    p->pos = t.end;
    return GH_SF_OK;
}

static bool tok_is(const parser *p, const char *kw)
{
    return p->tok.type == T_WORD && ascii_ieq(p->s + p->tok.start, p->tok.end - p->tok.start, kw);
}

/* ---- attribute paths ---- */

/* Length of the ATTRNAME (or "$ref") at the start of s[0..n), 0 if none. */
static size_t attrname_len(const char *s, size_t n)
{
    if (n >= 4 && ascii_ieq(s, 4, "$ref"))
        return 4;
    if (n == 0 || !is_alpha((unsigned char)s[0]))
        return 0;
    size_t i = 1;
    while (i < n && is_name_char((unsigned char)s[i]))
        i++;
    return i;
}

/* ATTRNAME *("." ATTRNAME), filling all of s[0..n). */
static bool valid_name_list(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t k = attrname_len(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
        if (i == n)
            return true;
        if (s[i] != '.')
            return false;
        i++;
    }
}

/* A schema URN prefix including its final ':', e.g. "urn:ietf:params:scim:schemas:core:2.0:User:".
 */
static bool valid_urn(const char *s, size_t n)
{
    /* The shortest sensible prefix is "urn:x:". */
    if (n < 6 || !ascii_ieq(s, 4, "urn:"))
        return false;
    for (size_t i = 4; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_name_char(c) && c != '.' && c != ':')
            return false;
        if (c == ':' && s[i - 1] == ':')
            return false;
    }
    return true;
}

static bool valid_attr_path(const char *s, size_t n)
{
    /* The attribute name starts after the URN's last ':' (the URN itself holds dots: "2.0"). */
    size_t name = n;
    while (name > 0 && s[name - 1] != ':')
        name--;
    if (name > 0 && !valid_urn(s, name))
        return false;
    return valid_name_list(s + name, n - name);
}

/* ---- string values ---- */

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629), 0 if malformed. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t k;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        lo = (c == 0xE0) ? 0xA0 : lo; /* overlong */
        hi = (c == 0xED) ? 0x9F : hi; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        lo = (c == 0xF0) ? 0x90 : lo; /* overlong */
        hi = (c == 0xF4) ? 0x8F : hi; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    return k;
}

static size_t utf8_put(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Four hex digits at s[i..i+4), which must lie before stop; false if not. */
static bool hex4(const char *s, size_t i, size_t stop, uint32_t *out)
{
    if (stop < 4 || i > stop - 4)
        return false;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = (unsigned char)s[i + k];
        uint32_t d;
        if (is_digit(c))
            d = c - '0';
        else if (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f')
            d = (uint32_t)(ascii_lower(c) - 'a' + 10);
        else
            return false;
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

/* Decodes the \uXXXX escape (and its low surrogate, if any) at i into a code point. */
static int decode_u_escape(parser *p, size_t i, size_t stop, uint32_t *cp, size_t *used)
{
    uint32_t hi = 0, lo = 0;
    if (!hex4(p->s, i + 2, stop, &hi))
        return fail(p, GH_SF_E_SYNTAX, "invalid escape at offset %zu", i);
    if (hi == 0)
        return fail(p, GH_SF_E_SYNTAX, "NUL character in string at offset %zu", i);
    *cp = hi;
    *used = 6;
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail(p, GH_SF_E_SYNTAX, "unpaired surrogate at offset %zu", i);
    if (hi < 0xD800 || hi > 0xDBFF)
        return GH_SF_OK;
    /* A high surrogate is only meaningful followed directly by "\u" and a low one. */
    bool has_u = i + 8 <= stop && p->s[i + 6] == '\\' && p->s[i + 7] == 'u';
    if (!has_u || !hex4(p->s, i + 8, stop, &lo) || lo < 0xDC00 || lo > 0xDFFF)
        return fail(p, GH_SF_E_SYNTAX, "unpaired surrogate at offset %zu", i);
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    *used = 12;
    return GH_SF_OK;
}

/* Decodes the escape at s[*i] into d[*o]; advances both. Output never outgrows input. */
static int decode_escape(parser *p, size_t *i, size_t stop, char *d, size_t *o)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    if (*i + 1 >= stop)
        return fail(p, GH_SF_E_SYNTAX, "invalid escape at offset %zu", *i);
    char e = p->s[*i + 1];
    const char *hit = (e != '\0') ? strchr(from, e) : NULL;
    if (hit) {
        d[(*o)++] = to[hit - from];
        *i += 2;
        return GH_SF_OK;
    }
    if (e != 'u')
        return fail(p, GH_SF_E_SYNTAX, "invalid escape at offset %zu", *i);
    uint32_t cp = 0;
    size_t used = 0;
    int rc = decode_u_escape(p, *i, stop, &cp, &used);
    if (rc != GH_SF_OK)
        return rc;
    *o += utf8_put(d + *o, cp);
    *i += used;
    return GH_SF_OK;
}

/* Decodes the string token t into a NUL-terminated arena copy. */
static int decode_string(parser *p, const token *t, const char **out)
{
    size_t i = t->start + 1, stop = t->end - 1, o = 0;
    /* Every escape shrinks or keeps its length, so the raw length is enough. */
    char *d = gh_arena_alloc(p->a, stop - i + 1);
    if (!d)
        return fail_nomem(p);
    while (i < stop) {
        unsigned char c = (unsigned char)p->s[i];
        if (c == '\\') {
            int rc = decode_escape(p, &i, stop, d, &o);
            if (rc != GH_SF_OK)
                return rc;
        } else if (c < 0x20) {
            return fail(p, GH_SF_E_SYNTAX, "control character in string at offset %zu", i);
        } else if (c < 0x80) {
            d[o++] = (char)c;
            i++;
        } else {
            size_t k = utf8_seq_len((const unsigned char *)p->s + i, stop - i);
            if (k == 0)
                return fail(p, GH_SF_E_SYNTAX, "invalid UTF-8 at offset %zu", i);
            memcpy(d + o, p->s + i, k);
            o += k;
            i += k;
        }
    }
    d[o] = '\0';
    *out = d;
    return GH_SF_OK;
}

/* ---- parser ---- */

static int parse_or(parser *p, gh_sf_node **out);

static int new_node(parser *p, gh_sf_kind kind, gh_sf_node **out)
{
    if (p->nodes >= GH_SF_MAX_NODES)
        return fail(p, GH_SF_E_LIMIT, "filter has more than %d nodes", GH_SF_MAX_NODES);
    gh_sf_node *n = gh_arena_alloc(p->a, sizeof(*n));
    if (!n)
        return fail_nomem(p);
    p->nodes++;
    n->kind = kind;
    *out = n;
    return GH_SF_OK;
}

/* Opens a nesting level; every recursive descent passes through here. */
static int enter_group(parser *p)
{
    if (p->depth >= GH_SF_MAX_DEPTH)
        return fail(p, GH_SF_E_LIMIT, "filter nested deeper than %d at offset %zu", GH_SF_MAX_DEPTH,
                    p->tok.start);
    p->depth++;
    return GH_SF_OK;
}

/* Copies the current token text into the arena and moves past it. */
static int take_text(parser *p, size_t skip, const char **out)
{
    const token *t = &p->tok;
    char *s = gh_arena_strndup(p->a, p->s + t->start + skip, t->end - t->start - skip);
    if (!s)
        return fail_nomem(p);
    *out = s;
    return advance(p);
}

/* "(" filter ")" with the current token on "(". */
static int parse_group(parser *p, gh_sf_node **out)
{
    int rc = enter_group(p);
    if (rc == GH_SF_OK)
        rc = advance(p);
    if (rc == GH_SF_OK)
        rc = parse_or(p, out);
    if (rc != GH_SF_OK)
        return rc;
    if (p->tok.type != T_RPAREN)
        return fail(p, GH_SF_E_SYNTAX, "missing ')' at offset %zu", p->tok.start);
    p->depth--;
    return advance(p);
}

/* "not" "(" filter ")" with the current token on "not". */
static int parse_not(parser *p, gh_sf_node **out)
{
    size_t at = p->tok.start;
    int rc = advance(p);
    if (rc != GH_SF_OK)
        return rc;
    if (p->tok.type != T_LPAREN)
        return fail(p, GH_SF_E_SYNTAX, "'not' must be followed by '(' at offset %zu", at);
    gh_sf_node *inner = NULL;
    rc = parse_group(p, &inner);
    if (rc == GH_SF_OK)
        rc = new_node(p, GH_SF_NOT, out);
    if (rc == GH_SF_OK)
        (*out)->left = inner;
    return rc;
}

/* The part after ']': optional ".subAttr", written without a space. */
static int parse_subattr(parser *p, const char **out)
{
    const token *t = &p->tok;
    *out = NULL;
    if (t->type != T_WORD || t->space_before || p->s[t->start] != '.')
        return GH_SF_OK;
    size_t n = t->end - t->start - 1;
    if (attrname_len(p->s + t->start + 1, n) != n)
        return fail(p, GH_SF_E_SYNTAX, "invalid sub-attribute at offset %zu", t->start);
    return take_text(p, 1, out);
}

/* attrPath "[" valFilter "]" [subAttr], with the current token on "[". */
static int parse_valpath(parser *p, const char *attr, gh_sf_node **out)
{
    if (p->in_valpath)
        return fail(p, GH_SF_E_SYNTAX, "nested '[' at offset %zu", p->tok.start);
    gh_sf_node *inner = NULL;
    int rc = enter_group(p);
    if (rc == GH_SF_OK)
        rc = advance(p);
    p->in_valpath = true;
    if (rc == GH_SF_OK)
        rc = parse_or(p, &inner);
    p->in_valpath = false;
    if (rc != GH_SF_OK)
        return rc;
    if (p->tok.type != T_RBRACK)
        return fail(p, GH_SF_E_SYNTAX, "missing ']' at offset %zu", p->tok.start);
    p->depth--;
    const char *sub = NULL;
    rc = advance(p);
    if (rc == GH_SF_OK)
        rc = parse_subattr(p, &sub);
    if (rc == GH_SF_OK)
        rc = new_node(p, GH_SF_VALUEPATH, out);
    if (rc != GH_SF_OK)
        return rc;
    (*out)->attr = attr;
    (*out)->subattr = sub;
    (*out)->left = inner;
    return GH_SF_OK;
}

static bool lookup_op(const parser *p, gh_sf_op *op)
{
    static const char names[][3] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};
    static const gh_sf_op ops[] = {GH_SF_EQ, GH_SF_NE, GH_SF_CO, GH_SF_SW, GH_SF_EW,
                                   GH_SF_GT, GH_SF_GE, GH_SF_LT, GH_SF_LE};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (tok_is(p, names[i])) {
            *op = ops[i];
            return true;
        }
    }
    return false;
}

/* compValue: false / null / true / number / string, into node n. */
static int parse_value(parser *p, gh_sf_node *n)
{
    const token *t = &p->tok;
    if (t->type == T_STRING) {
        n->vtype = GH_SF_VSTRING;
        int rc = decode_string(p, t, &n->value);
        return rc == GH_SF_OK ? advance(p) : rc;
    }
    if (t->type == T_NUMBER) {
        n->vtype = GH_SF_VNUMBER;
        return take_text(p, 0, &n->value);
    }
    if (t->type != T_WORD)
        return fail(p, GH_SF_E_SYNTAX, "missing value at offset %zu", t->start);
    if (tok_is(p, "true"))
        n->vtype = GH_SF_VTRUE;
    else if (tok_is(p, "false"))
        n->vtype = GH_SF_VFALSE;
    else if (tok_is(p, "null"))
        n->vtype = GH_SF_VNULL;
    else
        return fail(p, GH_SF_E_SYNTAX, "invalid value at offset %zu", t->start);
    return advance(p);
}

/* attrPath "pr" / attrPath compareOp compValue, after the path has been taken. */
static int parse_comparison(parser *p, const char *attr, gh_sf_node **out)
{
    const token *t = &p->tok;
    if (t->type == T_EOF)
        return fail(p, GH_SF_E_SYNTAX, "missing operator at offset %zu", t->start);
    if (t->type != T_WORD)
        return fail(p, GH_SF_E_SYNTAX, "expected operator at offset %zu", t->start);
    gh_sf_op op = GH_SF_EQ;
    bool present = tok_is(p, "pr");
    if (!present && !lookup_op(p, &op)) {
        /* Operator words are short; cap the echo so err stays readable. */
        int n = (int)(t->end - t->start > 16 ? 16 : t->end - t->start);
        return fail(p, GH_SF_E_SYNTAX, "unknown operator '%.*s' at offset %zu", n, p->s + t->start,
                    t->start);
    }
    int rc = new_node(p, present ? GH_SF_PRESENT : GH_SF_CMP, out);
    if (rc == GH_SF_OK)
        rc = advance(p);
    if (rc != GH_SF_OK)
        return rc;
    (*out)->attr = attr;
    (*out)->op = op;
    return present ? GH_SF_OK : parse_value(p, *out);
}

/* attrExp or valuePath, with the current token on the attribute path. */
static int parse_attr_expr(parser *p, gh_sf_node **out)
{
    const token *t = &p->tok;
    if (!valid_attr_path(p->s + t->start, t->end - t->start))
        return fail(p, GH_SF_E_SYNTAX, "invalid attribute path at offset %zu", t->start);
    const char *attr = NULL;
    int rc = take_text(p, 0, &attr);
    if (rc != GH_SF_OK)
        return rc;
    if (p->tok.type == T_LBRACK && !p->tok.space_before)
        return parse_valpath(p, attr, out);
    return parse_comparison(p, attr, out);
}

static int parse_unary(parser *p, gh_sf_node **out)
{
    if (tok_is(p, "not"))
        return parse_not(p, out);
    if (p->tok.type == T_LPAREN)
        return parse_group(p, out);
    if (p->tok.type == T_WORD)
        return parse_attr_expr(p, out);
    return fail_unexpected(p);
}

/* Left-associative chain of `next` joined by keyword kw into nodes of kind. */
static int parse_chain(parser *p, int (*next)(parser *, gh_sf_node **), const char *kw,
                       gh_sf_kind kind, gh_sf_node **out)
{
    gh_sf_node *left = NULL;
    int rc = next(p, &left);
    while (rc == GH_SF_OK && tok_is(p, kw)) {
        gh_sf_node *right = NULL, *n = NULL;
        rc = advance(p);
        if (rc == GH_SF_OK)
            rc = next(p, &right);
        if (rc == GH_SF_OK)
            rc = new_node(p, kind, &n);
        if (rc == GH_SF_OK) {
            n->left = left;
            n->right = right;
            left = n;
        }
    }
    if (rc == GH_SF_OK)
        *out = left;
    return rc;
}

static int parse_and(parser *p, gh_sf_node **out)
{
    return parse_chain(p, parse_unary, "and", GH_SF_AND, out);
}

static int parse_or(parser *p, gh_sf_node **out)
{
    return parse_chain(p, parse_and, "or", GH_SF_OR, out);
}

int gh_scim_filter_parse(gh_arena *a, const char *s, size_t len, gh_sf_node **out, char *err,
                         size_t errlen)
{
    parser p = {.a = a, .s = s, .len = len, .err = err, .errlen = errlen};
    if (err && errlen > 0)
        err[0] = '\0';
    if (out)
        *out = NULL;
    if (!a || !out || (!s && len > 0))
        return fail(&p, GH_SF_E_SYNTAX, "invalid arguments");
    if (len > GH_SF_MAX_INPUT)
        return fail(&p, GH_SF_E_LIMIT, "filter longer than %d bytes", GH_SF_MAX_INPUT);
    int rc = advance(&p);
    if (rc != GH_SF_OK)
        return rc;
    if (p.tok.type == T_EOF)
        return fail(&p, GH_SF_E_SYNTAX, "empty filter");
    gh_sf_node *root = NULL;
    rc = parse_or(&p, &root);
    if (rc != GH_SF_OK)
        return rc;
    if (p.tok.type != T_EOF)
        return fail_unexpected(&p);
    *out = root;
    return GH_SF_OK;
}

/* ---- dump ---- */

typedef struct {
    char *buf;
    size_t cap;
    size_t len;
    bool full; /* something did not fit; the result is void */
} writer;

static void put(writer *w, const char *s, size_t n)
{
    /* Always keep one byte for the terminating NUL. */
    if (w->full || n >= w->cap - w->len) {
        w->full = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_str(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* JSON-escapes s so logs stay one line and the dump is unambiguous. */
static void put_json_string(writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c && !w->full; c++) {
        const char *esc = NULL;
        switch (*c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            break;
        }
        if (esc) {
            put_str(w, esc);
        } else if (*c < 0x20 || *c == 0x7F) {
            char u[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 0xF]};
            put(w, u, sizeof(u));
        } else {
            put(w, (const char *)c, 1);
        }
    }
    put(w, "\"", 1);
}

static const char *op_name(gh_sf_op op)
{
    static const char *const names[] = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"};
    return ((unsigned)op < sizeof(names) / sizeof(names[0])) ? names[op] : NULL;
}

static bool put_value(writer *w, const gh_sf_node *n)
{
    switch (n->vtype) {
    case GH_SF_VSTRING:
        if (!n->value)
            return false;
        put_json_string(w, n->value);
        return true;
    case GH_SF_VNUMBER:
        if (!n->value)
            return false;
        put_str(w, n->value);
        return true;
    case GH_SF_VTRUE:
        put_str(w, "true");
        return true;
    case GH_SF_VFALSE:
        put_str(w, "false");
        return true;
    case GH_SF_VNULL:
        put_str(w, "null");
        return true;
    }
    return false;
}

static bool dump_cmp(writer *w, const gh_sf_node *n)
{
    const char *op = op_name(n->op);
    if (!n->attr || !op)
        return false;
    put_str(w, "(");
    put_str(w, op);
    put_str(w, " ");
    put_str(w, n->attr);
    put_str(w, " ");
    if (!put_value(w, n))
        return false;
    put_str(w, ")");
    return true;
}

static bool dump_node(writer *w, const gh_sf_node *n, int depth);

/* "(name child...)" for the logical kinds. */
static bool dump_logical(writer *w, const char *name, const gh_sf_node *n, int depth)
{
    put_str(w, "(");
    put_str(w, name);
    put_str(w, " ");
    if (!dump_node(w, n->left, depth + 1))
        return false;
    if (n->kind != GH_SF_NOT) {
        put_str(w, " ");
        if (!dump_node(w, n->right, depth + 1))
            return false;
    }
    put_str(w, ")");
    return true;
}

static bool dump_valpath(writer *w, const gh_sf_node *n, int depth)
{
    if (!n->attr)
        return false;
    put_str(w, "(vp ");
    put_str(w, n->attr);
    put_str(w, " ");
    if (!dump_node(w, n->left, depth + 1))
        return false;
    if (n->subattr) {
        put_str(w, " .");
        put_str(w, n->subattr);
    }
    put_str(w, ")");
    return true;
}

static bool dump_node(writer *w, const gh_sf_node *n, int depth)
{
    /* Parsed trees are never deeper than their node count; this guards hand-built ones. */
    if (!n || depth > GH_SF_MAX_NODES)
        return false;
    switch (n->kind) {
    case GH_SF_CMP:
        return dump_cmp(w, n);
    case GH_SF_PRESENT:
        if (!n->attr)
            return false;
        put_str(w, "(pr ");
        put_str(w, n->attr);
        put_str(w, ")");
        return true;
    case GH_SF_AND:
        return dump_logical(w, "and", n, depth);
    case GH_SF_OR:
        return dump_logical(w, "or", n, depth);
    case GH_SF_NOT:
        return dump_logical(w, "not", n, depth);
    case GH_SF_VALUEPATH:
        return dump_valpath(w, n, depth);
    }
    return false;
}

int gh_scim_filter_dump(const gh_sf_node *n, char *buf, size_t buflen)
{
    if (!buf || buflen == 0)
        return -1;
    writer w = {.buf = buf, .cap = buflen};
    bool ok = dump_node(&w, n, 0);
    if (!ok || w.full || w.len > (size_t)INT_MAX) {
        buf[0] = '\0';
        return -1;
    }
    buf[w.len] = '\0';
    return (int)w.len;
}
