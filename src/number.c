/* number.c - arithmetic: the binary and unary operator protocol (asy_binop/asy_unaryop) with
 * fast paths for unboxed ints and floats, the full semantics of int (int64 with overflow
 * checks, then GMP) and float operators, the divmod/pow/abs/round helpers of the builtins,
 * and the number side of the format-spec mini-language (the parser is strformat.c's).
 *
 * Semantics follow CPython 3.11: floor division and modulo round toward minus infinity
 * (floats as float_divmod, -0.0 included), int / int is correctly rounded even for huge
 * ints, float ** follows float_pow's special cases. One deliberate difference: a negative
 * float raised to a non-integer power gives a complex number in CPython; asy has no complex
 * type and raises ValueError "negative number cannot be raised to a fractional power".
 */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "number.h"
#include "strformat.h"

#define NOT_IMPLEMENTED(vm) ASY_OBJ((vm)->not_implemented)
#define IS_NOT_IMPLEMENTED(vm, v) (ASY_IS_OBJ(v) && ASY_AS_OBJ(v) == (vm)->not_implemented)

/* ---- exact conversions to double ---- */

bool asy_num_scaled_to_double(mpz_srcptr q, int64_t exp2, bool sticky, double *out) {
    if (mpz_sgn(q) == 0) {
        *out = 0.0;
        return true;
    }
    int64_t qbits = (int64_t)mpz_sizeinbase(q, 2);
    int64_t top = qbits - 1 + exp2; /* the value is in [2**top, 2**(top+1)) */
    if (top > 1023) return false;
    int64_t prec = top < -1022 ? top + 1075 : 53; /* subnormals have fewer bits */
    if (prec < 0) {
        *out = 0.0;
        return true;
    }
    int64_t drop = qbits - prec;
    uint64_t m;
    if (drop <= 0) {
        m = mpz_get_ui(q);
    } else {
        mpz_t t;
        mpz_init(t);
        mpz_tdiv_q_2exp(t, q, (mp_bitcnt_t)drop);
        m = mpz_get_ui(t);
        mpz_clear(t);
        bool half = mpz_tstbit(q, (mp_bitcnt_t)drop - 1);
        bool rest = sticky || mpz_scan1(q, 0) < (mp_bitcnt_t)drop - 1;
        if (half && (rest || (m & 1))) m++;
        exp2 += drop;
    }
    double d = ldexp((double)m, (int)exp2);
    if (isinf(d)) return false;
    *out = d;
    return true;
}

bool asy_num_int_to_double(AsyValue v, double *out) {
    if (!ASY_IS_OBJ(v)) {
        *out = (double)ASY_AS_INT(v);
        return true;
    }
    mpz_srcptr z = ((AsyBigInt *)ASY_AS_OBJ(v))->z;
    mpz_t a;
    mpz_roinit_n(a, mpz_limbs_read(z), mpz_size(z));
    if (!asy_num_scaled_to_double(a, 0, false, out)) return false;
    if (mpz_sgn(z) < 0) *out = -*out;
    return true;
}

static AsyValue raise_int_too_large(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_OverflowError, "int too large to convert to float");
}

/* ---- int operators ---- */

/* a / b for ints, correctly rounded: exact when both fit in 53 bits, else a quotient with
 * at least 55 significant bits plus a sticky remainder bit, rounded once. */
static AsyValue int_truediv(AsyVM *vm, AsyValue a, AsyValue b) {
    if (asy_num_int_sign(b) == 0)
        return asy_raise(vm, ASY_EXC_ZeroDivisionError, "division by zero");
    const int64_t lim = INT64_C(1) << 53;
    if (!ASY_IS_OBJ(a) && !ASY_IS_OBJ(b) && ASY_AS_INT(a) >= -lim && ASY_AS_INT(a) <= lim &&
        ASY_AS_INT(b) >= -lim && ASY_AS_INT(b) <= lim)
        return ASY_FLOAT((double)ASY_AS_INT(a) / (double)ASY_AS_INT(b));
    AsyMpzTmp ta, tb;
    mpz_srcptr x = asy_num_mpz(a, &ta), y = asy_num_mpz(b, &tb);
    bool neg = (mpz_sgn(x) < 0) != (mpz_sgn(y) < 0);
    if (mpz_sgn(x) == 0) return ASY_FLOAT(neg ? -0.0 : 0.0);
    mpz_t ax, ay, q, r;
    mpz_roinit_n(ax, mpz_limbs_read(x), mpz_size(x));
    mpz_roinit_n(ay, mpz_limbs_read(y), mpz_size(y));
    int64_t diff = (int64_t)mpz_sizeinbase(ax, 2) - (int64_t)mpz_sizeinbase(ay, 2);
    if (diff > 1025)
        return asy_raise(vm, ASY_EXC_OverflowError,
                         "integer division result too large for a float");
    if (diff < -1080) return ASY_FLOAT(neg ? -0.0 : 0.0);
    int64_t shift = 55 - diff;
    mpz_inits(q, r, NULL);
    if (shift >= 0) {
        mpz_mul_2exp(q, ax, (mp_bitcnt_t)shift);
        mpz_tdiv_qr(q, r, q, ay);
    } else {
        mpz_mul_2exp(r, ay, (mp_bitcnt_t)-shift);
        mpz_tdiv_qr(q, r, ax, r);
    }
    double d;
    bool ok = asy_num_scaled_to_double(q, -shift, mpz_sgn(r) != 0, &d);
    mpz_clears(q, r, NULL);
    if (!ok)
        return asy_raise(vm, ASY_EXC_OverflowError,
                         "integer division result too large for a float");
    return ASY_FLOAT(neg ? -d : d);
}

