/* mod_math.c - the `math` module, following CPython 3.11's mathmodule.c: the same error
 * rules ("math domain error" ValueError for results outside the domain, "math range error"
 * OverflowError for overflow), big-int aware log/floor/ceil, exact integer functions on
 * GMP (factorial, comb, perm, isqrt, gcd, lcm) and the exact fsum (Shewchuk's algorithm).
 */
#include "common.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "number.h"

#define FN(name) static AsyValue math_##name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw)

static AsyValue domain_error(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_ValueError, "math domain error");
}
static AsyValue range_error(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_OverflowError, "math range error");
}

/* CPython's math_1: r = f(x) with NaN from a non-NaN meaning a domain error and an infinity
 * from a finite x an overflow (or a domain error, e.g. log(0), when !can_overflow). */
static AsyValue math_1(AsyVM *vm, AsyValue arg, double (*f)(double), bool can_overflow) {
    double x;
    if (!asy_num_to_double_any(vm, arg, &x)) return ASY_ERR;
    double r = f(x);
    if (isnan(r) && !isnan(x)) return domain_error(vm);
    if (isinf(r) && isfinite(x)) return can_overflow ? range_error(vm) : domain_error(vm);
    return ASY_FLOAT(r);
}

#define ONE_ARG(name, cfn, overflow)                                                               \
    FN(name) {                                                                                     \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_check_args(vm, "math." #name, argc, 1, 1)) return ASY_ERR;                        \
        return math_1(vm, argv[0], cfn, overflow);                                                 \
    }

static double m_sqrt(double x) { return x < 0 ? NAN : sqrt(x); }
static double m_exp2(double x) { return exp2(x); }
static double m_degrees(double x) { return x * (180.0 / M_PI); }
static double m_radians(double x) { return x * (M_PI / 180.0); }
ONE_ARG(sqrt, m_sqrt, false)
ONE_ARG(exp, exp, true)
ONE_ARG(exp2, m_exp2, true)
ONE_ARG(expm1, expm1, true)
ONE_ARG(sin, sin, false)
ONE_ARG(cos, cos, false)
ONE_ARG(tan, tan, false)
ONE_ARG(asin, asin, false)
ONE_ARG(acos, acos, false)
ONE_ARG(atan, atan, false)
ONE_ARG(sinh, sinh, true)
ONE_ARG(cosh, cosh, true)
ONE_ARG(tanh, tanh, false)
ONE_ARG(asinh, asinh, false)
ONE_ARG(acosh, acosh, false)
ONE_ARG(atanh, atanh, false)
ONE_ARG(fabs, fabs, false)
ONE_ARG(cbrt, cbrt, false)
ONE_ARG(erf, erf, false)
ONE_ARG(erfc, erfc, false)
ONE_ARG(degrees, m_degrees, true)
ONE_ARG(radians, m_radians, true)

/* ---- gamma and lgamma: CPython's own Lanczos implementation, so results match to the
 * last bit (libm's differ); errors are reported as CPython's errno (EDOM/ERANGE). ---- */

#define LANCZOS_N 13
static const double lanczos_g = 6.024680040776729583740234375;
static const double lanczos_g_minus_half = 5.524680040776729583740234375;
static const double lanczos_num_coeffs[LANCZOS_N] = {
    23531376880.410759688572007674451636754734846804940,
    42919803642.649098768957899047001988850926355848959,
    35711959237.355668049440185451547166705960488635843,
    17921034426.037209699919755754458931112671403265390,
    6039542586.3520280050642916443072979210699388420708,
    1439720407.3117216736632230727949123939715485786772,
    248874557.86205415651146038641322942321632125127801,
    31426415.585400194380614231628318205362874684987640,
    2876370.6289353724412254090516208496135991145378768,
    186056.26539522349504029498971604569928220784236328,
    8071.6720023658162106380029022722506138218516325024,
    210.82427775157934587250973392071336271166969580291,
    2.5066282746310002701649081771338373386264310793408};
static const double lanczos_den_coeffs[LANCZOS_N] = {
    0.0,       39916800.0, 120543840.0, 150917976.0, 105258076.0, 45995730.0, 13339535.0,
    2637558.0, 357423.0,   32670.0,     1925.0,      66.0,        1.0};
#define NGAMMA_INTEGRAL 23
static const double gamma_integral[NGAMMA_INTEGRAL] = {1.0,
                                                       1.0,
                                                       2.0,
                                                       6.0,
                                                       24.0,
                                                       120.0,
                                                       720.0,
                                                       5040.0,
                                                       40320.0,
                                                       362880.0,
                                                       3628800.0,
                                                       39916800.0,
                                                       479001600.0,
                                                       6227020800.0,
                                                       87178291200.0,
                                                       1307674368000.0,
                                                       20922789888000.0,
                                                       355687428096000.0,
                                                       6402373705728000.0,
                                                       121645100408832000.0,
                                                       2432902008176640000.0,
                                                       51090942171709440000.0,
                                                       1124000727777607680000.0};

static double lanczos_sum(double x) {
    double num = 0.0, den = 0.0;
    if (x < 5.0) {
        for (int i = LANCZOS_N; --i >= 0;) {
            num = num * x + lanczos_num_coeffs[i];
            den = den * x + lanczos_den_coeffs[i];
        }
    } else {
        for (int i = 0; i < LANCZOS_N; i++) {
            num = num / x + lanczos_num_coeffs[i];
            den = den / x + lanczos_den_coeffs[i];
        }
    }
    return num / den;
}

/* sin(pi * x) for finite x, exact at the integers and half-integers. */
static double m_sinpi(double x) {
    double y = fmod(fabs(x), 2.0), r;
    switch ((int)round(2.0 * y)) {
    case 0: r = sin(M_PI * y); break;
    case 1: r = cos(M_PI * (y - 0.5)); break;
    case 2: r = sin(M_PI * (1.0 - y)); break;
    case 3: r = -cos(M_PI * (y - 1.5)); break;
    default: r = sin(M_PI * (y - 2.0)); break;
    }
    return copysign(1.0, x) * r;
}

static double m_tgamma(double x, int *err) {
    if (!isfinite(x)) {
        if (isnan(x) || x > 0.0) return x;
        *err = EDOM;
        return NAN;
    }
    if (x == 0.0) {
        *err = EDOM;
        return copysign(HUGE_VAL, x);
    }
    if (x == floor(x)) {
        if (x < 0.0) {
            *err = EDOM;
            return NAN;
        }
        if (x <= NGAMMA_INTEGRAL) return gamma_integral[(int)x - 1];
    }
    double absx = fabs(x), r, z;
    if (absx < 1e-20) {
        r = 1.0 / x;
        if (isinf(r)) *err = ERANGE;
        return r;
    }
    if (absx > 200.0) {
        if (x < 0.0) return 0.0 / m_sinpi(x);
        *err = ERANGE;
        return HUGE_VAL;
    }
    double y = absx + lanczos_g_minus_half;
    if (absx > lanczos_g_minus_half) {
        double q = y - absx;
        z = q - lanczos_g_minus_half;
    } else {
        double q = y - lanczos_g_minus_half;
        z = q - absx;
    }
    z = z * lanczos_g / y;
    if (x < 0.0) {
        r = -M_PI / m_sinpi(absx) / absx * exp(y) / lanczos_sum(absx);
        r -= z * r;
        if (absx < 140.0) {
            r /= pow(y, absx - 0.5);
        } else {
            double sqrtpow = pow(y, absx / 2.0 - 0.25);
            r /= sqrtpow;
            r /= sqrtpow;
        }
    } else {
        r = lanczos_sum(absx) / exp(y);
        r += z * r;
        if (absx < 140.0) {
            r *= pow(y, absx - 0.5);
        } else {
            double sqrtpow = pow(y, absx / 2.0 - 0.25);
            r *= sqrtpow;
            r *= sqrtpow;
        }
    }
    if (isinf(r)) *err = ERANGE;
    return r;
}

static double m_lgamma(double x, int *err) {
    if (!isfinite(x)) return isnan(x) ? x : HUGE_VAL;
    if (x == floor(x) && x <= 2.0) {
        if (x <= 0.0) {
            *err = EDOM;
            return HUGE_VAL;
        }
        return 0.0;
    }
    double absx = fabs(x);
    if (absx < 1e-20) return -log(absx);
    double r = log(lanczos_sum(absx)) - lanczos_g;
    r += (absx - 0.5) * (log(absx + lanczos_g - 0.5) - 1);
    if (x < 0.0)
        r = 1.144729885849400174143427351353058711647 - log(fabs(m_sinpi(absx))) - log(absx) - r;
    if (isinf(r)) *err = ERANGE;
    return r;
}

/* CPython's math_1a: the function reports its own errors (an underflow is not one). */
static AsyValue math_1a(AsyVM *vm, int argc, AsyValue *argv, const char *name,
                        double (*f)(double, int *)) {
    double x;
    if (!asy_check_args(vm, name, argc, 1, 1) || !asy_num_to_double_any(vm, argv[0], &x))
        return ASY_ERR;
    int err = 0;
    double r = f(x, &err);
    if (err == EDOM) return domain_error(vm);
    if (err == ERANGE && fabs(r) >= 1.5) return range_error(vm);
    return ASY_FLOAT(r);
}

FN(gamma) {
    ASY_UNUSED(kw);
    return math_1a(vm, argc, argv, "math.gamma", m_tgamma);
}

FN(lgamma) {
    ASY_UNUSED(kw);
    return math_1a(vm, argc, argv, "math.lgamma", m_lgamma);
}

/* ---- logarithms: ints of any size ---- */

static double m_log(double x) { return x > 0 ? log(x) : x == 0 ? -INFINITY : NAN; }
static double m_log2(double x) { return x > 0 ? log2(x) : x == 0 ? -INFINITY : NAN; }
static double m_log10(double x) { return x > 0 ? log10(x) : x == 0 ? -INFINITY : NAN; }

/* f(arg) for int or float arg; a huge int is split as m * 2**e first. */
static bool log_helper(AsyVM *vm, AsyValue arg, double (*f)(double), double *out) {
    if (asy_num_is_int(vm, arg)) {
        if (asy_num_int_sign(arg) <= 0) {
            domain_error(vm);
            return false;
        }
        double x;
        if (asy_num_int_to_double(arg, &x)) {
            *out = f(x);
            return true;
        }
        AsyMpzTmp t;
        mpz_srcptr z = asy_num_mpz(arg, &t);
        int64_t e = (int64_t)mpz_sizeinbase(z, 2);
        asy_num_scaled_to_double(z, -e, false, &x); /* x in [0.5, 1] */
        *out = f(x) + f(2.0) * (double)e;
        return true;
    }
    AsyValue r = math_1(vm, arg, f, false);
    if (ASY_IS_ERR(r)) return false;
    *out = ASY_AS_FLOAT(r);
    return true;
}

FN(log) {
    ASY_UNUSED(kw);
    if (argc < 1 || argc > 2)
        return asy_raise(vm, ASY_EXC_TypeError, "math.log requires 1 to 2 arguments");
    double num, den;
    if (!log_helper(vm, argv[0], m_log, &num)) return ASY_ERR;
    if (argc == 1) return ASY_FLOAT(num);
    if (!log_helper(vm, argv[1], m_log, &den)) return ASY_ERR;
    if (den == 0) return asy_raise(vm, ASY_EXC_ZeroDivisionError, "float division by zero");
    return ASY_FLOAT(num / den);
}

FN(log2) {
    ASY_UNUSED(kw);
    double r;
    if (!asy_check_args(vm, "math.log2", argc, 1, 1) || !log_helper(vm, argv[0], m_log2, &r))
        return ASY_ERR;
    return ASY_FLOAT(r);
}

FN(log10) {
    ASY_UNUSED(kw);
    double r;
    if (!asy_check_args(vm, "math.log10", argc, 1, 1) || !log_helper(vm, argv[0], m_log10, &r))
        return ASY_ERR;
    return ASY_FLOAT(r);
}

static double m_log1p(double x) { return x > -1 ? log1p(x) : x == -1 ? -INFINITY : NAN; }
ONE_ARG(log1p, m_log1p, false)

/* ---- two-argument float functions ---- */

static bool two_doubles(AsyVM *vm, const char *name, int argc, AsyValue *argv, double *x,
                        double *y) {
    return asy_check_args(vm, name, argc, 2, 2) && asy_num_to_double_any(vm, argv[0], x) &&
           asy_num_to_double_any(vm, argv[1], y);
}

FN(pow) {
    ASY_UNUSED(kw);
    double x, y, r;
    if (!two_doubles(vm, "pow", argc, argv, &x, &y)) return ASY_ERR;
    if (!isfinite(x) || !isfinite(y)) {
        if (isnan(x))
            r = y == 0 ? 1.0 : x;
        else if (isnan(y))
            r = x == 1.0 ? 1.0 : y;
        else if (isinf(x)) {
            bool odd = isfinite(y) && fmod(fabs(y), 2.0) == 1.0;
            r = y > 0 ? (odd ? x : fabs(x)) : y == 0 ? 1.0 : (odd ? copysign(0.0, x) : 0.0);
        } else {
            if (fabs(x) == 1.0)
                r = 1.0;
            else if (y > 0 && fabs(x) > 1.0)
                r = y;
            else if (y < 0 && fabs(x) < 1.0)
                r = -y;
            else
                r = 0.0;
        }
        return ASY_FLOAT(r);
    }
    r = pow(x, y);
    if (isnan(r)) return domain_error(vm);
    if (isinf(r)) return x == 0.0 ? domain_error(vm) : range_error(vm);
    return ASY_FLOAT(r);
}

FN(atan2) {
    ASY_UNUSED(kw);
    double y, x;
    if (!two_doubles(vm, "atan2", argc, argv, &y, &x)) return ASY_ERR;
    return ASY_FLOAT(atan2(y, x));
}

FN(copysign) {
    ASY_UNUSED(kw);
    double x, y;
    if (!two_doubles(vm, "copysign", argc, argv, &x, &y)) return ASY_ERR;
    return ASY_FLOAT(copysign(x, y));
}

FN(fmod) {
    ASY_UNUSED(kw);
    double x, y;
    if (!two_doubles(vm, "fmod", argc, argv, &x, &y)) return ASY_ERR;
    if (isinf(y) && isfinite(x)) return ASY_FLOAT(x);
    double r = fmod(x, y);
    if (isnan(r) && !isnan(x) && !isnan(y)) return domain_error(vm);
    return ASY_FLOAT(r);
}

FN(remainder) {
    ASY_UNUSED(kw);
    double x, y;
    if (!two_doubles(vm, "remainder", argc, argv, &x, &y)) return ASY_ERR;
    double r = remainder(x, y);
    if (isnan(r) && !isnan(x) && !isnan(y)) return domain_error(vm);
    return ASY_FLOAT(r);
}

FN(nextafter) {
    ASY_UNUSED(kw);
    double x, y;
    if (!two_doubles(vm, "nextafter", argc, argv, &x, &y)) return ASY_ERR;
    return ASY_FLOAT(nextafter(x, y));
}

FN(ulp) {
    ASY_UNUSED(kw);
    double x;
    if (!asy_check_args(vm, "math.ulp", argc, 1, 1) || !asy_num_to_double_any(vm, argv[0], &x))
        return ASY_ERR;
    if (isnan(x)) return ASY_FLOAT(x);
    x = fabs(x);
    if (isinf(x)) return ASY_FLOAT(x);
    double x2 = nextafter(x, INFINITY);
    if (isinf(x2)) return ASY_FLOAT(x - nextafter(x, -INFINITY));
    return ASY_FLOAT(x2 - x);
}

/* CPython's vector_norm (mathmodule.c): the coordinates, scaled by a power of two to
 * below 1, are squared and summed exactly (fma gives each square's rounding error, a fast
 * two-sum each addition's) and the square root gets one differential correction, so
 * hypot(1, 2, 3) is 3.7416573867739413 as in CPython, not the naive 3.741657386773941.
 * v holds absolute values, max their largest (finite, not NaN, above 0); n >= 2. */
static double vector_norm(int n, double *v, double max) {
    int max_e;
    frexp(max, &max_e);
    if (max_e < -1023) { /* ldexp(1.0, -max_e) would overflow: subnormals to normals */
        for (int i = 0; i < n; i++) v[i] /= DBL_MIN;
        return DBL_MIN * vector_norm(n, v, max / DBL_MIN);
    }
    double scale = ldexp(1.0, -max_e), csum = 1.0, frac1 = 0.0, frac2 = 0.0;
    for (int i = 0; i < n; i++) {
        double x = v[i] * scale; /* lossless */
        double hi = x * x, lo = fma(x, x, -hi);
        double sum = csum + hi;
        frac2 += (csum - sum) + hi;
        frac1 += lo;
        csum = sum;
    }
    double h = sqrt(csum - 1.0 + (frac1 + frac2));
    double hi = -h * h, lo = fma(-h, h, -hi);
    double sum = csum + hi;
    frac2 += (csum - sum) + hi;
    frac1 += lo;
    csum = sum;
    h += (csum - 1.0 + (frac1 + frac2)) / (2.0 * h);
    return h / scale;
}

/* hypot(*coordinates) */
FN(hypot) {
    ASY_UNUSED(kw);
    double max = 0.0;
    bool found_nan = false;
    double small[16];
    double *v = argc <= 16 ? small : asy_mem_alloc(vm, sizeof(double) * (size_t)argc);
    if (!v) return ASY_ERR;
    for (int i = 0; i < argc; i++) {
        if (!asy_num_to_double_any(vm, argv[i], &v[i])) {
            if (v != small) asy_mem_free(vm, v, sizeof(double) * (size_t)argc);
            return ASY_ERR;
        }
        v[i] = fabs(v[i]);
        found_nan |= isnan(v[i]);
        if (v[i] > max) max = v[i];
    }
    double r;
    if (isinf(max))
        r = max;
    else if (found_nan)
        r = NAN;
    else if (max == 0 || argc <= 1)
        r = max;
    else
        r = vector_norm(argc, v, max);
    if (v != small) asy_mem_free(vm, v, sizeof(double) * (size_t)argc);
    return ASY_FLOAT(r);
}

/* ---- rounding to integers ---- */

/* math.floor / math.ceil: ints unchanged, floats exactly, else __floor__/__ceil__ or float. */
static AsyValue floor_ceil(AsyVM *vm, int argc, AsyValue *argv, bool is_floor) {
    if (!asy_check_args(vm, is_floor ? "math.floor" : "math.ceil", argc, 1, 1)) return ASY_ERR;
    AsyValue v = argv[0];
    if (ASY_IS_FLOAT(v))
        return asy_num_int_from_double(vm,
                                       is_floor ? floor(ASY_AS_FLOAT(v)) : ceil(ASY_AS_FLOAT(v)));
    if (asy_num_is_int(vm, v)) return asy_num_int_exact(vm, v);
    AsyStr *name = is_floor ? ASY_S(vm, __floor__) : ASY_S(vm, __ceil__);
    AsyValue m = asy_type_lookup(asy_type_of(vm, v), name);
    if (!ASY_IS_UNDEF(m)) return asy_call(vm, m, 1, &v, NULL);
    double d;
    if (!asy_num_to_double_any(vm, v, &d)) return ASY_ERR;
    return asy_num_int_from_double(vm, is_floor ? floor(d) : ceil(d));
}

FN(floor) {
    ASY_UNUSED(kw);
    return floor_ceil(vm, argc, argv, true);
}

FN(ceil) {
    ASY_UNUSED(kw);
    return floor_ceil(vm, argc, argv, false);
}

FN(trunc) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "math.trunc", argc, 1, 1)) return ASY_ERR;
    AsyValue v = argv[0];
    if (ASY_IS_FLOAT(v)) return asy_num_int_from_double(vm, ASY_AS_FLOAT(v));
    if (asy_num_is_int(vm, v)) return asy_num_int_exact(vm, v);
    AsyValue m = asy_type_lookup(asy_type_of(vm, v), ASY_S(vm, __trunc__));
    if (ASY_IS_UNDEF(m))
        return asy_raise(vm, ASY_EXC_TypeError, "type %s doesn't define __trunc__ method",
                         asy_type_name(vm, v));
    return asy_call(vm, m, 1, &v, NULL);
}

