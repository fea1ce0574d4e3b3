/* mod_json.c - the json module, as CPython 3.11's json with its C accelerator: dumps/dump
 * (an encoder writing into one buffer), loads/load (an iterative decoder, so nesting is
 * bounded by the recursion limit and never by the C stack), JSONDecodeError with CPython's
 * messages and positions, and the JSONEncoder/JSONDecoder classes (written in asy below,
 * over the same C functions). json.decoder and json.encoder are registered as submodules.
 *
 * Text is handled as the UTF-8 bytes of the str; positions reported to the user are code
 * point indexes, counted only when an error needs one.
 */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "fiber.h"
#include "number.h"
#include "unicode.h"
#include "vm.h"

/* The encoder recurses in C: a hard bound keeps it far from the end of the C stack even
 * when sys.setrecursionlimit() allows more. */
#define JSON_MAX_C_DEPTH 10000

static bool is_str(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == ASY_TYPE(vm, str) ||
                             asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, str)));
}

static bool is_a(AsyVM *vm, AsyValue v, AsyType *t) {
    ASY_UNUSED(vm);
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == t || asy_is_subtype(ASY_AS_OBJ(v)->type, t));
}

#define STR(v) ((AsyStr *)ASY_AS_OBJ(v))

/* How many more nested containers the running code may open: what remains of the
 * recursion limit, as CPython's Py_EnterRecursiveCall counts it (at most `cap`). */
static int json_depth_budget(AsyVM *vm, int cap) {
    int used = vm->fiber ? vm->fiber->nframes : 0;
    int n = vm->recursion_limit - used - 4;
    if (n > cap) n = cap;
    return n < 1 ? 1 : n;
}

/* ------------------------------------------------------------------------------------ */
/* Output buffer                                                                          */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
    char *inline_data; /* the caller's first buffer (not malloc'd), or NULL   */
} JBuf;

static bool jb_grow(AsyVM *vm, JBuf *b, size_t extra) {
    if (b->failed) return false;
    if (extra >= ASY_MAX_ALLOC || b->len + extra >= ASY_MAX_ALLOC) goto oom;
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->len + extra)
        ncap *= 2;
    bool first = b->data && b->data == b->inline_data;
    char *d = first ? malloc(ncap) : realloc(b->data, ncap);
    if (!d) goto oom;
    if (first) memcpy(d, b->data, b->len);
    b->data = d;
    b->cap = ncap;
    return true;
oom:
    b->failed = true;
    asy_raise_memory(vm);
    return false;
}

static inline bool jb_reserve(AsyVM *vm, JBuf *b, size_t extra) {
    return b->len + extra <= b->cap || jb_grow(vm, b, extra);
}

static inline bool jb_put(AsyVM *vm, JBuf *b, const char *s, size_t n) {
    if (n == 0) return true;
    if (!jb_reserve(vm, b, n)) return false;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return true;
}

static inline bool jb_putc(AsyVM *vm, JBuf *b, char c) {
    if (!jb_reserve(vm, b, 1)) return false;
    b->data[b->len++] = c;
    return true;
}

/* ------------------------------------------------------------------------------------ */
/* Encoder                                                                                */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    AsyVM *vm;
    JBuf out;
    bool skipkeys, ensure_ascii, check_circular, allow_nan, sort_keys;
    bool pretty;        /* indent given: CPython's pure-Python encoder      */
    const char *indent; /* one level of indentation (pretty only)         */
    size_t indent_len;
    const char *item_sep, *key_sep;
    size_t item_sep_len, key_sep_len;
    AsyValue default_fn;         /* UNDEF: raise TypeError                         */
    int level;                   /* indentation level (pretty only)                */
    int depth, max_depth;        /* nesting, bounded as CPython's recursion check  */
    AsyObj **markers;            /* containers being encoded (circular check):     */
    size_t nmarkers, capmarkers; /* inline_markers until nesting goes deeper       */
    AsyObj *inline_markers[32];
    char inline_out[1024]; /* small documents never touch malloc             */
} Enc;

static const char hexdigits[] = "0123456789abcdef";

/* Scanning strings eight bytes at a time (SWAR): the bytes of w that are zero, or below n
 * (n <= 128), flagged by their high bit. */
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGHS 0x8080808080808080ull
static inline uint64_t swar_zero(uint64_t w) { return (w - SWAR_ONES) & ~w & SWAR_HIGHS; }
static inline uint64_t swar_below(uint64_t w, uint8_t n) {
    return (w - SWAR_ONES * n) & ~w & SWAR_HIGHS;
}

/* Which bytes a JSON string can hold as they are: 1 plain, 2 plain unless ensure_ascii
 * (DEL and every byte of a non-ASCII character), 0 needs an escape or ends the string
 * (control characters, '"' and '\\'). */
/* clang-format off */
static const uint8_t plain_byte[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};
/* clang-format on */

/* The index of the first byte from i on that needs an escape (with ascii_only, also DEL
 * and every non-ASCII byte), or n. The lowest flagged byte of a SWAR word is always a true
 * one (only bytes above a true one can be flagged falsely), so it is the answer. */
static inline size_t scan_plain(const uint8_t *p, size_t i, size_t n, bool ascii_only) {
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t hit = swar_below(w, 0x20) | swar_zero(w ^ (SWAR_ONES * '"')) |
                       swar_zero(w ^ (SWAR_ONES * '\\'));
        if (ascii_only) hit |= (w & SWAR_HIGHS) | swar_zero(w ^ (SWAR_ONES * 0x7f));
        if (hit) return i + ((size_t)__builtin_ctzll(hit) >> 3);
    }
    uint8_t ok = ascii_only ? 1 : 3;
    while (i < n && (plain_byte[p[i]] & ok))
        i++;
    return i;
}

static bool put_u_escape(AsyVM *vm, JBuf *b, uint32_t cp) {
    if (!jb_reserve(vm, b, 6)) return false;
    char *p = b->data + b->len;
    p[0] = '\\';
    p[1] = 'u';
    p[2] = hexdigits[(cp >> 12) & 15];
    p[3] = hexdigits[(cp >> 8) & 15];
    p[4] = hexdigits[(cp >> 4) & 15];
    p[5] = hexdigits[cp & 15];
    b->len += 6;
    return true;
}

static bool put_escape(AsyVM *vm, JBuf *b, uint8_t c) {
    const char *e = NULL;
    switch (c) {
    case '"': e = "\\\""; break;
    case '\\': e = "\\\\"; break;
    case '\n': e = "\\n"; break;
    case '\r': e = "\\r"; break;
    case '\t': e = "\\t"; break;
    case '\b': e = "\\b"; break;
    case '\f': e = "\\f"; break;
    default: return put_u_escape(vm, b, c);
    }
    return jb_put(vm, b, e, 2);
}

/* A JSON string literal of the UTF-8 text s (CPython's escaping: lowercase hex, surrogate
 * pairs for astral code points under ensure_ascii, which also escapes DEL). */
static bool enc_string(Enc *e, const char *s, size_t n) {
    AsyVM *vm = e->vm;
    JBuf *b = &e->out;
    const uint8_t *u = (const uint8_t *)s;
    size_t i = scan_plain(u, 0, n, e->ensure_ascii);
    if (i == n) { /* nothing to escape: the common case, one copy */
        if (!jb_reserve(vm, b, n + 2)) return false;
        char *o = b->data + b->len;
        o[0] = '"';
        memcpy(o + 1, s, n);
        o[n + 1] = '"';
        b->len += n + 2;
        return true;
    }
    if (!jb_putc(vm, b, '"') || !jb_put(vm, b, s, i)) return false;
    while (i < n) {
        if (u[i] < 0x80) {
            if (!put_escape(vm, b, u[i])) return false;
            i++;
        } else {
            uint32_t cp = asy_utf8_next(s, &i);
            if (cp >= 0x10000) {
                cp -= 0x10000;
                if (!put_u_escape(vm, b, 0xD800 | (cp >> 10)) ||
                    !put_u_escape(vm, b, 0xDC00 | (cp & 0x3FF)))
                    return false;
            } else if (!put_u_escape(vm, b, cp)) {
                return false;
            }
        }
        size_t run = i;
        i = scan_plain(u, i, n, e->ensure_ascii);
        if (!jb_put(vm, b, s + run, i - run)) return false;
    }
    return jb_putc(vm, b, '"');
}

static bool enc_int64(Enc *e, int64_t v) {
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (v < 0) *--p = '-';
    return jb_put(e->vm, &e->out, p, (size_t)(buf + sizeof buf - p));
}

/* int.__repr__ of any int (bigints, int subclasses). */
static bool enc_bigint(Enc *e, AsyValue v) {
    AsyValue s = asy_int_to_str(e->vm, v, 10);
    if (ASY_IS_ERR(s)) return false;
    return jb_put(e->vm, &e->out, STR(s)->data, STR(s)->len);
}