static bool i64_pow(int64_t base, int64_t exp, int64_t *out) {
    int64_t r = 1;
    while (exp) {
        if ((exp & 1) && __builtin_mul_overflow(r, base, &r)) return false;
        exp >>= 1;
        if (exp && __builtin_mul_overflow(base, base, &base)) return false;
    }
    *out = r;
    return true;
}

static AsyValue int_pow(AsyVM *vm, AsyValue a, AsyValue b) {
    if (asy_num_int_sign(b) < 0) {
        double x, y;
        if (!asy_num_int_to_double(a, &x) || !asy_num_int_to_double(b, &y))
            return raise_int_too_large(vm);
        return asy_num_float_binop(vm, x, y, ASY_BIN_POW);
    }
    int64_t r;
    if (!ASY_IS_OBJ(a) && !ASY_IS_OBJ(b) && i64_pow(ASY_AS_INT(a), ASY_AS_INT(b), &r))
        return ASY_INT(r);
    AsyMpzTmp ta;
    mpz_srcptr x = asy_num_mpz(a, &ta);
    uint64_t abits = asy_num_int_bit_length(a);
    if (abits <= 1) { /* 0, 1, -1: no size limit */
        if (mpz_sgn(x) >= 0) return ASY_INT(mpz_get_si(x));
        return ASY_INT(mpz_even_p(asy_num_mpz(b, &ta)) ? 1 : -1);
    }
    int of;
    int64_t e = asy_num_int_as_i64(b, &of);
    if (of || (uint64_t)e > ASY_INT_MAX_BITS || (abits - 1) * (uint64_t)e >= ASY_INT_MAX_BITS)
        return asy_raise_memory(vm);
    mpz_t z;
    mpz_init(z);
    mpz_pow_ui(z, x, (unsigned long)e);
    AsyValue res = asy_num_int_take(vm, z);
    mpz_clear(z);
    return res;
}

static AsyValue int_shift(AsyVM *vm, AsyValue a, AsyValue b, bool left) {
    if (asy_num_int_sign(b) < 0) return asy_raise(vm, ASY_EXC_ValueError, "negative shift count");
    int sa = asy_num_int_sign(a);
    if (sa == 0) return ASY_INT(0);
    int of;
    int64_t n = asy_num_int_as_i64(b, &of);
    if (!left) {
        if (of || (uint64_t)n >= asy_num_int_bit_length(a)) return ASY_INT(sa < 0 ? -1 : 0);
        if (!ASY_IS_OBJ(a)) return ASY_INT(ASY_AS_INT(a) >> n);
    } else {
        if (of) return asy_raise(vm, ASY_EXC_OverflowError, "too many digits in integer");
        if ((uint64_t)n + asy_num_int_bit_length(a) > ASY_INT_MAX_BITS) return asy_raise_memory(vm);
        if (!ASY_IS_OBJ(a) && n < 63) {
            int64_t x = ASY_AS_INT(a);
            if (x >= -(INT64_C(1) << (62 - n)) && x < (INT64_C(1) << (62 - n)))
                return ASY_INT((int64_t)((uint64_t)x << n));
        }
    }
    AsyMpzTmp ta;
    mpz_t z;
    mpz_init(z);
    if (left)
        mpz_mul_2exp(z, asy_num_mpz(a, &ta), (mp_bitcnt_t)n);
    else
        mpz_fdiv_q_2exp(z, asy_num_mpz(a, &ta), (mp_bitcnt_t)n);
    AsyValue res = asy_num_int_take(vm, z);
    mpz_clear(z);
    return res;
}

/* +, -, *, //, %, &, |, ^ on int64 without overflow; false when the result needs GMP. */
static bool small_int_op(int64_t x, int64_t y, AsyBinOp op, int64_t *r) {
    switch (op) {
    case ASY_BIN_ADD: return !__builtin_add_overflow(x, y, r);
    case ASY_BIN_SUB: return !__builtin_sub_overflow(x, y, r);
    case ASY_BIN_MUL: return !__builtin_mul_overflow(x, y, r);
    case ASY_BIN_FLOORDIV:
        if (y == -1 && x == INT64_MIN) return false;
        *r = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) (*r)--;
        return true;
    case ASY_BIN_MOD:
        if (y == -1) {
            *r = 0;
            return true;
        }
        *r = x % y;
        if (*r != 0 && ((*r < 0) != (y < 0))) *r += y;
        return true;
    case ASY_BIN_AND: *r = x & y; return true;
    case ASY_BIN_OR: *r = x | y; return true;
    case ASY_BIN_XOR: *r = x ^ y; return true;
    default: return false;
    }
}

