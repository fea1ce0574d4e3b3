/* strformat.c - the format-spec mini-language (parsing, padding, digit grouping) shared by
 * every __format__, str.format / str.format_map, and printf-style `str % args`.
 *
 * All three follow CPython 3.11's implementations closely (Python/formatter_unicode.c,
 * Objects/stringlib/unicode_format.h, PyUnicode_Format in Objects/unicodeobject.c), down
 * to the order in which errors are detected, because scripts print those messages.
 * The syntax characters are all ASCII, so the parsers scan UTF-8 bytes directly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "strformat.h"
#include "unicode.h"
#include "vm.h"

#define AS_STR(v) ((AsyStr *)ASY_AS_OBJ(v))

static inline bool is_str(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == ASY_TYPE(vm, str) ||
                             asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, str)));
}

/* ------------------------------------------------------------------------------------ */
/* The format-spec parser                                                                 */
/* ------------------------------------------------------------------------------------ */

static inline bool is_align(uint32_t c) { return c == '<' || c == '>' || c == '=' || c == '^'; }

/* Digits at p[*i..n) into *out; returns how many were read, -1 on overflow (raised). */
static int read_int(AsyVM *vm, const uint32_t *p, size_t *i, size_t n, int64_t *out) {
    int64_t acc = 0;
    int count = 0;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9') {
        int d = (int)(p[*i] - '0');
        if (acc > (INT64_MAX - d) / 10) {
            asy_raise(vm, ASY_EXC_ValueError, "Too many decimal digits in format string");
            return -1;
        }
        acc = acc * 10 + d;
        (*i)++;
        count++;
    }
    *out = acc;
    return count;
}

static void raise_invalid_spec(AsyVM *vm, AsyStr *spec, AsyValue obj) {
    asy_raise(vm, ASY_EXC_ValueError, "Invalid format specifier '%s' for object of type '%s'",
              spec->data, asy_type_name(vm, obj));
}

static bool grouping_error(AsyVM *vm, char sep, uint32_t type) {
    if (type > 32 && type < 128)
        asy_raise(vm, ASY_EXC_ValueError, "Cannot specify '%c' with '%c'.", sep, (char)type);
    else
        asy_raise(vm, ASY_EXC_ValueError, "Cannot specify '%c' with '\\x%x'.", sep, type);
    return false;
}

bool asy_format_spec_parse(AsyVM *vm, AsyStr *spec, AsyValue obj, AsyFormatSpec *out) {
    memset(out, 0, sizeof *out);
    out->fill = ' ';
    out->fill_utf8[0] = ' ';
    out->fill_len = 1;
    out->width = -1;
    out->precision = -1;
    if (!spec || spec->len == 0) return true;

    uint32_t small[64];
    uint32_t *p = spec->nchars <= 64 ? small : malloc(spec->nchars * sizeof *p);
    if (!p) {
        asy_raise_memory(vm);
        return false;
    }
    for (size_t b = 0, k = 0; b < spec->len; k++) p[k] = asy_utf8_next(spec->data, &b);
    size_t n = spec->nchars, i = 0;
    bool ok = false;

    if (n >= 2 && is_align(p[1])) {
        out->align = (char)p[1];
        out->fill = p[0];
        out->fill_len = (uint8_t)asy_utf8_encode(p[0], out->fill_utf8);
        out->fill_given = true;
        i = 2;
    } else if (n >= 1 && is_align(p[0])) {
        out->align = (char)p[0];
        i = 1;
    }
    if (i < n && (p[i] == '+' || p[i] == '-' || p[i] == ' ')) out->sign = (char)p[i++];
    if (i < n && p[i] == 'z') out->z = true, i++;
    if (i < n && p[i] == '#') out->alternate = true, i++;
    if (!out->fill_given && i < n && p[i] == '0') out->zero = true, i++;
    int got = read_int(vm, p, &i, n, &out->width);
    if (got < 0) goto done;
    if (got == 0) out->width = -1;
    if (i < n && p[i] == ',') out->grouping = ',', i++;
    if (i < n && p[i] == '_') {
        if (out->grouping) {
            asy_raise(vm, ASY_EXC_ValueError, "Cannot specify both ',' and '_'.");
            goto done;
        }
        out->grouping = '_', i++;
    }
    if (i < n && p[i] == ',' && out->grouping == '_') {
        asy_raise(vm, ASY_EXC_ValueError, "Cannot specify both ',' and '_'.");
        goto done;
    }
    if (i < n && p[i] == '.') {
        i++;
        got = read_int(vm, p, &i, n, &out->precision);
        if (got < 0) goto done;
        if (got == 0) {
            asy_raise(vm, ASY_EXC_ValueError, "Format specifier missing precision");
            goto done;
        }
    }
    if (n - i > 1) {
        raise_invalid_spec(vm, spec, obj);
        goto done;
    }
    if (n - i == 1) out->type = p[i];
    if (out->grouping) {
        switch (out->type) {
        case 0: case 'd': case 'e': case 'f': case 'g': case 'E': case 'G': case '%': case 'F':
            break;
        case 'b': case 'o': case 'x': case 'X':
            if (out->grouping == '_') break;
            /* fall through */
        default:
            grouping_error(vm, out->grouping, out->type);
            goto done;
        }
    }
    ok = true;
done:
    if (p != small) free(p);
    return ok;
}

