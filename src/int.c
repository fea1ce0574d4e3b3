/* int.c - the `int` and `bool` types.
 *
 * An int that fits in int64 is an unboxed ASY_T_INT; anything larger is an AsyBigInt (a GMP
 * mpz) whose type is `int` itself, so type(x) is int for both. Every result goes through
 * asy_num_int_take/asy_int_from_mpz, which keeps the invariant of value.h: a value that
 * fits in int64 is never a bigint. Instances of user subclasses of int share the AsyBigInt
 * layout (whatever their size) and are converted to plain ints by asy_num_int_exact.
 *
 * This file owns: conversions (str <-> int with CPython's syntax and 4300-digit limit,
 * float -> int, __index__), exact comparison with floats, CPython's numeric hash, the
 * int()/bool() constructors and the methods. The arithmetic itself is in number.c and the
 * format-spec engine in number.c too.
 */
#include "common.h"

#include <math.h>
#include <string.h>

#include "number.h"
#include "strformat.h"
#include "unicode.h"

/* ---- making values ---- */

/* GMP allocates limbs with malloc; count them toward the collection threshold so that a
 * loop making huge ints still triggers collections. */
static size_t bigint_bytes(mpz_srcptr z) { return (size_t)z->_mp_alloc * sizeof(mp_limb_t); }

static AsyBigInt *bigint_alloc(AsyVM *vm, AsyType *type) {
    size_t size = type == ASY_TYPE(vm, int) ? sizeof(AsyBigInt) : type->basicsize;
    AsyBigInt *b = asy_gc_alloc(vm, type, size);
    mpz_init(b->z);
    return b;
}

AsyValue asy_num_int_take(AsyVM *vm, mpz_t z) {
    if (mpz_fits_slong_p(z)) return ASY_INT(mpz_get_si(z));
    AsyBigInt *b = bigint_alloc(vm, ASY_TYPE(vm, int));
    mpz_swap(b->z, z);
    vm->bytes_allocated += bigint_bytes(b->z);
    return ASY_OBJ(b);
}

AsyValue asy_int_from_mpz(AsyVM *vm, const mpz_t z) {
    if (mpz_fits_slong_p(z)) return ASY_INT(mpz_get_si(z));
    AsyBigInt *b = bigint_alloc(vm, ASY_TYPE(vm, int));
    mpz_set(b->z, z);
    vm->bytes_allocated += bigint_bytes(b->z);
    return ASY_OBJ(b);
}

void asy_int_to_mpz(AsyValue v, mpz_t out) {
    if (ASY_IS_OBJ(v))
        mpz_set(out, ((AsyBigInt *)ASY_AS_OBJ(v))->z);
    else
        mpz_set_si(out, ASY_AS_INT(v));
}

bool asy_is_int(AsyVM *vm, AsyValue v) { return asy_num_is_int(vm, v); }

AsyValue asy_num_int_exact(AsyVM *vm, AsyValue v) {
    if (ASY_IS_INTLIKE(v)) return ASY_INT(ASY_AS_INT(v));
    if (ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v)) == ASY_TYPE(vm, int)) return v;
    return asy_int_from_mpz(vm, ((AsyBigInt *)ASY_AS_OBJ(v))->z);
}

/* A value of `type` (int or a user subclass) holding the int value v. */
static AsyValue int_of_type(AsyVM *vm, AsyType *type, AsyValue v) {
    if (ASY_IS_ERR(v) || type == ASY_TYPE(vm, int)) return v;
    AsyBigInt *b = bigint_alloc(vm, type);
    asy_int_to_mpz(v, b->z);
    return ASY_OBJ(b);
}

int64_t asy_num_int_as_i64(AsyValue v, int *overflow) {
    *overflow = 0;
    if (!ASY_IS_OBJ(v)) return ASY_AS_INT(v);
    mpz_srcptr z = ((AsyBigInt *)ASY_AS_OBJ(v))->z;
    if (mpz_fits_slong_p(z)) return mpz_get_si(z);
    *overflow = mpz_sgn(z);
    return *overflow < 0 ? INT64_MIN : INT64_MAX;
}

int asy_num_int_sign(AsyValue v) {
    if (ASY_IS_OBJ(v)) return mpz_sgn(((AsyBigInt *)ASY_AS_OBJ(v))->z);
    return (ASY_AS_INT(v) > 0) - (ASY_AS_INT(v) < 0);
}

uint64_t asy_num_int_bit_length(AsyValue v) {
    if (ASY_IS_OBJ(v)) {
        mpz_srcptr z = ((AsyBigInt *)ASY_AS_OBJ(v))->z;
        return mpz_sgn(z) ? mpz_sizeinbase(z, 2) : 0;
    }
    int64_t i = ASY_AS_INT(v);
    uint64_t u = i < 0 ? -(uint64_t)i : (uint64_t)i;
    return u ? 64 - (uint64_t)__builtin_clzll(u) : 0;
}

/* ---- comparison and hashing ---- */

int asy_num_int_cmp(AsyValue a, AsyValue b) {
    if (!ASY_IS_OBJ(a) && !ASY_IS_OBJ(b))
        return (ASY_AS_INT(a) > ASY_AS_INT(b)) - (ASY_AS_INT(a) < ASY_AS_INT(b));
    AsyMpzTmp ta, tb;
    int c = mpz_cmp(asy_num_mpz(a, &ta), asy_num_mpz(b, &tb));
    return (c > 0) - (c < 0);
}

int asy_num_int_cmp_double(AsyValue a, double d) {
    if (isnan(d)) return 2;
    if (!ASY_IS_OBJ(a)) {
        int64_t i = ASY_AS_INT(a);
        /* Exact in a double: compare as doubles. */
        if (i >= -(INT64_C(1) << 53) && i <= (INT64_C(1) << 53)) {
            double x = (double)i;
            return (x > d) - (x < d);
        }
    }
    AsyMpzTmp t;
    int c = mpz_cmp_d(asy_num_mpz(a, &t), d); /* exact, infinities included */
    return (c > 0) - (c < 0);
}

