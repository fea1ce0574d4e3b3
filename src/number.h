/* number.h - internal declarations shared by the number files (int.c, float.c, number.c,
 * mod_math.c): bigint access without copies, exact int/float conversions and comparisons,
 * hashing, rounding and the number formatting engine. Nothing here is part of the public
 * runtime API (that is vm.h). */
#ifndef ASY_NUMBER_H
#define ASY_NUMBER_H

#include "vm.h"

#if GMP_NUMB_BITS != 64 || GMP_NAIL_BITS != 0
#error "asy needs 64-bit GMP limbs (an int64 must fit in one limb)"
#endif

/* The modulus of CPython's numeric hash (2**61 - 1): equal numbers of any type hash alike. */
#define ASY_HASH_BITS 61
#define ASY_HASH_MODULUS (((uint64_t)1 << ASY_HASH_BITS) - 1)
#define ASY_HASH_INF 314159

/* CPython 3.11's limit on decimal int <-> str conversions (sys.get_int_max_str_digits()). */
#define ASY_INT_MAX_STR_DIGITS 4300

/* Results larger than this many bits raise MemoryError instead of asking GMP for the
 * memory (GMP aborts the process when malloc fails). 2**35 bits is a 4 GiB int. */
#define ASY_INT_MAX_BITS ((uint64_t)1 << 35)

/* A read-only mpz view of any int value, without allocating: a bigint's own mpz, or a
 * one-limb mpz over the int64 stored in `limb`. Never pass the view to an mpz function
 * as an output. */
typedef struct {
    mp_limb_t limb;
    mpz_t z;
} AsyMpzTmp;

static inline mpz_srcptr asy_num_mpz(AsyValue v, AsyMpzTmp *t) {
    if (ASY_IS_OBJ(v)) return ((AsyBigInt *)ASY_AS_OBJ(v))->z;
    int64_t i = ASY_AS_INT(v);
    t->limb = i < 0 ? -(mp_limb_t)(uint64_t)i : (mp_limb_t)(uint64_t)i;
    return mpz_roinit_n(t->z, &t->limb, i < 0 ? -1 : i > 0);
}

/* Is v an int object (a bigint, or an instance of a user subclass of int)? Unboxed ints and
 * bools are not objects: test ASY_IS_INTLIKE for those. */
static inline bool asy_num_is_intobj(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v)) return false;
    AsyType *t = ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v));
    return t == ASY_TYPE(vm, int) || asy_is_subtype(t, ASY_TYPE(vm, int));
}

/* int, bool, bigint or int subclass instance. */
static inline bool asy_num_is_int(AsyVM *vm, AsyValue v) {
    return ASY_IS_INTLIKE(v) || asy_num_is_intobj(vm, v);
}

/* A float value: unboxed, or an instance of a user subclass of float (the AsyFloatObj
 * layout). */
typedef struct {
    AsyObj hdr;
    double value;
} AsyFloatObj;

static inline bool asy_num_is_floatobj(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_is_subtype(ASY_TYPE_OF_OBJ(ASY_AS_OBJ(v)), ASY_TYPE(vm, float));
}
static inline bool asy_num_is_float(AsyVM *vm, AsyValue v) {
    return ASY_IS_FLOAT(v) || asy_num_is_floatobj(vm, v);
}
static inline double asy_num_float_value(AsyValue v) {
    return ASY_IS_FLOAT(v) ? ASY_AS_FLOAT(v) : ((AsyFloatObj *)ASY_AS_OBJ(v))->value;
}

/* Arity check of a slot wrapper (int.__add__ and co.): "expected 1 argument, got 0". */
static inline bool asy_num_wrapper_args(AsyVM *vm, int given, int expected) {
    if (given == expected) return true;
    asy_raise(vm, ASY_EXC_TypeError, "expected %d argument%s, got %d", expected,
              expected == 1 ? "" : "s", given);
    return false;
}

