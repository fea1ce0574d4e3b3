/* Smoke test of the build itself: config.h is generated and the libraries libasy.a relies on
 * (libevent, PCRE2, GMP, libm) are found, linked and usable. It knows nothing of the interpreter;
 * when a unit test of a real module exists, this one can stay as the check of the build. */
#include "config.h"

#include <criterion/criterion.h>
#include <event2/event.h>
#include <gmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

Test(smoke, config_header) {
    cr_assert_str_eq(PACKAGE_NAME, "asy");
}

Test(smoke, libevent_is_2_1_or_later) {
    ev_uint32_t version = event_get_version_number();
    cr_assert_geq(version, 0x02010000u, "libevent %s is older than 2.1", event_get_version());
    struct event_base *base = event_base_new();
    cr_assert_not_null(base);
    event_base_free(base);
}

Test(smoke, pcre2_matches) {
    int err;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR) "a(b+)c", PCRE2_ZERO_TERMINATED, 0, &err, &erroff,
                                   NULL);
    cr_assert_not_null(re);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR) "xxabbbc", 7, 0, 0, md, NULL);
    cr_assert_eq(rc, 2);
    cr_assert_eq(pcre2_get_ovector_pointer(md)[2], 3);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

Test(smoke, gmp_big_power) {
    mpz_t n;
    mpz_init(n);
    mpz_ui_pow_ui(n, 2, 100);
    char *s = mpz_get_str(NULL, 10, n);
    cr_assert_str_eq(s, "1267650600228229401496703205376");
    free(s);
    mpz_clear(n);
}

Test(smoke, libm) {
    cr_assert_float_eq(sqrt(2.0) * sqrt(2.0), 2.0, 1e-12);
}