int64_t asy_num_int_hash(AsyValue v) {
    uint64_t h;
    bool neg;
    if (!ASY_IS_OBJ(v)) {
        int64_t i = ASY_AS_INT(v);
        neg = i < 0;
        h = (neg ? -(uint64_t)i : (uint64_t)i) % ASY_HASH_MODULUS;
    } else {
        mpz_srcptr z = ((AsyBigInt *)ASY_AS_OBJ(v))->z;
        neg = mpz_sgn(z) < 0;
        h = mpz_tdiv_ui(z, ASY_HASH_MODULUS); /* |z| mod P */
    }
    int64_t r = neg ? -(int64_t)h : (int64_t)h;
    return r == -1 ? -2 : r;
}

/* ---- int -> str ---- */

/* Two digits per division: f-strings and str() of ints are common. */
char *asy_int64_dec(int64_t i, char *end) {
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    uint64_t u = i < 0 ? -(uint64_t)i : (uint64_t)i;
    char *p = end;
    while (u >= 100) {
        const char *d = pairs + 2 * (u % 100);
        u /= 100;
        *--p = d[1];
        *--p = d[0];
    }
    if (u >= 10) {
        *--p = pairs[2 * u + 1];
        *--p = pairs[2 * u];
    } else {
        *--p = (char)('0' + u);
    }
    if (i < 0) *--p = '-';
    return p;
}

static AsyValue raise_str_limit(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_ValueError,
                     "Exceeds the limit (%d digits) for integer string conversion; use "
                     "sys.set_int_max_str_digits() to increase the limit",
                     ASY_INT_MAX_STR_DIGITS);
}

/* Digits of |v| in `base` (2..36, lowercase) into a new buffer of asy_mem memory. */
static char *int_digits(AsyVM *vm, AsyValue v, int base, size_t *len, size_t *cap) {
    AsyMpzTmp t;
    mpz_srcptr z = asy_num_mpz(v, &t);
    mpz_t a;
    mpz_roinit_n(a, mpz_limbs_read(z), mpz_size(z)); /* |z| without copying */
    *cap = mpz_sizeinbase(a, base) + 2;
    char *buf = asy_mem_alloc(vm, *cap);
    if (!buf) return NULL;
    mpz_get_str(buf, base, a);
    *len = strlen(buf);
    return buf;
}

/* repr(int): decimal, with CPython's limit of 4300 digits. */
static AsyValue int_repr_value(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v)) {
        char buf[24];
        char *end = buf + sizeof buf;
        char *p = asy_int64_dec(ASY_AS_INT(v), end);
        return ASY_OBJ(asy_str_new_ascii(vm, p, (size_t)(end - p)));
    }
    mpz_srcptr z = ((AsyBigInt *)ASY_AS_OBJ(v))->z;
    if (mpz_sizeinbase(z, 10) > ASY_INT_MAX_STR_DIGITS + 1) return raise_str_limit(vm);
    size_t len, cap;
    char *digits = int_digits(vm, v, 10, &len, &cap);
    if (!digits) return ASY_ERR;
    AsyValue r;
    if (len > ASY_INT_MAX_STR_DIGITS) {
        r = raise_str_limit(vm);
    } else if (mpz_sgn(z) < 0) {
        AsyStrBuf b;
        asy_strbuf_init(&b);
        asy_strbuf_append(vm, &b, "-", 1);
        asy_strbuf_append(vm, &b, digits, len);
        AsyStr *s = asy_strbuf_finish(vm, &b);
        r = s ? ASY_OBJ(s) : ASY_ERR;
    } else {
        r = ASY_OBJ(asy_str_new(vm, digits, len));
    }
    asy_mem_free(vm, digits, cap);
    return r;
}

/* Base 10 is repr(); bases 2, 8 and 16 give bin()/oct()/hex() text with its prefix
 * ('-0x1f'), as CPython's PyNumber_ToBase; other bases plain lowercase digits. */
