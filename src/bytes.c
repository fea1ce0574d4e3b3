/* bytes.c - the immutable `bytes` type: construction, repr, comparison, hashing, indexing,
 * slicing, iteration (bytes_iterator), + and *, `in`, and the commonly used methods (the
 * codecs of bytes.decode are codec.c's; the formatting of `bytes % args` is strformat.c's).
 * Messages are CPython 3.11's. The only whitespace bytes know is ASCII's " \t\n\r\v\f".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unicode.h"
#include "vm.h"

#define BYTES_TYPE(vm) ASY_TYPE(vm, bytes)
#define AS_BYTES(v) ((AsyBytes *)ASY_AS_OBJ(v))

static inline bool is_bytes(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && (ASY_AS_OBJ(v)->type == BYTES_TYPE(vm) ||
                             asy_is_subtype(ASY_AS_OBJ(v)->type, BYTES_TYPE(vm)));
}

static inline bool is_str(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, str));
}

static AsyBytes *bytes_alloc(AsyVM *vm, AsyType *type, size_t len) {
    if (len >= ASY_MAX_ALLOC) {
        asy_raise_memory(vm);
        return NULL;
    }
    AsyBytes *b = asy_gc_alloc_var(vm, type, asy_var_instance_size(type, offsetof(AsyBytes, data) + len + 1), true);
    if (!b) return NULL;
    b->hash = -1;
    b->len = len;
    b->data[len] = 0;
    return b;
}

AsyBytes *asy_bytes_new(AsyVM *vm, const uint8_t *data, size_t len) {
    AsyBytes *b = bytes_alloc(vm, BYTES_TYPE(vm), len);
    if (b && len) memcpy(b->data, data, len);
    return b;
}

static AsyValue bytes_value(AsyVM *vm, const void *data, size_t len) {
    AsyBytes *b = asy_bytes_new(vm, data, len);
    return b ? ASY_OBJ(b) : ASY_ERR;
}

/* The bytes of v itself when it is exact bytes (immutable, so sharing is safe). */
static AsyValue bytes_sub(AsyVM *vm, AsyBytes *b, size_t start, size_t end) {
    if (start == 0 && end == b->len && b->hdr.type == BYTES_TYPE(vm)) return ASY_OBJ(b);
    return bytes_value(vm, b->data + start, end - start);
}

/* ------------------------------------------------------------------------------------ */
/* Slots                                                                                  */
/* ------------------------------------------------------------------------------------ */

static const char hexdig[] = "0123456789abcdef";

static AsyValue bytes_repr(AsyVM *vm, AsyValue self) {
    AsyBytes *b = AS_BYTES(self);
    bool sq = memchr(b->data, '\'', b->len) != NULL, dq = memchr(b->data, '"', b->len) != NULL;
    char quote = sq && !dq ? '"' : '\'';
    AsyStrBuf out;
    asy_strbuf_init(&out);
    asy_strbuf_append(vm, &out, "b", 1);
    asy_strbuf_append(vm, &out, &quote, 1);
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        char esc[4] = {'\\', 0, 0, 0};
        size_t n = 2;
        if (c == quote || c == '\\') esc[1] = (char)c;
        else if (c == '\t') esc[1] = 't';
        else if (c == '\n') esc[1] = 'n';
        else if (c == '\r') esc[1] = 'r';
        else if (c < ' ' || c >= 0x7F) esc[1] = 'x', esc[2] = hexdig[c >> 4], esc[3] = hexdig[c & 15], n = 4;
        else esc[0] = (char)c, n = 1;
        asy_strbuf_append(vm, &out, esc, n);
    }
    asy_strbuf_append(vm, &out, &quote, 1);
    AsyStr *s = asy_strbuf_finish(vm, &out);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static bool bytes_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    AsyBytes *b = AS_BYTES(self);
    if (b->hash == -1) b->hash = asy_hash_bytes(b->data, b->len);
    *out = b->hash;
    return true;
}

static AsyValue bytes_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (!is_bytes(vm, self) || !is_bytes(vm, other)) return ASY_OBJ(vm->not_implemented);
    AsyBytes *a = AS_BYTES(self), *b = AS_BYTES(other);
    if (op == ASY_CMP_EQ || op == ASY_CMP_NE) {
        bool eq = a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
        return ASY_BOOL(op == ASY_CMP_EQ ? eq : !eq);
    }
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->data, b->data, n);
    if (c == 0) c = a->len < b->len ? -1 : a->len > b->len;
    switch (op) {
    case ASY_CMP_LT: return ASY_BOOL(c < 0);
    case ASY_CMP_LE: return ASY_BOOL(c <= 0);
    case ASY_CMP_GT: return ASY_BOOL(c > 0);
    default: return ASY_BOOL(c >= 0);
    }
}

static int bytes_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return AS_BYTES(self)->len != 0;
}

static int64_t bytes_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return (int64_t)AS_BYTES(self)->len;
}

static int64_t find_mem(const uint8_t *hay, size_t from, size_t to, const uint8_t *needle,
                        size_t nlen, bool reverse) {
    if (to < from || to - from < nlen) return -1;
    if (!reverse) {
        if (nlen == 0) return (int64_t)from;
        const uint8_t *p = memmem(hay + from, to - from, needle, nlen);
        return p ? p - hay : -1;
    }
    for (size_t i = to - nlen + 1; i-- > from;)
        if (memcmp(hay + i, needle, nlen) == 0) return (int64_t)i;
    return -1;
}

/* A byte value 0..255 from an int argument, or -1 with an exception. */
static int byte_arg(AsyVM *vm, AsyValue v, const char *range_msg) {
    int64_t n;
    if (ASY_IS_INTLIKE(v)) n = ASY_AS_INT(v);
    else if (!asy_index(vm, v, &n)) return -1;
    if (n < 0 || n > 255) {
        asy_raise(vm, ASY_EXC_ValueError, "%s", range_msg);
        return -1;
    }
    return (int)n;
}

static int bytes_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    AsyBytes *b = AS_BYTES(self);
    if (is_bytes(vm, item)) {
        AsyBytes *n = AS_BYTES(item);
        return find_mem(b->data, 0, b->len, n->data, n->len, false) >= 0;
    }
    if (ASY_IS_INTLIKE(item) || asy_is_int(vm, item)) {
        int c = byte_arg(vm, item, "byte must be in range(0, 256)");
        if (c < 0) return -1;
        return memchr(b->data, c, b->len) != NULL;
    }
    asy_raise(vm, ASY_EXC_TypeError, "a bytes-like object is required, not '%s'",
              asy_type_name(vm, item));
    return -1;
}