/* ---- int.c ---- */
/* Normalise z into a value, taking its limbs (z is left empty but must still be cleared). */
AsyValue asy_num_int_take(AsyVM *vm, mpz_t z);
/* The plain int value of an int-like (an int subclass instance becomes a plain int). */
AsyValue asy_num_int_exact(AsyVM *vm, AsyValue v);
/* Compare two int values: <0, 0, >0. */
int asy_num_int_cmp(AsyValue a, AsyValue b);
/* Compare an int value with a double exactly: -1, 0, 1, or 2 when d is NaN. */
int asy_num_int_cmp_double(AsyValue a, double d);
int64_t asy_num_int_hash(AsyValue v);
/* The int value of a finite double, truncated toward zero; raises for inf and NaN. */
AsyValue asy_num_int_from_double(AsyVM *vm, double d);
/* operator.index(v): an int value (possibly big) from an int or __index__. */
AsyValue asy_num_index(AsyVM *vm, AsyValue v);
/* v as an int64 that may be clamped: *overflow is -1/+1 when v is below/above int64. */
int64_t asy_num_int_as_i64(AsyValue v, int *overflow);
/* The int's bit length and sign. */
uint64_t asy_num_int_bit_length(AsyValue v);
int asy_num_int_sign(AsyValue v);
/* Text with non-ASCII decimal digits and spaces made ASCII (int(), float() on str): *out
 * is an asy_mem buffer of len + 1 bytes, or NULL when s is ASCII; false on MemoryError. */
bool asy_num_ascii_text(AsyVM *vm, const char *s, size_t len, char **out, size_t *outlen);
/* Trim leading and trailing whitespace (ASCII and Unicode spaces) of [*p, *end). */
void asy_num_strip(const char **p, const char **end);
/* Read-only attributes (real, imag, ...) as properties whose getter is a native. */
void asy_num_add_getters(AsyVM *vm, AsyType *type, const AsyMethodDef *defs);
/* round(int, ndigits) for negative ndigits (half to even). */
AsyValue asy_num_int_round(AsyVM *vm, AsyValue v, AsyValue ndigits);

/* ---- float.c ---- */
/* repr(d) into buf (at least 32 bytes); returns the length. */
size_t asy_num_float_repr_buf(double d, char *buf);
int64_t asy_num_float_hash(double d);
/* x as a double from int/bool/bigint/float or __float__/__index__; TypeError "must be real
 * number, not str" (math module's wording) otherwise. */
bool asy_num_to_double_any(AsyVM *vm, AsyValue v, double *out);
/* round(x, ndigits) with ndigits an int value; round(x) when ndigits is UNDEF or None. */
AsyValue asy_num_float_round(AsyVM *vm, double x, AsyValue ndigits);
/* A float value of `type` (a float subclass instance when type is not float itself). */
AsyValue asy_num_float_new_of(AsyVM *vm, AsyType *type, double d);

/* ---- number.c ---- */
/* Correctly rounded (half even) double of q * 2**exp2 (+ a nonzero tail below q's last bit
 * when sticky; q must then have at least 55 bits). q >= 0. false on overflow. */
bool asy_num_scaled_to_double(mpz_srcptr q, int64_t exp2, bool sticky, double *out);
/* Correctly rounded double of an int value; false (no exception set) on overflow. */
bool asy_num_int_to_double(AsyValue v, double *out);
/* The operators on two int-like values / two real numbers (ints or floats). op has no
 * ASY_BIN_INPLACE bit. NotImplemented for operators the types do not have. */
AsyValue asy_num_int_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op);
AsyValue asy_num_float_binop(AsyVM *vm, double a, double b, AsyBinOp op);
AsyValue asy_num_int_unaryop(AsyVM *vm, AsyValue v, AsyUnaryOp op);
/* format(int, spec) and format(float, spec) (obj is the formatted object, for messages). */
AsyValue asy_num_format_int(AsyVM *vm, AsyValue obj, AsyValue v, AsyStr *spec);
AsyValue asy_num_format_float(AsyVM *vm, AsyValue obj, double d, AsyStr *spec);

#endif