AsyValue asy_int_to_str(AsyVM *vm, AsyValue v, int base) {
    if (!asy_num_is_int(vm, v)) {
        v = asy_num_index(vm, v);
        if (ASY_IS_ERR(v)) return v;
    }
    if (base == 10) return int_repr_value(vm, v);
    if (base < 2 || base > 36)
        return asy_raise(vm, ASY_EXC_ValueError, "int() base must be >= 2 and <= 36, or 0");
    const char *prefix = base == 2 ? "0b" : base == 8 ? "0o" : base == 16 ? "0x" : "";
    size_t len, cap;
    char *digits = int_digits(vm, v, base, &len, &cap);
    if (!digits) return ASY_ERR;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    if (asy_num_int_sign(v) < 0) asy_strbuf_append(vm, &b, "-", 1);
    asy_strbuf_append_cstr(vm, &b, prefix);
    asy_strbuf_append(vm, &b, digits, len);
    asy_mem_free(vm, digits, cap);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* ---- str -> int ---- */

static int digit_value(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

/* Length of the whitespace character at p (ASCII, or a Unicode space in UTF-8); 0 if none. */
static size_t space_len(const char *p, const char *end) {
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
    if (c < 0x80) return 0;
    size_t n = asy_utf8_seqlen(c);
    if ((size_t)(end - p) < n) return 0;
    size_t pos = 0;
    uint32_t cp = asy_utf8_next(p, &pos);
    bool sp = cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
              cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
    return sp ? n : 0;
}

void asy_num_strip(const char **p, const char **end) {
    size_t n;
    while (*p < *end && (n = space_len(*p, *end)) > 0)
        *p += n;
    while (*p < *end) {
        const char *q = *end - 1;
        while (q > *p && ((unsigned char)*q & 0xC0) == 0x80)
            q--;
        if (space_len(q, *end) != (size_t)(*end - q)) break;
        *end = q;
    }
}

typedef enum { PARSE_OK, PARSE_SYNTAX, PARSE_ERROR } ParseResult;

static ParseResult parse_int(AsyVM *vm, const char *s, size_t len, int base, AsyValue *out);

/* CPython's _PyUnicode_TransformDecimalAndSpaceToASCII: non-ASCII decimal digits become
 * ASCII digits, Unicode spaces a space, anything else non-ASCII '?'. *out is an asy_mem
 * buffer of len + 1 bytes (text of *outlen bytes), or NULL when s is all ASCII. */
bool asy_num_ascii_text(AsyVM *vm, const char *s, size_t len, char **out, size_t *outlen) {
    *out = NULL;
    size_t i = 0;
    while (i < len && (unsigned char)s[i] < 0x80)
        i++;
    if (i == len) return true;
    char *buf = asy_mem_alloc(vm, len + 1);
    if (!buf) return false;
    size_t n = 0;
    for (i = 0; i < len;) {
        if ((unsigned char)s[i] < 0x80) {
            buf[n++] = s[i++];
            continue;
        }
        uint32_t cp = asy_utf8_next(s, &i);
        int d = asy_uc_decimal(cp);
        buf[n++] = d >= 0 ? (char)('0' + d) : asy_uc_isspace(cp) ? ' ' : '?';
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return true;
}

/* parse_int on the text of a str (Unicode digits allowed). */
static ParseResult parse_int_text(AsyVM *vm, const char *s, size_t len, int base, AsyValue *out) {
    char *ascii;
    size_t alen;
    if (!asy_num_ascii_text(vm, s, len, &ascii, &alen)) return PARSE_ERROR;
    if (!ascii) return parse_int(vm, s, len, base, out);
    ParseResult r = parse_int(vm, ascii, alen, base, out);
    asy_mem_free(vm, ascii, len + 1);
    return r;
}

/* Accumulate validated digits [p, end) (underscores skipped) into *out. */
static ParseResult parse_digits_value(AsyVM *vm, const char *p, const char *end, int base,
                                      size_t ndigits, bool neg, AsyValue *out) {
    uint64_t acc = 0;
    bool small = true;
    for (const char *q = p; q < end && small; q++) {
        if (*q == '_') continue;
        small = !__builtin_mul_overflow(acc, (uint64_t)base, &acc) &&
                !__builtin_add_overflow(acc, (uint64_t)digit_value((unsigned char)*q), &acc);
    }
    if (small && acc <= (uint64_t)INT64_MAX) {
        *out = ASY_INT(neg ? -(int64_t)acc : (int64_t)acc);
        return PARSE_OK;
    }
    if (small && neg && acc == (uint64_t)1 << 63) {
        *out = ASY_INT(INT64_MIN);
        return PARSE_OK;
    }
    char *buf = asy_mem_alloc(vm, ndigits + 2);
    if (!buf) return PARSE_ERROR;
    size_t n = 0;
    if (neg) buf[n++] = '-';
    for (const char *q = p; q < end; q++)
        if (*q != '_') buf[n++] = *q;
    buf[n] = '\0';
    mpz_t z;
    mpz_init(z);
    mpz_set_str(z, buf, base);
    asy_mem_free(vm, buf, ndigits + 2);
    *out = asy_num_int_take(vm, z);
    mpz_clear(z);
    return PARSE_OK;
}

/* CPython's PyLong_FromString syntax: whitespace, sign, optional 0x/0o/0b prefix (one '_'
 * may follow it), digits with single underscores between them, whitespace. */
static ParseResult parse_int(AsyVM *vm, const char *s, size_t len, int base, AsyValue *out) {
    const char *p = s, *end = s + len;
    asy_num_strip(&p, &end);
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) neg = *p++ == '-';
    bool only_zero = false;
    char c1 = end - p >= 2 && p[0] == '0' ? (char)(p[1] | 0x20) : 0;
    if (base == 0) {
        if (p < end && *p != '0')
            base = 10;
        else if (c1 == 'x')
            base = 16;
        else if (c1 == 'o')
            base = 8;
        else if (c1 == 'b')
            base = 2;
        else
            only_zero = true, base = 10;
    }
    if ((base == 16 && c1 == 'x') || (base == 8 && c1 == 'o') || (base == 2 && c1 == 'b')) {
        p += 2;
        if (p < end && *p == '_') p++;
    }
    const char *digits = p;
    size_t ndigits = 0;
    bool prev_us = true; /* an underscore may not come first */
    for (; p < end; p++) {
        if (*p == '_') {
            if (prev_us) return PARSE_SYNTAX;
            prev_us = true;
        } else if (digit_value((unsigned char)*p) < base) {
            prev_us = false;
            ndigits++;
        } else {
            return PARSE_SYNTAX;
        }
    }
    if (ndigits == 0 || prev_us) return PARSE_SYNTAX;
    if ((base & (base - 1)) != 0 && ndigits > ASY_INT_MAX_STR_DIGITS) {
        asy_raise(vm, ASY_EXC_ValueError,
                  "Exceeds the limit (%d digits) for integer string conversion: value has "
                  "%zu digits; use sys.set_int_max_str_digits() to increase the limit",
                  ASY_INT_MAX_STR_DIGITS, ndigits);
        return PARSE_ERROR;
    }
    if (only_zero) {
        for (const char *q = digits; q < end; q++)
            if (*q != '0' && *q != '_') return PARSE_SYNTAX;
        *out = ASY_INT(0);
        return PARSE_OK;
    }
    return parse_digits_value(vm, digits, end, base, ndigits, neg, out);
}

/* ValueError "invalid literal for int() with base 10: 'abc'" (repr cut at 200 chars). */
static AsyValue raise_invalid_literal(AsyVM *vm, AsyValue obj, int base) {
    AsyValue r = asy_repr(vm, obj);
    if (ASY_IS_ERR(r)) return r;
    AsyStr *rs = (AsyStr *)ASY_AS_OBJ(r);
    if (rs->nchars > 200) rs = asy_str_new(vm, rs->data, asy_utf8_offset(rs->data, rs->len, 200));
    return asy_raise(vm, ASY_EXC_ValueError, "invalid literal for int() with base %d: %U", base,
                     rs);
}

AsyValue asy_int_from_str(AsyVM *vm, const char *s, size_t len, int base) {
    AsyValue out;
    ParseResult r = parse_int_text(vm, s, len, base, &out);
    if (r == PARSE_OK) return out;
    if (r == PARSE_ERROR) return ASY_ERR;
    return raise_invalid_literal(vm, ASY_OBJ(asy_str_new(vm, s, len)), base);
}

/* int(text, base) where obj is a str or bytes. */
static AsyValue int_from_text(AsyVM *vm, AsyValue obj, int base) {
    const char *s;
    size_t len;
    if (asy_isinstance(vm, obj, ASY_TYPE(vm, str))) {
        s = ((AsyStr *)ASY_AS_OBJ(obj))->data;
        len = ((AsyStr *)ASY_AS_OBJ(obj))->len;
    } else {
        s = (const char *)((AsyBytes *)ASY_AS_OBJ(obj))->data;
        len = ((AsyBytes *)ASY_AS_OBJ(obj))->len;
    }
    if (memchr(s, '\0', len)) return raise_invalid_literal(vm, obj, base);
    AsyValue out;
    ParseResult r = asy_isinstance(vm, obj, ASY_TYPE(vm, str))
                        ? parse_int_text(vm, s, len, base, &out)
                        : parse_int(vm, s, len, base, &out);
    if (r == PARSE_OK) return out;
    if (r == PARSE_ERROR) return ASY_ERR;
    return raise_invalid_literal(vm, obj, base);
}

/* ---- other conversions ---- */

AsyValue asy_num_int_from_double(AsyVM *vm, double d) {
    if (isinf(d))
        return asy_raise(vm, ASY_EXC_OverflowError, "cannot convert float infinity to integer");
    if (isnan(d)) return asy_raise(vm, ASY_EXC_ValueError, "cannot convert float NaN to integer");
    double t = trunc(d);
    if (t >= -9223372036854775808.0 && t < 9223372036854775808.0) return ASY_INT((int64_t)t);
    mpz_t z;
    mpz_init_set_d(z, t);
    AsyValue r = asy_num_int_take(vm, z);
    mpz_clear(z);
    return r;
}

/* Call type(v).name(v) if the type has it; UNDEF when it does not. */
static AsyValue call_dunder(AsyVM *vm, AsyValue v, AsyStr *name) {
    AsyValue m = asy_type_lookup(asy_type_of(vm, v), name);
    if (ASY_IS_UNDEF(m)) return m;
    return asy_call(vm, m, 1, &v, NULL);
}

AsyValue asy_num_index(AsyVM *vm, AsyValue v) {
    if (ASY_IS_INTLIKE(v)) return ASY_INT(ASY_AS_INT(v));
    if (asy_num_is_intobj(vm, v)) return asy_num_int_exact(vm, v);
    AsyValue r = call_dunder(vm, v, ASY_S(vm, __index__));
    if (ASY_IS_UNDEF(r))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as an integer",
                         asy_type_name(vm, v));
    if (ASY_IS_ERR(r)) return r;
    if (!asy_num_is_int(vm, r))
        return asy_raise(vm, ASY_EXC_TypeError, "__index__ returned non-int (type %s)",
                         asy_type_name(vm, r));
    return asy_num_int_exact(vm, r);
}

/* int(x) for one argument: the whole of CPython's PyNumber_Long. */
AsyValue asy_number_int(AsyVM *vm, AsyValue v) {
    if (ASY_IS_INTLIKE(v)) return ASY_INT(ASY_AS_INT(v));
    if (ASY_IS_FLOAT(v)) return asy_num_int_from_double(vm, ASY_AS_FLOAT(v));
    if (asy_num_is_intobj(vm, v)) return asy_num_int_exact(vm, v);
    if (asy_isinstance(vm, v, ASY_TYPE(vm, str)) || asy_isinstance(vm, v, ASY_TYPE(vm, bytes)))
        return int_from_text(vm, v, 10);
    AsyValue r = call_dunder(vm, v, ASY_S(vm, __int__));
    if (!ASY_IS_UNDEF(r)) {
        if (ASY_IS_ERR(r)) return r;
        if (!asy_num_is_int(vm, r))
            return asy_raise(vm, ASY_EXC_TypeError, "__int__ returned non-int (type %s)",
                             asy_type_name(vm, r));
        return asy_num_int_exact(vm, r);
    }
    if (!ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, v), ASY_S(vm, __index__))))
        return asy_num_index(vm, v);
    r = call_dunder(vm, v, ASY_S(vm, __trunc__));
    if (!ASY_IS_UNDEF(r)) {
        if (ASY_IS_ERR(r) || asy_num_is_int(vm, r))
            return ASY_IS_ERR(r) ? r : asy_num_int_exact(vm, r);
        if (ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, r), ASY_S(vm, __index__))))
            return asy_raise(vm, ASY_EXC_TypeError, "__trunc__ returned non-Integral (type %s)",
                             asy_type_name(vm, r));
        return asy_num_index(vm, r);
    }
    return asy_raise(vm, ASY_EXC_TypeError,
                     "int() argument must be a string, a bytes-like object or a real number, "
                     "not '%s'",
                     asy_type_name(vm, v));
}

