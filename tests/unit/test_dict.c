/* Unit tests of dict.c (and set.c's C API): insertion, deletion, growth and compaction keep
 * insertion order; the str fast paths agree with the generic ones; the version counter
 * moves on every change; popitem and iteration behave as CPython's. */
#include "common.h"

#include <criterion/criterion.h>
#include <stdio.h>

#include "vm.h"

static AsyVM *vm;

static void setup(void) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
}

static void teardown(void) {
    asy_vm_free(vm);
}

TestSuite(dict, .init = setup, .fini = teardown);

static AsyValue str(const char *s) {
    return ASY_OBJ(asy_str_from_cstr(vm, s));
}

/* The keys of d in iteration order, as ints. */
static int64_t keys_of(AsyDict *d, int64_t *out, int64_t max) {
    int64_t pos = 0, n = 0;
    AsyValue k;
    while (asy_dict_next(d, &pos, &k, NULL) && n < max) out[n++] = ASY_AS_INT(k);
    return n;
}

Test(dict, insert_get_overwrite) {
    AsyDict *d = asy_dict_new(vm);
    for (int i = 0; i < 100; i++) cr_assert_eq(asy_dict_set(vm, d, ASY_INT(i), ASY_INT(i * i)), 0);
    cr_assert_eq(d->len, 100);
    for (int i = 0; i < 100; i++) {
        AsyValue v = asy_dict_get(vm, d, ASY_INT(i));
        cr_assert(ASY_IS_INT(v) && ASY_AS_INT(v) == i * i);
    }
    cr_assert(ASY_IS_UNDEF(asy_dict_get(vm, d, ASY_INT(100))));
    asy_dict_set(vm, d, ASY_INT(5), ASY_INT(-1));
    cr_assert_eq(d->len, 100);
    cr_assert_eq(ASY_AS_INT(asy_dict_get(vm, d, ASY_INT(5))), -1);
}

Test(dict, order_survives_deletes_and_resizes) {
    AsyDict *d = asy_dict_new(vm);
    for (int i = 0; i < 50; i++) asy_dict_set(vm, d, ASY_INT(i), ASY_NONE);
    for (int i = 0; i < 50; i += 2) cr_assert_eq(asy_dict_del(vm, d, ASY_INT(i)), 1);
    cr_assert_eq(asy_dict_del(vm, d, ASY_INT(0)), 0);
    for (int i = 100; i < 200; i++) asy_dict_set(vm, d, ASY_INT(i), ASY_NONE);
    int64_t keys[200];
    int64_t n = keys_of(d, keys, 200);
    cr_assert_eq(n, 125);
    for (int i = 0; i < 25; i++) cr_assert_eq(keys[i], 2 * i + 1);
    for (int i = 0; i < 100; i++) cr_assert_eq(keys[25 + i], 100 + i);
    /* Re-inserting a deleted key puts it at the end. */
    asy_dict_set(vm, d, ASY_INT(0), ASY_NONE);
    n = keys_of(d, keys, 200);
    cr_assert_eq(keys[n - 1], 0);
}

Test(dict, str_fast_path_matches_generic) {
    AsyDict *d = asy_dict_new(vm);
    AsyStr *interned = asy_str_intern_cstr(vm, "name");
    asy_dict_set_str(vm, d, interned, ASY_INT(1));
    /* A different, non-interned str object with the same text finds the same entry. */
    AsyValue v = asy_dict_get(vm, d, str("name"));
    cr_assert(ASY_IS_INT(v) && ASY_AS_INT(v) == 1);
    asy_dict_set(vm, d, str("name"), ASY_INT(2));
    cr_assert_eq(d->len, 1);
    cr_assert_eq(ASY_AS_INT(asy_dict_get_str(vm, d, interned)), 2);
    cr_assert_eq(ASY_AS_INT(asy_dict_get_cstr(vm, d, "name")), 2);
    cr_assert(ASY_IS_UNDEF(asy_dict_get_cstr(vm, d, "other")));
    /* Ints and strs never collide as keys. */
    asy_dict_set(vm, d, ASY_INT(1), ASY_INT(3));
    cr_assert_eq(d->len, 2);
}