static AsyValue bytes_repeat(AsyVM *vm, AsyBytes *b, int64_t n) {
    if (n <= 0 || b->len == 0) return bytes_value(vm, "", 0);
    if (n == 1 && b->hdr.type == BYTES_TYPE(vm)) return ASY_OBJ(b);
    if ((uint64_t)n > ASY_MAX_ALLOC / b->len) return asy_raise_memory(vm);
    AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), b->len * (size_t)n);
    if (!r) return ASY_ERR;
    for (int64_t i = 0; i < n; i++) memcpy(r->data + (size_t)i * b->len, b->data, b->len);
    return ASY_OBJ(r);
}

static AsyValue bytes_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    if (op >= ASY_BIN_INPLACE) op = (AsyBinOp)(op - ASY_BIN_INPLACE);
    if (op == ASY_BIN_ADD && is_bytes(vm, a)) {
        if (!is_bytes(vm, b)) {
            AsyType *t = asy_type_of(vm, b);
            if ((t->tflags & ASY_TYPE_HEAP) && !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __radd__))))
                return ASY_OBJ(vm->not_implemented);
            return asy_raise(vm, ASY_EXC_TypeError, "can't concat %s to bytes",
                             asy_type_name(vm, b));
        }
        AsyBytes *x = AS_BYTES(a), *y = AS_BYTES(b);
        if (y->len == 0 && x->hdr.type == BYTES_TYPE(vm)) return a;
        AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), x->len + y->len);
        if (!r) return ASY_ERR;
        memcpy(r->data, x->data, x->len);
        memcpy(r->data + x->len, y->data, y->len);
        return ASY_OBJ(r);
    }
    if (op == ASY_BIN_MUL) {
        AsyValue s = is_bytes(vm, a) ? a : b, n = is_bytes(vm, a) ? b : a;
        if (!is_bytes(vm, s)) return ASY_OBJ(vm->not_implemented);
        if (ASY_IS_INTLIKE(n)) return bytes_repeat(vm, AS_BYTES(s), ASY_AS_INT(n));
        AsyType *t = asy_type_of(vm, n);
        if (s.as.o == a.as.o && (t->tflags & ASY_TYPE_HEAP) &&
            !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __rmul__))))
            return ASY_OBJ(vm->not_implemented);
        if (asy_is_int(vm, n) || !ASY_IS_UNDEF(asy_type_lookup(t, ASY_S(vm, __index__)))) {
            int64_t k;
            if (!asy_index(vm, n, &k)) return ASY_ERR;
            return bytes_repeat(vm, AS_BYTES(s), k);
        }
        return asy_raise(vm, ASY_EXC_TypeError, "can't multiply sequence by non-int of type '%s'",
                         asy_type_name(vm, n));
    }
    if (op == ASY_BIN_MOD && is_bytes(vm, a)) {
        /* A bytes subclass's own __rmod__ comes before formatting (CPython's binary_op1). */
        if (is_bytes(vm, b) && b.as.o->type != a.as.o->type &&
            (b.as.o->type->tflags & ASY_TYPE_HEAP) &&
            !ASY_IS_UNDEF(asy_type_lookup(b.as.o->type, ASY_S(vm, __rmod__))))
            return ASY_OBJ(vm->not_implemented);
        return asy_bytes_percent(vm, AS_BYTES(a), b);
    }
    return ASY_OBJ(vm->not_implemented);
}

static AsyValue bytes_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyBytes *b = AS_BYTES(self);
    if (ASY_IS_OBJ(key) && ASY_AS_OBJ(key)->type == ASY_TYPE(vm, slice)) {
        int64_t start, stop, step, count;
        if (!asy_slice_indices(vm, (AsySlice *)ASY_AS_OBJ(key), (int64_t)b->len, &start, &stop,
                               &step, &count))
            return ASY_ERR;
        if (count <= 0) return bytes_value(vm, "", 0);
        if (step == 1) return bytes_sub(vm, b, (size_t)start, (size_t)(start + count));
        AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), (size_t)count);
        if (!r) return ASY_ERR;
        for (int64_t k = 0, i = start; k < count; k++, i += step) r->data[k] = b->data[i];
        return ASY_OBJ(r);
    }
    int64_t i;
    if (ASY_IS_INTLIKE(key)) {
        i = ASY_AS_INT(key);
    } else if (asy_is_int(vm, key) ||
               !ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, key), ASY_S(vm, __index__)))) {
        if (!asy_index(vm, key, &i)) return ASY_ERR;
    } else {
        return asy_raise(vm, ASY_EXC_TypeError, "byte indices must be integers or slices, not %s",
                         asy_type_name(vm, key));
    }
    if (i < 0) i += (int64_t)b->len;
    if (i < 0 || i >= (int64_t)b->len) return asy_raise(vm, ASY_EXC_IndexError, "index out of range");
    return ASY_INT(b->data[i]);
}

typedef struct {
    AsyObj hdr;
    AsyBytes *bytes;
    size_t pos;
} AsyBytesIter;

static AsyValue bytes_iter(AsyVM *vm, AsyValue self) {
    AsyBytesIter *it = asy_gc_alloc(vm, ASY_TYPE(vm, bytes_iterator), sizeof(AsyBytesIter));
    if (!it) return ASY_ERR;
    it->bytes = AS_BYTES(self);
    return ASY_OBJ(it);
}

static AsyValue bytes_iter_next(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    AsyBytesIter *it = (AsyBytesIter *)ASY_AS_OBJ(self);
    if (!it->bytes || it->pos >= it->bytes->len) {
        it->bytes = NULL;
        return ASY_UNDEF;
    }
    return ASY_INT(it->bytes->data[it->pos++]);
}

static AsyValue iter_self(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static void bytes_iter_traverse(AsyVM *vm, AsyObj *self) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyBytesIter *)self)->bytes);
}