/* ---- round ---- */

/* round(v, ndigits) for an int value: unchanged unless ndigits < 0, then to the nearest
 * multiple of 10**-ndigits, ties to even. */
AsyValue asy_num_int_round(AsyVM *vm, AsyValue v, AsyValue ndigits) {
    v = asy_num_int_exact(vm, v);
    if (ASY_IS_UNDEF(ndigits) || ASY_IS_NONE(ndigits)) return v;
    AsyValue nd = asy_num_index(vm, ndigits);
    if (ASY_IS_ERR(nd)) return nd;
    if (asy_num_int_sign(nd) >= 0) return v;
    int of;
    int64_t n = asy_num_int_as_i64(nd, &of);
    uint64_t bits = asy_num_int_bit_length(v);
    /* 10**k > |v| * 2 once k exceeds the digit count: the result is 0. */
    if (of || (uint64_t)(-(n + 1)) > bits) return ASY_INT(0);
    mpz_t p, q, r, half;
    mpz_inits(p, q, r, half, NULL);
    mpz_ui_pow_ui(p, 10, (unsigned long)-n);
    AsyMpzTmp t;
    mpz_fdiv_qr(q, r, asy_num_mpz(v, &t), p);
    mpz_mul_2exp(r, r, 1);
    int c = mpz_cmp(r, p);
    if (c > 0 || (c == 0 && mpz_odd_p(q))) mpz_add_ui(q, q, 1);
    mpz_mul(q, q, p);
    AsyValue res = asy_num_int_take(vm, q);
    mpz_clears(p, q, r, half, NULL);
    return res;
}

