/* object.c - the object protocols every part of asy calls (asy_repr, asy_getattr,
 * asy_compare, asy_iter, ...), the types `object`, `type`, NoneType, NotImplementedType
 * and ellipsis, and the machinery that makes built-in types (asy_type_new_builtin,
 * asy_type_add_methods, asy_type_ready).
 *
 * Invariants:
 * - A type's slots are copied from its base when it is made, so a slot the maker never
 *   sets is inherited, and one the maker sets to NULL (hash) stays NULL. `object`'s slots
 *   raise CPython's TypeErrors, so they are what "missing behaviour" means everywhere.
 * - descr_get/descr_set are never NULL either: the defaults below mean "not a
 *   descriptor" (get) and "not a data descriptor" (set), tested by pointer comparison.
 * - Types made before str, dict and builtin_function_or_method work (bootstrap) keep
 *   their method tables in pending_methods; asy_object_init_methods installs them.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

/* ---- small helpers ---- */

static AsyType *type_of_obj(AsyValue v) { return ASY_AS_OBJ(v)->type; }

static AsyType *as_type(AsyValue v) { return (AsyType *)ASY_AS_OBJ(v); }

static bool name_is(AsyStr *a, AsyStr *b) { return a == b || asy_str_equal(a, b); }

/* CPython's _Py_HashPointer: the address rotated by 4 bits (the low ones are always 0). */
static int64_t hash_pointer(const void *p) {
    uint64_t y = (uint64_t)(uintptr_t)p;
    y = (y >> 4) | (y << 60);
    int64_t h = (int64_t)y;
    return h == -1 ? -2 : h;
}

/* The address of an instance's __dict__ field, or NULL when its type has none. */
static AsyDict **instance_dict_ptr(AsyType *t, AsyValue obj) {
    if (!t->dict_offset || !ASY_IS_OBJ(obj)) return NULL;
    return asy_obj_dict_slot(ASY_AS_OBJ(obj));
}

static const char *cmp_op_text(AsyCmpOp op) {
    static const char *const text[] = {"<", "<=", "==", "!=", ">", ">="};
    return text[op];
}

static AsyCmpOp cmp_swapped(AsyCmpOp op) {
    static const AsyCmpOp swapped[] = {ASY_CMP_GT, ASY_CMP_GE, ASY_CMP_EQ,
                                       ASY_CMP_NE, ASY_CMP_LT, ASY_CMP_LE};
    return swapped[op];
}

/* ---- default slots: what a type without the behaviour does (CPython's messages) ---- */

static AsyValue default_descr_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    ASY_UNUSED(vm), ASY_UNUSED(obj), ASY_UNUSED(owner);
    return descr;
}

static int default_descr_set(AsyVM *vm, AsyValue descr, AsyValue obj, AsyValue v) {
    ASY_UNUSED(obj), ASY_UNUSED(v);
    asy_raise(vm, ASY_EXC_AttributeError, "'%s' object is not a data descriptor",
              asy_type_name(vm, descr));
    return -1;
}

bool asy_type_is_data_descr(AsyType *t) { return t->descr_set != default_descr_set; }

bool asy_type_has_descr_get(AsyType *t) { return t->descr_get != default_descr_get; }

static int64_t default_len(AsyVM *vm, AsyValue self) {
    asy_raise(vm, ASY_EXC_TypeError, "object of type '%s' has no len()", asy_type_name(vm, self));
    return -1;
}

static AsyValue default_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not callable", asy_type_name(vm, self));
}

static AsyValue default_iter(AsyVM *vm, AsyValue self) {
    return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not iterable", asy_type_name(vm, self));
}

static AsyValue default_next(AsyVM *vm, AsyValue self) {
    return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not an iterator",
                     asy_type_name(vm, self));
}

static AsyValue default_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    ASY_UNUSED(key);
    return asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not subscriptable",
                     asy_type_name(vm, self));
}

static int default_setitem(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v) {
    ASY_UNUSED(key);
    if (ASY_IS_UNDEF(v))
        asy_raise(vm, ASY_EXC_TypeError, "'%s' object doesn't support item deletion",
                  asy_type_name(vm, self));
    else
        asy_raise(vm, ASY_EXC_TypeError, "'%s' object does not support item assignment",
                  asy_type_name(vm, self));
    return -1;
}

/* `item in self` without __contains__: iterate, comparing with ==. */
static int default_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    AsyType *t = asy_type_of(vm, self);
    if (t->iter == default_iter) {
        asy_raise(vm, ASY_EXC_TypeError, "argument of type '%s' is not iterable", t->name);
        return -1;
    }
    AsyValue it = asy_iter(vm, self);
    if (ASY_IS_ERR(it)) return -1;
    asy_root_push(vm, it);
    int found = 0;
    for (;;) {
        AsyValue x = asy_next(vm, it);
        if (ASY_IS_ERR(x)) {
            found = -1;
            break;
        }
        if (ASY_IS_UNDEF(x)) break;
        found = asy_eq(vm, x, item);
        if (found != 0) break;
    }
    asy_root_pop(vm, 1);
    return found;
}

static AsyValue default_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    ASY_UNUSED(a), ASY_UNUSED(b), ASY_UNUSED(op);
    return ASY_OBJ(vm->not_implemented);
}

static AsyValue default_unaryop(AsyVM *vm, AsyValue self, AsyUnaryOp op) {
    ASY_UNUSED(self), ASY_UNUSED(op);
    return ASY_OBJ(vm->not_implemented);
}

/* ---- object ---- */

static AsyValue object_repr(AsyVM *vm, AsyValue self) {
    AsyType *t = asy_type_of(vm, self);
    const void *addr = ASY_IS_OBJ(self) ? (const void *)ASY_AS_OBJ(self) : (const void *)t;
    const char *qual = t->qualname ? t->qualname->data : t->name;
    if (t->module && strcmp(t->module->data, "builtins") != 0)
        return ASY_OBJ(asy_str_printf(vm, "<%s.%s object at %p>", t->module->data, qual, addr));
    return ASY_OBJ(asy_str_printf(vm, "<%s object at %p>", qual, addr));
}

/* str() of an object without __str__: its type's repr slot, unchecked (asy_str checks
 * the result, so a bad __repr__ is reported as "__str__ returned non-string"). */
static AsyValue object_str(AsyVM *vm, AsyValue self) {
    return asy_type_of(vm, self)->repr(vm, self);
}

static bool object_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    *out = hash_pointer(ASY_IS_OBJ(self) ? (const void *)ASY_AS_OBJ(self)
                                         : (const void *)(uintptr_t)self.as.i);
    return true;
}

/* object's comparison: identity for ==, the inverse of type(self)'s == for !=. */
static AsyValue object_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if (op == ASY_CMP_EQ)
        return asy_value_is(self, other) ? ASY_TRUE : ASY_OBJ(vm->not_implemented);
    if (op == ASY_CMP_NE) {
        AsyType *t = asy_type_of(vm, self);
        AsyValue r = t->richcompare(vm, self, other, ASY_CMP_EQ);
        if (ASY_IS_ERR(r) || (ASY_IS_OBJ(r) && ASY_AS_OBJ(r) == vm->not_implemented)) return r;
        int b = asy_truthy(vm, r);
        if (b < 0) return ASY_ERR;
        return ASY_BOOL(!b);
    }
    return ASY_OBJ(vm->not_implemented);
}

/* Truth without __bool__: len() != 0 when the type has a length, else true. */
static int object_truth(AsyVM *vm, AsyValue self) {
    AsyType *t = asy_type_of(vm, self);
    if (t->len == default_len) return 1;
    int64_t n = t->len(vm, self);
    return n < 0 ? -1 : n != 0;
}

/* The generic attribute lookup (CPython's PyObject_GenericGetAttr): data descriptors on
 * the type, then the instance __dict__, then other type attributes (bound through their
 * descr_get). `raise` false: a missing attribute gives UNDEF without raising. */
static AsyValue generic_getattr(AsyVM *vm, AsyValue obj, AsyStr *name, bool raise) {
    AsyType *t = asy_type_of(vm, obj);
    AsyValue descr = asy_type_lookup(t, name);
    AsyType *dt = NULL;
    if (!ASY_IS_UNDEF(descr)) {
        dt = asy_type_of(vm, descr);
        if (dt->descr_set != default_descr_set && dt->descr_get != default_descr_get)
            return dt->descr_get(vm, descr, obj, t);
    }
    AsyDict **dp = instance_dict_ptr(t, obj);
    if (dp && *dp) {
        AsyValue v = asy_dict_get_str(vm, *dp, name);
        if (!ASY_IS_UNDEF(v)) return v;
    }
    if (dt) {
        if (dt->descr_get != default_descr_get) return dt->descr_get(vm, descr, obj, t);
        if (ASY_IS_NONE(descr) && name_is(name, ASY_S(vm, __doc__))) return asy_doc_of_type(vm, t);
        return descr;
    }
    if (name_is(name, ASY_S(vm, __class__))) return ASY_OBJ(t);
    if (dp && name_is(name, ASY_S(vm, __dict__)) && !(t->tflags & ASY_TYPE_SLOTS)) {
        if (!*dp) *dp = asy_dict_new(vm);
        return ASY_OBJ(*dp);
    }
    if (!raise) return ASY_UNDEF;
    return asy_raise_attribute_error(vm, obj, name);
}

static AsyValue object_getattr(AsyVM *vm, AsyValue obj, AsyStr *name) {
    return generic_getattr(vm, obj, name, true);
}

/* The generic attribute store (v UNDEF: delete): data descriptors, then __dict__. */
/* obj.__class__ = v (CPython's object_set_class): between user classes whose instances are
 * laid out alike. */
