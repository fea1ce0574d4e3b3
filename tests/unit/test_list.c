/* Unit tests of list.c: the sort is stable and correct on every input shape (random,
 * sorted, reversed, many equal keys, mixed ints and floats), reverse=True keeps equal items
 * in order, and slice resolution follows CPython's PySlice_GetIndicesEx. */
#include "common.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#include "vm.h"

static AsyVM *vm;

static void setup(void) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
}

static void teardown(void) {
    asy_vm_free(vm);
}

TestSuite(list, .init = setup, .fini = teardown);

static int64_t item_int(AsyList *l, int64_t i) {
    AsyValue v = l->items[i];
    return ASY_IS_FLOAT(v) ? (int64_t)ASY_AS_FLOAT(v) : ASY_AS_INT(v);
}

Test(list, sort_ints_all_shapes) {
    enum { N = 2000 };
    for (int shape = 0; shape < 4; shape++) {
        AsyList *l = asy_list_new(vm, N);
        srand(42);
        for (int i = 0; i < N; i++) {
            int v = shape == 0 ? rand() % 1000 : shape == 1 ? i : shape == 2 ? N - i : i % 7;
            asy_list_append(vm, l, ASY_INT(v));
        }
        cr_assert_eq(asy_list_sort(vm, l, ASY_UNDEF, false), 0);
        cr_assert_eq(l->len, N);
        for (int i = 1; i < N; i++) cr_assert_leq(item_int(l, i - 1), item_int(l, i));
    }
}

Test(list, sort_is_stable_with_generic_compare) {
    /* Equal values of different types (3 and 3.0) force the generic comparison and can be
     * told apart: within each value, the types must keep their original order. */
    enum { N = 3000, K = 10 };
    bool is_float[N];
    AsyList *l = asy_list_new(vm, N);
    srand(7);
    for (int i = 0; i < N; i++) {
        int v = rand() % K;
        is_float[i] = rand() % 2;
        asy_list_append(vm, l, is_float[i] ? ASY_FLOAT(v) : ASY_INT(v));
    }
    AsyList *orig = asy_list_from_array(vm, l->items, l->len);
    cr_assert_eq(asy_list_sort(vm, l, ASY_UNDEF, false), 0);
    int64_t at = 0;
    for (int v = 0; v < K; v++) {
        for (int i = 0; i < N; i++) {
            if (item_int(orig, i) != v) continue;
            cr_assert_eq(item_int(l, at), v);
            cr_assert_eq(ASY_IS_FLOAT(l->items[at]), is_float[i], "unstable at %lld", (long long)at);
            at++;
        }
    }
    cr_assert_eq(at, N);
}

Test(list, sort_reverse_keeps_equal_items_in_order) {
    /* 1 and 1.0 and True are equal: reverse=True must not reorder them. */
    AsyValue items[] = {ASY_INT(1), ASY_FLOAT(1.0), ASY_INT(3), ASY_TRUE, ASY_FLOAT(2.5)};
    AsyList *l = asy_list_from_array(vm, items, 5);
    cr_assert_eq(asy_list_sort(vm, l, ASY_UNDEF, true), 0);
    cr_assert(ASY_IS_INT(l->items[0]) && ASY_AS_INT(l->items[0]) == 3);
    cr_assert(ASY_IS_FLOAT(l->items[1]));
    cr_assert(ASY_IS_INT(l->items[2]));
    cr_assert(ASY_IS_FLOAT(l->items[3]) && ASY_AS_FLOAT(l->items[3]) == 1.0);
    cr_assert(ASY_IS_BOOL(l->items[4]));
}

Test(list, sort_incomparable_raises_and_keeps_items) {
    AsyValue items[] = {ASY_INT(3), ASY_OBJ(asy_str_from_cstr(vm, "a")), ASY_INT(1)};
    AsyList *l = asy_list_from_array(vm, items, 3);
    cr_assert_eq(asy_list_sort(vm, l, ASY_UNDEF, false), -1);
    cr_assert(asy_exc_matches(vm, ASY_EXC_TypeError));
    asy_exc_clear(vm);
    cr_assert_eq(l->len, 3);
}

static void check_slice(AsyValue a, AsyValue b, AsyValue c, int64_t len, int64_t es,
                        int64_t ee, int64_t ep, int64_t en) {
    AsySlice *s = (AsySlice *)ASY_AS_OBJ(asy_slice_new(vm, a, b, c));
    int64_t start, stop, step, n;
    cr_assert(asy_slice_indices(vm, s, len, &start, &stop, &step, &n));
    cr_assert_eq(start, es);
    cr_assert_eq(stop, ee);
    cr_assert_eq(step, ep);
    cr_assert_eq(n, en);
}

Test(list, slice_indices_as_cpython) {
    /* Expected values are slice(a, b, c).indices(len) and len(range(len)[a:b:c]). */
    check_slice(ASY_NONE, ASY_NONE, ASY_NONE, 10, 0, 10, 1, 10);
    check_slice(ASY_NONE, ASY_NONE, ASY_INT(-1), 10, 9, -1, -1, 10);
    check_slice(ASY_INT(-3), ASY_NONE, ASY_NONE, 10, 7, 10, 1, 3);
    check_slice(ASY_INT(2), ASY_INT(100), ASY_INT(3), 10, 2, 10, 3, 3);
    check_slice(ASY_INT(-100), ASY_INT(-20), ASY_NONE, 10, 0, 0, 1, 0);
    check_slice(ASY_INT(8), ASY_INT(2), ASY_INT(-2), 10, 8, 2, -2, 3);
    check_slice(ASY_INT(5), ASY_INT(1), ASY_NONE, 10, 5, 1, 1, 0);
    AsySlice *z = (AsySlice *)ASY_AS_OBJ(asy_slice_new(vm, ASY_NONE, ASY_NONE, ASY_INT(0)));
    int64_t s, e, p, n;
    cr_assert(!asy_slice_indices(vm, z, 10, &s, &e, &p, &n));
    cr_assert(asy_exc_matches(vm, ASY_EXC_ValueError));
    asy_exc_clear(vm);
}

Test(list, append_grows_and_from_iterable_copies) {
    AsyList *l = asy_list_new(vm, 0);
    for (int i = 0; i < 10000; i++) asy_list_append(vm, l, ASY_INT(i));
    cr_assert_eq(l->len, 10000);
    cr_assert_geq(l->cap, l->len);
    AsyList *c = asy_list_from_iterable(vm, ASY_OBJ(l));
    cr_assert_not_null(c);
    cr_assert_eq(c->len, 10000);
    cr_assert_neq(c->items, l->items);
    cr_assert_eq(ASY_AS_INT(c->items[9999]), 9999);
    AsyTuple *t = asy_tuple_from_iterable(vm, ASY_OBJ(c));
    cr_assert_eq(t->len, 10000);
}
