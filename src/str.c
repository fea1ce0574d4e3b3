/* str.c - the `str` type: construction, interning, hashing, the string builder (AsyStrBuf),
 * the type's slots (repr, comparison, +, *, %, `in`, indexing, slicing, iteration) and all
 * of its methods, plus str_iterator.
 *
 * Representation (object.h): immutable UTF-8 with the code point count and an `ascii` flag.
 * Every operation has an ASCII fast path where byte index == code point index; for other
 * strings code point indexes are converted to byte offsets by scanning. Case mapping and
 * classification outside ASCII use unicode.c's tables, generated from CPython 3.11, so
 * 'ß'.upper() == 'SS' and 'Σ' lowers to 'ς' at the end of a word exactly as in CPython.
 *
 * The empty string and the 128 one-character ASCII strings are interned once and reused
 * (vm->empty_str, vm->char_cache), so iterating over or indexing ASCII text allocates
 * nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strformat.h"
#include "unicode.h"
#include "vm.h"

#define STR_TYPE(vm) ASY_TYPE(vm, str)

static inline bool is_str(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == STR_TYPE(vm) ||
                             asy_is_subtype(ASY_AS_OBJ(v)->type, STR_TYPE(vm)));
}
#define AS_STR(v) ((AsyStr *)ASY_AS_OBJ(v))

/* ------------------------------------------------------------------------------------ */
/* Construction                                                                           */
/* ------------------------------------------------------------------------------------ */

/* memcpy for the short pieces strings are mostly made of (words, digits, separators): a
 * call per piece costs more than the copy. */
static inline void copy_piece(char *d, const char *s, size_t n) {
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

/* A new str of len bytes whose content the caller writes, then seals with str_seal. */
static AsyStr *str_alloc(AsyVM *vm, size_t len) {
    if (len >= ASY_MAX_ALLOC) {
        asy_raise_memory(vm);
        return NULL;
    }
    /* Not zeroed: every caller writes all len bytes of the body. */
    AsyStr *s = asy_gc_alloc_var(vm, STR_TYPE(vm), sizeof(AsyStr) + len + 1, false);
    if (!s) return NULL;
    s->hash = -1;
    s->len = len;
    s->nchars = 0;
    s->ascii = false;
    s->data[len] = '\0';
    return s;
}

static void str_seal(AsyStr *s) {
    size_t n = 0, i = 0, len = s->len;
    const unsigned char *p = (const unsigned char *)s->data;
    bool ascii = true;
    /* Word-at-a-time ASCII check: most text is ASCII. */
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) {
            ascii = false;
            break;
        }
    }
    if (ascii) {
        for (; i < len; i++)
            if (p[i] & 0x80) {
                ascii = false;
                break;
            }
    }
    if (ascii) {
        n = len;
    } else {
        n = asy_utf8_nchars(s->data, len);
    }
    s->nchars = n;
    s->ascii = ascii;
}

/* Known-shape construction: skips the scan when the caller knows the char count. */
static AsyStr *str_new_known(AsyVM *vm, const char *data, size_t len, size_t nchars,
                             bool ascii) {
    if (len == 0 && vm->empty_str) return vm->empty_str;
    if (len == 1 && ascii && vm->char_cache[(unsigned char)data[0]])
        return vm->char_cache[(unsigned char)data[0]];
    AsyStr *s = str_alloc(vm, len);
    if (!s) return NULL;
    copy_piece(s->data, data, len);
    s->nchars = nchars;
    s->ascii = ascii;
    return s;
}

AsyStr *asy_str_new(AsyVM *vm, const char *utf8, size_t len) {
    if (len == 0 && vm->empty_str) return vm->empty_str;
    if (len == 1 && (unsigned char)utf8[0] < 0x80 && vm->char_cache[(unsigned char)utf8[0]])
        return vm->char_cache[(unsigned char)utf8[0]];
    AsyStr *s = str_alloc(vm, len);
    if (!s) return NULL;
    memcpy(s->data, utf8, len);
    str_seal(s);
    return s;
}

AsyStr *asy_str_new_ascii(AsyVM *vm, const char *ascii, size_t len) {
    return str_new_known(vm, ascii, len, len, true);
}

AsyStr *asy_str_from_cstr(AsyVM *vm, const char *s) { return asy_str_new(vm, s, strlen(s)); }

AsyStr *asy_str_printf(AsyVM *vm, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof small) return asy_str_new(vm, small, (size_t)n);
    AsyStr *s = str_alloc(vm, (size_t)n);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s->data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    str_seal(s);
    return s;
}

/* One code point as a str (chr()). */
AsyStr *asy_str_from_codepoint(AsyVM *vm, uint32_t cp) {
    char buf[4];
    size_t n = asy_utf8_encode(cp, buf);
    if (n > sizeof buf) __builtin_unreachable(); /* tells the compiler, for the copy */
    return str_new_known(vm, buf, n, 1, cp < 0x80);
}

/* ------------------------------------------------------------------------------------ */
/* Hashing, equality, interning                                                           */
/* ------------------------------------------------------------------------------------ */

static inline uint64_t hash_mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* A fast 64-bit hash (8 bytes per step, murmur-style finaliser). CPython randomises str
 * hashes per process, so no script can depend on the values. Never -1. The last 1 to 8
 * bytes are read in at most three loads (overlapping ones, or the string's last 8 bytes
 * again when it has that many), not byte by byte: dict keys are mostly short. */
int64_t asy_hash_bytes(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0x100000001B3ull);
    size_t left = n;
    while (left > 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        h = (h ^ hash_mix(k)) * 0x100000001B3ull;
        h = (h << 29) | (h >> 35);
        p += 8;
        left -= 8;
    }
    uint64_t tail = 0;
    if (n >= 8) {
        memcpy(&tail, p + left - 8, 8);
    } else if (left >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + left - 4, 4);
        tail = a | (uint64_t)b << 32;
    } else if (left > 0) {
        tail = p[0] | (uint64_t)p[left / 2] << 8 | (uint64_t)p[left - 1] << 16;
    }
    /* The tail is one more block: xor-ing it into the state unmixed let two lengths cancel
     * ('x13001' and '63301' collided). */
    h = (h ^ hash_mix(tail)) * 0x100000001B3ull;
    h = hash_mix(h ^ (uint64_t)n);
    int64_t r = (int64_t)h;
    return r == -1 ? -2 : r;
}

int64_t asy_str_hash(AsyStr *s) {
    if (s->hash == -1) s->hash = asy_hash_bytes(s->data, s->len);
    return s->hash;
}

static bool intern_grow(AsyVM *vm) {
    AsyInternTable *t = &vm->interned;
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    AsyStr **slots = asy_mem_alloc(vm, ncap * sizeof *slots);
    if (!slots) return false;
    memset(slots, 0, ncap * sizeof *slots);
    for (size_t i = 0; i < t->cap; i++) {
        AsyStr *s = t->slots[i];
        if (!s) continue;
        size_t j = (size_t)s->hash & (ncap - 1);
        while (slots[j]) j = (j + 1) & (ncap - 1);
        slots[j] = s;
    }
    asy_mem_free(vm, t->slots, t->cap * sizeof *t->slots);
    t->slots = slots;
    t->cap = ncap;
    return true;
}

/* The slot where a string with this content is or would go. */
static size_t intern_find(AsyInternTable *t, const char *data, size_t len, int64_t h) {
    size_t j = (size_t)h & (t->cap - 1);
    for (;;) {
        AsyStr *s = t->slots[j];
        if (!s || (s->hash == h && s->len == len && memcmp(s->data, data, len) == 0)) return j;
        j = (j + 1) & (t->cap - 1);
    }
}

/* Intern an existing str object: returns the canonical one (s itself when new). */
AsyStr *asy_str_intern_obj(AsyVM *vm, AsyStr *s) {
    if (s->hdr.flags & ASY_STR_INTERNED) return s;
    AsyInternTable *t = &vm->interned;
    if ((t->count + 1) * 2 > t->cap && !intern_grow(vm)) return NULL;
    int64_t h = asy_str_hash(s);
    size_t j = intern_find(t, s->data, s->len, h);
    if (t->slots[j]) return t->slots[j];
    if (s->hdr.type != STR_TYPE(vm)) { /* a subclass instance: intern a plain copy */
        s = asy_str_new(vm, s->data, s->len);
        if (!s) return NULL;
        if (s->hdr.flags & ASY_STR_INTERNED) return s;
        s->hash = h;
    }
    s->hdr.flags |= ASY_STR_INTERNED;
    t->slots[j] = s;
    t->count++;
    return s;
}

AsyStr *asy_str_intern(AsyVM *vm, const char *utf8, size_t len) {
    AsyInternTable *t = &vm->interned;
    if ((t->count + 1) * 2 > t->cap && !intern_grow(vm)) return NULL;
    int64_t h = asy_hash_bytes(utf8, len);
    size_t j = intern_find(t, utf8, len, h);
    if (t->slots[j]) return t->slots[j];
    AsyStr *s = str_alloc(vm, len);
    if (!s) return NULL;
    memcpy(s->data, utf8, len);
    str_seal(s);
    s->hash = h;
    s->hdr.flags |= ASY_STR_INTERNED;
    t->slots[j] = s;
    t->count++;
    return s;
}

AsyStr *asy_str_intern_cstr(AsyVM *vm, const char *s) { return asy_str_intern(vm, s, strlen(s)); }