FN(modf) {
    ASY_UNUSED(kw);
    double x, ip;
    if (!asy_check_args(vm, "math.modf", argc, 1, 1) || !asy_num_to_double_any(vm, argv[0], &x))
        return ASY_ERR;
    AsyValue items[2];
    if (isinf(x)) {
        items[0] = ASY_FLOAT(copysign(0.0, x));
        items[1] = ASY_FLOAT(x);
    } else {
        double fp = modf(x, &ip);
        items[0] = ASY_FLOAT(fp);
        items[1] = ASY_FLOAT(ip);
    }
    return ASY_OBJ(asy_tuple_from_array(vm, items, 2));
}

FN(frexp) {
    ASY_UNUSED(kw);
    double x;
    if (!asy_check_args(vm, "math.frexp", argc, 1, 1) || !asy_num_to_double_any(vm, argv[0], &x))
        return ASY_ERR;
    int e = 0;
    double m = isfinite(x) && x != 0 ? frexp(x, &e) : x;
    AsyValue items[2] = {ASY_FLOAT(m), ASY_INT(e)};
    return ASY_OBJ(asy_tuple_from_array(vm, items, 2));
}

FN(ldexp) {
    ASY_UNUSED(kw);
    double x;
    if (!asy_check_args(vm, "ldexp", argc, 2, 2) || !asy_num_to_double_any(vm, argv[0], &x))
        return ASY_ERR;
    if (!asy_num_is_int(vm, argv[1]))
        return asy_raise(vm, ASY_EXC_TypeError, "Expected an int as second argument to ldexp.");
    int of;
    int64_t e = asy_num_int_as_i64(argv[1], &of);
    if (e > 100000) e = 100000;
    if (e < -100000) e = -100000;
    if (x == 0 || !isfinite(x)) return ASY_FLOAT(x);
    double r = ldexp(x, (int)e);
    if (isinf(r)) return range_error(vm);
    return ASY_FLOAT(r);
}

