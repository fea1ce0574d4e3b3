/* mod_random.c - the random module: CPython's Mersenne Twister, seeded as CPython seeds it,
 * and its derived methods written the way random.py writes them, so that with the same
 * seed asy produces the same sequence as CPython 3.11.
 *
 * As in CPython, the module functions are methods of one hidden Random instance, and the
 * Random class can be instantiated for independent generators.
 */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dynlib.h"
#include "number.h"
#include "vm.h"

#define MT_N 624
#define MT_M 397

typedef struct {
    AsyObj hdr;
    uint32_t mt[MT_N];
    int index;
    AsyValue gauss_next; /* None or a float */
} AsyRandom;

static AsyRandom *rnd_of(AsyValue v) { return (AsyRandom *)ASY_AS_OBJ(v); }

/* ---- the generator (MT19937, as CPython's _randommodule.c) ---- */

static void mt_init_genrand(AsyRandom *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->index = MT_N;
}

static void mt_init_by_array(AsyRandom *r, const uint32_t *key, size_t len) {
    mt_init_genrand(r, 19650218u);
    size_t i = 1, j = 0;
    for (size_t k = MT_N > len ? MT_N : len; k; k--) {
        r->mt[i] =
            (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++, j++;
        if (i >= MT_N) r->mt[0] = r->mt[MT_N - 1], i = 1;
        if (j >= len) j = 0;
    }
    for (size_t k = MT_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) r->mt[0] = r->mt[MT_N - 1], i = 1;
    }
    r->mt[0] = 0x80000000u;
}