void asy_str_fini(AsyVM *vm) {
    asy_mem_free(vm, vm->interned.slots, vm->interned.cap * sizeof *vm->interned.slots);
    vm->interned.slots = NULL;
    vm->interned.cap = vm->interned.count = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Concatenation and the string builder                                                   */
/* ------------------------------------------------------------------------------------ */

AsyStr *asy_str_concat(AsyVM *vm, AsyStr *a, AsyStr *b) {
    if (a->len == 0 && a->hdr.type == STR_TYPE(vm)) return b;
    if (b->len == 0 && b->hdr.type == STR_TYPE(vm)) return a;
    AsyStr *s = str_alloc(vm, a->len + b->len);
    if (!s) return NULL;
    memcpy(s->data, a->data, a->len);
    memcpy(s->data + a->len, b->data, b->len);
    s->nchars = a->nchars + b->nchars;
    s->ascii = a->ascii && b->ascii;
    return s;
}

AsyStr *asy_str_join_array(AsyVM *vm, AsyStr *sep, AsyStr **parts, size_t n) {
    if (n == 0) return vm->empty_str;
    if (n == 1 && parts[0]->hdr.type == STR_TYPE(vm)) return parts[0];
    size_t seplen = sep ? sep->len : 0, total = seplen * (n - 1), nchars = 0;
    bool ascii = !sep || sep->ascii;
    for (size_t i = 0; i < n; i++) {
        total += parts[i]->len;
        nchars += parts[i]->nchars;
        ascii = ascii && parts[i]->ascii;
    }
    if (sep) nchars += sep->nchars * (n - 1);
    AsyStr *s = str_alloc(vm, total);
    if (!s) return NULL;
    char *p = s->data;
    copy_piece(p, parts[0]->data, parts[0]->len);
    p += parts[0]->len;
    for (size_t i = 1; i < n; i++) {
        copy_piece(p, sep ? sep->data : "", seplen);
        p += seplen;
        copy_piece(p, parts[i]->data, parts[i]->len);
        p += parts[i]->len;
    }
    s->nchars = nchars;
    s->ascii = ascii;
    return s;
}

/* The digits of the ints among BUILD_STRING's items, when no more than this many (the
 * usual f-string), are written on the C stack; more take a buffer from the heap. Each int
 * has a slot of SLOT bytes: its digits at the end, their count in the first byte. */
#define BUILD_INTS 8
#define SLOT (ASY_INT64_DEC_MAX + 1)

AsyStr *asy_str_build(AsyVM *vm, const AsyValue *items, size_t n) {
    char small[BUILD_INTS * SLOT], *digits = small;
    size_t nints = 0;
    for (size_t i = 0; i < n; i++) nints += ASY_IS_INT(items[i]);
    if (nints == 0 && n <= 16) {
        AsyStr *parts[16];
        for (size_t i = 0; i < n; i++) parts[i] = (AsyStr *)ASY_AS_OBJ(items[i]);
        return asy_str_join_array(vm, vm->empty_str, parts, n);
    }
    if (nints > BUILD_INTS && !(digits = asy_mem_alloc(vm, nints * SLOT))) return NULL;
    size_t total = 0, nchars = 0;
    bool ascii = true;
    char *slot = digits;
    for (size_t i = 0; i < n; i++) {
        if (ASY_IS_INT(items[i])) {
            size_t len = (size_t)(slot + SLOT - asy_int64_dec(ASY_AS_INT(items[i]), slot + SLOT));
            slot[0] = (char)len;
            slot += SLOT;
            total += len;
            nchars += len;
        } else {
            AsyStr *piece = (AsyStr *)ASY_AS_OBJ(items[i]);
            total += piece->len;
            nchars += piece->nchars;
            ascii = ascii && piece->ascii;
        }
    }
    AsyStr *s = str_alloc(vm, total);
    if (s) {
        char *p = s->data;
        slot = digits;
        for (size_t i = 0; i < n; i++) {
            if (ASY_IS_INT(items[i])) {
                size_t len = (size_t)slot[0];
                copy_piece(p, slot + SLOT - len, len);
                p += len;
                slot += SLOT;
            } else {
                AsyStr *piece = (AsyStr *)ASY_AS_OBJ(items[i]);
                copy_piece(p, piece->data, piece->len);
                p += piece->len;
            }
        }
        s->nchars = nchars;
        s->ascii = ascii;
    }
    if (digits != small) asy_mem_free(vm, digits, nints * SLOT);
    return s;
}
#undef SLOT

void asy_strbuf_init(AsyStrBuf *b) {
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

/* Make room for `extra` more bytes (plus the NUL); false (and b->failed) on MemoryError. */
static bool strbuf_reserve(AsyVM *vm, AsyStrBuf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    if (extra >= ASY_MAX_ALLOC || b->len + extra >= ASY_MAX_ALLOC) {
        asy_raise_memory(vm);
        b->failed = true;
        return false;
    }
    size_t ncap = b->cap ? b->cap * 2 : 64;
    while (ncap < b->len + extra + 1) ncap *= 2;
    char *d = realloc(b->data, ncap);
    if (!d) {
        asy_raise_memory(vm);
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = ncap;
    return true;
}

void asy_strbuf_append(AsyVM *vm, AsyStrBuf *b, const char *s, size_t len) {
    if (!strbuf_reserve(vm, b, len)) return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
}

void asy_strbuf_append_cstr(AsyVM *vm, AsyStrBuf *b, const char *s) {
    asy_strbuf_append(vm, b, s, strlen(s));
}

void asy_strbuf_append_str(AsyVM *vm, AsyStrBuf *b, AsyStr *s) {
    asy_strbuf_append(vm, b, s->data, s->len);
}

static inline void strbuf_putc(AsyVM *vm, AsyStrBuf *b, char c) {
    if (b->len + 2 > b->cap && !strbuf_reserve(vm, b, 1)) return;
    b->data[b->len++] = c;
}

static void strbuf_put_cp(AsyVM *vm, AsyStrBuf *b, uint32_t cp) {
    if (!strbuf_reserve(vm, b, 4)) return;
    b->len += asy_utf8_encode(cp, b->data + b->len);
}

void asy_strbuf_printf(AsyVM *vm, AsyStrBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0 || !strbuf_reserve(vm, b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

AsyStr *asy_strbuf_finish(AsyVM *vm, AsyStrBuf *b) {
    AsyStr *s = b->failed ? NULL : asy_str_new(vm, b->data ? b->data : "", b->len);
    asy_strbuf_free(b);
    return s;
}

/* As asy_strbuf_finish when the caller knows the content is ASCII with nchars chars. */
static AsyStr *strbuf_finish_known(AsyVM *vm, AsyStrBuf *b, size_t nchars, bool ascii) {
    AsyStr *s = b->failed ? NULL
                          : str_new_known(vm, b->data ? b->data : "", b->len, nchars, ascii);
    asy_strbuf_free(b);
    return s;
}

void asy_strbuf_free(AsyStrBuf *b) {
    /* Plain malloc memory, not asy_mem_*: the buffer is short-lived and this function has
     * no vm to uncount it with. */
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------------------------ */
/* Helpers over code point positions                                                      */
/* ------------------------------------------------------------------------------------ */

/* Byte offset of code point `ci` (0 <= ci <= nchars). */
static inline size_t byte_at(const AsyStr *s, size_t ci) {
    if (s->ascii) return ci;
    if (ci >= s->nchars) return s->len;
    return asy_utf8_offset(s->data, s->len, ci);
}

/* Code point index of byte offset `bi` (a character boundary). */
static inline size_t char_at(const AsyStr *s, size_t bi) {
    return s->ascii ? bi : asy_utf8_nchars(s->data, bi);
}

/* The substring of bytes [b0, b1) (character boundaries). */
static AsyStr *str_bytes_sub(AsyVM *vm, AsyStr *s, size_t b0, size_t b1) {
    if (b0 == 0 && b1 == s->len && s->hdr.type == STR_TYPE(vm)) return s;
    if (s->ascii) return str_new_known(vm, s->data + b0, b1 - b0, b1 - b0, true);
    return asy_str_new(vm, s->data + b0, b1 - b0);
}

/* ------------------------------------------------------------------------------------ */
/* repr and ascii                                                                         */
/* ------------------------------------------------------------------------------------ */

static const char hexdig[] = "0123456789abcdef";

static void put_hex_escape(AsyVM *vm, AsyStrBuf *b, uint32_t cp) {
    char tmp[10];
    int n;
    if (cp <= 0xFF) {
        tmp[0] = '\\', tmp[1] = 'x', n = 2;
    } else if (cp <= 0xFFFF) {
        tmp[0] = '\\', tmp[1] = 'u', n = 4;
    } else {
        tmp[0] = '\\', tmp[1] = 'U', n = 8;
    }
    for (int i = 0; i < n; i++) tmp[2 + i] = hexdig[(cp >> (4 * (n - 1 - i))) & 0xF];
    asy_strbuf_append(vm, b, tmp, (size_t)n + 2);
}

/* repr(s) as CPython: single quotes unless the text has ' and no "; `ascii_only` escapes
 * every non-ASCII code point too (ascii()). */
static AsyStr *str_repr_impl(AsyVM *vm, AsyStr *s, bool ascii_only) {
    bool has_sq = memchr(s->data, '\'', s->len) != NULL;
    bool has_dq = memchr(s->data, '"', s->len) != NULL;
    char quote = (has_sq && !has_dq) ? '"' : '\'';
    AsyStrBuf b;
    asy_strbuf_init(&b);
    strbuf_reserve(vm, &b, s->len + 2);
    strbuf_putc(vm, &b, quote);
    bool out_ascii = true;
    size_t i = 0;
    while (i < s->len) {
        unsigned char c = (unsigned char)s->data[i];
        if (c < 0x80) {
            i++;
            if (c == (unsigned char)quote || c == '\\') {
                strbuf_putc(vm, &b, '\\');
                strbuf_putc(vm, &b, (char)c);
            } else if (c == '\t') {
                asy_strbuf_append(vm, &b, "\\t", 2);
            } else if (c == '\n') {
                asy_strbuf_append(vm, &b, "\\n", 2);
            } else if (c == '\r') {
                asy_strbuf_append(vm, &b, "\\r", 2);
            } else if (c < ' ' || c == 0x7F) {
                put_hex_escape(vm, &b, c);
            } else {
                strbuf_putc(vm, &b, (char)c);
            }
            continue;
        }
        size_t start = i;
        uint32_t cp = asy_utf8_next(s->data, &i);
        if (!ascii_only && asy_uc_isprintable(cp)) {
            asy_strbuf_append(vm, &b, s->data + start, i - start);
            out_ascii = false;
        } else {
            put_hex_escape(vm, &b, cp);
        }
    }
    strbuf_putc(vm, &b, quote);
    if (out_ascii) return strbuf_finish_known(vm, &b, b.len, true);
    return asy_strbuf_finish(vm, &b);
}

/* ascii(v): repr(v) with every non-ASCII character escaped. */
AsyValue asy_ascii(AsyVM *vm, AsyValue v) {
    AsyValue r = asy_repr(vm, v);
    if (ASY_IS_ERR(r)) return r;
    AsyStr *s = AS_STR(r);
    if (s->ascii) return r;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    size_t i = 0;
    while (i < s->len) {
        unsigned char c = (unsigned char)s->data[i];
        if (c < 0x80) {
            strbuf_putc(vm, &b, (char)c);
            i++;
        } else {
            put_hex_escape(vm, &b, asy_utf8_next(s->data, &i));
        }
    }
    AsyStr *out = strbuf_finish_known(vm, &b, b.len, true);
    return out ? ASY_OBJ(out) : ASY_ERR;
}

static AsyValue str_repr(AsyVM *vm, AsyValue self) {
    AsyStr *r = str_repr_impl(vm, AS_STR(self), false);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* str(s) is s itself; for a subclass instance, a plain str with the same text. */
static AsyValue str_str(AsyVM *vm, AsyValue self) {
    AsyStr *s = AS_STR(self);
    if (s->hdr.type == STR_TYPE(vm)) return self;
    AsyStr *c = asy_str_new(vm, s->data, s->len);
    return c ? ASY_OBJ(c) : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* Slots: hash, compare, truth, len, contains, concatenation, repetition, %               */
/* ------------------------------------------------------------------------------------ */

static bool str_hash_slot(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    *out = asy_str_hash(AS_STR(self));
    return true;
}

/* Code point order is byte order in UTF-8, so memcmp decides. */
static int str_cmp(const AsyStr *a, const AsyStr *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->data, b->data, n);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static AsyValue str_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!is_str(vm, self) || !is_str(vm, other)) return ASY_OBJ(vm->not_implemented);
    AsyStr *a = AS_STR(self), *b = AS_STR(other);
    if (op == ASY_CMP_EQ) return ASY_BOOL(asy_str_equal(a, b));
    if (op == ASY_CMP_NE) return ASY_BOOL(!asy_str_equal(a, b));
    int c = str_cmp(a, b);
    switch (op) {
    case ASY_CMP_LT: return ASY_BOOL(c < 0);
    case ASY_CMP_LE: return ASY_BOOL(c <= 0);
    case ASY_CMP_GT: return ASY_BOOL(c > 0);
    default: return ASY_BOOL(c >= 0);
    }
}

static int str_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return AS_STR(self)->len != 0;
}

static int64_t str_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return (int64_t)AS_STR(self)->nchars;
}

/* Byte offset of the first occurrence of needle in hay[from, to), or -1. glibc's memmem
 * is linear (two-way) even on adversarial input. */
static int64_t find_bytes(const char *hay, size_t from, size_t to, const char *needle,
                          size_t nlen) {
    if (to < from || to - from < nlen) return -1;
    if (nlen == 0) return (int64_t)from;
    const char *p = nlen == 1 ? memchr(hay + from, needle[0], to - from)
                              : memmem(hay + from, to - from, needle, nlen);
    return p ? p - hay : -1;
}

/* Byte offset of the last occurrence of needle in hay[from, to), or -1. */
static int64_t rfind_bytes(const char *hay, size_t from, size_t to, const char *needle,
                           size_t nlen) {
    if (to < from || to - from < nlen) return -1;
    size_t i = to - nlen + 1;
    while (i-- > from)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0) return (int64_t)i;
    return -1;
}

static int str_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    if (!is_str(vm, item)) {
        asy_raise(vm, ASY_EXC_TypeError,
                  "'in <string>' requires string as left operand, not %s",
                  asy_type_name(vm, item));
        return -1;
    }
    AsyStr *s = AS_STR(self), *n = AS_STR(item);
    return find_bytes(s->data, 0, s->len, n->data, n->len) >= 0;
}

/* s * n (n <= 0 gives ''). */
static AsyValue str_repeat(AsyVM *vm, AsyStr *s, int64_t n) {
    if (n <= 0 || s->len == 0) return ASY_OBJ(vm->empty_str);
    if (n == 1 && s->hdr.type == STR_TYPE(vm)) return ASY_OBJ(s);
    if ((uint64_t)n > ASY_MAX_ALLOC / s->len) return asy_raise_memory(vm);
    size_t total = s->len * (size_t)n;
    AsyStr *r = str_alloc(vm, total);
    if (!r) return ASY_ERR;
    if (s->len == 1) {
        memset(r->data, s->data[0], total);
    } else {
        /* Doubling copies: log(n) memcpy calls instead of n. */
        memcpy(r->data, s->data, s->len);
        size_t done = s->len;
        while (done < total) {
            size_t k = done <= total - done ? done : total - done;
            memcpy(r->data + done, r->data, k);
            done += k;
        }
    }
    r->nchars = s->nchars * (size_t)n;
    r->ascii = s->ascii;
    return ASY_OBJ(r);
}

static bool has_method(AsyVM *vm, AsyValue v, AsyNameId name) {
    AsyType *t = asy_type_of(vm, v);
    return (t->tflags & ASY_TYPE_HEAP) && !ASY_IS_UNDEF(asy_type_lookup(t, vm->names[name]));
}

static bool overrides_rmod(AsyVM *vm, AsyValue v) {
    AsyStr *rmod = vm->names[ASY_S___rmod__];
    return has_method(vm, v, ASY_S___rmod__) &&
           !asy_value_is(asy_type_lookup(asy_type_of(vm, v), rmod),
                         asy_type_lookup(ASY_TYPE(vm, str), rmod));
}

static AsyValue str_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    if (op >= ASY_BIN_INPLACE) op = (AsyBinOp)(op - ASY_BIN_INPLACE);
    bool a_str = is_str(vm, a);
    switch (op) {
    case ASY_BIN_ADD:
        if (!a_str) break;
        if (is_str(vm, b)) {
            AsyStr *r = asy_str_concat(vm, AS_STR(a), AS_STR(b));
            return r ? ASY_OBJ(r) : ASY_ERR;
        }
        if (has_method(vm, b, ASY_S___radd__)) break;
        return asy_raise(vm, ASY_EXC_TypeError, "can only concatenate str (not \"%s\") to str",
                         asy_type_name(vm, b));
    case ASY_BIN_MUL: {
        AsyValue s = a_str ? a : b, n = a_str ? b : a;
        if (!is_str(vm, s)) break;
        if (ASY_IS_INTLIKE(n)) return str_repeat(vm, AS_STR(s), ASY_AS_INT(n));
        if (asy_is_int(vm, n)) { /* a big int */
            mpz_t z;
            mpz_init(z);
            asy_int_to_mpz(n, z);
            int neg = mpz_sgn(z) < 0;
            mpz_clear(z);
            if (neg || AS_STR(s)->len == 0) return ASY_OBJ(vm->empty_str);
            return asy_raise(vm, ASY_EXC_OverflowError,
                             "cannot fit 'int' into an index-sized integer");
        }
        if (a_str && has_method(vm, b, ASY_S___rmul__)) break;
        if (!ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, n), ASY_S(vm, __index__)))) {
            int64_t k;
            if (!asy_index(vm, n, &k)) return ASY_ERR;
            return str_repeat(vm, AS_STR(s), k);
        }
        return asy_raise(vm, ASY_EXC_TypeError,
                         "can't multiply sequence by non-int of type '%s'",
                         asy_type_name(vm, n));
    }
    case ASY_BIN_MOD:
        if (!a_str) break;
        /* Only a str subclass's own __rmod__ comes before formatting (CPython's
         * binary_op1); an int subclass is formatted like an int. */
        if (is_str(vm, b) && overrides_rmod(vm, b)) break;
        return asy_str_percent(vm, AS_STR(a), b);
    default:
        break;
    }
    return ASY_OBJ(vm->not_implemented);
}