/* bytes(), bytes(n), bytes(iterable of ints), bytes(bytes), bytes(str, encoding[, errors]) */
static AsyValue bytes_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue src = argc > 0 ? argv[0] : ASY_UNDEF;
    AsyValue venc = argc > 1 ? argv[1] : ASY_UNDEF, verr = argc > 2 ? argv[2] : ASY_UNDEF;
    if (argc > 3)
        return asy_raise(vm, ASY_EXC_TypeError, "bytes() takes at most 3 arguments (%d given)", argc);
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "source");
        if (!ASY_IS_UNDEF(k)) src = k;
        k = asy_kwarg(vm, kw, "encoding");
        if (!ASY_IS_UNDEF(k)) venc = k;
        k = asy_kwarg(vm, kw, "errors");
        if (!ASY_IS_UNDEF(k)) verr = k;
        if (!asy_check_kw_done(vm, "bytes", kw)) return ASY_ERR;
    }
    AsyValue r;
    if (ASY_IS_UNDEF(src)) {
        r = bytes_value(vm, "", 0);
    } else if (is_str(vm, src)) {
        if (ASY_IS_UNDEF(venc))
            return asy_raise(vm, ASY_EXC_TypeError, "string argument without an encoding");
        if (!is_str(vm, venc) || (!ASY_IS_UNDEF(verr) && !is_str(vm, verr)))
            return asy_raise(vm, ASY_EXC_TypeError, "bytes() argument 'encoding' must be str, not %s",
                             asy_type_name(vm, venc));
        r = asy_str_encode(vm, (AsyStr *)ASY_AS_OBJ(src), ((AsyStr *)ASY_AS_OBJ(venc))->data,
                           ASY_IS_UNDEF(verr) ? NULL : ((AsyStr *)ASY_AS_OBJ(verr))->data);
    } else if (!ASY_IS_UNDEF(venc) || !ASY_IS_UNDEF(verr)) {
        return asy_raise(vm, ASY_EXC_TypeError, ASY_IS_UNDEF(venc)
                                                    ? "errors without a string argument"
                                                    : "encoding without a string argument");
    } else if (is_bytes(vm, src)) {
        r = bytes_value(vm, AS_BYTES(src)->data, AS_BYTES(src)->len);
    } else if (ASY_IS_INTLIKE(src) || asy_is_int(vm, src)) {
        int64_t n;
        if (!asy_index(vm, src, &n)) return ASY_ERR;
        if (n < 0) return asy_raise(vm, ASY_EXC_ValueError, "negative count");
        AsyBytes *b = bytes_alloc(vm, BYTES_TYPE(vm), (size_t)n);
        if (!b) return ASY_ERR;
        memset(b->data, 0, (size_t)n);
        r = ASY_OBJ(b);
    } else if (ASY_IS_FLOAT(src) || ASY_IS_NONE(src)) {
        return asy_raise(vm, ASY_EXC_TypeError, "cannot convert '%s' object to bytes",
                         asy_type_name(vm, src));
    } else {
        AsyValue it = asy_iter(vm, src);
        if (ASY_IS_ERR(it)) {
            if (!asy_exc_matches(vm, ASY_EXC_TypeError)) return it;
            asy_exc_clear(vm);
            return asy_raise(vm, ASY_EXC_TypeError, "cannot convert '%s' object to bytes",
                             asy_type_name(vm, src));
        }
        asy_root_push(vm, it);
        AsyStrBuf buf;
        asy_strbuf_init(&buf);
        r = ASY_UNDEF;
        for (;;) {
            AsyValue v = asy_next(vm, it);
            if (ASY_IS_UNDEF(v)) break;
            int c = ASY_IS_ERR(v) ? -1 : byte_arg(vm, v, "bytes must be in range(0, 256)");
            if (c < 0) {
                r = ASY_ERR;
                break;
            }
            char ch = (char)c;
            asy_strbuf_append(vm, &buf, &ch, 1);
        }
        asy_root_pop(vm, 1);
        if (!ASY_IS_ERR(r)) r = buf.failed ? ASY_ERR : bytes_value(vm, buf.data ? buf.data : "", buf.len);
        asy_strbuf_free(&buf);
    }
    if (ASY_IS_ERR(r) || type == BYTES_TYPE(vm)) return r;
    AsyBytes *src_b = AS_BYTES(r), *sub = bytes_alloc(vm, type, src_b->len);
    if (!sub) return ASY_ERR;
    memcpy(sub->data, src_b->data, src_b->len);
    return ASY_OBJ(sub);
}

/* ------------------------------------------------------------------------------------ */
/* Methods                                                                                */
/* ------------------------------------------------------------------------------------ */

static AsyBytes *bytes_arg(AsyVM *vm, AsyValue v) {
    if (is_bytes(vm, v)) return AS_BYTES(v);
    asy_raise(vm, ASY_EXC_TypeError, "a bytes-like object is required, not '%s'",
              asy_type_name(vm, v));
    return NULL;
}

static inline bool bspace(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static inline bool bupper(uint8_t c) { return c >= 'A' && c <= 'Z'; }
static inline bool blower(uint8_t c) { return c >= 'a' && c <= 'z'; }
static inline bool bdigit(uint8_t c) { return c >= '0' && c <= '9'; }

/* CPython's "find() takes at least 1 argument (0 given)" style. argc excludes self. */
static bool check_args_old(AsyVM *vm, const char *name, int argc, int min, int max) {
    if (argc >= min && argc <= max) return true;
    int n = argc < min ? min : max;
    asy_raise(vm, ASY_EXC_TypeError, "%s() takes %s %d argument%s (%d given)", name,
              min == max ? "exactly" : argc < min ? "at least" : "at most", n, n == 1 ? "" : "s",
              argc);
    return false;
}

/* Optional start/end (None or int) resolved to [0, n] like slice bounds. */
static bool range_args(AsyVM *vm, int argc, AsyValue *argv, int first, size_t n, int64_t *start,
                       int64_t *end) {
    *start = 0;
    *end = (int64_t)n;
    for (int k = 0; k < 2; k++) {
        if (argc <= first + k || ASY_IS_NONE(argv[first + k])) continue;
        int64_t v;
        if (!asy_index(vm, argv[first + k], &v)) return false;
        if (v < 0) {
            v += (int64_t)n;
            if (v < 0) v = 0;
        }
        if (k == 0) *start = v;
        else *end = v > (int64_t)n ? (int64_t)n : v;
    }
    return true;
}

static AsyValue m_decode(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!check_args_old(vm, "decode", argc - 1, 0, 2)) return ASY_ERR;
    AsyValue venc = argc > 1 ? argv[1] : ASY_UNDEF, verr = argc > 2 ? argv[2] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "encoding");
        if (!ASY_IS_UNDEF(k)) venc = k;
        k = asy_kwarg(vm, kw, "errors");
        if (!ASY_IS_UNDEF(k)) verr = k;
        if (!asy_check_kw_done(vm, "decode", kw)) return ASY_ERR;
    }
    const char *enc = NULL, *err = NULL;
    if (!ASY_IS_UNDEF(venc)) {
        if (!is_str(vm, venc))
            return asy_raise(vm, ASY_EXC_TypeError, "decode() argument 'encoding' must be str, not %s",
                             asy_type_name(vm, venc));
        enc = ((AsyStr *)ASY_AS_OBJ(venc))->data;
    }
    if (!ASY_IS_UNDEF(verr)) {
        if (!is_str(vm, verr))
            return asy_raise(vm, ASY_EXC_TypeError, "decode() argument 'errors' must be str, not %s",
                             asy_type_name(vm, verr));
        err = ((AsyStr *)ASY_AS_OBJ(verr))->data;
    }
    AsyBytes *b = AS_BYTES(argv[0]);
    return asy_bytes_decode(vm, b->data, b->len, enc, err);
}