static uint32_t mt_next(AsyRandom *r) {
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    if (r->index >= MT_N) {
        int k = 0;
        uint32_t y;
        for (; k < MT_N - MT_M; k++) {
            y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
            r->mt[k] = r->mt[k + MT_M] ^ (y >> 1) ^ mag01[y & 1u];
        }
        for (; k < MT_N - 1; k++) {
            y = (r->mt[k] & 0x80000000u) | (r->mt[k + 1] & 0x7fffffffu);
            r->mt[k] = r->mt[k + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1u];
        }
        y = (r->mt[MT_N - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
        r->mt[MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1u];
        r->index = 0;
    }
    uint32_t y = r->mt[r->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

static double mt_random(AsyRandom *r) {
    uint32_t a = mt_next(r) >> 5, b = mt_next(r) >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

/* ---- seeding ---- */

static void seed_from_mpz(AsyRandom *r, mpz_t n) {
    mpz_abs(n, n);
    size_t count = 0;
    size_t words = mpz_sizeinbase(n, 2) / 32 + 1;
    uint32_t *key = calloc(words, sizeof *key);
    if (!key) return;
    mpz_export(key, &count, -1, sizeof(uint32_t), 0, 0, n);
    mt_init_by_array(r, key, count ? count : 1);
    free(key);
}

/* str and bytes seeds: int.from_bytes(a + sha512(a).digest()), as random.py version 2.
 * libcrypto is opened on the first such seed (dynlib.c). */
static bool seed_from_bytes(AsyVM *vm, AsyRandom *r, const uint8_t *data, size_t len) {
    const AsyOpenSSL *o = asy_openssl(vm);
    if (!o) {
        asy_raise(vm, ASY_EXC_ImportError, "%s", asy_dynlib_error(vm));
        return false;
    }
    uint8_t *buf = malloc(len + SHA512_DIGEST_LENGTH);
    if (!buf) {
        asy_raise_memory(vm);
        return false;
    }
    memcpy(buf, data, len);
    o->SHA512(data, len, buf + len);
    mpz_t n;
    mpz_init(n);
    mpz_import(n, len + SHA512_DIGEST_LENGTH, 1, 1, 0, 0, buf);
    seed_from_mpz(r, n);
    mpz_clear(n);
    free(buf);
    return true;
}

static bool rnd_seed(AsyVM *vm, AsyRandom *r, AsyValue a) {
    r->gauss_next = ASY_NONE;
    if (ASY_IS_UNDEF(a) || ASY_IS_NONE(a)) {
        uint32_t key[MT_N];
        if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
            for (int i = 0; i < MT_N; i++)
                key[i] = (uint32_t)(i * 2654435761u) ^ (uint32_t)time(NULL);
        }
        mt_init_by_array(r, key, MT_N);
        return true;
    }
    if (ASY_IS_OBJ(a) && asy_isinstance(vm, a, ASY_TYPE(vm, str))) {
        AsyStr *s = (AsyStr *)ASY_AS_OBJ(a);
        return seed_from_bytes(vm, r, (const uint8_t *)s->data, s->len);
    }
    if (ASY_IS_OBJ(a) && asy_isinstance(vm, a, ASY_TYPE(vm, bytes))) {
        AsyBytes *b = (AsyBytes *)ASY_AS_OBJ(a);
        return seed_from_bytes(vm, r, b->data, b->len);
    }
    if (!asy_is_int(vm, a) && !ASY_IS_FLOAT(a) && !asy_num_is_floatobj(vm, a)) {
        asy_raise(vm, ASY_EXC_TypeError,
                  "The only supported seed types are: None,\nint, float, str, bytes, and "
                  "bytearray.");
        return false;
    }
    mpz_t n;
    mpz_init(n);
    if (asy_is_int(vm, a)) {
        asy_int_to_mpz(a, n);
    } else {
        int64_t h;
        if (!asy_hash(vm, a, &h)) {
            mpz_clear(n);
            return false;
        }
        mpz_set_si(n, h);
    }
    seed_from_mpz(r, n);
    mpz_clear(n);
    return true;
}

/* ---- integers below a bound ---- */

static AsyValue getrandbits(AsyVM *vm, AsyRandom *r, int64_t k) {
    if (k <= 32) return ASY_INT(k == 0 ? 0 : mt_next(r) >> (32 - k));
    size_t words = (size_t)((k - 1) / 32 + 1);
    uint32_t *w = asy_mem_alloc(vm, words * sizeof *w);
    if (!w) return ASY_ERR;
    for (size_t i = 0; i < words; i++, k -= 32) {
        uint32_t v = mt_next(r);
        if (k < 32) v >>= 32 - k;
        w[i] = v;
    }
    mpz_t z;
    mpz_init(z);
    mpz_import(z, words, -1, sizeof(uint32_t), 0, 0, w);
    asy_mem_free(vm, w, words * sizeof *w);
    AsyValue out = asy_int_from_mpz(vm, z);
    mpz_clear(z);
    return out;
}

/* random.py's _randbelow_with_getrandbits: n > 0. */
static AsyValue randbelow(AsyVM *vm, AsyRandom *r, AsyValue n) {
    if (ASY_IS_INTLIKE(n)) {
        uint64_t u = (uint64_t)ASY_AS_INT(n);
        int k = 64 - __builtin_clzll(u);
        for (;;) {
            uint64_t v = k <= 32
                             ? (mt_next(r) >> (32 - k))
                             : (uint64_t)mt_next(r) | ((uint64_t)(mt_next(r) >> (64 - k)) << 32);
            if (v < u) return ASY_INT((int64_t)v);
        }
    }
    mpz_t z;
    mpz_init(z);
    asy_int_to_mpz(n, z);
    int64_t k = (int64_t)mpz_sizeinbase(z, 2);
    mpz_clear(z);
    for (;;) {
        AsyValue v = getrandbits(vm, r, k);
        if (ASY_IS_ERR(v)) return v;
        int lt = asy_compare_bool(vm, v, n, ASY_CMP_LT);
        if (lt != 0) return lt < 0 ? ASY_ERR : v;
    }
}

static bool int_arg(AsyVM *vm, AsyValue v, int pos, AsyValue *out) {
    if (asy_is_int(vm, v)) {
        *out = ASY_IS_BOOL(v) ? ASY_INT(ASY_AS_INT(v)) : v;
        return true;
    }
    if (ASY_IS_FLOAT(v)) {
        double d = ASY_AS_FLOAT(v);
        if (d == floor(d) && isfinite(d)) {
            *out = ASY_INT((int64_t)d);
            return true;
        }
        asy_raise(vm, ASY_EXC_ValueError, "non-integer arg %d for randrange()", pos);
        return false;
    }
    int64_t i;
    if (!asy_index(vm, v, &i)) return false;
    *out = ASY_INT(i);
    return true;
}

static AsyValue randrange(AsyVM *vm, AsyRandom *r, AsyValue start, AsyValue stop, AsyValue step) {
    AsyValue a, b, s = ASY_INT(1);
    if (!int_arg(vm, start, 1, &a)) return ASY_ERR;
    if (ASY_IS_UNDEF(stop) || ASY_IS_NONE(stop)) {
        if (!ASY_IS_UNDEF(step))
            return asy_raise(vm, ASY_EXC_TypeError, "Missing a non-None stop argument");
        if (asy_compare_bool(vm, a, ASY_INT(0), ASY_CMP_GT) == 1) return randbelow(vm, r, a);
        return asy_raise(vm, ASY_EXC_ValueError, "empty range for randrange()");
    }
    if (!int_arg(vm, stop, 2, &b)) return ASY_ERR;
    if (!ASY_IS_UNDEF(step) && !int_arg(vm, step, 3, &s)) return ASY_ERR;
    AsyValue width = asy_binop(vm, b, a, ASY_BIN_SUB);
    if (ASY_IS_ERR(width)) return width;
    if (ASY_IS_INT(s) && ASY_AS_INT(s) == 1) {
        if (asy_compare_bool(vm, width, ASY_INT(0), ASY_CMP_GT) == 1) {
            AsyValue k = randbelow(vm, r, width);
            return ASY_IS_ERR(k) ? k : asy_binop(vm, a, k, ASY_BIN_ADD);
        }
        return asy_raise(vm, ASY_EXC_ValueError, "empty range for randrange() (%S, %S, %S)", a, b,
                         width);
    }
    int sign = asy_compare_bool(vm, s, ASY_INT(0), ASY_CMP_GT)   ? 1
               : asy_compare_bool(vm, s, ASY_INT(0), ASY_CMP_LT) ? -1
                                                                 : 0;
    if (sign == 0) return asy_raise(vm, ASY_EXC_ValueError, "zero step for randrange()");
    AsyValue t = asy_binop(vm, width, s, ASY_BIN_ADD);
    t = ASY_IS_ERR(t) ? t : asy_binop(vm, t, ASY_INT(-sign), ASY_BIN_ADD);
    AsyValue n = ASY_IS_ERR(t) ? t : asy_binop(vm, t, s, ASY_BIN_FLOORDIV);
    if (ASY_IS_ERR(n)) return n;
    if (asy_compare_bool(vm, n, ASY_INT(0), ASY_CMP_LE) == 1)
        return asy_raise(vm, ASY_EXC_ValueError, "empty range for randrange()");
    AsyValue k = randbelow(vm, r, n);
    if (ASY_IS_ERR(k)) return k;
    AsyValue off = asy_binop(vm, s, k, ASY_BIN_MUL);
    return ASY_IS_ERR(off) ? off : asy_binop(vm, a, off, ASY_BIN_ADD);
}

/* ---- methods ---- */

#define SELF rnd_of(argv[0])

static AsyValue m_seed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue a = asy_kwarg(vm, kw, "a");
    asy_kwarg(vm, kw, "version");
    if (!asy_check_kw_done(vm, "seed", kw) || !asy_check_args(vm, "seed", argc - 1, 0, 2))
        return ASY_ERR;
    if (argc > 1) a = argv[1];
    return rnd_seed(vm, SELF, a) ? ASY_NONE : ASY_ERR;
}

static AsyValue m_random(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "random", kw) || !asy_check_args(vm, "random", argc - 1, 0, 0))
        return ASY_ERR;
    return ASY_FLOAT(mt_random(SELF));
}

static AsyValue m_getrandbits(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    int64_t k;
    if (!asy_check_nokw(vm, "getrandbits", kw) ||
        !asy_check_args(vm, "getrandbits", argc - 1, 1, 1) || !asy_index(vm, argv[1], &k))
        return ASY_ERR;
    if (k < 0) return asy_raise(vm, ASY_EXC_ValueError, "number of bits must be non-negative");
    return getrandbits(vm, SELF, k);
}

static AsyValue m_randrange(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "randrange", kw) || !asy_check_args(vm, "randrange", argc - 1, 1, 3))
        return ASY_ERR;
    return randrange(vm, SELF, argv[1], argc > 2 ? argv[2] : ASY_UNDEF,
                     argc > 3 ? argv[3] : ASY_UNDEF);
}