/* float.__repr__, or NaN/Infinity/-Infinity when allowed. */
static bool enc_float(Enc *e, double d) {
    AsyVM *vm = e->vm;
    if (isfinite(d)) {
        char buf[40];
        return jb_put(vm, &e->out, buf, asy_num_float_repr_buf(d, buf));
    }
    if (!e->allow_nan) {
        if (e->pretty) {
            asy_raise(vm, ASY_EXC_ValueError,
                      "Out of range float values are not JSON compliant: %s",
                      isnan(d) ? "nan"
                      : d > 0  ? "inf"
                               : "-inf");
        } else {
            asy_raise(vm, ASY_EXC_ValueError, "Out of range float values are not JSON compliant");
        }
        return false;
    }
    const char *t = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    return jb_put(vm, &e->out, t, strlen(t));
}

/* RecursionError, with the words of the encoder CPython would be running (its C one, or
 * the Python one that indent= selects). */
static bool enc_too_deep(Enc *e) {
    asy_raise(e->vm, ASY_EXC_RecursionError,
              e->pretty ? "maximum recursion depth exceeded while calling a Python object"
                        : "maximum recursion depth exceeded while encoding a JSON object");
    return false;
}

/* An empty container: CPython's C encoder enters its recursion check even for those. */
static bool enc_empty(Enc *e, const char *text) {
    if (!e->pretty && e->depth + 1 > e->max_depth) return enc_too_deep(e);
    return jb_put(e->vm, &e->out, text, 2);
}

/* Enter a container: the circular check and the depth bound. */
static bool enc_enter(Enc *e, AsyObj *o) {
    AsyVM *vm = e->vm;
    if (e->check_circular) {
        for (size_t i = 0; i < e->nmarkers; i++) {
            if (e->markers[i] == o) {
                asy_raise(vm, ASY_EXC_ValueError, "Circular reference detected");
                return false;
            }
        }
        if (e->nmarkers == e->capmarkers) {
            size_t ncap = e->capmarkers * 2;
            bool first = e->markers == e->inline_markers;
            AsyObj **m = first ? malloc(ncap * sizeof *m) : realloc(e->markers, ncap * sizeof *m);
            if (!m) {
                asy_raise_memory(vm);
                return false;
            }
            if (first) memcpy(m, e->markers, e->nmarkers * sizeof *m);
            e->markers = m;
            e->capmarkers = ncap;
        }
        e->markers[e->nmarkers++] = o;
    }
    if (++e->depth > e->max_depth) return enc_too_deep(e);
    /* Rooted while inside: default() may run asy code that drops it from its parent. */
    asy_root_push(vm, ASY_OBJ(o));
    return true;
}

static void enc_leave(Enc *e) {
    if (e->check_circular) e->nmarkers--;
    e->depth--;
    asy_root_pop(e->vm, 1);
}

/* A newline and the indentation of the current depth (pretty printing). */
static bool enc_newline(Enc *e) {
    AsyVM *vm = e->vm;
    if (!jb_putc(vm, &e->out, '\n')) return false;
    for (int i = 0; i < e->level; i++)
        if (!jb_put(vm, &e->out, e->indent, e->indent_len)) return false;
    return true;
}

static bool enc_item_sep(Enc *e) {
    if (!jb_put(e->vm, &e->out, e->item_sep, e->item_sep_len)) return false;
    return !e->pretty || enc_newline(e);
}

static bool enc_value(Enc *e, AsyValue v);

static bool enc_list(Enc *e, AsyValue v, bool tuple) {
    AsyVM *vm = e->vm;
    int64_t n = tuple ? ((AsyTuple *)ASY_AS_OBJ(v))->len : ((AsyList *)ASY_AS_OBJ(v))->len;
    if (n == 0) return enc_empty(e, "[]");
    if (!enc_enter(e, ASY_AS_OBJ(v)) || !jb_putc(vm, &e->out, '[')) return false;
    e->level++;
    if (e->pretty && !enc_newline(e)) return false;
    /* The length is read again each time: default() may change a list. */
    for (int64_t i = 0;; i++) {
        AsyValue item;
        if (tuple) {
            AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(v);
            if (i >= t->len) break;
            item = t->items[i];
        } else {
            AsyList *l = (AsyList *)ASY_AS_OBJ(v);
            if (i >= l->len) break;
            item = l->items[i];
        }
        if (i > 0 && !enc_item_sep(e)) return false;
        if (!enc_value(e, item)) return false;
    }
    enc_leave(e);
    e->level--;
    if (e->pretty && !enc_newline(e)) return false;
    return jb_putc(vm, &e->out, ']');
}

/* A dict key as JSON text (CPython's conversions); *skip when skipkeys drops it. */
static bool enc_key(Enc *e, AsyValue k, bool *skip) {
    AsyVM *vm = e->vm;
    *skip = false;
    if (is_str(vm, k)) return enc_string(e, STR(k)->data, STR(k)->len);
    JBuf *b = &e->out;
    size_t mark = b->len;
    bool ok;
    if (ASY_IS_FLOAT(k) || asy_num_is_floatobj(vm, k)) {
        ok = jb_putc(vm, b, '"') && enc_float(e, asy_num_float_value(k));
    } else if (ASY_IS_BOOL(k) || ASY_IS_NONE(k)) {
        const char *t = ASY_IS_NONE(k) ? "\"null" : ASY_AS_BOOL(k) ? "\"true" : "\"false";
        ok = jb_put(vm, b, t, strlen(t));
    } else if (ASY_IS_INT(k)) {
        ok = jb_putc(vm, b, '"') && enc_int64(e, ASY_AS_INT(k));
    } else if (asy_num_is_intobj(vm, k)) {
        ok = jb_putc(vm, b, '"') && enc_bigint(e, k);
    } else if (e->skipkeys) {
        *skip = true;
        return true;
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "keys must be str, int, float, bool or None, not %s",
                  asy_type_name(vm, k));
        return false;
    }
    if (ok) ok = jb_putc(vm, b, '"');
    if (!ok) b->len = mark;
    return ok;
}

/* One "key": value pair; *first tells whether a separator is due. */
static bool enc_pair(Enc *e, AsyValue k, AsyValue v, bool *first) {
    JBuf *b = &e->out;
    size_t mark = b->len;
    if (!*first && !enc_item_sep(e)) return false;
    bool skip;
    if (!enc_key(e, k, &skip)) return false;
    if (skip) {
        b->len = mark;
        return true;
    }
    *first = false;
    return jb_put(e->vm, b, e->key_sep, e->key_sep_len) && enc_value(e, v);
}

static bool enc_dict(Enc *e, AsyValue v) {
    AsyVM *vm = e->vm;
    AsyDict *d = (AsyDict *)ASY_AS_OBJ(v);
    if (d->len == 0) return enc_empty(e, "{}");
    if (!enc_enter(e, ASY_AS_OBJ(v)) || !jb_putc(vm, &e->out, '{')) return false;
    e->level++;
    if (e->pretty && !enc_newline(e)) return false;
    bool first = true;
    if (e->sort_keys) {
        /* sorted(d.items()): keys are distinct, so this is the order of sorted(keys). */
        AsyList *keys = asy_list_new(vm, d->len);
        if (!keys) return false;
        asy_root_push(vm, ASY_OBJ(keys));
        int64_t pos = 0;
        AsyValue k, val;
        while (asy_dict_next(d, &pos, &k, &val))
            keys->items[keys->len++] = k;
        bool ok = asy_list_sort(vm, keys, ASY_UNDEF, false) >= 0;
        for (int64_t i = 0; ok && i < keys->len; i++) {
            val = asy_dict_get(vm, d, keys->items[i]);
            if (ASY_IS_ERR(val))
                ok = false;
            else if (!ASY_IS_UNDEF(val))
                ok = enc_pair(e, keys->items[i], val, &first);
        }
        asy_root_pop(vm, 1);
        if (!ok) return false;
    } else {
        /* Entries are read again each time: default() may change a dict. */
        AsyValue k, v;
        for (int64_t pos = 0; asy_dict_next(d, &pos, &k, &v);)
            if (!enc_pair(e, k, v, &first)) return false;
    }
    enc_leave(e);
    e->level--;
    if (e->pretty && !enc_newline(e)) return false;
    return jb_putc(vm, &e->out, '}');
}

/* default(o), encoded in o's place (o stays marked, so returning o again is circular). */
static bool enc_default(Enc *e, AsyValue v) {
    AsyVM *vm = e->vm;
    if (ASY_IS_UNDEF(e->default_fn)) {
        asy_raise(vm, ASY_EXC_TypeError, "Object of type %s is not JSON serializable",
                  asy_type_name(vm, v));
        return false;
    }
    bool marked = ASY_IS_OBJ(v);
    if (marked && !enc_enter(e, ASY_AS_OBJ(v))) return false;
    AsyValue r = asy_call(vm, e->default_fn, 1, &v, NULL);
    if (ASY_IS_ERR(r)) return false;
    asy_root_push(vm, r);
    bool ok = enc_value(e, r);
    asy_root_pop(vm, 1);
    if (ok && marked) enc_leave(e);
    return ok;
}