/* ---- predicates ---- */

static AsyValue float_pred(AsyVM *vm, int argc, AsyValue *argv, const char *name, int which) {
    double x;
    if (!asy_check_args(vm, name, argc, 1, 1) || !asy_num_to_double_any(vm, argv[0], &x))
        return ASY_ERR;
    return ASY_BOOL(which == 0 ? isfinite(x) : which == 1 ? isinf(x) : isnan(x));
}

FN(isfinite) {
    ASY_UNUSED(kw);
    return float_pred(vm, argc, argv, "math.isfinite", 0);
}
FN(isinf) {
    ASY_UNUSED(kw);
    return float_pred(vm, argc, argv, "math.isinf", 1);
}
FN(isnan) {
    ASY_UNUSED(kw);
    return float_pred(vm, argc, argv, "math.isnan", 2);
}

/* isclose(a, b, *, rel_tol=1e-09, abs_tol=0.0) */
FN(isclose) {
    AsyValue rt = asy_kwarg(vm, kw, "rel_tol"), at = asy_kwarg(vm, kw, "abs_tol");
    AsyValue av = asy_kwarg(vm, kw, "a"), bv = asy_kwarg(vm, kw, "b");
    if (!asy_check_kw_done(vm, "isclose", kw)) return ASY_ERR;
    if (argc > 2)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "isclose() takes exactly 2 positional arguments (%d given)", argc);
    if (argc > 0) av = argv[0];
    if (argc > 1) bv = argv[1];
    if (ASY_IS_UNDEF(av))
        return asy_raise(vm, ASY_EXC_TypeError, "isclose() missing required argument 'a' (pos 1)");
    if (ASY_IS_UNDEF(bv))
        return asy_raise(vm, ASY_EXC_TypeError, "isclose() missing required argument 'b' (pos 2)");
    double a, b, rel_tol = 1e-09, abs_tol = 0.0;
    if (!asy_num_to_double_any(vm, av, &a) || !asy_num_to_double_any(vm, bv, &b)) return ASY_ERR;
    if (!ASY_IS_UNDEF(rt) && !asy_num_to_double_any(vm, rt, &rel_tol)) return ASY_ERR;
    if (!ASY_IS_UNDEF(at) && !asy_num_to_double_any(vm, at, &abs_tol)) return ASY_ERR;
    if (rel_tol < 0.0 || abs_tol < 0.0)
        return asy_raise(vm, ASY_EXC_ValueError, "tolerances must be non-negative");
    if (a == b) return ASY_TRUE;
    if (isinf(a) || isinf(b)) return ASY_FALSE;
    double diff = fabs(b - a);
    return ASY_BOOL(diff <= fabs(rel_tol * b) || diff <= fabs(rel_tol * a) || diff <= abs_tol);
}