static AsyValue m_randint(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "randint", kw) || !asy_check_args(vm, "randint", argc - 1, 2, 2))
        return ASY_ERR;
    AsyValue b = asy_binop(vm, argv[2], ASY_INT(1), ASY_BIN_ADD);
    if (ASY_IS_ERR(b)) return b;
    return randrange(vm, SELF, argv[1], b, ASY_UNDEF);
}

static AsyValue m_choice(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "choice", kw) || !asy_check_args(vm, "choice", argc - 1, 1, 1))
        return ASY_ERR;
    int64_t n = asy_len(vm, argv[1]);
    if (n < 0) return ASY_ERR;
    if (n == 0) return asy_raise(vm, ASY_EXC_IndexError, "Cannot choose from an empty sequence");
    AsyValue i = randbelow(vm, SELF, ASY_INT(n));
    return ASY_IS_ERR(i) ? i : asy_getitem(vm, argv[1], i);
}

static AsyValue m_shuffle(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "shuffle", kw) || !asy_check_args(vm, "shuffle", argc - 1, 1, 1))
        return ASY_ERR;
    AsyValue x = argv[1];
    int64_t n = asy_len(vm, x);
    if (n < 0) return ASY_ERR;
    for (int64_t i = n - 1; i >= 1; i--) {
        AsyValue jv = randbelow(vm, SELF, ASY_INT(i + 1));
        if (ASY_IS_ERR(jv)) return jv;
        AsyValue a = asy_getitem(vm, x, ASY_INT(i));
        AsyValue b = ASY_IS_ERR(a) ? a : asy_getitem(vm, x, jv);
        if (ASY_IS_ERR(b) || asy_setitem(vm, x, ASY_INT(i), b) < 0 || asy_setitem(vm, x, jv, a) < 0)
            return ASY_ERR;
    }
    return ASY_NONE;
}

static AsyValue m_uniform(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    double a, b;
    if (!asy_check_nokw(vm, "uniform", kw) || !asy_check_args(vm, "uniform", argc - 1, 2, 2) ||
        !asy_to_double(vm, argv[1], &a) || !asy_to_double(vm, argv[2], &b))
        return ASY_ERR;
    return ASY_FLOAT(a + (b - a) * mt_random(SELF));
}