AsyValue asy_format_unknown_code(AsyVM *vm, const AsyFormatSpec *s, AsyValue obj) {
    if (s->type > 32 && s->type < 128)
        return asy_raise(vm, ASY_EXC_ValueError, "Unknown format code '%c' for object of type '%s'",
                         (char)s->type, asy_type_name(vm, obj));
    return asy_raise(vm, ASY_EXC_ValueError, "Unknown format code '\\x%x' for object of type '%s'",
                     s->type, asy_type_name(vm, obj));
}

/* ------------------------------------------------------------------------------------ */
/* Padding and grouping                                                                   */
/* ------------------------------------------------------------------------------------ */

static void put_fill(AsyVM *vm, AsyStrBuf *out, const char *f, size_t flen, size_t count) {
    if (count == 0) return;
    if (flen == 1) {
        char chunk[64];
        memset(chunk, f[0], sizeof chunk);
        while (count > 0 && !out->failed) {
            size_t k = count < sizeof chunk ? count : sizeof chunk;
            asy_strbuf_append(vm, out, chunk, k);
            count -= k;
        }
        return;
    }
    for (size_t k = 0; k < count && !out->failed; k++) asy_strbuf_append(vm, out, f, flen);
}

void asy_format_pad_into(AsyVM *vm, AsyStrBuf *out, const char *body, size_t len,
                         size_t nchars, const AsyFormatSpec *spec, char default_align,
                         size_t prefix_len) {
    char align = asy_format_align(spec, default_align);
    size_t total = spec->width > 0 && (size_t)spec->width > nchars ? (size_t)spec->width : nchars;
    size_t pad = total - nchars, left;
    if (align == '>') left = pad;
    else if (align == '^') left = pad / 2;
    else left = 0;
    const char *f = spec->zero ? "0" : spec->fill_utf8;
    size_t flen = spec->zero ? 1 : spec->fill_len;
    if (align == '=') {
        if (prefix_len > len) prefix_len = len;
        asy_strbuf_append(vm, out, body, prefix_len);
        put_fill(vm, out, f, flen, pad);
        asy_strbuf_append(vm, out, body + prefix_len, len - prefix_len);
        return;
    }
    put_fill(vm, out, f, flen, left);
    asy_strbuf_append(vm, out, body, len);
    put_fill(vm, out, f, flen, pad - left);
}

AsyStr *asy_format_pad_ex(AsyVM *vm, const char *body, size_t len, size_t nchars,
                          const AsyFormatSpec *spec, char default_align, size_t prefix_len) {
    if (spec->width > 0 && (uint64_t)spec->width >= ASY_MAX_ALLOC / 4) {
        asy_raise_memory(vm);
        return NULL;
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_format_pad_into(vm, &b, body, len, nchars, spec, default_align, prefix_len);
    return asy_strbuf_finish(vm, &b);
}

AsyStr *asy_format_pad(AsyVM *vm, const char *body, size_t len, size_t nchars,
                       const AsyFormatSpec *spec, char default_align) {
    size_t prefix = 0;
    if (len > 0 && (body[0] == '+' || body[0] == '-' || body[0] == ' ')) prefix = 1;
    if (spec->alternate && len >= prefix + 2 && body[prefix] == '0' &&
        strchr("xXoObB", body[prefix + 1]) && body[prefix + 1] != '\0')
        prefix += 2;
    return asy_format_pad_ex(vm, body, len, nchars, spec, default_align, prefix);
}

/* CPython's _PyUnicode_InsertThousandsGrouping with a repeating group size: groups are
 * emitted right to left, zero-padding (with separators) until min_width is reached. */
void asy_format_group_digits(AsyVM *vm, AsyStrBuf *out, const char *digits, size_t n,
                             char sep, int interval, int64_t min_width) {
    /* Build reversed into a scratch buffer, then append reversed. */
    size_t cap = n + n / (size_t)interval + 2 +
                 (min_width > 0 ? (size_t)min_width + (size_t)min_width / (size_t)interval : 0);
    char *tmp = malloc(cap);
    if (!tmp) {
        asy_raise_memory(vm);
        out->failed = true;
        return;
    }
    size_t k = 0;
    int64_t remaining = (int64_t)n, minw = min_width;
    bool use_sep = false;
    for (;;) {
        int64_t l = interval, m = remaining > minw ? remaining : minw;
        if (m < 1) m = 1;
        if (l > m) l = m;
        int64_t nzeros = l - remaining > 0 ? l - remaining : 0;
        int64_t nchars = remaining < l ? remaining : l;
        if (nchars < 0) nchars = 0;
        if (use_sep) tmp[k++] = sep;
        for (int64_t j = 0; j < nchars; j++) tmp[k++] = digits[remaining - 1 - j];
        for (int64_t j = 0; j < nzeros; j++) tmp[k++] = '0';
        use_sep = true;
        remaining -= nchars;
        minw -= l;
        if (remaining <= 0 && minw <= 0) break;
        minw -= 1;
    }
    for (size_t a = 0, b = k ? k - 1 : 0; a < b; a++, b--) {
        char t = tmp[a];
        tmp[a] = tmp[b];
        tmp[b] = t;
    }
    asy_strbuf_append(vm, out, tmp, k);
    free(tmp);
}

/* ------------------------------------------------------------------------------------ */
/* str.format and str.format_map                                                          */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    AsyVM *vm;
    int argc;
    AsyValue *argv;
    AsyDict *kw;             /* format(**kw); may be NULL                          */
    AsyValue mapping;        /* format_map's mapping (no positional fields), else UNDEF */
    int numbering;           /* 0 not yet known, 1 automatic, 2 manual             */
    int64_t next_auto;
} FmtCtx;