static AsyValue m_hex(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "hex", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "hex", argc - 1, 0, 1)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    AsyStr *sep = NULL;
    if (argc > 1) {
        if (!is_str(vm, argv[1]) || ((AsyStr *)ASY_AS_OBJ(argv[1]))->nchars != 1)
            return asy_raise(vm, ASY_EXC_ValueError, "sep must be length 1.");
        sep = (AsyStr *)ASY_AS_OBJ(argv[1]);
    }
    AsyStrBuf out;
    asy_strbuf_init(&out);
    for (size_t i = 0; i < b->len; i++) {
        if (i && sep) asy_strbuf_append_str(vm, &out, sep);
        char h[2] = {hexdig[b->data[i] >> 4], hexdig[b->data[i] & 15]};
        asy_strbuf_append(vm, &out, h, 2);
    }
    AsyStr *s = asy_strbuf_finish(vm, &out);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if ((c | 32) >= 'a' && (c | 32) <= 'f') return (c | 32) - 'a' + 10;
    return -1;
}

static AsyValue m_fromhex(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "fromhex", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "fromhex", argc - 1, 1, 1)) return ASY_ERR;
    if (!is_str(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "fromhex() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    AsyStr *s = (AsyStr *)ASY_AS_OBJ(argv[1]);
    AsyStrBuf out;
    asy_strbuf_init(&out);
    size_t i = 0;
    while (i < s->len) {
        if (bspace((uint8_t)s->data[i])) {
            i++;
            continue;
        }
        int hi = hexval(s->data[i]), lo = i + 1 < s->len ? hexval(s->data[i + 1]) : -1;
        if (hi < 0 || lo < 0) {
            asy_strbuf_free(&out);
            return asy_raise(vm, ASY_EXC_ValueError,
                             "non-hexadecimal number found in fromhex() arg at position %zu",
                             asy_utf8_nchars(s->data, hi < 0 ? i : i + 1));
        }
        char c = (char)(hi * 16 + lo);
        asy_strbuf_append(vm, &out, &c, 1);
        i += 2;
    }
    AsyValue r = out.failed ? ASY_ERR : bytes_value(vm, out.data ? out.data : "", out.len);
    asy_strbuf_free(&out);
    return r;
}

typedef enum { FIND, RFIND, INDEX, RINDEX, COUNT } FindKind;

static AsyValue find_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, FindKind kind) {
    static const char *const names[] = {"find", "rfind", "index", "rindex", "count"};
    if (!asy_check_nokw(vm, names[kind], kw)) return ASY_ERR;
    if (!check_args_old(vm, names[kind], argc - 1, 1, 3)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    uint8_t one;
    const uint8_t *needle;
    size_t nlen;
    if (is_bytes(vm, argv[1])) {
        needle = AS_BYTES(argv[1])->data;
        nlen = AS_BYTES(argv[1])->len;
    } else if (ASY_IS_INTLIKE(argv[1]) || asy_is_int(vm, argv[1])) {
        int c = byte_arg(vm, argv[1], "byte must be in range(0, 256)");
        if (c < 0) return ASY_ERR;
        one = (uint8_t)c;
        needle = &one;
        nlen = 1;
    } else {
        return asy_raise(vm, ASY_EXC_TypeError,
                         "argument should be integer or bytes-like object, not '%s'",
                         asy_type_name(vm, argv[1]));
    }
    int64_t s, e;
    if (!range_args(vm, argc, argv, 2, b->len, &s, &e)) return ASY_ERR;
    if (kind == COUNT) {
        if (s > e) return ASY_INT(0);
        if (nlen == 0) return ASY_INT(e - s + 1);
        int64_t n = 0, at;
        size_t from = (size_t)s;
        while ((at = find_mem(b->data, from, (size_t)e, needle, nlen, false)) >= 0) {
            n++;
            from = (size_t)at + nlen;
        }
        return ASY_INT(n);
    }
    int64_t at = s > e ? -1
                       : find_mem(b->data, (size_t)s, (size_t)e, needle, nlen,
                                  kind == RFIND || kind == RINDEX);
    if (at < 0 && (kind == INDEX || kind == RINDEX))
        return asy_raise(vm, ASY_EXC_ValueError, "subsection not found");
    return ASY_INT(at);
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
    AsyBytes *b = AS_BYTES(argv[0]);
    int64_t s, e;
    if (!range_args(vm, argc, argv, 2, b->len, &s, &e)) return ASY_ERR;
    AsyValue *cands = &argv[1];
    int64_t n = 1;
    if (ASY_IS_OBJ(argv[1]) && ASY_AS_OBJ(argv[1])->type == ASY_TYPE(vm, tuple)) {
        cands = ((AsyTuple *)ASY_AS_OBJ(argv[1]))->items;
        n = ((AsyTuple *)ASY_AS_OBJ(argv[1]))->len;
    } else if (!is_bytes(vm, argv[1])) {
        return asy_raise(vm, ASY_EXC_TypeError,
                         "%s first arg must be bytes or a tuple of bytes, not %s", name,
                         asy_type_name(vm, argv[1]));
    }
    for (int64_t k = 0; k < n; k++) {
        AsyBytes *p = bytes_arg(vm, cands[k]);
        if (!p) return ASY_ERR;
        if (s > e || (size_t)(e - s) < p->len) continue;
        const uint8_t *at = ends ? b->data + e - p->len : b->data + s;
        if (memcmp(at, p->data, p->len) == 0) return ASY_TRUE;
    }
    return ASY_FALSE;
}

static AsyValue m_startswith(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return affix_impl(vm, c, v, k, false); }
static AsyValue m_endswith(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return affix_impl(vm, c, v, k, true); }

static bool push_piece(AsyVM *vm, AsyList *l, AsyBytes *b, size_t s, size_t e) {
    AsyValue p = bytes_sub(vm, b, s, e);
    return !ASY_IS_ERR(p) && asy_list_append(vm, l, p) == 0;
}

static AsyValue split_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool right) {
    const char *name = right ? "rsplit" : "split";
    if (!check_args_old(vm, name, argc - 1, 0, 2)) return ASY_ERR;
    AsyValue vsep = argc > 1 ? argv[1] : ASY_UNDEF, vmax = argc > 2 ? argv[2] : ASY_UNDEF;
    if (kw && kw->len) {
        AsyValue k = asy_kwarg(vm, kw, "sep");
        if (!ASY_IS_UNDEF(k)) vsep = k;
        k = asy_kwarg(vm, kw, "maxsplit");
        if (!ASY_IS_UNDEF(k)) vmax = k;
        if (!asy_check_kw_done(vm, name, kw)) return ASY_ERR;
    }
    AsyBytes *b = AS_BYTES(argv[0]), *sep = NULL;
    if (!ASY_IS_UNDEF(vsep) && !ASY_IS_NONE(vsep)) {
        if (!(sep = bytes_arg(vm, vsep))) return ASY_ERR;
        if (sep->len == 0) return asy_raise(vm, ASY_EXC_ValueError, "empty separator");
    }
    int64_t maxsplit = -1;
    if (!ASY_IS_UNDEF(vmax) && !asy_index(vm, vmax, &maxsplit)) return ASY_ERR;
    if (maxsplit < 0) maxsplit = INT64_MAX;
    AsyList *l = asy_list_new(vm, 4);
    if (!l) return ASY_ERR;
    const uint8_t *d = b->data;
    size_t n = b->len;
    if (!sep && !right) {
        size_t i = 0;
        for (;;) {
            while (i < n && bspace(d[i])) i++;
            if (i >= n) break;
            if (maxsplit-- == 0) {
                if (!push_piece(vm, l, b, i, n)) return ASY_ERR;
                break;
            }
            size_t j = i;
            while (j < n && !bspace(d[j])) j++;
            if (!push_piece(vm, l, b, i, j)) return ASY_ERR;
            i = j;
        }
    } else if (!sep) {
        size_t i = n;
        for (;;) {
            while (i > 0 && bspace(d[i - 1])) i--;
            if (i == 0) break;
            if (maxsplit-- == 0) {
                if (!push_piece(vm, l, b, 0, i)) return ASY_ERR;
                break;
            }
            size_t j = i;
            while (j > 0 && !bspace(d[j - 1])) j--;
            if (!push_piece(vm, l, b, j, i)) return ASY_ERR;
            i = j;
        }
    } else if (!right) {
        size_t from = 0;
        int64_t at;
        while (maxsplit > 0 && (at = find_mem(d, from, n, sep->data, sep->len, false)) >= 0) {
            if (!push_piece(vm, l, b, from, (size_t)at)) return ASY_ERR;
            from = (size_t)at + sep->len;
            maxsplit--;
        }
        if (!push_piece(vm, l, b, from, n)) return ASY_ERR;
    } else {
        size_t to = n;
        int64_t at;
        while (maxsplit > 0 && (at = find_mem(d, 0, to, sep->data, sep->len, true)) >= 0) {
            if (!push_piece(vm, l, b, (size_t)at + sep->len, to)) return ASY_ERR;
            to = (size_t)at;
            maxsplit--;
        }
        if (!push_piece(vm, l, b, 0, to)) return ASY_ERR;
    }
    if (right)
        for (int64_t i = 0, j = l->len - 1; i < j; i++, j--) {
            AsyValue t = l->items[i];
            l->items[i] = l->items[j];
            l->items[j] = t;
        }
    return ASY_OBJ(l);
}

