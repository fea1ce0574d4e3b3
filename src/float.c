/* float.c - the `float` type: unboxed doubles (ASY_T_FLOAT); instances of user subclasses
 * of float are AsyFloatObj (number.h).
 *
 * This file owns: repr (the shortest string that round-trips, laid out as CPython's
 * float_repr), parsing float(str) with Python's syntax, CPython's numeric hash, exact
 * comparison with ints, round() (correctly rounded as CPython's double_round), and the
 * methods (hex/fromhex, as_integer_ratio, ...). Arithmetic is in number.c.
 */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"

/* ---- repr ---- */

/* Does the decimal M * 10**(E - prec + 1) (M an integer of prec digits) read back as d? */
static bool reads_back(uint64_t m, int e, int prec, double d, char *out) {
    snprintf(out, 40, "%llue%d", (unsigned long long)m, e - prec + 1);
    return strtod(out, NULL) == d;
}

/* Shortest decimal digits that read back as d (finite, >= 0): digits into `digits` without
 * a point, returns their count; *exp10 is the exponent of the first digit. For each
 * precision, the correctly rounded decimal (glibc's printf is exact) is the candidate; when
 * it misses d's rounding interval, its neighbour on the other side of d may still hit it
 * (the interval is narrower than the decimal spacing, or lopsided at powers of two).
 * For normal doubles nothing shorter than 15 digits needs trying: any shorter decimal that
 * reads back is the 15-digit one without its trailing zeros, since 15-digit decimals
 * survive a trip through double unchanged. Subnormals have fewer bits: try all. */
static int shortest_digits(double d, char *digits, int *exp10) {
    char tmp[40], alt[40];
    uint64_t m = 0;
    int e = 0, prec;
    for (prec = d < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        char *p = tmp;
        m = 0;
        for (; *p != 'e'; p++)
            if (*p != '.') m = m * 10 + (uint64_t)(*p - '0');
        e = atoi(p + 1);
        double back = strtod(tmp, NULL);
        if (back == d || prec == 17) break;
        uint64_t lo = 1;
        for (int i = 1; i < prec; i++)
            lo *= 10;
        uint64_t m2 = back > d ? m - 1 : m + 1;
        int e2 = e;
        if (m2 < lo) m2 = lo * 10 - 1, e2--;
        if (m2 >= lo * 10) m2 = lo, e2++;
        if (reads_back(m2, e2, prec, d, alt)) {
            m = m2;
            e = e2;
            break;
        }
    }
    int n = snprintf(digits, 24, "%llu", (unsigned long long)m);
    *exp10 = e;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return n;
}

/* Fast path of repr for 1e-4 <= a < 1e15 with at most 15 significant digits (most floats
 * people print): the smallest k such that a * 10**k rounds to an integer N that reads back
 * as a (N / 10**k is one correctly rounded IEEE division of exact operands, so it equals
 * strtod's result). Below 10**15 decimals are sparser than doubles, so N is the only
 * candidate with that many digits: it is exactly the shortest repr. Writes the fixed-point
 * text and returns its length, or 0 when the fast path does not apply. */
static size_t repr_fixed_fast(double a, char *p) {
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    for (int k = 1; k < 16; k++) {
        double m = a * pow10[k];
        if (m >= 1e15) return 0;
        double r = nearbyint(m);
        if (r / pow10[k] != a) continue;
        char digits[24];
        int n = 0;
        for (uint64_t u = (uint64_t)r; u; u /= 10)
            digits[n++] = (char)('0' + u % 10);
        for (int i = 0; i < n / 2; i++) {
            char c = digits[i];
            digits[i] = digits[n - 1 - i];
            digits[n - 1 - i] = c;
        }
        char *q = p;
        if (n <= k) { /* 0.000ddd */
            *q++ = '0', *q++ = '.';
            for (int i = n; i < k; i++)
                *q++ = '0';
            memcpy(q, digits, (size_t)n);
            q += n;
        } else {
            memcpy(q, digits, (size_t)(n - k));
            q += n - k;
            *q++ = '.';
            memcpy(q, digits + n - k, (size_t)k);
            q += k;
        }
        *q = '\0';
        return (size_t)(q - p);
    }
    return 0;
}