static AsyValue m_gauss(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue mu_v = asy_kwarg(vm, kw, "mu"), sigma_v = asy_kwarg(vm, kw, "sigma");
    if (!asy_check_kw_done(vm, "gauss", kw) || !asy_check_args(vm, "gauss", argc - 1, 0, 2))
        return ASY_ERR;
    if (argc > 1) mu_v = argv[1];
    if (argc > 2) sigma_v = argv[2];
    double mu = 0.0, sigma = 1.0;
    if ((!ASY_IS_UNDEF(mu_v) && !asy_to_double(vm, mu_v, &mu)) ||
        (!ASY_IS_UNDEF(sigma_v) && !asy_to_double(vm, sigma_v, &sigma)))
        return ASY_ERR;
    AsyRandom *r = SELF;
    double z;
    if (ASY_IS_FLOAT(r->gauss_next)) {
        z = ASY_AS_FLOAT(r->gauss_next);
        r->gauss_next = ASY_NONE;
    } else {
        double x2pi = mt_random(r) * 2.0 * M_PI;
        double g2rad = sqrt(-2.0 * log(1.0 - mt_random(r)));
        z = cos(x2pi) * g2rad;
        r->gauss_next = ASY_FLOAT(sin(x2pi) * g2rad);
    }
    return ASY_FLOAT(mu + z * sigma);
}

static AsyValue m_triangular(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "triangular", kw) || !asy_check_args(vm, "triangular", argc - 1, 0, 3))
        return ASY_ERR;
    double low = 0.0, high = 1.0, mode = 0.0;
    if ((argc > 1 && !asy_to_double(vm, argv[1], &low)) ||
        (argc > 2 && !asy_to_double(vm, argv[2], &high)))
        return ASY_ERR;
    bool has_mode = argc > 3 && !ASY_IS_NONE(argv[3]);
    if (has_mode && !asy_to_double(vm, argv[3], &mode)) return ASY_ERR;
    double u = mt_random(SELF);
    if (high == low) return ASY_FLOAT(low);
    double c = has_mode ? (mode - low) / (high - low) : 0.5;
    if (u > c) {
        u = 1.0 - u;
        c = 1.0 - c;
        double t = low;
        low = high;
        high = t;
    }
    return ASY_FLOAT(low + (high - low) * sqrt(u * c));
}

/* getstate(): (3, the 624 words and the index, gauss_next), as CPython's. */
static AsyValue m_getstate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "getstate", kw) || !asy_check_args(vm, "getstate", argc - 1, 0, 0))
        return ASY_ERR;
    AsyRandom *r = SELF;
    AsyTuple *words = asy_tuple_new(vm, MT_N + 1);
    if (!words) return ASY_ERR;
    for (int i = 0; i < MT_N; i++)
        words->items[i] = ASY_INT(r->mt[i]);
    words->items[MT_N] = ASY_INT(r->index);
    asy_root_push(vm, ASY_OBJ(words));
    AsyValue st[3] = {ASY_INT(3), ASY_OBJ(words), r->gauss_next};
    AsyTuple *t = asy_tuple_from_array(vm, st, 3);
    asy_root_pop(vm, 1);
    return t ? ASY_OBJ(t) : ASY_ERR;
}

/* One word of a state vector: version 3 takes what C's unsigned long holds (keeping the low
 * 32 bits, as CPython), version 2 any int modulo 2**32. */
static bool state_word(AsyVM *vm, AsyValue v, bool v2, uint64_t *out) {
    if (!asy_is_int(vm, v)) {
        asy_raise(vm, ASY_EXC_TypeError, "an integer is required");
        return false;
    }
    mpz_t z;
    mpz_init(z);
    asy_int_to_mpz(v, z);
    bool ok = true;
    if (v2) {
        mpz_fdiv_r_2exp(z, z, 32);
    } else if (mpz_sgn(z) < 0) {
        asy_raise(vm, ASY_EXC_OverflowError, "can't convert negative value to unsigned int");
        ok = false;
    } else if (mpz_sizeinbase(z, 2) > 64) {
        asy_raise(vm, ASY_EXC_OverflowError, "Python int too large to convert to C unsigned long");
        ok = false;
    }
    if (ok) {
        mpz_fdiv_r_2exp(z, z, 64);
        *out = (uint64_t)mpz_getlimbn(z, 0);
    }
    mpz_clear(z);
    return ok;
}

/* setstate(state): what getstate() returned (or version 2's signed words), checked as
 * CPython checks it. */
