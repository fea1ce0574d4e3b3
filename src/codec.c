/* codec.c - the text codecs of str.encode and bytes.decode: utf-8, ascii and latin-1 under
 * CPython's names and aliases, with CPython's error handlers (strict, ignore, replace,
 * backslashreplace, xmlcharrefreplace on encoding, surrogateescape, surrogatepass).
 *
 * A str is UTF-8 in which a lone surrogate (U+D800..U+DFFF, made by '\ud800' literals,
 * chr() or surrogateescape decoding) is stored as the three bytes surrogatepass would
 * write (ED A0..BF xx). The utf-8 encoder refuses those as CPython's does. Each error
 * covers the run of consecutive characters the codec cannot take, as in CPython, and a
 * handler is looked up only when an error needs it (an unknown name on clean text passes).
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

#include "unicode.h"
#include "vm.h"

static const char *const codec_names[] = {"utf-8", "ascii", "latin-1"};

/* CPython's normalisation of codec names: lower case, '_' and ' ' as '-'. */
int asy_codec_lookup(const char *name) {
    char n[32];
    size_t i;
    for (i = 0; name[i] && i < sizeof n - 1; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c == '_' || c == ' ') c = '-';
        n[i] = c;
    }
    if (name[i]) return -1;
    n[i] = '\0';
    static const struct {
        const char *name;
        int codec;
    } table[] = {
        {"utf-8", ASY_CODEC_UTF8},        {"utf8", ASY_CODEC_UTF8},
        {"u8", ASY_CODEC_UTF8},           {"utf", ASY_CODEC_UTF8},
        {"cp65001", ASY_CODEC_UTF8},      {"ascii", ASY_CODEC_ASCII},
        {"us-ascii", ASY_CODEC_ASCII},    {"646", ASY_CODEC_ASCII},
        {"latin-1", ASY_CODEC_LATIN1},    {"latin1", ASY_CODEC_LATIN1},
        {"iso-8859-1", ASY_CODEC_LATIN1}, {"iso8859-1", ASY_CODEC_LATIN1},
        {"8859", ASY_CODEC_LATIN1},       {"cp819", ASY_CODEC_LATIN1},
        {"l1", ASY_CODEC_LATIN1},         {"latin", ASY_CODEC_LATIN1},
    };
    for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
        if (strcmp(n, table[k].name) == 0) return table[k].codec;
    return -1;
}

typedef enum {
    H_STRICT,
    H_IGNORE,
    H_REPLACE,
    H_BACKSLASH,
    H_XMLCHARREF,
    H_SURROGATEESCAPE,
    H_SURROGATEPASS,
    H_UNKNOWN
} Handler;

static Handler handler_of(const char *errors) {
    static const char *const names[] = {
        "strict",          "ignore",       "replace", "backslashreplace", "xmlcharrefreplace",
        "surrogateescape", "surrogatepass"};
    if (!errors) return H_STRICT;
    for (int i = 0; i < H_UNKNOWN; i++)
        if (strcmp(errors, names[i]) == 0) return (Handler)i;
    return H_UNKNOWN;
}

static AsyValue unknown_handler(AsyVM *vm, const char *errors) {
    return asy_raise(vm, ASY_EXC_LookupError, "unknown error handler name '%s'", errors);
}

/* \xhh, \uhhhh or \Uhhhhhhhh, as backslashreplace and the error messages spell cp. */
static int escape_cp(uint32_t cp, char *out, size_t cap) {
    return cp <= 0xFF     ? snprintf(out, cap, "\\x%02x", cp)
           : cp <= 0xFFFF ? snprintf(out, cap, "\\u%04x", cp)
                          : snprintf(out, cap, "\\U%08x", cp);
}

/* ------------------------------------------------------------------------------------ */
/* Encoding                                                                               */
/* ------------------------------------------------------------------------------------ */

/* Can the codec write cp? */
static inline bool encodable(int codec, uint32_t cp) {
    if (codec == ASY_CODEC_UTF8) return cp < 0xD800 || cp > 0xDFFF;
    return cp < (codec == ASY_CODEC_ASCII ? 0x80u : 0x100u);
}

static AsyValue encode_error(AsyVM *vm, int codec, AsyStr *s, size_t start, size_t end) {
    const char *reason = codec == ASY_CODEC_UTF8    ? "surrogates not allowed"
                         : codec == ASY_CODEC_ASCII ? "ordinal not in range(128)"
                                                    : "ordinal not in range(256)";
    return asy_raise_unicode_error(vm, ASY_EXC_UnicodeEncodeError, codec_names[codec], ASY_OBJ(s),
                                   start, end, reason);
}

bool asy_str_has_surrogates(const AsyStr *s) {
    if (s->ascii) return false;
    const uint8_t *p = (const uint8_t *)s->data, *end = p + s->len;
    for (; (p = memchr(p, 0xED, (size_t)(end - p))) != NULL; p++)
        if (end - p >= 2 && p[1] >= 0xA0) return true;
    return false;
}