/* ---- integer functions ---- */

/* The arguments as int values via __index__ (in place); false on error. */
static bool index_args(AsyVM *vm, int argc, AsyValue *argv, AsyValue *out) {
    for (int i = 0; i < argc; i++) {
        out[i] = asy_num_index(vm, argv[i]);
        if (ASY_IS_ERR(out[i])) return false;
    }
    return true;
}

static AsyValue gcd_lcm(AsyVM *vm, int argc, AsyValue *argv, bool lcm) {
    mpz_t acc;
    mpz_init_set_ui(acc, lcm ? 1 : 0);
    for (int i = 0; i < argc; i++) {
        AsyValue v = asy_num_index(vm, argv[i]);
        if (ASY_IS_ERR(v)) {
            mpz_clear(acc);
            return v;
        }
        AsyMpzTmp t;
        if (lcm)
            mpz_lcm(acc, acc, asy_num_mpz(v, &t));
        else
            mpz_gcd(acc, acc, asy_num_mpz(v, &t));
    }
    AsyValue r = asy_num_int_take(vm, acc);
    mpz_clear(acc);
    return r;
}

FN(gcd) {
    ASY_UNUSED(kw);
    return gcd_lcm(vm, argc, argv, false);
}

FN(lcm) {
    ASY_UNUSED(kw);
    return gcd_lcm(vm, argc, argv, true);
}