size_t asy_num_float_repr_buf(double d, char *buf) {
    if (isnan(d)) return (size_t)snprintf(buf, 32, "nan");
    if (isinf(d)) return (size_t)snprintf(buf, 32, d > 0 ? "inf" : "-inf");
    char *p = buf;
    if (signbit(d)) *p++ = '-';
    /* Integral values below 2**53 print exactly: the common case, and no printf needed. */
    double a = fabs(d);
    if (a < 1e16 && a == floor(a) && a < 9007199254740992.0) {
        p += snprintf(p, 24, "%lld.0", (long long)a);
        return (size_t)(p - buf);
    }
    size_t fast = repr_fixed_fast(a, p);
    if (fast) return (size_t)(p - buf) + fast;
    char digits[24];
    int e;
    int n = shortest_digits(a, digits, &e);
    if (e < -4 || e >= 16) {
        *p++ = digits[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t)n - 1);
            p += n - 1;
        }
        p += snprintf(p, 8, "e%c%02d", e < 0 ? '-' : '+', abs(e));
    } else if (e < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *p++ = '0';
        memcpy(p, digits, (size_t)n);
        p += n;
    } else {
        for (int i = 0; i <= e; i++)
            *p++ = i < n ? digits[i] : '0';
        *p++ = '.';
        if (n > e + 1) {
            memcpy(p, digits + e + 1, (size_t)(n - e - 1));
            p += n - e - 1;
        } else {
            *p++ = '0';
        }
    }
    *p = '\0';
    return (size_t)(p - buf);
}

AsyValue asy_float_repr(AsyVM *vm, double d) {
    char buf[32];
    size_t n = asy_num_float_repr_buf(d, buf);
    return ASY_OBJ(asy_str_new(vm, buf, n));
}

/* ---- hash (CPython's _Py_HashDouble, with hash(nan) == 0) ---- */

int64_t asy_num_float_hash(double v) {
    if (!isfinite(v)) return isinf(v) ? (v > 0 ? ASY_HASH_INF : -ASY_HASH_INF) : 0;
    if (v == floor(v) && fabs(v) < 9.2e18) return asy_num_int_hash(ASY_INT((int64_t)v));
    int e;
    double m = frexp(v, &e);
    int sign = 1;
    if (m < 0) {
        sign = -1;
        m = -m;
    }
    uint64_t x = 0;
    while (m) {
        x = ((x << 28) & ASY_HASH_MODULUS) | x >> (ASY_HASH_BITS - 28);
        m *= 268435456.0; /* 2**28 */
        e -= 28;
        uint64_t y = (uint64_t)m;
        m -= (double)y;
        x += y;
        if (x >= ASY_HASH_MODULUS) x -= ASY_HASH_MODULUS;
    }
    e = e >= 0 ? e % ASY_HASH_BITS : ASY_HASH_BITS - 1 - ((-1 - e) % ASY_HASH_BITS);
    x = ((x << e) & ASY_HASH_MODULUS) | x >> (ASY_HASH_BITS - e);
    int64_t r = (int64_t)x * sign;
    return r == -1 ? -2 : r;
}

/* ---- conversions ---- */

bool asy_to_double(AsyVM *vm, AsyValue v, double *out) {
    if (ASY_IS_FLOAT(v)) {
        *out = ASY_AS_FLOAT(v);
        return true;
    }
    if (ASY_IS_INTLIKE(v)) {
        *out = (double)ASY_AS_INT(v);
        return true;
    }
    if (asy_num_is_intobj(vm, v)) {
        if (asy_num_int_to_double(v, out)) return true;
        asy_raise(vm, ASY_EXC_OverflowError, "int too large to convert to float");
        return false;
    }
    if (asy_num_is_floatobj(vm, v)) {
        *out = asy_num_float_value(v);
        return true;
    }
    asy_raise(vm, ASY_EXC_TypeError, "must be real number, not %s", asy_type_name(vm, v));
    return false;
}

/* type(v).name(v) when the type defines it, else UNDEF. */
static AsyValue call_dunder(AsyVM *vm, AsyValue v, AsyStr *name) {
    AsyValue m = asy_type_lookup(asy_type_of(vm, v), name);
    if (ASY_IS_UNDEF(m)) return m;
    return asy_call(vm, m, 1, &v, NULL);
}