/* ------------------------------------------------------------------------------------ */
/* Indexing, slicing, iteration                                                           */
/* ------------------------------------------------------------------------------------ */

/* The one-character string at code point index i (0 <= i < nchars). */
static AsyStr *str_char_at(AsyVM *vm, AsyStr *s, size_t i) {
    if (s->ascii) return vm->char_cache[(unsigned char)s->data[i]];
    size_t b = asy_utf8_offset(s->data, s->len, i);
    size_t n = asy_utf8_seqlen((unsigned char)s->data[b]);
    return str_new_known(vm, s->data + b, n, 1, n == 1);
}

static AsyValue str_slice(AsyVM *vm, AsyStr *s, AsySlice *sl) {
    int64_t start, stop, step, count;
    if (!asy_slice_indices(vm, sl, (int64_t)s->nchars, &start, &stop, &step, &count))
        return ASY_ERR;
    if (count <= 0) return ASY_OBJ(vm->empty_str);
    if (step == 1) {
        size_t b0 = byte_at(s, (size_t)start);
        size_t b1 = s->ascii ? (size_t)stop
                             : b0 + asy_utf8_offset(s->data + b0, s->len - b0,
                                                    (size_t)(stop - start));
        AsyStr *r = s->ascii ? str_new_known(vm, s->data + b0, b1 - b0, b1 - b0, true)
                             : str_bytes_sub(vm, s, b0, b1);
        return r ? ASY_OBJ(r) : ASY_ERR;
    }
    if (s->ascii) {
        AsyStr *r = str_alloc(vm, (size_t)count);
        if (!r) return ASY_ERR;
        for (int64_t k = 0, i = start; k < count; k++, i += step) r->data[k] = s->data[i];
        r->nchars = (size_t)count;
        r->ascii = true;
        return ASY_OBJ(r);
    }
    /* Non-ASCII with a step: index the start of every code point once. */
    size_t *offs = malloc((s->nchars + 1) * sizeof *offs);
    if (!offs) return asy_raise_memory(vm);
    for (size_t i = 0, b = 0; i <= s->nchars; i++) {
        offs[i] = b;
        if (b < s->len) b += asy_utf8_seqlen((unsigned char)s->data[b]);
    }
    AsyStrBuf buf;
    asy_strbuf_init(&buf);
    for (int64_t k = 0, i = start; k < count; k++, i += step)
        asy_strbuf_append(vm, &buf, s->data + offs[i], offs[i + 1] - offs[i]);
    free(offs);
    AsyStr *r = asy_strbuf_finish(vm, &buf);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue str_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyStr *s = AS_STR(self);
    int64_t i;
    if (ASY_IS_INTLIKE(key)) {
        i = ASY_AS_INT(key);
    } else if (ASY_IS_OBJ(key) && ASY_AS_OBJ(key)->type == ASY_TYPE(vm, slice)) {
        return str_slice(vm, s, (AsySlice *)ASY_AS_OBJ(key));
    } else if (asy_is_int(vm, key) ||
               !ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, key), ASY_S(vm, __index__)))) {
        if (!asy_index(vm, key, &i)) {
            if (asy_exc_matches(vm, ASY_EXC_OverflowError)) {
                asy_exc_clear(vm);
                return asy_raise(vm, ASY_EXC_IndexError,
                                 "cannot fit 'int' into an index-sized integer");
            }
            return ASY_ERR;
        }
    } else {
        return asy_raise(vm, ASY_EXC_TypeError, "string indices must be integers, not '%s'",
                         asy_type_name(vm, key));
    }
    if (i < 0) i += (int64_t)s->nchars;
    if (i < 0 || i >= (int64_t)s->nchars)
        return asy_raise(vm, ASY_EXC_IndexError, "string index out of range");
    AsyStr *c = str_char_at(vm, s, (size_t)i);
    return c ? ASY_OBJ(c) : ASY_ERR;
}

typedef struct {
    AsyObj hdr;
    AsyStr *str;
    size_t pos;              /* byte offset of the next character */
} AsyStrIter;

static AsyValue str_iter(AsyVM *vm, AsyValue self) {
    AsyStrIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, str_iterator), sizeof(AsyStrIter));
    if (!it) return ASY_ERR;
    it->str = AS_STR(self);
    return ASY_OBJ(it);
}

static AsyValue str_iter_next(AsyVM *vm, AsyValue self) {
    AsyStrIter *it = (AsyStrIter *)ASY_AS_OBJ(self);
    AsyStr *s = it->str;
    if (!s || it->pos >= s->len) {
        it->str = NULL; /* exhausted iterators stay exhausted and free the string */
        return ASY_UNDEF;
    }
    unsigned char c = (unsigned char)s->data[it->pos];
    if (c < 0x80) {
        it->pos++;
        return ASY_OBJ(vm->char_cache[c]);
    }
    size_t n = asy_utf8_seqlen(c);
    AsyStr *r = str_new_known(vm, s->data + it->pos, n, 1, false);
    it->pos += n;
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue iter_self(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static void str_iter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyStrIter *)self)->str);
}