static AsyValue big_int_op(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyMpzTmp ta, tb;
    mpz_srcptr x = asy_num_mpz(a, &ta), y = asy_num_mpz(b, &tb);
    if (op == ASY_BIN_MUL &&
        asy_num_int_bit_length(a) + asy_num_int_bit_length(b) > ASY_INT_MAX_BITS)
        return asy_raise_memory(vm);
    mpz_t z;
    mpz_init(z);
    switch (op) {
    case ASY_BIN_ADD: mpz_add(z, x, y); break;
    case ASY_BIN_SUB: mpz_sub(z, x, y); break;
    case ASY_BIN_MUL: mpz_mul(z, x, y); break;
    case ASY_BIN_FLOORDIV: mpz_fdiv_q(z, x, y); break;
    case ASY_BIN_MOD: mpz_fdiv_r(z, x, y); break;
    case ASY_BIN_AND: mpz_and(z, x, y); break;
    case ASY_BIN_OR: mpz_ior(z, x, y); break;
    case ASY_BIN_XOR: mpz_xor(z, x, y); break;
    default: break;
    }
    AsyValue r = asy_num_int_take(vm, z);
    mpz_clear(z);
    return r;
}

AsyValue asy_num_int_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    if (ASY_IS_OBJ(a)) a = asy_num_int_exact(vm, a);
    if (ASY_IS_OBJ(b)) b = asy_num_int_exact(vm, b);
    switch (op) {
    case ASY_BIN_TRUEDIV: return int_truediv(vm, a, b);
    case ASY_BIN_POW: return int_pow(vm, a, b);
    case ASY_BIN_LSHIFT: return int_shift(vm, a, b, true);
    case ASY_BIN_RSHIFT: return int_shift(vm, a, b, false);
    case ASY_BIN_MATMUL: return NOT_IMPLEMENTED(vm);
    case ASY_BIN_FLOORDIV:
    case ASY_BIN_MOD:
        if (asy_num_int_sign(b) == 0)
            return asy_raise(vm, ASY_EXC_ZeroDivisionError,
                             op == ASY_BIN_MOD ? "integer modulo by zero"
                                               : "integer division or modulo by zero");
        break;
    default: break;
    }
    int64_t r;
    if (!ASY_IS_OBJ(a) && !ASY_IS_OBJ(b) && small_int_op(ASY_AS_INT(a), ASY_AS_INT(b), op, &r))
        return ASY_INT(r);
    return big_int_op(vm, a, b, op);
}

AsyValue asy_num_int_unaryop(AsyVM *vm, AsyValue v, AsyUnaryOp op) {
    if (!ASY_IS_OBJ(v)) {
        int64_t i = ASY_AS_INT(v);
        if (op == ASY_UOP_POS) return ASY_INT(i);
        if (op == ASY_UOP_INVERT) return ASY_INT(~i);
        if (i != INT64_MIN) return ASY_INT(-i);
    }
    if (op == ASY_UOP_POS) return asy_num_int_exact(vm, v);
    AsyMpzTmp t;
    mpz_t z;
    mpz_init(z);
    if (op == ASY_UOP_NEG)
        mpz_neg(z, asy_num_mpz(v, &t));
    else
        mpz_com(z, asy_num_mpz(v, &t));
    AsyValue r = asy_num_int_take(vm, z);
    mpz_clear(z);
    return r;
}

/* ---- float operators ---- */

static bool is_odd_integer(double x) { return fmod(fabs(x), 2.0) == 1.0; }

/* CPython's float_pow, special cases first. */
static AsyValue float_pow(AsyVM *vm, double iv, double iw) {
    if (iw == 0) return ASY_FLOAT(1.0);
    if (isnan(iv)) return ASY_FLOAT(iv);
    if (isnan(iw)) return ASY_FLOAT(iv == 1.0 ? 1.0 : iw);
    if (isinf(iw)) {
        iv = fabs(iv);
        if (iv == 1.0) return ASY_FLOAT(1.0);
        return ASY_FLOAT((iw > 0) == (iv > 1.0) ? fabs(iw) : 0.0);
    }
    if (isinf(iv)) {
        bool odd = is_odd_integer(iw);
        if (iw > 0) return ASY_FLOAT(odd ? iv : fabs(iv));
        return ASY_FLOAT(odd ? copysign(0.0, iv) : 0.0);
    }
    if (iv == 0.0) {
        if (iw < 0)
            return asy_raise(vm, ASY_EXC_ZeroDivisionError,
                             "0.0 cannot be raised to a negative power");
        return ASY_FLOAT(is_odd_integer(iw) ? iv : 0.0);
    }
    bool negate = false;
    if (iv < 0.0) {
        if (iw != floor(iw))
            return asy_raise(vm, ASY_EXC_ValueError,
                             "negative number cannot be raised to a fractional power");
        iv = -iv;
        negate = is_odd_integer(iw);
    }
    if (iv == 1.0) return ASY_FLOAT(negate ? -1.0 : 1.0);
    double r = pow(iv, iw);
    if (isinf(r))
        return asy_raise(vm, ASY_EXC_OverflowError, "(%d, '%s')", ERANGE,
                         "Numerical result out of range");
    return ASY_FLOAT(negate ? -r : r);
}