/* __float__ of a non-number; UNDEF when the type has neither __float__ nor __index__. */
static AsyValue float_via_dunders(AsyVM *vm, AsyValue v) {
    AsyValue r = call_dunder(vm, v, ASY_S(vm, __float__));
    if (!ASY_IS_UNDEF(r)) {
        if (ASY_IS_ERR(r)) return r;
        if (!asy_num_is_float(vm, r))
            return asy_raise(vm, ASY_EXC_TypeError, "%s.__float__ returned non-float (type %s)",
                             asy_type_name(vm, v), asy_type_name(vm, r));
        return ASY_FLOAT(asy_num_float_value(r));
    }
    if (ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, v), ASY_S(vm, __index__)))) return r;
    AsyValue i = asy_num_index(vm, v);
    if (ASY_IS_ERR(i)) return i;
    double d;
    return asy_to_double(vm, i, &d) ? ASY_FLOAT(d) : ASY_ERR;
}

bool asy_num_to_double_any(AsyVM *vm, AsyValue v, double *out) {
    if (ASY_IS_FLOAT(v) || asy_num_is_int(vm, v) || asy_num_is_floatobj(vm, v))
        return asy_to_double(vm, v, out);
    AsyValue r = float_via_dunders(vm, v);
    if (ASY_IS_UNDEF(r)) {
        asy_raise(vm, ASY_EXC_TypeError, "must be real number, not %s", asy_type_name(vm, v));
        return false;
    }
    if (ASY_IS_ERR(r)) return false;
    *out = ASY_AS_FLOAT(r);
    return true;
}

/* ---- str -> float ---- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Copy a run of digits with single underscores between them; false when malformed or
 * empty (when `required`). */
static bool copy_digits(const char **pp, const char *end, char **out, bool required) {
    const char *p = *pp;
    if (p >= end || !is_digit(*p)) return !required;
    while (p < end) {
        if (is_digit(*p)) {
            *(*out)++ = *p++;
        } else if (*p == '_' && p + 1 < end && is_digit(p[1])) {
            p++;
        } else {
            break;
        }
    }
    *pp = p;
    return true;
}

static bool ieq(const char *p, const char *end, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(end - p) != n) return false;
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != word[i]) return false;
    return true;
}