Test(dict, equal_numbers_are_one_key) {
    AsyDict *d = asy_dict_new(vm);
    asy_dict_set(vm, d, ASY_INT(1), str("int"));
    asy_dict_set(vm, d, ASY_TRUE, str("bool"));
    asy_dict_set(vm, d, ASY_FLOAT(1.0), str("float"));
    cr_assert_eq(d->len, 1);
    int64_t pos = 0;
    AsyValue k, v;
    cr_assert(asy_dict_next(d, &pos, &k, &v));
    cr_assert(ASY_IS_INT(k));   /* the first key stays, the value is replaced */
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(v))->data, "float");
}

Test(dict, version_changes_on_every_mutation) {
    AsyDict *d = asy_dict_new(vm);
    uint64_t v0 = d->version;
    asy_dict_set(vm, d, ASY_INT(1), ASY_INT(1));
    uint64_t v1 = d->version;
    cr_assert_neq(v0, v1);
    asy_dict_set(vm, d, ASY_INT(1), ASY_INT(2));
    uint64_t v2 = d->version;
    cr_assert_neq(v1, v2);
    asy_dict_get(vm, d, ASY_INT(1));
    cr_assert_eq(d->version, v2);
    asy_dict_del(vm, d, ASY_INT(1));
    cr_assert_neq(d->version, v2);
}

Test(dict, unhashable_key_raises) {
    AsyDict *d = asy_dict_new(vm);
    AsyValue l = ASY_OBJ(asy_list_new(vm, 0));
    cr_assert_eq(asy_dict_set(vm, d, l, ASY_NONE), -1);
    cr_assert(asy_exc_matches(vm, ASY_EXC_TypeError));
    asy_exc_clear(vm);
    cr_assert(ASY_IS_ERR(asy_dict_get(vm, d, l)));
    asy_exc_clear(vm);
}

Test(dict, copy_and_update) {
    AsyDict *d = asy_dict_new(vm);
    for (int i = 0; i < 20; i++) asy_dict_set(vm, d, ASY_INT(i), ASY_INT(i));
    asy_dict_del(vm, d, ASY_INT(3));
    AsyDict *c = asy_dict_copy(vm, d);
    cr_assert_eq(c->len, 19);
    cr_assert(ASY_IS_UNDEF(asy_dict_get(vm, c, ASY_INT(3))));
    AsyDict *e = asy_dict_new(vm);
    asy_dict_set(vm, e, ASY_INT(100), ASY_INT(0));
    cr_assert_eq(asy_dict_update(vm, e, ASY_OBJ(c)), 0);
    int64_t keys[32];
    cr_assert_eq(keys_of(e, keys, 32), 20);
    cr_assert_eq(keys[0], 100);
    cr_assert_eq(keys[1], 0);
}

Test(dict, many_keys) {
    AsyDict *d = asy_dict_new(vm);
    for (int i = 0; i < 100000; i++) asy_dict_set(vm, d, ASY_INT(i * 7), ASY_INT(i));
    for (int i = 0; i < 100000; i += 3) asy_dict_del(vm, d, ASY_INT(i * 7));
    int64_t live = 0;
    for (int i = 0; i < 100000; i++) live += !ASY_IS_UNDEF(asy_dict_get(vm, d, ASY_INT(i * 7)));
    cr_assert_eq(live, d->len);
    cr_assert_eq(live, 100000 - 33334);
}

Test(dict, set_add_contains_discard) {
    AsySet *s = asy_set_new(vm, false);
    for (int i = 0; i < 1000; i++) cr_assert_eq(asy_set_add(vm, s, ASY_INT(i)), 0);
    asy_set_add(vm, s, ASY_INT(5));
    cr_assert_eq(s->len, 1000);
    cr_assert_eq(asy_set_contains(vm, s, ASY_INT(999)), 1);
    cr_assert_eq(asy_set_discard(vm, s, ASY_INT(999)), 1);
    cr_assert_eq(asy_set_discard(vm, s, ASY_INT(999)), 0);
    cr_assert_eq(asy_set_contains(vm, s, ASY_INT(999)), 0);
    cr_assert_eq(s->len, 999);
}