/* Python's float divmod: the remainder takes the divisor's sign, -0.0 cases included. */
static void float_divmod(double vx, double wx, double *floordiv, double *mod) {
    double m = fmod(vx, wx);
    double div = (vx - m) / wx;
    if (m) {
        if ((wx < 0) != (m < 0)) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = copysign(0.0, wx);
    }
    if (div) {
        double f = floor(div);
        if (div - f > 0.5) f += 1.0;
        div = f;
    } else {
        div = copysign(0.0, vx / wx);
    }
    *floordiv = div;
    *mod = m;
}

AsyValue asy_num_float_binop(AsyVM *vm, double a, double b, AsyBinOp op) {
    double q, m;
    switch (op) {
    case ASY_BIN_ADD: return ASY_FLOAT(a + b);
    case ASY_BIN_SUB: return ASY_FLOAT(a - b);
    case ASY_BIN_MUL: return ASY_FLOAT(a * b);
    case ASY_BIN_TRUEDIV:
        if (b == 0.0) return asy_raise(vm, ASY_EXC_ZeroDivisionError, "float division by zero");
        return ASY_FLOAT(a / b);
    case ASY_BIN_FLOORDIV:
        if (b == 0.0)
            return asy_raise(vm, ASY_EXC_ZeroDivisionError, "float floor division by zero");
        float_divmod(a, b, &q, &m);
        return ASY_FLOAT(q);
    case ASY_BIN_MOD:
        if (b == 0.0) return asy_raise(vm, ASY_EXC_ZeroDivisionError, "float modulo");
        m = fmod(a, b);
        if (m) {
            if ((b < 0) != (m < 0)) m += b;
        } else {
            m = copysign(0.0, b);
        }
        return ASY_FLOAT(m);
    case ASY_BIN_POW: return float_pow(vm, a, b);
    default: return NOT_IMPLEMENTED(vm);
    }
}

/* ---- the protocol ---- */

static const char *const binop_symbols[ASY_BIN_COUNT] = {
    "+", "-", "*", "@", "/", "//", "%", "**", "<<", ">>", "|", "^", "&",
};
static const char *const inplace_symbols[ASY_BIN_COUNT] = {
    "+=", "-=", "*=", "@=", "/=", "//=", "%=", "**=", "<<=", ">>=", "|=", "^=", "&=",
};

static AsyValue raise_unsupported(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    bool inplace = op >= ASY_BIN_INPLACE;
    AsyBinOp base = (AsyBinOp)(op % ASY_BIN_INPLACE);
    const char *sym = inplace ? inplace_symbols[base] : binop_symbols[base];
    if (base == ASY_BIN_POW && !inplace) sym = "** or pow()";
    return asy_raise(vm, ASY_EXC_TypeError, "unsupported operand type(s) for %s: '%s' and '%s'",
                     sym, asy_type_name(vm, a), asy_type_name(vm, b));
}

/* CPython's binary_op1: the left type's slot, then the right's, the right first when its
 * type is a proper subclass of the left's. A slot shared by both types is called once and
 * must handle both operands itself (class.c's dunder dispatch does, as CPython's). */
static AsyValue binop_slots(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyType *ta = asy_type_of(vm, a), *tb = asy_type_of(vm, b);
    AsyValue (*slota)(AsyVM *, AsyValue, AsyValue, AsyBinOp) = ta->binop;
    AsyValue (*slotb)(AsyVM *, AsyValue, AsyValue, AsyBinOp) =
        tb != ta && tb->binop != slota ? tb->binop : NULL;
    AsyValue r;
    if (slotb && asy_is_subtype(tb, ta)) {
        r = slotb(vm, a, b, op);
        if (!IS_NOT_IMPLEMENTED(vm, r)) return r;
        slotb = NULL;
    }
    if (slota) {
        r = slota(vm, a, b, op);
        if (!IS_NOT_IMPLEMENTED(vm, r)) return r;
    }
    if (slotb) {
        r = slotb(vm, a, b, op);
        if (!IS_NOT_IMPLEMENTED(vm, r)) return r;
    }
    return NOT_IMPLEMENTED(vm);
}

static AsyValue binop_slow(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyValue r;
    if (op >= ASY_BIN_INPLACE) {
        /* The in-place attempt goes to the left operand's type only. */
        AsyType *ta = asy_type_of(vm, a);
        if (ta->binop) {
            r = ta->binop(vm, a, b, op);
            if (!IS_NOT_IMPLEMENTED(vm, r)) return r;
        }
        r = binop_slots(vm, a, b, (AsyBinOp)(op - ASY_BIN_INPLACE));
    } else {
        r = binop_slots(vm, a, b, op);
    }
    if (IS_NOT_IMPLEMENTED(vm, r)) return raise_unsupported(vm, a, b, op);
    return r;
}