/* Python's float syntax: 1 parsed, 0 not a float, -1 error (MemoryError). */
static int parse_float(AsyVM *vm, const char *s, size_t len, double *out) {
    const char *p = s, *end = s + len;
    asy_num_strip(&p, &end);
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-')) neg = *p++ == '-';
    if (ieq(p, end, "inf") || ieq(p, end, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    if (ieq(p, end, "nan")) {
        *out = NAN;
        return 1;
    }
    size_t cap = (size_t)(end - p) + 3;
    char small[64];
    char *buf = cap <= sizeof small ? small : asy_mem_alloc(vm, cap);
    if (!buf) return -1;
    char *o = buf;
    *o++ = neg ? '-' : '+';
    const char *int_start = p;
    bool ok = copy_digits(&p, end, &o, false);
    bool has_int = p > int_start, has_frac = false;
    if (ok && p < end && *p == '.') {
        *o++ = *p++;
        const char *f = p;
        ok = copy_digits(&p, end, &o, false);
        has_frac = p > f;
    }
    ok = ok && (has_int || has_frac);
    if (ok && p < end && (*p == 'e' || *p == 'E')) {
        *o++ = *p++;
        if (p < end && (*p == '+' || *p == '-')) *o++ = *p++;
        ok = copy_digits(&p, end, &o, true);
    }
    ok = ok && p == end;
    *o = '\0';
    if (ok) *out = strtod(buf, NULL);
    if (buf != small) asy_mem_free(vm, buf, cap);
    return ok;
}

/* parse_float on the text of a str or bytes object, which may hold NULs; a str's
 * Unicode digits and spaces count as their ASCII equivalents. */
static int parse_text(AsyVM *vm, const char *s, size_t len, double *out) {
    if (memchr(s, '\0', len)) return 0;
    char *ascii;
    size_t alen;
    if (!asy_num_ascii_text(vm, s, len, &ascii, &alen)) return -1;
    if (!ascii) return parse_float(vm, s, len, out);
    int r = parse_float(vm, ascii, alen, out);
    asy_mem_free(vm, ascii, len + 1);
    return r;
}

static AsyValue raise_not_float(AsyVM *vm, AsyValue obj) {
    return asy_raise(vm, ASY_EXC_ValueError, "could not convert string to float: %R", obj);
}

AsyValue asy_float_from_str(AsyVM *vm, const char *s, size_t len) {
    double d;
    int r = parse_text(vm, s, len, &d);
    if (r != 0) return r > 0 ? ASY_FLOAT(d) : ASY_ERR;
    return raise_not_float(vm, ASY_OBJ(asy_str_new(vm, s, len)));
}

/* float(x): CPython's PyNumber_Float. */
AsyValue asy_number_float(AsyVM *vm, AsyValue v) {
    if (ASY_IS_FLOAT(v)) return v;
    if (ASY_IS_INTLIKE(v)) return ASY_FLOAT((double)ASY_AS_INT(v));
    if (asy_num_is_floatobj(vm, v)) return ASY_FLOAT(asy_num_float_value(v));
    if (asy_num_is_intobj(vm, v)) {
        double d;
        return asy_to_double(vm, v, &d) ? ASY_FLOAT(d) : ASY_ERR;
    }
    bool is_str = asy_isinstance(vm, v, ASY_TYPE(vm, str));
    if (is_str || asy_isinstance(vm, v, ASY_TYPE(vm, bytes))) {
        const char *s = is_str ? ((AsyStr *)ASY_AS_OBJ(v))->data
                               : (const char *)((AsyBytes *)ASY_AS_OBJ(v))->data;
        size_t len = is_str ? ((AsyStr *)ASY_AS_OBJ(v))->len : ((AsyBytes *)ASY_AS_OBJ(v))->len;
        double d;
        int r = parse_text(vm, s, len, &d);
        if (r != 0) return r > 0 ? ASY_FLOAT(d) : ASY_ERR;
        return raise_not_float(vm, v);
    }
    AsyValue r = float_via_dunders(vm, v);
    if (!ASY_IS_UNDEF(r)) return r;
    return asy_raise(vm, ASY_EXC_TypeError,
                     "float() argument must be a string or a real number, not '%s'",
                     asy_type_name(vm, v));
}

AsyValue asy_num_float_new_of(AsyVM *vm, AsyType *type, double d) {
    if (type == ASY_TYPE(vm, float)) return ASY_FLOAT(d);
    AsyFloatObj *f = asy_gc_alloc(vm, type, type->basicsize);
    f->value = d;
    return ASY_OBJ(f);
}

/* ---- round ---- */

/* x rounded to a multiple of 10**k (k > 0), ties to even, computed exactly. */
static AsyValue round_to_power(AsyVM *vm, double x, long k) {
    int e;
    double m = frexp(fabs(x), &e);
    mpz_t sig, d, q, r;
    mpz_inits(sig, d, q, r, NULL);
    mpz_set_d(sig, ldexp(m, 53)); /* |x| = sig * 2**(e-53) */
    e -= 53;
    mpz_ui_pow_ui(d, 10, (unsigned long)k);
    if (e >= 0)
        mpz_mul_2exp(sig, sig, (mp_bitcnt_t)e);
    else
        mpz_mul_2exp(d, d, (mp_bitcnt_t)-e);
    mpz_fdiv_qr(q, r, sig, d);
    mpz_mul_2exp(r, r, 1);
    int c = mpz_cmp(r, d);
    if (c > 0 || (c == 0 && mpz_odd_p(q))) mpz_add_ui(q, q, 1);
    mpz_ui_pow_ui(d, 10, (unsigned long)k);
    mpz_mul(q, q, d);
    double res;
    bool ok = asy_num_scaled_to_double(q, 0, false, &res);
    mpz_clears(sig, d, q, r, NULL);
    if (!ok) return asy_raise(vm, ASY_EXC_OverflowError, "rounded value too large to represent");
    return ASY_FLOAT(copysign(res, x));
}

AsyValue asy_num_float_round(AsyVM *vm, double x, AsyValue ndigits) {
    if (ASY_IS_UNDEF(ndigits) || ASY_IS_NONE(ndigits)) {
        double r = round(x);
        if (fabs(x - r) == 0.5) r = 2.0 * round(x / 2.0);
        return asy_num_int_from_double(vm, r);
    }
    AsyValue nd = asy_num_index(vm, ndigits);
    if (ASY_IS_ERR(nd)) return nd;
    int of;
    int64_t n = asy_num_int_as_i64(nd, &of);
    if (!isfinite(x) || x == 0.0) return ASY_FLOAT(x);
    if (n > 323) return ASY_FLOAT(x);        /* more digits than any double has */
    if (n < -308) return ASY_FLOAT(0.0 * x); /* beyond DBL_MAX: a signed zero */
    if (n < 0) return round_to_power(vm, x, (long)-n);
    char buf[720];
    snprintf(buf, sizeof buf, "%.*f", (int)n, x); /* correctly rounded, ties to even */
    return ASY_FLOAT(strtod(buf, NULL));
}

/* ---- slots ---- */

static double self_value(AsyValue v) { return asy_num_float_value(v); }

static AsyValue float_repr(AsyVM *vm, AsyValue self) {
    return asy_float_repr(vm, self_value(self));
}

static bool float_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    *out = asy_num_float_hash(self_value(self));
    return true;
}

static AsyValue float_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    double a = self_value(self);
    if (asy_num_is_float(vm, other)) {
        double b = asy_num_float_value(other);
        switch (op) {
        case ASY_CMP_LT: return ASY_BOOL(a < b);
        case ASY_CMP_LE: return ASY_BOOL(a <= b);
        case ASY_CMP_EQ: return ASY_BOOL(a == b);
        case ASY_CMP_NE: return ASY_BOOL(a != b);
        case ASY_CMP_GT: return ASY_BOOL(a > b);
        case ASY_CMP_GE: return ASY_BOOL(a >= b);
        }
    }
    if (!asy_num_is_int(vm, other)) return ASY_OBJ(vm->not_implemented);
    int c = asy_num_int_cmp_double(other, a);
    if (c == 2) return ASY_BOOL(op == ASY_CMP_NE);
    c = -c; /* compare a with other */
    switch (op) {
    case ASY_CMP_LT: return ASY_BOOL(c < 0);
    case ASY_CMP_LE: return ASY_BOOL(c <= 0);
    case ASY_CMP_EQ: return ASY_BOOL(c == 0);
    case ASY_CMP_NE: return ASY_BOOL(c != 0);
    case ASY_CMP_GT: return ASY_BOOL(c > 0);
    case ASY_CMP_GE: return ASY_BOOL(c >= 0);
    }
    return ASY_FALSE;
}

