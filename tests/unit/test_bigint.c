/* Unit tests of the bigint layer (int.c, number.c): int64 <-> GMP normalisation at the
 * boundaries, str round trips in every base, CPython's int hash, floor division and modulo
 * signs, correctly rounded int -> float conversion and true division, and the 4300-digit
 * limit of decimal conversions. Expected values come from CPython 3.11. */
#include "common.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "vm.h"

static AsyVM *vm;

static void setup(void) { vm = asy_vm_new(); }
static void teardown(void) { asy_vm_free(vm); }

TestSuite(bigint, .init = setup, .fini = teardown);

static AsyValue num(const char *s) { return asy_int_from_str(vm, s, strlen(s), 0); }

static const char *text(AsyValue v) {
    cr_assert(!ASY_IS_ERR(v));
    AsyValue s = asy_repr(vm, v);
    return ((AsyStr *)ASY_AS_OBJ(s))->data;
}

/* The pending exception as "Type: message", cleared. */
static const char *error_text(void) {
    cr_assert_not_null(vm->exc);
    AsyValue e = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    return asy_str_printf(vm, "%s: %s", asy_type_name(vm, e),
                          ((AsyStr *)ASY_AS_OBJ(asy_str(vm, e)))->data)
        ->data;
}

static bool is_big(AsyValue v) { return ASY_IS_OBJ(v); }

Test(bigint, values_that_fit_int64_are_never_bigints) {
    AsyValue max = num("9223372036854775807"), min = num("-9223372036854775808");
    cr_assert(ASY_IS_INT(max) && ASY_AS_INT(max) == INT64_MAX);
    cr_assert(ASY_IS_INT(min) && ASY_AS_INT(min) == INT64_MIN);
    cr_assert(is_big(num("9223372036854775808")));
    cr_assert(is_big(num("-9223372036854775809")));
    /* Results falling back into range are unboxed again. */
    AsyValue big = asy_binop(vm, max, ASY_INT(1), ASY_BIN_ADD);
    cr_assert(is_big(big));
    AsyValue back = asy_binop(vm, big, ASY_INT(1), ASY_BIN_SUB);
    cr_assert(ASY_IS_INT(back) && ASY_AS_INT(back) == INT64_MAX);
    AsyValue p = asy_binop(vm, ASY_INT(2), ASY_INT(64), ASY_BIN_POW);
    AsyValue d = asy_binop(vm, p, ASY_INT(4), ASY_BIN_FLOORDIV);
    cr_assert(ASY_IS_INT(d) && ASY_AS_INT(d) == INT64_C(1) << 62);
    cr_assert(ASY_IS_INT(asy_binop(vm, min, ASY_INT(-1), ASY_BIN_MOD)));
    cr_expect_str_eq(text(asy_binop(vm, min, ASY_INT(-1), ASY_BIN_FLOORDIV)),
                     "9223372036854775808");
    cr_expect_str_eq(text(asy_binop(vm, min, ASY_INT(-1), ASY_BIN_MUL)), "9223372036854775808");
}

Test(bigint, mpz_round_trip) {
    mpz_t z, back;
    mpz_init_set_str(z, "-123456789012345678901234567890", 10);
    mpz_init(back);
    AsyValue v = asy_int_from_mpz(vm, z);
    cr_assert(is_big(v) && asy_is_int(vm, v));
    asy_int_to_mpz(v, back);
    cr_assert(mpz_cmp(z, back) == 0);
    mpz_set_si(z, -42);
    v = asy_int_from_mpz(vm, z);
    cr_assert(ASY_IS_INT(v) && ASY_AS_INT(v) == -42);
    asy_int_to_mpz(ASY_TRUE, back);
    cr_assert(mpz_cmp_si(back, 1) == 0);
    mpz_clears(z, back, NULL);
}