static bool enc_value(Enc *e, AsyValue v) {
    AsyVM *vm = e->vm;
    switch (v.tag) {
    case ASY_T_NONE: return jb_put(vm, &e->out, "null", 4);
    case ASY_T_BOOL:
        return ASY_AS_BOOL(v) ? jb_put(vm, &e->out, "true", 4) : jb_put(vm, &e->out, "false", 5);
    case ASY_T_INT: return enc_int64(e, ASY_AS_INT(v));
    case ASY_T_FLOAT: return enc_float(e, ASY_AS_FLOAT(v));
    case ASY_T_OBJ: break;
    default: return enc_default(e, v);
    }
    AsyType *t = ASY_AS_OBJ(v)->type;
    if (t == ASY_TYPE(vm, str)) return enc_string(e, STR(v)->data, STR(v)->len);
    if (t == ASY_TYPE(vm, dict)) return enc_dict(e, v);
    if (t == ASY_TYPE(vm, list)) return enc_list(e, v, false);
    if (t == ASY_TYPE(vm, tuple)) return enc_list(e, v, true);
    if (is_str(vm, v)) return enc_string(e, STR(v)->data, STR(v)->len);
    if (asy_num_is_intobj(vm, v)) return enc_bigint(e, v);
    if (asy_num_is_floatobj(vm, v)) return enc_float(e, asy_num_float_value(v));
    if (is_a(vm, v, ASY_TYPE(vm, list))) return enc_list(e, v, false);
    if (is_a(vm, v, ASY_TYPE(vm, tuple))) return enc_list(e, v, true);
    if (is_a(vm, v, ASY_TYPE(vm, dict))) return enc_dict(e, v);
    return enc_default(e, v);
}

/* ---- dumps() arguments ---- */

typedef struct {
    AsyValue skipkeys, ensure_ascii, check_circular, allow_nan, cls, indent, separators, default_,
        sort_keys;
} DumpsArgs;

static const char *const dumps_kwnames[] = {"skipkeys",   "ensure_ascii", "check_circular",
                                            "allow_nan",  "cls",          "indent",
                                            "separators", "default",      "sort_keys"};

static bool flag_arg(AsyVM *vm, AsyValue v, bool dflt, bool *out) {
    if (ASY_IS_UNDEF(v)) {
        *out = dflt;
        return true;
    }
    int t = asy_truthy(vm, v);
    if (t < 0) return false;
    *out = t;
    return true;
}

/* The keyword arguments dumps() knows (taken out of kw, which keeps any others). */
static void dumps_take(AsyVM *vm, AsyDict *kw, DumpsArgs *a) {
    AsyValue *slots[] = {&a->skipkeys, &a->ensure_ascii, &a->check_circular, &a->allow_nan, &a->cls,
                         &a->indent,   &a->separators,   &a->default_,       &a->sort_keys};
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        *slots[i] = kw ? asy_kwarg(vm, kw, dumps_kwnames[i]) : ASY_UNDEF;
}

static AsyValue unexpected_kw(AsyVM *vm, const char *cls, AsyDict *kw) {
    int64_t pos = 0;
    AsyValue k, v;
    asy_dict_next(kw, &pos, &k, &v);
    return asy_raise(vm, ASY_EXC_TypeError, "%s.__init__() got an unexpected keyword argument '%S'",
                     cls, k);
}

/* item/key separators and indentation from the arguments, as JSONEncoder.__init__. The
 * strs live in three GC root slots from vm->roots[keep] (indexes: the root stack may move
 * while a separators iterable runs asy code). */
static bool enc_setup_format(Enc *e, DumpsArgs *a, size_t keep) {
    AsyVM *vm = e->vm;
#define KEEP(i) (vm->roots[keep + (i)])
    e->item_sep = ", ";
    e->key_sep = ": ";
    e->pretty = !ASY_IS_UNDEF(a->indent) && !ASY_IS_NONE(a->indent);
    if (e->pretty) {
        e->item_sep = ",";
        if (is_str(vm, a->indent)) {
            KEEP(0) = a->indent;
        } else {
            int64_t n;
            if (!asy_index(vm, a->indent, &n)) return false;
            if (n < 0) n = 0;
            AsyValue sp = ASY_OBJ(asy_str_intern_cstr(vm, " "));
            AsyValue ind = asy_binop(vm, sp, ASY_INT(n), ASY_BIN_MUL);
            if (ASY_IS_ERR(ind)) return false;
            KEEP(0) = ind;
        }
        e->indent = STR(KEEP(0))->data;
        e->indent_len = STR(KEEP(0))->len;
    }
    if (!ASY_IS_UNDEF(a->separators) && !ASY_IS_NONE(a->separators)) {
        AsyTuple *t = asy_tuple_from_iterable(vm, a->separators);
        if (!t) return false;
        if (t->len != 2) {
            asy_raise(vm, ASY_EXC_ValueError,
                      t->len < 2 ? "not enough values to unpack "
                                   "(expected 2, got %lld)"
                                 : "too many values to unpack "
                                   "(expected 2)",
                      (long long)t->len);
            return false;
        }
        for (int i = 0; i < 2; i++) {
            if (!is_str(vm, t->items[i])) {
                asy_raise(vm, ASY_EXC_TypeError, "make_encoder() argument %d must be str, not %s",
                          6 - i, asy_type_name(vm, t->items[i]));
                return false;
            }
            KEEP(1 + i) = t->items[i];
        }
        e->item_sep = STR(KEEP(1))->data;
        e->key_sep = STR(KEEP(2))->data;
    }
    e->item_sep_len = strlen(e->item_sep);
    e->key_sep_len = strlen(e->key_sep);
    if (!ASY_IS_UNDEF(KEEP(1))) e->item_sep_len = STR(KEEP(1))->len;
    if (!ASY_IS_UNDEF(KEEP(2))) e->key_sep_len = STR(KEEP(2))->len;
    return true;
#undef KEEP
}

/* Encode obj with the options in a: the str, or ASY_ERR. */
static AsyValue json_encode(AsyVM *vm, AsyValue obj, DumpsArgs *a) {
    Enc e;
    memset(&e, 0, offsetof(Enc, inline_markers));
    e.vm = vm;
    e.markers = e.inline_markers;
    e.capmarkers = sizeof e.inline_markers / sizeof e.inline_markers[0];
    e.out.data = e.out.inline_data = e.inline_out;
    e.out.cap = sizeof e.inline_out;
    e.default_fn = ASY_IS_UNDEF(a->default_) || ASY_IS_NONE(a->default_) ? ASY_UNDEF : a->default_;
    if (!flag_arg(vm, a->skipkeys, false, &e.skipkeys) ||
        !flag_arg(vm, a->ensure_ascii, true, &e.ensure_ascii) ||
        !flag_arg(vm, a->check_circular, true, &e.check_circular) ||
        !flag_arg(vm, a->allow_nan, true, &e.allow_nan) ||
        !flag_arg(vm, a->sort_keys, false, &e.sort_keys))
        return ASY_ERR;
    size_t base = vm->nroots;
    for (int i = 0; i < 3; i++)
        asy_root_push(vm, ASY_UNDEF);
    AsyValue r = ASY_ERR;
    if (enc_setup_format(&e, a, base)) {
        e.max_depth = json_depth_budget(vm, JSON_MAX_C_DEPTH);
        if (enc_value(&e, obj)) {
            /* ensure_ascii escaped every other character; only the separators and the
             * indentation could bring some in. */
            bool ascii = e.ensure_ascii;
            for (int i = 0; i < 3; i++)
                if (!ASY_IS_UNDEF(vm->roots[base + i]) && !STR(vm->roots[base + i])->ascii)
                    ascii = false;
            const char *text = e.out.data ? e.out.data : "";
            AsyStr *s =
                ascii ? asy_str_new_ascii(vm, text, e.out.len) : asy_str_new(vm, text, e.out.len);
            if (s) r = ASY_OBJ(s);
        }
    }
    vm->nroots = base;
    if (e.out.data != e.inline_out) free(e.out.data);
    if (e.markers != e.inline_markers) free(e.markers);
    return r;
}

/* cls(skipkeys=..., ..., **kw).encode(obj), as dumps() does when given cls; for dump()
 * (fp given), its iterencode(obj) chunks written to fp, as CPython's dump() does. */