static AsyValue fmt_error(AsyVM *vm, const char *msg) {
    return asy_raise(vm, ASY_EXC_ValueError, "%s", msg);
}

/* The decimal value of s[b, e) if it is all digits, -1 if it is not, -2 on overflow. */
static int64_t all_digits(AsyVM *vm, const char *s, size_t b, size_t e) {
    if (b == e) return -1;
    int64_t acc = 0;
    for (size_t i = b; i < e; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        int d = s[i] - '0';
        if (acc > (INT64_MAX - d) / 10) {
            fmt_error(vm, "Too many decimal digits in format string");
            return -2;
        }
        acc = acc * 10 + d;
    }
    return acc;
}

static AsyValue raise_key_error(AsyVM *vm, AsyValue key) {
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &key);
    if (ASY_IS_ERR(e)) return e;
    return asy_raise_value(vm, e);
}

/* The object the first part of a field name (s[b, e)) names. */
static AsyValue field_first(FmtCtx *c, const char *s, size_t b, size_t e) {
    AsyVM *vm = c->vm;
    int64_t idx = all_digits(vm, s, b, e);
    if (idx == -2) return ASY_ERR;
    if (b == e) {
        if (c->numbering == 2)
            return fmt_error(vm, "cannot switch from manual field specification to automatic "
                                 "field numbering");
        c->numbering = 1;
        idx = c->next_auto++;
    } else if (idx >= 0) {
        if (c->numbering == 1)
            return fmt_error(vm, "cannot switch from automatic field numbering to manual field "
                                 "specification");
        c->numbering = 2;
    }
    if (idx >= 0) {
        if (!ASY_IS_UNDEF(c->mapping)) return fmt_error(vm, "Format string contains positional fields");
        if (idx >= c->argc)
            return asy_raise(vm, ASY_EXC_IndexError,
                             "Replacement index %lld out of range for positional args tuple",
                             (long long)idx);
        return c->argv[idx];
    }
    AsyStr *key = asy_str_new(vm, s + b, e - b);
    if (!key) return ASY_ERR;
    if (!ASY_IS_UNDEF(c->mapping)) return asy_getitem(vm, c->mapping, ASY_OBJ(key));
    AsyValue v = c->kw ? asy_dict_get_str(vm, c->kw, key) : ASY_UNDEF;
    if (ASY_IS_UNDEF(v)) return raise_key_error(vm, ASY_OBJ(key));
    return v;
}

/* Resolve a whole field name: first part, then .attr and [key] parts. */
static AsyValue field_object(FmtCtx *c, const char *s, size_t b, size_t e) {
    AsyVM *vm = c->vm;
    size_t i = b;
    while (i < e && s[i] != '.' && s[i] != '[') i++;
    AsyValue obj = field_first(c, s, b, i);
    while (!ASY_IS_ERR(obj) && i < e) {
        char kind = s[i++];
        size_t nb = i;
        if (kind == '.') {
            while (i < e && s[i] != '.' && s[i] != '[') i++;
        } else if (kind == '[') {
            while (i < e && s[i] != ']') i++;
            if (i >= e) return fmt_error(vm, "Missing ']' in format string");
        } else {
            return fmt_error(vm, "Only '.' or '[' may follow ']' in format field specifier");
        }
        size_t ne = i;
        if (kind == '[') i++; /* past ']' */
        if (nb == ne) return fmt_error(vm, "Empty attribute in format string");
        asy_root_push(vm, obj);
        if (kind == '.') {
            AsyStr *name = asy_str_intern(vm, s + nb, ne - nb);
            obj = name ? asy_getattr(vm, obj, name) : ASY_ERR;
        } else {
            int64_t k = all_digits(vm, s, nb, ne);
            AsyValue key;
            if (k == -2) {
                key = ASY_ERR;
            } else if (k >= 0) {
                key = ASY_INT(k);
            } else {
                AsyStr *ks = asy_str_new(vm, s + nb, ne - nb);
                key = ks ? ASY_OBJ(ks) : ASY_ERR;
            }
            obj = ASY_IS_ERR(key) ? key : asy_getitem(vm, obj, key);
        }
        asy_root_pop(vm, 1);
    }
    return obj;
}

/* Split the field starting at s[*i] (just after '{') as CPython's parse_field: name
 * [nb, ne), conversion (0 if none), spec [sb, se); *i ends after the closing '}'. */
static bool parse_field(AsyVM *vm, const char *s, size_t n, size_t *i, size_t *nb, size_t *ne,
                        char *conv, size_t *sb, size_t *se, bool *expand) {
    size_t p = *i;
    char c = 0;
    *conv = 0;
    *sb = *se = 0;
    *expand = false;
    *nb = p;
    while (p < n) {
        c = s[p++];
        if (c == '{') {
            fmt_error(vm, "unexpected '{' in field name");
            return false;
        }
        if (c == '[') {
            while (p < n && s[p] != ']') p++;
            continue;
        }
        if (c == '}' || c == ':' || c == '!') break;
    }
    if (c != '}' && c != ':' && c != '!') {
        fmt_error(vm, "expected '}' before end of string");
        return false;
    }
    *ne = p - 1;
    if (c == '}') {
        *i = p;
        return true;
    }
    if (c == '!') {
        if (p >= n) {
            fmt_error(vm, "end of string while looking for conversion specifier");
            return false;
        }
        *conv = s[p++];
        if (p < n) {
            c = s[p++];
            if (c == '}') {
                *i = p;
                return true;
            }
            if (c != ':') {
                fmt_error(vm, "expected ':' after conversion specifier");
                return false;
            }
        }
    }
    *sb = p;
    int depth = 1;
    while (p < n) {
        c = s[p++];
        if (c == '{') {
            *expand = true;
            depth++;
        } else if (c == '}' && --depth == 0) {
            *se = p - 1;
            *i = p;
            return true;
        }
    }
    fmt_error(vm, "unmatched '{' in format spec");
    return false;
}