static AsyValue m_split(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return split_impl(vm, c, v, k, false); }
static AsyValue m_rsplit(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return split_impl(vm, c, v, k, true); }

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
        int t = asy_truthy(vm, vkeep);
        if (t < 0) return ASY_ERR;
        keep = t;
    }
    AsyBytes *b = AS_BYTES(argv[0]);
    AsyList *l = asy_list_new(vm, 4);
    if (!l) return ASY_ERR;
    size_t start = 0, i = 0;
    while (i < b->len) {
        uint8_t c = b->data[i];
        if (c != '\n' && c != '\r') {
            i++;
            continue;
        }
        size_t eol = i++;
        if (c == '\r' && i < b->len && b->data[i] == '\n') i++;
        if (!push_piece(vm, l, b, start, keep ? i : eol)) return ASY_ERR;
        start = i;
    }
    if (start < b->len && !push_piece(vm, l, b, start, b->len)) return ASY_ERR;
    return ASY_OBJ(l);
}

static AsyValue m_join(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "join", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "bytes.join", argc - 1, 1, 1)) return ASY_ERR;
    AsyList *l = asy_list_from_iterable(vm, argv[1]);
    if (!l) return ASY_ERR;
    AsyBytes *sep = AS_BYTES(argv[0]);
    size_t total = 0;
    for (int64_t i = 0; i < l->len; i++) {
        if (!is_bytes(vm, l->items[i]))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "sequence item %lld: expected a bytes-like object, %s found",
                             (long long)i, asy_type_name(vm, l->items[i]));
        total += AS_BYTES(l->items[i])->len + (i ? sep->len : 0);
    }
    AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), total);
    if (!r) return ASY_ERR;
    uint8_t *p = r->data;
    for (int64_t i = 0; i < l->len; i++) {
        if (i) memcpy(p, sep->data, sep->len), p += sep->len;
        AsyBytes *x = AS_BYTES(l->items[i]);
        memcpy(p, x->data, x->len);
        p += x->len;
    }
    return ASY_OBJ(r);
}

static AsyValue strip_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, int which) {
    static const char *const names[] = {"", "lstrip", "rstrip", "strip"};
    if (!asy_check_nokw(vm, names[which], kw)) return ASY_ERR;
    if (!asy_check_args(vm, names[which], argc - 1, 0, 1)) return ASY_ERR;
    bool set[256];
    if (argc > 1 && !ASY_IS_NONE(argv[1])) {
        AsyBytes *chars = bytes_arg(vm, argv[1]);
        if (!chars) return ASY_ERR;
        memset(set, 0, sizeof set);
        for (size_t i = 0; i < chars->len; i++) set[chars->data[i]] = true;
    } else {
        for (int c = 0; c < 256; c++) set[c] = bspace((uint8_t)c);
    }
    AsyBytes *b = AS_BYTES(argv[0]);
    size_t s = 0, e = b->len;
    if (which & 1)
        while (s < e && set[b->data[s]]) s++;
    if (which & 2)
        while (e > s && set[b->data[e - 1]]) e--;
    return bytes_sub(vm, b, s, e);
}

static AsyValue m_strip(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return strip_impl(vm, c, v, k, 3); }
static AsyValue m_lstrip(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return strip_impl(vm, c, v, k, 1); }
static AsyValue m_rstrip(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return strip_impl(vm, c, v, k, 2); }