static AsyValue encode_with_cls(AsyVM *vm, AsyValue obj, DumpsArgs *a, AsyDict *rest, AsyValue fp) {
    AsyDict *kw = asy_dict_new(vm);
    if (!kw) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(kw));
    AsyValue vals[] = {a->skipkeys, a->ensure_ascii, a->check_circular, a->allow_nan, ASY_UNDEF,
                       a->indent,   a->separators,   a->default_,       a->sort_keys};
    AsyValue dflt[] = {ASY_FALSE, ASY_TRUE, ASY_TRUE, ASY_TRUE, ASY_UNDEF,
                       ASY_NONE,  ASY_NONE, ASY_NONE, ASY_FALSE};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        if (i == 4) continue;
        asy_dict_set_cstr(vm, kw, dumps_kwnames[i], ASY_IS_UNDEF(vals[i]) ? dflt[i] : vals[i]);
    }
    AsyValue r = ASY_NONE;
    if (rest && asy_dict_update(vm, kw, ASY_OBJ(rest)) < 0) r = ASY_ERR;
    AsyValue enc = ASY_IS_ERR(r) ? r : asy_call(vm, a->cls, 0, NULL, kw);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(enc)) return enc;
    asy_root_push(vm, enc);
    if (ASY_IS_UNDEF(fp)) {
        r = asy_call_method(vm, enc, asy_str_intern_cstr(vm, "encode"), 1, &obj);
    } else {
        AsyValue mod = asy_dict_get_cstr(vm, vm->modules, "json");
        AsyValue fn = ASY_IS_OBJ(mod) ? asy_dict_get_cstr(vm, ((AsyModule *)ASY_AS_OBJ(mod))->dict,
                                                          "_dump_with")
                                      : ASY_UNDEF;
        AsyValue args[3] = {enc, fp, obj};
        r = ASY_IS_UNDEF(fn) ? asy_raise(vm, ASY_EXC_RuntimeError, "json._dump_with is gone")
                             : asy_call(vm, fn, 3, args, NULL);
    }
    asy_root_pop(vm, 1);
    return r;
}

static AsyValue dumps_impl(AsyVM *vm, const char *fname, int npos, int argc, AsyValue *argv,
                           AsyDict *kw) {
    if (argc != npos) {
        if (argc > npos)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "%s() takes %d positional argument%s but %d were given", fname, npos,
                             npos == 1 ? "" : "s", argc);
        const char *missing = argc == 0 ? (npos == 1 ? "'obj'" : "'obj' and 'fp'") : "'fp'";
        return asy_raise(vm, ASY_EXC_TypeError,
                         "%s() missing %d required positional argument%s: %s", fname, npos - argc,
                         npos - argc == 1 ? "" : "s", missing);
    }
    DumpsArgs a;
    dumps_take(vm, kw, &a);
    bool has_cls = !ASY_IS_UNDEF(a.cls) && !ASY_IS_NONE(a.cls);
    if (has_cls)
        return encode_with_cls(vm, argv[0], &a, kw && kw->len ? kw : NULL,
                               npos == 2 ? argv[1] : ASY_UNDEF);
    if (kw && kw->len > 0) return unexpected_kw(vm, "JSONEncoder", kw);
    return json_encode(vm, argv[0], &a);
}

static AsyValue json_dumps(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return dumps_impl(vm, "dumps", 1, argc, argv, kw);
}

static AsyValue json_dump(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue cls = kw ? asy_dict_get_cstr(vm, kw, "cls") : ASY_UNDEF;
    bool chunks = !ASY_IS_UNDEF(cls) && !ASY_IS_NONE(cls);
    AsyValue s = dumps_impl(vm, "dump", 2, argc, argv, kw);
    if (ASY_IS_ERR(s) || chunks) return ASY_IS_ERR(s) ? s : ASY_NONE;
    asy_root_push(vm, s);
    AsyValue r = asy_call_method(vm, argv[1], asy_str_intern_cstr(vm, "write"), 1, &s);
    asy_root_pop(vm, 1);
    return ASY_IS_ERR(r) ? r : ASY_NONE;
}

/* _encode(obj, skipkeys, ensure_ascii, check_circular, allow_nan, sort_keys, indent,
 * separators, default): JSONEncoder.encode's worker. */
static AsyValue json_encode_native(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "_encode", kw) || !asy_check_args(vm, "_encode", argc, 9, 9))
        return ASY_ERR;
    DumpsArgs a = {argv[1], argv[2], argv[3], argv[4], ASY_UNDEF,
                   argv[6], argv[7], argv[8], argv[5]};
    return json_encode(vm, argv[0], &a);
}

/* ------------------------------------------------------------------------------------ */
/* Decoder                                                                                */
/* ------------------------------------------------------------------------------------ */

enum { FR_ARRAY, FR_OBJECT, FR_PAIRS };

/* A container being parsed. Its items (objects: key, value, key, value...) wait on the GC
 * root stack from vm->roots[root]; the list or dict is built at the closing bracket, at
 * its final size (no growing, no rehashing). */
typedef struct {
    size_t root;
    int kind;
} Frame;

#define MEMO_SIZE 512

typedef struct {
    AsyVM *vm;
    const char *s;
    size_t len;
    AsyValue doc; /* the str, for JSONDecodeError                  */
    bool strict;
    bool ascii; /* the document is ASCII                         */
    AsyValue object_hook, pairs_hook, parse_float, parse_int, parse_constant; /* UNDEF */
    bool hooks;    /* any of them: asy code may run while parsing    */
    Frame *frames; /* inline_frames, or malloc'd when nesting deeper */
    size_t nframes, capframes;
    Frame inline_frames[16];
    int max_depth;
    JBuf sbuf;               /* strings with escapes are unescaped here       */
    AsyStr *memo[MEMO_SIZE]; /* recent keys, shared as CPython's memo does    */
    size_t memo_mask;        /* small documents use (and clear) a part of it   */
} Dec;

/* JSONDecodeError(msg, doc, pos) raised, pos counting code points. */
static void dec_error_at(Dec *d, const char *msg, size_t pos) {
    AsyVM *vm = d->vm;
    AsyValue mod = asy_dict_get_cstr(vm, vm->modules, "json.decoder");
    AsyValue cls = ASY_UNDEF;
    if (ASY_IS_OBJ(mod))
        cls = asy_dict_get_cstr(vm, ((AsyModule *)ASY_AS_OBJ(mod))->dict, "JSONDecodeError");
    if (ASY_IS_UNDEF(cls) || ASY_IS_ERR(cls)) {
        asy_raise(vm, ASY_EXC_ValueError, "%s: (char %zu)", msg, pos);
        return;
    }
    AsyValue args[3] = {ASY_OBJ(asy_str_from_cstr(vm, msg)), d->doc, ASY_INT((int64_t)pos)};
    asy_root_push(vm, args[0]);
    AsyValue e = asy_call(vm, cls, 3, args, NULL);
    asy_root_pop(vm, 1);
    if (!ASY_IS_ERR(e)) asy_raise_value(vm, e);
}

/* The same at a byte offset into the text. */
static void dec_error(Dec *d, const char *msg, size_t bytepos) {
    size_t pos = STR(d->doc)->ascii ? bytepos : asy_utf8_nchars(d->s, bytepos);
    dec_error_at(d, msg, pos);
}