/* ---- slots ---- */

static AsyValue int_repr(AsyVM *vm, AsyValue self) {
    return int_repr_value(vm, asy_num_int_exact(vm, self));
}

static bool int_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    *out = asy_num_int_hash(self);
    return true;
}

static bool cmp_result(int c, AsyCmpOp op) {
    switch (op) {
    case ASY_CMP_LT: return c == -1;
    case ASY_CMP_LE: return c == -1 || c == 0;
    case ASY_CMP_EQ: return c == 0;
    case ASY_CMP_NE: return c != 0;
    case ASY_CMP_GT: return c == 1;
    case ASY_CMP_GE: return c == 1 || c == 0;
    }
    return false;
}

static AsyValue int_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (asy_num_is_int(vm, other)) return ASY_BOOL(cmp_result(asy_num_int_cmp(self, other), op));
    if (asy_num_is_float(vm, other))
        return ASY_BOOL(cmp_result(asy_num_int_cmp_double(self, asy_num_float_value(other)), op));
    return ASY_OBJ(vm->not_implemented);
}

static int int_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return asy_num_int_sign(self) != 0;
}

static AsyValue int_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    if (asy_num_is_int(vm, a) && asy_num_is_int(vm, b))
        return asy_num_int_binop(vm, a, b, (AsyBinOp)(op % ASY_BIN_INPLACE));
    return ASY_OBJ(vm->not_implemented);
}

static AsyValue int_unaryop(AsyVM *vm, AsyValue self, AsyUnaryOp op) {
    return asy_num_int_unaryop(vm, self, op);
}

static void int_finalize(AsyVM *vm, AsyObj *self) {
    mpz_ptr z = ((AsyBigInt *)self)->z;
    size_t n = bigint_bytes(z);
    vm->bytes_allocated -= n < vm->bytes_allocated ? n : vm->bytes_allocated;
    mpz_clear(z);
}

/* int(x=0, /, base=10) */
static AsyValue int_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue base = asy_kwarg(vm, kw, "base");
    if (!asy_check_kw_done(vm, "int", kw)) return ASY_ERR;
    int nargs = argc + !ASY_IS_UNDEF(base);
    if (nargs > 2)
        return asy_raise(vm, ASY_EXC_TypeError, "int() takes at most 2 arguments (%d given)",
                         nargs);
    if (argc == 2) {
        if (!ASY_IS_UNDEF(base))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "argument for int() given by name ('base') and position (2)");
        base = argv[1];
    }
    if (ASY_IS_UNDEF(base)) {
        if (argc == 0) return int_of_type(vm, type, ASY_INT(0));
        return int_of_type(vm, type, asy_number_int(vm, argv[0]));
    }
    int64_t b;
    if (!asy_index(vm, base, &b)) return ASY_ERR;
    if (argc == 0) return asy_raise(vm, ASY_EXC_TypeError, "int() missing string argument");
    if (!asy_isinstance(vm, argv[0], ASY_TYPE(vm, str)) &&
        !asy_isinstance(vm, argv[0], ASY_TYPE(vm, bytes)))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "int() can't convert non-string with explicit base");
    if ((b != 0 && b < 2) || b > 36)
        return asy_raise(vm, ASY_EXC_ValueError, "int() base must be >= 2 and <= 36, or 0");
    return int_of_type(vm, type, int_from_text(vm, argv[0], (int)b));
}

/* ---- methods ---- */

static AsyValue self_int(AsyVM *vm, AsyValue *argv) { return asy_num_int_exact(vm, argv[0]); }

/* __index__ and __int__ (slot wrappers), and the plain methods returning int(self). */
static AsyValue int_m_plain(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    return self_int(vm, argv);
}

#define DEF_PLAIN(name)                                                                            \
    static AsyValue int_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {               \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_check_args(vm, "int." #name, argc - 1, 0, 0)) return ASY_ERR;                     \
        return self_int(vm, argv);                                                                 \
    }
DEF_PLAIN(conjugate)
DEF_PLAIN(__trunc__)
DEF_PLAIN(__floor__)
DEF_PLAIN(__ceil__)
#undef DEF_PLAIN

static AsyValue int_m_float(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    double d;
    if (!asy_to_double(vm, argv[0], &d)) return ASY_ERR;
    return ASY_FLOAT(d);
}

static AsyValue int_m_bit_length(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "int.bit_length", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_INT((int64_t)asy_num_int_bit_length(argv[0]));
}

static AsyValue int_m_bit_count(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "int.bit_count", argc - 1, 0, 0)) return ASY_ERR;
    AsyMpzTmp t;
    mpz_srcptr z = asy_num_mpz(argv[0], &t);
    mpz_t a;
    mpz_roinit_n(a, mpz_limbs_read(z), mpz_size(z));
    return ASY_INT((int64_t)mpz_popcount(a));
}