FN(factorial) {
    ASY_UNUSED(kw);
    AsyValue n;
    if (!asy_check_args(vm, "math.factorial", argc, 1, 1) || !index_args(vm, 1, argv, &n))
        return ASY_ERR;
    if (asy_num_int_sign(n) < 0)
        return asy_raise(vm, ASY_EXC_ValueError, "factorial() not defined for negative values");
    int of;
    int64_t k = asy_num_int_as_i64(n, &of);
    if (of)
        return asy_raise(vm, ASY_EXC_OverflowError, "factorial() argument should not exceed %lld",
                         (long long)INT64_MAX);
    /* log2(k!) < k * log2(k): refuse results beyond the bigint size limit. */
    if (k > 2 && (double)k * log2((double)k) > (double)ASY_INT_MAX_BITS)
        return asy_raise_memory(vm);
    mpz_t z;
    mpz_init(z);
    mpz_fac_ui(z, (unsigned long)k);
    AsyValue r = asy_num_int_take(vm, z);
    mpz_clear(z);
    return r;
}

/* n and k for comb/perm: non-negative ints; k may be None for perm. */
static bool comb_args(AsyVM *vm, AsyValue nv, AsyValue kv, AsyValue *n, AsyValue *k) {
    *n = asy_num_index(vm, nv);
    if (ASY_IS_ERR(*n)) return false;
    *k = asy_num_index(vm, kv);
    if (ASY_IS_ERR(*k)) return false;
    if (asy_num_int_sign(*n) < 0) {
        asy_raise(vm, ASY_EXC_ValueError, "n must be a non-negative integer");
        return false;
    }
    if (asy_num_int_sign(*k) < 0) {
        asy_raise(vm, ASY_EXC_ValueError, "k must be a non-negative integer");
        return false;
    }
    return true;
}