static bool render(FmtCtx *c, const char *s, size_t n, AsyStrBuf *out, int depth);

/* Append format(v, spec) (spec may be NULL). Common cases skip the generic dispatch. */
static bool append_formatted(AsyVM *vm, AsyStrBuf *out, AsyValue v, AsyStr *spec) {
    if (!spec || spec->len == 0) {
        if (ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, str)) {
            asy_strbuf_append_str(vm, out, AS_STR(v));
            return !out->failed;
        }
        if (ASY_IS_INT(v)) {
            asy_strbuf_printf(vm, out, "%lld", (long long)ASY_AS_INT(v));
            return !out->failed;
        }
    }
    asy_root_push(vm, v);
    AsyValue r = asy_format(vm, v, spec ? spec : vm->empty_str);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r)) return false;
    asy_strbuf_append_str(vm, out, AS_STR(r));
    return !out->failed;
}

static AsyValue convert(AsyVM *vm, AsyValue v, char conv) {
    switch (conv) {
    case 0: return v;
    case 'r': return asy_repr(vm, v);
    case 's': return asy_str(vm, v);
    case 'a': return asy_ascii(vm, v);
    default:
        if (conv > 32 && conv < 127)
            return asy_raise(vm, ASY_EXC_ValueError, "Unknown conversion specifier %c", conv);
        return asy_raise(vm, ASY_EXC_ValueError, "Unknown conversion specifier \\x%x",
                         (unsigned)(unsigned char)conv);
    }
}

static bool render_field(FmtCtx *c, const char *s, size_t n, size_t *i, AsyStrBuf *out,
                         int depth) {
    AsyVM *vm = c->vm;
    size_t nb, ne, sb, se;
    char conv;
    bool expand;
    if (!parse_field(vm, s, n, i, &nb, &ne, &conv, &sb, &se, &expand)) return false;
    AsyValue v = field_object(c, s, nb, ne);
    if (ASY_IS_ERR(v)) return false;
    asy_root_push(vm, v);
    v = convert(vm, v, conv);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(v)) return false;
    AsyStr *spec = NULL;
    if (se > sb) {
        asy_root_push(vm, v);
        if (expand) {
            AsyStrBuf sbuf;
            asy_strbuf_init(&sbuf);
            spec = render(c, s + sb, se - sb, &sbuf, depth + 1) ? asy_strbuf_finish(vm, &sbuf)
                                                                : NULL;
            asy_strbuf_free(&sbuf);
        } else {
            spec = asy_str_new(vm, s + sb, se - sb);
        }
        asy_root_pop(vm, 1);
        if (!spec) return false;
    }
    if (spec) asy_root_push(vm, ASY_OBJ(spec));
    bool ok = append_formatted(vm, out, v, spec);
    if (spec) asy_root_pop(vm, 1);
    return ok;
}

/* Expand the format string s[0, n) into out (CPython's MarkupIterator loop). */
static bool render(FmtCtx *c, const char *s, size_t n, AsyStrBuf *out, int depth) {
    AsyVM *vm = c->vm;
    if (depth >= 2) {
        fmt_error(vm, "Max string recursion exceeded");
        return false;
    }
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '{' && s[j] != '}') j++;
        asy_strbuf_append(vm, out, s + i, j - i);
        if (j >= n) break;
        char ch = s[j++];
        if (ch == '}') {
            if (j >= n || s[j] != '}') {
                fmt_error(vm, "Single '}' encountered in format string");
                return false;
            }
            asy_strbuf_append(vm, out, "}", 1);
            i = j + 1;
            continue;
        }
        if (j >= n) {
            fmt_error(vm, "Single '{' encountered in format string");
            return false;
        }
        if (s[j] == '{') {
            asy_strbuf_append(vm, out, "{", 1);
            i = j + 1;
            continue;
        }
        i = j;
        if (!render_field(c, s, n, &i, out, depth)) return false;
    }
    return !out->failed;
}

