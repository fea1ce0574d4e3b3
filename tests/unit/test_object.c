/* Unit tests of object.c and class.c: the bootstrap of `type` and `object`, slot
 * inheritance and the default slots' CPython messages, the order of the generic attribute
 * lookup (data descriptors, instance dict, class attributes), isinstance/issubclass,
 * rich comparison fallbacks and classes built from C with asy_class_new. */
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

TestSuite(object, .init = setup, .fini = teardown);

static AsyStr *name(const char *s) { return asy_str_intern_cstr(vm, s); }

static const char *cstr(AsyValue v) {
    cr_assert(ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, str));
    return ((AsyStr *)ASY_AS_OBJ(v))->data;
}

static const char *repr_of(AsyValue v) { return cstr(asy_repr(vm, v)); }

/* The pending exception as "Type: message", cleared. */
static const char *error_text(void) {
    cr_assert_not_null(vm->exc);
    AsyValue e = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    AsyStr *s = asy_str_printf(vm, "%s: %s", asy_type_name(vm, e), cstr(asy_str(vm, e)));
    return s->data;
}

static AsyValue builtin(const char *n) {
    AsyValue v = asy_dict_get_cstr(vm, vm->builtins->dict, n);
    cr_assert(!ASY_IS_UNDEF(v), "no builtin %s", n);
    return v;
}

/* A native used as a method of test classes: returns its receiver's "x" attribute. */
static AsyValue get_x(AsyVM *v, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(kw);
    return asy_getattr(v, argv[0], asy_str_intern_cstr(v, "x"));
}

static AsyValue const_repr(AsyVM *v, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_OBJ(asy_str_from_cstr(v, "<custom>"));
}

static const AsyMethodDef test_defs[] = {
    {"get_x", get_x, 0, NULL},
    {"__repr__", const_repr, 0, NULL},
    {NULL, NULL, 0, NULL},
};

static AsyValue native(int i) { return asy_native_new(vm, &test_defs[i], ASY_UNDEF, NULL); }

static AsyType *make_class(const char *n, AsyType *base, AsyDict *ns) {
    asy_dict_set_cstr(vm, ns, "__module__", ASY_OBJ(asy_str_from_cstr(vm, "__main__")));
    AsyValue b = base ? ASY_OBJ(base) : ASY_UNDEF;
    AsyValue c = asy_class_new(vm, asy_str_from_cstr(vm, n), &b, base ? 1 : 0, ns);
    cr_assert(ASY_IS_OBJ(c));
    return (AsyType *)ASY_AS_OBJ(c);
}

Test(object, bootstrap) {
    AsyType *type = ASY_TYPE(vm, type), *object = ASY_TYPE(vm, object);
    cr_assert_eq(type->hdr.type, type);
    cr_assert_eq(object->hdr.type, type);
    cr_assert_eq(type->base, object);
    cr_assert_null(object->base);
    cr_assert_eq(asy_type_of(vm, ASY_NONE), ASY_TYPE(vm, NoneType));
    cr_assert_eq(asy_type_of(vm, ASY_TRUE), ASY_TYPE(vm, bool));
    cr_assert_eq(asy_type_of(vm, ASY_INT(3)), ASY_TYPE(vm, int));
    cr_assert_eq(asy_type_of(vm, ASY_FLOAT(1.5)), ASY_TYPE(vm, float));
    cr_assert_str_eq(repr_of(ASY_OBJ(type)), "<class 'type'>");
    cr_assert_str_eq(repr_of(ASY_NONE), "None");
    cr_assert_str_eq(repr_of(ASY_OBJ(vm->not_implemented)), "NotImplemented");
    cr_assert_str_eq(repr_of(ASY_OBJ(vm->ellipsis)), "Ellipsis");
    /* Methods added while str and dict did not exist were installed afterwards. */
    cr_assert(!ASY_IS_UNDEF(asy_type_lookup(object, name("__init__"))));
    cr_assert(!ASY_IS_UNDEF(asy_type_lookup(ASY_TYPE(vm, property), name("setter"))));
    cr_assert_str_eq(cstr(asy_getattr(vm, ASY_OBJ(ASY_TYPE(vm, int)), name("__name__"))), "int");
}