/* comb(n, k) (or perm when `perm`) with 0 <= k <= n already checked. */
static AsyValue comb_perm(AsyVM *vm, AsyValue n, AsyValue k, bool perm) {
    AsyMpzTmp tn, tk;
    mpz_srcptr zn = asy_num_mpz(n, &tn), zk = asy_num_mpz(k, &tk);
    if (mpz_cmp(zk, zn) > 0) return ASY_INT(0);
    mpz_t m, z, f;
    mpz_inits(m, z, f, NULL);
    mpz_sub(m, zn, zk);
    if (!perm && mpz_cmp(m, zk) > 0)
        mpz_set(m, zk); /* m = min(k, n - k) */
    else if (perm)
        mpz_set(m, zk);
    AsyValue r;
    if (!mpz_fits_slong_p(m)) {
        r = asy_raise(vm, ASY_EXC_OverflowError,
                      perm ? "k must not exceed %lld" : "min(n - k, k) must not exceed %lld",
                      (long long)INT64_MAX);
    } else if ((double)mpz_get_si(m) * (double)mpz_sizeinbase(zn, 2) > (double)ASY_INT_MAX_BITS) {
        r = asy_raise_memory(vm);
    } else {
        unsigned long km = mpz_get_ui(m);
        mpz_bin_ui(z, zn, km);
        if (perm) {
            mpz_fac_ui(f, km);
            mpz_mul(z, z, f);
        }
        r = asy_num_int_take(vm, z);
    }
    mpz_clears(m, z, f, NULL);
    return r;
}

FN(comb) {
    ASY_UNUSED(kw);
    AsyValue n, k;
    if (!asy_check_args(vm, "comb", argc, 2, 2) || !comb_args(vm, argv[0], argv[1], &n, &k))
        return ASY_ERR;
    return comb_perm(vm, n, k, false);
}

FN(perm) {
    ASY_UNUSED(kw);
    AsyValue n, k;
    if (!asy_check_args(vm, "perm", argc, 1, 2)) return ASY_ERR;
    if (argc == 1 || ASY_IS_NONE(argv[1])) return math_factorial(vm, 1, argv, NULL);
    if (!comb_args(vm, argv[0], argv[1], &n, &k)) return ASY_ERR;
    return comb_perm(vm, n, k, true);
}

FN(isqrt) {
    ASY_UNUSED(kw);
    AsyValue n;
    if (!asy_check_args(vm, "math.isqrt", argc, 1, 1) || !index_args(vm, 1, argv, &n))
        return ASY_ERR;
    if (asy_num_int_sign(n) < 0)
        return asy_raise(vm, ASY_EXC_ValueError, "isqrt() argument must be nonnegative");
    AsyMpzTmp t;
    mpz_t z;
    mpz_init(z);
    mpz_sqrt(z, asy_num_mpz(n, &t));
    AsyValue r = asy_num_int_take(vm, z);
    mpz_clear(z);
    return r;
}

/* ---- sums and products over iterables ---- */

