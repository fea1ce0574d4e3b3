/* Unit tests of the generators' creation-site table (gensite.c): one number per (file,
 * line, qualname) by content, found again after the table has grown. (That the collector
 * keeps its strings: test_gc.c.) */
#include "config.h"

#include <criterion/criterion.h>

#include "vm.h"

static AsyVM *vm;

static void setup(void) { vm = asy_vm_new(); }
static void teardown(void) { asy_vm_free(vm); }

TestSuite(gensite, .init = setup, .fini = teardown);

static uint32_t site(AsyStr *file, int32_t line, AsyStr *qualname) {
    uint32_t id = UINT32_MAX;
    cr_assert(asy_gensite_find(vm, file, line, qualname, &id));
    return id;
}

Test(gensite, one_number_per_place_and_name) {
    AsyStr *f = asy_str_from_cstr(vm, "a.asy"), *g = asy_str_from_cstr(vm, "b.asy");
    AsyStr *q = asy_str_from_cstr(vm, "work"), *r = asy_str_from_cstr(vm, "C.work");
    uint32_t a = site(f, 3, q);
    cr_assert_eq(site(f, 3, q), a);
    cr_assert_neq(site(f, 4, q), a);
    cr_assert_neq(site(g, 3, q), a);
    cr_assert_neq(site(f, 3, r), a);
    cr_assert_neq(site(NULL, 3, q), a);
    cr_assert_eq(site(f, 3, q), a, "not found again after others were made");
    /* by content: other string objects with the same text */
    cr_assert_eq(site(asy_str_from_cstr(vm, "a.asy"), 3, asy_str_from_cstr(vm, "work")), a);
    const AsyGenSite *s = asy_gensite(vm, a);
    cr_assert(s->file == f && s->line == 3 && s->qualname == q);
}

Test(gensite, found_again_after_growing) {
    enum { N = 1000 };
    static uint32_t ids[N];
    AsyStr *f = asy_str_from_cstr(vm, "many.asy");
    for (int i = 0; i < N; i++) {
        AsyStr *q = asy_str_printf(vm, "f%d", i % 37);
        ids[i] = site(f, i, q);
        for (int j = 0; j < i; j += 97) cr_assert_neq(ids[j], ids[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        const AsyGenSite *s = asy_gensite(vm, ids[i]);
        cr_assert_eq(s->line, i);
        cr_assert_eq(site(f, i, asy_str_printf(vm, "f%d", i % 37)), ids[i]);
    }
}
