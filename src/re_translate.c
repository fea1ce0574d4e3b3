/* re_translate.c - Python regular expressions to PCRE2 (see re_translate.h).
 *
 * A port of CPython 3.11's re/_parser.py: the tokenizer, the recursive descent over
 * alternations, sequences, classes, groups and escapes, and the template parser, with the
 * same checks in the same order so that every refused pattern gets CPython's message and
 * position. Instead of building a tree, each construct is written out at once as PCRE2
 * syntax; the few facts needed later (each item's width, for look-behinds and back
 * references; group names and nesting) are kept on the side.
 *
 * Differences of meaning that the output absorbs:
 * - every literal is escaped (\x{..} or \ before punctuation), so PCRE2-only syntax in
 *   the source ([:alpha:], \Q..\E, (*VERB), {,n}) keeps Python's meaning;
 * - \Z is \z; \B cannot match an empty subject (sre's rule); \v, \u, \U, \0 and octal
 *   escapes become \x{..};
 * - named groups become plain numbered groups, backreferences \g{N}: PCRE2 never sees a
 *   name (Python's names may be any identifier);
 * - verbose mode and (?#...) comments are stripped here, never passed to PCRE2;
 * - \d \w \s \b under a scoped (?a:...) or (?u:...) are spelled out, since PCRE2_UCP is
 *   fixed for the whole pattern.
 * Errors unwind with longjmp from wherever they are found; all memory the translator owns
 * hangs off the Tr state and is freed on that path.
 */
#include "common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "re_translate.h"
#include "unicode.h"

#define ESC 0x40000000 /* token flag: a backslash followed by this character     */
#define TOK_END (-1)
#define MAXREPEAT 4294967295ull
#define MAXGROUPS 1073741823L
#define MAXCODE 4294967295ull
#define MAXW ((uint64_t)1 << 62) /* "infinite" width; sums saturate here          */
#define MAX_NESTING 450          /* CPython's own recursion gives up near 500     */

typedef struct {
    char *d;
    size_t n, cap;
} Buf;

typedef struct {
    uint64_t lo, hi;
} Width;

/* What the last item of a sequence was: a quantifier may not follow nothing, an anchor,
 * or another quantifier. */
enum { K_NONE, K_AT, K_REPEAT, K_ITEM };

/* Whether an item's PCRE2 text can go inside a class: a literal, a category (\d), or a
 * non-negated class "[...]" (its body). sre turns alternatives that are all such items
 * into one set ("a|b|[cd]" -> "[abcd]"); PCRE2 does not, and matches a class much faster
 * (a repeated alternation backtracks through one frame per character). */
enum { S_OTHER, S_LIT, S_CAT, S_SET };

typedef struct {
    /* the tokenizer (CPython's Tokenizer): `next` is one character or ESC|char */
    const char *s;
    size_t n;
    bool bytes;
    size_t index;  /* byte index just past the `next` token                */
    size_t tokpos; /* byte index where `next` starts (n at the end)         */
    int32_t next;
    /* the parser state (CPython's State) */
    uint32_t flags;
    int ngroups; /* groups opened so far                                  */
    int gcap;
    Width *gwidth; /* [gid] once closed                                     */
    bool *gclosed;
    int *parent;
    ReGroupName *names;
    int nnames, namecap;
    int lookbehindgroups; /* -1: not inside a look-behind                           */
    struct GroupRef {
        long gid;
        long pos;
    } * refs; /* conditional references by number, checked at the end  */
    int nrefs, refcap;
    long lb_err_start; /* earliest look-behind of bad width (-1: none)          */
    const char *lb_err;
    int cur_group; /* innermost open capturing group (parents)              */
    int sub;       /* S_* of the item just emitted                          */
    Buf *alts;     /* per nesting depth: alternatives merged into a class   */
    int depth;
    bool ascii;        /* \w etc. mean ASCII here (scoped flags)                 */
    bool native_ascii; /* ... and to PCRE2 (no PCRE2_UCP)                        */
    bool icase;        /* case-insensitive here (global and scoped flags)        */
    Buf out;
    Buf cls; /* the body of the class being parsed                     */
    jmp_buf jb;
    ReError *err;
} Tr;

/* ------------------------------------------------------------------------------------ */
/* Errors and output                                                                     */
/* ------------------------------------------------------------------------------------ */

static long charpos(const Tr *t, size_t bytepos) {
    return t->bytes ? (long)bytepos : (long)asy_utf8_nchars(t->s, bytepos);
}

/* A bytes pattern's messages are ASCII (CPython: backslashreplace): bytes >= 0x80 -> \xhh. */
static void ascii_escape_msg(char *msg, size_t cap) {
    char tmp[sizeof(((ReError *)0)->msg)];
    size_t j = 0;
    for (size_t i = 0; msg[i] && j + 5 < sizeof tmp; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c < 0x80)
            tmp[j++] = (char)c;
        else
            j += (size_t)snprintf(tmp + j, sizeof tmp - j, "\\x%02x", c);
    }
    tmp[j] = '\0';
    snprintf(msg, cap, "%s", tmp);
}

static ASY_NORETURN void fail_at(Tr *t, ReErrKind kind, long pos, const char *fmt, ...)
    ASY_PRINTF(4, 5);
static void fail_at(Tr *t, ReErrKind kind, long pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err->msg, sizeof t->err->msg, fmt, ap);
    va_end(ap);
    if (t->bytes) ascii_escape_msg(t->err->msg, sizeof t->err->msg);
    t->err->kind = kind;
    t->err->pos = pos;
    longjmp(t->jb, 1);
}

static long tell(const Tr *t) { return charpos(t, t->tokpos); }

/* source.error(msg, offset): the position is tell() - offset (offset in characters). */
#define FAIL(t, offset, ...) fail_at((t), RE_ERR_ERROR, tell(t) - (long)(offset), __VA_ARGS__)

static ASY_NORETURN void fail_memory(Tr *t) {
    t->err->kind = RE_ERR_MEMORY;
    t->err->pos = -1;
    snprintf(t->err->msg, sizeof t->err->msg, "out of memory");
    longjmp(t->jb, 1);
}

static void *xrealloc(Tr *t, void *p, size_t size) {
    void *q = realloc(p, size ? size : 1);
    if (!q) fail_memory(t);
    return q;
}

static void buf_put(Tr *t, Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->d = xrealloc(t, b->d, cap);
        b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = '\0';
}

static void buf_puts(Tr *t, Buf *b, const char *s) { buf_put(t, b, s, strlen(s)); }

static void buf_printf(Tr *t, Buf *b, const char *fmt, ...) ASY_PRINTF(3, 4);
static void buf_printf(Tr *t, Buf *b, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    buf_put(t, b, tmp, (size_t)n);
}