/* Does s hold a character the codec cannot write? (The common case answers no quickly.) */
static bool needs_handling(int codec, const AsyStr *s) {
    if (s->ascii) return false;
    if (codec == ASY_CODEC_UTF8) return asy_str_has_surrogates(s);
    for (size_t i = 0; i < s->len;)
        if (!encodable(codec, asy_utf8_next(s->data, &i))) return true;
    return false;
}

/* The index of the character after the run of unencodable ones that goes on at byte i
 * (character ci): the end of an error's range. */
static size_t run_end(int codec, const AsyStr *s, size_t i, size_t ci) {
    while (i < s->len && !encodable(codec, asy_utf8_next(s->data, &i)))
        ci++;
    return ci;
}

/* The run of unencodable characters [*ci, end) at byte *i (already known bad) goes through
 * the handler; *i and *ci move past it. False with an exception raised. */
static bool encode_run(AsyVM *vm, int codec, AsyStr *s, Handler h, const char *errors, size_t *i,
                       size_t *ci, AsyStrBuf *b) {
    size_t start = *ci, end = start, j = *i;
    uint32_t cps[64];
    size_t ncps = 0, bytes_end = j;
    /* Collect the run (CPython's collend), at most a bounded number at a time for the
     * per-character handlers: the next call picks up the rest. */
    while (bytes_end < s->len && ncps < sizeof cps / sizeof cps[0]) {
        size_t k = bytes_end;
        uint32_t cp = asy_utf8_next(s->data, &k);
        if (encodable(codec, cp)) break;
        cps[ncps++] = cp;
        bytes_end = k;
        end++;
    }
    if (h == H_STRICT) {
        encode_error(vm, codec, s, start, run_end(codec, s, bytes_end, end));
        return false;
    }
    if (h == H_UNKNOWN) {
        unknown_handler(vm, errors);
        return false;
    }
    for (size_t k = 0; k < ncps; k++) {
        uint32_t cp = cps[k];
        char tmp[16];
        switch (h) {
        case H_IGNORE: break;
        case H_REPLACE: asy_strbuf_append(vm, b, "?", 1); break;
        case H_BACKSLASH:
            asy_strbuf_append(vm, b, tmp, (size_t)escape_cp(cp, tmp, sizeof tmp));
            break;
        case H_XMLCHARREF: asy_strbuf_printf(vm, b, "&#%u;", cp); break;
        case H_SURROGATEESCAPE:
            if (cp < 0xDC80 || cp > 0xDCFF) {
                encode_error(vm, codec, s, start + k, run_end(codec, s, bytes_end, end));
                return false;
            }
            tmp[0] = (char)(cp - 0xDC00);
            asy_strbuf_append(vm, b, tmp, 1);
            break;
        default: /* surrogatepass: utf-8 writes the surrogate; other codecs refuse */
            if (codec != ASY_CODEC_UTF8) {
                encode_error(vm, codec, s, start + k, run_end(codec, s, bytes_end, end));
                return false;
            }
            asy_strbuf_append(vm, b, tmp, asy_utf8_encode(cp, tmp));
            break;
        }
    }
    *i = bytes_end;
    *ci = end;
    return true;
}