Test(object, default_slots_raise_cpython_messages) {
    cr_assert_eq(asy_len(vm, ASY_INT(1)), -1);
    cr_assert_str_eq(error_text(), "TypeError: object of type 'int' has no len()");
    cr_assert(ASY_IS_ERR(asy_iter(vm, ASY_NONE)));
    cr_assert_str_eq(error_text(), "TypeError: 'NoneType' object is not iterable");
    cr_assert(ASY_IS_ERR(asy_getitem(vm, ASY_INT(1), ASY_INT(0))));
    cr_assert_str_eq(error_text(), "TypeError: 'int' object is not subscriptable");
    cr_assert(ASY_IS_ERR(asy_call(vm, ASY_INT(1), 0, NULL, NULL)));
    cr_assert_str_eq(error_text(), "TypeError: 'int' object is not callable");
    cr_assert_eq(asy_contains(vm, ASY_INT(1), ASY_INT(1)), -1);
    cr_assert_str_eq(error_text(), "TypeError: argument of type 'int' is not iterable");
    AsyValue t = ASY_OBJ(asy_tuple_new(vm, 1));
    cr_assert_eq(asy_setitem(vm, t, ASY_INT(0), ASY_INT(1)), -1);
    cr_assert_str_eq(error_text(), "TypeError: 'tuple' object does not support item assignment");
    int64_t h;
    cr_assert(!asy_hash(vm, ASY_OBJ(asy_list_new(vm, 0)), &h));
    cr_assert_str_eq(error_text(), "TypeError: unhashable type: 'list'");
    cr_assert(!asy_callable(vm, ASY_INT(1)));
    cr_assert(asy_callable(vm, builtin("len")));
}

Test(object, slots_inherit_from_base) {
    AsyType *t = asy_type_new_builtin(vm, "thing", NULL, sizeof(AsyObj));
    cr_assert_eq(t->base, ASY_TYPE(vm, object));
    cr_assert_eq(t->getattr, ASY_TYPE(vm, object)->getattr);
    cr_assert_eq(t->len, ASY_TYPE(vm, object)->len);
    t->hash = NULL; /* made unhashable by its maker: must stay so */
    asy_type_ready(vm, t);
    AsyType *sub = asy_type_new_builtin(vm, "subthing", t, sizeof(AsyObj));
    asy_type_ready(vm, sub);
    cr_assert_null(sub->hash);
    cr_assert(asy_is_subtype(sub, t) && asy_is_subtype(sub, ASY_TYPE(vm, object)));
    cr_assert(!asy_is_subtype(t, sub));
}

Test(object, isinstance_and_issubclass) {
    cr_assert(asy_isinstance(vm, ASY_TRUE, ASY_TYPE(vm, int)));
    cr_assert(!asy_isinstance(vm, ASY_INT(1), ASY_TYPE(vm, bool)));
    cr_assert(asy_isinstance(vm, ASY_OBJ(ASY_TYPE(vm, int)), ASY_TYPE(vm, type)));
    cr_assert(asy_isinstance(vm, ASY_OBJ(ASY_TYPE(vm, type)), ASY_TYPE(vm, object)));
    AsyValue args[2] = {ASY_INT(1), ASY_INT(2)};
    cr_assert(ASY_IS_ERR(asy_call(vm, builtin("isinstance"), 2, args, NULL)));
    cr_assert_str_eq(error_text(),
                     "TypeError: isinstance() arg 2 must be a type, a tuple of types, or a union");
    AsyValue tup[2] = {ASY_OBJ(ASY_TYPE(vm, str)), ASY_OBJ(ASY_TYPE(vm, int))};
    args[1] = ASY_OBJ(asy_tuple_from_array(vm, tup, 2));
    cr_assert(asy_value_is(asy_call(vm, builtin("isinstance"), 2, args, NULL), ASY_TRUE));
}

Test(object, comparison_fallbacks) {
    AsyValue o1 = asy_call(vm, ASY_OBJ(ASY_TYPE(vm, object)), 0, NULL, NULL);
    AsyValue o2 = asy_call(vm, ASY_OBJ(ASY_TYPE(vm, object)), 0, NULL, NULL);
    cr_assert_eq(asy_eq(vm, o1, o1), 1);
    cr_assert_eq(asy_eq(vm, o1, o2), 0);
    cr_assert_eq(asy_compare_bool(vm, o1, o2, ASY_CMP_NE), 1);
    cr_assert_eq(asy_compare_bool(vm, ASY_INT(1), ASY_FLOAT(1.5), ASY_CMP_LT), 1);
    AsyValue s = ASY_OBJ(asy_str_from_cstr(vm, "a"));
    cr_assert(ASY_IS_ERR(asy_compare(vm, ASY_INT(1), s, ASY_CMP_LT)));
    cr_assert_str_eq(error_text(),
                     "TypeError: '<' not supported between instances of 'int' and 'str'");
    cr_assert(asy_value_is(asy_compare(vm, ASY_INT(1), s, ASY_CMP_EQ), ASY_FALSE));
}