/* One character as PCRE2 reads it literally, in or out of a class. */
static void emit_literal(Tr *t, Buf *b, uint32_t c) {
    if (c < 0x80 && ((c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '_')) {
        char ch = (char)c;
        buf_put(t, b, &ch, 1);
    } else if (c > 0x20 && c < 0x7f) {
        char esc[2] = {'\\', (char)c};
        buf_put(t, b, esc, 2);
    } else {
        buf_printf(t, b, "\\x{%x}", (unsigned)c);
    }
}

/* sre's ASCII|IGNORECASE folds only ASCII letters, while PCRE2's UTF mode folds by Unicode
 * even without PCRE2_UCP (K also matches the Kelvin sign U+212A, s the long s U+017F, é É).
 * Where that differs, the translation matches case-sensitively what sre would fold. */
static bool fold_ascii_only(const Tr *t) { return t->icase && t->ascii && !t->bytes; }

/* The other ASCII case of c, or c. */
static uint32_t ascii_swapcase(uint32_t c) {
    if ((c | 32) >= 'a' && (c | 32) <= 'z') return c ^ 32;
    return c;
}

/* A literal item (outside a class): see fold_ascii_only. */
static void emit_item_literal(Tr *t, uint32_t c) {
    if (fold_ascii_only(t) && (c >= 0x80 || (c | 32) == 'k' || (c | 32) == 's')) {
        buf_puts(t, &t->out, "(?-i:");
        if (c < 0x80) {
            buf_puts(t, &t->out, "[");
            emit_literal(t, &t->out, c);
            emit_literal(t, &t->out, ascii_swapcase(c));
            buf_puts(t, &t->out, "]");
        } else {
            emit_literal(t, &t->out, c);
        }
        buf_puts(t, &t->out, ")");
        t->sub = S_OTHER;
        return;
    }
    emit_literal(t, &t->out, c);
    t->sub = S_LIT;
}

/* ------------------------------------------------------------------------------------ */
/* The tokenizer                                                                         */
/* ------------------------------------------------------------------------------------ */

/* The character at byte i and its length. Patterns come from asy strs (valid UTF-8); a
 * truncated sequence (only possible from C callers) reads as single bytes. */
static size_t decode_at(const Tr *t, size_t i, uint32_t *cp) {
    unsigned char b = (unsigned char)t->s[i];
    if (t->bytes || b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t l = asy_utf8_seqlen(b);
    if (l > t->n - i) {
        *cp = b;
        return 1;
    }
    size_t p = i;
    *cp = asy_utf8_next(t->s, &p);
    return l;
}

static void tok_advance(Tr *t) {
    size_t i = t->index;
    t->tokpos = i;
    if (i >= t->n) {
        t->next = TOK_END;
        return;
    }
    uint32_t c;
    size_t l = decode_at(t, i, &c);
    if (c != '\\') {
        t->next = (int32_t)c;
        t->index = i + l;
        return;
    }
    if (i + l >= t->n)
        fail_at(t, RE_ERR_ERROR, charpos(t, t->n) - 1, "bad escape (end of pattern)");
    uint32_t c2;
    size_t l2 = decode_at(t, i + l, &c2);
    t->next = (int32_t)(c2 | ESC);
    t->index = i + l + l2;
}

static int32_t tok_get(Tr *t) {
    int32_t c = t->next;
    tok_advance(t);
    return c;
}

static bool tok_match(Tr *t, int32_t c) {
    if (t->next != c) return false;
    tok_advance(t);
    return true;
}

static void tok_seek(Tr *t, size_t bytepos) {
    t->index = bytepos;
    tok_advance(t);
}

static long tok_len(int32_t tok) { return (tok & ESC) ? 2 : 1; }

static bool is_digit(int32_t c) { return c >= '0' && c <= '9'; }
static bool is_octdigit(int32_t c) { return c >= '0' && c <= '7'; }
static bool is_hexdigit(int32_t c) { return is_digit(c) || ((c | 32) >= 'a' && (c | 32) <= 'f'); }
static bool is_asciiletter(int32_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static int hexval(int32_t c) { return is_digit(c) ? c - '0' : (c | 32) - 'a' + 10; }

/* source.getuntil(terminator, name): the raw text up to the terminator, as a byte range. */
static void tok_getuntil(Tr *t, int32_t term, const char *name, size_t *start, size_t *end) {
    *start = t->tokpos;
    for (;;) {
        size_t before = t->tokpos;
        int32_t c = tok_get(t);
        if (c == TOK_END) {
            if (before == *start) FAIL(t, 0, "missing %s", name);
            FAIL(t, charpos(t, before) - charpos(t, *start), "missing %c, unterminated name",
                 (char)term);
        }
        if (c == term) {
            if (before == *start) FAIL(t, 1, "missing %s", name);
            *end = before;
            return;
        }
    }
}

static long span_chars(const Tr *t, size_t a, size_t b) { return charpos(t, b) - charpos(t, a); }

/* repr() of a str made of the source text s[a, b) (a bytes pattern's text is latin-1). */
static void repr_span(const Tr *t, size_t a, size_t b, char *out, size_t cap) {
    bool sq = false, dq = false;
    for (size_t i = a; i < b; i++) {
        sq |= t->s[i] == '\'';
        dq |= t->s[i] == '"';
    }
    char q = (sq && !dq) ? '"' : '\'';
    size_t j = 0;
    out[j++] = q;
    for (size_t i = a; i < b && j + 12 < cap;) {
        uint32_t c;
        i += decode_at(t, i, &c);
        if (c == (uint32_t)q || c == '\\') {
            out[j++] = '\\';
            out[j++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[j++] = '\\';
            out[j++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x80 && c >= 0x20 && c != 0x7f) {
            out[j++] = (char)c;
        } else if (c >= 0x80 && asy_uc_isprintable(c)) {
            j += asy_utf8_encode(c, out + j);
        } else {
            const char *f = c < 0x100 ? "\\x%02x" : c < 0x10000 ? "\\u%04x" : "\\U%08x";
            j += (size_t)snprintf(out + j, cap - j, f, (unsigned)c);
        }
    }
    out[j++] = q;
    out[j] = '\0';
}

/* The source text s[a, b) as a C string (for messages quoting an escape). */
static void copy_span(const Tr *t, size_t a, size_t b, char *out, size_t cap) {
    size_t n = b - a < cap - 1 ? b - a : cap - 1;
    memcpy(out, t->s + a, n);
    out[n] = '\0';
}

static bool span_is_identifier(const Tr *t, size_t a, size_t b) {
    if (a >= b) return false;
    for (size_t i = a; i < b;) {
        uint32_t c;
        bool first = i == a;
        i += decode_at(t, i, &c);
        bool ok;
        if (c < 0x80)
            ok = is_asciiletter((int32_t)c) || c == '_' || (!first && is_digit((int32_t)c));
        else
            ok = first ? asy_uc_isxidstart(c) : asy_uc_isxidcontinue(c);
        if (!ok) return false;
    }
    return true;
}

/* source.checkgroupname(name, offset) */
static void check_group_name(Tr *t, size_t a, size_t b, long offset) {
    if (span_is_identifier(t, a, b)) return;
    char r[200];
    repr_span(t, a, b, r, sizeof r);
    FAIL(t, span_chars(t, a, b) + offset, "bad character in group name %s", r);
}

static int find_group_name(const Tr *t, size_t a, size_t b) {
    for (int i = 0; i < t->nnames; i++)
        if (t->names[i].len == b - a && memcmp(t->names[i].name, t->s + a, b - a) == 0)
            return t->names[i].gid;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Groups                                                                                */
/* ------------------------------------------------------------------------------------ */

static int open_group(Tr *t, size_t name_a, size_t name_b, bool named) {
    int gid = t->ngroups + 1;
    if (gid > MAXGROUPS) FAIL(t, named ? span_chars(t, name_a, name_b) + 1 : 0, "too many groups");
    if (gid >= t->gcap) {
        int cap = t->gcap ? t->gcap * 2 : 16;
        t->gwidth = xrealloc(t, t->gwidth, sizeof(Width) * (size_t)cap);
        t->gclosed = xrealloc(t, t->gclosed, sizeof(bool) * (size_t)cap);
        t->parent = xrealloc(t, t->parent, sizeof(int) * (size_t)cap);
        t->gcap = cap;
    }
    if (named) {
        int old = find_group_name(t, name_a, name_b);
        if (old) {
            char r[200];
            repr_span(t, name_a, name_b, r, sizeof r);
            FAIL(t, span_chars(t, name_a, name_b) + 1,
                 "redefinition of group name %s as group %d; was group %d", r, gid, old);
        }
        if (t->nnames == t->namecap) {
            t->namecap = t->namecap ? t->namecap * 2 : 8;
            t->names = xrealloc(t, t->names, sizeof(ReGroupName) * (size_t)t->namecap);
        }
        ReGroupName *g = &t->names[t->nnames];
        g->name = xrealloc(t, NULL, name_b - name_a + 1);
        memcpy(g->name, t->s + name_a, name_b - name_a);
        g->name[name_b - name_a] = '\0';
        g->len = name_b - name_a;
        g->gid = gid;
        t->nnames++;
    }
    t->ngroups = gid;
    t->gclosed[gid] = false;
    t->gwidth[gid] = (Width){0, 0};
    t->parent[gid] = t->cur_group;
    return gid;
}

static bool group_closed(const Tr *t, long gid) {
    return gid >= 1 && gid <= t->ngroups && t->gclosed[gid];
}

static void check_lookbehind_group(Tr *t, long gid) {
    if (t->lookbehindgroups < 0) return;
    if (!group_closed(t, gid)) FAIL(t, 0, "cannot refer to an open group");
    if (gid >= t->lookbehindgroups)
        FAIL(t, 0, "cannot refer to group defined in the same lookbehind subpattern");
}

static void emit_backref(Tr *t, long gid) { buf_printf(t, &t->out, "\\g{%ld}", gid); }

/* ------------------------------------------------------------------------------------ */
/* Categories: \d \D \s \S \w \W and the boundaries                                      */
/* ------------------------------------------------------------------------------------ */

/* The class body (no brackets) of an ASCII category spelled out, for a str pattern under
 * PCRE2_UCP; NULL when a negated Unicode category has no class-body spelling. */
static const char *ascii_category(char cat) {
    switch (cat) {
    case 'd': return "0-9";
    case 'D': return "\\x{0}-\\x{2f}\\x{3a}-\\x{10ffff}";
    case 'w': return "0-9A-Z_a-z";
    case 'W': return "\\x{0}-\\x{2f}\\x{3a}-\\x{40}\\x{5b}-\\x{5e}\\x{60}\\x{7b}-\\x{10ffff}";
    case 's': return "\\t-\\r\\x{20}";
    default: return "\\x{0}-\\x{8}\\x{e}-\\x{1f}\\x{21}-\\x{10ffff}";
    }
}

static const char *unicode_category(char cat) {
    switch (cat) {
    case 'd': return "\\p{Nd}";
    case 'D': return "\\P{Nd}";
    case 'w': return "\\p{Xwd}";
    case 'W': return "\\P{Xwd}";
    case 's': return "\\p{Xps}\\x{1c}-\\x{1f}\\x{85}";
    default: return "\\P{Xps}";
    }
}

static void emit_category(Tr *t, Buf *b, char cat, bool in_class) {
    if (t->ascii == t->native_ascii) {
        char esc[2] = {'\\', cat};
        buf_put(t, b, esc, 2);
        t->sub = S_CAT;
        return;
    }
    t->sub = S_SET;
    const char *body = t->ascii ? ascii_category(cat) : unicode_category(cat);
    if (in_class) {
        buf_puts(t, b, body);
    } else {
        buf_puts(t, b, "[");
        buf_puts(t, b, body);
        buf_puts(t, b, "]");
    }
}

static void emit_boundary(Tr *t, bool negated) {
    /* sre: \B never matches when the whole subject is empty (PCRE2's does). */
    if (t->ascii == t->native_ascii) {
        buf_puts(t, &t->out, negated ? "(?!\\A\\z)\\B" : "\\b");
        return;
    }
    const char *w = t->ascii ? "[0-9A-Z_a-z]" : "\\p{Xwd}";
    char tmp[160];
    if (negated)
        snprintf(tmp, sizeof tmp, "(?!\\A\\z)(?:(?<=%s)(?=%s)|(?<!%s)(?!%s))", w, w, w, w);
    else
        snprintf(tmp, sizeof tmp, "(?:(?<=%s)(?!%s)|(?<!%s)(?=%s))", w, w, w, w);
    buf_puts(t, &t->out, tmp);
}

/* ------------------------------------------------------------------------------------ */
/* Escapes                                                                               */
/* ------------------------------------------------------------------------------------ */

static bool simple_escape(int32_t c, uint32_t *out) {
    switch (c) {
    case 'a': *out = 7; return true;
    case 'b': *out = 8; return true;
    case 'f': *out = 12; return true;
    case 'n': *out = 10; return true;
    case 'r': *out = 13; return true;
    case 't': *out = 9; return true;
    case 'v': *out = 11; return true;
    case '\\': *out = '\\'; return true;
    default: return false;
    }
}

static ASY_NORETURN void bad_escape(Tr *t, size_t start) {
    char e[64];
    copy_span(t, start, t->tokpos, e, sizeof e);
    FAIL(t, span_chars(t, start, t->tokpos), "bad escape %s", e);
}

/* \x, \u, \U (ndigits hex digits) after the escape token starting at byte `start`. */
static uint32_t hex_escape(Tr *t, size_t start, int ndigits) {
    uint32_t v = 0;
    int got = 0;
    while (got < ndigits && is_hexdigit(t->next)) {
        v = v * 16 + (uint32_t)hexval(tok_get(t));
        got++;
    }
    if (got != ndigits) {
        char e[64];
        copy_span(t, start, t->tokpos, e, sizeof e);
        FAIL(t, span_chars(t, start, t->tokpos), "incomplete escape %s", e);
    }
    if (ndigits == 8 && v > 0x10FFFF) bad_escape(t, start); /* chr() refuses it */
    return v;
}

/* \N{name}: the character unicodedata.lookup(name) gives. */
static uint32_t named_escape(Tr *t) {
    if (!tok_match(t, '{')) FAIL(t, 0, "missing {");
    size_t a, b;
    tok_getuntil(t, '}', "character name", &a, &b);
    uint32_t cp;
    if (asy_unicode_lookup_name(t->s + a, b - a, &cp)) return cp;
    char r[200];
    repr_span(t, a, b, r, sizeof r);
    FAIL(t, span_chars(t, a, b) + 4, "undefined character name %s", r);
}

/* An escape that is one character (shared by _escape and _class_escape); false when c is
 * not one of those. */
static bool char_escape(Tr *t, int32_t c, size_t start, uint32_t *out) {
    if (simple_escape(c, out)) return true;
    if (c == 'x') {
        *out = hex_escape(t, start, 2);
        return true;
    }
    if (!t->bytes && (c == 'u' || c == 'U')) {
        *out = hex_escape(t, start, c == 'u' ? 4 : 8);
        return true;
    }
    if (!t->bytes && c == 'N') {
        *out = named_escape(t);
        return true;
    }
    return false;
}

static uint32_t octal_value(Tr *t, size_t start, uint32_t v, bool check) {
    if (check && v > 0377) {
        char e[64];
        copy_span(t, start, t->tokpos, e, sizeof e);
        FAIL(t, span_chars(t, start, t->tokpos), "octal escape value %s outside of range 0-0o377",
             e);
    }
    return v;
}

/* _class_escape: kind 0 with *lit set for a literal, else the category letter. */
static char class_escape(Tr *t, int32_t tok, size_t start, uint32_t *lit) {
    int32_t c = tok & ~ESC;
    if (c == 'd' || c == 'D' || c == 's' || c == 'S' || c == 'w' || c == 'W') return (char)c;
    if (char_escape(t, c, start, lit)) return 0;
    if (is_octdigit(c)) {
        uint32_t v = (uint32_t)(c - '0');
        for (int k = 0; k < 2 && is_octdigit(t->next); k++)
            v = v * 8 + (uint32_t)(tok_get(t) - '0');
        *lit = octal_value(t, start, v, true);
        return 0;
    }
    if (is_digit(c) || is_asciiletter(c)) bad_escape(t, start);
    *lit = (uint32_t)c;
    return 0;
}

/* _escape outside a class: emits the item and returns its kind. */
static int parse_escape(Tr *t, int32_t tok, size_t start, Width *w) {
    int32_t c = tok & ~ESC;
    *w = (Width){1, 1};
    switch (c) {
    case 'A':
        buf_puts(t, &t->out, "\\A");
        *w = (Width){0, 0};
        return K_AT;
    case 'Z':
        buf_puts(t, &t->out, "\\z");
        *w = (Width){0, 0};
        return K_AT;
    case 'b':
        emit_boundary(t, false);
        *w = (Width){0, 0};
        return K_AT;
    case 'B':
        emit_boundary(t, true);
        *w = (Width){0, 0};
        return K_AT;
    case 'd':
    case 'D':
    case 's':
    case 'S':
    case 'w':
    case 'W': emit_category(t, &t->out, (char)c, false); return K_ITEM;
    default: break;
    }
    uint32_t lit;
    t->sub = S_LIT;
    if (char_escape(t, c, start, &lit)) {
        emit_item_literal(t, lit);
        return K_ITEM;
    }
    if (c == '0') {
        uint32_t v = 0;
        for (int k = 0; k < 2 && is_octdigit(t->next); k++)
            v = v * 8 + (uint32_t)(tok_get(t) - '0');
        emit_item_literal(t, v);
        return K_ITEM;
    }
    if (is_digit(c)) {
        /* octal escape *or* decimal group reference (sigh, says CPython) */
        long group = c - '0';
        if (is_digit(t->next)) {
            int32_t d2 = tok_get(t);
            if (is_octdigit(c) && is_octdigit(d2) && is_octdigit(t->next)) {
                int32_t d3 = tok_get(t);
                uint32_t v = (uint32_t)((c - '0') * 64 + (d2 - '0') * 8 + (d3 - '0'));
                emit_item_literal(t, octal_value(t, start, v, true));
                return K_ITEM;
            }
            group = group * 10 + (d2 - '0');
        }
        long esclen = span_chars(t, start, t->tokpos);
        if (group <= t->ngroups) {
            if (!group_closed(t, group)) FAIL(t, esclen, "cannot refer to an open group");
            check_lookbehind_group(t, group);
            emit_backref(t, group);
            t->sub = S_OTHER;
            *w = t->gwidth[group];
            return K_ITEM;
        }
        FAIL(t, esclen - 1, "invalid group reference %ld", group);
    }
    if (is_asciiletter(c)) bad_escape(t, start);
    emit_item_literal(t, (uint32_t)c);
    return K_ITEM;
}

/* ------------------------------------------------------------------------------------ */
/* Character classes                                                                     */
/* ------------------------------------------------------------------------------------ */

/* A literal in a class; under fold_ascii_only, with its other ASCII case. */
static void class_literal(Tr *t, Buf *body, uint32_t c) {
    emit_literal(t, body, c);
    if (fold_ascii_only(t) && ascii_swapcase(c) != c) emit_literal(t, body, ascii_swapcase(c));
}

/* lo-hi in a class; under fold_ascii_only, with the other case of its ASCII letters. */
static void class_range(Tr *t, Buf *body, uint32_t lo, uint32_t hi) {
    emit_literal(t, body, lo);
    buf_puts(t, body, "-");
    emit_literal(t, body, hi);
    if (!fold_ascii_only(t)) return;
    for (uint32_t base = 'A'; base <= 'a'; base += 32) {
        uint32_t a = lo > base ? lo : base, b = hi < base + 25 ? hi : base + 25;
        if (a > b) continue;
        emit_literal(t, body, a ^ 32);
        buf_puts(t, body, "-");
        emit_literal(t, body, b ^ 32);
    }
}

/* Called after '[': parses up to the closing ']' and emits the class. */
static void parse_class(Tr *t, size_t here) {
    Buf *body = &t->cls; /* in the state, so the error path frees it */
    body->n = 0;
    int nitems = 0;
    bool negate = tok_match(t, '^');
    for (;;) {
        size_t this_start = t->tokpos;
        int32_t this = tok_get(t);
        size_t this_end = t->tokpos; /* the token only: CPython quotes just that */
        if (this == TOK_END) FAIL(t, tell(t) - charpos(t, here), "unterminated character set");
        if (this == ']' && nitems) break;
        char cat1 = 0;
        uint32_t lit1 = 0;
        if (this & ESC)
            cat1 = class_escape(t, this, this_start, &lit1);
        else
            lit1 = (uint32_t)this;
        if (tok_match(t, '-')) {
            size_t that_start = t->tokpos;
            int32_t that = tok_get(t);
            size_t that_end = t->tokpos;
            if (that == TOK_END) FAIL(t, tell(t) - charpos(t, here), "unterminated character set");
            if (that == ']') {
                if (cat1)
                    emit_category(t, body, cat1, true);
                else
                    class_literal(t, body, lit1);
                emit_literal(t, body, '-');
                nitems += 2;
                break;
            }
            char cat2 = 0;
            uint32_t lit2 = 0;
            if (that & ESC)
                cat2 = class_escape(t, that, that_start, &lit2);
            else
                lit2 = (uint32_t)that;
            if (cat1 || cat2 || lit2 < lit1) {
                char a[64], b[64];
                copy_span(t, this_start, this_end, a, sizeof a);
                copy_span(t, that_start, that_end, b, sizeof b);
                FAIL(t,
                     span_chars(t, this_start, this_end) + 1 + span_chars(t, that_start, that_end),
                     "bad character range %s-%s", a, b);
            }
            class_range(t, body, lit1, lit2);
        } else if (cat1) {
            emit_category(t, body, cat1, true);
        } else {
            class_literal(t, body, lit1);
        }
        nitems++;
    }
    bool wrap = fold_ascii_only(t);
    if (wrap) buf_puts(t, &t->out, "(?-i:");
    buf_puts(t, &t->out, negate ? "[^" : "[");
    buf_put(t, &t->out, body->d, body->n);
    buf_puts(t, &t->out, wrap ? "])" : "]");
    t->sub = negate || wrap ? S_OTHER : S_SET;
}

/* ------------------------------------------------------------------------------------ */
/* Sequences, repeats and groups                                                         */
/* ------------------------------------------------------------------------------------ */

static uint64_t wadd(uint64_t a, uint64_t b) { return a + b > MAXW ? MAXW : a + b; }
static uint64_t wmul(uint64_t a, uint64_t b) {
    if (a == 0 || b == 0) return 0;
    return a > MAXW / b ? MAXW : a * b;
}

static Width parse_sub(Tr *t, bool verbose, int nested);
static Width parse_seq(Tr *t, bool verbose, int nested, bool first, int *nitems, int *sub);

/* A decimal number of repeat digits, saturating (anything >= MAXREPEAT is too large). */
static uint64_t read_count(Tr *t, bool *any) {
    uint64_t v = 0;
    *any = false;
    while (is_digit(t->next)) {
        v = v * 10 + (uint64_t)(tok_get(t) - '0');
        if (v > MAXREPEAT) v = MAXREPEAT + 1;
        *any = true;
    }
    return v;
}

static ASY_NORETURN void too_large(Tr *t) {
    fail_at(t, RE_ERR_OVERFLOW, -1, "the repetition number is too large");
}

/* PCRE2 counts repeats up to 65535; sre up to MAXREPEAT - 1. Larger counts are built from
 * nested repeats of the item's text u (which holds no capturing group, so copies of it are
 * the same item): u{n} as (?:u{65535}){n / 65535}u{n % 65535}, and u{0,n} greedy as
 * (?:u{65535}u{0,n-65535}|u{0,65534}), which tries the counts in sre's order (lazy: the
 * reverse). PCRE2 itself then refuses what grows too large, as it does for big groups. */
#define PCRE_MAXREP 65535u

static void emit_exact(Tr *t, const char *u, size_t un, uint64_t n) {
    if (n <= PCRE_MAXREP) {
        buf_put(t, &t->out, u, un);
        if (n != 1) buf_printf(t, &t->out, "{%llu}", (unsigned long long)n);
        return;
    }
    Buf unit = {0};
    buf_puts(t, &unit, "(?:");
    buf_put(t, &unit, u, un);
    buf_printf(t, &unit, "{%u})", PCRE_MAXREP);
    emit_exact(t, unit.d, unit.n, n / PCRE_MAXREP);
    free(unit.d);
    if (n % PCRE_MAXREP) emit_exact(t, u, un, n % PCRE_MAXREP);
}

static void emit_upto(Tr *t, const char *u, size_t un, uint64_t n, bool lazy) {
    if (n <= PCRE_MAXREP) {
        buf_put(t, &t->out, u, un);
        buf_printf(t, &t->out, "{0,%llu}%s", (unsigned long long)n, lazy ? "?" : "");
        return;
    }
    buf_puts(t, &t->out, "(?:");
    if (lazy) {
        buf_put(t, &t->out, u, un);
        buf_printf(t, &t->out, "{0,%u}?|", PCRE_MAXREP - 1);
    }
    buf_put(t, &t->out, u, un);
    buf_printf(t, &t->out, "{%u}", PCRE_MAXREP);
    emit_upto(t, u, un, n - PCRE_MAXREP, lazy);
    if (!lazy) {
        buf_puts(t, &t->out, "|");
        buf_put(t, &t->out, u, un);
        buf_printf(t, &t->out, "{0,%u}", PCRE_MAXREP - 1);
    }
    buf_puts(t, &t->out, ")");
}

/* The item in t->out from byte `start` repeated min..max times (max MAXREPEAT: no bound),
 * with mode '?' (lazy), '+' (possessive) or 0, when PCRE2 cannot count that far. */
static void emit_big_repeat(Tr *t, size_t start, uint64_t min, uint64_t max, char mode) {
    size_t un = t->out.n - start;
    char *u = xrealloc(t, NULL, un + 1);
    memcpy(u, t->out.d + start, un);
    t->out.n = start;
    if (mode == '+') buf_puts(t, &t->out, "(?>");
    if (min) emit_exact(t, u, un, min);
    if (max == MAXREPEAT) {
        buf_put(t, &t->out, u, un);
        buf_puts(t, &t->out, mode == '?' ? "*?" : "*");
    } else if (max > min) {
        emit_upto(t, u, un, max - min, mode == '?');
    }
    if (mode == '+') buf_puts(t, &t->out, ")");
    free(u);
}

/* The quantifier starting with `this` (already read; `here` is the byte index after it)
 * on the item emitted from t->out.d[item] (which opened groups after the first `groups`).
 * Returns false when a '{' turned out to be a literal (already emitted as an item). */
static bool parse_repeat(Tr *t, int32_t this, size_t here, int lastkind, Width *last, size_t item,
                         int groups) {
    uint64_t min, max;
    char q[48];
    if (this == '?') {
        min = 0, max = 1;
        strcpy(q, "?");
    } else if (this == '*') {
        min = 0, max = MAXREPEAT;
        strcpy(q, "*");
    } else if (this == '+') {
        min = 1, max = MAXREPEAT;
        strcpy(q, "+");
    } else {
        if (t->next == '}') return false;
        bool has_lo, has_hi;
        min = 0, max = MAXREPEAT;
        uint64_t lo = read_count(t, &has_lo), hi;
        if (tok_match(t, ',')) {
            hi = read_count(t, &has_hi);
        } else {
            hi = lo;
            has_hi = has_lo;
        }
        if (!tok_match(t, '}')) {
            tok_seek(t, here);
            return false;
        }
        if (has_lo) {
            min = lo;
            if (min >= MAXREPEAT) too_large(t);
        }
        if (has_hi) {
            max = hi;
            if (max >= MAXREPEAT) too_large(t);
            if (max < min)
                FAIL(t, tell(t) - charpos(t, here), "min repeat greater than max repeat");
        }
        if (max == MAXREPEAT)
            snprintf(q, sizeof q, "{%llu,}", (unsigned long long)min);
        else
            snprintf(q, sizeof q, "{%llu,%llu}", (unsigned long long)min, (unsigned long long)max);
    }
    long qpos = charpos(t, here) - 1;
    if (lastkind == K_NONE || lastkind == K_AT) fail_at(t, RE_ERR_ERROR, qpos, "nothing to repeat");
    if (lastkind == K_REPEAT) fail_at(t, RE_ERR_ERROR, qpos, "multiple repeat");
    char mode = tok_match(t, '?') ? '?' : tok_match(t, '+') ? '+' : 0;
    if ((min > PCRE_MAXREP || (max != MAXREPEAT && max > PCRE_MAXREP)) && t->ngroups == groups) {
        emit_big_repeat(t, item, min, max, mode);
    } else {
        buf_puts(t, &t->out, q);
        if (mode) buf_put(t, &t->out, &mode, 1);
    }
    uint64_t hi = (max == MAXREPEAT && last->hi) ? MAXW : wmul(last->hi, max);
    *last = (Width){wmul(last->lo, min), hi};
    return true;
}

/* Python's inline flag letters. */
static uint32_t flag_of(int32_t c) {
    switch (c) {
    case 'i': return RE_FLAG_IGNORECASE;
    case 'L': return RE_FLAG_LOCALE;
    case 'm': return RE_FLAG_MULTILINE;
    case 's': return RE_FLAG_DOTALL;
    case 'x': return RE_FLAG_VERBOSE;
    case 'a': return RE_FLAG_ASCII;
    case 't': return RE_FLAG_TEMPLATE;
    case 'u': return RE_FLAG_UNICODE;
    default: return 0;
    }
}

#define TYPE_FLAGS (RE_FLAG_ASCII | RE_FLAG_LOCALE | RE_FLAG_UNICODE)
#define GLOBAL_FLAGS (RE_FLAG_DEBUG | RE_FLAG_TEMPLATE)

static bool tok_isalpha(int32_t c) { return !(c & ESC) && c >= 0 && asy_uc_isalpha((uint32_t)c); }

/* _parse_flags, after "(?" and the first flag character c. Returns true for global flags
 * "(?aiLmsux)" (added to t->flags), false for a scoped "(?flags-flags:" (in *add, *del). */
static bool parse_flags(Tr *t, int32_t c, uint32_t *add, uint32_t *del) {
    *add = *del = 0;
    if (c != '-') {
        for (;;) {
            uint32_t flag = flag_of(c);
            if (!t->bytes && c == 'L')
                FAIL(t, 0, "bad inline flags: cannot use 'L' flag with a str pattern");
            if (t->bytes && c == 'u')
                FAIL(t, 0, "bad inline flags: cannot use 'u' flag with a bytes pattern");
            *add |= flag;
            if ((flag & TYPE_FLAGS) && (*add & TYPE_FLAGS) != flag)
                FAIL(t, 0, "bad inline flags: flags 'a', 'u' and 'L' are incompatible");
            c = tok_get(t);
            if (c == TOK_END) FAIL(t, 0, "missing -, : or )");
            if (c == ')' || c == '-' || c == ':') break;
            if (!flag_of(c))
                FAIL(t, tok_len(c), "%s", tok_isalpha(c) ? "unknown flag" : "missing -, : or )");
        }
    }
    if (c == ')') {
        t->flags |= *add;
        return true;
    }
    if (*add & GLOBAL_FLAGS) FAIL(t, 1, "bad inline flags: cannot turn on global flag");
    if (c == '-') {
        c = tok_get(t);
        if (c == TOK_END) FAIL(t, 0, "missing flag");
        if (!flag_of(c))
            FAIL(t, tok_len(c), "%s", tok_isalpha(c) ? "unknown flag" : "missing flag");
        for (;;) {
            uint32_t flag = flag_of(c);
            if (flag & TYPE_FLAGS)
                FAIL(t, 0, "bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
            *del |= flag;
            c = tok_get(t);
            if (c == TOK_END) FAIL(t, 0, "missing :");
            if (c == ':') break;
            if (!flag_of(c))
                FAIL(t, tok_len(c), "%s", tok_isalpha(c) ? "unknown flag" : "missing :");
        }
    }
    if (*del & GLOBAL_FLAGS) FAIL(t, 1, "bad inline flags: cannot turn off global flag");
    if (*add & *del) FAIL(t, 1, "bad inline flags: flag turned on and off");
    return false;
}

/* The PCRE2 spelling of a scoped flag group's opening. */
static void emit_scoped_flags(Tr *t, uint32_t add, uint32_t del) {
    static const struct {
        uint32_t flag;
        char letter;
    } pcre_letters[] = {{RE_FLAG_IGNORECASE, 'i'}, {RE_FLAG_MULTILINE, 'm'}, {RE_FLAG_DOTALL, 's'}};
    char s[16];
    size_t n = 0;
    s[n++] = '(';
    s[n++] = '?';
    for (int i = 0; i < 3; i++)
        if (add & pcre_letters[i].flag) s[n++] = pcre_letters[i].letter;
    if (del & (RE_FLAG_IGNORECASE | RE_FLAG_MULTILINE | RE_FLAG_DOTALL)) {
        s[n++] = '-';
        for (int i = 0; i < 3; i++)
            if (del & pcre_letters[i].flag) s[n++] = pcre_letters[i].letter;
    }
    s[n++] = ':';
    buf_put(t, &t->out, s, n);
}

/* int(condname) for a conditional group reference, as Python's int() reads it (spaces,
 * a sign, underscores between digits, Unicode decimal digits); -1 when it is no int. */
static long cond_number(const Tr *t, size_t a, size_t b) {
    while (a < b && (t->s[a] == ' ' || (t->s[a] >= '\t' && t->s[a] <= '\r')))
        a++;
    while (b > a && (t->s[b - 1] == ' ' || (t->s[b - 1] >= '\t' && t->s[b - 1] <= '\r')))
        b--;
    if (a < b && t->s[a] == '+') a++;
    if (a >= b) return -1;
    long v = 0;
    bool last_digit = false;
    for (size_t i = a; i < b;) {
        uint32_t c;
        i += decode_at(t, i, &c);
        int d = c < 0x80 ? (is_digit((int32_t)c) ? (int)c - '0' : -1) : asy_uc_decimal(c);
        if (c == '_' && last_digit && i < b) {
            last_digit = false;
            continue;
        }
        if (d < 0) return -1;
        v = v > MAXGROUPS ? v : v * 10 + d;
        last_digit = true;
    }
    return last_digit ? v : -1;
}

/* The decimal digits of the number cond_number read (for messages about huge numbers). */
static void number_text(const Tr *t, size_t a, size_t b, char *out, size_t cap) {
    size_t j = 0;
    for (size_t i = a; i < b && j + 1 < cap;) {
        uint32_t c;
        i += decode_at(t, i, &c);
        int d = c < 0x80 ? (is_digit((int32_t)c) ? (int)c - '0' : -1) : asy_uc_decimal(c);
        if (d < 0 || (d == 0 && j == 0)) continue;
        out[j++] = (char)('0' + d);
    }
    if (j == 0) out[j++] = '0';
    out[j] = '\0';
}

/* "(?(" condition ")" yes "|" no ")": returns the width. */
static Width parse_conditional(Tr *t, bool verbose, int nested, size_t start) {
    size_t a, b;
    tok_getuntil(t, ')', "group name", &a, &b);
    long len = span_chars(t, a, b);
    long gid;
    if (span_is_identifier(t, a, b)) {
        gid = find_group_name(t, a, b);
        if (!gid) {
            char r[200];
            repr_span(t, a, b, r, sizeof r);
            FAIL(t, len + 1, "unknown group name %s", r);
        }
    } else {
        gid = cond_number(t, a, b);
        if (gid < 0) {
            char r[200];
            repr_span(t, a, b, r, sizeof r);
            FAIL(t, len + 1, "bad character in group name %s", r);
        }
        if (gid == 0) FAIL(t, len + 1, "bad group number");
        if (gid >= MAXGROUPS) {
            char num[64];
            number_text(t, a, b, num, sizeof num);
            FAIL(t, len + 1, "invalid group reference %s", num);
        }
        bool seen = false;
        for (int i = 0; i < t->nrefs; i++)
            seen |= t->refs[i].gid == gid;
        if (!seen) {
            if (t->nrefs == t->refcap) {
                t->refcap = t->refcap ? t->refcap * 2 : 4;
                t->refs = xrealloc(t, t->refs, sizeof *t->refs * (size_t)t->refcap);
            }
            t->refs[t->nrefs++] = (struct GroupRef){gid, tell(t) - len - 1};
        }
    }
    check_lookbehind_group(t, gid);
    buf_printf(t, &t->out, "(?(%ld)", gid);
    int nitems, sub;
    Width yes = parse_seq(t, verbose, nested + 1, false, &nitems, &sub), w = yes;
    if (tok_match(t, '|')) {
        buf_puts(t, &t->out, "|");
        Width no = parse_seq(t, verbose, nested + 1, false, &nitems, &sub);
        if (t->next == '|') FAIL(t, 0, "conditional backref with more than two branches");
        w.lo = no.lo < w.lo ? no.lo : w.lo;
        w.hi = no.hi > w.hi ? no.hi : w.hi;
    } else {
        w.lo = 0;
    }
    if (!tok_match(t, ')'))
        FAIL(t, tell(t) - charpos(t, start), "missing ), unterminated subpattern");
    buf_puts(t, &t->out, ")");
    return w;
}

static void char_to_text(int32_t c, char *out) {
    size_t n = 0;
    if (c & ESC) out[n++] = '\\';
    n += asy_utf8_encode((uint32_t)(c & ~ESC), out + n);
    out[n] = '\0';
}

/* A look-ahead or look-behind; c is '=', '!' or '<'. */
static Width parse_lookaround(Tr *t, int32_t c, bool verbose, int nested, size_t start) {
    bool behind = false;
    if (c == '<') {
        c = tok_get(t);
        if (c == TOK_END) FAIL(t, 0, "unexpected end of pattern");
        if (c != '=' && c != '!') {
            char r[8];
            char_to_text(c, r);
            FAIL(t, tok_len(c) + 2, "unknown extension ?<%s", r);
        }
        behind = true;
    }
    int saved_lb = t->lookbehindgroups;
    if (behind && saved_lb < 0) t->lookbehindgroups = t->ngroups + 1;
    buf_puts(t, &t->out, behind ? (c == '=' ? "(?<=" : "(?<!") : (c == '=' ? "(?=" : "(?!"));
    Width w = parse_sub(t, verbose, nested + 1);
    if (behind) t->lookbehindgroups = saved_lb;
    if (!tok_match(t, ')'))
        FAIL(t, tell(t) - charpos(t, start), "missing ), unterminated subpattern");
    buf_puts(t, &t->out, ")");
    if (behind && (w.lo > MAXCODE || w.lo != w.hi)) {
        /* raised by CPython's compiler, after the whole parse: remember the first */
        long at = charpos(t, start);
        if (t->lb_err_start < 0 || at < t->lb_err_start) {
            t->lb_err_start = at;
            t->lb_err = w.lo > MAXCODE ? "looks too much behind"
                                       : "look-behind requires fixed-width pattern";
        }
    }
    return (Width){0, 0};
}

/* After '(' at byte `start`. Returns the item kind (K_NONE when nothing was added: a
 * comment or global flags) with its width in *w. */
static int parse_group(Tr *t, bool *verbose, int nested, bool first, int lastkind, size_t start,
                       Width *w) {
    bool capture = true, atomic = false, named = false;
    size_t name_a = 0, name_b = 0;
    uint32_t add = 0, del = 0;
    if (tok_match(t, '?')) {
        int32_t c = tok_get(t);
        if (c == TOK_END) FAIL(t, 0, "unexpected end of pattern");
        if (c == 'P') {
            if (tok_match(t, '<')) {
                tok_getuntil(t, '>', "group name", &name_a, &name_b);
                check_group_name(t, name_a, name_b, 1);
                named = true;
            } else if (tok_match(t, '=')) {
                tok_getuntil(t, ')', "group name", &name_a, &name_b);
                check_group_name(t, name_a, name_b, 1);
                long len = span_chars(t, name_a, name_b);
                int gid = find_group_name(t, name_a, name_b);
                if (!gid) {
                    char r[200];
                    repr_span(t, name_a, name_b, r, sizeof r);
                    FAIL(t, len + 1, "unknown group name %s", r);
                }
                if (!group_closed(t, gid)) FAIL(t, len + 1, "cannot refer to an open group");
                check_lookbehind_group(t, gid);
                emit_backref(t, gid);
                *w = t->gwidth[gid];
                return K_ITEM;
            } else {
                c = tok_get(t);
                if (c == TOK_END) FAIL(t, 0, "unexpected end of pattern");
                char r[8];
                char_to_text(c, r);
                FAIL(t, tok_len(c) + 2, "unknown extension ?P%s", r);
            }
        } else if (c == ':') {
            capture = false;
        } else if (c == '#') {
            for (;;) {
                if (t->next == TOK_END)
                    FAIL(t, tell(t) - charpos(t, start), "missing ), unterminated comment");
                if (tok_get(t) == ')') break;
            }
            return K_NONE;
        } else if (c == '=' || c == '!' || c == '<') {
            *w = parse_lookaround(t, c, *verbose, nested, start);
            return K_ITEM;
        } else if (c == '(') {
            *w = parse_conditional(t, *verbose, nested, start);
            return K_ITEM;
        } else if (c == '>') {
            capture = false;
            atomic = true;
        } else if (flag_of(c) || c == '-') {
            if (parse_flags(t, c, &add, &del)) {
                if (!first || lastkind != K_NONE)
                    FAIL(t, tell(t) - charpos(t, start),
                         "global flags not at the start of the expression");
                *verbose = t->flags & RE_FLAG_VERBOSE;
                t->icase = t->flags & RE_FLAG_IGNORECASE;
                t->ascii = t->native_ascii =
                    t->bytes || (t->flags & (RE_FLAG_ASCII | RE_FLAG_LOCALE));
                return K_NONE;
            }
            capture = false;
        } else {
            char r[8];
            char_to_text(c, r);
            FAIL(t, tok_len(c) + 1, "unknown extension ?%s", r);
        }
    }
    int gid = capture ? open_group(t, name_a, name_b, named) : 0;
    bool sub_verbose = (*verbose || (add & RE_FLAG_VERBOSE)) && !(del & RE_FLAG_VERBOSE);
    if (capture)
        buf_puts(t, &t->out, "(");
    else if (atomic)
        buf_puts(t, &t->out, "(?>");
    else
        emit_scoped_flags(t, add, del);
    int saved_group = t->cur_group;
    bool saved_ascii = t->ascii, saved_icase = t->icase;
    if (add & RE_FLAG_IGNORECASE) t->icase = true;
    if (del & RE_FLAG_IGNORECASE) t->icase = false;
    if (capture) t->cur_group = gid;
    if (add & (RE_FLAG_ASCII | RE_FLAG_LOCALE)) t->ascii = true;
    if (add & RE_FLAG_UNICODE) t->ascii = false;
    Width inner = parse_sub(t, sub_verbose, nested + 1);
    t->cur_group = saved_group;
    t->ascii = saved_ascii;
    t->icase = saved_icase;
    if (!tok_match(t, ')'))
        FAIL(t, tell(t) - charpos(t, start), "missing ), unterminated subpattern");
    buf_puts(t, &t->out, ")");
    if (capture) {
        t->gwidth[gid] = inner;
        t->gclosed[gid] = true;
    }
    *w = inner;
    return K_ITEM;
}

static bool is_special(int32_t c) {
    return c >= 0 && c < 0x80 && strchr(".\\[{()*+?^$|", (int)c) && c != 0;
}

/* _parse: a sequence of items up to '|', ')' or the end. Returns its width. */
static Width parse_seq(Tr *t, bool verbose, int nested, bool first, int *nitems, int *sub) {
    Width total = {0, 0}, last = {0, 0};
    int lastkind = K_NONE;
    size_t last_item = t->out.n;  /* where the last item's text starts, and the groups */
    int last_groups = t->ngroups; /* opened before it: for repeats of big counts      */
    *nitems = 0;
    *sub = S_OTHER;
    for (;;) {
        int32_t this = t->next;
        if (this == TOK_END || this == '|' || this == ')') break;
        size_t here = t->tokpos;
        tok_advance(t);
        if (verbose) {
            if (this == ' ' || (this >= '\t' && this <= '\r')) continue;
            if (this == '#') {
                for (;;) {
                    int32_t c = tok_get(t);
                    if (c == TOK_END || c == '\n') break;
                }
                continue;
            }
        }
        Width w = {1, 1};
        int kind = K_ITEM;
        size_t item = t->out.n;
        int groups = t->ngroups;
        t->sub = S_OTHER;
        if (this & ESC) {
            kind = parse_escape(t, this, here, &w);
        } else if (!is_special(this)) {
            emit_item_literal(t, (uint32_t)this);
        } else if (this == '[') {
            parse_class(t, here);
        } else if (this == '*' || this == '+' || this == '?' || this == '{') {
            if (parse_repeat(t, this, t->tokpos, lastkind, &last, last_item, last_groups)) {
                lastkind = K_REPEAT;
                *sub = S_OTHER;
                continue;
            }
            emit_literal(t, &t->out, '{');
            t->sub = S_LIT;
        } else if (this == '.') {
            buf_puts(t, &t->out, ".");
        } else if (this == '(') {
            if (++t->depth > MAX_NESTING)
                fail_at(t, RE_ERR_RECURSION, -1, "maximum recursion depth exceeded");
            kind = parse_group(t, &verbose, nested, first, lastkind, here, &w);
            t->depth--;
            t->sub = S_OTHER; /* (items inside the group set it) */
            if (kind == K_NONE) continue;
        } else if (this == '^') {
            buf_puts(t, &t->out, "^");
            w = (Width){0, 0};
            kind = K_AT;
        } else { /* '$' */
            buf_puts(t, &t->out, "$");
            w = (Width){0, 0};
            kind = K_AT;
        }
        if (lastkind != K_NONE) total = (Width){wadd(total.lo, last.lo), wadd(total.hi, last.hi)};
        last = w;
        lastkind = kind;
        last_item = item;
        last_groups = groups;
        ++*nitems;
        *sub = t->sub;
    }
    if (lastkind != K_NONE) total = (Width){wadd(total.lo, last.lo), wadd(total.hi, last.hi)};
    return total;
}

/* _parse_sub: alternatives separated by '|'. */
static Width parse_sub(Tr *t, bool verbose, int nested) {
    Width w = {MAXW, 0};
    bool first = true, classable = true;
    size_t start = t->out.n;
    if (!t->alts) {
        t->alts = xrealloc(t, NULL, sizeof(Buf) * (MAX_NESTING + 2));
        memset(t->alts, 0, sizeof(Buf) * (MAX_NESTING + 2));
    }
    Buf *set = &t->alts[t->depth]; /* the alternatives so far as one class body */
    set->n = 0;
    int nbranches = 0;
    for (;;) {
        size_t bstart = t->out.n;
        int nitems, sub;
        Width b = parse_seq(t, verbose, nested + 1, !nested && first, &nitems, &sub);
        if (b.lo < w.lo) w.lo = b.lo;
        if (b.hi > w.hi) w.hi = b.hi;
        nbranches++;
        classable &= nitems == 1 && sub != S_OTHER;
        if (classable) {
            size_t strip = sub == S_SET; /* a class contributes its body */
            buf_put(t, set, t->out.d + bstart + strip, t->out.n - bstart - 2 * strip);
        }
        if (!tok_match(t, '|')) break;
        buf_puts(t, &t->out, "|");
        if (!nested) verbose = t->flags & RE_FLAG_VERBOSE;
        first = false;
    }
    if (classable && nbranches > 1) {
        t->out.n = start;
        buf_puts(t, &t->out, "[");
        buf_put(t, &t->out, set->d, set->n);
        buf_puts(t, &t->out, "]");
    }
    return w;
}

/* fix_flags: the flag checks that depend on the pattern's type. */
static void fix_flags(Tr *t) {
    if (!t->bytes) {
        if (t->flags & RE_FLAG_LOCALE)
            fail_at(t, RE_ERR_VALUE, -1, "cannot use LOCALE flag with a str pattern");
        if (!(t->flags & RE_FLAG_ASCII))
            t->flags |= RE_FLAG_UNICODE;
        else if (t->flags & RE_FLAG_UNICODE)
            fail_at(t, RE_ERR_VALUE, -1, "ASCII and UNICODE flags are incompatible");
    } else {
        if (t->flags & RE_FLAG_UNICODE)
            fail_at(t, RE_ERR_VALUE, -1, "cannot use UNICODE flag with a bytes pattern");
        if ((t->flags & RE_FLAG_LOCALE) && (t->flags & RE_FLAG_ASCII))
            fail_at(t, RE_ERR_VALUE, -1, "ASCII and LOCALE flags are incompatible");
    }
}

static void free_alts(Tr *t) {
    if (t->alts)
        for (int i = 0; i < MAX_NESTING + 2; i++)
            free(t->alts[i].d);
    free(t->alts);
}

static void tr_free(Tr *t) {
    free_alts(t);
    free(t->out.d);
    free(t->cls.d);
    free(t->gwidth);
    free(t->gclosed);
    free(t->parent);
    for (int i = 0; i < t->nnames; i++)
        free(t->names[i].name);
    free(t->names);
    free(t->refs);
}

bool re_translate(const char *pat, size_t len, bool is_bytes, uint32_t flags, ReTranslation *out,
                  ReError *err) {
    Tr *t = calloc(1, sizeof *t);
    if (!t) {
        err->kind = RE_ERR_MEMORY;
        err->pos = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    memset(out, 0, sizeof *out);
    err->kind = RE_ERR_NONE;
    err->pos = -1;
    err->msg[0] = '\0';
    t->s = pat;
    t->n = len;
    t->bytes = is_bytes;
    t->flags = flags;
    t->err = err;
    t->lookbehindgroups = -1;
    t->lb_err_start = -1;
    t->ascii = t->native_ascii = is_bytes || (flags & (RE_FLAG_ASCII | RE_FLAG_LOCALE));
    t->icase = flags & RE_FLAG_IGNORECASE;
    if (setjmp(t->jb)) {
        tr_free(t);
        free(t);
        return false;
    }
    buf_puts(t, &t->out, "");
    tok_advance(t);
    parse_sub(t, flags & RE_FLAG_VERBOSE, 0);
    fix_flags(t);
    if (t->next != TOK_END) FAIL(t, 0, "unbalanced parenthesis");
    for (int i = 0; i < t->nrefs; i++)
        if (t->refs[i].gid > t->ngroups)
            fail_at(t, RE_ERR_ERROR, t->refs[i].pos, "invalid group reference %ld", t->refs[i].gid);
    if (t->lb_err) fail_at(t, RE_ERR_ERROR, -1, "%s", t->lb_err);
    out->pcre = t->out.d;
    out->pcre_len = t->out.n;
    out->flags = t->flags;
    out->ngroups = t->ngroups;
    out->parent = t->parent ? t->parent : calloc(1, sizeof(int));
    if (out->parent) out->parent[0] = 0;
    out->names = t->names;
    out->nnames = t->nnames;
    out->ucp = !is_bytes && !(t->flags & (RE_FLAG_ASCII | RE_FLAG_LOCALE));
    free(t->gwidth);
    free(t->gclosed);
    free(t->refs);
    free(t->cls.d);
    free_alts(t);
    free(t);
    if (!out->parent) {
        re_translation_free(out);
        err->kind = RE_ERR_MEMORY;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    return true;
}

void re_translation_free(ReTranslation *t) {
    free(t->pcre);
    free(t->parent);
    for (int i = 0; i < t->nnames; i++)
        free(t->names[i].name);
    free(t->names);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------ */
/* Replacement templates (parse_template)                                                */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    Tr tr; /* the tokenizer and error machinery                         */
    ReTemplate *tp;
    int icap;
    size_t lit_start; /* start in tp->lits of the literal being collected         */
} Tp;

static void tp_add(Tp *p, int group, size_t off, size_t len) {
    ReTemplate *tp = p->tp;
    if (tp->nitems == p->icap) {
        p->icap = p->icap ? p->icap * 2 : 8;
        tp->items = xrealloc(&p->tr, tp->items, sizeof(ReTemplateItem) * (size_t)p->icap);
    }
    tp->items[tp->nitems++] = (ReTemplateItem){group, off, len};
}

static void tp_flush_literal(Tp *p) {
    size_t n = p->tr.out.n - p->lit_start;
    if (n) tp_add(p, -1, p->lit_start, n);
    p->lit_start = p->tr.out.n;
}

/* A character of the result: a code point (UTF-8 for str) or a byte (latin-1 for bytes). */
static void tp_putc(Tp *p, uint32_t c) {
    char u[4];
    if (p->tr.bytes) {
        u[0] = (char)c;
        buf_put(&p->tr, &p->tr.out, u, 1);
    } else {
        buf_put(&p->tr, &p->tr.out, u, asy_utf8_encode(c, u));
    }
}

static void tp_addgroup(Tp *p, long index, long offset, int ngroups) {
    if (index > ngroups) FAIL(&p->tr, offset, "invalid group reference %ld", index);
    tp_flush_literal(p);
    tp_add(p, (int)index, 0, 0);
}

/* \g<name> or \g<number> */
static void tp_named_group(Tp *p, int ngroups, const ReGroupName *names, int nnames) {
    Tr *t = &p->tr;
    if (!tok_match(t, '<')) FAIL(t, 0, "missing <");
    size_t a, b;
    tok_getuntil(t, '>', "group name", &a, &b);
    long len = span_chars(t, a, b);
    long index;
    if (span_is_identifier(t, a, b)) {
        index = -1;
        for (int i = 0; i < nnames; i++)
            if (names[i].len == b - a && memcmp(names[i].name, t->s + a, b - a) == 0)
                index = names[i].gid;
        if (index < 0) {
            char r[200];
            repr_span(t, a, b, r, sizeof r);
            fail_at(t, RE_ERR_INDEX, -1, "unknown group name %s", r);
        }
    } else {
        index = cond_number(t, a, b);
        if (index < 0) {
            char r[200];
            repr_span(t, a, b, r, sizeof r);
            FAIL(t, len + 1, "bad character in group name %s", r);
        }
        if (index >= MAXGROUPS) {
            char num[64];
            number_text(t, a, b, num, sizeof num);
            FAIL(t, len + 1, "invalid group reference %s", num);
        }
    }
    tp_addgroup(p, index, len + 1, ngroups);
}

bool re_template_parse(const char *s, size_t len, bool is_bytes, int ngroups,
                       const ReGroupName *names, int nnames, ReTemplate *out, ReError *err) {
    Tp *p = calloc(1, sizeof *p);
    memset(out, 0, sizeof *out);
    if (!p) {
        err->kind = RE_ERR_MEMORY;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return false;
    }
    Tr *t = &p->tr;
    t->s = s;
    t->n = len;
    t->bytes = is_bytes;
    t->err = err;
    p->tp = out;
    err->kind = RE_ERR_NONE;
    err->pos = -1;
    if (setjmp(t->jb)) {
        free(t->out.d);
        free(out->items);
        memset(out, 0, sizeof *out);
        free(p);
        return false;
    }
    buf_puts(t, &t->out, "");
    tok_advance(t);
    for (;;) {
        size_t start = t->tokpos;
        int32_t this = tok_get(t);
        if (this == TOK_END) break;
        if (!(this & ESC)) {
            tp_putc(p, (uint32_t)this);
            continue;
        }
        int32_t c = this & ~ESC;
        uint32_t lit;
        if (c == 'g') {
            tp_named_group(p, ngroups, names, nnames);
        } else if (c == '0') {
            uint32_t v = 0;
            for (int k = 0; k < 2 && is_octdigit(t->next); k++)
                v = v * 8 + (uint32_t)(tok_get(t) - '0');
            tp_putc(p, v & 0xff);
        } else if (is_digit(c)) {
            long index = c - '0';
            if (is_digit(t->next)) {
                int32_t d2 = tok_get(t);
                if (is_octdigit(c) && is_octdigit(d2) && is_octdigit(t->next)) {
                    int32_t d3 = tok_get(t);
                    uint32_t v = (uint32_t)((c - '0') * 64 + (d2 - '0') * 8 + (d3 - '0'));
                    tp_putc(p, octal_value(t, start, v, true));
                    continue;
                }
                index = index * 10 + (d2 - '0');
            }
            tp_addgroup(p, index, span_chars(t, start, t->tokpos) - 1, ngroups);
        } else if (simple_escape(c, &lit)) {
            tp_putc(p, lit);
        } else if (is_asciiletter(c)) {
            bad_escape(t, start);
        } else {
            tp_putc(p, '\\');
            tp_putc(p, (uint32_t)c);
        }
    }
    tp_flush_literal(p);
    out->lits = t->out.d;
    out->lits_len = t->out.n;
    out->literal = true;
    for (int i = 0; i < out->nitems; i++)
        out->literal &= out->items[i].group < 0;
    free(p);
    return true;
}

void re_template_free(ReTemplate *t) {
    free(t->lits);
    free(t->items);
    memset(t, 0, sizeof *t);
}