static AsyValue m_setstate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "setstate", kw) || !asy_check_args(vm, "setstate", argc - 1, 1, 1))
        return ASY_ERR;
    AsyValue version = asy_getitem(vm, argv[1], ASY_INT(0));
    if (ASY_IS_ERR(version)) return version;
    bool v2 = ASY_IS_INT(version) && ASY_AS_INT(version) == 2;
    if (!v2 && !(ASY_IS_INT(version) && ASY_AS_INT(version) == 3))
        return asy_raise(vm, ASY_EXC_ValueError,
                         "state with version %S passed to Random.setstate() of version 3", version);
    AsyTuple *st = asy_tuple_from_iterable(vm, argv[1]);
    if (!st) return ASY_ERR;
    if (st->len != 3)
        return asy_raise(vm, ASY_EXC_ValueError,
                         st->len < 3 ? "not enough values to unpack (expected 3, got %lld)"
                                     : "too many values to unpack (expected 3)",
                         (long long)st->len);
    asy_root_push(vm, ASY_OBJ(st));
    AsyTuple *w = NULL;
    if (v2) {
        w = asy_tuple_from_iterable(vm, st->items[1]);
    } else if (ASY_IS_OBJ(st->items[1]) && asy_isinstance(vm, st->items[1], ASY_TYPE(vm, tuple))) {
        w = (AsyTuple *)ASY_AS_OBJ(st->items[1]);
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "state vector must be a tuple");
    }
    asy_root_pop(vm, 1);
    if (!w) return ASY_ERR;
    if (w->len != MT_N + 1)
        return asy_raise(vm, ASY_EXC_ValueError, "state vector is the wrong size");
    uint32_t mt[MT_N];
    uint64_t word;
    for (int i = 0; i < MT_N; i++) {
        if (!state_word(vm, w->items[i], v2, &word)) return ASY_ERR;
        mt[i] = (uint32_t)word;
    }
    AsyValue ix = w->items[MT_N]; /* a C long in CPython: any int, then range-checked */
    if (!v2 && ASY_IS_INT(ix) && ASY_AS_INT(ix) < 0)
        return asy_raise(vm, ASY_EXC_ValueError, "invalid state");
    if (!state_word(vm, ix, v2, &word)) return ASY_ERR;
    if (word > MT_N) return asy_raise(vm, ASY_EXC_ValueError, "invalid state");
    AsyRandom *r = SELF;
    memcpy(r->mt, mt, sizeof mt);
    r->index = (int)word;
    r->gauss_next = st->items[2];
    return ASY_NONE;
}

/* ---- the other distributions: CPython 3.11's random.py, operation for operation, so the
 * same seed gives the same floats ---- */

/* The float arguments of a distribution: names[i] by position or keyword; those past nreq
 * default to dflt[i]. */
static bool dist_args(AsyVM *vm, const char *fname, int argc, AsyValue *argv, AsyDict *kw,
                      const char *const *names, int n, int nreq, const double *dflt, double *out) {
    AsyValue v[3] = {ASY_UNDEF, ASY_UNDEF, ASY_UNDEF};
    for (int i = 0; i < n; i++)
        v[i] = asy_kwarg(vm, kw, names[i]);
    if (!asy_check_kw_done(vm, fname, kw) || !asy_check_args(vm, fname, argc - 1, 0, n))
        return false;
    for (int i = 0; i < argc - 1; i++)
        v[i] = argv[i + 1];
    for (int i = 0; i < n; i++) {
        if (ASY_IS_UNDEF(v[i])) {
            if (i < nreq) {
                asy_raise(vm, ASY_EXC_TypeError,
                          "Random.%s() missing 1 required positional argument: '%s'", fname,
                          names[i]);
                return false;
            }
            out[i] = dflt[i];
        } else if (!asy_to_double(vm, v[i], &out[i])) {
            return false;
        }
    }
    return true;
}

static AsyValue float_div_zero(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_ZeroDivisionError, "float division by zero");
}

static double normalvariate(AsyRandom *r, double mu, double sigma) {
    const double nv_magic = 4 * exp(-0.5) / sqrt(2.0);
    double z;
    for (;;) {
        double u1 = mt_random(r);
        double u2 = 1.0 - mt_random(r);
        z = nv_magic * (u1 - 0.5) / u2;
        double zz = z * z / 4.0;
        if (zz <= -log(u2)) break;
    }
    return mu + z * sigma;
}

static AsyValue m_normalvariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"mu", "sigma"};
    static const double dflt[] = {0.0, 1.0};
    double a[2];
    if (!dist_args(vm, "normalvariate", argc, argv, kw, names, 2, 0, dflt, a)) return ASY_ERR;
    return ASY_FLOAT(normalvariate(SELF, a[0], a[1]));
}

static AsyValue m_lognormvariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"mu", "sigma"};
    double a[2];
    if (!dist_args(vm, "lognormvariate", argc, argv, kw, names, 2, 2, NULL, a)) return ASY_ERR;
    return ASY_FLOAT(exp(normalvariate(SELF, a[0], a[1])));
}

static AsyValue m_expovariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"lambd"};
    double a[1];
    if (!dist_args(vm, "expovariate", argc, argv, kw, names, 1, 1, NULL, a)) return ASY_ERR;
    double u = mt_random(SELF);
    if (a[0] == 0.0) return float_div_zero(vm);
    return ASY_FLOAT(-log(1.0 - u) / a[0]);
}