static int float_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self_value(self) != 0.0;
}

/* Both operands real (int or float), converted to doubles; false when not numbers. */
static bool two_doubles(AsyVM *vm, AsyValue a, AsyValue b, double *x, double *y, bool *err) {
    *err = false;
    if (!(asy_num_is_float(vm, a) || asy_num_is_int(vm, a))) return false;
    if (!(asy_num_is_float(vm, b) || asy_num_is_int(vm, b))) return false;
    *err = !asy_to_double(vm, a, x) || !asy_to_double(vm, b, y);
    return true;
}

static AsyValue float_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    double x, y;
    bool err;
    if (!two_doubles(vm, a, b, &x, &y, &err)) return ASY_OBJ(vm->not_implemented);
    if (err) return ASY_ERR;
    return asy_num_float_binop(vm, x, y, (AsyBinOp)(op % ASY_BIN_INPLACE));
}

static AsyValue float_unaryop(AsyVM *vm, AsyValue self, AsyUnaryOp op) {
    double d = self_value(self);
    if (op == ASY_UOP_NEG) return ASY_FLOAT(-d);
    if (op == ASY_UOP_POS) return ASY_FLOAT(d);
    return ASY_OBJ(vm->not_implemented);
}

static AsyValue float_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "float", kw) || !asy_check_args(vm, "float", argc, 0, 1))
        return ASY_ERR;
    AsyValue v = argc ? asy_number_float(vm, argv[0]) : ASY_FLOAT(0.0);
    if (ASY_IS_ERR(v)) return v;
    return asy_num_float_new_of(vm, type, ASY_AS_FLOAT(v));
}