typedef enum { CASE_UPPER, CASE_LOWER, CASE_SWAP, CASE_TITLE, CASE_CAPITALIZE } CaseMode;

static uint8_t to_upper(uint8_t c) { return blower(c) ? (uint8_t)(c - 32) : c; }
static uint8_t to_lower(uint8_t c) { return bupper(c) ? (uint8_t)(c + 32) : c; }

/* upper, lower, swapcase, title, capitalize: ASCII only, as CPython's bytes. */
static AsyValue case_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, CaseMode mode) {
    static const char *const names[] = {"bytes.upper", "bytes.lower", "bytes.swapcase",
                                        "bytes.title", "bytes.capitalize"};
    const char *name = names[mode];
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 0, 0)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]), *r = bytes_alloc(vm, BYTES_TYPE(vm), b->len);
    if (!r) return ASY_ERR;
    bool prev_cased = false;
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        switch (mode) {
        case CASE_UPPER: c = to_upper(c); break;
        case CASE_LOWER: c = to_lower(c); break;
        case CASE_SWAP: c = bupper(c) ? to_lower(c) : to_upper(c); break;
        case CASE_TITLE: /* upper after an uncased byte, lower after a cased one */
            c = prev_cased ? to_lower(c) : to_upper(c);
            prev_cased = bupper(c) || blower(c);
            break;
        case CASE_CAPITALIZE: c = i == 0 ? to_upper(c) : to_lower(c); break;
        }
        r->data[i] = c;
    }
    return ASY_OBJ(r);
}

static AsyValue m_upper(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_impl(vm, c, v, k, CASE_UPPER); }
static AsyValue m_lower(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_impl(vm, c, v, k, CASE_LOWER); }
static AsyValue m_swapcase(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_impl(vm, c, v, k, CASE_SWAP); }
static AsyValue m_title(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_impl(vm, c, v, k, CASE_TITLE); }
static AsyValue m_capitalize(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return case_impl(vm, c, v, k, CASE_CAPITALIZE); }

/* center, ljust, rjust(width, fillbyte=b' '): `left` of the padding goes first. */
typedef enum { PAD_CENTER, PAD_LEFT, PAD_RIGHT } PadMode;

static AsyValue pad_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, PadMode mode) {
    static const char *const names[] = {"center", "ljust", "rjust"};
    const char *name = names[mode];
    if (!asy_check_nokw(vm, name, kw) || !asy_check_args(vm, name, argc - 1, 1, 2)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    int64_t width;
    if (!asy_index(vm, argv[1], &width)) return ASY_ERR;
    uint8_t fill = ' ';
    if (argc > 2) {
        if (!is_bytes(vm, argv[2]) || AS_BYTES(argv[2])->len != 1)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "%s() argument 2 must be a byte string of length 1, not %s", name,
                             asy_type_name(vm, argv[2]));
        fill = AS_BYTES(argv[2])->data[0];
    }
    if (width <= (int64_t)b->len) return bytes_sub(vm, b, 0, b->len);
    size_t pad = (size_t)width - b->len, left;
    if (mode == PAD_CENTER) left = pad / 2 + (pad & (size_t)width & 1); /* CPython's rounding */
    else left = mode == PAD_LEFT ? 0 : pad;
    AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), (size_t)width);
    if (!r) return ASY_ERR;
    memset(r->data, fill, (size_t)width);
    memcpy(r->data + left, b->data, b->len);
    return ASY_OBJ(r);
}

static AsyValue m_center(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pad_impl(vm, c, v, k, PAD_CENTER); }
static AsyValue m_ljust(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pad_impl(vm, c, v, k, PAD_LEFT); }
static AsyValue m_rjust(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pad_impl(vm, c, v, k, PAD_RIGHT); }

static AsyValue m_zfill(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "bytes.zfill", kw)) return ASY_ERR;
    if (argc != 2) /* CPython's METH_O wording */
        return asy_raise(vm, ASY_EXC_TypeError,
                         "bytes.zfill() takes exactly one argument (%d given)", argc - 1);
    AsyBytes *b = AS_BYTES(argv[0]);
    int64_t width;
    if (!asy_index(vm, argv[1], &width)) return ASY_ERR;
    if (width <= (int64_t)b->len) return bytes_sub(vm, b, 0, b->len);
    size_t pad = (size_t)width - b->len;
    AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), (size_t)width);
    if (!r) return ASY_ERR;
    memset(r->data, '0', pad);
    memcpy(r->data + pad, b->data, b->len);
    if (b->len && (b->data[0] == '+' || b->data[0] == '-')) { /* the sign goes first */
        r->data[0] = b->data[0];
        r->data[pad] = '0';
    }
    return ASY_OBJ(r);
}

static AsyValue m_expandtabs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue ts = asy_kwarg(vm, kw, "tabsize");
    if (!asy_check_kw_done(vm, "expandtabs", kw) || !asy_check_args(vm, "expandtabs", argc - 1, 0, 1))
        return ASY_ERR;
    if (argc > 1) ts = argv[1];
    int64_t tab = 8;
    if (!ASY_IS_UNDEF(ts) && !asy_index(vm, ts, &tab)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    AsyStrBuf out;
    asy_strbuf_init(&out);
    size_t col = 0;
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        if (c == '\t') {
            size_t n = tab > 0 ? (size_t)tab - col % (size_t)tab : 0;
            for (size_t k = 0; k < n; k++) asy_strbuf_append(vm, &out, " ", 1);
            col += n;
            continue;
        }
        asy_strbuf_append(vm, &out, (const char *)&c, 1);
        col = c == '\n' || c == '\r' ? 0 : col + 1;
    }
    AsyValue r = out.failed ? ASY_ERR : bytes_value(vm, out.data ? out.data : "", out.len);
    asy_strbuf_free(&out);
    return r;
}

static AsyValue m_isascii(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "isascii", kw) || !asy_check_args(vm, "isascii", argc - 1, 0, 0))
        return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] >= 0x80) return ASY_FALSE;
    return ASY_TRUE;
}

/* istitle: cased bytes only upper after uncased ones and lower after cased ones, and one. */
static AsyValue m_istitle(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "istitle", kw) || !asy_check_args(vm, "istitle", argc - 1, 0, 0))
        return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    bool cased = false, prev_cased = false;
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        if (bupper(c)) {
            if (prev_cased) return ASY_FALSE;
            prev_cased = cased = true;
        } else if (blower(c)) {
            if (!prev_cased) return ASY_FALSE;
            prev_cased = cased = true;
        } else {
            prev_cased = false;
        }
    }
    return ASY_BOOL(cased);
}