Test(bigint, str_round_trips_in_every_base) {
    static const char *const samples[] = {"0",
                                          "1",
                                          "-1",
                                          "9223372036854775807",
                                          "-9223372036854775808",
                                          "18446744073709551616",
                                          "-340282366920938463463374607431768211457"};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        AsyValue v = asy_int_from_str(vm, samples[i], strlen(samples[i]), 10);
        for (int base = 2; base <= 36; base++) {
            AsyValue s = asy_int_to_str(vm, v, base);
            AsyStr *str = (AsyStr *)ASY_AS_OBJ(s);
            AsyValue back = asy_int_from_str(vm, str->data, str->len,
                                             base == 2 || base == 8 || base == 16 ? 0 : base);
            cr_expect_str_eq(text(back), samples[i], "%s in base %d is %s", samples[i], base,
                             str->data);
        }
    }
    cr_expect_str_eq(((AsyStr *)ASY_AS_OBJ(asy_int_to_str(vm, num("-255"), 16)))->data, "-0xff");
    cr_expect_str_eq(((AsyStr *)ASY_AS_OBJ(asy_int_to_str(vm, num("5"), 2)))->data, "0b101");
    cr_expect_str_eq(((AsyStr *)ASY_AS_OBJ(asy_int_to_str(vm, num("8"), 8)))->data, "0o10");
    cr_expect_str_eq(((AsyStr *)ASY_AS_OBJ(asy_int_to_str(vm, num("35"), 36)))->data, "z");
}