AsyValue asy_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyBinOp base = (AsyBinOp)(op % ASY_BIN_INPLACE);
    if (ASY_LIKELY(a.tag == ASY_T_INT && b.tag == ASY_T_INT)) {
        int64_t x = ASY_AS_INT(a), y = ASY_AS_INT(b), r;
        switch (base) {
        case ASY_BIN_ADD:
            if (!__builtin_add_overflow(x, y, &r)) return ASY_INT(r);
            break;
        case ASY_BIN_SUB:
            if (!__builtin_sub_overflow(x, y, &r)) return ASY_INT(r);
            break;
        case ASY_BIN_MUL:
            if (!__builtin_mul_overflow(x, y, &r)) return ASY_INT(r);
            break;
        case ASY_BIN_MATMUL: return raise_unsupported(vm, a, b, op);
        default: break;
        }
        return asy_num_int_binop(vm, a, b, base);
    }
    if (a.tag == ASY_T_FLOAT || b.tag == ASY_T_FLOAT) {
        double x, y;
        if (a.tag == ASY_T_FLOAT)
            x = ASY_AS_FLOAT(a);
        else if (ASY_IS_INTLIKE(a))
            x = (double)ASY_AS_INT(a);
        else
            return binop_slow(vm, a, b, op);
        if (b.tag == ASY_T_FLOAT)
            y = ASY_AS_FLOAT(b);
        else if (ASY_IS_INTLIKE(b))
            y = (double)ASY_AS_INT(b);
        else
            return binop_slow(vm, a, b, op);
        AsyValue r = asy_num_float_binop(vm, x, y, base);
        if (IS_NOT_IMPLEMENTED(vm, r)) return raise_unsupported(vm, a, b, op);
        return r;
    }
    if (ASY_IS_BOOL(a) && ASY_IS_BOOL(b)) {
        if (base == ASY_BIN_AND) return ASY_BOOL(ASY_AS_INT(a) & ASY_AS_INT(b));
        if (base == ASY_BIN_OR) return ASY_BOOL(ASY_AS_INT(a) | ASY_AS_INT(b));
        if (base == ASY_BIN_XOR) return ASY_BOOL(ASY_AS_INT(a) ^ ASY_AS_INT(b));
    }
    if (ASY_IS_INTLIKE(a) && ASY_IS_INTLIKE(b)) {
        if (base == ASY_BIN_MATMUL) return raise_unsupported(vm, a, b, op);
        return asy_num_int_binop(vm, a, b, base);
    }
    return binop_slow(vm, a, b, op);
}

static AsyValue raise_bad_unary(AsyVM *vm, AsyValue v, AsyUnaryOp op) {
    static const char syms[] = {'-', '+', '~'};
    return asy_raise(vm, ASY_EXC_TypeError, "bad operand type for unary %c: '%s'", syms[op],
                     asy_type_name(vm, v));
}

AsyValue asy_unaryop(AsyVM *vm, AsyValue v, AsyUnaryOp op) {
    if (ASY_IS_INTLIKE(v)) return asy_num_int_unaryop(vm, v, op);
    if (ASY_IS_FLOAT(v)) {
        if (op == ASY_UOP_NEG) return ASY_FLOAT(-ASY_AS_FLOAT(v));
        if (op == ASY_UOP_POS) return v;
        return raise_bad_unary(vm, v, op);
    }
    AsyType *t = asy_type_of(vm, v);
    AsyValue r = t->unaryop ? t->unaryop(vm, v, op) : NOT_IMPLEMENTED(vm);
    if (IS_NOT_IMPLEMENTED(vm, r)) return raise_bad_unary(vm, v, op);
    return r;
}

/* ---- builtins helpers ---- */

static bool is_real(AsyVM *vm, AsyValue v) {
    return asy_num_is_int(vm, v) || asy_num_is_float(vm, v);
}

/* The type's method `name` called as name(self, args...); UNDEF when the type lacks it. */
static AsyValue call_method_opt(AsyVM *vm, AsyValue self, AsyStr *name, int argc, AsyValue *args) {
    AsyValue m = asy_type_lookup(asy_type_of(vm, self), name);
    if (ASY_IS_UNDEF(m)) return m;
    AsyValue argv[3] = {self, argc > 0 ? args[0] : ASY_NONE, argc > 1 ? args[1] : ASY_NONE};
    return asy_call(vm, m, argc + 1, argv, NULL);
}

static AsyValue pair(AsyVM *vm, AsyValue x, AsyValue y) {
    if (ASY_IS_ERR(x) || ASY_IS_ERR(y)) return ASY_ERR;
    AsyValue items[2] = {x, y};
    return ASY_OBJ(asy_tuple_from_array(vm, items, 2));
}

AsyValue asy_number_divmod(AsyVM *vm, AsyValue a, AsyValue b) {
    if (asy_num_is_int(vm, a) && asy_num_is_int(vm, b)) {
        if (asy_num_int_sign(b) == 0)
            return asy_raise(vm, ASY_EXC_ZeroDivisionError, "integer division or modulo by zero");
        AsyValue q = asy_num_int_binop(vm, a, b, ASY_BIN_FLOORDIV);
        if (ASY_IS_ERR(q)) return q;
        return pair(vm, q, asy_num_int_binop(vm, a, b, ASY_BIN_MOD));
    }
    if (is_real(vm, a) && is_real(vm, b)) {
        double x, y, q, m;
        if (!asy_to_double(vm, a, &x) || !asy_to_double(vm, b, &y)) return ASY_ERR;
        if (y == 0.0) return asy_raise(vm, ASY_EXC_ZeroDivisionError, "float divmod()");
        float_divmod(x, y, &q, &m);
        return pair(vm, ASY_FLOAT(q), ASY_FLOAT(m));
    }
    asy_root_push(vm, a);
    asy_root_push(vm, b);
    AsyValue r = call_method_opt(vm, a, ASY_S(vm, __divmod__), 1, &b);
    if ((ASY_IS_UNDEF(r) || IS_NOT_IMPLEMENTED(vm, r)) && asy_type_of(vm, a) != asy_type_of(vm, b))
        r = call_method_opt(vm, b, ASY_S(vm, __rdivmod__), 1, &a);
    asy_root_pop(vm, 2);
    if (ASY_IS_UNDEF(r) || IS_NOT_IMPLEMENTED(vm, r))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "unsupported operand type(s) for divmod(): '%s' and '%s'",
                         asy_type_name(vm, a), asy_type_name(vm, b));
    return r;
}