static AsyValue str_iter_length_hint(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(kw), ASY_UNUSED(vm);
    AsyStrIter *it = (AsyStrIter *)ASY_AS_OBJ(argv[0]);
    if (!it->str) return ASY_INT(0);
    return ASY_INT(it->str->nchars - char_at(it->str, it->pos));
}

/* ------------------------------------------------------------------------------------ */
/* Argument helpers                                                                       */
/* ------------------------------------------------------------------------------------ */

/* CPython's older style: "find() takes at least 1 argument (0 given)". argc excludes self. */
static bool check_args_old(AsyVM *vm, const char *name, int argc, int min, int max) {
    if (argc >= min && argc <= max) return true;
    int n = argc < min ? min : max;
    const char *how = min == max ? "exactly" : argc < min ? "at least" : "at most";
    asy_raise(vm, ASY_EXC_TypeError, "%s() takes %s %d argument%s (%d given)", name, how, n,
              n == 1 ? "" : "s", argc);
    return false;
}

/* An int argument (int, bool, or __index__). */
static bool int_arg(AsyVM *vm, AsyValue v, int64_t *out) {
    if (ASY_IS_INTLIKE(v)) {
        *out = ASY_AS_INT(v);
        return true;
    }
    return asy_index(vm, v, out);
}

/* A str argument or TypeError "<prefix>must be str, not int". */
static AsyStr *str_arg(AsyVM *vm, AsyValue v, const char *prefix) {
    if (is_str(vm, v)) return AS_STR(v);
    asy_raise(vm, ASY_EXC_TypeError, "%smust be str, not %s", prefix, asy_type_name(vm, v));
    return NULL;
}

/* Resolve optional start/end arguments (None or int, slice semantics) into code point
 * positions clamped to [0, n]. */
static bool slice_args(AsyVM *vm, int argc, AsyValue *argv, int first, size_t n,
                       int64_t *start, int64_t *end) {
    *start = 0;
    *end = (int64_t)n;
    for (int k = 0; k < 2; k++) {
        if (argc <= first + k || ASY_IS_NONE(argv[first + k])) continue;
        int64_t v;
        AsyValue a = argv[first + k];
        if (ASY_IS_INTLIKE(a)) {
            v = ASY_AS_INT(a);
        } else if (asy_is_int(vm, a)) {
            mpz_t z;
            mpz_init(z);
            asy_int_to_mpz(a, z);
            v = mpz_sgn(z) < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
            mpz_clear(z);
        } else if (!ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, a), ASY_S(vm, __index__)))) {
            if (!asy_index(vm, a, &v)) return false;
        } else {
            asy_raise(vm, ASY_EXC_TypeError,
                      "slice indices must be integers or None or have an __index__ method");
            return false;
        }
        if (v < 0) {
            v += (int64_t)n;
            if (v < 0) v = 0;
        }
        if (k == 0) *start = v;
        else *end = v > (int64_t)n ? (int64_t)n : v;
    }
    return true;
}

/* ------------------------------------------------------------------------------------ */
/* Character classes                                                                      */
/* ------------------------------------------------------------------------------------ */

/* Python's whitespace in ASCII includes the four separators \x1c-\x1f. */
static inline bool ascii_space(unsigned char c) {
    /* \t \n \v \f \r, \x1c-\x1f and space, as one table lookup. */
    static const bool space[128] = {['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
                                    [0x1C] = 1,  [0x1D] = 1,  [0x1E] = 1,  [0x1F] = 1,  [' '] = 1};
    return c < 128 && space[c];
}

static inline bool cp_space(uint32_t cp) {
    return cp < 0x80 ? ascii_space((unsigned char)cp) : asy_uc_isspace(cp);
}

/* Decode a whole string into code points (malloc'd; the caller frees). */
static uint32_t *str_decode(AsyVM *vm, const AsyStr *s) {
    uint32_t *cps = malloc((s->nchars + 1) * sizeof *cps);
    if (!cps) {
        asy_raise_memory(vm);
        return NULL;
    }
    for (size_t i = 0, k = 0; i < s->len; k++) cps[k] = asy_utf8_next(s->data, &i);
    return cps;
}

/* ------------------------------------------------------------------------------------ */
/* Searching: find, rfind, index, rindex, count, startswith, endswith                     */
/* ------------------------------------------------------------------------------------ */

typedef enum { FIND, RFIND, INDEX, RINDEX, COUNT } FindKind;

static AsyValue find_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, FindKind kind) {
    static const char *const names[] = {"find", "rfind", "index", "rindex", "count"};
    if (!asy_check_nokw(vm, names[kind], kw)) return ASY_ERR;
    if (!check_args_old(vm, names[kind], argc - 1, 1, 3)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]), *sub = str_arg(vm, argv[1], "");
    if (!sub) return ASY_ERR;
    int64_t cs, ce;
    if (!slice_args(vm, argc, argv, 2, s->nchars, &cs, &ce)) return ASY_ERR;
    if (kind == COUNT) {
        if (cs > ce) return ASY_INT(0);
        if (sub->len == 0) return ASY_INT(ce - cs + 1);
        size_t b = byte_at(s, (size_t)cs), e = byte_at(s, (size_t)ce);
        int64_t n = 0, at;
        while ((at = find_bytes(s->data, b, e, sub->data, sub->len)) >= 0) {
            n++;
            b = (size_t)at + sub->len;
        }
        return ASY_INT(n);
    }
    int64_t at = -1;
    if (cs <= ce) {
        size_t b = byte_at(s, (size_t)cs), e = byte_at(s, (size_t)ce);
        at = (kind == FIND || kind == INDEX) ? find_bytes(s->data, b, e, sub->data, sub->len)
                                             : rfind_bytes(s->data, b, e, sub->data, sub->len);
    }
    if (at < 0) {
        if (kind == INDEX || kind == RINDEX)
            return asy_raise(vm, ASY_EXC_ValueError, "substring not found");
        return ASY_INT(-1);
    }
    return ASY_INT((int64_t)char_at(s, (size_t)at));
}

static AsyValue m_find(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return find_impl(vm, c, v, k, FIND); }
static AsyValue m_rfind(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return find_impl(vm, c, v, k, RFIND); }
static AsyValue m_index(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return find_impl(vm, c, v, k, INDEX); }
static AsyValue m_rindex(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return find_impl(vm, c, v, k, RINDEX); }
static AsyValue m_count(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return find_impl(vm, c, v, k, COUNT); }

static AsyValue affix_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool ends) {
    const char *name = ends ? "endswith" : "startswith";
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!check_args_old(vm, name, argc - 1, 1, 3)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    int64_t cs, ce;
    if (!slice_args(vm, argc, argv, 2, s->nchars, &cs, &ce)) return ASY_ERR;
    AsyValue arg = argv[1];
    AsyValue *cands = &arg;
    int64_t ncand = 1;
    bool tuple = ASY_IS_OBJ(arg) && ASY_AS_OBJ(arg)->type == ASY_TYPE(vm, tuple);
    if (tuple) {
        cands = ((AsyTuple *)ASY_AS_OBJ(arg))->items;
        ncand = ((AsyTuple *)ASY_AS_OBJ(arg))->len;
    } else if (!is_str(vm, arg)) {
        return asy_raise(vm, ASY_EXC_TypeError,
                         "%s first arg must be str or a tuple of str, not %s", name,
                         asy_type_name(vm, arg));
    }
    for (int64_t k = 0; k < ncand; k++) {
        if (!is_str(vm, cands[k]))
            return asy_raise(vm, ASY_EXC_TypeError, "tuple for %s must only contain str, not %s",
                             name, asy_type_name(vm, cands[k]));
        AsyStr *p = AS_STR(cands[k]);
        if (cs > ce) continue;
        size_t b = byte_at(s, (size_t)cs), e = byte_at(s, (size_t)ce);
        if (e - b < p->len) continue;
        const char *at = ends ? s->data + e - p->len : s->data + b;
        if (memcmp(at, p->data, p->len) == 0) return ASY_TRUE;
    }
    return ASY_FALSE;
}

static AsyValue m_startswith(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return affix_impl(vm, c, v, k, false); }
static AsyValue m_endswith(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return affix_impl(vm, c, v, k, true); }

/* ------------------------------------------------------------------------------------ */
/* join, split, rsplit, splitlines, partition                                             */
/* ------------------------------------------------------------------------------------ */

static AsyValue m_join(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "str.join", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "str.join", argc - 1, 1, 1)) return ASY_ERR;
    AsyValue seq = argv[1];
    AsyValue *items;
    int64_t n;
    AsyType *t = asy_type_of(vm, seq);
    size_t rooted = 0;
    if (t == ASY_TYPE(vm, list)) {
        items = ((AsyList *)ASY_AS_OBJ(seq))->items;
        n = ((AsyList *)ASY_AS_OBJ(seq))->len;
    } else if (t == ASY_TYPE(vm, tuple)) {
        items = ((AsyTuple *)ASY_AS_OBJ(seq))->items;
        n = ((AsyTuple *)ASY_AS_OBJ(seq))->len;
    } else {
        AsyValue it = asy_iter(vm, seq);
        if (ASY_IS_ERR(it)) {
            if (!asy_exc_matches(vm, ASY_EXC_TypeError)) return ASY_ERR;
            asy_exc_clear(vm);
            return asy_raise(vm, ASY_EXC_TypeError, "can only join an iterable");
        }
        asy_root_push(vm, it);
        AsyList *l = asy_list_from_iterable(vm, it);
        asy_root_pop(vm, 1);
        if (!l) return ASY_ERR;
        items = l->items;
        n = l->len;
        asy_root_push(vm, ASY_OBJ(l));
        rooted = 1;
    }
    AsyValue result = ASY_ERR;
    AsyStr *small[16];
    AsyStr **parts = n <= 16 ? small : malloc((size_t)n * sizeof *parts);
    if (!parts) {
        asy_raise_memory(vm);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!is_str(vm, items[i])) {
            asy_raise(vm, ASY_EXC_TypeError, "sequence item %lld: expected str instance, %s found",
                      (long long)i, asy_type_name(vm, items[i]));
            goto out;
        }
        parts[i] = AS_STR(items[i]);
    }
    AsyStr *r = asy_str_join_array(vm, AS_STR(argv[0]), parts, (size_t)n);
    if (r) result = ASY_OBJ(r);
out:
    if (parts != small) free(parts);
    asy_root_pop(vm, rooted);
    return result;
}