static AsyValue remove_affix(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool prefix) {
    const char *name = prefix ? "removeprefix" : "removesuffix";
    if (!asy_check_nokw(vm, name, kw) || !asy_check_args(vm, name, argc - 1, 1, 1)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]), *a = bytes_arg(vm, argv[1]);
    if (!a) return ASY_ERR;
    if (a->len > b->len) return bytes_sub(vm, b, 0, b->len);
    if (prefix && memcmp(b->data, a->data, a->len) == 0) return bytes_sub(vm, b, a->len, b->len);
    if (!prefix && memcmp(b->data + b->len - a->len, a->data, a->len) == 0)
        return bytes_sub(vm, b, 0, b->len - a->len);
    return bytes_sub(vm, b, 0, b->len);
}

static AsyValue m_removeprefix(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return remove_affix(vm, c, v, k, true); }
static AsyValue m_removesuffix(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return remove_affix(vm, c, v, k, false); }

/* translate(table, /, delete=b''): table is None or 256 bytes. */
static AsyValue m_translate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue del = asy_kwarg(vm, kw, "delete");
    if (!asy_check_kw_done(vm, "translate", kw) || !asy_check_args(vm, "translate", argc - 1, 1, 2))
        return ASY_ERR;
    if (argc > 2) del = argv[2];
    AsyBytes *b = AS_BYTES(argv[0]), *table = NULL, *d = NULL;
    if (!ASY_IS_NONE(argv[1])) {
        if (!(table = bytes_arg(vm, argv[1]))) return ASY_ERR;
        if (table->len != 256)
            return asy_raise(vm, ASY_EXC_ValueError, "translation table must be 256 characters long");
    }
    if (!ASY_IS_UNDEF(del) && !(d = bytes_arg(vm, del))) return ASY_ERR;
    bool drop[256] = {false};
    for (size_t i = 0; d && i < d->len; i++) drop[d->data[i]] = true;
    AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), b->len);
    if (!r) return ASY_ERR;
    size_t n = 0;
    for (size_t i = 0; i < b->len; i++)
        if (!drop[b->data[i]]) r->data[n++] = table ? table->data[b->data[i]] : b->data[i];
    return n == b->len ? ASY_OBJ(r) : bytes_value(vm, r->data, n);
}

/* bytes.maketrans(frm, to): the 256-byte table translate() takes. */
static AsyValue m_maketrans(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "maketrans", kw) || !asy_check_args(vm, "maketrans", argc, 2, 2))
        return ASY_ERR;
    AsyBytes *from = bytes_arg(vm, argv[0]), *to = from ? bytes_arg(vm, argv[1]) : NULL;
    if (!to) return ASY_ERR;
    if (from->len != to->len)
        return asy_raise(vm, ASY_EXC_ValueError, "maketrans arguments must have same length");
    AsyBytes *r = bytes_alloc(vm, BYTES_TYPE(vm), 256);
    if (!r) return ASY_ERR;
    for (int i = 0; i < 256; i++) r->data[i] = (uint8_t)i;
    for (size_t i = 0; i < from->len; i++) r->data[from->data[i]] = to->data[i];
    return ASY_OBJ(r);
}

static AsyValue m_replace(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "replace", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "replace", argc - 1, 2, 3)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]), *old = bytes_arg(vm, argv[1]), *new_;
    if (!old || !(new_ = bytes_arg(vm, argv[2]))) return ASY_ERR;
    int64_t count = -1;
    if (argc > 3 && !asy_index(vm, argv[3], &count)) return ASY_ERR;
    if (count < 0) count = INT64_MAX;
    AsyStrBuf out;
    asy_strbuf_init(&out);
    size_t pos = 0;
    if (old->len == 0) {
        for (; count > 0 && pos <= b->len; count--) {
            asy_strbuf_append(vm, &out, (const char *)new_->data, new_->len);
            if (pos < b->len) asy_strbuf_append(vm, &out, (const char *)b->data + pos, 1);
            pos++;
        }
    } else {
        int64_t at;
        while (count-- > 0 && (at = find_mem(b->data, pos, b->len, old->data, old->len, false)) >= 0) {
            asy_strbuf_append(vm, &out, (const char *)b->data + pos, (size_t)at - pos);
            asy_strbuf_append(vm, &out, (const char *)new_->data, new_->len);
            pos = (size_t)at + old->len;
        }
    }
    if (pos < b->len) asy_strbuf_append(vm, &out, (const char *)b->data + pos, b->len - pos);
    AsyValue r = out.failed ? ASY_ERR : bytes_value(vm, out.data ? out.data : "", out.len);
    asy_strbuf_free(&out);
    return r;
}

static AsyValue partition_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, bool right) {
    const char *name = right ? "rpartition" : "partition";
    if (!asy_check_nokw(vm, name, kw)) return ASY_ERR;
    if (!asy_check_args(vm, name, argc - 1, 1, 1)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]), *sep = bytes_arg(vm, argv[1]);
    if (!sep) return ASY_ERR;
    if (sep->len == 0) return asy_raise(vm, ASY_EXC_ValueError, "empty separator");
    int64_t at = find_mem(b->data, 0, b->len, sep->data, sep->len, right);
    AsyValue parts[3];
    if (at < 0) {
        AsyValue whole = bytes_sub(vm, b, 0, b->len), empty = bytes_value(vm, "", 0);
        if (ASY_IS_ERR(whole) || ASY_IS_ERR(empty)) return ASY_ERR;
        parts[0] = right ? empty : whole;
        parts[1] = empty;
        parts[2] = right ? whole : empty;
    } else {
        parts[0] = bytes_sub(vm, b, 0, (size_t)at);
        parts[1] = bytes_sub(vm, sep, 0, sep->len);
        parts[2] = bytes_sub(vm, b, (size_t)at + sep->len, b->len);
        if (ASY_IS_ERR(parts[0]) || ASY_IS_ERR(parts[1]) || ASY_IS_ERR(parts[2])) return ASY_ERR;
    }
    AsyTuple *t = asy_tuple_from_array(vm, parts, 3);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static AsyValue m_partition(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return partition_impl(vm, c, v, k, false); }
static AsyValue m_rpartition(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return partition_impl(vm, c, v, k, true); }

typedef enum { P_DIGIT, P_ALPHA, P_ALNUM, P_SPACE, P_UPPER, P_LOWER } PredKind;