static int object_set_class(AsyVM *vm, AsyValue obj, AsyValue v) {
    AsyType *t = asy_type_of(vm, obj);
    if (ASY_IS_UNDEF(v)) {
        asy_raise(vm, ASY_EXC_TypeError, "can't delete __class__ attribute");
        return -1;
    }
    if (!asy_isinstance(vm, v, ASY_TYPE(vm, type))) {
        asy_raise(vm, ASY_EXC_TypeError, "__class__ must be set to a class, not '%s' object",
                  asy_type_name(vm, v));
        return -1;
    }
    AsyType *n = as_type(v);
    if (!ASY_IS_OBJ(obj) || !(t->tflags & ASY_TYPE_HEAP) || !(n->tflags & ASY_TYPE_HEAP)) {
        asy_raise(vm, ASY_EXC_TypeError,
                  "__class__ assignment only supported for mutable types or ModuleType subclasses");
        return -1;
    }
    static const uint32_t layout_flags = ASY_TYPE_DICT_AT_END | ASY_TYPE_SLOT_STORE |
                                         ASY_TYPE_SLOTS | ASY_TYPE_EXCEPTION;
    if (asy_type_builtin_base(n) != asy_type_builtin_base(t) || n->basicsize != t->basicsize ||
        n->dict_offset != t->dict_offset ||
        (n->tflags & layout_flags) != (t->tflags & layout_flags)) {
        asy_raise(vm, ASY_EXC_TypeError, "__class__ assignment: '%s' object layout differs from '%s'",
                  n->name, t->name);
        return -1;
    }
    ASY_AS_OBJ(obj)->type = n;
    return 0;
}

static int object_setattr(AsyVM *vm, AsyValue obj, AsyStr *name, AsyValue v) {
    if (name->len == 9 && name_is(name, ASY_S(vm, __class__))) return object_set_class(vm, obj, v);
    AsyType *t = asy_type_of(vm, obj);
    AsyValue descr = asy_type_lookup(t, name);
    if (!ASY_IS_UNDEF(descr)) {
        AsyType *dt = asy_type_of(vm, descr);
        if (dt->descr_set != default_descr_set) return dt->descr_set(vm, descr, obj, v);
    }
    AsyDict **dp = instance_dict_ptr(t, obj);
    if (dp && (t->tflags & ASY_TYPE_SLOTS)) { /* only the __slots__ names, set above */
        asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute '%U'", t->name, name);
        return -1;
    }
    if (dp) {
        if (name_is(name, ASY_S(vm, __dict__)) && !ASY_IS_UNDEF(v)) {
            if (!asy_isinstance(vm, v, ASY_TYPE(vm, dict))) {
                asy_raise(vm, ASY_EXC_TypeError, "__dict__ must be set to a dictionary, not a '%s'",
                          asy_type_name(vm, v));
                return -1;
            }
            *dp = (AsyDict *)ASY_AS_OBJ(v);
            return 0;
        }
        if (!ASY_IS_UNDEF(v)) {
            if (!*dp) *dp = asy_dict_new(vm);
            return asy_dict_set_str(vm, *dp, name, v);
        }
        int r = *dp ? asy_dict_del(vm, *dp, ASY_OBJ(name)) : 0;
        if (r != 0) return r < 0 ? -1 : 0;
    }
    if (!ASY_IS_UNDEF(descr) && !dp)
        asy_raise(vm, ASY_EXC_AttributeError, "'%s' object attribute '%U' is read-only", t->name,
                  name);
    else
        asy_raise_attribute_error(vm, obj, name);
    return -1;
}

/* The nearest built-in (non-heap) type at or above t: whose layout an instance has. */
AsyType *asy_type_builtin_base(AsyType *t) {
    while (t && (t->tflags & ASY_TYPE_HEAP))
        t = t->base;
    return t;
}

static bool has_excess_args(int argc, AsyDict *kw) { return argc > 0 || (kw && kw->len > 0); }

static AsyValue object_dict_entry(AsyVM *vm, AsyStr *name) {
    AsyType *o = ASY_TYPE(vm, object);
    return o->dict ? asy_dict_get_str(vm, o->dict, name) : ASY_UNDEF;
}

/* type's __init__ / __new__ is object's own (not overridden anywhere in the chain). */
static bool init_is_objects(AsyVM *vm, AsyType *t) {
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __init__));
    return asy_value_is(f, object_dict_entry(vm, ASY_S(vm, __init__)));
}

static bool new_is_objects(AsyVM *vm, AsyType *t) {
    if (asy_type_builtin_base(t) != ASY_TYPE(vm, object)) return false;
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __new__));
    return asy_value_is(f, object_dict_entry(vm, ASY_S(vm, __new__)));
}

/* An instance of t with t's layout and no initialisation beyond zeroing. */
AsyValue asy_object_alloc(AsyVM *vm, AsyType *t) {
    if (t->tflags & ASY_TYPE_ABSTRACT)
        return asy_raise(vm, ASY_EXC_TypeError, "cannot create '%s' instances", t->name);
    return ASY_OBJ(asy_gc_alloc(vm, t, t->basicsize));
}

/* object.__new__ as the new_ slot: object() and user classes deriving from object. */
static AsyValue object_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (type != ASY_TYPE(vm, object) && !(type->tflags & ASY_TYPE_HEAP))
        return asy_raise(vm, ASY_EXC_TypeError, "cannot create '%s' instances", type->name);
    if (has_excess_args(argc, kw)) {
        if (!new_is_objects(vm, type))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "object.__new__() takes exactly one "
                             "argument (the type to instantiate)");
        if (init_is_objects(vm, type))
            return asy_raise(vm, ASY_EXC_TypeError, "%s() takes no arguments", type->name);
    }
    return asy_object_alloc(vm, type);
}

/* object's methods (argv[0] is self) */

static AsyValue objm_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!has_excess_args(argc - 1, kw)) return ASY_NONE;
    AsyType *t = asy_type_of(vm, argv[0]);
    if (!init_is_objects(vm, t))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "object.__init__() takes exactly one "
                         "argument (the instance to initialize)");
    if (new_is_objects(vm, t))
        return asy_raise(vm, ASY_EXC_TypeError, "%s() takes no arguments", t->name);
    return ASY_NONE;
}

/* Whether t's __new__ is a user function (CPython: its tp_new is slot_tp_new). */
static bool user_defines_new(AsyVM *vm, AsyType *t) {
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __new__));
    if (ASY_IS_OBJ(f) && ASY_AS_OBJ(f)->type == ASY_TYPE(vm, staticmethod))
        f = ((AsyMethodWrapper *)ASY_AS_OBJ(f))->func;
    return !ASY_IS_UNDEF(f) && !(ASY_IS_OBJ(f) &&
                                 ASY_AS_OBJ(f)->type == ASY_TYPE(vm, builtin_function_or_method));
}

/* CPython's tp_new_wrapper: T.__new__(S, ...) makes an S with T's constructor. S must be a
 * subtype of T whose nearest constructor that is not a user __new__ is T's own, so
 * object.__new__(S) for a str subclass S is refused ("not safe", naming the __new__ to
 * call) rather than making a str without its text. */
static AsyValue checked_new(AsyVM *vm, AsyType *t, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc < 1)
        return asy_raise(vm, ASY_EXC_TypeError, "%s.__new__(): not enough arguments", t->name);
    AsyValue cls = argv[0];
    if (!ASY_IS_OBJ(cls) || !asy_is_subtype(asy_type_of(vm, cls), ASY_TYPE(vm, type)))
        return asy_raise(vm, ASY_EXC_TypeError, "%s.__new__(X): X is not a type object (%s)",
                         t->name, asy_type_name(vm, cls));
    AsyType *s = (AsyType *)ASY_AS_OBJ(cls);
    if (!asy_is_subtype(s, t))
        return asy_raise(vm, ASY_EXC_TypeError, "%s.__new__(%s): %s is not a subtype of %s",
                         t->name, s->name, s->name, t->name);
    AsyType *sb = s;
    while (sb && (sb->tflags & ASY_TYPE_HEAP) && user_defines_new(vm, sb)) sb = sb->base;
    if (sb && asy_type_builtin_base(sb)->new_ != t->new_)
        return asy_raise(vm, ASY_EXC_TypeError, "%s.__new__(%s) is not safe, use %s.__new__()",
                         t->name, s->name, sb->name);
    return t->new_(vm, s, argc - 1, argv + 1, kw);
}

static AsyValue objm_new(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return checked_new(vm, ASY_TYPE(vm, object), argc, argv, kw);
}

/* T.__new__ of a built-in type T with a constructor of its own: bound to T (self). */
static AsyValue builtin_new(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return checked_new(vm, (AsyType *)ASY_AS_OBJ(argv[0]), argc - 1, argv + 1, kw);
}

static const AsyMethodDef builtin_new_def = {
    "__new__", builtin_new, 0, "Create and return a new object.  See help(type) for accurate "
                               "signature."};

static AsyValue objm_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__repr__", argc - 1, 0, 0)) return ASY_ERR;
    return object_repr(vm, argv[0]);
}

static AsyValue objm_str(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__str__", argc - 1, 0, 0)) return ASY_ERR;
    return object_str(vm, argv[0]);
}

static AsyValue objm_hash(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__hash__", argc - 1, 0, 0)) return ASY_ERR;
    int64_t h;
    object_hash(vm, argv[0], &h);
    return ASY_INT(h);
}

static AsyValue objm_compare(AsyVM *vm, int argc, AsyValue *argv, AsyCmpOp op, const char *name) {
    if (!asy_check_args(vm, name, argc - 1, 1, 1)) return ASY_ERR;
    return object_richcompare(vm, argv[0], argv[1], op);
}