/* ---- methods ---- */

/* "float.hex() takes no arguments (1 given)" for methods, "expected 0 arguments, got 1"
 * for slot wrappers (the names given without "float."). */
static bool no_args(AsyVM *vm, const char *name, int argc) {
    if (name[0] == '_') return asy_num_wrapper_args(vm, argc - 1, 0);
    return asy_check_args(vm, name, argc - 1, 0, 0);
}

static AsyValue float_m_is_integer(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.is_integer", argc)) return ASY_ERR;
    double d = self_value(argv[0]);
    return ASY_BOOL(isfinite(d) && d == floor(d));
}

static AsyValue float_m_ratio(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.as_integer_ratio", argc)) return ASY_ERR;
    double d = self_value(argv[0]);
    if (isinf(d))
        return asy_raise(vm, ASY_EXC_OverflowError, "cannot convert Infinity to integer ratio");
    if (isnan(d)) return asy_raise(vm, ASY_EXC_ValueError, "cannot convert NaN to integer ratio");
    int e;
    double m = frexp(d, &e);
    for (int i = 0; i < 300 && m != floor(m); i++) {
        m *= 2.0;
        e--;
    }
    mpz_t num, den;
    mpz_init_set_d(num, m);
    mpz_init_set_ui(den, 1);
    if (e > 0)
        mpz_mul_2exp(num, num, (mp_bitcnt_t)e);
    else
        mpz_mul_2exp(den, den, (mp_bitcnt_t)-e);
    AsyValue items[2] = {asy_num_int_take(vm, num), asy_num_int_take(vm, den)};
    mpz_clears(num, den, NULL);
    return ASY_OBJ(asy_tuple_from_array(vm, items, 2));
}

static AsyValue float_m_hex(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.hex", argc)) return ASY_ERR;
    double x = self_value(argv[0]);
    if (!isfinite(x)) return asy_float_repr(vm, x);
    if (x == 0.0) return ASY_OBJ(asy_str_from_cstr(vm, signbit(x) ? "-0x0.0p+0" : "0x0.0p+0"));
    int e;
    double m = frexp(fabs(x), &e);
    int shift = 1 - (DBL_MIN_EXP - e > 0 ? DBL_MIN_EXP - e : 0);
    m = ldexp(m, shift);
    e -= shift;
    static const char hexd[] = "0123456789abcdef";
    char s[32];
    int si = 0;
    s[si++] = hexd[(int)m];
    m -= (int)m;
    s[si++] = '.';
    for (int i = 0; i < 13; i++) {
        m *= 16.0;
        s[si++] = hexd[(int)m];
        m -= (int)m;
    }
    s[si] = '\0';
    return ASY_OBJ(
        asy_str_printf(vm, "%s0x%sp%c%d", x < 0 ? "-" : "", s, e < 0 ? '-' : '+', e < 0 ? -e : e));
}