static AsyValue m_vonmisesvariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"mu", "kappa"};
    double a[2];
    if (!dist_args(vm, "vonmisesvariate", argc, argv, kw, names, 2, 2, NULL, a)) return ASY_ERR;
    AsyRandom *r = SELF;
    double mu = a[0], kappa = a[1], z;
    if (kappa <= 1e-6) return ASY_FLOAT(2.0 * M_PI * mt_random(r));
    double s = 0.5 / kappa;
    double rr = s + sqrt(1.0 + s * s);
    for (;;) {
        double u1 = mt_random(r);
        z = cos(M_PI * u1);
        double d = z / (rr + z);
        double u2 = mt_random(r);
        if (u2 < 1.0 - d * d || u2 <= (1.0 - d) * exp(d)) break;
    }
    double q = 1.0 / rr;
    double f = (q + z) / (1.0 + q * z);
    double u3 = mt_random(r);
    double theta = u3 > 0.5 ? mu + acos(f) : mu - acos(f);
    double m = fmod(theta, 2.0 * M_PI); /* Python's %: the sign of the divisor */
    if (m < 0.0)
        m += 2.0 * M_PI;
    else if (m == 0.0)
        m = 0.0; /* not -0.0 */
    return ASY_FLOAT(m);
}

/* gammavariate(alpha, beta); false with ValueError raised for alpha or beta <= 0. */
static bool gammavariate(AsyVM *vm, AsyRandom *r, double alpha, double beta, double *out) {
    if (alpha <= 0.0 || beta <= 0.0) {
        asy_raise(vm, ASY_EXC_ValueError, "gammavariate: alpha and beta must be > 0.0");
        return false;
    }
    if (alpha > 1.0) {
        const double log4 = log(4.0), sg_magic = 1.0 + log(4.5);
        double ainv = sqrt(2.0 * alpha - 1.0), bbb = alpha - log4, ccc = alpha + ainv;
        for (;;) {
            double u1 = mt_random(r);
            if (!(1e-7 < u1 && u1 < 0.9999999)) continue;
            double u2 = 1.0 - mt_random(r);
            double v = log(u1 / (1.0 - u1)) / ainv;
            double x = alpha * exp(v);
            double z = u1 * u1 * u2;
            double rv = bbb + ccc * v - x;
            if (rv + sg_magic - 4.5 * z >= 0.0 || rv >= log(z)) {
                *out = x * beta;
                return true;
            }
        }
    }
    if (alpha == 1.0) {
        *out = -log(1.0 - mt_random(r)) * beta;
        return true;
    }
    double x;
    for (;;) {
        double u = mt_random(r);
        double b = (M_E + alpha) / M_E;
        double p = b * u;
        x = p <= 1.0 ? pow(p, 1.0 / alpha) : -log((b - p) / alpha);
        double u1 = mt_random(r);
        if (p > 1.0) {
            if (u1 <= pow(x, alpha - 1.0)) break;
        } else if (u1 <= exp(-x)) {
            break;
        }
    }
    *out = x * beta;
    return true;
}

static AsyValue m_gammavariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"alpha", "beta"};
    double a[2], x;
    if (!dist_args(vm, "gammavariate", argc, argv, kw, names, 2, 2, NULL, a) ||
        !gammavariate(vm, SELF, a[0], a[1], &x))
        return ASY_ERR;
    return ASY_FLOAT(x);
}

static AsyValue m_betavariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"alpha", "beta"};
    double a[2], y, y2;
    if (!dist_args(vm, "betavariate", argc, argv, kw, names, 2, 2, NULL, a) ||
        !gammavariate(vm, SELF, a[0], 1.0, &y))
        return ASY_ERR;
    if (y == 0.0) return ASY_FLOAT(0.0);
    if (!gammavariate(vm, SELF, a[1], 1.0, &y2)) return ASY_ERR;
    return ASY_FLOAT(y / (y + y2));
}

static AsyValue m_paretovariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"alpha"};
    double a[1];
    if (!dist_args(vm, "paretovariate", argc, argv, kw, names, 1, 1, NULL, a)) return ASY_ERR;
    double u = 1.0 - mt_random(SELF);
    if (a[0] == 0.0) return float_div_zero(vm);
    return ASY_FLOAT(pow(u, -1.0 / a[0]));
}

static AsyValue m_weibullvariate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"alpha", "beta"};
    double a[2];
    if (!dist_args(vm, "weibullvariate", argc, argv, kw, names, 2, 2, NULL, a)) return ASY_ERR;
    double u = 1.0 - mt_random(SELF);
    if (a[1] == 0.0) return float_div_zero(vm);
    return ASY_FLOAT(a[0] * pow(-log(u), 1.0 / a[1]));
}