static AsyValue int_m_ratio(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "int.as_integer_ratio", argc - 1, 0, 0)) return ASY_ERR;
    AsyValue items[2] = {self_int(vm, argv), ASY_INT(1)};
    return ASY_OBJ(asy_tuple_from_array(vm, items, 2));
}

static AsyValue int_m_round(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__round__", argc - 1, 0, 1)) return ASY_ERR;
    return asy_num_int_round(vm, argv[0], argc == 2 ? argv[1] : ASY_UNDEF);
}

static AsyValue int_m_format(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "int.__format__", argc - 1, 1, 1)) return ASY_ERR;
    if (!asy_isinstance(vm, argv[1], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "__format__() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    return asy_num_format_int(vm, argv[0], argv[0], (AsyStr *)ASY_AS_OBJ(argv[1]));
}

static AsyValue int_m_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    return int_repr(vm, argv[0]);
}

static AsyValue int_m_hash(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    return ASY_INT(asy_num_int_hash(argv[0]));
}

static AsyValue int_m_bool(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    return ASY_BOOL(asy_num_int_sign(argv[0]) != 0);
}

/* Parse byteorder and signed for to_bytes/from_bytes; *little set; false on error. */
static bool byteorder_arg(AsyVM *vm, AsyValue v, bool *little) {
    if (ASY_IS_UNDEF(v)) {
        *little = false;
        return true;
    }
    if (!asy_isinstance(vm, v, ASY_TYPE(vm, str))) {
        asy_raise(vm, ASY_EXC_TypeError, "to_bytes() argument 'byteorder' must be str, not %s",
                  asy_type_name(vm, v));
        return false;
    }
    const char *s = ((AsyStr *)ASY_AS_OBJ(v))->data;
    if (strcmp(s, "little") == 0)
        *little = true;
    else if (strcmp(s, "big") == 0)
        *little = false;
    else {
        asy_raise(vm, ASY_EXC_ValueError, "byteorder must be either 'little' or 'big'");
        return false;
    }
    return true;
}

static bool signed_arg(AsyVM *vm, AsyValue v, bool *out) {
    if (ASY_IS_UNDEF(v)) {
        *out = false;
        return true;
    }
    int t = asy_truthy(vm, v);
    *out = t == 1;
    return t >= 0;
}

/* to_bytes(length=1, byteorder='big', *, signed=False) */
static AsyValue int_m_to_bytes(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue lenv = asy_kwarg(vm, kw, "length"), order = asy_kwarg(vm, kw, "byteorder");
    AsyValue sgn = asy_kwarg(vm, kw, "signed");
    if (!asy_check_kw_done(vm, "to_bytes", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "to_bytes", argc - 1, 0, 2)) return ASY_ERR;
    if (argc > 1) lenv = argv[1];
    if (argc > 2) order = argv[2];
    int64_t length = 1;
    bool little, is_signed;
    if (!ASY_IS_UNDEF(lenv) && !asy_index(vm, lenv, &length)) return ASY_ERR;
    if (!byteorder_arg(vm, order, &little) || !signed_arg(vm, sgn, &is_signed)) return ASY_ERR;
    if (length < 0)
        return asy_raise(vm, ASY_EXC_ValueError, "length argument must be non-negative");
    AsyMpzTmp t;
    mpz_srcptr z = asy_num_mpz(argv[0], &t);
    if (!is_signed && mpz_sgn(z) < 0)
        return asy_raise(vm, ASY_EXC_OverflowError, "can't convert negative int to unsigned");
    /* Bits needed: for signed, one more than the magnitude's (two's complement). */
    mpz_t u;
    mpz_init_set(u, z);
    if (mpz_sgn(u) < 0) {
        mpz_add_ui(u, u, 1); /* -x-1 has the bit pattern of x inverted */
        mpz_neg(u, u);
    }
    uint64_t bits = mpz_sgn(u) ? mpz_sizeinbase(u, 2) : 0;
    if (is_signed) bits++;
    if (bits > (uint64_t)length * 8) {
        mpz_clear(u);
        return asy_raise(vm, ASY_EXC_OverflowError, "int too big to convert");
    }
    uint8_t *buf = asy_mem_alloc(vm, (size_t)length + 1);
    if (!buf) {
        mpz_clear(u);
        return ASY_ERR;
    }
    memset(buf, 0, (size_t)length + 1);
    size_t count = 0;
    if (mpz_sgn(u)) mpz_export(buf, &count, -1, 1, 0, 0, u); /* little endian magnitude */
    if (mpz_sgn(z) < 0)
        for (int64_t i = 0; i < length; i++)
            buf[i] = (uint8_t)~buf[i];
    if (!little)
        for (int64_t i = 0, j = length - 1; i < j; i++, j--) {
            uint8_t c = buf[i];
            buf[i] = buf[j];
            buf[j] = c;
        }
    AsyBytes *res = asy_bytes_new(vm, buf, (size_t)length);
    asy_mem_free(vm, buf, (size_t)length + 1);
    mpz_clear(u);
    return ASY_OBJ(res);
}