/* float.fromhex(s): [sign] ['0x'] hexdigits ['.' hexdigits] ['p' [sign] digits], or inf/nan. */
static AsyValue float_m_fromhex(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "float.fromhex", argc - 1, 1, 1)) return ASY_ERR;
    if (!asy_isinstance(vm, argv[1], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "fromhex() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    AsyStr *str = (AsyStr *)ASY_AS_OBJ(argv[1]);
    const char *p = str->data, *end = str->data + str->len;
    asy_num_strip(&p, &end);
    char buf[600];
    size_t n = (size_t)(end - p);
    double d = 0;
    bool ok = n > 0 && n < sizeof buf - 4;
    if (ok) {
        const char *q = p + (*p == '+' || *p == '-');
        if (ieq(q, end, "inf") || ieq(q, end, "infinity") || ieq(q, end, "nan")) {
            d = ieq(q, end, "nan") ? NAN : (*p == '-' ? -INFINITY : INFINITY);
        } else {
            char *o = buf;
            if (q > p) *o++ = *p;
            if (end - q >= 2 && q[0] == '0' && (q[1] | 0x20) == 'x') q += 2;
            *o++ = '0', *o++ = 'x';
            size_t mant = 0, dots = 0;
            while (q < end && (isxdigit((unsigned char)*q) || *q == '.')) {
                mant += *q != '.';
                dots += *q == '.';
                *o++ = *q++;
            }
            ok = mant > 0 && dots <= 1;
            if (ok && q < end && (*q | 0x20) == 'p') {
                *o++ = *q++;
                if (q < end && (*q == '+' || *q == '-')) *o++ = *q++;
                ok = q < end && is_digit(*q);
                while (q < end && is_digit(*q))
                    *o++ = *q++;
            }
            ok = ok && q == end;
            *o = '\0';
            if (ok) {
                errno = 0;
                d = strtod(buf, NULL);
                if (isinf(d))
                    return asy_raise(vm, ASY_EXC_OverflowError,
                                     "hexadecimal value too large to represent as a float");
            }
        }
    }
    if (!ok) return asy_raise(vm, ASY_EXC_ValueError, "invalid hexadecimal floating-point string");
    AsyType *cls = (AsyType *)ASY_AS_OBJ(argv[0]);
    AsyValue r = ASY_FLOAT(d);
    if (cls == ASY_TYPE(vm, float)) return r;
    return asy_call(vm, argv[0], 1, &r, NULL);
}

static AsyValue float_m_plain(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.conjugate", argc)) return ASY_ERR;
    return ASY_FLOAT(self_value(argv[0]));
}

static AsyValue float_m_trunc(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.__trunc__", argc)) return ASY_ERR;
    return asy_num_int_from_double(vm, self_value(argv[0]));
}

static AsyValue float_m_floor(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.__floor__", argc)) return ASY_ERR;
    return asy_num_int_from_double(vm, floor(self_value(argv[0])));
}

static AsyValue float_m_ceil(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "float.__ceil__", argc)) return ASY_ERR;
    return asy_num_int_from_double(vm, ceil(self_value(argv[0])));
}

static AsyValue float_m_round(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__round__", argc - 1, 0, 1)) return ASY_ERR;
    return asy_num_float_round(vm, self_value(argv[0]), argc == 2 ? argv[1] : ASY_UNDEF);
}

static AsyValue float_m_format(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "float.__format__", argc - 1, 1, 1)) return ASY_ERR;
    if (!asy_isinstance(vm, argv[1], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "__format__() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    return asy_num_format_float(vm, argv[0], self_value(argv[0]), (AsyStr *)ASY_AS_OBJ(argv[1]));
}

static AsyValue float_m_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__repr__", argc)) return ASY_ERR;
    return float_repr(vm, argv[0]);
}

static AsyValue float_m_hash(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__hash__", argc)) return ASY_ERR;
    return ASY_INT(asy_num_float_hash(self_value(argv[0])));
}

static AsyValue float_m_bool(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__bool__", argc)) return ASY_ERR;
    return ASY_BOOL(self_value(argv[0]) != 0.0);
}

static AsyValue float_m_abs(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__abs__", argc)) return ASY_ERR;
    return ASY_FLOAT(fabs(self_value(argv[0])));
}

static AsyValue float_m_neg(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__neg__", argc)) return ASY_ERR;
    return ASY_FLOAT(-self_value(argv[0]));
}

static AsyValue float_m_int(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__int__", argc)) return ASY_ERR;
    return asy_num_int_from_double(vm, self_value(argv[0]));
}

/* Arithmetic dunders: float.__add__(self, other), with other int or float. */
static AsyValue float_dunder(AsyVM *vm, int argc, AsyValue *argv, AsyBinOp op, bool reflected) {
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    return reflected ? float_binop(vm, argv[1], argv[0], op)
                     : float_binop(vm, argv[0], argv[1], op);
}

#define FLOAT_OPS(X)                                                                               \
    X(add, ADD)                                                                                    \
    X(sub, SUB) X(mul, MUL) X(truediv, TRUEDIV) X(floordiv, FLOORDIV) X(mod, MOD) X(pow, POW)