static inline size_t skip_ws(const char *s, size_t i, size_t len) {
    while (i < len && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    return i;
}

/* Calls a hook with one argument (rooted), then forgets the key memo: the hook may have
 * dropped dicts whose keys the memo points to, and a collection may have freed them. */
static AsyValue dec_call(Dec *d, AsyValue fn, AsyValue arg) {
    AsyVM *vm = d->vm;
    asy_root_push(vm, arg);
    AsyValue r = asy_call(vm, fn, 1, &arg, NULL);
    asy_root_pop(vm, 1);
    memset(d->memo, 0, (d->memo_mask + 1) * sizeof d->memo[0]);
    return r;
}

static int hexval(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s[i..i+4): the value, or -1. */
static int32_t hex4(const char *s, size_t i) {
    int32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval((uint8_t)s[i + k]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* The string whose opening quote is at s[begin - 1]; *end is set past the closing quote.
 * Unescaped text goes to out (bytes). CPython's scanstring_unicode, message for message. */
static bool dec_scan_string(Dec *d, size_t begin, size_t *end, const char **text, size_t *n) {
    const char *s = d->s;
    size_t len = d->len, i = begin;
    /* Fast path: no escapes. */
    i = scan_plain((const uint8_t *)s, i, len, false);
    if (i < len && s[i] == '"') {
        *text = s + begin;
        *n = i - begin;
        *end = i + 1;
        return true;
    }
    JBuf *b = &d->sbuf;
    b->len = 0;
    size_t chunk = begin;
    for (;;) {
        i = scan_plain((const uint8_t *)s, i, len, false);
        if (i < len && (uint8_t)s[i] < 0x20) {
            if (d->strict) {
                dec_error(d, "Invalid control character at", i);
                return false;
            }
            i++;
            continue;
        }
        if (i >= len) {
            dec_error(d, "Unterminated string starting at", begin - 1);
            return false;
        }
        if (!jb_put(d->vm, b, s + chunk, i - chunk)) return false;
        if (s[i] == '"') {
            i++;
            break;
        }
        /* a backslash */
        i++;
        if (i >= len) {
            dec_error(d, "Unterminated string starting at", begin - 1);
            return false;
        }
        char c = s[i];
        if (c != 'u') {
            char r;
            switch (c) {
            case '"': r = '"'; break;
            case '\\': r = '\\'; break;
            case '/': r = '/'; break;
            case 'b': r = '\b'; break;
            case 'f': r = '\f'; break;
            case 'n': r = '\n'; break;
            case 'r': r = '\r'; break;
            case 't': r = '\t'; break;
            default: dec_error(d, "Invalid \\escape", i - 1); return false;
            }
            if (!jb_putc(d->vm, b, r)) return false;
            chunk = ++i;
            continue;
        }
        /* \uXXXX: i is at the 'u' */
        if (i + 5 >= len) {
            dec_error(d, "Invalid \\uXXXX escape", i);
            return false;
        }
        int32_t cp = hex4(s, i + 1);
        if (cp < 0) {
            dec_error(d, "Invalid \\uXXXX escape", i);
            return false;
        }
        i += 5;
        /* A high surrogate followed by \uXXXX of a low one makes one code point. */
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < len && s[i] == '\\' && s[i + 1] == 'u') {
            int32_t lo = hex4(s, i + 2);
            if (lo < 0) {
                dec_error(d, "Invalid \\uXXXX escape", i + 1);
                return false;
            }
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
        }
        char u[4];
        if (!jb_put(d->vm, b, u, asy_utf8_encode((uint32_t)cp, u))) return false;
        chunk = i;
    }
    *text = b->data ? b->data : "";
    *n = b->len;
    *end = i;
    return true;
}

/* The str of n bytes of text: ASCII when they come straight from an ASCII document (no
 * escape could have made them anything else), which spares the str its own scan. */
static AsyStr *dec_new_str(Dec *d, const char *text, size_t n) {
    if (d->ascii && text >= d->s && text < d->s + d->len) return asy_str_new_ascii(d->vm, text, n);
    return asy_str_new(d->vm, text, n);
}

/* The memo's slot for text: a cheap mix of its first and last 8 bytes and its length (a
 * collision only costs a miss). */
static inline size_t memo_slot(const char *text, size_t n, size_t mask) {
    uint64_t w = 0, w2 = 0;
    memcpy(&w, text, n < 8 ? n : 8);
    if (n > 8) memcpy(&w2, text + n - 8, 8);
    uint64_t h = (w ^ (w2 * 0xC2B2AE3D27D4EB4Full) ^ n) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 40) & mask;
}

/* The str of text, shared through the memo: equal keys (and equal short values, which
 * repeat as much in real documents) become one str, hashed once when a dict needs it. */
static AsyStr *dec_memo_str(Dec *d, const char *text, size_t n) {
    AsyStr **slot = &d->memo[memo_slot(text, n, d->memo_mask)];
    AsyStr *s = *slot;
    if (s && s->len == n && memcmp(s->data, text, n) == 0) return s;
    s = dec_new_str(d, text, n);
    if (s) *slot = s;
    return s;
}

/* Strings longer than this are values that rarely repeat: not worth the memo lookup. */
#define MEMO_MAX_VALUE 24

static AsyValue dec_string(Dec *d, size_t begin, size_t *end) {
    const char *text;
    size_t n;
    if (!dec_scan_string(d, begin, end, &text, &n)) return ASY_ERR;
    AsyStr *s = n <= MEMO_MAX_VALUE ? dec_memo_str(d, text, n) : dec_new_str(d, text, n);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyStr *dec_key(Dec *d, size_t begin, size_t *end) {
    const char *text;
    size_t n;
    if (!dec_scan_string(d, begin, end, &text, &n)) return NULL;
    return dec_memo_str(d, text, n);
}

/* Clinger's fast path for a JSON float (already validated): with at most 15 significant
 * digits and a power of ten below 10^23, digits * 10^e (or / 10^-e) is one correctly
 * rounded operation on exact doubles, so it equals strtod's answer. False: use strtod. */
static bool float_fast(const char *s, size_t n, double *out) {
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = s[0] == '-';
    if (neg) i++;
    uint64_t m = 0;
    int digits = 0, exp10 = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        m = m * 10 + (uint64_t)(s[i] - '0');
        if (m) digits++;
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            if (m) digits++;
            exp10--;
        }
    }
    if (digits > 15) return false;
    if (i < n) { /* 'e' or 'E', then an optional sign and at least one digit */
        i++;
        bool eneg = s[i] == '-';
        if (s[i] == '-' || s[i] == '+') i++;
        int e = 0;
        for (; i < n; i++) {
            if (e > 1000) return false;
            e = e * 10 + (s[i] - '0');
        }
        exp10 += eneg ? -e : e;
    }
    double v = (double)m;
    if (exp10 < -22 || exp10 > 22) return false;
    v = exp10 < 0 ? v / pow10[-exp10] : v * pow10[exp10];
    *out = neg ? -v : v;
    return true;
}

/* A number at s[i]; UNDEF (no error) when there is none, as CPython's StopIteration. */
static AsyValue dec_number(Dec *d, size_t start, size_t *end) {
    AsyVM *vm = d->vm;
    const char *s = d->s;
    size_t len = d->len, i = start;
    if (i < len && s[i] == '-') {
        i++;
        if (i >= len) return ASY_UNDEF;
    }
    if (i < len && s[i] >= '1' && s[i] <= '9') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    } else if (i < len && s[i] == '0') {
        i++;
    } else {
        return ASY_UNDEF;
    }
    bool is_float = false;
    if (i + 1 < len && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
        is_float = true;
        i += 2;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i + 1 < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e_start = i++;
        if (i < len && (s[i] == '-' || s[i] == '+')) i++;
        size_t digits = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i > digits)
            is_float = true;
        else
            i = e_start;
    }
    *end = i;
    size_t n = i - start;
    AsyValue hook = is_float ? d->parse_float : d->parse_int;
    if (!ASY_IS_UNDEF(hook)) {
        AsyStr *text = asy_str_new(vm, s + start, n);
        return text ? dec_call(d, hook, ASY_OBJ(text)) : ASY_ERR;
    }
    if (!is_float) {
        size_t nd = n - (s[start] == '-');
        if (nd <= 18) {
            int64_t v = 0;
            for (size_t k = start + (s[start] == '-'); k < i; k++)
                v = v * 10 + (s[k] - '0');
            return ASY_INT(s[start] == '-' ? -v : v);
        }
        return asy_int_from_str(vm, s + start, n, 10);
    }
    double fast;
    if (float_fast(s + start, n, &fast)) return ASY_FLOAT(fast);
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return asy_raise_memory(vm);
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    if (buf != small) free(buf);
    return ASY_FLOAT(v);
}

/* NaN, Infinity, -Infinity: parse_constant(name), or the float. */
static AsyValue dec_constant(Dec *d, const char *name, double v) {
    if (ASY_IS_UNDEF(d->parse_constant)) return ASY_FLOAT(v);
    AsyStr *s = asy_str_from_cstr(d->vm, name);
    return s ? dec_call(d, d->parse_constant, ASY_OBJ(s)) : ASY_ERR;
}

static bool dec_push(Dec *d, int kind) {
    AsyVM *vm = d->vm;
    if ((int)d->nframes >= d->max_depth) {
        asy_raise(vm, ASY_EXC_RecursionError,
                  kind == FR_ARRAY
                      ? "maximum recursion depth exceeded while decoding a JSON array from a "
                        "unicode string"
                      : "maximum recursion depth exceeded while decoding a JSON object from a "
                        "unicode string");
        return false;
    }
    if (d->nframes == d->capframes) {
        size_t ncap = d->capframes * 2;
        Frame *f = d->frames == d->inline_frames ? malloc(ncap * sizeof *f)
                                                 : realloc(d->frames, ncap * sizeof *f);
        if (!f) {
            asy_raise_memory(vm);
            return false;
        }
        if (d->frames == d->inline_frames) memcpy(f, d->frames, d->nframes * sizeof *f);
        d->frames = f;
        d->capframes = ncap;
    }
    Frame *f = &d->frames[d->nframes++];
    f->kind = kind;
    f->root = vm->nroots;
    return true;
}

/* The container of the top frame, built from its items; NULL on MemoryError. */
static AsyObj *dec_build(Dec *d, const Frame *f) {
    AsyVM *vm = d->vm;
    size_t n = vm->nroots - f->root;
    if (f->kind == FR_ARRAY || f->kind == FR_PAIRS) {
        size_t len = f->kind == FR_ARRAY ? n : n / 2;
        AsyList *l = asy_list_new(vm, (int64_t)len);
        if (!l) return NULL;
        if (f->kind == FR_ARRAY) {
            memcpy(l->items, vm->roots + f->root, n * sizeof(AsyValue));
            l->len = (int64_t)n;
            return &l->hdr;
        }
        asy_root_push(vm, ASY_OBJ(l));
        for (size_t k = 0; k < len; k++) {
            AsyTuple *t = asy_tuple_from_array(vm, vm->roots + f->root + 2 * k, 2);
            if (!t) return NULL;
            l->items[l->len++] = ASY_OBJ(t);
        }
        return &l->hdr;
    }
    AsyDict *o = asy_dict_new_sized(vm, (int64_t)(n / 2));
    if (!o) return NULL;
    asy_root_push(vm, ASY_OBJ(o));
    for (size_t k = 0; k < n; k += 2) {
        AsyValue *kv = vm->roots + f->root + k;
        if (asy_dict_set_str(vm, o, STR(kv[0]), kv[1]) < 0) return NULL;
    }
    return &o->hdr;
}