static AsyValue int_powmod(AsyVM *vm, AsyValue a, AsyValue b, AsyValue c) {
    if (asy_num_int_sign(c) == 0)
        return asy_raise(vm, ASY_EXC_ValueError, "pow() 3rd argument cannot be 0");
    AsyMpzTmp ta, tb, tc;
    mpz_srcptr x = asy_num_mpz(a, &ta), e = asy_num_mpz(b, &tb), m = asy_num_mpz(c, &tc);
    mpz_t base, am, r;
    mpz_inits(base, am, r, NULL);
    mpz_abs(am, m);
    mpz_set(base, x);
    bool ok = true;
    if (mpz_sgn(e) < 0) ok = mpz_invert(base, base, am) != 0;
    if (ok) {
        mpz_t ae;
        mpz_init(ae);
        mpz_abs(ae, e);
        mpz_powm(r, base, ae, am);
        mpz_clear(ae);
        if (mpz_sgn(m) < 0 && mpz_sgn(r) != 0) mpz_add(r, r, m);
    }
    AsyValue res =
        ok ? asy_num_int_take(vm, r)
           : asy_raise(vm, ASY_EXC_ValueError, "base is not invertible for the given modulus");
    mpz_clears(base, am, r, NULL);
    return res;
}

AsyValue asy_number_pow3(AsyVM *vm, AsyValue a, AsyValue b, AsyValue mod) {
    if (ASY_IS_NONE(mod) || ASY_IS_UNDEF(mod)) return asy_binop(vm, a, b, ASY_BIN_POW);
    if (asy_num_is_int(vm, a) && asy_num_is_int(vm, b) && asy_num_is_int(vm, mod))
        return int_powmod(vm, asy_num_int_exact(vm, a), asy_num_int_exact(vm, b),
                          asy_num_int_exact(vm, mod));
    if (is_real(vm, a) && is_real(vm, b) && is_real(vm, mod))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "pow() 3rd argument not allowed unless all arguments are integers");
    asy_root_push(vm, a);
    asy_root_push(vm, b);
    asy_root_push(vm, mod);
    AsyValue args[2] = {b, mod};
    AsyValue r = is_real(vm, a) ? ASY_UNDEF : call_method_opt(vm, a, ASY_S(vm, __pow__), 2, args);
    asy_root_pop(vm, 3);
    if (ASY_IS_UNDEF(r) || IS_NOT_IMPLEMENTED(vm, r))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "unsupported operand type(s) for ** or pow(): '%s', '%s', '%s'",
                         asy_type_name(vm, a), asy_type_name(vm, b), asy_type_name(vm, mod));
    return r;
}

AsyValue asy_number_abs(AsyVM *vm, AsyValue v) {
    if (ASY_IS_FLOAT(v)) return ASY_FLOAT(fabs(ASY_AS_FLOAT(v)));
    if (asy_num_is_int(vm, v)) {
        if (asy_num_int_sign(v) < 0) return asy_num_int_unaryop(vm, v, ASY_UOP_NEG);
        return asy_num_int_exact(vm, v);
    }
    if (asy_num_is_floatobj(vm, v) &&
        ASY_IS_UNDEF(asy_type_lookup(asy_type_of(vm, v), ASY_S(vm, __abs__))))
        return ASY_FLOAT(fabs(asy_num_float_value(v)));
    AsyValue r = call_method_opt(vm, v, ASY_S(vm, __abs__), 0, NULL);
    if (ASY_IS_UNDEF(r))
        return asy_raise(vm, ASY_EXC_TypeError, "bad operand type for abs(): '%s'",
                         asy_type_name(vm, v));
    return r;
}

AsyValue asy_number_round(AsyVM *vm, AsyValue v, AsyValue ndigits) {
    if (ASY_IS_FLOAT(v)) return asy_num_float_round(vm, ASY_AS_FLOAT(v), ndigits);
    if (ASY_IS_INTLIKE(v) || (ASY_IS_OBJ(v) && ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v)) == ASY_TYPE(vm, int)))
        return asy_num_int_round(vm, v, ndigits);
    bool has_nd = !ASY_IS_UNDEF(ndigits) && !ASY_IS_NONE(ndigits);
    AsyValue r = call_method_opt(vm, v, ASY_S(vm, __round__), has_nd ? 1 : 0, &ndigits);
    if (ASY_IS_UNDEF(r))
        return asy_raise(vm, ASY_EXC_TypeError, "type %s doesn't define __round__ method",
                         asy_type_name(vm, v));
    return r;
}

/* ---- formatting: the number side of the format-spec mini-language ---- */

static size_t utf8_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* CPython's calc_number_widths + fill: [sign][prefix][digits grouped, zero-filled to the
 * width for the '0' flag][rest], then padded to the width. */