static AsyValue format_run(FmtCtx *c, AsyStr *fmt) {
    AsyStrBuf out;
    asy_strbuf_init(&out);
    if (!render(c, fmt->data, fmt->len, &out, 0)) {
        asy_strbuf_free(&out);
        return ASY_ERR;
    }
    AsyStr *r = asy_strbuf_finish(c->vm, &out);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

AsyValue asy_str_format_method(AsyVM *vm, AsyStr *fmt, int argc, AsyValue *argv, AsyDict *kw) {
    /* No braces at all: the string itself (a common case for log lines). */
    if (fmt->hdr.type == ASY_TYPE(vm, str) && !memchr(fmt->data, '{', fmt->len) &&
        !memchr(fmt->data, '}', fmt->len))
        return ASY_OBJ(fmt);
    FmtCtx c = {vm, argc, argv, kw, ASY_UNDEF, 0, 0};
    return format_run(&c, fmt);
}

AsyValue asy_str_format_map(AsyVM *vm, AsyStr *fmt, AsyValue mapping) {
    FmtCtx c = {vm, 0, NULL, NULL, mapping, 0, 0};
    return format_run(&c, fmt);
}

/* ------------------------------------------------------------------------------------ */
/* printf-style formatting: str % args, and bytes % args (PEP 461)                        */
/* ------------------------------------------------------------------------------------ */

/* One engine serves both: the numeric conversions are shared as they are in CPython
 * (formatlong, formatfloat); with `bytes` set, the format and the result are raw bytes,
 * %s/%b take bytes-like objects, %r is %a, %c makes one byte, and %(key) keys are bytes. */

typedef struct {
    AsyVM *vm;
    AsyValue *items;         /* the tuple's items, or the one non-tuple argument       */
    int64_t nitems, argidx;
    AsyValue single;         /* storage for a non-tuple argument or a %(key) value     */
    AsyValue dict;           /* the mapping for %(key)s, else UNDEF                    */
    size_t nroots;           /* values pushed with asy_root_push, popped at the end     */
    bool bytes;              /* formatting bytes % args rather than str % args         */
} PctCtx;

typedef struct {
    bool left, plus, space, alt, zero;
    int64_t width, prec;     /* -1: not given */
} PctSpec;

static bool pct_next(PctCtx *c, AsyValue *out) {
    if (c->argidx < c->nitems) {
        *out = c->items[c->argidx++];
        return true;
    }
    asy_raise(c->vm, ASY_EXC_TypeError, "not enough arguments for format string");
    return false;
}

/* Does `args` count as a mapping for %(name)s (CPython: has __getitem__, not tuple/str,
 * and for bytes formatting not bytes either)? */
static bool pct_is_mapping(AsyVM *vm, AsyValue v, bool bytes) {
    if (!ASY_IS_OBJ(v)) return false;
    AsyType *t = ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v));
    if (asy_is_subtype(t, ASY_TYPE(vm, tuple)) || asy_is_subtype(t, ASY_TYPE(vm, str)) ||
        (bytes && asy_is_subtype(t, ASY_TYPE(vm, bytes))))
        return false;
    if (asy_is_subtype(t, ASY_TYPE(vm, dict)) || asy_is_subtype(t, ASY_TYPE(vm, list)) ||
        asy_is_subtype(t, ASY_TYPE(vm, bytes)) || asy_is_subtype(t, ASY_TYPE(vm, range)))
        return true;
    return (t->tflags & ASY_TYPE_HEAP) && !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __getitem__)));
}

/* Append body (nchars code points) padded per the flags: sign_len bytes of sign/prefix
 * stay in front of zero padding. */
static void pct_pad(AsyVM *vm, AsyStrBuf *out, const PctSpec *sp, const char *body, size_t len,
                    size_t nchars, size_t sign_len, bool zero_ok) {
    size_t width = sp->width > 0 ? (size_t)sp->width : 0;
    size_t pad = width > nchars ? width - nchars : 0;
    if (pad && (uint64_t)pad >= ASY_MAX_ALLOC / 2) {
        asy_raise_memory(vm);
        out->failed = true;
        return;
    }
    if (sp->left) {
        asy_strbuf_append(vm, out, body, len);
        put_fill(vm, out, " ", 1, pad);
    } else if (sp->zero && zero_ok) {
        asy_strbuf_append(vm, out, body, sign_len);
        put_fill(vm, out, "0", 1, pad);
        asy_strbuf_append(vm, out, body + sign_len, len - sign_len);
    } else {
        put_fill(vm, out, " ", 1, pad);
        asy_strbuf_append(vm, out, body, len);
    }
}

static bool pct_bytes_text(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v,
                           char conv);

static bool pct_text(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v, char conv) {
    if (c->bytes) return pct_bytes_text(c, out, sp, v, conv);
    AsyVM *vm = c->vm;
    AsyValue s = conv == 's' ? asy_str(vm, v) : conv == 'r' ? asy_repr(vm, v) : asy_ascii(vm, v);
    if (ASY_IS_ERR(s)) return false;
    AsyStr *str = AS_STR(s);
    size_t len = str->len, nchars = str->nchars;
    if (sp->prec >= 0 && (size_t)sp->prec < nchars) {
        nchars = (size_t)sp->prec;
        len = str->ascii ? nchars : asy_utf8_offset(str->data, str->len, nchars);
    }
    pct_pad(vm, out, sp, str->data, len, nchars, 0, false);
    return !out->failed;
}

static bool pct_byte(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v);

static bool pct_char(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v) {
    if (c->bytes) return pct_byte(c, out, sp, v);
    AsyVM *vm = c->vm;
    char buf[4];
    size_t n;
    if (is_str(vm, v)) {
        AsyStr *s = AS_STR(v);
        if (s->nchars != 1) {
            asy_raise(vm, ASY_EXC_TypeError, "%%c requires int or char");
            return false;
        }
        n = s->len;
        memcpy(buf, s->data, n);
    } else if (asy_num_is_int(vm, v)) {
        int ovf = 0;
        int64_t cp = asy_num_int_as_i64(v, &ovf);
        if (ovf || cp < 0 || cp > 0x10FFFF) {
            asy_raise(vm, ASY_EXC_OverflowError, "%%c arg not in range(0x110000)");
            return false;
        }
        n = asy_utf8_encode((uint32_t)cp, buf);
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "%%c requires int or char");
        return false;
    }
    pct_pad(vm, out, sp, buf, n, 1, 0, false);
    return !out->failed;
}

/* The bytes %s and %b insert: a bytes object's own, or what __bytes__ returns (rooted by
 * the caller through c->nroots). */