/* int.from_bytes(bytes, byteorder='big', *, signed=False) */
static AsyValue int_m_from_bytes(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue data = asy_kwarg(vm, kw, "bytes"), order = asy_kwarg(vm, kw, "byteorder");
    AsyValue sgn = asy_kwarg(vm, kw, "signed");
    if (!asy_check_kw_done(vm, "from_bytes", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "from_bytes", argc - 1, 0, 2)) return ASY_ERR;
    if (argc > 1) data = argv[1];
    if (argc > 2) order = argv[2];
    if (ASY_IS_UNDEF(data))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "from_bytes() missing required argument 'bytes' (pos 1)");
    bool little, is_signed;
    if (!byteorder_arg(vm, order, &little) || !signed_arg(vm, sgn, &is_signed)) return ASY_ERR;
    if (!asy_isinstance(vm, data, ASY_TYPE(vm, bytes))) {
        AsyValue bytes_type = ASY_OBJ(ASY_TYPE(vm, bytes));
        data = asy_call(vm, bytes_type, 1, &data, NULL);
        if (ASY_IS_ERR(data)) return data;
    }
    AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(data);
    mpz_t z;
    mpz_init(z);
    if (b->len) mpz_import(z, b->len, little ? -1 : 1, 1, 0, 0, b->data);
    if (is_signed && b->len && (b->data[little ? b->len - 1 : 0] & 0x80)) {
        mpz_t m;
        mpz_init(m);
        mpz_setbit(m, b->len * 8);
        mpz_sub(z, z, m);
        mpz_clear(m);
    }
    AsyValue r = asy_num_int_take(vm, z);
    mpz_clear(z);
    AsyType *cls = (AsyType *)ASY_AS_OBJ(argv[0]);
    if (cls == ASY_TYPE(vm, int) || ASY_IS_ERR(r)) return r;
    return asy_call(vm, argv[0], 1, &r, NULL);
}

static AsyValue int_get_self(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(kw);
    return asy_num_int_exact(vm, argv[0]);
}

static AsyValue int_get_zero(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_INT(0);
}

static AsyValue int_get_one(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_INT(1);
}

/* Arithmetic and comparison dunders, for explicit calls and for user subclasses. */
static AsyValue int_dunder(AsyVM *vm, int argc, AsyValue *argv, AsyBinOp op, bool reflected) {
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);
    return reflected ? asy_num_int_binop(vm, argv[1], argv[0], op)
                     : asy_num_int_binop(vm, argv[0], argv[1], op);
}

#define INT_OPS(X)                                                                                 \
    X(add, ADD)                                                                                    \
    X(sub, SUB) X(mul, MUL) X(truediv, TRUEDIV) X(floordiv, FLOORDIV) X(mod, MOD)                  \
        X(lshift, LSHIFT) X(rshift, RSHIFT) X(and, AND) X(or, OR) X(xor, XOR)

#define DEF_INT_OP(name, OP)                                                                       \
    static AsyValue int_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {               \
        ASY_UNUSED(kw);                                                                            \
        return int_dunder(vm, argc, argv, ASY_BIN_##OP, false);                                    \
    }                                                                                              \
    static AsyValue int_m_r##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {              \
        ASY_UNUSED(kw);                                                                            \
        return int_dunder(vm, argc, argv, ASY_BIN_##OP, true);                                     \
    }
INT_OPS(DEF_INT_OP)
#undef DEF_INT_OP

static AsyValue int_m_pow(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__pow__", argc - 1, 1, 2)) return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);
    if (argc == 3) return asy_number_pow3(vm, argv[0], argv[1], argv[2]);
    return asy_num_int_binop(vm, argv[0], argv[1], ASY_BIN_POW);
}

static AsyValue int_m_rpow(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__rpow__", argc - 1, 1, 2)) return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);
    if (argc == 3) return asy_number_pow3(vm, argv[1], argv[0], argv[2]);
    return asy_num_int_binop(vm, argv[1], argv[0], ASY_BIN_POW);
}

static AsyValue int_m_divmod(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);
    return asy_number_divmod(vm, asy_num_int_exact(vm, argv[0]), asy_num_int_exact(vm, argv[1]));
}

static AsyValue int_m_rdivmod(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);
    return asy_number_divmod(vm, asy_num_int_exact(vm, argv[1]), asy_num_int_exact(vm, argv[0]));
}

#define INT_UNARY(X) X(neg, NEG) X(pos, POS) X(invert, INVERT)
#define DEF_INT_UNARY(name, OP)                                                                    \
    static AsyValue int_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {               \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;                                \
        return asy_num_int_unaryop(vm, argv[0], ASY_UOP_##OP);                                     \
    }
INT_UNARY(DEF_INT_UNARY)
#undef DEF_INT_UNARY

static AsyValue int_m_abs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    if (asy_num_int_sign(argv[0]) < 0) return asy_num_int_unaryop(vm, argv[0], ASY_UOP_NEG);
    return self_int(vm, argv);
}

#define CMP_OPS(X) X(lt, LT) X(le, LE) X(eq, EQ) X(ne, NE) X(gt, GT) X(ge, GE)
#define DEF_INT_CMP(name, OP)                                                                      \
    static AsyValue int_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {               \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;                                \
        if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);                     \
        return int_richcompare(vm, argv[0], argv[1], ASY_CMP_##OP);                                \
    }
CMP_OPS(DEF_INT_CMP)
#undef DEF_INT_CMP

#define M(name, fn, doc)                                                                           \
    { name, fn, ASY_METH_NOKW, doc }