/* Parse (sep=None, maxsplit=-1) positionally or by keyword. */
static bool split_args(AsyVM *vm, const char *name, int argc, AsyValue *argv, AsyDict *kw,
                       AsyStr **sep, int64_t *maxsplit) {
    if (!check_args_old(vm, name, argc - 1, 0, 2)) return false;
    AsyValue vsep = argc > 1 ? argv[1] : ASY_UNDEF, vmax = argc > 2 ? argv[2] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "sep");
        if (!ASY_IS_UNDEF(k)) vsep = k;
        k = asy_kwarg(vm, kw, "maxsplit");
        if (!ASY_IS_UNDEF(k)) vmax = k;
        if (!asy_check_kw_done(vm, name, kw)) return false;
    }
    *sep = NULL;
    *maxsplit = -1;
    if (!ASY_IS_UNDEF(vsep) && !ASY_IS_NONE(vsep)) {
        if (!is_str(vm, vsep)) {
            asy_raise(vm, ASY_EXC_TypeError, "must be str or None, not %s",
                      asy_type_name(vm, vsep));
            return false;
        }
        *sep = AS_STR(vsep);
        if ((*sep)->len == 0) {
            asy_raise(vm, ASY_EXC_ValueError, "empty separator");
            return false;
        }
    }
    if (!ASY_IS_UNDEF(vmax) && !int_arg(vm, vmax, maxsplit)) return false;
    if (*maxsplit < 0) *maxsplit = INT64_MAX;
    return true;
}

static bool push_piece(AsyVM *vm, AsyList *l, AsyStr *s, size_t b0, size_t b1) {
    AsyStr *p = str_bytes_sub(vm, s, b0, b1);
    return p && asy_list_append(vm, l, ASY_OBJ(p)) == 0;
}

static void list_reverse(AsyList *l) {
    for (int64_t i = 0, j = l->len - 1; i < j; i++, j--) {
        AsyValue t = l->items[i];
        l->items[i] = l->items[j];
        l->items[j] = t;
    }
}

/* Whitespace splitting; from the right when `right`. */
/* split() of an ASCII str: whitespace is a byte test, no decoding. */
static bool split_ws_ascii(AsyVM *vm, AsyList *l, AsyStr *s, int64_t maxsplit) {
    const unsigned char *d = (const unsigned char *)s->data;
    size_t n = s->len, i = 0;
    for (;;) {
        while (i < n && ascii_space(d[i])) i++;
        if (i >= n) return true;
        if (maxsplit-- == 0) return push_piece(vm, l, s, i, n);
        size_t end = i + 1;
        while (end < n && !ascii_space(d[end])) end++;
        if (!push_piece(vm, l, s, i, end)) return false;
        i = end;
    }
}

static bool split_ws(AsyVM *vm, AsyList *l, AsyStr *s, int64_t maxsplit, bool right) {
    const char *d = s->data;
    size_t n = s->len;
    if (!right && s->ascii) return split_ws_ascii(vm, l, s, maxsplit);
    if (!right) {
        size_t i = 0;
        while (i < n) {
            size_t j = i;
            while (j < n && cp_space(asy_utf8_next(d, &j))) i = j;
            if (i >= n) break;
            if (maxsplit-- == 0) return push_piece(vm, l, s, i, n);
            size_t end = i;
            j = i;
            while (j < n && !cp_space(asy_utf8_next(d, &j))) end = j;
            if (!push_piece(vm, l, s, i, end)) return false;
            i = end;
        }
        return true;
    }
    size_t i = n;
    while (i > 0) {
        size_t j = i;
        while (j > 0 && cp_space(asy_utf8_prev(d, &j))) i = j;
        if (i == 0) break;
        if (maxsplit-- == 0) return push_piece(vm, l, s, 0, i);
        size_t start = i;
        j = i;
        while (j > 0 && !cp_space(asy_utf8_prev(d, &j))) start = j;
        if (!push_piece(vm, l, s, start, i)) return false;
        i = start;
    }
    return true;
}

static AsyValue split_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool right) {
    AsyStr *s = AS_STR(argv[0]), *sep;
    int64_t maxsplit;
    if (!split_args(vm, right ? "rsplit" : "split", argc, argv, kw, &sep, &maxsplit))
        return ASY_ERR;
    AsyList *l = asy_list_new(vm, 4);
    if (!l) return ASY_ERR;
    if (!sep) {
        if (!split_ws(vm, l, s, maxsplit, right)) return ASY_ERR;
    } else if (!right) {
        size_t b = 0;
        int64_t at;
        while (maxsplit > 0 && (at = find_bytes(s->data, b, s->len, sep->data, sep->len)) >= 0) {
            if (!push_piece(vm, l, s, b, (size_t)at)) return ASY_ERR;
            b = (size_t)at + sep->len;
            maxsplit--;
        }
        if (!push_piece(vm, l, s, b, s->len)) return ASY_ERR;
    } else {
        size_t e = s->len;
        int64_t at;
        while (maxsplit > 0 && (at = rfind_bytes(s->data, 0, e, sep->data, sep->len)) >= 0) {
            if (!push_piece(vm, l, s, (size_t)at + sep->len, e)) return ASY_ERR;
            e = (size_t)at;
            maxsplit--;
        }
        if (!push_piece(vm, l, s, 0, e)) return ASY_ERR;
    }
    if (right) list_reverse(l);
    return ASY_OBJ(l);
}

static AsyValue m_split(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return split_impl(vm, c, v, k, false); }
static AsyValue m_rsplit(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return split_impl(vm, c, v, k, true); }

/* Line boundaries of str.splitlines: \n \r \r\n \v \f \x1c \x1d \x1e \x85 \u2028 \u2029. */
static inline bool is_linebreak(uint32_t cp) {
    return (cp >= 0x0A && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1E) || cp == 0x85 ||
           cp == 0x2028 || cp == 0x2029;
}

static AsyValue m_splitlines(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_args_old(vm, "splitlines", argc - 1, 0, 1)) return ASY_ERR;
    AsyValue vkeep = argc > 1 ? argv[1] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "keepends");
        if (!ASY_IS_UNDEF(k)) vkeep = k;
        if (!asy_check_kw_done(vm, "splitlines", kw)) return ASY_ERR;
    }
    int keep = 0;
    if (!ASY_IS_UNDEF(vkeep)) {
        int64_t k;
        if (!int_arg(vm, vkeep, &k)) return ASY_ERR;
        keep = k != 0;
    }
    AsyStr *s = AS_STR(argv[0]);
    AsyList *l = asy_list_new(vm, 4);
    if (!l) return ASY_ERR;
    size_t i = 0, start = 0;
    while (i < s->len) {
        size_t at = i;
        uint32_t cp = asy_utf8_next(s->data, &i);
        if (!is_linebreak(cp)) continue;
        if (cp == '\r' && i < s->len && s->data[i] == '\n') i++;
        if (!push_piece(vm, l, s, start, keep ? i : at)) return ASY_ERR;
        start = i;
    }
    if (start < s->len && !push_piece(vm, l, s, start, s->len)) return ASY_ERR;
    return ASY_OBJ(l);
}

static AsyValue partition_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool right) {
    const char *name = right ? "rpartition" : "partition";
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 1, 1)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]), *sep = str_arg(vm, argv[1], "");
    if (!sep) return ASY_ERR;
    if (sep->len == 0) return asy_raise(vm, ASY_EXC_ValueError, "empty separator");
    int64_t at = right ? rfind_bytes(s->data, 0, s->len, sep->data, sep->len)
                       : find_bytes(s->data, 0, s->len, sep->data, sep->len);
    AsyValue parts[3];
    AsyStr *e = vm->empty_str;
    if (at < 0) {
        AsyStr *whole = str_bytes_sub(vm, s, 0, s->len);
        if (!whole) return ASY_ERR;
        parts[0] = ASY_OBJ(right ? e : whole);
        parts[1] = ASY_OBJ(e);
        parts[2] = ASY_OBJ(right ? whole : e);
    } else {
        AsyStr *a = str_bytes_sub(vm, s, 0, (size_t)at);
        AsyStr *b = str_bytes_sub(vm, s, (size_t)at + sep->len, s->len);
        AsyStr *m = str_bytes_sub(vm, sep, 0, sep->len);
        if (!a || !b || !m) return ASY_ERR;
        parts[0] = ASY_OBJ(a), parts[1] = ASY_OBJ(m), parts[2] = ASY_OBJ(b);
    }
    AsyTuple *t = asy_tuple_from_array(vm, parts, 3);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static AsyValue m_partition(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return partition_impl(vm, c, v, k, false); }
static AsyValue m_rpartition(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return partition_impl(vm, c, v, k, true); }

/* ------------------------------------------------------------------------------------ */
/* strip, replace, removeprefix/suffix, expandtabs                                        */
/* ------------------------------------------------------------------------------------ */

/* Is cp one of the code points of `chars` (ASCII via a bitmap)? */
typedef struct {
    uint64_t mask[2];
    const AsyStr *chars;      /* NULL: whitespace */
} StripSet;

static bool strip_has(const StripSet *set, uint32_t cp) {
    if (!set->chars) return cp_space(cp);
    if (cp < 0x80) return (set->mask[cp >> 6] >> (cp & 63)) & 1;
    if (set->chars->ascii) return false;
    char buf[4];
    size_t n = asy_utf8_encode(cp, buf);
    return find_bytes(set->chars->data, 0, set->chars->len, buf, n) >= 0;
}