static AsyBytes *pct_bytes_of(PctCtx *c, AsyValue v) {
    AsyVM *vm = c->vm;
    if (ASY_IS_OBJ(v) && asy_is_subtype(ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v)), ASY_TYPE(vm, bytes)))
        return (AsyBytes *)ASY_AS_OBJ(v);
    AsyStr *name = asy_str_intern_cstr(vm, "__bytes__");
    if (!name) return NULL;
    if (ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, v), name))) {
        asy_raise(vm, ASY_EXC_TypeError, "%%b requires a bytes-like object, or an object that "
                  "implements __bytes__, not '%s'", asy_type_name(vm, v));
        return NULL;
    }
    AsyValue r = asy_call_method(vm, v, name, 0, NULL);
    if (ASY_IS_ERR(r)) return NULL;
    asy_root_push(vm, r);
    c->nroots++;
    if (!ASY_IS_OBJ(r) || !asy_is_subtype(ASY_TYPE_OF_OBJ(ASY_AS_OBJ(r)), ASY_TYPE(vm, bytes))) {
        asy_raise(vm, ASY_EXC_TypeError, "__bytes__ returned non-bytes (type %s)",
                  asy_type_name(vm, r));
        return NULL;
    }
    return (AsyBytes *)ASY_AS_OBJ(r);
}

/* bytes %s/%b (bytes-like) and %r/%a (ascii(), whose result is pure ASCII). */
static bool pct_bytes_text(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v,
                           char conv) {
    AsyVM *vm = c->vm;
    const char *data;
    size_t len;
    if (conv == 's') {
        AsyBytes *b = pct_bytes_of(c, v);
        if (!b) return false;
        data = (const char *)b->data, len = b->len;
    } else {
        AsyValue s = asy_ascii(vm, v);
        if (ASY_IS_ERR(s)) return false;
        data = AS_STR(s)->data, len = AS_STR(s)->len;
    }
    if (sp->prec >= 0 && (size_t)sp->prec < len) len = (size_t)sp->prec;
    pct_pad(vm, out, sp, data, len, len, 0, false);
    return !out->failed;
}

/* bytes %c: an int in range(256) (or an __index__ object), or a bytes of length 1. */
static bool pct_byte(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v) {
    AsyVM *vm = c->vm;
    char byte;
    if (ASY_IS_OBJ(v) && asy_is_subtype(ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v)), ASY_TYPE(vm, bytes)) &&
        ((AsyBytes *)ASY_AS_OBJ(v))->len == 1) {
        byte = (char)((AsyBytes *)ASY_AS_OBJ(v))->data[0];
    } else {
        AsyValue iv = v;
        if (!asy_num_is_int(vm, v)) {
            AsyType *t = asy_type_of(vm, v);
            iv = (t->tflags & ASY_TYPE_HEAP) &&
                         !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __index__)))
                     ? asy_num_index(vm, v)
                     : ASY_UNDEF;
            if (ASY_IS_ERR(iv) && !asy_exc_matches(vm, ASY_EXC_TypeError)) return false;
            if (ASY_IS_ERR(iv)) asy_exc_clear(vm);
            if (ASY_IS_UNDEF(iv) || ASY_IS_ERR(iv)) {
                asy_raise(vm, ASY_EXC_TypeError,
                          "%%c requires an integer in range(256) or a single byte");
                return false;
            }
        }
        int ovf = 0;
        int64_t n = asy_num_int_as_i64(iv, &ovf);
        if (ovf || n < 0 || n > 255) {
            asy_raise(vm, ASY_EXC_OverflowError, "%%c arg not in range(256)");
            return false;
        }
        byte = (char)n;
    }
    pct_pad(vm, out, sp, &byte, 1, 1, 0, false);
    return !out->failed;
}

/* The int value %d/%x/%o format: ints as they are, floats truncated (not for %x/%o),
 * objects through __index__ (or __int__ for %d). TypeError per CPython otherwise. */
static AsyValue pct_int_value(AsyVM *vm, AsyValue v, char conv) {
    bool idx_only = conv == 'x' || conv == 'X' || conv == 'o';
    if (asy_num_is_int(vm, v)) return v;
    AsyValue r = ASY_UNDEF;
    if (asy_num_is_float(vm, v)) {
        if (!idx_only) r = asy_num_int_from_double(vm, asy_num_float_value(v));
    } else if (ASY_IS_OBJ(v) && (ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v))->tflags & ASY_TYPE_HEAP)) {
        AsyType *t = ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v));
        if (!ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __index__))))
            r = asy_num_index(vm, v);
        else if (!idx_only && (!ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __int__))) ||
                               !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __float__)))))
            r = asy_number_int(vm, v);
    }
    if (ASY_IS_ERR(r) && !asy_exc_matches(vm, ASY_EXC_TypeError)) return r;
    if (ASY_IS_ERR(r)) asy_exc_clear(vm);
    if (ASY_IS_UNDEF(r) || ASY_IS_ERR(r))
        return asy_raise(vm, ASY_EXC_TypeError, "%%%c format: %s is required, not %s", conv,
                         idx_only ? "an integer" : "a real number", asy_type_name(vm, v));
    return r;
}