/* prod(iterable, /, *, start=1) */
FN(prod) {
    AsyValue start = asy_kwarg(vm, kw, "start");
    if (!asy_check_kw_done(vm, "prod", kw)) return ASY_ERR;
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError,
                         argc ? "prod() takes exactly 1 positional argument (%d given)"
                              : "prod() missing required argument 'iterable' (pos 1)",
                         argc);
    AsyValue it = asy_iter(vm, argv[0]);
    if (ASY_IS_ERR(it)) return it;
    AsyValue acc = ASY_IS_UNDEF(start) ? ASY_INT(1) : start;
    size_t base = vm->nroots;
    asy_root_push(vm, it);
    asy_root_push(vm, acc);
    for (;;) {
        AsyValue item = asy_next(vm, it);
        if (ASY_IS_UNDEF(item) || ASY_IS_ERR(item)) {
            if (ASY_IS_ERR(item)) acc = item;
            break;
        }
        asy_root_push(vm, item);
        acc = asy_binop(vm, acc, item, ASY_BIN_MUL);
        asy_root_pop(vm, 1);
        if (ASY_IS_ERR(acc)) break;
        vm->roots[base + 1] = acc;
    }
    asy_root_pop(vm, vm->nroots - base);
    return acc;
}

/* fsum(iterable): CPython's msum (Shewchuk's exact partials), then the half-even fix-up. */
typedef struct {
    double *p;
    size_t n, cap;
    double small[32];
} Partials;

static bool partials_push(AsyVM *vm, Partials *ps, double x) {
    if (ps->n == ps->cap) {
        size_t ncap = ps->cap * 2;
        double *np = asy_mem_alloc(vm, ncap * sizeof(double));
        if (!np) return false;
        memcpy(np, ps->p, ps->n * sizeof(double));
        if (ps->p != ps->small) asy_mem_free(vm, ps->p, ps->cap * sizeof(double));
        ps->p = np;
        ps->cap = ncap;
    }
    ps->p[ps->n++] = x;
    return true;
}

/* Add x to the partials; false (with OverflowError/MemoryError) on failure. */
static bool partials_add(AsyVM *vm, Partials *ps, double x, double *special, double *inf_sum) {
    double xsave = x;
    size_t i = 0;
    for (size_t j = 0; j < ps->n; j++) {
        double y = ps->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y, lo = y - (hi - x);
        if (lo != 0.0) ps->p[i++] = lo;
        x = hi;
    }
    ps->n = i;
    if (x == 0.0) return true;
    if (isfinite(x)) return partials_push(vm, ps, x);
    if (isfinite(xsave)) {
        asy_raise(vm, ASY_EXC_OverflowError, "intermediate overflow in fsum");
        return false;
    }
    if (isinf(xsave)) *inf_sum += xsave;
    *special += xsave;
    ps->n = 0;
    return true;
}

static double partials_total(Partials *ps) {
    size_t n = ps->n;
    double hi = 0.0, lo = 0.0;
    if (n == 0) return hi;
    hi = ps->p[--n];
    while (n > 0) {
        double x = hi, y = ps->p[--n];
        hi = x + y;
        lo = y - (hi - x);
        if (lo != 0.0) break;
    }
    if (n > 0 && ((lo < 0.0 && ps->p[n - 1] < 0.0) || (lo > 0.0 && ps->p[n - 1] > 0.0))) {
        double y = lo * 2.0, x = hi + y;
        if (y == x - hi) hi = x;
    }
    return hi;
}

FN(fsum) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "math.fsum", argc, 1, 1)) return ASY_ERR;
    AsyValue it = asy_iter(vm, argv[0]);
    if (ASY_IS_ERR(it)) return it;
    asy_root_push(vm, it);
    Partials ps = {.n = 0, .cap = 32};
    ps.p = ps.small;
    double special = 0.0, inf_sum = 0.0;
    AsyValue r = ASY_UNDEF;
    for (;;) {
        AsyValue item = asy_next(vm, it);
        if (ASY_IS_UNDEF(item)) break;
        double x;
        if (ASY_IS_ERR(item) || !asy_num_to_double_any(vm, item, &x) ||
            !partials_add(vm, &ps, x, &special, &inf_sum)) {
            r = ASY_ERR;
            break;
        }
    }
    asy_root_pop(vm, 1);
    if (ASY_IS_UNDEF(r)) {
        if (special != 0.0)
            r = isnan(inf_sum) ? asy_raise(vm, ASY_EXC_ValueError, "-inf + inf in fsum")
                               : ASY_FLOAT(special);
        else
            r = ASY_FLOAT(partials_total(&ps));
    }
    if (ps.p != ps.small) asy_mem_free(vm, ps.p, ps.cap * sizeof(double));
    return r;
}