AsyValue asy_str_encode(AsyVM *vm, AsyStr *s, const char *encoding, const char *errors) {
    int codec = encoding ? asy_codec_lookup(encoding) : ASY_CODEC_UTF8;
    if (codec < 0) return asy_raise(vm, ASY_EXC_LookupError, "unknown encoding: %s", encoding);
    if (codec == ASY_CODEC_UTF8 && !needs_handling(codec, s)) {
        AsyBytes *r = asy_bytes_new(vm, (const uint8_t *)s->data, s->len);
        return r ? ASY_OBJ(r) : ASY_ERR;
    }
    if (s->ascii) {
        AsyBytes *r = asy_bytes_new(vm, (const uint8_t *)s->data, s->len);
        return r ? ASY_OBJ(r) : ASY_ERR;
    }
    Handler h = handler_of(errors);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    size_t ci = 0;
    for (size_t i = 0; i < s->len && !b.failed;) {
        size_t k = i;
        uint32_t cp = asy_utf8_next(s->data, &k);
        if (encodable(codec, cp)) {
            if (codec == ASY_CODEC_UTF8) {
                asy_strbuf_append(vm, &b, s->data + i, k - i);
            } else {
                char c = (char)cp;
                asy_strbuf_append(vm, &b, &c, 1);
            }
            i = k;
            ci++;
        } else if (!encode_run(vm, codec, s, h, errors, &i, &ci, &b)) {
            asy_strbuf_free(&b);
            return ASY_ERR;
        }
    }
    if (b.failed) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    AsyBytes *r = asy_bytes_new(vm, (const uint8_t *)(b.data ? b.data : ""), b.len);
    asy_strbuf_free(&b);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* Decoding                                                                               */
/* ------------------------------------------------------------------------------------ */

static AsyValue decode_error(AsyVM *vm, int codec, const uint8_t *data, size_t len, size_t start,
                             size_t end, const char *reason) {
    AsyBytes *obj = asy_bytes_new(vm, data, len);
    if (!obj) return ASY_ERR;
    return asy_raise_unicode_error(vm, ASY_EXC_UnicodeDecodeError, codec_names[codec], ASY_OBJ(obj),
                                   start, end, reason);
}

/* Is data[i..] a surrogate as surrogatepass writes it (ED A0..BF 80..BF)? */
static bool surrogate_at(const uint8_t *data, size_t len, size_t i) {
    return len - i >= 3 && data[i] == 0xED && data[i + 1] >= 0xA0 && data[i + 1] <= 0xBF &&
           (data[i + 2] & 0xC0) == 0x80;
}

/* The bad bytes [start, end) through the handler; *next is where decoding resumes. */
static bool decode_bad(AsyVM *vm, int codec, Handler h, const char *errors, const uint8_t *data,
                       size_t len, size_t start, size_t end, const char *reason, size_t *next,
                       AsyStrBuf *out) {
    *next = end;
    char tmp[8];
    switch (h) {
    case H_IGNORE: return true;
    case H_REPLACE: asy_strbuf_append(vm, out, "\xEF\xBF\xBD", 3); return true; /* U+FFFD */
    case H_BACKSLASH:
        for (size_t k = start; k < end; k++)
            asy_strbuf_printf(vm, out, "\\x%02x", data[k]);
        return true;
    case H_SURROGATEESCAPE: {
        size_t k = start;
        for (; k < end && data[k] >= 0x80; k++) /* CPython never escapes ASCII bytes */
            asy_strbuf_append(vm, out, tmp, asy_utf8_encode(0xDC00u + data[k], tmp));
        if (k == start) break;
        *next = k;
        return true;
    }
    case H_SURROGATEPASS:
        if (codec == ASY_CODEC_UTF8 && surrogate_at(data, len, start)) {
            asy_strbuf_append(vm, out, (const char *)data + start, 3);
            *next = start + 3;
            return true;
        }
        break;
    case H_XMLCHARREF:
        asy_raise(vm, ASY_EXC_TypeError,
                  "don't know how to handle UnicodeDecodeError in error callback");
        return false;
    case H_UNKNOWN: unknown_handler(vm, errors); return false;
    default: break;
    }
    decode_error(vm, codec, data, len, start, end, reason);
    return false;
}

static AsyValue decode_utf8(AsyVM *vm, const uint8_t *data, size_t len, const char *errors) {
    size_t bs, be;
    const char *reason;
    if (asy_utf8_check(data, len, &bs, &be, &reason)) {
        AsyStr *s = asy_str_new(vm, (const char *)data, len);
        return s ? ASY_OBJ(s) : ASY_ERR;
    }
    Handler h = handler_of(errors);
    if (h == H_STRICT) return decode_error(vm, ASY_CODEC_UTF8, data, len, bs, be, reason);
    AsyStrBuf out;
    asy_strbuf_init(&out);
    size_t pos = 0;
    while (pos < len && !out.failed) {
        if (asy_utf8_check(data + pos, len - pos, &bs, &be, &reason)) {
            asy_strbuf_append(vm, &out, (const char *)data + pos, len - pos);
            break;
        }
        asy_strbuf_append(vm, &out, (const char *)data + pos, bs);
        if (!decode_bad(vm, ASY_CODEC_UTF8, h, errors, data, len, pos + bs, pos + be, reason, &pos,
                        &out)) {
            asy_strbuf_free(&out);
            return ASY_ERR;
        }
    }
    AsyStr *s = asy_strbuf_finish(vm, &out);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* ascii and latin-1: one code point per byte. */
static AsyValue decode_8bit(AsyVM *vm, int codec, const uint8_t *data, size_t len,
                            const char *errors) {
    AsyStrBuf out;
    asy_strbuf_init(&out);
    Handler h = handler_of(errors);
    for (size_t i = 0; i < len && !out.failed;) {
        uint8_t c = data[i];
        if (c < 0x80) {
            size_t j = i + 1;
            while (j < len && data[j] < 0x80)
                j++;
            asy_strbuf_append(vm, &out, (const char *)data + i, j - i);
            i = j;
        } else if (codec == ASY_CODEC_LATIN1) {
            char u[2] = {(char)(0xC0 | (c >> 6)), (char)(0x80 | (c & 0x3F))};
            asy_strbuf_append(vm, &out, u, 2);
            i++;
        } else if (!decode_bad(vm, codec, h, errors, data, len, i, i + 1,
                               "ordinal not in range(128)", &i, &out)) {
            asy_strbuf_free(&out);
            return ASY_ERR;
        }
    }
    AsyStr *s = asy_strbuf_finish(vm, &out);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

AsyValue asy_bytes_decode(AsyVM *vm, const uint8_t *data, size_t len, const char *encoding,
                          const char *errors) {
    int codec = encoding ? asy_codec_lookup(encoding) : ASY_CODEC_UTF8;
    if (codec < 0) return asy_raise(vm, ASY_EXC_LookupError, "unknown encoding: %s", encoding);
    if (codec == ASY_CODEC_UTF8) return decode_utf8(vm, data, len, errors);
    return decode_8bit(vm, codec, data, len, errors);
}