static bool pct_int(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v, char conv) {
    AsyVM *vm = c->vm;
    v = pct_int_value(vm, v, conv);
    if (ASY_IS_ERR(v)) return false;
    int base = conv == 'x' || conv == 'X' ? 16 : conv == 'o' ? 8 : 10;
    AsyMpzTmp tmp;
    mpz_srcptr z = asy_num_mpz(v, &tmp);
    bool neg = mpz_sgn(z) < 0;
    size_t ndig = mpz_sizeinbase(z, base) + 2;
    char small[96];
    char *digits = ndig <= sizeof small ? small : malloc(ndig);
    if (!digits) {
        asy_raise_memory(vm);
        return false;
    }
    mpz_get_str(digits, conv == 'X' ? -base : base, z);
    char *d = digits + (neg ? 1 : 0);
    size_t dlen = strlen(d);
    /* sign, prefix, precision zeros, digits */
    AsyStrBuf body;
    asy_strbuf_init(&body);
    if (neg) asy_strbuf_append(vm, &body, "-", 1);
    else if (sp->plus) asy_strbuf_append(vm, &body, "+", 1);
    else if (sp->space) asy_strbuf_append(vm, &body, " ", 1);
    if (sp->alt && base != 10) asy_strbuf_append(vm, &body, conv == 'X' ? "0X" : conv == 'x' ? "0x" : "0o", 2);
    size_t prefix = body.len;
    if (sp->prec > 0 && (size_t)sp->prec > dlen) put_fill(vm, &body, "0", 1, (size_t)sp->prec - dlen);
    asy_strbuf_append(vm, &body, d, dlen);
    if (digits != small) free(digits);
    bool ok = !body.failed;
    if (ok) pct_pad(vm, out, sp, body.data, body.len, body.len, prefix, true);
    asy_strbuf_free(&body);
    return ok && !out->failed;
}

static bool pct_float(PctCtx *c, AsyStrBuf *out, const PctSpec *sp, AsyValue v, char conv) {
    AsyVM *vm = c->vm;
    double d;
    if (!asy_num_to_double_any(vm, v, &d)) {
        if (!c->bytes) return false;
        /* bytes formatting replaces whatever went wrong (CPython's formatfloat) */
        asy_exc_clear(vm);
        asy_raise(vm, ASY_EXC_TypeError, "float argument required, not %s", asy_type_name(vm, v));
        return false;
    }
    int prec = sp->prec < 0 ? 6 : sp->prec > 100000 ? 100000 : (int)sp->prec;
    bool upper = conv == 'E' || conv == 'F' || conv == 'G';
    AsyStrBuf body;
    asy_strbuf_init(&body);
    bool neg = signbit(d) && !isnan(d);
    if (neg) asy_strbuf_append(vm, &body, "-", 1);
    else if (sp->plus) asy_strbuf_append(vm, &body, "+", 1);
    else if (sp->space) asy_strbuf_append(vm, &body, " ", 1);
    size_t prefix = body.len;
    if (isnan(d) || isinf(d)) {
        asy_strbuf_append_cstr(vm, &body, isnan(d) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"));
    } else {
        char cfmt[8] = "%", *p = cfmt + 1;
        if (sp->alt) *p++ = '#';
        *p++ = '.', *p++ = '*', *p++ = conv, *p = '\0';
        asy_strbuf_printf(vm, &body, cfmt, prec, fabs(d));
    }
    bool ok = !body.failed;
    if (ok) pct_pad(vm, out, sp, body.data, body.len, body.len, prefix, true);
    asy_strbuf_free(&body);
    return ok && !out->failed;
}

/* A '*' width or precision from the arguments. */
static bool pct_star(PctCtx *c, int64_t *out) {
    AsyValue v;
    if (!pct_next(c, &v)) return false;
    if (!asy_num_is_int(c->vm, v)) { /* an int or an int subclass (PyLong_Check) */
        asy_raise(c->vm, ASY_EXC_TypeError, "* wants int");
        return false;
    }
    if (ASY_IS_INTLIKE(v)) {
        *out = ASY_AS_INT(v);
        return true;
    }
    return asy_index(c->vm, v, out);
}

static bool pct_digits(AsyVM *vm, const char *s, size_t n, size_t *i, int64_t *out,
                       const char *what) {
    int64_t acc = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        int d = s[(*i)++] - '0';
        if (acc > (INT32_MAX - d) / 10) {
            asy_raise(vm, ASY_EXC_ValueError, "%s too big", what);
            return false;
        }
        acc = acc * 10 + d;
    }
    *out = acc;
    return true;
}

/* The ValueError for an unknown conversion at s[at]; CPython's index counts characters
 * of a str format and bytes of a bytes one. */
static void pct_bad_conversion(PctCtx *c, const char *s, size_t at) {
    AsyVM *vm = c->vm;
    unsigned char b = (unsigned char)s[at];
    if (c->bytes && b >= 0x80) { /* CPython passes the byte as a negative C char */
        asy_raise(vm, ASY_EXC_OverflowError, "character argument not in range(0x110000)");
        return;
    }
    size_t q = at;
    uint32_t cp = c->bytes ? b : asy_utf8_next(s, &q);
    char shown = c->bytes || (cp >= 32 && cp <= 126) ? (char)cp : '?';
    asy_raise(vm, ASY_EXC_ValueError, "unsupported format character '%c' (0x%x) at index %zu",
              shown, cp, c->bytes ? at : asy_utf8_nchars(s, at));
}