/* which: 1 left, 2 right, 3 both. */
static AsyValue strip_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, int which) {
    static const char *const names[] = {"", "lstrip", "rstrip", "strip"};
    if (!asy_check_nokw(vm, names[which], kw)) return ASY_ERR;
    if (!asy_check_args(vm, names[which], argc - 1, 0, 1)) return ASY_ERR;
    StripSet set = {{0, 0}, NULL};
    if (argc > 1 && !ASY_IS_NONE(argv[1])) {
        if (!is_str(vm, argv[1]))
            return asy_raise(vm, ASY_EXC_TypeError, "%s arg must be None or str", names[which]);
        set.chars = AS_STR(argv[1]);
        for (size_t i = 0; i < set.chars->len; i++) {
            unsigned char c = (unsigned char)set.chars->data[i];
            if (c < 0x80) set.mask[c >> 6] |= 1ull << (c & 63);
        }
    }
    AsyStr *s = AS_STR(argv[0]);
    size_t b = 0, e = s->len;
    if (which & 1) {
        size_t j = 0;
        while (j < e && strip_has(&set, asy_utf8_next(s->data, &j))) b = j;
    }
    if (which & 2) {
        size_t j = e;
        while (j > b && strip_has(&set, asy_utf8_prev(s->data, &j))) e = j;
    }
    AsyStr *r = str_bytes_sub(vm, s, b, e);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_strip(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return strip_impl(vm, c, v, k, 3); }
static AsyValue m_lstrip(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return strip_impl(vm, c, v, k, 1); }
static AsyValue m_rstrip(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return strip_impl(vm, c, v, k, 2); }

/* s.replace(old, new, count): an empty `old` matches between every two characters. */
AsyStr *asy_str_replace(AsyVM *vm, AsyStr *s, AsyStr *old, AsyStr *new_, int64_t count) {
    if (count < 0) count = INT64_MAX;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    size_t pos = 0;
    if (old->len == 0) {
        while (pos <= s->len && count-- > 0) {
            asy_strbuf_append_str(vm, &b, new_);
            if (pos == s->len) {
                pos++;
                break;
            }
            size_t n = asy_utf8_seqlen((unsigned char)s->data[pos]);
            asy_strbuf_append(vm, &b, s->data + pos, n);
            pos += n;
        }
        if (pos < s->len) asy_strbuf_append(vm, &b, s->data + pos, s->len - pos);
        return asy_strbuf_finish(vm, &b);
    }
    int64_t at = find_bytes(s->data, 0, s->len, old->data, old->len);
    if (at < 0 || count == 0) {
        asy_strbuf_free(&b);
        return str_bytes_sub(vm, s, 0, s->len);
    }
    while (at >= 0 && count-- > 0) {
        asy_strbuf_append(vm, &b, s->data + pos, (size_t)at - pos);
        asy_strbuf_append_str(vm, &b, new_);
        pos = (size_t)at + old->len;
        at = find_bytes(s->data, pos, s->len, old->data, old->len);
    }
    asy_strbuf_append(vm, &b, s->data + pos, s->len - pos);
    if (s->ascii && new_->ascii) return strbuf_finish_known(vm, &b, b.len, true);
    return asy_strbuf_finish(vm, &b);
}

static AsyValue m_replace(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "replace", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "replace", argc - 1, 2, 3)) return ASY_ERR;
    AsyStr *old = str_arg(vm, argv[1], "replace() argument 1 ");
    if (!old) return ASY_ERR;
    AsyStr *new_ = str_arg(vm, argv[2], "replace() argument 2 ");
    if (!new_) return ASY_ERR;
    int64_t count = -1;
    if (argc > 3 && !int_arg(vm, argv[3], &count)) return ASY_ERR;
    AsyStr *r = asy_str_replace(vm, AS_STR(argv[0]), old, new_, count);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue fix_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool suffix) {
    const char *name = suffix ? "removesuffix" : "removeprefix";
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 1, 1)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    if (!is_str(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "%s() argument must be str, not %s", name,
                         asy_type_name(vm, argv[1]));
    AsyStr *p = AS_STR(argv[1]);
    size_t b = 0, e = s->len;
    if (p->len && p->len <= s->len) {
        if (!suffix && memcmp(s->data, p->data, p->len) == 0) b = p->len;
        if (suffix && memcmp(s->data + s->len - p->len, p->data, p->len) == 0) e -= p->len;
    }
    AsyStr *r = str_bytes_sub(vm, s, b, e);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_removeprefix(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return fix_impl(vm, c, v, k, false); }
static AsyValue m_removesuffix(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return fix_impl(vm, c, v, k, true); }

static AsyValue m_expandtabs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_args_old(vm, "expandtabs", argc - 1, 0, 1)) return ASY_ERR;
    AsyValue vtab = argc > 1 ? argv[1] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "tabsize");
        if (!ASY_IS_UNDEF(k)) vtab = k;
        if (!asy_check_kw_done(vm, "expandtabs", kw)) return ASY_ERR;
    }
    int64_t tab = 8;
    if (!ASY_IS_UNDEF(vtab) && !int_arg(vm, vtab, &tab)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    if (!memchr(s->data, '\t', s->len)) return argv[0];
    AsyStrBuf b;
    asy_strbuf_init(&b);
    int64_t col = 0;
    for (size_t i = 0; i < s->len;) {
        size_t start = i;
        uint32_t cp = asy_utf8_next(s->data, &i);
        if (cp == '\t') {
            if (tab > 0) {
                int64_t n = tab - col % tab;
                for (int64_t k = 0; k < n; k++) strbuf_putc(vm, &b, ' ');
                col += n;
            }
        } else {
            asy_strbuf_append(vm, &b, s->data + start, i - start);
            col = (cp == '\n' || cp == '\r') ? 0 : col + 1;
        }
        if (b.failed) break;
    }
    AsyStr *r = asy_strbuf_finish(vm, &b);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* Case mapping                                                                           */
/* ------------------------------------------------------------------------------------ */

typedef enum { C_UPPER, C_LOWER, C_FOLD, C_SWAP, C_TITLE, C_CAPITALIZE } CaseMode;

/* CPython's Final_Sigma rule: capital sigma at i lowers to final sigma when preceded by a
 * cased letter and not followed by one (case-ignorable characters skipped both ways). */
static uint32_t lower_sigma(const uint32_t *cps, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && asy_uc_iscaseignorable(cps[j - 1])) j--;
    bool final = j > 0 && asy_uc_iscased(cps[j - 1]);
    if (final) {
        j = i + 1;
        while (j < n && asy_uc_iscaseignorable(cps[j])) j++;
        final = j == n || !asy_uc_iscased(cps[j]);
    }
    return final ? 0x3C2 : 0x3C3;
}

static int lower_full(const uint32_t *cps, size_t n, size_t i, uint32_t out[3]) {
    if (cps[i] == 0x3A3) {
        out[0] = lower_sigma(cps, n, i);
        return 1;
    }
    return asy_uc_lower(cps[i], out);
}

static AsyStr *case_ascii(AsyVM *vm, AsyStr *s, CaseMode mode) {
    AsyStr *r = str_alloc(vm, s->len);
    if (!r) return NULL;
    bool prev_cased = false;
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->data[i];
        bool up = c >= 'A' && c <= 'Z', lo = c >= 'a' && c <= 'z';
        bool to_upper;
        switch (mode) {
        case C_UPPER: to_upper = true; break;
        case C_SWAP: to_upper = lo; break;
        case C_TITLE: to_upper = !prev_cased; break;
        case C_CAPITALIZE: to_upper = i == 0; break;
        default: to_upper = false; break;
        }
        if (to_upper && lo) c = (unsigned char)(c - 32);
        else if (!to_upper && up) c = (unsigned char)(c + 32);
        r->data[i] = (char)c;
        prev_cased = up || lo;
    }
    r->nchars = s->len;
    r->ascii = true;
    return r;
}

static AsyStr *case_map(AsyVM *vm, AsyStr *s, CaseMode mode) {
    if (s->ascii) return case_ascii(vm, s, mode);
    uint32_t *cps = str_decode(vm, s);
    if (!cps) return NULL;
    size_t n = s->nchars;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    bool prev_cased = false;
    for (size_t i = 0; i < n && !b.failed; i++) {
        uint32_t c = cps[i], out[3];
        int k;
        switch (mode) {
        case C_UPPER: k = asy_uc_upper(c, out); break;
        case C_LOWER: k = lower_full(cps, n, i, out); break;
        case C_FOLD: k = asy_uc_fold(c, out); break;
        case C_SWAP:
            if (asy_uc_isupper(c)) k = lower_full(cps, n, i, out);
            else if (asy_uc_islower(c)) k = asy_uc_upper(c, out);
            else out[0] = c, k = 1;
            break;
        case C_TITLE:
            k = prev_cased ? lower_full(cps, n, i, out) : asy_uc_title(c, out);
            prev_cased = asy_uc_iscased(c);
            break;
        default: /* C_CAPITALIZE */
            k = i == 0 ? asy_uc_title(c, out) : lower_full(cps, n, i, out);
            break;
        }
        for (int j = 0; j < k; j++) strbuf_put_cp(vm, &b, out[j]);
    }
    free(cps);
    return asy_strbuf_finish(vm, &b);
}

static AsyValue case_method(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, CaseMode mode,
                            const char *name) {
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 0, 0)) return ASY_ERR;
    AsyStr *r = case_map(vm, AS_STR(argv[0]), mode);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_upper(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_method(vm, c, v, k, C_UPPER, "str.upper"); }
static AsyValue m_lower(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_method(vm, c, v, k, C_LOWER, "str.lower"); }
static AsyValue m_casefold(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_method(vm, c, v, k, C_FOLD, "str.casefold"); }
static AsyValue m_swapcase(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_method(vm, c, v, k, C_SWAP, "str.swapcase"); }
static AsyValue m_title(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_method(vm, c, v, k, C_TITLE, "str.title"); }
static AsyValue m_capitalize(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_method(vm, c, v, k, C_CAPITALIZE, "str.capitalize"); }

/* ------------------------------------------------------------------------------------ */
/* Predicates: isdigit, isalpha, ...                                                      */
/* ------------------------------------------------------------------------------------ */

typedef enum {
    P_ALPHA, P_ALNUM, P_DIGIT, P_DECIMAL, P_NUMERIC, P_SPACE, P_PRINTABLE, P_ASCII
} PredKind;

static bool pred_cp(PredKind k, uint32_t c) {
    if (c < 0x80) {
        bool alpha = (c | 32) >= 'a' && (c | 32) <= 'z', digit = c >= '0' && c <= '9';
        switch (k) {
        case P_ALPHA: return alpha;
        case P_ALNUM: return alpha || digit;
        case P_DIGIT: case P_DECIMAL: case P_NUMERIC: return digit;
        case P_SPACE: return ascii_space((unsigned char)c);
        case P_PRINTABLE: return c >= ' ' && c < 0x7F;
        default: return true;
        }
    }
    switch (k) {
    case P_ALPHA: return asy_uc_isalpha(c);
    case P_ALNUM:
        return asy_uc_isalpha(c) || asy_uc_isdecimal(c) || asy_uc_isdigit(c) ||
               asy_uc_isnumeric(c);
    case P_DIGIT: return asy_uc_isdigit(c);
    case P_DECIMAL: return asy_uc_isdecimal(c);
    case P_NUMERIC: return asy_uc_isnumeric(c);
    case P_SPACE: return asy_uc_isspace(c);
    case P_PRINTABLE: return asy_uc_isprintable(c);
    default: return false;
    }
}

static AsyValue pred_method(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, PredKind k,
                            const char *name) {
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 0, 0)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    if (k == P_ASCII) return ASY_BOOL(s->ascii);
    if (s->len == 0) return ASY_BOOL(k == P_PRINTABLE);
    for (size_t i = 0; i < s->len;)
        if (!pred_cp(k, asy_utf8_next(s->data, &i))) return ASY_FALSE;
    return ASY_TRUE;
}

static AsyValue m_isalpha(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_ALPHA, "str.isalpha"); }
static AsyValue m_isalnum(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_ALNUM, "str.isalnum"); }
static AsyValue m_isdigit(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_DIGIT, "str.isdigit"); }
static AsyValue m_isdecimal(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_DECIMAL, "str.isdecimal"); }
static AsyValue m_isnumeric(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_NUMERIC, "str.isnumeric"); }
static AsyValue m_isspace(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_SPACE, "str.isspace"); }
static AsyValue m_isprintable(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_PRINTABLE, "str.isprintable"); }
static AsyValue m_isascii(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_method(vm, c, v, k, P_ASCII, "str.isascii"); }