/* The finished object of the top frame (hooks applied); the frame is popped. */
static AsyValue dec_pop(Dec *d) {
    Frame *f = &d->frames[d->nframes - 1];
    AsyObj *o = dec_build(d, f);
    d->vm->nroots = f->root;
    d->nframes--;
    if (!o) return ASY_ERR;
    if (f->kind == FR_PAIRS) return dec_call(d, d->pairs_hook, ASY_OBJ(o));
    if (f->kind == FR_OBJECT && !ASY_IS_UNDEF(d->object_hook))
        return dec_call(d, d->object_hook, ASY_OBJ(o));
    return ASY_OBJ(o);
}

/* An empty object, through the hooks. */
static AsyValue dec_empty_object(Dec *d) {
    AsyVM *vm = d->vm;
    if (!ASY_IS_UNDEF(d->pairs_hook)) {
        AsyList *l = asy_list_new(vm, 0);
        return l ? dec_call(d, d->pairs_hook, ASY_OBJ(l)) : ASY_ERR;
    }
    AsyDict *o = asy_dict_new(vm);
    if (!o) return ASY_ERR;
    if (!ASY_IS_UNDEF(d->object_hook)) return dec_call(d, d->object_hook, ASY_OBJ(o));
    return ASY_OBJ(o);
}

static inline bool lit(const char *s, size_t i, size_t len, const char *w, size_t n) {
    return i + n <= len && memcmp(s + i, w, n) == 0;
}

/* One JSON value starting at *pos (no leading whitespace skipped, as scan_once), without
 * recursion: containers being filled are on d->frames. *pos is set past the value. */
static AsyValue dec_value(Dec *d, size_t *pos) {
    AsyVM *vm = d->vm;
    const char *s = d->s;
    size_t len = d->len, i = *pos;
    size_t base = d->nframes;
    AsyValue v;
value:
    if (i >= len) goto expecting_value;
    switch (s[i]) {
    case '"':
        v = dec_string(d, i + 1, &i);
        if (ASY_IS_ERR(v)) goto fail;
        break;
    case '{':
        i = skip_ws(s, i + 1, len);
        if (i < len && s[i] == '}') {
            if ((int)d->nframes >= d->max_depth && !dec_push(d, FR_OBJECT)) goto fail;
            i++;
            v = dec_empty_object(d);
            if (ASY_IS_ERR(v)) goto fail;
            break;
        }
        if (!dec_push(d, ASY_IS_UNDEF(d->pairs_hook) ? FR_OBJECT : FR_PAIRS)) goto fail;
        goto key;
    case '[':
        i = skip_ws(s, i + 1, len);
        if (i < len && s[i] == ']') {
            if ((int)d->nframes >= d->max_depth && !dec_push(d, FR_ARRAY)) goto fail;
            i++;
            AsyList *l = asy_list_new(vm, 0);
            if (!l) goto fail;
            v = ASY_OBJ(l);
            break;
        }
        if (!dec_push(d, FR_ARRAY)) goto fail;
        goto value;
    case 'n':
        if (!lit(s, i, len, "null", 4)) goto expecting_value;
        i += 4;
        v = ASY_NONE;
        break;
    case 't':
        if (!lit(s, i, len, "true", 4)) goto expecting_value;
        i += 4;
        v = ASY_TRUE;
        break;
    case 'f':
        if (!lit(s, i, len, "false", 5)) goto expecting_value;
        i += 5;
        v = ASY_FALSE;
        break;
    case 'N':
        if (!lit(s, i, len, "NaN", 3)) goto expecting_value;
        i += 3;
        v = dec_constant(d, "NaN", NAN);
        if (ASY_IS_ERR(v)) goto fail;
        break;
    case 'I':
        if (!lit(s, i, len, "Infinity", 8)) goto expecting_value;
        i += 8;
        v = dec_constant(d, "Infinity", INFINITY);
        if (ASY_IS_ERR(v)) goto fail;
        break;
    case '-':
        if (lit(s, i, len, "-Infinity", 9)) {
            i += 9;
            v = dec_constant(d, "-Infinity", -INFINITY);
            if (ASY_IS_ERR(v)) goto fail;
            break;
        }
        /* fall through */
    default:
        v = dec_number(d, i, &i);
        if (ASY_IS_ERR(v)) goto fail;
        if (ASY_IS_UNDEF(v)) goto expecting_value;
        break;
    }
got_value:
    if (d->nframes == base) {
        *pos = i;
        return v;
    }
    asy_root_push(vm, v);
    i = skip_ws(s, i, len);
    if (d->frames[d->nframes - 1].kind == FR_ARRAY) {
        if (i < len && s[i] == ']') {
            i++;
            v = dec_pop(d);
            if (ASY_IS_ERR(v)) goto fail;
            goto got_value;
        }
        if (i >= len || s[i] != ',') {
            dec_error(d, "Expecting ',' delimiter", i);
            goto fail;
        }
        i = skip_ws(s, i + 1, len);
        goto value;
    }
    if (i < len && s[i] == '}') {
        i++;
        v = dec_pop(d);
        if (ASY_IS_ERR(v)) goto fail;
        goto got_value;
    }
    if (i >= len || s[i] != ',') {
        dec_error(d, "Expecting ',' delimiter", i);
        goto fail;
    }
    i = skip_ws(s, i + 1, len);
key:
    if (i >= len || s[i] != '"') {
        dec_error(d, "Expecting property name enclosed in double quotes", i);
        goto fail;
    }
    {
        AsyStr *k = dec_key(d, i + 1, &i);
        if (!k) goto fail;
        asy_root_push(vm, ASY_OBJ(k));
    }
    i = skip_ws(s, i, len);
    if (i >= len || s[i] != ':') {
        dec_error(d, "Expecting ':' delimiter", i);
        goto fail;
    }
    i = skip_ws(s, i + 1, len);
    goto value;
expecting_value:
    dec_error(d, "Expecting value", i);
fail:
    if (d->nframes > base) {
        vm->nroots = d->frames[base].root;
        d->nframes = base;
    }
    return ASY_ERR;
}

/* ---- bytes input: json.detect_encoding and a decode with 'surrogatepass' ---- */

/* "0xff": the hex of one byte, for UnicodeDecodeError messages. */
static const char *byte_hex(uint8_t b, char buf[5]) {
    snprintf(buf, 5, "0x%02x", b);
    return buf;
}

static AsyValue utf_decode_error(AsyVM *vm, const char *codec, const uint8_t *p, size_t pos,
                                 const char *reason) {
    char hex[5];
    return asy_raise(vm, ASY_EXC_UnicodeDecodeError,
                     "'%s' codec can't decode byte %s in position %zu: %s", codec,
                     byte_hex(p[pos], hex), pos, reason);
}

/* UTF-8 with surrogates allowed (surrogatepass), into out. */
static bool decode_utf8_sp(AsyVM *vm, const uint8_t *p, size_t n, JBuf *out) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        if (c < 0xC2 || c > 0xF4) {
            utf_decode_error(vm, "utf-8", p, i, "invalid start byte");
            return false;
        }
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0; /* no overlong forms; 0xED: surrogates pass */
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        for (size_t k = 1; k <= need; k++) {
            const char *why = NULL;
            if (i + k >= n)
                why = "unexpected end of data";
            else if (p[i + k] < (k == 1 ? lo : 0x80) || p[i + k] > (k == 1 ? hi : 0xBF))
                why = "invalid continuation byte";
            if (!why) continue;
            /* The error covers the start byte and the valid continuation bytes. */
            if (k == 1)
                utf_decode_error(vm, "utf-8", p, i, why);
            else
                asy_raise(vm, ASY_EXC_UnicodeDecodeError,
                          "'utf-8' codec can't decode bytes in position %zu-%zu: %s", i, i + k - 1,
                          why);
            return false;
        }
        i += need + 1;
    }
    return jb_put(vm, out, (const char *)p, n);
}