/* randbytes(n): getrandbits(n * 8).to_bytes(n, 'little'), word by word as getrandbits. */
static AsyValue m_randbytes(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    int64_t n;
    if (!asy_check_nokw(vm, "randbytes", kw) || !asy_check_args(vm, "randbytes", argc - 1, 1, 1) ||
        !asy_index(vm, argv[1], &n))
        return ASY_ERR;
    if (n < 0) return asy_raise(vm, ASY_EXC_ValueError, "number of bits must be non-negative");
    if (n >= (int64_t)ASY_MAX_ALLOC) return asy_raise_memory(vm);
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf) return asy_raise_memory(vm);
    for (int64_t i = 0; i < n; i += 4) {
        uint32_t w = mt_next(SELF);
        int64_t left = n - i < 4 ? n - i : 4;
        if (left < 4) w >>= 32 - 8 * left;
        for (int64_t k = 0; k < left; k++)
            buf[i + k] = (uint8_t)(w >> (8 * k));
    }
    AsyBytes *b = asy_bytes_new(vm, buf, (size_t)n);
    free(buf);
    return b ? ASY_OBJ(b) : ASY_ERR;
}

/* bisect_right(cum, x, 0, hi) over doubles */
static int64_t bisect_right(const double *cum, double x, int64_t hi) {
    int64_t lo = 0;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (x < cum[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static bool weights_arg(AsyVM *vm, AsyValue w, bool cumulative, int64_t n, double *cum) {
    AsyList *l = asy_list_from_iterable(vm, w);
    if (!l) return false;
    if (l->len != n) {
        asy_raise(vm, ASY_EXC_ValueError, "The number of weights does not match the population");
        return false;
    }
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d;
        if (!asy_to_double(vm, l->items[i], &d)) return false;
        total = cumulative ? d : total + d;
        cum[i] = total;
    }
    return true;
}

static AsyValue m_choices(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue weights = asy_kwarg(vm, kw, "weights"), cum = asy_kwarg(vm, kw, "cum_weights");
    AsyValue kv = asy_kwarg(vm, kw, "k");
    if (!asy_check_kw_done(vm, "choices", kw) || !asy_check_args(vm, "choices", argc - 1, 1, 2))
        return ASY_ERR;
    if (argc > 2) weights = argv[2];
    int64_t k = 1;
    if (!ASY_IS_UNDEF(kv) && !asy_index(vm, kv, &k)) return ASY_ERR;
    AsyValue pop = argv[1];
    int64_t n = asy_len(vm, pop);
    if (n < 0) return ASY_ERR;
    AsyList *out = asy_list_new(vm, k > 0 ? k : 0);
    bool has_w = !ASY_IS_UNDEF(weights) && !ASY_IS_NONE(weights);
    bool has_c = !ASY_IS_UNDEF(cum) && !ASY_IS_NONE(cum);
    if (!has_w && !has_c) {
        for (int64_t i = 0; i < k; i++) {
            AsyValue v = asy_getitem(vm, pop, ASY_INT((int64_t)floor(mt_random(SELF) * (double)n)));
            if (ASY_IS_ERR(v) || asy_list_append(vm, out, v) < 0) return ASY_ERR;
        }
        return ASY_OBJ(out);
    }
    if (has_w && has_c)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "Cannot specify both weights and cumulative weights");
    double *cw = asy_mem_alloc(vm, (size_t)(n ? n : 1) * sizeof *cw);
    if (!cw) return ASY_ERR;
    AsyValue result = ASY_OBJ(out);
    if (!weights_arg(vm, has_w ? weights : cum, has_c, n, cw)) {
        result = ASY_ERR;
    } else if (n == 0 || !(cw[n - 1] > 0.0)) {
        result = asy_raise(vm, ASY_EXC_ValueError, "Total of weights must be greater than zero");
    } else if (!isfinite(cw[n - 1])) {
        result = asy_raise(vm, ASY_EXC_ValueError, "Total of weights must be finite");
    } else {
        for (int64_t i = 0; i < k; i++) {
            int64_t j = bisect_right(cw, mt_random(SELF) * cw[n - 1], n - 1);
            AsyValue v = asy_getitem(vm, pop, ASY_INT(j));
            if (ASY_IS_ERR(v) || asy_list_append(vm, out, v) < 0) {
                result = ASY_ERR;
                break;
            }
        }
    }
    asy_mem_free(vm, cw, (size_t)(n ? n : 1) * sizeof *cw);
    return result;
}

static AsyValue m_sample(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue kv = asy_kwarg(vm, kw, "k");
    if (!asy_check_kw_done(vm, "sample", kw) || !asy_check_args(vm, "sample", argc - 1, 1, 2))
        return ASY_ERR;
    if (argc > 2) kv = argv[2];
    if (ASY_IS_UNDEF(kv))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "sample() missing 1 required positional argument: 'k'");
    AsyValue pop = argv[1];
    AsyType *t = asy_type_of(vm, pop);
    if (asy_is_subtype(t, ASY_TYPE(vm, set)) || asy_is_subtype(t, ASY_TYPE(vm, frozenset)) ||
        asy_is_subtype(t, ASY_TYPE(vm, dict)))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "Population must be a sequence.  For dicts or sets, use sorted(d).");
    int64_t k, n = asy_len(vm, pop);
    if (n < 0 || !asy_index(vm, kv, &k)) return ASY_ERR;
    if (k < 0 || k > n)
        return asy_raise(vm, ASY_EXC_ValueError, "Sample larger than population or is negative");
    AsyList *result = asy_list_new(vm, k);
    int64_t setsize = 21;
    if (k > 5) setsize += (int64_t)pow(4.0, ceil(log((double)k * 3) / log(4.0)));
    if (n <= setsize) {
        AsyList *pool = asy_list_from_iterable(vm, pop);
        if (!pool) return ASY_ERR;
        for (int64_t i = 0; i < k; i++) {
            AsyValue jv = randbelow(vm, SELF, ASY_INT(n - i));
            if (ASY_IS_ERR(jv)) return jv;
            int64_t j = ASY_AS_INT(jv);
            asy_list_append(vm, result, pool->items[j]);
            pool->items[j] = pool->items[n - i - 1];
        }
        return ASY_OBJ(result);
    }
    AsySet *selected = asy_set_new(vm, false);
    for (int64_t i = 0; i < k; i++) {
        AsyValue j;
        do {
            j = randbelow(vm, SELF, ASY_INT(n));
            if (ASY_IS_ERR(j)) return j;
        } while (asy_set_contains(vm, selected, j) == 1);
        asy_set_add(vm, selected, j);
        AsyValue v = asy_getitem(vm, pop, j);
        if (ASY_IS_ERR(v) || asy_list_append(vm, result, v) < 0) return ASY_ERR;
    }
    return ASY_OBJ(result);
}