#define ASY_OBJ_CMP(fn, op, name)                                                                  \
    static AsyValue fn(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {                         \
        ASY_UNUSED(kw);                                                                            \
        return objm_compare(vm, argc, argv, op, name);                                             \
    }
ASY_OBJ_CMP(objm_eq, ASY_CMP_EQ, "__eq__")
ASY_OBJ_CMP(objm_ne, ASY_CMP_NE, "__ne__")
ASY_OBJ_CMP(objm_lt, ASY_CMP_LT, "__lt__")
ASY_OBJ_CMP(objm_le, ASY_CMP_LE, "__le__")
ASY_OBJ_CMP(objm_gt, ASY_CMP_GT, "__gt__")
ASY_OBJ_CMP(objm_ge, ASY_CMP_GE, "__ge__")
#undef ASY_OBJ_CMP

static AsyStr *arg_name(AsyVM *vm, AsyValue v) {
    if (asy_isinstance(vm, v, ASY_TYPE(vm, str))) return (AsyStr *)ASY_AS_OBJ(v);
    asy_raise(vm, ASY_EXC_TypeError, "attribute name must be string, not '%s'",
              asy_type_name(vm, v));
    return NULL;
}

static AsyValue objm_getattribute(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__getattribute__", argc - 1, 1, 1)) return ASY_ERR;
    AsyStr *name = arg_name(vm, argv[1]);
    return name ? generic_getattr(vm, argv[0], name, true) : ASY_ERR;
}

static AsyValue objm_setattr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__setattr__", argc - 1, 2, 2)) return ASY_ERR;
    AsyStr *name = arg_name(vm, argv[1]);
    if (!name || object_setattr(vm, argv[0], name, argv[2]) < 0) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue objm_delattr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__delattr__", argc - 1, 1, 1)) return ASY_ERR;
    AsyStr *name = arg_name(vm, argv[1]);
    if (!name || object_setattr(vm, argv[0], name, ASY_UNDEF) < 0) return ASY_ERR;
    return ASY_NONE;
}

/* format(obj, spec) for objects without their own __format__. */
static AsyValue object_format(AsyVM *vm, AsyValue self, AsyStr *spec) {
    if (spec->len != 0)
        return asy_raise(vm, ASY_EXC_TypeError, "unsupported format string passed to %s.__format__",
                         asy_type_name(vm, self));
    return asy_str(vm, self);
}

static AsyValue objm_format(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__format__", argc - 1, 1, 1)) return ASY_ERR;
    if (!asy_isinstance(vm, argv[1], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "__format__() argument must be str, not %s",
                         asy_type_name(vm, argv[1]));
    return object_format(vm, argv[0], (AsyStr *)ASY_AS_OBJ(argv[1]));
}

static AsyValue objm_init_subclass(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (kw && kw->len > 0)
        return asy_raise(vm, ASY_EXC_TypeError, "%s.__init_subclass__() takes no keyword arguments",
                         as_type(argv[0])->name);
    if (!asy_check_args(vm, "__init_subclass__", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_NONE;
}

/* Adds the keys of d to the names (a dict used as an ordered set). */
static int add_dict_names(AsyVM *vm, AsyDict *names, AsyDict *d) {
    if (!d) return 0;
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(d, &pos, &k, &v))
        if (asy_dict_set(vm, names, k, ASY_NONE) < 0) return -1;
    return 0;
}

/* Does a user class c get a __weakref__ descriptor? In CPython, when its built-in base
 * has no weak references and a fixed size (so not int, tuple, bytes, set, type...). */
static bool adds_weakref(AsyVM *vm, AsyType *c) {
    static const AsyTypeId no_weak[] = {ASY_TYPE_int,    ASY_TYPE_bool,      ASY_TYPE_tuple,
                                        ASY_TYPE_bytes,  ASY_TYPE_set,       ASY_TYPE_frozenset,
                                        ASY_TYPE_type};
    AsyType *b = asy_type_builtin_base(c);
    for (size_t i = 0; i < sizeof no_weak / sizeof no_weak[0]; i++)
        if (b == vm->types[no_weak[i]]) return false;
    return true;
}

/* The descriptors CPython's type dicts hold and asy's attribute lookup does without:
 * __class__ (object's), BaseException's getsets, __dict__ (where instances have one),
 * __weakref__ (user classes). */
static int add_descriptor_names(AsyVM *vm, AsyDict *names, AsyType *chain) {
    static const char *const exc_getsets[] = {"args", "__cause__", "__context__",
                                              "__suppress_context__", "__traceback__"};
    AsyValue none = ASY_NONE;
    if (asy_dict_set(vm, names, ASY_OBJ(ASY_S(vm, __class__)), none) < 0) return -1;
    for (size_t i = 0; (chain->tflags & ASY_TYPE_EXCEPTION) && i < 5; i++)
        if (asy_dict_set(vm, names, ASY_OBJ(asy_str_intern_cstr(vm, exc_getsets[i])), none) < 0)
            return -1;
    if (chain->dict_offset && !(chain->tflags & ASY_TYPE_SLOTS) &&
        asy_dict_set(vm, names, ASY_OBJ(ASY_S(vm, __dict__)), none) < 0)
        return -1;
    if (!(chain->tflags & ASY_TYPE_HEAP) || (chain->tflags & ASY_TYPE_SLOTS) ||
        !adds_weakref(vm, chain))
        return 0;
    return asy_dict_set(vm, names, ASY_OBJ(asy_str_intern_cstr(vm, "__weakref__")), none);
}

/* dir(obj): the instance's attributes and those of its class's MRO, sorted. */
AsyValue asy_object_dir(AsyVM *vm, AsyValue obj) {
    AsyDict *names = asy_dict_new(vm);
    AsyType *t = asy_type_of(vm, obj);
    bool is_type = asy_is_subtype(t, ASY_TYPE(vm, type));
    AsyDict **dp = instance_dict_ptr(t, obj);
    if (dp && add_dict_names(vm, names, *dp) < 0) return ASY_ERR;
    AsyType *chain = is_type ? as_type(obj) : t;
    for (AsyMroIter it = asy_mro_begin(chain); it.t; asy_mro_next(&it))
        if (add_dict_names(vm, names, it.t->dict) < 0) return ASY_ERR;
    if (add_descriptor_names(vm, names, chain) < 0) return ASY_ERR;
    AsyList *l = asy_list_new(vm, names->len);
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(names, &pos, &k, &v))
        if (asy_list_append(vm, l, k) < 0) return ASY_ERR;
    if (asy_list_sort(vm, l, ASY_UNDEF, false) < 0) return ASY_ERR;
    return ASY_OBJ(l);
}

static AsyValue objm_dir(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__dir__", argc - 1, 0, 0)) return ASY_ERR;
    return asy_object_dir(vm, argv[0]);
}

/* object.__getstate__(): the instance's __dict__, or None when it has none or it is empty
 * (CPython's object_getstate_default without __slots__, which asy has not). */
static AsyValue objm_getstate(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__getstate__", argc - 1, 0, 0)) return ASY_ERR;
    AsyDict **dp = instance_dict_ptr(asy_type_of(vm, argv[0]), argv[0]);
    return dp && *dp && (*dp)->len > 0 ? ASY_OBJ(*dp) : ASY_NONE;
}

/* object.__sizeof__(): the instance's size in bytes as asy lays it out. */
static AsyValue objm_sizeof(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__sizeof__", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_INT((int64_t)asy_type_of(vm, argv[0])->basicsize);
}

/* object.__subclasshook__(subclass): NotImplemented, leaving issubclass to the MRO. */
static AsyValue objm_subclasshook(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_OBJ(vm->not_implemented);
}

/* object.__reduce_ex__(protocol) and __reduce__(): CPython's answer is a recipe for pickle
 * built on copyreg, which asy has not (nor pickle or copy), so both refuse, as CPython does
 * for an object it cannot pickle; their arguments are checked as CPython's. */
static AsyValue objm_reduce_ex(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (argc != 2)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "object.__reduce_ex__() takes exactly one argument (%d given)", argc - 1);
    int64_t protocol;
    if (!asy_index(vm, argv[1], &protocol)) return ASY_ERR;
    return asy_raise(vm, ASY_EXC_TypeError, "cannot pickle '%s' object", asy_type_name(vm, argv[0]));
}

static AsyValue objm_reduce(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError, "object.__reduce__() takes no arguments (%d given)",
                         argc - 1);
    return asy_raise(vm, ASY_EXC_TypeError, "cannot pickle '%s' object", asy_type_name(vm, argv[0]));
}

static const AsyMethodDef object_methods[] = {
    {"__init__", objm_init, 0, "Initialize self."},
    {"__new__", objm_new, ASY_METH_STATIC, "Create and return a new object."},
    {"__repr__", objm_repr, 0, "Return repr(self)."},
    {"__str__", objm_str, 0, "Return str(self)."},
    {"__hash__", objm_hash, 0, "Return hash(self)."},
    {"__eq__", objm_eq, 0, "Return self==value."},
    {"__ne__", objm_ne, 0, "Return self!=value."},
    {"__lt__", objm_lt, 0, "Return self<value."},
    {"__le__", objm_le, 0, "Return self<=value."},
    {"__gt__", objm_gt, 0, "Return self>value."},
    {"__ge__", objm_ge, 0, "Return self>=value."},
    {"__getattribute__", objm_getattribute, 0, "Return getattr(self, name)."},
    {"__setattr__", objm_setattr, 0, "Implement setattr(self, name, value)."},
    {"__delattr__", objm_delattr, 0, "Implement delattr(self, name)."},
    {"__format__", objm_format, 0, "Default object formatter."},
    {"__init_subclass__", objm_init_subclass, ASY_METH_CLASS,
     "Called when a class is subclassed; does nothing by default."},
    {"__dir__", objm_dir, 0, "Default dir() implementation."},
    {"__getstate__", objm_getstate, 0, "Helper for pickle."},
    {"__reduce_ex__", objm_reduce_ex, 0, "Helper for pickle."},
    {"__reduce__", objm_reduce, 0, "Helper for pickle."},
    {"__sizeof__", objm_sizeof, 0, "Size of object in memory, in bytes."},
    {"__subclasshook__", objm_subclasshook, ASY_METH_CLASS, "Abstract classes can override this "
                                                            "to customize issubclass()."},
    {NULL, NULL, 0, NULL},
};

/* ---- type ---- */

static AsyValue type_repr(AsyVM *vm, AsyValue self) {
    AsyType *t = as_type(self);
    const char *qual = t->qualname ? t->qualname->data : t->name;
    if (t->module && strcmp(t->module->data, "builtins") != 0)
        return ASY_OBJ(asy_str_printf(vm, "<class '%s.%s'>", t->module->data, qual));
    return ASY_OBJ(asy_str_printf(vm, "<class '%s'>", qual));
}