static inline bool cp_upper(uint32_t c) { return c < 0x80 ? (c >= 'A' && c <= 'Z') : asy_uc_isupper(c); }
static inline bool cp_lower(uint32_t c) { return c < 0x80 ? (c >= 'a' && c <= 'z') : asy_uc_islower(c); }
static inline bool cp_title(uint32_t c) { return c >= 0x80 && asy_uc_istitle(c); }

/* isupper/islower as CPython: no character of the other case, at least one cased one. */
static AsyValue case_pred(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool upper) {
    const char *name = upper ? "str.isupper" : "str.islower";
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 0, 0)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    bool cased = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t c = asy_utf8_next(s->data, &i);
        if ((upper ? cp_lower(c) : cp_upper(c)) || cp_title(c)) return ASY_FALSE;
        if (upper ? cp_upper(c) : cp_lower(c)) cased = true;
    }
    return ASY_BOOL(cased);
}

static AsyValue m_isupper(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_pred(vm, c, v, k, true); }
static AsyValue m_islower(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_pred(vm, c, v, k, false); }

static AsyValue m_istitle(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "str.istitle", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "str.istitle", argc - 1, 0, 0)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    bool cased = false, prev_cased = false;
    for (size_t i = 0; i < s->len;) {
        uint32_t c = asy_utf8_next(s->data, &i);
        if (cp_upper(c) || cp_title(c)) {
            if (prev_cased) return ASY_FALSE;
            prev_cased = cased = true;
        } else if (cp_lower(c)) {
            if (!prev_cased) return ASY_FALSE;
            prev_cased = cased = true;
        } else {
            prev_cased = false;
        }
    }
    return ASY_BOOL(cased);
}

bool asy_str_is_identifier(const AsyStr *s) {
    if (s->len == 0) return false;
    size_t i = 0;
    uint32_t c = asy_utf8_next(s->data, &i);
    bool ok = c < 0x80 ? ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '_' : asy_uc_isxidstart(c);
    if (!ok) return false;
    while (i < s->len) {
        c = asy_utf8_next(s->data, &i);
        ok = c < 0x80 ? ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '_' || (c >= '0' && c <= '9')
                      : asy_uc_isxidcontinue(c);
        if (!ok) return false;
    }
    return true;
}

static AsyValue m_isidentifier(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "str.isidentifier", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "str.isidentifier", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(asy_str_is_identifier(AS_STR(argv[0])));
}

/* ------------------------------------------------------------------------------------ */
/* Padding: center, ljust, rjust, zfill                                                   */
/* ------------------------------------------------------------------------------------ */

/* s with `left` and `right` copies of the fill code point around it. */
static AsyStr *pad_str(AsyVM *vm, AsyStr *s, size_t left, size_t right, uint32_t fill) {
    char f[4];
    size_t flen = asy_utf8_encode(fill, f);
    if ((left + right) > ASY_MAX_ALLOC / flen) {
        asy_raise_memory(vm);
        return NULL;
    }
    AsyStr *r = str_alloc(vm, s->len + (left + right) * flen);
    if (!r) return NULL;
    char *p = r->data;
    for (size_t i = 0; i < left; i++, p += flen) memcpy(p, f, flen);
    memcpy(p, s->data, s->len);
    p += s->len;
    for (size_t i = 0; i < right; i++, p += flen) memcpy(p, f, flen);
    r->nchars = s->nchars + left + right;
    r->ascii = s->ascii && fill < 0x80;
    return r;
}

/* how: '<' ljust, '>' rjust, '^' center. */
static AsyValue just_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, char how,
                          const char *name) {
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 1, 2)) return ASY_ERR;
    int64_t width;
    if (!int_arg(vm, argv[1], &width)) return ASY_ERR;
    uint32_t fill = ' ';
    if (argc > 2) {
        if (!is_str(vm, argv[2]))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "%s() argument 2 must be a unicode character, not %s", name,
                             asy_type_name(vm, argv[2]));
        AsyStr *f = AS_STR(argv[2]);
        if (f->nchars != 1)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "The fill character must be exactly one character long");
        size_t i = 0;
        fill = asy_utf8_next(f->data, &i);
    }
    AsyStr *s = AS_STR(argv[0]);
    if (width <= (int64_t)s->nchars) {
        AsyStr *r = str_bytes_sub(vm, s, 0, s->len);
        return r ? ASY_OBJ(r) : ASY_ERR;
    }
    size_t marg = (size_t)width - s->nchars, left;
    if (how == '<') left = 0;
    else if (how == '>') left = marg;
    else left = marg / 2 + (marg & (size_t)width & 1); /* CPython's rounding */
    AsyStr *r = pad_str(vm, s, left, marg - left, fill);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_ljust(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return just_impl(vm, c, v, k, '<', "ljust"); }
static AsyValue m_rjust(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return just_impl(vm, c, v, k, '>', "rjust"); }
static AsyValue m_center(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return just_impl(vm, c, v, k, '^', "center"); }

static AsyValue m_zfill(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "zfill", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "str.zfill", argc - 1, 1, 1)) return ASY_ERR;
    int64_t width;
    if (!int_arg(vm, argv[1], &width)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    if (width <= (int64_t)s->nchars) {
        AsyStr *r = str_bytes_sub(vm, s, 0, s->len);
        return r ? ASY_OBJ(r) : ASY_ERR;
    }
    AsyStr *r = pad_str(vm, s, (size_t)width - s->nchars, 0, '0');
    if (!r) return ASY_ERR;
    size_t fill = (size_t)width - s->nchars;
    if (s->len && (s->data[0] == '+' || s->data[0] == '-')) {
        r->data[0] = s->data[0];
        r->data[fill] = '0';
    }
    return ASY_OBJ(r);
}

/* ------------------------------------------------------------------------------------ */
/* encode (the codecs are codec.c's)                                                      */
/* ------------------------------------------------------------------------------------ */

/* (encoding, errors) from positional or keyword arguments, as C strings. */
static bool codec_args(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                       int first, const char **enc, const char **err) {
    AsyValue venc = argc > first ? argv[first] : ASY_UNDEF;
    AsyValue verr = argc > first + 1 ? argv[first + 1] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "encoding");
        if (!ASY_IS_UNDEF(k)) venc = k;
        k = asy_kwarg(vm, kw, "errors");
        if (!ASY_IS_UNDEF(k)) verr = k;
        if (!asy_check_kw_done(vm, fname, kw)) return false;
    }
    *enc = NULL;
    *err = NULL;
    if (!ASY_IS_UNDEF(venc)) {
        if (!is_str(vm, venc)) {
            asy_raise(vm, ASY_EXC_TypeError, "%s() argument 'encoding' must be str, not %s",
                      fname, asy_type_name(vm, venc));
            return false;
        }
        *enc = AS_STR(venc)->data;
    }
    if (!ASY_IS_UNDEF(verr)) {
        if (!is_str(vm, verr)) {
            asy_raise(vm, ASY_EXC_TypeError, "%s() argument 'errors' must be str, not %s",
                      fname, asy_type_name(vm, verr));
            return false;
        }
        *err = AS_STR(verr)->data;
    }
    return true;
}

static AsyValue m_encode(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_args_old(vm, "encode", argc - 1, 0, 2)) return ASY_ERR;
    const char *enc, *err;
    if (!codec_args(vm, "encode", argc, argv, kw, 1, &enc, &err)) return ASY_ERR;
    return asy_str_encode(vm, AS_STR(argv[0]), enc, err);
}

/* ------------------------------------------------------------------------------------ */
/* maketrans, translate                                                                   */
/* ------------------------------------------------------------------------------------ */

static uint32_t first_cp(AsyStr *s) {
    size_t i = 0;
    return asy_utf8_next(s->data, &i);
}

static AsyValue m_maketrans(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "maketrans", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "maketrans", argc, 1, 3)) return ASY_ERR;
    AsyDict *d = asy_dict_new(vm);
    if (!d) return ASY_ERR;
    if (argc == 1) {
        if (!ASY_IS_OBJ(argv[0]) || !asy_isinstance(vm, argv[0], ASY_TYPE(vm, dict)))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "if you give only one argument to maketrans it must be a dict");
        int64_t pos = 0;
        AsyValue k, v;
        while (asy_dict_next((AsyDict *)ASY_AS_OBJ(argv[0]), &pos, &k, &v)) {
            if (is_str(vm, k)) {
                if (AS_STR(k)->nchars != 1)
                    return asy_raise(vm, ASY_EXC_ValueError,
                                     "string keys in translate table must be of length 1");
                k = ASY_INT(first_cp(AS_STR(k)));
            } else if (!ASY_IS_INTLIKE(k) && !asy_is_int(vm, k)) {
                return asy_raise(vm, ASY_EXC_TypeError,
                                 "keys in translate table must be strings or integers");
            }
            if (asy_dict_set(vm, d, k, v) < 0) return ASY_ERR;
        }
        return ASY_OBJ(d);
    }
    if (!is_str(vm, argv[0]) || !is_str(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "maketrans() argument %d must be str, not %s",
                         is_str(vm, argv[0]) ? 2 : 1,
                         asy_type_name(vm, is_str(vm, argv[0]) ? argv[1] : argv[0]));
    AsyStr *x = AS_STR(argv[0]), *y = AS_STR(argv[1]);
    if (x->nchars != y->nchars)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "the first two maketrans arguments must have equal length");
    for (size_t i = 0, j = 0; i < x->len;) {
        uint32_t a = asy_utf8_next(x->data, &i), b = asy_utf8_next(y->data, &j);
        if (asy_dict_set(vm, d, ASY_INT(a), ASY_INT(b)) < 0) return ASY_ERR;
    }
    if (argc > 2) {
        if (!is_str(vm, argv[2]))
            return asy_raise(vm, ASY_EXC_TypeError, "maketrans() argument 3 must be str, not %s",
                             asy_type_name(vm, argv[2]));
        AsyStr *z = AS_STR(argv[2]);
        for (size_t i = 0; i < z->len;)
            if (asy_dict_set(vm, d, ASY_INT(asy_utf8_next(z->data, &i)), ASY_NONE) < 0)
                return ASY_ERR;
    }
    return ASY_OBJ(d);
}

static AsyValue m_translate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "translate", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "str.translate", argc - 1, 1, 1)) return ASY_ERR;
    AsyStr *s = AS_STR(argv[0]);
    AsyValue table = argv[1];
    AsyStrBuf b;
    asy_strbuf_init(&b);
    for (size_t i = 0; i < s->len;) {
        size_t start = i;
        uint32_t cp = asy_utf8_next(s->data, &i);
        AsyValue v = asy_getitem(vm, table, ASY_INT(cp));
        if (ASY_IS_ERR(v)) {
            if (!asy_exc_matches(vm, ASY_EXC_LookupError)) goto fail;
            asy_exc_clear(vm);
            asy_strbuf_append(vm, &b, s->data + start, i - start);
            continue;
        }
        if (ASY_IS_NONE(v)) continue;
        if (ASY_IS_INTLIKE(v)) {
            int64_t c = ASY_AS_INT(v);
            if (c < 0 || c > 0x10FFFF) {
                asy_raise(vm, ASY_EXC_ValueError,
                          "character mapping must be in range(0x110000)");
                goto fail;
            }
            strbuf_put_cp(vm, &b, (uint32_t)c);
        } else if (is_str(vm, v)) {
            asy_strbuf_append_str(vm, &b, AS_STR(v));
        } else {
            asy_raise(vm, ASY_EXC_TypeError, "character mapping must return integer, None or str");
            goto fail;
        }
    }
    AsyStr *r = asy_strbuf_finish(vm, &b);
    return r ? ASY_OBJ(r) : ASY_ERR;