static const AsyMethodDef random_methods[] = {
    {"seed", m_seed, 0, "Initialise the generator from an int, str, bytes or None."},
    {"random", m_random, 0, "A float in [0.0, 1.0)."},
    {"getrandbits", m_getrandbits, 0, "An int with k random bits."},
    {"randrange", m_randrange, 0, "A random item of range(start, stop, step)."},
    {"randint", m_randint, 0, "A random int in [a, b]."},
    {"choice", m_choice, 0, "A random element of a non-empty sequence."},
    {"choices", m_choices, 0, "k elements chosen with replacement, optionally weighted."},
    {"shuffle", m_shuffle, 0, "Shuffle a list in place."},
    {"sample", m_sample, 0, "k unique elements chosen from a sequence."},
    {"uniform", m_uniform, 0, "A float between a and b."},
    {"gauss", m_gauss, 0, "A normally distributed float."},
    {"triangular", m_triangular, 0, "A float from the triangular distribution."},
    {"normalvariate", m_normalvariate, 0, "A normally distributed float (Kinderman-Monahan)."},
    {"lognormvariate", m_lognormvariate, 0, "A log-normally distributed float."},
    {"expovariate", m_expovariate, 0, "An exponentially distributed float."},
    {"vonmisesvariate", m_vonmisesvariate, 0, "An angle from the von Mises distribution."},
    {"gammavariate", m_gammavariate, 0, "A float from the gamma distribution."},
    {"betavariate", m_betavariate, 0, "A float in [0, 1] from the beta distribution."},
    {"paretovariate", m_paretovariate, 0, "A float from the Pareto distribution."},
    {"weibullvariate", m_weibullvariate, 0, "A float from the Weibull distribution."},
    {"randbytes", m_randbytes, 0, "n random bytes."},
    {"getstate", m_getstate, 0, "The generator's state, for setstate()."},
    {"setstate", m_setstate, 0, "Restore a state that getstate() returned."},
    {NULL, NULL, 0, NULL},
};

/* ---- the Random type ---- */

static void random_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_value(vm, ((AsyRandom *)o)->gauss_next);
}

static AsyValue random_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "Random", kw) || !asy_check_args(vm, "Random", argc, 0, 1))
        return ASY_ERR;
    AsyRandom *r = asy_gc_alloc(vm, type, type->basicsize);
    r->gauss_next = ASY_NONE;
    AsyValue self = ASY_OBJ(r);
    asy_root_push(vm, self);
    bool ok = rnd_seed(vm, r, argc ? argv[0] : ASY_UNDEF);
    asy_root_pop(vm, 1);
    return ok ? self : ASY_ERR;
}

void asy_mod_random_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "Random", ASY_TYPE(vm, object), sizeof(AsyRandom));
    t->tflags |= ASY_TYPE_BASETYPE;
    t->module = asy_str_intern_cstr(vm, "random");
    t->new_ = random_new;
    t->traverse = random_traverse;
    asy_type_add_methods(vm, t, random_methods);
    asy_type_ready(vm, t);

    AsyModule *m = asy_module_new(vm, "random");
    asy_dict_set_cstr(vm, m->dict, "Random", ASY_OBJ(t));
    AsyValue inst = random_new(vm, t, 0, NULL, NULL);
    for (const AsyMethodDef *d = random_methods; d->name; d++)
        asy_dict_set_cstr(vm, m->dict, d->name, asy_native_new(vm, d, inst, t));
    asy_module_register(vm, m);
}