#define OP_DEFS(name, OP)                                                                          \
    M("__" #name "__", int_m_##name, "Return self " #name " value."),                              \
        M("__r" #name "__", int_m_r##name, "Return value " #name " self."),
#define CMP_DEFS(name, OP) M("__" #name "__", int_m_##name, "Return self " #name " value."),
#define UNARY_DEFS(name, OP) M("__" #name "__", int_m_##name, #name " self"),

static const AsyMethodDef int_methods[] = {
    M("bit_length", int_m_bit_length, "Number of bits necessary to represent self in binary."),
    M("bit_count", int_m_bit_count, "Number of ones in the binary representation of abs(self)."),
    {"to_bytes", int_m_to_bytes, 0, "Return an array of bytes representing an integer."},
    {"from_bytes", int_m_from_bytes, ASY_METH_CLASS, "Return the integer represented by bytes."},
    M("conjugate", int_m_conjugate, "Returns self, the complex conjugate of any int."),
    M("as_integer_ratio", int_m_ratio, "Return integer ratio (self, 1)."),
    M("__index__", int_m_plain, "Return self converted to an integer."),
    M("__int__", int_m_plain, "int(self)"),
    M("__float__", int_m_float, "float(self)"),
    M("__trunc__", int_m___trunc__, "Truncating an Integral returns itself."),
    M("__floor__", int_m___floor__, "Flooring an Integral returns itself."),
    M("__ceil__", int_m___ceil__, "Ceiling of an Integral returns itself."),
    M("__round__", int_m_round, "Rounding an Integral returns itself."),
    M("__format__", int_m_format, "Convert to a string according to format_spec."),
    M("__repr__", int_m_repr, "Return repr(self)."),
    M("__hash__", int_m_hash, "Return hash(self)."),
    M("__bool__", int_m_bool, "True if self else False"),
    M("__abs__", int_m_abs, "abs(self)"),
    M("__pow__", int_m_pow, "Return pow(self, value, mod)."),
    M("__rpow__", int_m_rpow, "Return pow(value, self, mod)."),
    M("__divmod__", int_m_divmod, "Return divmod(self, value)."),
    M("__rdivmod__", int_m_rdivmod, "Return divmod(value, self)."),
    INT_OPS(OP_DEFS) CMP_OPS(CMP_DEFS) INT_UNARY(UNARY_DEFS){NULL, NULL, 0, NULL},
};

static const AsyMethodDef int_getters[] = {
    {"real", int_get_self, 0, "the real part of a complex number"},
    {"imag", int_get_zero, 0, "the imaginary part of a complex number"},
    {"numerator", int_get_self, 0, "the numerator of a rational number in lowest terms"},
    {"denominator", int_get_one, 0, "the denominator of a rational number in lowest terms"},
    {NULL, NULL, 0, NULL},
};

void asy_num_add_getters(AsyVM *vm, AsyType *type, const AsyMethodDef *defs) {
    for (const AsyMethodDef *d = defs; d->name; d++) {
        AsyProperty *p = asy_gc_alloc(vm, ASY_TYPE(vm, property), sizeof(AsyProperty));
        p->fget = asy_native_new(vm, d, ASY_UNDEF, type);
        p->fset = p->fdel = ASY_UNDEF;
        p->doc = ASY_OBJ(asy_str_from_cstr(vm, d->doc));
        asy_dict_set_cstr(vm, type->dict, d->name, ASY_OBJ(p));
    }
}

/* ---- bool ---- */

static AsyValue bool_repr(AsyVM *vm, AsyValue self) {
    return ASY_OBJ(asy_str_from_cstr(vm, ASY_AS_INT(self) ? "True" : "False"));
}

static AsyValue bool_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyBinOp base = (AsyBinOp)(op % ASY_BIN_INPLACE);
    if (ASY_IS_BOOL(a) && ASY_IS_BOOL(b)) {
        if (base == ASY_BIN_AND) return ASY_BOOL(ASY_AS_INT(a) & ASY_AS_INT(b));
        if (base == ASY_BIN_OR) return ASY_BOOL(ASY_AS_INT(a) | ASY_AS_INT(b));
        if (base == ASY_BIN_XOR) return ASY_BOOL(ASY_AS_INT(a) ^ ASY_AS_INT(b));
    }
    return int_binop(vm, a, b, op);
}

static AsyValue bool_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(type);
    if (!asy_check_nokw(vm, "bool", kw) || !asy_check_args(vm, "bool", argc, 0, 1)) return ASY_ERR;
    if (argc == 0) return ASY_FALSE;
    int t = asy_truthy(vm, argv[0]);
    return t < 0 ? ASY_ERR : ASY_BOOL(t);
}

static AsyValue bool_dunder(AsyVM *vm, int argc, AsyValue *argv, AsyBinOp op) {
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1])) return ASY_OBJ(vm->not_implemented);
    return bool_binop(vm, argv[0], argv[1], op);
}

#define BOOL_OPS(X) X(and, AND) X(or, OR) X(xor, XOR)
#define DEF_BOOL_OP(name, OP)                                                                      \
    static AsyValue bool_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {              \
        ASY_UNUSED(kw);                                                                            \
        return bool_dunder(vm, argc, argv, ASY_BIN_##OP);                                          \
    }
BOOL_OPS(DEF_BOOL_OP)
#undef DEF_BOOL_OP

static AsyValue bool_m_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 0)) return ASY_ERR;
    return bool_repr(vm, argv[0]);
}

#define BOOL_DEFS(name, OP)                                                                        \
    M("__" #name "__", bool_m_##name, "Return self " #name " value."),                             \
        M("__r" #name "__", bool_m_##name, "Return value " #name " self."),
static const AsyMethodDef bool_methods[] = {
    M("__repr__", bool_m_repr, "Return repr(self)."),
    BOOL_OPS(BOOL_DEFS){NULL, NULL, 0, NULL},
};
#undef M

void asy_int_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "int", ASY_TYPE(vm, object), sizeof(AsyBigInt));
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = int_repr;
    t->str = int_repr;
    t->hash = int_hash;
    t->richcompare = int_richcompare;
    t->truth = int_truth;
    t->binop = int_binop;
    t->unaryop = int_unaryop;
    t->new_ = int_new;
    t->finalize = int_finalize;
    vm->types[ASY_TYPE_int] = t;
    asy_type_add_methods(vm, t, int_methods);
    asy_num_add_getters(vm, t, int_getters);
    asy_type_ready(vm, t);

    AsyType *b = asy_type_new_builtin(vm, "bool", t, sizeof(AsyBigInt));
    b->repr = bool_repr;
    b->str = bool_repr;
    b->binop = bool_binop;
    b->new_ = bool_new;
    vm->types[ASY_TYPE_bool] = b;
    asy_type_add_methods(vm, b, bool_methods);
    asy_type_ready(vm, b);
}