#define DEF_FLOAT_OP(name, OP)                                                                     \
    static AsyValue float_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {             \
        ASY_UNUSED(kw);                                                                            \
        return float_dunder(vm, argc, argv, ASY_BIN_##OP, false);                                  \
    }                                                                                              \
    static AsyValue float_m_r##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {            \
        ASY_UNUSED(kw);                                                                            \
        return float_dunder(vm, argc, argv, ASY_BIN_##OP, true);                                   \
    }
FLOAT_OPS(DEF_FLOAT_OP)
#undef DEF_FLOAT_OP

static AsyValue float_m_divmod(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    return asy_number_divmod(vm, argv[0], argv[1]);
}

static AsyValue float_m_rdivmod(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;
    return asy_number_divmod(vm, argv[1], argv[0]);
}

#define CMP_OPS(X) X(lt, LT) X(le, LE) X(eq, EQ) X(ne, NE) X(gt, GT) X(ge, GE)
#define DEF_FLOAT_CMP(name, OP)                                                                    \
    static AsyValue float_m_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {             \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_num_wrapper_args(vm, argc - 1, 1)) return ASY_ERR;                                \
        return float_richcompare(vm, argv[0], argv[1], ASY_CMP_##OP);                              \
    }
CMP_OPS(DEF_FLOAT_CMP)
#undef DEF_FLOAT_CMP

static AsyValue float_get_real(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(kw);
    return ASY_FLOAT(self_value(argv[0]));
}

static AsyValue float_get_imag(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(vm), ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_FLOAT(0.0);
}

#define M(name, fn, doc)                                                                           \
    { name, fn, ASY_METH_NOKW, doc }
#define OP_DEFS(name, OP)                                                                          \
    M("__" #name "__", float_m_##name, "Return self " #name " value."),                            \
        M("__r" #name "__", float_m_r##name, "Return value " #name " self."),
#define CMP_DEFS(name, OP) M("__" #name "__", float_m_##name, "Return self " #name " value."),

static const AsyMethodDef float_methods[] = {
    M("is_integer", float_m_is_integer, "Return True if the float is an integer."),
    M("as_integer_ratio", float_m_ratio, "Return integer ratio."),
    M("hex", float_m_hex, "Return a hexadecimal representation of a floating-point number."),
    {"fromhex", float_m_fromhex, ASY_METH_CLASS | ASY_METH_NOKW,
     "Create a floating-point number from a hexadecimal string."},
    M("conjugate", float_m_plain, "Return self, the complex conjugate of any float."),
    M("__float__", float_m_plain, "float(self)"),
    M("__pos__", float_m_plain, "+self"),
    M("__neg__", float_m_neg, "-self"),
    M("__abs__", float_m_abs, "abs(self)"),
    M("__int__", float_m_int, "int(self)"),
    M("__trunc__", float_m_trunc, "Return the Integral closest to x between 0 and x."),
    M("__floor__", float_m_floor, "Return the floor as an Integral."),
    M("__ceil__", float_m_ceil, "Return the ceiling as an Integral."),
    M("__round__", float_m_round, "Return the Integral closest to x, rounding half toward even."),
    M("__format__", float_m_format, "Formats the float according to format_spec."),
    M("__repr__", float_m_repr, "Return repr(self)."),
    M("__hash__", float_m_hash, "Return hash(self)."),
    M("__bool__", float_m_bool, "True if self else False"),
    M("__divmod__", float_m_divmod, "Return divmod(self, value)."),
    M("__rdivmod__", float_m_rdivmod, "Return divmod(value, self)."),
    FLOAT_OPS(OP_DEFS) CMP_OPS(CMP_DEFS){NULL, NULL, 0, NULL},
};
#undef M

static const AsyMethodDef float_getters[] = {
    {"real", float_get_real, 0, "the real part of a complex number"},
    {"imag", float_get_imag, 0, "the imaginary part of a complex number"},
    {NULL, NULL, 0, NULL},
};

void asy_float_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "float", ASY_TYPE(vm, object), sizeof(AsyFloatObj));
    t->tflags |= ASY_TYPE_BASETYPE;
    t->repr = float_repr;
    t->str = float_repr;
    t->hash = float_hash;
    t->richcompare = float_richcompare;
    t->truth = float_truth;
    t->binop = float_binop;
    t->unaryop = float_unaryop;
    t->new_ = float_new;
    vm->types[ASY_TYPE_float] = t;
    asy_type_add_methods(vm, t, float_methods);
    asy_num_add_getters(vm, t, float_getters);
    asy_type_ready(vm, t);
}