/* UTF-16/UTF-32 (BOM-less, known byte order) with surrogatepass, into UTF-8. */
static bool decode_utf16_32(AsyVM *vm, const uint8_t *p, size_t n, int width, bool be,
                            const char *codec, JBuf *out) {
    size_t i = 0;
    while (i < n) {
        if (i + (size_t)width > n) {
            utf_decode_error(vm, codec, p, i, "truncated data");
            return false;
        }
        uint32_t u = 0;
        for (int k = 0; k < width; k++) {
            uint32_t b = p[i + (be ? k : width - 1 - k)];
            u = u << 8 | b;
        }
        size_t at = i;
        i += (size_t)width;
        if (width == 2 && u >= 0xD800 && u <= 0xDBFF && i + 2 <= n) {
            uint32_t lo = be ? (uint32_t)p[i] << 8 | p[i + 1] : (uint32_t)p[i + 1] << 8 | p[i];
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (u > 0x10FFFF) {
            asy_raise(vm, ASY_EXC_UnicodeDecodeError,
                      "'%s' codec can't decode bytes in position %zu-%zu: code point not in "
                      "range(0x110000)",
                      codec, at, at + 3);
            return false;
        }
        char buf[4];
        if (!jb_put(vm, out, buf, asy_utf8_encode(u, buf))) return false;
    }
    return true;
}

/* bytes -> str as json.loads does: s.decode(detect_encoding(s), 'surrogatepass'). */
static AsyValue decode_json_bytes(AsyVM *vm, AsyBytes *b) {
    const uint8_t *p = b->data;
    size_t n = b->len;
    JBuf out = {0};
    bool ok;
    if (n >= 4 && ((p[0] == 0 && p[1] == 0 && p[2] == 0xFE && p[3] == 0xFF) ||
                   (p[0] == 0xFF && p[1] == 0xFE && p[2] == 0 && p[3] == 0))) {
        ok = decode_utf16_32(vm, p + 4, n - 4, 4, p[0] == 0, "utf-32", &out);
    } else if (n >= 2 && ((p[0] == 0xFE && p[1] == 0xFF) || (p[0] == 0xFF && p[1] == 0xFE))) {
        ok = decode_utf16_32(vm, p + 2, n - 2, 2, p[0] == 0xFE, "utf-16", &out);
    } else if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        ok = decode_utf8_sp(vm, p + 3, n - 3, &out);
    } else if (n >= 4 && p[0] == 0) {
        ok = p[1] ? decode_utf16_32(vm, p, n, 2, true, "utf-16-be", &out)
                  : decode_utf16_32(vm, p, n, 4, true, "utf-32-be", &out);
    } else if (n >= 4 && p[1] == 0) {
        ok = p[2] || p[3] ? decode_utf16_32(vm, p, n, 2, false, "utf-16-le", &out)
                          : decode_utf16_32(vm, p, n, 4, false, "utf-32-le", &out);
    } else if (n == 2 && p[0] == 0) {
        ok = decode_utf16_32(vm, p, n, 2, true, "utf-16-be", &out);
    } else if (n == 2 && p[1] == 0) {
        ok = decode_utf16_32(vm, p, n, 2, false, "utf-16-le", &out);
    } else {
        ok = decode_utf8_sp(vm, p, n, &out);
    }
    AsyValue r = ASY_ERR;
    if (ok) {
        AsyStr *s = asy_str_new(vm, out.data ? out.data : "", out.len);
        if (s) r = ASY_OBJ(s);
    }
    free(out.data);
    return r;
}

/* ---- loads() ---- */

typedef struct {
    AsyValue cls, object_hook, parse_float, parse_int, parse_constant, object_pairs_hook, strict;
} LoadsArgs;

static const char *const loads_kwnames[] = {"cls",       "object_hook",    "parse_float",
                                            "parse_int", "parse_constant", "object_pairs_hook",
                                            "strict"};

static AsyValue hook_or_undef(AsyValue v) {
    return ASY_IS_UNDEF(v) || ASY_IS_NONE(v) ? ASY_UNDEF : v;
}

/* The text to parse: the str, or bytes decoded; TypeError/BOM error otherwise. */
static AsyValue loads_text(AsyVM *vm, AsyValue s) {
    if (is_str(vm, s)) return s;
    if (is_a(vm, s, ASY_TYPE(vm, bytes))) return decode_json_bytes(vm, (AsyBytes *)ASY_AS_OBJ(s));
    return asy_raise(vm, ASY_EXC_TypeError,
                     "the JSON object must be str, bytes or bytearray, not %s",
                     asy_type_name(vm, s));
}

/* Parse text (a str) from byte offset `start`. whole: skip whitespace around the value and
 * refuse extra data (decode); otherwise give (value, end) as raw_decode does. */
static AsyValue json_decode(AsyVM *vm, AsyValue text, size_t start, bool whole, LoadsArgs *a) {
    Dec dec, *d = &dec;
    d->vm = vm;
    d->frames = d->inline_frames;
    d->nframes = 0;
    d->capframes = sizeof d->inline_frames / sizeof d->inline_frames[0];
    d->sbuf = (JBuf){0};
    d->memo_mask = STR(text)->len < 4096 ? 63 : MEMO_SIZE - 1;
    memset(d->memo, 0, (d->memo_mask + 1) * sizeof d->memo[0]);
    d->doc = text;
    d->s = STR(text)->data;
    d->len = STR(text)->len;
    d->ascii = STR(text)->ascii;
    d->object_hook = hook_or_undef(a->object_hook);
    d->pairs_hook = hook_or_undef(a->object_pairs_hook);
    d->parse_float = hook_or_undef(a->parse_float);
    d->parse_int = hook_or_undef(a->parse_int);
    d->parse_constant = hook_or_undef(a->parse_constant);
    /* float and int themselves are what the parser does anyway. */
    if (asy_value_is(d->parse_float, ASY_OBJ(ASY_TYPE(vm, float)))) d->parse_float = ASY_UNDEF;
    if (asy_value_is(d->parse_int, ASY_OBJ(ASY_TYPE(vm, int)))) d->parse_int = ASY_UNDEF;
    d->strict = true;
    AsyValue r = ASY_ERR;
    int st = ASY_IS_UNDEF(a->strict) ? 1 : asy_truthy(vm, a->strict);
    if (st >= 0) {
        d->strict = st;
        d->max_depth = json_depth_budget(vm, INT32_MAX); /* no C recursion here */
        asy_root_push(vm, text);
        size_t i = whole ? skip_ws(d->s, start, d->len) : start;
        r = dec_value(d, &i);
        if (!ASY_IS_ERR(r) && whole) {
            i = skip_ws(d->s, i, d->len);
            if (i != d->len) {
                asy_root_push(vm, r);
                dec_error(d, "Extra data", i);
                asy_root_pop(vm, 1);
                r = ASY_ERR;
            }
        } else if (!ASY_IS_ERR(r)) {
            size_t end = STR(text)->ascii ? i : asy_utf8_nchars(d->s, i);
            AsyValue pair[2] = {r, ASY_INT((int64_t)end)};
            AsyTuple *t = asy_tuple_from_array(vm, pair, 2);
            r = t ? ASY_OBJ(t) : ASY_ERR;
        }
        asy_root_pop(vm, 1);
    }
    if (d->frames != d->inline_frames) free(d->frames);
    free(d->sbuf.data);
    return r;
}

/* cls(**kw).decode(s), as loads() does with cls or unknown keywords. */
static AsyValue decode_with_cls(AsyVM *vm, AsyValue s, LoadsArgs *a, AsyDict *rest) {
    AsyValue cls = a->cls;
    if (ASY_IS_UNDEF(cls) || ASY_IS_NONE(cls)) {
        AsyValue mod = asy_dict_get_cstr(vm, vm->modules, "json.decoder");
        if (!ASY_IS_OBJ(mod)) return asy_raise(vm, ASY_EXC_RuntimeError, "json.decoder is gone");
        cls = asy_dict_get_cstr(vm, ((AsyModule *)ASY_AS_OBJ(mod))->dict, "JSONDecoder");
    }
    AsyDict *kw = asy_dict_new(vm);
    if (!kw) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(kw));
    AsyValue vals[] = {ASY_UNDEF,         a->object_hook,       a->parse_float, a->parse_int,
                       a->parse_constant, a->object_pairs_hook, a->strict};
    for (size_t i = 1; i < sizeof vals / sizeof vals[0]; i++)
        if (!ASY_IS_UNDEF(vals[i]) && (i == 6 || !ASY_IS_NONE(vals[i])))
            asy_dict_set_cstr(vm, kw, loads_kwnames[i], vals[i]);
    AsyValue dec = ASY_NONE;
    if (rest && asy_dict_update(vm, kw, ASY_OBJ(rest)) < 0) dec = ASY_ERR;
    if (!ASY_IS_ERR(dec)) dec = asy_call(vm, cls, 0, NULL, kw);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(dec)) return dec;
    asy_root_push(vm, dec);
    AsyValue r = asy_call_method(vm, dec, asy_str_intern_cstr(vm, "decode"), 1, &s);
    asy_root_pop(vm, 1);
    return r;
}