static AsyStr *type_name_str(AsyVM *vm, AsyType *t) {
    return t->name_str ? t->name_str : asy_str_intern_cstr(vm, t->name);
}

/* __mro__: the C3 order, or (t, base, base's base, ..., object) for single inheritance. */
static AsyValue type_mro_tuple(AsyVM *vm, AsyType *t) {
    if (t->mro) return ASY_OBJ(t->mro);
    int64_t n = 0;
    for (AsyType *c = t; c; c = c->base)
        n++;
    AsyTuple *tup = asy_tuple_new(vm, n);
    int64_t i = 0;
    for (AsyType *c = t; c; c = c->base)
        tup->items[i++] = ASY_OBJ(c);
    return ASY_OBJ(tup);
}

static AsyValue type_bases_tuple(AsyVM *vm, AsyType *t) {
    if (t->bases) return ASY_OBJ(t->bases);
    AsyValue b = t->base ? ASY_OBJ(t->base) : ASY_UNDEF;
    return ASY_OBJ(asy_tuple_from_array(vm, &b, t->base ? 1 : 0));
}

/* Attributes every class has through `type`'s data descriptors (CPython's getsets). */
static AsyValue type_special_attr(AsyVM *vm, AsyType *t, AsyStr *name) {
    if (name_is(name, ASY_S(vm, __name__))) return ASY_OBJ(type_name_str(vm, t));
    if (name_is(name, ASY_S(vm, __class__))) return ASY_OBJ(t->hdr.type);
    if (name_is(name, ASY_S(vm, __qualname__)))
        return ASY_OBJ(t->qualname ? t->qualname : type_name_str(vm, t));
    if (name_is(name, ASY_S(vm, __mro__))) return type_mro_tuple(vm, t);
    if (name_is(name, ASY_S(vm, __bases__))) return type_bases_tuple(vm, t);
    if (name_is(name, ASY_S(vm, __base__))) return t->base ? ASY_OBJ(t->base) : ASY_NONE;
    if (name_is(name, ASY_S(vm, __dict__)))
        return ASY_OBJ(t->dict ? asy_dict_copy(vm, t->dict) : asy_dict_new(vm));
    if (name_is(name, ASY_S(vm, __doc__))) {
        AsyValue d = t->dict ? asy_dict_get_str(vm, t->dict, name) : ASY_UNDEF;
        if (ASY_IS_UNDEF(d)) return ASY_NONE;
        if (ASY_IS_NONE(d)) return asy_doc_of_type(vm, t);
        AsyType *dt = asy_type_of(vm, d);
        return dt->descr_get != default_descr_get ? dt->descr_get(vm, d, ASY_UNDEF, t) : d;
    }
    return ASY_UNDEF;
}

/* Attribute lookup on a class: type's getsets, then the class chain (functions come back
 * plain, classmethods bound to the class, staticmethods unwrapped), then type's methods
 * bound to the class. */
static AsyValue type_getattr_impl(AsyVM *vm, AsyValue self, AsyStr *name, bool raise) {
    AsyType *t = as_type(self);
    AsyValue v = type_special_attr(vm, t, name);
    if (!ASY_IS_UNDEF(v)) return v;
    v = asy_type_lookup(t, name);
    if (!ASY_IS_UNDEF(v)) {
        AsyType *vt = asy_type_of(vm, v);
        if (vt == ASY_TYPE(vm, function) || vt == ASY_TYPE(vm, builtin_function_or_method) ||
            vt->descr_get == default_descr_get)
            return v;
        return vt->descr_get(vm, v, ASY_UNDEF, t);
    }
    if (name_is(name, ASY_S(vm, __module__)))
        return ASY_OBJ(t->module ? t->module : asy_str_intern_cstr(vm, "builtins"));
    AsyType *meta = asy_type_of(vm, self);
    v = asy_type_lookup(meta, name);
    if (!ASY_IS_UNDEF(v)) {
        AsyType *vt = asy_type_of(vm, v);
        return vt->descr_get != default_descr_get ? vt->descr_get(vm, v, self, meta) : v;
    }
    if (!raise) return ASY_UNDEF;
    return asy_raise(vm, ASY_EXC_AttributeError, "type object '%s' has no attribute '%U'", t->name,
                     name);
}

static AsyValue type_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    return type_getattr_impl(vm, self, name, true);
}

static int type_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyType *t = as_type(self);
    if (!(t->tflags & ASY_TYPE_HEAP)) {
        asy_raise(vm, ASY_EXC_TypeError, "cannot set '%U' attribute of immutable type '%s'", name,
                  t->name);
        return -1;
    }
    /* A data descriptor on the metatype (none today besides the getsets) would go here. */
    if (name_is(name, ASY_S(vm, __name__)) || name_is(name, ASY_S(vm, __qualname__))) {
        if (!asy_isinstance(vm, v, ASY_TYPE(vm, str))) {
            asy_raise(vm, ASY_EXC_TypeError, "can only assign string to %s.%U, not '%s'", t->name,
                      name, asy_type_name(vm, v));
            return -1;
        }
        AsyStr *s = (AsyStr *)ASY_AS_OBJ(v);
        if (name_is(name, ASY_S(vm, __qualname__))) {
            t->qualname = s;
        } else {
            t->name_str = s;
            t->name = s->data;
        }
        return 0;
    }
    if (!t->dict) t->dict = asy_dict_new(vm);
    if (ASY_IS_UNDEF(v)) {
        int r = asy_dict_del(vm, t->dict, ASY_OBJ(name));
        if (r == 0)
            asy_raise(vm, ASY_EXC_AttributeError, "type object '%s' has no attribute '%U'", t->name,
                      name);
        if (r <= 0) return -1;
    } else if (asy_dict_set_str(vm, t->dict, name, v) < 0) {
        return -1;
    }
    asy_type_modified(vm, t);
    if (name->len > 4 && name->data[0] == '_' && name->data[1] == '_')
        asy_class_update_slots(vm, t);
    return 0;
}

/* Calling a class: make the instance with new_, then (for user classes) run __init__. */
static AsyValue type_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    AsyType *t = as_type(self);
    AsyValue inst = t->new_(vm, t, argc, argv, kw);
    if (ASY_IS_ERR(inst) || !(t->tflags & ASY_TYPE_HEAP)) return inst;
    if (!asy_isinstance(vm, inst, t)) return inst;
    AsyValue init = asy_type_lookup(t, ASY_S(vm, __init__));
    if (ASY_IS_UNDEF(init)) return inst;
    asy_root_push(vm, inst);
    AsyValue r = asy_call_unbound(vm, init, inst, t, argc, argv, kw);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r)) return r;
    if (!ASY_IS_NONE(r))
        return asy_raise(vm, ASY_EXC_TypeError, "__init__() should return None, not '%s'",
                         asy_type_name(vm, r));
    return inst;
}

/* type(x), type(name, bases, dict), and M(name, bases, dict) for a metaclass M. */
static AsyValue type_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    bool haskw = kw && kw->len > 0;
    if (type == ASY_TYPE(vm, type)) {
        if (argc == 1 && !haskw) return ASY_OBJ(asy_type_of(vm, argv[0]));
        if (argc == 1) return asy_raise(vm, ASY_EXC_TypeError, "type() takes no keyword arguments");
        if (argc != 3) return asy_raise(vm, ASY_EXC_TypeError, "type() takes 1 or 3 arguments");
    } else if (argc != 3) {
        return asy_raise(vm, ASY_EXC_TypeError, "type.__new__() takes exactly 3 arguments (%d given)",
                         argc);
    }
    return asy_class_type_new(vm, type, argv, kw);
}

static void type_traverse(AsyVM *vm, AsyObj *o) {
    AsyType *t = (AsyType *)o;
    asy_gc_mark_obj(vm, (AsyObj *)t->name_str);
    asy_gc_mark_obj(vm, (AsyObj *)t->qualname);
    asy_gc_mark_obj(vm, (AsyObj *)t->module);
    asy_gc_mark_obj(vm, (AsyObj *)t->base);
    asy_gc_mark_obj(vm, (AsyObj *)t->bases);
    asy_gc_mark_obj(vm, (AsyObj *)t->mro);
    asy_gc_mark_obj(vm, (AsyObj *)t->dict);
}

static void free_pending(AsyVM *vm, AsyType *t) {
    asy_mem_free(vm, (void *)t->pending_methods, t->npending_methods * sizeof *t->pending_methods);
    t->pending_methods = NULL;
    t->npending_methods = 0;
}

static void type_finalize(AsyVM *vm, AsyObj *o) {
    AsyType *t = (AsyType *)o;
    free(t->lookup_cache);
    t->lookup_cache = NULL;
    free_pending(vm, t);
}

static AsyValue typem_mro(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "mro", argc - 1, 0, 0)) return ASY_ERR;
    AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(type_mro_tuple(vm, as_type(argv[0])));
    return ASY_OBJ(asy_list_from_array(vm, t->items, t->len));
}

/* Is base one of t's direct bases? */
static bool has_direct_base(AsyType *t, AsyType *base) {
    if (!t->bases) return t->base == base;
    for (int64_t i = 0; i < t->bases->len; i++)
        if (ASY_AS_OBJ(t->bases->items[i]) == &base->hdr) return true;
    return false;
}

static AsyValue typem_subclasses(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__subclasses__", argc - 1, 0, 0)) return ASY_ERR;
    /* Every live type with this one among its bases, oldest first (the GC lists types newest
     * first). */
    AsyList *l = asy_list_new(vm, 0);
    AsyType *self = as_type(argv[0]), *meta = ASY_TYPE(vm, type);
    for (AsyObj *o = asy_gc_types_first(vm); o; o = asy_gc_types_next(o))
        if (asy_is_subtype(o->type, meta) && has_direct_base((AsyType *)o, self) &&
            o != (AsyObj *)l &&
            asy_list_append(vm, l, ASY_OBJ(o)) < 0)
            return ASY_ERR;
    for (int64_t i = 0, j = l->len - 1; i < j; i++, j--) {
        AsyValue x = l->items[i];
        l->items[i] = l->items[j];
        l->items[j] = x;
    }
    return ASY_OBJ(l);
}