Test(bigint, hash_is_cpythons) {
    static const struct {
        const char *v;
        int64_t h;
    } cases[] = {
        {"-1", -2},
        {"2305843009213693951", 0},
        {"2305843009213693952", 1},
        {"-2305843009213693952", -2},
        {"1267650600228229401496703205376", 549755813888},
        {"-1267650600228229401496703205376", -549755813888},
        {"10000000000000000000000000000000000000003", 1388497483929617593},
        {"9223372036854775808", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t h;
        cr_assert(asy_hash(vm, num(cases[i].v), &h));
        cr_expect_eq(h, cases[i].h, "hash(%s) = %lld", cases[i].v, (long long)h);
    }
}

Test(bigint, floor_division_and_modulo_signs) {
    static const char *const cases[][4] = {
        /* a, b, a // b, a % b */
        {"7", "2", "3", "1"},
        {"-7", "2", "-4", "1"},
        {"7", "-2", "-4", "-1"},
        {"-7", "-2", "3", "-1"},
        {"100000000000000000000", "-3", "-33333333333333333334", "-2"},
        {"-100000000000000000000", "3", "-33333333333333333334", "2"},
        {"-100000000000000000000", "-100000000000000000001", "0", "-100000000000000000000"},
        {"5", "100000000000000000000", "0", "5"},
        {"-5", "100000000000000000000", "-1", "99999999999999999995"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        AsyValue a = num(cases[i][0]), b = num(cases[i][1]);
        cr_expect_str_eq(text(asy_binop(vm, a, b, ASY_BIN_FLOORDIV)), cases[i][2], "%s // %s",
                         cases[i][0], cases[i][1]);
        cr_expect_str_eq(text(asy_binop(vm, a, b, ASY_BIN_MOD)), cases[i][3], "%s %% %s",
                         cases[i][0], cases[i][1]);
    }
    cr_assert(ASY_IS_ERR(asy_binop(vm, num("100000000000000000000"), ASY_INT(0), ASY_BIN_MOD)));
    cr_expect_str_eq(error_text(), "ZeroDivisionError: integer modulo by zero");
    cr_assert(
        ASY_IS_ERR(asy_binop(vm, num("100000000000000000000"), ASY_INT(0), ASY_BIN_FLOORDIV)));
    cr_expect_str_eq(error_text(), "ZeroDivisionError: integer division or modulo by zero");
}

Test(bigint, conversion_to_float_rounds_half_even) {
    double d;
    /* 2**53 + 1 is a tie: rounds to even (2**53); 2**53 + 3 rounds up. */
    cr_assert(asy_to_double(vm, num("9007199254740993"), &d));
    cr_expect_eq(d, 9007199254740992.0);
    cr_assert(asy_to_double(vm, num("9007199254740995"), &d));
    cr_expect_eq(d, 9007199254740996.0);
    /* Beyond int64: 2**64 + 2**11 is a tie below 2**64 + 2**12. */
    cr_assert(asy_to_double(vm, num("18446744073709553664"), &d));
    cr_expect_eq(d, 18446744073709551616.0);
    cr_assert(asy_to_double(vm, num("18446744073709553665"), &d));
    cr_expect_eq(d, 18446744073709555712.0);
    AsyValue huge = asy_binop(vm, ASY_INT(10), ASY_INT(400), ASY_BIN_POW);
    cr_assert(!asy_to_double(vm, huge, &d));
    cr_expect_str_eq(error_text(), "OverflowError: int too large to convert to float");
}

Test(bigint, true_division_is_correctly_rounded) {
    static const char *const cases[][3] = {
        {"10000000000000000000000000000000000000001", "3", "3.333333333333333e+39"},
        {"1", "3", "0.3333333333333333"},
        {"-1", "9223372036854775809", "-1.0842021724855044e-19"},
        {"123456789012345678901234567890", "987654321098765432109876543210", "0.1249999988609375"},
        {"0", "-5", "-0.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_str_eq(text(asy_binop(vm, num(cases[i][0]), num(cases[i][1]), ASY_BIN_TRUEDIV)),
                         cases[i][2], "%s / %s", cases[i][0], cases[i][1]);
    AsyValue big = asy_binop(vm, ASY_INT(10), ASY_INT(400), ASY_BIN_POW);
    cr_assert(ASY_IS_ERR(asy_binop(vm, big, ASY_INT(3), ASY_BIN_TRUEDIV)));
    cr_expect_str_eq(error_text(), "OverflowError: integer division result too large for a float");
    AsyValue tiny = asy_binop(vm, ASY_INT(1), big, ASY_BIN_TRUEDIV);
    cr_expect_str_eq(text(tiny), "0.0");
    /* A quotient in the subnormal range rounds once, correctly. */
    AsyValue p = asy_binop(vm, ASY_INT(2), ASY_INT(1074), ASY_BIN_POW);
    cr_expect_str_eq(text(asy_binop(vm, ASY_INT(3), p, ASY_BIN_TRUEDIV)), "1.5e-323");
}

Test(bigint, decimal_conversions_stop_at_4300_digits) {
    AsyValue ok = asy_binop(vm, ASY_INT(10), ASY_INT(4299), ASY_BIN_POW);
    cr_expect_eq(strlen(text(ok)), 4300);
    AsyValue big = asy_binop(vm, ASY_INT(10), ASY_INT(4300), ASY_BIN_POW);
    cr_assert(ASY_IS_ERR(asy_repr(vm, big)));
    cr_expect_str_eq(error_text(),
                     "ValueError: Exceeds the limit (4300 digits) for integer string "
                     "conversion; use sys.set_int_max_str_digits() to increase the limit");
    char digits[4302];
    memset(digits, '7', 4301);
    digits[4301] = '\0';
    cr_assert(ASY_IS_ERR(asy_int_from_str(vm, digits, 4301, 10)));
    cr_expect_str_eq(error_text(), "ValueError: Exceeds the limit (4300 digits) for integer string "
                                   "conversion: value has 4301 digits; use "
                                   "sys.set_int_max_str_digits() to increase the limit");
    /* Power-of-two bases have no limit. */
    AsyValue hex = asy_int_to_str(vm, big, 16);
    cr_assert(!ASY_IS_ERR(hex));
}

Test(bigint, shifts_and_bitwise_on_negatives) {
    cr_expect_str_eq(text(asy_binop(vm, num("-340282366920938463463374607431768211457"),
                                    ASY_INT(100), ASY_BIN_RSHIFT)),
                     "-268435457");
    cr_expect_str_eq(text(asy_binop(vm, ASY_INT(-1), ASY_INT(200), ASY_BIN_LSHIFT)),
                     "-1606938044258990275541962092341162602522202993782792835301376");
    cr_expect_str_eq(
        text(asy_binop(vm, num("-18446744073709551617"), ASY_INT(0xFFFF), ASY_BIN_AND)), "65535");
    cr_expect_str_eq(text(asy_binop(vm, num("-18446744073709551617"), ASY_INT(5), ASY_BIN_XOR)),
                     "-18446744073709551622");
    cr_expect_str_eq(text(asy_binop(vm, num("18446744073709551616"), num("18446744073709551616"),
                                    ASY_BIN_RSHIFT)),
                     "0");
    cr_expect_str_eq(text(asy_unaryop(vm, num("18446744073709551616"), ASY_UOP_INVERT)),
                     "-18446744073709551617");
    cr_assert(ASY_IS_ERR(asy_binop(vm, ASY_INT(1), ASY_INT(-1), ASY_BIN_LSHIFT)));
    cr_expect_str_eq(error_text(), "ValueError: negative shift count");
}