static AsyValue loads_impl(AsyVM *vm, AsyValue s, AsyDict *kw) {
    LoadsArgs a = {ASY_UNDEF, ASY_UNDEF, ASY_UNDEF, ASY_UNDEF, ASY_UNDEF, ASY_UNDEF, ASY_UNDEF};
    if (kw && kw->len > 0) {
        AsyValue *slots[] = {&a.cls,       &a.object_hook,    &a.parse_float,
                             &a.parse_int, &a.parse_constant, &a.object_pairs_hook,
                             &a.strict};
        for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
            *slots[i] = asy_kwarg(vm, kw, loads_kwnames[i]);
    }
    AsyValue text = loads_text(vm, s);
    if (ASY_IS_ERR(text)) return text;
    if (text.as.o == s.as.o && STR(text)->len >= 3 &&
        memcmp(STR(text)->data, "\xEF\xBB\xBF", 3) == 0) {
        Dec d = {.vm = vm, .doc = text, .s = STR(text)->data, .len = STR(text)->len};
        dec_error(&d, "Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
        return ASY_ERR;
    }
    bool has_cls = !ASY_IS_UNDEF(a.cls) && !ASY_IS_NONE(a.cls);
    if (has_cls || !ASY_IS_UNDEF(a.strict) || (kw && kw->len > 0)) {
        asy_root_push(vm, text);
        AsyValue r = decode_with_cls(vm, text, &a, kw && kw->len > 0 ? kw : NULL);
        asy_root_pop(vm, 1);
        return r;
    }
    asy_root_push(vm, text);
    AsyValue r = json_decode(vm, text, 0, true, &a);
    asy_root_pop(vm, 1);
    return r;
}

static AsyValue json_loads(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc != 1) {
        if (argc == 0)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "loads() missing 1 required positional argument: 's'");
        return asy_raise(vm, ASY_EXC_TypeError,
                         "loads() takes 1 positional argument but %d were given", argc);
    }
    return loads_impl(vm, argv[0], kw);
}

static AsyValue json_load(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc != 1) {
        if (argc == 0)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "load() missing 1 required positional argument: 'fp'");
        return asy_raise(vm, ASY_EXC_TypeError,
                         "load() takes 1 positional argument but %d were given", argc);
    }
    AsyValue text = asy_call_method(vm, argv[0], asy_str_intern_cstr(vm, "read"), 0, NULL);
    if (ASY_IS_ERR(text)) return text;
    asy_root_push(vm, text);
    AsyValue r = loads_impl(vm, text, kw);
    asy_root_pop(vm, 1);
    return r;
}

/* _decode(s, idx, whole, object_hook, parse_float, parse_int, parse_constant, strict,
 * object_pairs_hook): JSONDecoder.decode / raw_decode's worker; idx counts code points. */
static AsyValue json_decode_native(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "_decode", kw) || !asy_check_args(vm, "_decode", argc, 9, 9))
        return ASY_ERR;
    AsyValue text = argv[0];
    if (!is_str(vm, text))
        return asy_raise(vm, ASY_EXC_TypeError, "first argument must be a string, not %s",
                         asy_type_name(vm, text));
    int64_t idx;
    if (!asy_index(vm, argv[1], &idx)) return ASY_ERR;
    int whole = asy_truthy(vm, argv[2]);
    if (whole < 0) return ASY_ERR;
    if (idx < 0) return asy_raise(vm, ASY_EXC_ValueError, "idx cannot be negative");
    AsyStr *s = STR(text);
    LoadsArgs a = {ASY_UNDEF, argv[3], argv[4], argv[5], argv[6], argv[8], argv[7]};
    if ((size_t)idx >= s->nchars && !whole) {
        Dec d = {.vm = vm, .doc = text, .s = s->data, .len = s->len};
        dec_error_at(&d, "Expecting value", (size_t)idx);
        return ASY_ERR;
    }
    size_t start = (size_t)idx >= s->nchars ? s->len
                   : s->ascii               ? (size_t)idx
                                            : asy_utf8_offset(s->data, s->len, (size_t)idx);
    return json_decode(vm, text, start, whole, &a);
}

/* ------------------------------------------------------------------------------------ */
/* The module                                                                             */
/* ------------------------------------------------------------------------------------ */

static const AsyMethodDef json_functions[] = {
    {"dumps", json_dumps, 0, "Serialize obj to a JSON formatted str."},
    {"dump", json_dump, 0, "Serialize obj as a JSON formatted stream to fp."},
    {"loads", json_loads, 0, "Deserialize s (str or bytes) to a Python object."},
    {"load", json_load, 0, "Deserialize fp.read() to a Python object."},
    {"_encode", json_encode_native, 0, "JSONEncoder.encode's worker."},
    {"_decode", json_decode_native, 0, "JSONDecoder.decode's worker."},
    {NULL, NULL, 0, NULL},
};

/* The classes, as CPython's json.decoder / json.encoder define them. */
static const char json_lib_src[] =
    "class JSONDecodeError(ValueError):\n"
    "    __module__ = 'json.decoder'\n"
    "    def __init__(self, msg, doc, pos):\n"
    "        lineno = doc.count('\\n', 0, pos) + 1\n"
    "        colno = pos - doc.rfind('\\n', 0, pos)\n"
    "        errmsg = '%s: line %d column %d (char %d)' % (msg, lineno, colno, pos)\n"
    "        ValueError.__init__(self, errmsg)\n"
    "        self.msg = msg\n"
    "        self.doc = doc\n"
    "        self.pos = pos\n"
    "        self.lineno = lineno\n"
    "        self.colno = colno\n"
    "    def __reduce__(self):\n"
    "        return self.__class__, (self.msg, self.doc, self.pos)\n"
    "\n"
    "class JSONDecoder:\n"
    "    __module__ = 'json.decoder'\n"
    "    def __init__(self, *, object_hook=None, parse_float=None, parse_int=None,\n"
    "                 parse_constant=None, strict=True, object_pairs_hook=None):\n"
    "        self.object_hook = object_hook\n"
    "        self.parse_float = parse_float or float\n"
    "        self.parse_int = parse_int or int\n"
    "        self.parse_constant = parse_constant\n"
    "        self.strict = strict\n"
    "        self.object_pairs_hook = object_pairs_hook\n"
    "    def decode(self, s):\n"
    "        return _decode(s, 0, True, self.object_hook, self.parse_float, self.parse_int,\n"
    "                       self.parse_constant, self.strict, self.object_pairs_hook)\n"
    "    def raw_decode(self, s, idx=0):\n"
    "        return _decode(s, idx, False, self.object_hook, self.parse_float,\n"
    "                       self.parse_int, self.parse_constant, self.strict,\n"
    "                       self.object_pairs_hook)\n"
    "\n"
    "class JSONEncoder:\n"
    "    __module__ = 'json.encoder'\n"
    "    item_separator = ', '\n"
    "    key_separator = ': '\n"
    "    def __init__(self, *, skipkeys=False, ensure_ascii=True, check_circular=True,\n"
    "                 allow_nan=True, sort_keys=False, indent=None, separators=None,\n"
    "                 default=None):\n"
    "        self.skipkeys = skipkeys\n"
    "        self.ensure_ascii = ensure_ascii\n"
    "        self.check_circular = check_circular\n"
    "        self.allow_nan = allow_nan\n"
    "        self.sort_keys = sort_keys\n"
    "        self.indent = indent\n"
    "        if separators is not None:\n"
    "            self.item_separator, self.key_separator = separators\n"
    "        elif indent is not None:\n"
    "            self.item_separator = ','\n"
    "        if default is not None:\n"
    "            self.default = default\n"
    "    def default(self, o):\n"
    "        raise TypeError(f'Object of type {o.__class__.__name__} '\n"
    "                        f'is not JSON serializable')\n"
    "    def encode(self, o):\n"
    "        chunks = self.iterencode(o, _one_shot=True)\n"
    "        if not isinstance(chunks, (list, tuple)):\n"
    "            chunks = list(chunks)\n"
    "        return ''.join(chunks)\n"
    "    def iterencode(self, o, _one_shot=False):\n"
    "        return iter((_encode(o, self.skipkeys, self.ensure_ascii, self.check_circular,\n"
    "                             self.allow_nan, self.sort_keys, self.indent,\n"
    "                             (self.item_separator, self.key_separator),\n"
    "                             self.default),))\n"
    "\n"
    "def _dump_with(encoder, fp, obj):\n"
    "    for chunk in encoder.iterencode(obj):\n"
    "        fp.write(chunk)\n";

static AsyModule *submodule(AsyVM *vm, AsyModule *json, const char *name, const char **names) {
    char full[32];
    snprintf(full, sizeof full, "json.%s", name);
    AsyModule *m = asy_module_new(vm, full);
    for (const char **n = names; *n; n++)
        asy_dict_set_cstr(vm, m->dict, *n, asy_dict_get_cstr(vm, json->dict, *n));
    asy_dict_set_cstr(vm, json->dict, name, ASY_OBJ(m));
    asy_module_register(vm, m);
    return m;
}

void asy_mod_json_init(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "json");
    asy_root_push(vm, ASY_OBJ(m));
    asy_module_add_functions(vm, m, json_functions);
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    AsyCode *code =
        asy_compile(vm, json_lib_src, sizeof json_lib_src - 1, "<json>", ASY_PARSE_MODULE);
    AsyValue r = ASY_ERR;
    if (code) {
        asy_root_push(vm, ASY_OBJ(code));
        r = asy_vm_run_code(vm, code, m->dict);
        asy_root_pop(vm, 1);
    }
    if (!ASY_IS_ERR(r)) {
        static const char *dec_names[] = {"JSONDecodeError", "JSONDecoder", NULL};
        static const char *enc_names[] = {"JSONEncoder", NULL};
        submodule(vm, m, "decoder", dec_names);
        submodule(vm, m, "encoder", enc_names);
        asy_module_register(vm, m);
    }
    asy_root_pop(vm, 1);
}