static AsyValue number_layout(AsyVM *vm, const AsyFormatSpec *fs, bool negative, const char *prefix,
                              const char *digits, size_t ndigits, const char *rest, size_t restlen,
                              int interval) {
    char sign = negative ? '-' : fs->sign == '+' ? '+' : fs->sign == ' ' ? ' ' : 0;
    size_t nsign = sign != 0, nprefix = strlen(prefix);
    size_t rest_chars = utf8_chars(rest, restlen);
    int64_t min_width = 0;
    if (asy_format_fill(fs) == '0' && asy_format_align(fs, '>') == '=' && fs->width >= 0)
        min_width = fs->width - (int64_t)(nsign + nprefix + rest_chars);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    if (sign) asy_strbuf_append(vm, &b, &sign, 1);
    asy_strbuf_append(vm, &b, prefix, nprefix);
    if (ndigits > 0 && fs->grouping) {
        asy_format_group_digits(vm, &b, digits, ndigits, fs->grouping, interval, min_width);
    } else if (ndigits > 0) {
        for (int64_t i = (int64_t)ndigits; i < min_width; i++)
            asy_strbuf_append(vm, &b, "0", 1);
        asy_strbuf_append(vm, &b, digits, ndigits);
    }
    asy_strbuf_append(vm, &b, rest, restlen);
    if (b.failed) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    AsyStr *s =
        asy_format_pad_ex(vm, b.data, b.len, utf8_chars(b.data, b.len), fs, '>', nsign + nprefix);
    asy_strbuf_free(&b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* No type but a precision (format(x, '.3')): like 'g', except that the exponent form
 * starts one digit earlier and fixed-point text always has a '.0' (CPython's
 * Py_DTSF_ADD_DOT_0). */
static char *float_text_dot0(AsyVM *vm, double a, int prec, bool alt, size_t *len, size_t *cap) {
    int p = prec == 0 ? 1 : prec;
    char e[40];
    snprintf(e, sizeof e, "%.*e", p - 1, a);
    int x = atoi(strchr(e, 'e') + 1);
    bool use_exp = x < -4 || x >= p - 1;
    int n = use_exp ? snprintf(NULL, 0, alt ? "%#.*e" : "%.*e", p - 1, a)
                    : snprintf(NULL, 0, alt ? "%#.*g" : "%.*g", p, a);
    *cap = (size_t)n + 3;
    char *buf = asy_mem_alloc(vm, *cap);
    if (!buf) return NULL;
    if (use_exp) {
        snprintf(buf, *cap, alt ? "%#.*e" : "%.*e", p - 1, a);
        if (!alt) { /* strip the mantissa's trailing zeros (and a bare point) */
            char *ep = strchr(buf, 'e'), *q = ep;
            while (q > buf && q[-1] == '0' && strchr(buf, '.') && strchr(buf, '.') < q)
                q--;
            if (q > buf && q[-1] == '.') q--;
            memmove(q, ep, strlen(ep) + 1);
        }
    } else {
        snprintf(buf, *cap, alt ? "%#.*g" : "%.*g", p, a);
        if (!strchr(buf, '.')) strcat(buf, ".0");
    }
    *len = strlen(buf);
    return buf;
}

/* Text of a finite |d| for presentation type t ('e','E','f','F','g','G', 'r' for repr,
 * 'R' for no type with a precision) into an asy_mem buffer. */
static char *float_text(AsyVM *vm, double a, char t, int prec, bool alt, size_t *len, size_t *cap) {
    if (t == 'r') {
        *cap = 32;
        char *buf = asy_mem_alloc(vm, *cap);
        if (buf) *len = asy_num_float_repr_buf(a, buf);
        return buf;
    }
    if (t == 'R') return float_text_dot0(vm, a, prec, alt, len, cap);
    char fmt[8] = "%";
    size_t f = 1;
    if (alt) fmt[f++] = '#';
    fmt[f++] = '.', fmt[f++] = '*', fmt[f++] = t, fmt[f] = '\0';
    int n = snprintf(NULL, 0, fmt, prec, a);
    *cap = (size_t)n + 1;
    char *buf = asy_mem_alloc(vm, *cap);
    if (buf) *len = (size_t)snprintf(buf, *cap, fmt, prec, a);
    return buf;
}

static AsyValue format_double(AsyVM *vm, double d, const AsyFormatSpec *fs) {
    if (fs->precision > INT_MAX) return asy_raise(vm, ASY_EXC_ValueError, "precision too big");
    char t = (char)fs->type;
    int prec = (int)fs->precision, default_prec = 6;
    bool pct = false;
    if (t == 0) {
        t = 'r';
        default_prec = 0;
    }
    if (t == 'n') t = 'g';
    if (t == '%') {
        t = 'f';
        d *= 100;
        pct = true;
    }
    if (prec < 0)
        prec = default_prec;
    else if (t == 'r')
        t = 'R';
    bool negative = signbit(d) && !isnan(d);
    char special[8];
    char *text;
    size_t len, cap = 0;
    if (!isfinite(d)) {
        bool upper = t == 'E' || t == 'F' || t == 'G';
        len = (size_t)snprintf(special, sizeof special, "%s",
                               isnan(d) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"));
        text = special;
    } else {
        text = float_text(vm, fabs(d), t, prec, fs->alternate, &len, &cap);
        if (!text) return ASY_ERR;
        if (fs->z && negative && strspn(text, "0.") == strcspn(text, "eE")) negative = false;
    }
    size_t ndigits = strspn(text, "0123456789");
    AsyStrBuf rest;
    asy_strbuf_init(&rest);
    asy_strbuf_append(vm, &rest, text + ndigits, len - ndigits);
    if (pct) asy_strbuf_append(vm, &rest, "%", 1);
    AsyValue r = rest.failed ? ASY_ERR
                             : number_layout(vm, fs, negative, "", text, ndigits,
                                             rest.data ? rest.data : "", rest.len, 3);
    asy_strbuf_free(&rest);
    if (cap) asy_mem_free(vm, text, cap);
    return r;
}

AsyValue asy_num_format_float(AsyVM *vm, AsyValue obj, double d, AsyStr *spec) {
    if (!spec || spec->len == 0) return asy_str(vm, obj);
    AsyFormatSpec fs;
    if (!asy_format_spec_parse(vm, spec, obj, &fs)) return ASY_ERR;
    switch (fs.type) {
    case 0:
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'n':
    case '%': return format_double(vm, d, &fs);
    default: return asy_format_unknown_code(vm, &fs, obj);
    }
}

/* format(int, 'c'). */
static AsyValue format_char(AsyVM *vm, AsyValue v, const AsyFormatSpec *fs) {
    if (fs->sign)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "Sign not allowed with integer format specifier 'c'");
    if (fs->alternate)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "Alternate form (#) not allowed with integer format specifier 'c'");
    int of;
    int64_t c = asy_num_int_as_i64(v, &of);
    if (of)
        return asy_raise(vm, ASY_EXC_OverflowError, "Python int too large to convert to C long");
    if (c < 0 || c > 0x10FFFF)
        return asy_raise(vm, ASY_EXC_OverflowError, "%%c arg not in range(0x110000)");
    char buf[4];
    size_t n;
    uint32_t cp = (uint32_t)c;
    if (cp < 0x80)
        buf[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        buf[0] = (char)(0xC0 | cp >> 6), buf[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        buf[0] = (char)(0xE0 | cp >> 12), buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        buf[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        buf[0] = (char)(0xF0 | cp >> 18), buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), buf[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return number_layout(vm, fs, false, "", "", 0, buf, n, 3);
}

static AsyValue format_integer(AsyVM *vm, AsyValue v, const AsyFormatSpec *fs) {
    if (fs->precision >= 0)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "Precision not allowed in integer format specifier");
    if (fs->z)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "Negative zero coercion (z) not allowed in integer format specifier");
    char t = (char)fs->type;
    if (t == 'c') return format_char(vm, v, fs);
    int base = t == 'b' ? 2 : t == 'o' ? 8 : (t == 'x' || t == 'X') ? 16 : 10;
    const char *prefix = "";
    if (fs->alternate)
        prefix = t == 'b' ? "0b" : t == 'o' ? "0o" : t == 'x' ? "0x" : t == 'X' ? "0X" : "";
    AsyMpzTmp tmp;
    mpz_srcptr z = asy_num_mpz(v, &tmp);
    mpz_t a;
    mpz_roinit_n(a, mpz_limbs_read(z), mpz_size(z));
    size_t cap = mpz_sizeinbase(a, base) + 2;
    if (base == 10 && cap > ASY_INT_MAX_STR_DIGITS + 3) goto too_long;
    char small[72];
    char *digits = cap <= sizeof small ? small : asy_mem_alloc(vm, cap);
    if (!digits) return ASY_ERR;
    mpz_get_str(digits, t == 'X' ? -16 : base, a);
    size_t n = strlen(digits);
    AsyValue r;
    if (base == 10 && n > ASY_INT_MAX_STR_DIGITS) {
        if (digits != small) asy_mem_free(vm, digits, cap);
        goto too_long;
    }
    r = number_layout(vm, fs, mpz_sgn(z) < 0, prefix, digits, n, "", 0, base == 10 ? 3 : 4);
    if (digits != small) asy_mem_free(vm, digits, cap);
    return r;
too_long:
    return asy_raise(vm, ASY_EXC_ValueError,
                     "Exceeds the limit (%d digits) for integer string conversion; use "
                     "sys.set_int_max_str_digits() to increase the limit",
                     ASY_INT_MAX_STR_DIGITS);
}

AsyValue asy_num_format_int(AsyVM *vm, AsyValue obj, AsyValue v, AsyStr *spec) {
    if (!spec || spec->len == 0) return asy_str(vm, obj);
    AsyFormatSpec fs;
    if (!asy_format_spec_parse(vm, spec, obj, &fs)) return ASY_ERR;
    switch (fs.type) {
    case 0: fs.type = 'd'; return format_integer(vm, v, &fs);
    case 'b':
    case 'c':
    case 'd':
    case 'o':
    case 'x':
    case 'X':
    case 'n': return format_integer(vm, v, &fs);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case '%': {
        double d;
        if (!asy_num_int_to_double(v, &d)) return raise_int_too_large(vm);
        return format_double(vm, d, &fs);
    }
    default: return asy_format_unknown_code(vm, &fs, obj);
    }
}