/* Data descriptors on the class win over the instance dict; the instance dict wins over
 * other class attributes. */
Test(object, generic_getattr_order) {
    AsyDict *ns = asy_dict_new(vm);
    asy_dict_set_cstr(vm, ns, "shadowed", ASY_INT(1));
    AsyValue fget = native(0);
    asy_dict_set_cstr(vm, ns, "prop",
                      asy_call(vm, ASY_OBJ(ASY_TYPE(vm, property)), 1, &fget, NULL));
    AsyType *c = make_class("C", NULL, ns);
    AsyValue obj = asy_call(vm, ASY_OBJ(c), 0, NULL, NULL);
    cr_assert(ASY_IS_OBJ(obj));
    cr_assert(asy_value_is(asy_getattr(vm, obj, name("shadowed")), ASY_INT(1)));
    cr_assert_eq(asy_setattr(vm, obj, name("shadowed"), ASY_INT(2)), 0);
    cr_assert(asy_value_is(asy_getattr(vm, obj, name("shadowed")), ASY_INT(2)));
    cr_assert_eq(asy_setattr(vm, obj, name("x"), ASY_INT(7)), 0);
    cr_assert(asy_value_is(asy_getattr(vm, obj, name("prop")), ASY_INT(7)));
    /* A property without setter refuses even though the instance has a dict. */
    cr_assert_eq(asy_setattr(vm, obj, name("prop"), ASY_INT(0)), -1);
    cr_assert_str_eq(error_text(), "AttributeError: property 'prop' of 'C' object has no setter");
    cr_assert(ASY_IS_ERR(asy_getattr(vm, obj, name("nope"))));
    cr_assert_str_eq(error_text(), "AttributeError: 'C' object has no attribute 'nope'");
    cr_assert(ASY_IS_UNDEF(asy_getattr_opt(vm, obj, name("nope"))));
    cr_assert_null(vm->exc);
    cr_assert(asy_value_is(asy_getattr(vm, obj, name("__class__")), ASY_OBJ(c)));
}

Test(object, class_slots_follow_dunders) {
    AsyDict *ns = asy_dict_new(vm);
    asy_dict_set_cstr(vm, ns, "__repr__", native(1));
    AsyType *c = make_class("R", NULL, ns);
    AsyValue obj = asy_call(vm, ASY_OBJ(c), 0, NULL, NULL);
    cr_assert_str_eq(repr_of(obj), "<custom>");
    cr_assert_str_eq(cstr(asy_str(vm, obj)), "<custom>");
    cr_assert_str_eq(repr_of(ASY_OBJ(c)), "<class '__main__.R'>");
    /* A subclass inherits the trampoline; a class with __eq__ alone is unhashable. */
    AsyDict *ns2 = asy_dict_new(vm);
    asy_dict_set_cstr(vm, ns2, "__eq__", native(0));
    AsyType *d = make_class("D", c, ns2);
    AsyValue obj2 = asy_call(vm, ASY_OBJ(d), 0, NULL, NULL);
    cr_assert_str_eq(repr_of(obj2), "<custom>");
    int64_t h;
    cr_assert(!asy_hash(vm, obj2, &h));
    cr_assert_str_eq(error_text(), "TypeError: unhashable type: 'D'");
    cr_assert(asy_hash(vm, obj, &h));
}

Test(object, type_attributes) {
    AsyType *c = make_class("K", NULL, asy_dict_new(vm));
    AsyValue k = ASY_OBJ(c);
    cr_assert_str_eq(cstr(asy_getattr(vm, k, name("__qualname__"))), "K");
    cr_assert_str_eq(cstr(asy_getattr(vm, k, name("__module__"))), "__main__");
    cr_assert(ASY_IS_NONE(asy_getattr(vm, k, name("__doc__"))));
    cr_assert_str_eq(repr_of(asy_getattr(vm, k, name("__mro__"))),
                     "(<class '__main__.K'>, <class 'object'>)");
    cr_assert(ASY_IS_ERR(asy_getattr(vm, k, name("zz"))));
    cr_assert_str_eq(error_text(), "AttributeError: type object 'K' has no attribute 'zz'");
    cr_assert_eq(asy_setattr(vm, ASY_OBJ(ASY_TYPE(vm, int)), name("zz"), ASY_INT(1)), -1);
    cr_assert_str_eq(error_text(), "TypeError: cannot set 'zz' attribute of immutable type 'int'");
}