static AsyValue typem_instancecheck(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__instancecheck__", argc - 1, 1, 1)) return ASY_ERR;
    return ASY_BOOL(asy_isinstance(vm, argv[1], as_type(argv[0])));
}

static AsyValue typem_subclasscheck(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__subclasscheck__", argc - 1, 1, 1)) return ASY_ERR;
    if (!ASY_IS_OBJ(argv[1]) || !asy_is_subtype(asy_type_of(vm, argv[1]), ASY_TYPE(vm, type)))
        return asy_raise(vm, ASY_EXC_TypeError, "issubclass() arg 1 must be a class");
    return ASY_BOOL(asy_is_subtype(as_type(argv[1]), as_type(argv[0])));
}

/* type.__init__(cls, ...): checks the count only, as CPython's type_init. */
static AsyValue typem_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (argc == 2 && kw && kw->len > 0)
        return asy_raise(vm, ASY_EXC_TypeError, "type.__init__() takes no keyword arguments");
    if (argc != 2 && argc != 4)
        return asy_raise(vm, ASY_EXC_TypeError, "type.__init__() takes 1 or 3 arguments");
    return ASY_NONE;
}

/* type.__call__(cls, ...): what calling cls does when its metaclass has no __call__ of its
 * own; a metaclass's __call__ reaches it through super(). */
static AsyValue typem_call(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (argc < 1 || !asy_isinstance(vm, argv[0], ASY_TYPE(vm, type)))
        return asy_raise(vm, ASY_EXC_TypeError,
                         "descriptor '__call__' requires a 'type' object but received a '%s'",
                         argc < 1 ? "NoneType" : asy_type_name(vm, argv[0]));
    return type_call(vm, argv[0], argc - 1, argv + 1, kw);
}

/* type.__prepare__(name, bases, **kw): the namespace a class body runs in, a new dict. */
static AsyValue typem_prepare(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argc), ASY_UNUSED(argv), ASY_UNUSED(kw);
    return ASY_OBJ(asy_dict_new(vm));
}

static const AsyMethodDef type_methods[] = {
    {"__init__", typem_init, 0, "Initialize self.  See help(type(self)) for accurate signature."},
    {"__call__", typem_call, 0, "Call self as a function."},
    {"__prepare__", typem_prepare, ASY_METH_CLASS,
     "__prepare__() -> dict\nused to create the namespace for the class statement"},
    {"mro", typem_mro, 0, "Return a type's method resolution order."},
    {"__subclasses__", typem_subclasses, 0, "Return a list of immediate subclasses."},
    {"__instancecheck__", typem_instancecheck, 0, "Check if an object is an instance."},
    {"__subclasscheck__", typem_subclasscheck, 0, "Check if a class is a subclass."},
    {NULL, NULL, 0, NULL},
};

/* ---- None, NotImplemented, Ellipsis ---- */

static AsyValue none_repr(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(self);
    return ASY_OBJ(asy_str_intern_cstr(vm, "None"));
}

static int none_truth(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm), ASY_UNUSED(self);
    return 0;
}

static bool none_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(self);
    *out = hash_pointer(ASY_TYPE(vm, NoneType)); /* constant for the run, as CPython's */
    return true;
}

/* NoneType(), NotImplementedType() and ellipsis() return their singleton. */
static AsyValue singleton_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (has_excess_args(argc, kw))
        return asy_raise(vm, ASY_EXC_TypeError, "%s takes no arguments", type->name);
    if (type == ASY_TYPE(vm, NoneType)) return ASY_NONE;
    if (type == ASY_TYPE(vm, NotImplementedType)) return ASY_OBJ(vm->not_implemented);
    return ASY_OBJ(vm->ellipsis);
}

static AsyValue notimpl_repr(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(self);
    return ASY_OBJ(asy_str_intern_cstr(vm, "NotImplemented"));
}

static AsyValue ellipsis_repr(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(self);
    return ASY_OBJ(asy_str_intern_cstr(vm, "Ellipsis"));
}

/* ---- making types ---- */

/* str, dict and natives all work once asy_object_init_methods has run (state.c calls it
 * right after dict_init); it marks `object` ready to say so. */
static bool bootstrap_done(AsyVM *vm) {
    AsyType *o = ASY_TYPE(vm, object);
    return o && (o->tflags & ASY_TYPE_READY);
}

static void type_set_names(AsyVM *vm, AsyType *t) {
    if (!t->name_str) t->name_str = asy_str_intern_cstr(vm, t->name);
    if (!t->qualname) t->qualname = t->name_str;
    if (!t->module) t->module = asy_str_intern_cstr(vm, "builtins");
    if (!t->dict) t->dict = asy_dict_new(vm);
}

void asy_type_set_tp_name(AsyVM *vm, AsyType *t, const char *dotted) {
    type_set_names(vm, t);
    t->name = dotted;
}

/* Copies every slot of base into t (the type's behaviour until the maker overrides it). */
static void type_inherit_slots(AsyType *t, const AsyType *b) {
    t->repr = b->repr;
    t->str = b->str;
    t->hash = b->hash;
    t->richcompare = b->richcompare;
    t->truth = b->truth;
    t->len = b->len;
    t->getattr = b->getattr;
    t->setattr = b->setattr;
    t->call = b->call;
    t->iter = b->iter;
    t->next = b->next;
    t->getitem = b->getitem;
    t->setitem = b->setitem;
    t->contains = b->contains;
    t->binop = b->binop;
    t->unaryop = b->unaryop;
    t->new_ = b->new_;
    t->descr_get = b->descr_get;
    t->descr_set = b->descr_set;
    t->traverse = b->traverse;
    t->finalize = b->finalize;
}

/* Allocates a type object; its metatype is `type` (itself while bootstrapping). */
static AsyType *type_alloc(AsyVM *vm, const char *name, AsyType *base, size_t basicsize) {
    AsyType *t = asy_gc_alloc_type(vm, ASY_TYPE(vm, type), sizeof(AsyType));
    t->name = name;
    t->base = base;
    t->basicsize = basicsize;
    t->tflags = ASY_TYPE_BASETYPE;
    if (base) {
        type_inherit_slots(t, base);
        t->dict_offset = base->dict_offset;
        t->tflags |= base->tflags & ASY_TYPE_EXCEPTION;
    }
    if (bootstrap_done(vm)) type_set_names(vm, t);
    return t;
}

AsyType *asy_type_new_builtin(AsyVM *vm, const char *name, AsyType *base, size_t basicsize) {
    if (!base) base = ASY_TYPE(vm, object);
    return type_alloc(vm, name, base, basicsize);
}

/* Wraps one method definition as the value stored in the type's dict. */
static AsyValue method_value(AsyVM *vm, AsyType *type, const AsyMethodDef *def) {
    AsyValue f = asy_native_new(vm, def, ASY_UNDEF, type);
    AsyType *wrap = NULL;
    if (def->flags & ASY_METH_CLASS)
        wrap = ASY_TYPE(vm, classmethod);
    else if (def->flags & ASY_METH_STATIC)
        wrap = ASY_TYPE(vm, staticmethod);
    if (!wrap) return f;
    AsyMethodWrapper *w = asy_gc_alloc(vm, wrap, sizeof(AsyMethodWrapper));
    w->func = f;
    return ASY_OBJ(w);
}

static void install_methods(AsyVM *vm, AsyType *type, const AsyMethodDef *defs) {
    if (!type->dict) type->dict = asy_dict_new(vm);
    asy_type_modified(vm, type);
    for (const AsyMethodDef *d = defs; d->name; d++)
        asy_dict_set_str(vm, type->dict, asy_str_intern_cstr(vm, d->name),
                         method_value(vm, type, d));
}

static void defer_methods(AsyVM *vm, AsyType *type, const AsyMethodDef *defs) {
    size_t n = type->npending_methods;
    const AsyMethodDef **p =
        asy_mem_realloc(vm, (void *)type->pending_methods, n * sizeof *p, (n + 1) * sizeof *p);
    if (!p) return; /* MemoryError pending; the methods are lost, as any failed init */
    p[n] = defs;
    type->pending_methods = p;
    type->npending_methods = (uint32_t)(n + 1);
}

void asy_type_add_methods(AsyVM *vm, AsyType *type, const AsyMethodDef *defs) {
    if (bootstrap_done(vm)) {
        type_set_names(vm, type);
        install_methods(vm, type, defs);
    } else {
        defer_methods(vm, type, defs);
    }
}

/* ---- slot wrappers: `list.__repr__`, `int.__eq__`, ... for super() and explicit calls ---- */

/* The built-in type whose slot implements a wrapper called on self (a subclass instance
 * uses its built-in base's behaviour: that is what super().__repr__() means). */
static AsyType *wrapper_impl(AsyVM *vm, AsyValue self) {
    return asy_type_builtin_base(asy_type_of(vm, self));
}

/* A slot wrapper's argument count, checked with CPython's words (wrapperobject.c). */
static bool sw_args(AsyVM *vm, int argc, int want) {
    if (argc - 1 == want) return true;
    asy_raise(vm, ASY_EXC_TypeError, "expected %d argument%s, got %d", want, want == 1 ? "" : "s",
              argc - 1);
    return false;
}

static AsyValue sw_repr(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 0)) return ASY_ERR;
    return wrapper_impl(vm, argv[0])->repr(vm, argv[0]);
}

static AsyValue sw_str(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 0)) return ASY_ERR;
    return wrapper_impl(vm, argv[0])->str(vm, argv[0]);
}

static AsyValue sw_hash(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 0)) return ASY_ERR;
    AsyType *t = wrapper_impl(vm, argv[0]);
    int64_t h;
    if (!t->hash) return asy_raise_unhashable(vm, argv[0]);
    return t->hash(vm, argv[0], &h) ? ASY_INT(h) : ASY_ERR;
}

