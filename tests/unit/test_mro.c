/* Unit tests of mro.c and the MRO walk: C3 linearisation (the classic example that is not
 * a depth-first walk, inconsistent and duplicate bases with CPython's messages), the layout
 * base (best base, lay-out conflicts, bases that may not be subclassed), and AsyMroIter
 * and asy_is_subtype over a tuple MRO and over a plain base chain. */
#include "common.h"

#include <criterion/criterion.h>
#include <string.h>

#include "vm.h"

static AsyVM *vm;

static void setup(void) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
}

static void teardown(void) { asy_vm_free(vm); }

TestSuite(mro, .init = setup, .fini = teardown);

static AsyType *exc(AsyExcId id) { return vm->exc_types[id]; }

/* class NAME(bases...): pass, or NULL with the error pending. */
static AsyType *make(const char *name, int n, AsyType **bases) {
    AsyValue b[8];
    for (int i = 0; i < n; i++)
        b[i] = ASY_OBJ(bases[i]);
    AsyValue c = asy_class_new(vm, asy_str_intern_cstr(vm, name), b, n, asy_dict_new(vm));
    if (ASY_IS_ERR(c)) return NULL;
    asy_root_push(vm, c); /* kept for the test's life */
    return (AsyType *)ASY_AS_OBJ(c);
}

/* The class names of t's MRO, space-separated, from AsyMroIter. */
static const char *mro_names(AsyType *t) {
    static char buf[256];
    buf[0] = '\0';
    for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it)) {
        if (buf[0]) strcat(buf, " ");
        strcat(buf, it.t->name);
    }
    return buf;
}

static const char *error_text(void) {
    cr_assert_not_null(vm->exc);
    AsyValue e = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    AsyValue s = asy_str(vm, e);
    AsyStr *r = asy_str_printf(vm, "%s: %s", asy_type_name(vm, e), ((AsyStr *)ASY_AS_OBJ(s))->data);
    return r->data;
}

Test(mro, c3_is_not_depth_first) {
    AsyType *o = make("O", 0, NULL);
    AsyType *a = make("A", 1, &o), *b = make("B", 1, &o), *c = make("C", 1, &o);
    AsyType *d = make("D", 1, &o), *e = make("E", 1, &o);
    AsyType *k1 = make("K1", 3, (AsyType *[]){a, b, c});
    AsyType *k2 = make("K2", 3, (AsyType *[]){d, b, e});
    AsyType *k3 = make("K3", 2, (AsyType *[]){d, a});
    AsyType *z = make("Z", 3, (AsyType *[]){k1, k2, k3});
    cr_assert_not_null(z);
    cr_assert_str_eq(mro_names(z), "Z K1 K2 K3 D A B C E O object");
    cr_assert_eq(z->base, k1);
    cr_assert_eq(z->bases->len, 3);
    cr_assert(asy_is_subtype(z, e) && asy_is_subtype(z, k3) && !asy_is_subtype(k3, z));
    cr_assert(!asy_is_subtype(k1, d));
}

Test(mro, inconsistent_and_duplicate_bases) {
    AsyType *x = make("X", 0, NULL), *y = make("Y", 0, NULL);
    AsyType *p = make("P", 2, (AsyType *[]){x, y}), *q = make("Q", 2, (AsyType *[]){y, x});
    cr_assert_null(make("PQ", 2, (AsyType *[]){p, q}));
    cr_assert_str_eq(error_text(), "TypeError: Cannot create a consistent method resolution\n"
                                   "order (MRO) for bases X, Y");
    cr_assert_null(make("XX", 2, (AsyType *[]){x, x}));
    cr_assert_str_eq(error_text(), "TypeError: duplicate base class X");
    AsyType *object = ASY_TYPE(vm, object);
    cr_assert_null(make("OX", 2, (AsyType *[]){object, x}));
    cr_assert_str_eq(error_text(), "TypeError: Cannot create a consistent method resolution\n"
                                   "order (MRO) for bases object, X");
}

Test(mro, layout_base) {
    AsyType *mixin = make("Mixin", 0, NULL);
    AsyType *n = make("N", 2, (AsyType *[]){mixin, ASY_TYPE(vm, int)});
    cr_assert_not_null(n);
    cr_assert_eq(n->base, ASY_TYPE(vm, int));
    cr_assert_eq(asy_type_builtin_base(n), ASY_TYPE(vm, int));
    cr_assert_str_eq(mro_names(n), "N Mixin int object");
    /* OSError has fields ValueError lacks: it gives the layout, whatever the order. */
    AsyType *w = make("W", 2, (AsyType *[]){exc(ASY_EXC_ValueError), exc(ASY_EXC_OSError)});
    cr_assert_eq(w->base, exc(ASY_EXC_OSError));
    cr_assert(w->tflags & ASY_TYPE_EXCEPTION);
    cr_assert_null(make("IS", 2, (AsyType *[]){ASY_TYPE(vm, int), ASY_TYPE(vm, str)}));
    cr_assert_str_eq(error_text(), "TypeError: multiple bases have instance lay-out conflict");
    cr_assert_null(make("OA", 2, (AsyType *[]){exc(ASY_EXC_OSError), exc(ASY_EXC_AttributeError)}));
    cr_assert_str_eq(error_text(), "TypeError: multiple bases have instance lay-out conflict");
    cr_assert_null(make("B", 1, (AsyType *[]){ASY_TYPE(vm, bool)}));
    cr_assert_str_eq(error_text(), "TypeError: type 'bool' is not an acceptable base type");
}

Test(mro, builtin_chain_and_exception_group) {
    /* A built-in type with one base has no tuple: the walk follows ->base. */
    cr_assert_null(ASY_TYPE(vm, bool)->mro);
    cr_assert_str_eq(mro_names(ASY_TYPE(vm, bool)), "bool int object");
    AsyType *eg = exc(ASY_EXC_ExceptionGroup);
    cr_assert_str_eq(mro_names(eg),
                     "ExceptionGroup BaseExceptionGroup Exception BaseException object");
    cr_assert(asy_is_subtype(eg, exc(ASY_EXC_Exception)));
    cr_assert(!asy_is_subtype(exc(ASY_EXC_BaseExceptionGroup), exc(ASY_EXC_Exception)));
}