static AsyValue pred_impl(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw, PredKind k) {
    static const char *const names[] = {"bytes.isdigit", "bytes.isalpha", "bytes.isalnum",
                                        "bytes.isspace", "bytes.isupper", "bytes.islower"};
    if (!asy_check_nokw(vm, names[k], kw)) return ASY_ERR;
    if (!asy_check_args(vm, names[k], argc - 1, 0, 0)) return ASY_ERR;
    AsyBytes *b = AS_BYTES(argv[0]);
    if (k == P_UPPER || k == P_LOWER) {
        bool cased = false;
        for (size_t i = 0; i < b->len; i++) {
            uint8_t c = b->data[i];
            if (k == P_UPPER ? blower(c) : bupper(c)) return ASY_FALSE;
            cased = cased || (k == P_UPPER ? bupper(c) : blower(c));
        }
        return ASY_BOOL(cased);
    }
    if (b->len == 0) return ASY_FALSE;
    for (size_t i = 0; i < b->len; i++) {
        uint8_t c = b->data[i];
        bool ok = k == P_DIGIT   ? bdigit(c)
                  : k == P_ALPHA ? bupper(c) || blower(c)
                  : k == P_ALNUM ? bupper(c) || blower(c) || bdigit(c)
                                 : bspace(c);
        if (!ok) return ASY_FALSE;
    }
    return ASY_TRUE;
}

static AsyValue m_isdigit(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_impl(vm, c, v, k, P_DIGIT); }
static AsyValue m_isalpha(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_impl(vm, c, v, k, P_ALPHA); }
static AsyValue m_isalnum(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_impl(vm, c, v, k, P_ALNUM); }
static AsyValue m_isspace(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_impl(vm, c, v, k, P_SPACE); }
static AsyValue m_isupper(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_impl(vm, c, v, k, P_UPPER); }
static AsyValue m_islower(AsyVM *vm, int c, AsyValue *v, AsyDict *k) { return pred_impl(vm, c, v, k, P_LOWER); }

static const AsyMethodDef bytes_methods[] = {
    {"decode", m_decode, 0, "Decode the bytes using the codec registered for encoding."},
    {"hex", m_hex, 0, "Create a string of hexadecimal numbers from a bytes object."},
    {"fromhex", m_fromhex, ASY_METH_CLASS, "Create a bytes object from a string of hexadecimal numbers."},
    {"find", m_find, 0, "Return the lowest index where sub is found, or -1."},
    {"rfind", m_rfind, 0, "Return the highest index where sub is found, or -1."},
    {"index", m_index, 0, "Like find, but raise ValueError when not found."},
    {"rindex", m_rindex, 0, "Like rfind, but raise ValueError when not found."},
    {"count", m_count, 0, "Return the number of non-overlapping occurrences of sub."},
    {"startswith", m_startswith, 0, "Return True if the bytes starts with the prefix."},
    {"endswith", m_endswith, 0, "Return True if the bytes ends with the suffix."},
    {"split", m_split, 0, "Return a list of the sections in the bytes, using sep."},
    {"rsplit", m_rsplit, 0, "Like split, splitting from the right."},
    {"splitlines", m_splitlines, 0, "Return a list of the lines in the bytes."},
    {"join", m_join, 0, "Concatenate any number of bytes objects, with self between them."},
    {"strip", m_strip, 0, "Strip leading and trailing bytes contained in the argument."},
    {"lstrip", m_lstrip, 0, "Strip leading bytes contained in the argument."},
    {"rstrip", m_rstrip, 0, "Strip trailing bytes contained in the argument."},
    {"upper", m_upper, 0, "Return a copy with all ASCII characters converted to uppercase."},
    {"lower", m_lower, 0, "Return a copy with all ASCII characters converted to lowercase."},
    {"swapcase", m_swapcase, 0, "Return a copy with uppercase ASCII bytes lowercased and vice versa."},
    {"title", m_title, 0, "Return a titlecased version of the bytes."},
    {"capitalize", m_capitalize, 0, "Return a copy with the first byte capitalized, the rest lowercased."},
    {"center", m_center, 0, "Return a centered bytes of length width."},
    {"ljust", m_ljust, 0, "Return a left-justified bytes of length width."},
    {"rjust", m_rjust, 0, "Return a right-justified bytes of length width."},
    {"zfill", m_zfill, 0, "Pad a numeric bytes with zeros on the left."},
    {"expandtabs", m_expandtabs, 0, "Return a copy where all tab characters are expanded using spaces."},
    {"isascii", m_isascii, 0, "Return True if all bytes are ASCII."},
    {"istitle", m_istitle, 0, "Return True if the bytes is titlecased."},
    {"removeprefix", m_removeprefix, 0, "Return a bytes with the given prefix removed if present."},
    {"removesuffix", m_removesuffix, 0, "Return a bytes with the given suffix removed if present."},
    {"translate", m_translate, 0, "Return a copy with each byte mapped by the table, some deleted."},
    {"maketrans", m_maketrans, ASY_METH_STATIC, "Return a translation table usable for translate()."},
    {"replace", m_replace, 0, "Return a copy with occurrences of old replaced by new."},
    {"partition", m_partition, 0, "Partition the bytes into three parts using sep."},
    {"rpartition", m_rpartition, 0, "Partition from the right into three parts using sep."},
    {"isdigit", m_isdigit, 0, "Return True if all bytes are ASCII digits."},
    {"isalpha", m_isalpha, 0, "Return True if all bytes are ASCII letters."},
    {"isalnum", m_isalnum, 0, "Return True if all bytes are ASCII letters or digits."},
    {"isspace", m_isspace, 0, "Return True if all bytes are ASCII whitespace."},
    {"isupper", m_isupper, 0, "Return True if all cased bytes are uppercase."},
    {"islower", m_islower, 0, "Return True if all cased bytes are lowercase."},
    {NULL, NULL, 0, NULL},
};

void asy_bytes_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "bytes", ASY_TYPE(vm, object), sizeof(AsyBytes));
    vm->types[ASY_TYPE_bytes] = t;
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = bytes_repr;
    t->str = bytes_repr;
    t->hash = bytes_hash;
    t->richcompare = bytes_richcompare;
    t->truth = bytes_truth;
    t->len = bytes_len;
    t->iter = bytes_iter;
    t->getitem = bytes_getitem;
    t->contains = bytes_contains;
    t->binop = bytes_binop;
    t->new_ = bytes_new;
    asy_type_add_methods(vm, t, bytes_methods);
    asy_type_ready(vm, t);

    AsyType *it = asy_type_new_builtin(vm, "bytes_iterator", ASY_TYPE(vm, object),
                                       sizeof(AsyBytesIter));
    vm->types[ASY_TYPE_bytes_iterator] = it;
    it->iter = iter_self;
    it->next = bytes_iter_next;
    it->traverse = bytes_iter_traverse;
    asy_type_ready(vm, it);
}