static AsyValue sw_compare(AsyVM *vm, int argc, AsyValue *argv, AsyCmpOp op) {
    if (!sw_args(vm, argc, 1)) return ASY_ERR;
    return wrapper_impl(vm, argv[0])->richcompare(vm, argv[0], argv[1], op);
}

#define ASY_SW_CMP(fn, op)                                                                         \
    static AsyValue fn(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {                         \
        ASY_UNUSED(kw);                                                                            \
        return sw_compare(vm, argc, argv, op);                                               \
    }
ASY_SW_CMP(sw_eq, ASY_CMP_EQ)
ASY_SW_CMP(sw_ne, ASY_CMP_NE)
ASY_SW_CMP(sw_lt, ASY_CMP_LT)
ASY_SW_CMP(sw_le, ASY_CMP_LE)
ASY_SW_CMP(sw_gt, ASY_CMP_GT)
ASY_SW_CMP(sw_ge, ASY_CMP_GE)
#undef ASY_SW_CMP

static AsyValue sw_len(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 0)) return ASY_ERR;
    int64_t n = wrapper_impl(vm, argv[0])->len(vm, argv[0]);
    return n < 0 ? ASY_ERR : ASY_INT(n);
}

static AsyValue sw_iter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 0)) return ASY_ERR;
    return wrapper_impl(vm, argv[0])->iter(vm, argv[0]);
}

static AsyValue sw_next(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 0)) return ASY_ERR;
    AsyValue r = wrapper_impl(vm, argv[0])->next(vm, argv[0]);
    if (ASY_IS_UNDEF(r)) return asy_raise_value(vm, ASY_OBJ(vm->exc_types[ASY_EXC_StopIteration]));
    return r;
}

static AsyValue sw_getitem(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 1)) return ASY_ERR;
    return wrapper_impl(vm, argv[0])->getitem(vm, argv[0], argv[1]);
}

static AsyValue sw_contains(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!sw_args(vm, argc, 1)) return ASY_ERR;
    int r = wrapper_impl(vm, argv[0])->contains(vm, argv[0], argv[1]);
    return r < 0 ? ASY_ERR : ASY_BOOL(r);
}

static AsyValue sw_call(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return wrapper_impl(vm, argv[0])->call(vm, argv[0], argc - 1, argv + 1, kw);
}

static const AsyMethodDef slot_wrappers[] = {
    {"__repr__", sw_repr, ASY_METH_SLOT, "Return repr(self)."},
    {"__str__", sw_str, ASY_METH_SLOT, "Return str(self)."},
    {"__hash__", sw_hash, ASY_METH_SLOT, "Return hash(self)."},
    {"__eq__", sw_eq, ASY_METH_SLOT, "Return self==value."},
    {"__ne__", sw_ne, ASY_METH_SLOT, "Return self!=value."},
    {"__lt__", sw_lt, ASY_METH_SLOT, "Return self<value."},
    {"__le__", sw_le, ASY_METH_SLOT, "Return self<=value."},
    {"__gt__", sw_gt, ASY_METH_SLOT, "Return self>value."},
    {"__ge__", sw_ge, ASY_METH_SLOT, "Return self>=value."},
    {"__len__", sw_len, ASY_METH_SLOT, "Return len(self)."},
    {"__iter__", sw_iter, ASY_METH_SLOT, "Implement iter(self)."},
    {"__next__", sw_next, ASY_METH_SLOT, "Implement next(self)."},
    {"__getitem__", sw_getitem, ASY_METH_SLOT, "Return self[key]."},
    {"__contains__", sw_contains, ASY_METH_SLOT, "Return key in self."},
    {"__call__", sw_call, ASY_METH_SLOT, "Call self as a function."},
    {NULL, NULL, 0, NULL},
};

/* Does t implement the behaviour of slot_wrappers[i] itself (not inherited)? */
static bool defines_slot(AsyType *t, int i) {
    AsyType *b = t->base;
    switch (i) {
    case 0: return t->repr != b->repr;
    case 1: return t->str != b->str;
    case 2: return t->hash != b->hash;
    case 3:
    case 4:
    case 5:
    case 6:
    case 7:
    case 8: return t->richcompare != b->richcompare;
    case 9: return t->len != b->len;
    case 10: return t->iter != b->iter;
    case 11: return t->next != b->next;
    case 12: return t->getitem != b->getitem;
    case 13: return t->contains != b->contains;
    default: return t->call != b->call;
    }
}

/* Gives a built-in type a method for each slot it implements and has no method for, as
 * CPython's slot wrappers; an unhashable type gets __hash__ = None, and a type with a
 * constructor of its own its __new__. */
static void add_slot_wrappers(AsyVM *vm, AsyType *t) {
    if ((t->tflags & ASY_TYPE_HEAP) || !t->base || !t->dict || t == ASY_TYPE(vm, type)) return;
    /* every type has its own __doc__ (asy keeps no texts: None), not object's */
    if (ASY_IS_UNDEF(asy_dict_get_str(vm, t->dict, ASY_S(vm, __doc__))))
        asy_dict_set_str(vm, t->dict, ASY_S(vm, __doc__), ASY_NONE);
    if (t->new_ != t->base->new_ && ASY_IS_UNDEF(asy_dict_get_str(vm, t->dict, ASY_S(vm, __new__))))
        asy_dict_set_str(vm, t->dict, ASY_S(vm, __new__),
                         asy_native_new(vm, &builtin_new_def, ASY_OBJ(t), NULL));
    for (int i = 0; slot_wrappers[i].name; i++) {
        if (!defines_slot(t, i)) continue;
        AsyStr *n = asy_str_intern_cstr(vm, slot_wrappers[i].name);
        if (!ASY_IS_UNDEF(asy_dict_get_str(vm, t->dict, n))) continue;
        AsyValue v =
            i == 2 && !t->hash ? ASY_NONE : asy_native_new(vm, &slot_wrappers[i], ASY_UNDEF, t);
        asy_dict_set_str(vm, t->dict, n, v);
    }
    asy_add_binop_wrappers(vm, t);
}

/* Gives every type made during bootstrap its names, dict and deferred methods. The types
 * are found on the GC's list of types: some are in no table. */
static void finish_bootstrap(AsyVM *vm) {
    AsyType *meta = ASY_TYPE(vm, type);
    for (AsyObj *o = asy_gc_types_first(vm); o; o = asy_gc_types_next(o)) {
        if (o->type != meta) continue;
        AsyType *t = (AsyType *)o;
        type_set_names(vm, t);
        for (uint32_t i = 0; i < t->npending_methods; i++)
            install_methods(vm, t, t->pending_methods[i]);
        free_pending(vm, t);
        if (t->tflags & ASY_TYPE_READY) add_slot_wrappers(vm, t);
    }
    asy_type_modified(vm, meta);
}

void asy_type_ready(AsyVM *vm, AsyType *type) {
    if (type != ASY_TYPE(vm, object)) type->tflags |= ASY_TYPE_READY;
    if (bootstrap_done(vm)) {
        type_set_names(vm, type);
        add_slot_wrappers(vm, type);
    }
    asy_type_modified(vm, type); /* its maker may have filled its dict directly */
}

/* The slots of `object`: the defaults every other type starts from. */
static void object_set_slots(AsyType *t) {
    t->repr = object_repr;
    t->str = object_str;
    t->hash = object_hash;
    t->richcompare = object_richcompare;
    t->truth = object_truth;
    t->len = default_len;
    t->getattr = object_getattr;
    t->setattr = object_setattr;
    t->call = default_call;
    t->iter = default_iter;
    t->next = default_next;
    t->getitem = default_getitem;
    t->setitem = default_setitem;
    t->contains = default_contains;
    t->binop = default_binop;
    t->unaryop = default_unaryop;
    t->new_ = object_new;
    t->descr_get = default_descr_get;
    t->descr_set = default_descr_set;
    t->traverse = NULL;
    t->finalize = NULL;
}

static AsyType *singleton_type(AsyVM *vm, const char *name, AsyUnaryFn repr) {
    AsyType *t = type_alloc(vm, name, ASY_TYPE(vm, object), sizeof(AsyObj));
    t->tflags &= ~ASY_TYPE_BASETYPE;
    t->repr = repr;
    t->new_ = singleton_new;
    return t;
}

/* `type` is its own type, and `object` is type's base: both exist before either is
 * complete, so they are wired by hand. Runs first of all initialisers. */
void asy_object_init_types(AsyVM *vm) {
    AsyType *type = asy_gc_alloc_type(vm, NULL, sizeof(AsyType));
    type->hdr.type = type;
    vm->types[ASY_TYPE_type] = type;
    AsyType *object = type_alloc(vm, "object", NULL, sizeof(AsyObj));
    object_set_slots(object);
    vm->types[ASY_TYPE_object] = object;

    type->name = "type";
    type->base = object;
    type->basicsize = sizeof(AsyType);
    type->tflags = ASY_TYPE_BASETYPE;
    type_inherit_slots(type, object);
    type->repr = type_repr;
    type->getattr = type_getattr;
    type->setattr = type_setattr;
    type->call = type_call;
    type->new_ = type_new;
    type->traverse = type_traverse;
    type->finalize = type_finalize;

    AsyType *none = singleton_type(vm, "NoneType", none_repr);
    none->truth = none_truth;
    none->hash = none_hash;
    vm->types[ASY_TYPE_NoneType] = none;
    vm->types[ASY_TYPE_NotImplementedType] = singleton_type(vm, "NotImplementedType", notimpl_repr);
    vm->types[ASY_TYPE_ellipsis] = singleton_type(vm, "ellipsis", ellipsis_repr);
    vm->not_implemented = asy_gc_alloc(vm, ASY_TYPE(vm, NotImplementedType), sizeof(AsyObj));
    vm->ellipsis = asy_gc_alloc(vm, ASY_TYPE(vm, ellipsis), sizeof(AsyObj));

    asy_class_init_types(vm);
    asy_type_ready(vm, type);
    asy_type_ready(vm, none);
    asy_type_ready(vm, ASY_TYPE(vm, NotImplementedType));
    asy_type_ready(vm, ASY_TYPE(vm, ellipsis));
}