fail:
    asy_strbuf_free(&b);
    return ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* format, format_map, __format__                                                         */
/* ------------------------------------------------------------------------------------ */

static AsyValue m_format(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc < 1) return asy_raise(vm, ASY_EXC_TypeError, "unbound method str.format() needs an argument");
    return asy_str_format_method(vm, AS_STR(argv[0]), argc - 1, argv + 1, kw);
}

static AsyValue m_format_map(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "format_map", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "str.format_map", argc - 1, 1, 1)) return ASY_ERR;
    return asy_str_format_map(vm, AS_STR(argv[0]), argv[1]);
}

/* format(s, spec): fill, alignment, width and precision (truncation) only. */
AsyValue asy_str_format_spec(AsyVM *vm, AsyValue self, AsyStr *spec) {
    AsyStr *s = AS_STR(self);
    if (!spec || spec->len == 0) return str_str(vm, self);
    AsyFormatSpec fs;
    if (!asy_format_spec_parse(vm, spec, self, &fs)) return ASY_ERR;
    if (fs.type != 0 && fs.type != 's') return asy_format_unknown_code(vm, &fs, self);
    if (fs.grouping)
        return asy_raise(vm, ASY_EXC_ValueError, "Cannot specify '%c' with 's'.", fs.grouping);
    if (fs.sign == ' ')
        return asy_raise(vm, ASY_EXC_ValueError, "Space not allowed in string format specifier");
    if (fs.sign)
        return asy_raise(vm, ASY_EXC_ValueError, "Sign not allowed in string format specifier");
    if (fs.z)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "Negative zero coercion (z) not allowed in string format specifier");
    if (fs.alternate)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "Alternate form (#) not allowed in string format specifier");
    if (fs.align == '=')
        return asy_raise(vm, ASY_EXC_ValueError,
                         "'=' alignment not allowed in string format specifier");
    size_t len = s->len, nchars = s->nchars;
    if (fs.precision >= 0 && (size_t)fs.precision < nchars) {
        nchars = (size_t)fs.precision;
        len = byte_at(s, nchars);
    }
    if ((fs.width < 0 || (size_t)fs.width <= nchars) && len == s->len) return str_str(vm, self);
    AsyStr *r = asy_format_pad_ex(vm, s->data, len, nchars, &fs, '<', 0);
    return r ? ASY_OBJ(r) : ASY_ERR;
}

static AsyValue m_dunder_format(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "__format__", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "__format__", argc - 1, 1, 1)) return ASY_ERR;
    if (!is_str(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "__format__() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    return asy_str_format_spec(vm, argv[0], AS_STR(argv[1]));
}

static AsyValue m_getnewargs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(kw);
    AsyValue v = str_str(vm, argv[0]);
    if (ASY_IS_ERR(v)) return v;
    AsyTuple *t = asy_tuple_from_array(vm, &v, 1);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

/* ------------------------------------------------------------------------------------ */
/* The constructor: str(), str(obj), str(bytes, encoding, errors)                         */
/* ------------------------------------------------------------------------------------ */

/* A copy of a plain str as an instance of the subclass `type`. */
static AsyValue str_as_subtype(AsyVM *vm, AsyType *type, AsyStr *s) {
    AsyStr *r = asy_gc_alloc(vm, type, asy_var_instance_size(type, offsetof(AsyStr, data) + s->len + 1));
    if (!r) return ASY_ERR;
    memcpy(r->data, s->data, s->len + 1);
    r->len = s->len;
    r->nchars = s->nchars;
    r->ascii = s->ascii;
    r->hash = -1;
    return ASY_OBJ(r);
}

static AsyValue str_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc > 3)
        return asy_raise(vm, ASY_EXC_TypeError, "str() takes at most 3 arguments (%d given)", argc);
    AsyValue obj = argc > 0 ? argv[0] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "object");
        if (!ASY_IS_UNDEF(k)) obj = k;
    }
    const char *enc = NULL, *err = NULL;
    bool decode = argc > 1 || (kw && kw->len);
    if (decode && !codec_args(vm, "str", argc, argv, kw, 1, &enc, &err)) return ASY_ERR;
    AsyValue r;
    if (ASY_IS_UNDEF(obj)) {
        r = ASY_OBJ(vm->empty_str);
    } else if (decode) {
        if (!ASY_IS_OBJ(obj) || !asy_isinstance(vm, obj, ASY_TYPE(vm, bytes)))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "decoding to str: need a bytes-like object, %s found",
                             asy_type_name(vm, obj));
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(obj);
        r = asy_bytes_decode(vm, b->data, b->len, enc, err);
    } else {
        r = asy_str(vm, obj);
    }
    if (ASY_IS_ERR(r) || type == STR_TYPE(vm)) return r;
    return str_as_subtype(vm, type, AS_STR(r));
}

/* ------------------------------------------------------------------------------------ */
/* The type                                                                               */
/* ------------------------------------------------------------------------------------ */

static const AsyMethodDef str_methods[] = {
    {"join", m_join, 0, "Concatenate any number of strings, with self between them."},
    {"split", m_split, 0, "Return a list of the substrings, using sep as the separator."},
    {"rsplit", m_rsplit, 0, "Like split, splitting from the right."},
    {"splitlines", m_splitlines, 0, "Return a list of the lines in the string."},
    {"strip", m_strip, 0, "Return a copy without leading and trailing whitespace (or chars)."},
    {"lstrip", m_lstrip, 0, "Return a copy without leading whitespace (or chars)."},
    {"rstrip", m_rstrip, 0, "Return a copy without trailing whitespace (or chars)."},
    {"startswith", m_startswith, 0, "Return True if the string starts with the prefix."},
    {"endswith", m_endswith, 0, "Return True if the string ends with the suffix."},
    {"find", m_find, 0, "Return the lowest index of sub, or -1."},
    {"rfind", m_rfind, 0, "Return the highest index of sub, or -1."},
    {"index", m_index, 0, "Like find, but raise ValueError when not found."},
    {"rindex", m_rindex, 0, "Like rfind, but raise ValueError when not found."},
    {"count", m_count, 0, "Return the number of non-overlapping occurrences of sub."},
    {"replace", m_replace, 0, "Return a copy with occurrences of old replaced by new."},
    {"upper", m_upper, 0, "Return a copy converted to uppercase."},
    {"lower", m_lower, 0, "Return a copy converted to lowercase."},
    {"casefold", m_casefold, 0, "Return a version suitable for caseless comparisons."},
    {"swapcase", m_swapcase, 0, "Convert uppercase to lowercase and vice versa."},
    {"title", m_title, 0, "Return a titlecased version of the string."},
    {"capitalize", m_capitalize, 0, "Return a capitalized version of the string."},
    {"isalpha", m_isalpha, 0, "Return True if all characters are alphabetic."},
    {"isalnum", m_isalnum, 0, "Return True if all characters are alphanumeric."},
    {"isdigit", m_isdigit, 0, "Return True if all characters are digits."},
    {"isdecimal", m_isdecimal, 0, "Return True if all characters are decimal."},
    {"isnumeric", m_isnumeric, 0, "Return True if all characters are numeric."},
    {"isspace", m_isspace, 0, "Return True if all characters are whitespace."},
    {"isprintable", m_isprintable, 0, "Return True if all characters are printable."},
    {"isascii", m_isascii, 0, "Return True if all characters are ASCII."},
    {"isupper", m_isupper, 0, "Return True if the string is an uppercase string."},
    {"islower", m_islower, 0, "Return True if the string is a lowercase string."},
    {"istitle", m_istitle, 0, "Return True if the string is a title-cased string."},
    {"isidentifier", m_isidentifier, 0, "Return True if the string is a valid identifier."},
    {"center", m_center, 0, "Return a centered string of length width."},
    {"ljust", m_ljust, 0, "Return a left-justified string of length width."},
    {"rjust", m_rjust, 0, "Return a right-justified string of length width."},
    {"zfill", m_zfill, 0, "Pad a numeric string with zeros on the left."},
    {"partition", m_partition, 0, "Partition the string into three parts using sep."},
    {"rpartition", m_rpartition, 0, "Partition from the right into three parts using sep."},
    {"encode", m_encode, 0, "Encode the string using the codec registered for encoding."},
    {"format", m_format, 0, "Return a formatted version of the string (str.format)."},
    {"format_map", m_format_map, 0, "Return a formatted version using substitutions from mapping."},
    {"expandtabs", m_expandtabs, 0, "Return a copy where all tab characters are expanded."},
    {"removeprefix", m_removeprefix, 0, "Return a str with the given prefix removed."},
    {"removesuffix", m_removesuffix, 0, "Return a str with the given suffix removed."},
    {"maketrans", m_maketrans, ASY_METH_STATIC, "Return a translation table for str.translate."},
    {"translate", m_translate, 0, "Replace each character through the given translation table."},
    {"__format__", m_dunder_format, 0, "Return a formatted version of the string."},
    {"__getnewargs__", m_getnewargs, 0, NULL},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef str_iter_methods[] = {
    {"__length_hint__", str_iter_length_hint, 0, "Private method returning an estimate of len(list(it))."},
    {NULL, NULL, 0, NULL},
};

void asy_str_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "str", ASY_TYPE(vm, object), sizeof(AsyStr));
    vm->types[ASY_TYPE_str] = t;
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = str_repr;
    t->str = str_str;
    t->hash = str_hash_slot;
    t->richcompare = str_richcompare;
    t->truth = str_truth;
    t->len = str_len;
    t->iter = str_iter;
    t->getitem = str_getitem;
    t->contains = str_contains;
    t->binop = str_binop;
    t->new_ = str_new;

    /* The shared strings exist before anything else makes a str (methods' names). */
    vm->empty_str = asy_str_intern(vm, "", 0);
    for (int c = 0; c < 128; c++) {
        char ch = (char)c;
        vm->char_cache[c] = asy_str_intern(vm, &ch, 1);
    }
    asy_type_add_methods(vm, t, str_methods);
    asy_type_ready(vm, t);

    AsyType *it = asy_type_new_builtin(vm, "str_ascii_iterator", ASY_TYPE(vm, object),
                                       sizeof(AsyStrIter));
    vm->types[ASY_TYPE_str_iterator] = it;
    it->iter = iter_self;
    it->next = str_iter_next;
    it->traverse = str_iter_traverse;
    asy_type_add_methods(vm, it, str_iter_methods);
    asy_type_ready(vm, it);
}