/* One conversion starting just after '%' at s[*i]. */
static bool pct_one(PctCtx *c, const char *s, size_t n, size_t *i, AsyStrBuf *out) {
    AsyVM *vm = c->vm;
    size_t p = *i;
    if (p < n && s[p] == '(') {
        if (ASY_IS_UNDEF(c->dict)) {
            asy_raise(vm, ASY_EXC_TypeError, "format requires a mapping");
            return false;
        }
        size_t kb = ++p;
        int depth = 1;
        while (p < n && depth > 0) {
            if (s[p] == ')') depth--;
            else if (s[p] == '(') depth++;
            p++;
        }
        if (depth > 0) {
            asy_raise(vm, ASY_EXC_ValueError, "incomplete format key");
            return false;
        }
        AsyObj *key = c->bytes ? (AsyObj *)asy_bytes_new(vm, (const uint8_t *)s + kb, p - 1 - kb)
                               : (AsyObj *)asy_str_new(vm, s + kb, p - 1 - kb);
        if (!key) return false;
        AsyValue v = asy_getitem(vm, c->dict, ASY_OBJ(key));
        if (ASY_IS_ERR(v)) return false;
        asy_root_push(vm, v);
        c->nroots++;
        c->single = v;
        c->items = &c->single;
        c->nitems = 1;
        c->argidx = 0;
    }
    PctSpec sp = {false, false, false, false, false, -1, -1};
    for (; p < n; p++) {
        char f = s[p];
        if (f == '-') sp.left = true;
        else if (f == '+') sp.plus = true;
        else if (f == ' ') sp.space = true;
        else if (f == '#') sp.alt = true;
        else if (f == '0') sp.zero = true;
        else break;
    }
    if (p < n && s[p] == '*') {
        if (!pct_star(c, &sp.width)) return false;
        if (sp.width < 0) sp.left = true, sp.width = -sp.width;
        p++;
    } else if (!pct_digits(vm, s, n, &p, &sp.width, "width")) {
        return false;
    }
    if (p < n && s[p] == '.') {
        p++;
        if (p < n && s[p] == '*') {
            if (!pct_star(c, &sp.prec)) return false;
            if (sp.prec < 0) sp.prec = 0;
            p++;
        } else if (!pct_digits(vm, s, n, &p, &sp.prec, "precision")) {
            return false;
        }
    }
    /* C length modifiers are accepted and ignored, as CPython does. */
    while (p < n && (s[p] == 'h' || s[p] == 'l' || s[p] == 'L')) p++;
    if (p >= n) {
        asy_raise(vm, ASY_EXC_ValueError, "incomplete format");
        return false;
    }
    size_t at = p;
    char conv = s[p++];
    *i = p;
    AsyValue v;
    switch (conv) {
    case 'b':
        if (!c->bytes) break;
        return pct_next(c, &v) && pct_text(c, out, &sp, v, 's');
    case 's': case 'r': case 'a':
        return pct_next(c, &v) && pct_text(c, out, &sp, v, conv);
    case 'c':
        return pct_next(c, &v) && pct_char(c, out, &sp, v);
    case 'd': case 'i': case 'u': case 'x': case 'X': case 'o':
        /* CPython's messages name %i and %u as written, except bytes' %i (which it reads as %d) */
        return pct_next(c, &v) && pct_int(c, out, &sp, v, c->bytes && conv == 'i' ? 'd' : conv);
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
        return pct_next(c, &v) && pct_float(c, out, &sp, v, conv);
    default:
        break;
    }
    pct_bad_conversion(c, s, at);
    return false;
}

/* Format s[0..n) with args into out; false with an exception set. */
static bool pct_run(PctCtx *c, const char *s, size_t n, AsyValue args, AsyStrBuf *out) {
    AsyVM *vm = c->vm;
    if (ASY_IS_OBJ(args) && asy_is_subtype(ASY_TYPE_OF_OBJ(ASY_AS_OBJ(args)), ASY_TYPE(vm, tuple))) {
        AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(args);
        c->items = t->items;
        c->nitems = t->len;
    } else {
        c->items = &c->single;
        c->nitems = 1;
        if (pct_is_mapping(vm, args, c->bytes)) c->dict = args;
    }
    size_t i = 0;
    bool ok = true;
    while (i < n && ok) {
        const char *pct = memchr(s + i, '%', n - i);
        size_t j = pct ? (size_t)(pct - s) : n;
        asy_strbuf_append(vm, out, s + i, j - i);
        if (j >= n) break;
        i = j + 1;
        if (i < n && s[i] == '%') {
            asy_strbuf_append(vm, out, "%", 1);
            i++;
            continue;
        }
        ok = pct_one(c, s, n, &i, out);
    }
    if (ok && ASY_IS_UNDEF(c->dict) && c->argidx < c->nitems) {
        asy_raise(vm, ASY_EXC_TypeError, "not all arguments converted during %s formatting",
                  c->bytes ? "bytes" : "string");
        ok = false;
    }
    asy_root_pop(vm, c->nroots);
    if (ok && out->failed) ok = false; /* the buffer raised MemoryError */
    return ok;
}

AsyValue asy_str_percent(AsyVM *vm, AsyStr *fmt, AsyValue args) {
    PctCtx c = {vm, NULL, 0, 0, args, ASY_UNDEF, 0, false};
    AsyStrBuf out;
    asy_strbuf_init(&out);
    if (!pct_run(&c, fmt->data, fmt->len, args, &out)) {
        asy_strbuf_free(&out);
        return ASY_ERR;
    }
    AsyStr *r = asy_strbuf_finish(vm, &out);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

AsyValue asy_bytes_percent(AsyVM *vm, AsyBytes *fmt, AsyValue args) {
    PctCtx c = {vm, NULL, 0, 0, args, ASY_UNDEF, 0, true};
    AsyStrBuf out;
    asy_strbuf_init(&out);
    AsyValue r = ASY_ERR;
    if (pct_run(&c, (const char *)fmt->data, fmt->len, args, &out)) {
        AsyBytes *b = asy_bytes_new(vm, (const uint8_t *)out.data, out.len);
        if (b) r = ASY_OBJ(b);
    }
    asy_strbuf_free(&out);
    return r;
}