/* Runs once str, dict and function exist (state.c): the methods of object and type. */
void asy_object_init_methods(AsyVM *vm) {
    asy_type_add_methods(vm, ASY_TYPE(vm, object), object_methods);
    asy_type_add_methods(vm, ASY_TYPE(vm, type), type_methods);
    ASY_TYPE(vm, object)->tflags |= ASY_TYPE_READY;
    finish_bootstrap(vm);
    asy_dict_set_str(vm, ASY_TYPE(vm, object)->dict, ASY_S(vm, __doc__),
                     ASY_OBJ(asy_str_from_cstr(vm, "The base class of the class hierarchy.\n\n"
                                                   "When called, it accepts no arguments and "
                                                   "returns a new featureless\ninstance that has "
                                                   "no instance attributes and cannot be given "
                                                   "any.\n")));
    /* type's own __new__ (add_slot_wrappers leaves type alone): type.__new__(M, ...) */
    AsyType *type = ASY_TYPE(vm, type);
    asy_dict_set_str(vm, type->dict, ASY_S(vm, __new__),
                     asy_native_new(vm, &builtin_new_def, ASY_OBJ(type), NULL));
    asy_dict_set_str(vm, type->dict, ASY_S(vm, __doc__), ASY_NONE); /* made when asked */
    asy_type_modified(vm, type);
}

/* ---- the protocols ---- */

AsyType *asy_type_of(AsyVM *vm, AsyValue v) {
    switch (v.tag) {
    case ASY_T_OBJ: return v.as.o->type;
    case ASY_T_INT: return ASY_TYPE(vm, int);
    case ASY_T_FLOAT: return ASY_TYPE(vm, float);
    case ASY_T_BOOL: return ASY_TYPE(vm, bool);
    case ASY_T_NONE: return ASY_TYPE(vm, NoneType);
    default: return ASY_TYPE(vm, object); /* UNDEF/ERR never reach user code */
    }
}

const char *asy_type_name(AsyVM *vm, AsyValue v) { return asy_type_of(vm, v)->name; }

bool asy_is_subtype(AsyType *sub, AsyType *base) {
    if (ASY_UNLIKELY(sub->mro != NULL)) {
        const AsyTuple *mro = sub->mro;
        for (int64_t i = 0; i < mro->len; i++)
            if (ASY_AS_OBJ(mro->items[i]) == &base->hdr) return true;
        return false;
    }
    for (AsyType *t = sub; t; t = t->base)
        if (t == base) return true;
    return false;
}

bool asy_isinstance(AsyVM *vm, AsyValue v, AsyType *type) {
    return asy_is_subtype(asy_type_of(vm, v), type);
}

static AsyValue type_lookup_uncached(AsyType *type, AsyStr *name) {
    for (AsyMroIter it = asy_mro_begin(type); it.t; asy_mro_next(&it)) {
        if (!it.t->dict) continue;
        AsyValue v = asy_dict_find_str(it.t->dict, name);
        if (!ASY_IS_UNDEF(v)) return v;
    }
    return ASY_UNDEF;
}

/* The lookup cache of one type: direct-mapped on the (interned) name's address, misses
 * included, so that `self.x` does not probe every class of the chain each time. The
 * values stay alive through the class dicts they were read from: any change to a type
 * dict moves the epoch on before an entry could outlive its dict slot. */
#define TYPE_CACHE_SIZE 32

typedef struct {
    uint64_t epoch;
    struct {
        AsyStr *name;
        AsyValue value;
    } e[TYPE_CACHE_SIZE];
} TypeCache;

AsyValue asy_type_lookup(AsyType *type, AsyStr *name) {
    if (!(name->hdr.flags & ASY_STR_INTERNED)) return type_lookup_uncached(type, name);
    uint64_t epoch = type->hdr.type->type_epoch;
    TypeCache *c = type->lookup_cache;
    if (ASY_UNLIKELY(!c || c->epoch != epoch)) {
        if (!c && !(c = type->lookup_cache = malloc(sizeof *c)))
            return type_lookup_uncached(type, name);
        memset(c->e, 0, sizeof c->e);
        c->epoch = epoch;
    }
    size_t slot = ((uintptr_t)name >> 5) & (TYPE_CACHE_SIZE - 1);
    if (c->e[slot].name == name) return c->e[slot].value;
    AsyValue v = type_lookup_uncached(type, name);
    c->e[slot].name = name;
    c->e[slot].value = v;
    return v;
}

void asy_type_modified(AsyVM *vm, AsyType *t) {
    ASY_UNUSED(t);
    ASY_TYPE(vm, type)->type_epoch++;
}

static AsyValue check_str_result(AsyVM *vm, AsyValue r, const char *what) {
    if (ASY_IS_ERR(r) || (ASY_IS_OBJ(r) && type_of_obj(r) == ASY_TYPE(vm, str)) ||
        asy_isinstance(vm, r, ASY_TYPE(vm, str)))
        return r;
    return asy_raise(vm, ASY_EXC_TypeError, "%s returned non-string (type %s)", what,
                     asy_type_name(vm, r));
}

AsyValue asy_repr(AsyVM *vm, AsyValue v) {
    AsyType *t = asy_type_of(vm, v);
    if (vm->c_depth >= ASY_MAX_C_DEPTH)
        return asy_raise(vm, ASY_EXC_RecursionError,
                         "maximum recursion depth exceeded while getting the repr of an object");
    vm->c_depth++;
    AsyValue r = t->repr(vm, v);
    vm->c_depth--;
    return check_str_result(vm, r, "__repr__");
}

AsyValue asy_str(AsyVM *vm, AsyValue v) {
    if (ASY_IS_OBJ(v) && type_of_obj(v) == ASY_TYPE(vm, str)) return v;
    AsyType *t = asy_type_of(vm, v);
    if (vm->c_depth >= ASY_MAX_C_DEPTH)
        return asy_raise(vm, ASY_EXC_RecursionError,
                         "maximum recursion depth exceeded while calling a Python object");
    vm->c_depth++;
    AsyValue r = t->str(vm, v);
    vm->c_depth--;
    return check_str_result(vm, r, "__str__");
}

AsyValue asy_format(AsyVM *vm, AsyValue v, AsyStr *spec) {
    if (spec->len == 0) {
        if (ASY_IS_OBJ(v) && type_of_obj(v) == ASY_TYPE(vm, str)) return v;
        if (!ASY_IS_OBJ(v)) return asy_str(vm, v);
    }
    AsyType *t = asy_type_of(vm, v);
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __format__));
    if (ASY_IS_UNDEF(f) || asy_value_is(f, object_dict_entry(vm, ASY_S(vm, __format__))))
        return object_format(vm, v, spec);
    AsyValue arg = ASY_OBJ(spec);
    AsyValue r = asy_call_unbound(vm, f, v, t, 1, &arg, NULL);
    if (ASY_IS_ERR(r)) return r;
    if (!asy_isinstance(vm, r, ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "__format__ must return a str, not %s",
                         asy_type_name(vm, r));
    return r;
}

bool asy_hash(AsyVM *vm, AsyValue v, int64_t *out) {
    AsyType *t = asy_type_of(vm, v);
    if (!t->hash) {
        asy_raise_unhashable(vm, v);
        return false;
    }
    return t->hash(vm, v, out);
}

int asy_truthy(AsyVM *vm, AsyValue v) {
    switch (v.tag) {
    case ASY_T_NONE: return 0;
    case ASY_T_BOOL:
    case ASY_T_INT: return v.as.i != 0;
    case ASY_T_FLOAT: return v.as.f != 0.0;
    default: return type_of_obj(v)->truth(vm, v);
    }
}

static bool is_not_implemented(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v) == vm->not_implemented;
}

/* Comparisons between the unboxed numbers and strs, without the slots: 1 and *out set
 * when handled. Int/float mixes are left to the slots beyond 2**53 (exactness). */
static bool compare_fast(AsyVM *vm, AsyValue a, AsyValue b, AsyCmpOp op, bool *out) {
    int c;
    if (ASY_IS_INTLIKE(a) && ASY_IS_INTLIKE(b)) {
        c = (a.as.i > b.as.i) - (a.as.i < b.as.i);
    } else if (ASY_IS_FLOAT(a) && ASY_IS_FLOAT(b)) {
        double x = a.as.f, y = b.as.f;
        if (x != x || y != y) {
            *out = op == ASY_CMP_NE;
            return true;
        }
        c = (x > y) - (x < y);
    } else if (ASY_IS_OBJ(a) && ASY_IS_OBJ(b) && type_of_obj(a) == ASY_TYPE(vm, str) &&
               type_of_obj(b) == ASY_TYPE(vm, str)) {
        AsyStr *x = (AsyStr *)ASY_AS_OBJ(a), *y = (AsyStr *)ASY_AS_OBJ(b);
        if (op == ASY_CMP_EQ || op == ASY_CMP_NE) {
            bool eq = x == y || (x->len == y->len && memcmp(x->data, y->data, x->len) == 0);
            *out = (op == ASY_CMP_EQ) == eq;
            return true;
        }
        size_t n = x->len < y->len ? x->len : y->len;
        c = memcmp(x->data, y->data, n); /* UTF-8 byte order is code point order */
        if (c == 0) c = (x->len > y->len) - (x->len < y->len);
    } else {
        return false;
    }
    switch (op) {
    case ASY_CMP_LT: *out = c < 0; break;
    case ASY_CMP_LE: *out = c <= 0; break;
    case ASY_CMP_EQ: *out = c == 0; break;
    case ASY_CMP_NE: *out = c != 0; break;
    case ASY_CMP_GT: *out = c > 0; break;
    case ASY_CMP_GE: *out = c >= 0; break;
    }
    return true;
}

/* CPython's do_richcompare: the right operand's reflected method first when its type is a
 * proper subclass of the left's, then the left's, then the right's reflected method;
 * == and != fall back to identity, the others to TypeError. */