/* dist(p, q): Euclidean distance between two points of the same dimension. */
FN(dist) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "dist", argc, 2, 2)) return ASY_ERR;
    AsyTuple *p = asy_tuple_from_iterable(vm, argv[0]);
    if (!p) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(p));
    AsyTuple *q = asy_tuple_from_iterable(vm, argv[1]);
    asy_root_pop(vm, 1);
    if (!q) return ASY_ERR;
    if (p->len != q->len)
        return asy_raise(vm, ASY_EXC_ValueError,
                         "both points must have the same number of dimensions");
    AsyValue small[16];
    AsyValue *d = p->len <= 16 ? small : asy_mem_alloc(vm, sizeof(AsyValue) * (size_t)p->len);
    if (!d) return ASY_ERR;
    AsyValue r = ASY_UNDEF;
    for (int64_t i = 0; i < p->len && ASY_IS_UNDEF(r); i++) {
        double x = 0.0, y = 0.0;
        if (!asy_num_to_double_any(vm, p->items[i], &x) ||
            !asy_num_to_double_any(vm, q->items[i], &y))
            r = ASY_ERR;
        d[i] = ASY_FLOAT(x - y);
    }
    if (ASY_IS_UNDEF(r)) r = math_hypot(vm, (int)p->len, d, NULL);
    if (d != small) asy_mem_free(vm, d, sizeof(AsyValue) * (size_t)p->len);
    return r;
}

#define D(name, doc)                                                                               \
    { #name, math_##name, ASY_METH_NOKW, doc }
static const AsyMethodDef math_functions[] = {
    D(sqrt, "Return the square root of x."),
    D(exp, "Return e raised to the power of x."),
    D(exp2, "Return 2 raised to the power of x."),
    D(expm1, "Return exp(x)-1."),
    D(log, "log(x, [base=math.e]): the logarithm of x to the given base."),
    D(log2, "Return the base 2 logarithm of x."),
    D(log10, "Return the base 10 logarithm of x."),
    D(log1p, "Return the natural logarithm of 1+x (base e)."),
    D(pow, "Return x**y (x to the power of y)."),
    D(sin, "Return the sine of x (measured in radians)."),
    D(cos, "Return the cosine of x (measured in radians)."),
    D(tan, "Return the tangent of x (measured in radians)."),
    D(asin, "Return the arc sine (measured in radians) of x."),
    D(acos, "Return the arc cosine (measured in radians) of x."),
    D(atan, "Return the arc tangent (measured in radians) of x."),
    D(atan2, "Return the arc tangent (measured in radians) of y/x."),
    D(sinh, "Return the hyperbolic sine of x."),
    D(cosh, "Return the hyperbolic cosine of x."),
    D(tanh, "Return the hyperbolic tangent of x."),
    D(asinh, "Return the inverse hyperbolic sine of x."),
    D(acosh, "Return the inverse hyperbolic cosine of x."),
    D(atanh, "Return the inverse hyperbolic tangent of x."),
    D(hypot, "Multidimensional Euclidean distance from the origin to a point."),
    D(dist, "Return the Euclidean distance between two points p and q."),
    D(degrees, "Convert angle x from radians to degrees."),
    D(radians, "Convert angle x from degrees to radians."),
    D(fabs, "Return the absolute value of the float x."),
    D(fmod, "Return fmod(x, y), according to platform C."),
    D(remainder, "Difference between x and the closest integer multiple of y."),
    D(copysign, "Return a float with the magnitude of x but the sign of y."),
    D(nextafter, "Return the next floating-point value after x towards y."),
    D(ulp, "Return the value of the least significant bit of the float x."),
    D(cbrt, "Return the cube root of x."),
    D(erf, "Error function at x."),
    D(erfc, "Complementary error function at x."),
    D(gamma, "Gamma function at x."),
    D(lgamma, "Natural logarithm of absolute value of Gamma function at x."),
    D(floor, "Return the floor of x as an Integral."),
    D(ceil, "Return the ceiling of x as an Integral."),
    D(trunc, "Truncates the Real x to the nearest Integral toward 0."),
    D(modf, "Return the fractional and integer parts of x."),
    D(frexp, "Return the mantissa and exponent of x, as pair (m, e)."),
    D(ldexp, "Return x * (2**i)."),
    D(isfinite, "Return True if x is neither an infinity nor a NaN."),
    D(isinf, "Return True if x is a positive or negative infinity."),
    D(isnan, "Return True if x is a NaN (not a number)."),
    {"isclose", math_isclose, 0,
     "Determine whether two floating point numbers are close in value."},
    D(gcd, "Greatest Common Divisor."),
    D(lcm, "Least Common Multiple."),
    D(factorial, "Find x!."),
    D(comb, "Number of ways to choose k items from n items without repetition and without order."),
    D(perm, "Number of ways to choose k items from n items without repetition and with order."),
    D(isqrt, "Return the integer part of the square root of the input."),
    {"prod", math_prod, 0, "Calculate the product of all the elements in the input iterable."},
    D(fsum, "Return an accurate floating point sum of values in the iterable seq."),
    {NULL, NULL, 0, NULL},
};
#undef D

void asy_mod_math_init(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "math");
    asy_module_add_functions(vm, m, math_functions);
    asy_dict_set_cstr(vm, m->dict, "pi", ASY_FLOAT(M_PI));
    asy_dict_set_cstr(vm, m->dict, "e", ASY_FLOAT(M_E));
    asy_dict_set_cstr(vm, m->dict, "tau", ASY_FLOAT(2 * M_PI));
    asy_dict_set_cstr(vm, m->dict, "inf", ASY_FLOAT(INFINITY));
    asy_dict_set_cstr(vm, m->dict, "nan", ASY_FLOAT(NAN));
    asy_module_register(vm, m);
}