static AsyValue richcompare_slow(AsyVM *vm, AsyValue a, AsyValue b, AsyCmpOp op) {
    AsyType *ta = asy_type_of(vm, a), *tb = asy_type_of(vm, b);
    AsyCmpOp rop = cmp_swapped(op);
    bool reversed_done = false;
    AsyValue r;
    if (ta != tb && asy_is_subtype(tb, ta)) {
        reversed_done = true;
        r = tb->richcompare(vm, b, a, rop);
        if (!is_not_implemented(vm, r)) return r;
    }
    asy_root_push(vm, a);
    asy_root_push(vm, b);
    r = ta->richcompare(vm, a, b, op);
    if (is_not_implemented(vm, r) && !reversed_done) r = tb->richcompare(vm, b, a, rop);
    asy_root_pop(vm, 2);
    if (!is_not_implemented(vm, r)) return r;
    if (op == ASY_CMP_EQ) return ASY_BOOL(asy_value_is(a, b));
    if (op == ASY_CMP_NE) return ASY_BOOL(!asy_value_is(a, b));
    return asy_raise(vm, ASY_EXC_TypeError, "'%s' not supported between instances of '%s' and '%s'",
                     cmp_op_text(op), ta->name, tb->name);
}

AsyValue asy_compare(AsyVM *vm, AsyValue a, AsyValue b, AsyCmpOp op) {
    bool r;
    if (compare_fast(vm, a, b, op, &r)) return ASY_BOOL(r);
    return richcompare_slow(vm, a, b, op);
}

int asy_compare_bool(AsyVM *vm, AsyValue a, AsyValue b, AsyCmpOp op) {
    bool r;
    if (compare_fast(vm, a, b, op, &r)) return r;
    /* Identity implies equality for containers (CPython's PyObject_RichCompareBool). */
    if ((op == ASY_CMP_EQ || op == ASY_CMP_NE) && asy_value_is(a, b)) return op == ASY_CMP_EQ;
    AsyValue v = richcompare_slow(vm, a, b, op);
    if (ASY_IS_ERR(v)) return -1;
    if (ASY_IS_BOOL(v)) return v.as.i != 0;
    return asy_truthy(vm, v);
}

int asy_eq(AsyVM *vm, AsyValue a, AsyValue b) { return asy_compare_bool(vm, a, b, ASY_CMP_EQ); }

AsyValue asy_getattr(AsyVM *vm, AsyValue obj, AsyStr *name) {
    return asy_type_of(vm, obj)->getattr(vm, obj, name);
}

AsyValue asy_getattr_opt(AsyVM *vm, AsyValue obj, AsyStr *name) {
    AsyType *t = asy_type_of(vm, obj);
    AsyValue v = t->getattr == object_getattr ? generic_getattr(vm, obj, name, false)
                 : t->getattr == type_getattr ? type_getattr_impl(vm, obj, name, false)
                                              : t->getattr(vm, obj, name);
    /* a descriptor (property, slot) may raise AttributeError itself */
    if (ASY_IS_ERR(v) && asy_exc_matches(vm, ASY_EXC_AttributeError)) {
        asy_exc_clear(vm);
        return ASY_UNDEF;
    }
    return v;
}

/* object.__getattribute__ itself, for classes that extend it (class.c). */
AsyValue asy_object_generic_getattr(AsyVM *vm, AsyValue obj, AsyStr *name, bool raise) {
    return generic_getattr(vm, obj, name, raise);
}

int asy_object_generic_setattr(AsyVM *vm, AsyValue obj, AsyStr *name, AsyValue v) {
    return object_setattr(vm, obj, name, v);
}

int asy_setattr(AsyVM *vm, AsyValue obj, AsyStr *name, AsyValue v) {
    return asy_type_of(vm, obj)->setattr(vm, obj, name, v);
}

int asy_delattr(AsyVM *vm, AsyValue obj, AsyStr *name) {
    return asy_type_of(vm, obj)->setattr(vm, obj, name, ASY_UNDEF);
}

AsyValue asy_raise_attribute_error(AsyVM *vm, AsyValue obj, AsyStr *name) {
    if (ASY_IS_OBJ(obj) && asy_is_subtype(type_of_obj(obj), ASY_TYPE(vm, type)))
        return asy_raise(vm, ASY_EXC_AttributeError, "type object '%s' has no attribute '%U'",
                         as_type(obj)->name, name);
    return asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute '%U'",
                     asy_type_name(vm, obj), name);
}

AsyValue asy_getitem(AsyVM *vm, AsyValue obj, AsyValue key) {
    return asy_type_of(vm, obj)->getitem(vm, obj, key);
}

int asy_setitem(AsyVM *vm, AsyValue obj, AsyValue key, AsyValue v) {
    return asy_type_of(vm, obj)->setitem(vm, obj, key, v);
}

int asy_delitem(AsyVM *vm, AsyValue obj, AsyValue key) {
    return asy_type_of(vm, obj)->setitem(vm, obj, key, ASY_UNDEF);
}

int asy_contains(AsyVM *vm, AsyValue container, AsyValue item) {
    return asy_type_of(vm, container)->contains(vm, container, item);
}

int64_t asy_len(AsyVM *vm, AsyValue v) { return asy_type_of(vm, v)->len(vm, v); }

AsyValue asy_iter(AsyVM *vm, AsyValue v) { return asy_type_of(vm, v)->iter(vm, v); }

/* The signal half of a safepoint on every step of a built-in iterator: a C loop over one
 * that never ends (list(iter(int, 1)), l.extend(iter(l))) runs no asy code, yet Ctrl-C and
 * the fuzzers' step budget must stop it. No collection here: callers may hold unrooted
 * values across a built-in next. A class's __next__ is left to the safepoint at the entry
 * of the asy function it calls (asy_call), so that a KeyboardInterrupt's traceback shows
 * that function as CPython's does; a class that inherits a built-in next (enumerate, map,
 * ...) steps an inner iterator through here. */
AsyValue asy_next(AsyVM *vm, AsyValue iter) {
    AsyType *t = asy_type_of(vm, iter);
    if (ASY_UNLIKELY(vm->signal_pending) && !(t->tflags & ASY_TYPE_HEAP) &&
        asy_signals_check(vm) < 0)
        return ASY_ERR;
    return t->next(vm, iter);
}

bool asy_callable(AsyVM *vm, AsyValue v) { return asy_type_of(vm, v)->call != default_call; }

/* Calls f, an attribute found on `owner` (the type of self), as a method of self: plain
 * functions and natives get self prepended without a bound method being made; anything
 * else is bound through its descr_get first. */
AsyValue asy_call_unbound(AsyVM *vm, AsyValue f, AsyValue self, AsyType *owner, int argc,
                          AsyValue *argv, AsyDict *kw) {
    AsyType *ft = asy_type_of(vm, f);
    if (ft == ASY_TYPE(vm, function) || ft == ASY_TYPE(vm, builtin_function_or_method)) {
        AsyValue small[8];
        AsyValue *args = small;
        if (argc + 1 > 8) {
            args = asy_mem_alloc(vm, (size_t)(argc + 1) * sizeof *args);
            if (!args) return ASY_ERR;
        }
        args[0] = self;
        if (argc > 0) memcpy(args + 1, argv, (size_t)argc * sizeof *args);
        AsyValue r = asy_call(vm, f, argc + 1, args, kw);
        if (args != small) asy_mem_free(vm, args, (size_t)(argc + 1) * sizeof *args);
        return r;
    }
    if (ft->descr_get != default_descr_get) {
        f = ft->descr_get(vm, f, self, owner);
        if (ASY_IS_ERR(f)) return f;
    }
    asy_root_push(vm, f);
    AsyValue r = asy_call(vm, f, argc, argv, kw);
    asy_root_pop(vm, 1);
    return r;
}

AsyValue asy_call_method(AsyVM *vm, AsyValue obj, AsyStr *name, int argc, AsyValue *argv) {
    AsyType *t = asy_type_of(vm, obj);
    AsyValue f = asy_type_lookup(t, name);
    AsyDict **dp = instance_dict_ptr(t, obj);
    bool shadowed = dp && *dp && !ASY_IS_UNDEF(asy_dict_get_str(vm, *dp, name));
    if (!ASY_IS_UNDEF(f) && !shadowed && t->getattr == object_getattr)
        return asy_call_unbound(vm, f, obj, t, argc, argv, NULL);
    f = asy_getattr(vm, obj, name);
    if (ASY_IS_ERR(f)) return f;
    asy_root_push(vm, f);
    AsyValue r = asy_call(vm, f, argc, argv, NULL);
    asy_root_pop(vm, 1);
    return r;
}

bool asy_index(AsyVM *vm, AsyValue v, int64_t *out) {
    if (ASY_IS_INTLIKE(v)) {
        *out = v.as.i;
        return true;
    }
    AsyType *t = asy_type_of(vm, v);
    AsyValue r = v;
    if (!asy_is_subtype(t, ASY_TYPE(vm, int))) {
        AsyValue f = asy_type_lookup(t, ASY_S(vm, __index__));
        if (ASY_IS_UNDEF(f)) {
            asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as an integer",
                      t->name);
            return false;
        }
        r = asy_call_unbound(vm, f, v, t, 0, NULL, NULL);
        if (ASY_IS_ERR(r)) return false;
        if (ASY_IS_INTLIKE(r)) {
            *out = r.as.i;
            return true;
        }
        if (!asy_isinstance(vm, r, ASY_TYPE(vm, int))) {
            asy_raise(vm, ASY_EXC_TypeError, "__index__ returned non-int (type %s)",
                      asy_type_name(vm, r));
            return false;
        }
    }
    /* An int object: a big int (small ones are unboxed), or an int subclass instance. */
    mpz_t z;
    mpz_init(z);
    asy_int_to_mpz(r, z);
    bool fits = mpz_fits_slong_p(z);
    if (fits) *out = mpz_get_si(z);
    mpz_clear(z);
    if (!fits) asy_raise(vm, ASY_EXC_IndexError, "cannot fit 'int' into an index-sized integer");
    return fits;
}
