/* class.c - user classes: the class statement (asy_class_namespace, asy_class_build) and
 * its metaclass, type.__new__ (asy_class_type_new), the instance layout and
 * constructor of heap types, the slot trampolines that route asy's protocols to dunder
 * methods, and the descriptor types property, classmethod, staticmethod and super.
 *
 * Invariant: a heap type's slot is a trampoline exactly when a class of its heap part
 * (the user classes between it and its nearest built-in base) defines one of the slot's
 * dunders; every other slot is the built-in base's. Trampolines look the dunder up at
 * call time, so reassigning a method on the class takes effect at once.
 */
#include "common.h"

#include <stddef.h>
#include <string.h>

#include "slots.h"
#include "vm.h"

/* ---- helpers ---- */

static bool is_notimpl(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v) == vm->not_implemented;
}

static bool is_type_obj(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, type));
}

/* name as defined by a user class in t's MRO, or UNDEF when no class defines it or the
 * first that does is a built-in type (whose slot then applies). */
static AsyValue heap_defined(AsyVM *vm, AsyType *t, AsyStr *name) {
    for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it)) {
        if (!it.t->dict) continue;
        AsyValue v = asy_dict_get_str(vm, it.t->dict, name);
        if (!ASY_IS_UNDEF(v)) return (it.t->tflags & ASY_TYPE_HEAP) ? v : ASY_UNDEF;
    }
    return ASY_UNDEF;
}

/* Calls the dunder `name` of self's type with self prepended; *found false when the
 * type has no such attribute (then UNDEF is returned and nothing is raised). */
static AsyValue call_dunder(AsyVM *vm, AsyValue self, AsyStr *name, int argc, AsyValue *argv,
                            bool *found) {
    AsyType *t = asy_type_of(vm, self);
    AsyValue f = asy_type_lookup(t, name);
    *found = !ASY_IS_UNDEF(f);
    if (!*found) return ASY_UNDEF;
    return asy_call_unbound(vm, f, self, t, argc, argv, NULL);
}

/* ---- slot trampolines ---- */

/* repr/str results are checked to be strs by asy_repr/asy_str (CPython's wording). */
static AsyValue heap_repr(AsyVM *vm, AsyValue self) {
    bool found;
    return call_dunder(vm, self, ASY_S(vm, __repr__), 0, NULL, &found);
}

static AsyValue heap_str(AsyVM *vm, AsyValue self) {
    bool found;
    return call_dunder(vm, self, ASY_S(vm, __str__), 0, NULL, &found);
}

static bool heap_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    bool found;
    AsyValue r = call_dunder(vm, self, ASY_S(vm, __hash__), 0, NULL, &found);
    if (ASY_IS_ERR(r)) return false;
    if (ASY_IS_INTLIKE(r)) {
        *out = r.as.i == -1 ? -2 : r.as.i;
        return true;
    }
    if (!asy_isinstance(vm, r, ASY_TYPE(vm, int))) {
        asy_raise(vm, ASY_EXC_TypeError, "__hash__ method should return an integer");
        return false;
    }
    return asy_hash(vm, r, out); /* a big int: reduced as int's hash does */
}

static AsyStr *cmp_name(AsyVM *vm, AsyCmpOp op) {
    switch (op) {
    case ASY_CMP_LT: return ASY_S(vm, __lt__);
    case ASY_CMP_LE: return ASY_S(vm, __le__);
    case ASY_CMP_EQ: return ASY_S(vm, __eq__);
    case ASY_CMP_NE: return ASY_S(vm, __ne__);
    case ASY_CMP_GT: return ASY_S(vm, __gt__);
    default: return ASY_S(vm, __ge__);
    }
}

static AsyValue heap_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    bool found;
    AsyValue r = call_dunder(vm, self, cmp_name(vm, op), 1, &other, &found);
    return found ? r : ASY_OBJ(vm->not_implemented);
}

/* len(self) through __len__, with CPython's checks of the result. */
static int64_t heap_len(AsyVM *vm, AsyValue self) {
    bool found;
    AsyValue r = call_dunder(vm, self, ASY_S(vm, __len__), 0, NULL, &found);
    if (ASY_IS_ERR(r)) return -1;
    if (ASY_IS_INTLIKE(r)) {
        if (r.as.i >= 0) return r.as.i;
        asy_raise(vm, ASY_EXC_ValueError, "__len__() should return >= 0");
        return -1;
    }
    if (asy_isinstance(vm, r, ASY_TYPE(vm, int))) {
        asy_raise(vm, ASY_EXC_OverflowError, "cannot fit 'int' into an index-sized integer");
        return -1;
    }
    int64_t n;
    if (!asy_index(vm, r, &n)) return -1;
    if (n < 0) {
        asy_raise(vm, ASY_EXC_ValueError, "__len__() should return >= 0");
        return -1;
    }
    return n;
}

static int heap_truth(AsyVM *vm, AsyValue self) {
    AsyType *t = asy_type_of(vm, self);
    if (ASY_IS_UNDEF(heap_defined(vm, t, ASY_S(vm, __bool__)))) {
        int64_t n = heap_len(vm, self);
        return n < 0 ? -1 : n != 0;
    }
    bool found;
    AsyValue r = call_dunder(vm, self, ASY_S(vm, __bool__), 0, NULL, &found);
    if (ASY_IS_ERR(r)) return -1;
    if (ASY_IS_BOOL(r)) return r.as.i != 0;
    asy_raise(vm, ASY_EXC_TypeError, "__bool__ should return bool, returned %s",
              asy_type_name(vm, r));
    return -1;
}

/* __getattribute__ (or the built-in base's lookup), then __getattr__ on AttributeError. */
static AsyValue heap_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyType *t = asy_type_of(vm, self);
    AsyValue r;
    AsyValue ga = heap_defined(vm, t, ASY_S(vm, __getattribute__));
    if (!ASY_IS_UNDEF(ga)) {
        AsyValue arg = ASY_OBJ(name);
        r = asy_call_unbound(vm, ga, self, t, 1, &arg, NULL);
    } else {
        AsyType *b = asy_type_builtin_base(t);
        if (b->getattr == ASY_TYPE(vm, object)->getattr)
            r = asy_object_generic_getattr(vm, self, name, false);
        else
            r = b->getattr(vm, self, name);
    }
    if (!ASY_IS_UNDEF(r) && !(ASY_IS_ERR(r) && asy_exc_matches(vm, ASY_EXC_AttributeError)))
        return r;
    AsyValue fallback = asy_type_lookup(t, ASY_S(vm, __getattr__));
    if (ASY_IS_UNDEF(fallback)) {
        if (ASY_IS_UNDEF(r)) return asy_raise_attribute_error(vm, self, name);
        return r;
    }
    if (ASY_IS_ERR(r)) asy_exc_clear(vm);
    AsyValue arg = ASY_OBJ(name);
    return asy_call_unbound(vm, fallback, self, t, 1, &arg, NULL);
}

static int heap_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyType *t = asy_type_of(vm, self);
    bool del = ASY_IS_UNDEF(v);
    AsyValue f = heap_defined(vm, t, del ? ASY_S(vm, __delattr__) : ASY_S(vm, __setattr__));
    if (ASY_IS_UNDEF(f)) return asy_type_builtin_base(t)->setattr(vm, self, name, v);
    AsyValue args[2] = {ASY_OBJ(name), v};
    AsyValue r = asy_call_unbound(vm, f, self, t, del ? 1 : 2, args, NULL);
    return ASY_IS_ERR(r) ? -1 : 0;
}

static AsyValue heap_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    AsyType *t = asy_type_of(vm, self);
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __call__));
    return asy_call_unbound(vm, f, self, t, argc, argv, kw);
}

static AsyValue heap_iter(AsyVM *vm, AsyValue self) {
    bool found;
    AsyValue r = call_dunder(vm, self, ASY_S(vm, __iter__), 0, NULL, &found);
    if (!found) return asy_seqiter_new(vm, self); /* only __getitem__: the old protocol */
    if (ASY_IS_ERR(r)) return r;
    if (asy_type_of(vm, r)->next == ASY_TYPE(vm, object)->next)
        return asy_raise(vm, ASY_EXC_TypeError, "iter() returned non-iterator of type '%s'",
                         asy_type_name(vm, r));
    return r;
}

static AsyValue heap_next(AsyVM *vm, AsyValue self) {
    bool found;
    AsyValue r = call_dunder(vm, self, ASY_S(vm, __next__), 0, NULL, &found);
    if (ASY_IS_ERR(r) && asy_exc_matches(vm, ASY_EXC_StopIteration)) {
        asy_exc_clear(vm);
        return ASY_UNDEF;
    }
    return r;
}

static AsyValue heap_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    bool found;
    return call_dunder(vm, self, ASY_S(vm, __getitem__), 1, &key, &found);
}

static int heap_setitem(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v) {
    bool found, del = ASY_IS_UNDEF(v);
    AsyValue args[2] = {key, v};
    AsyValue r = call_dunder(vm, self, del ? ASY_S(vm, __delitem__) : ASY_S(vm, __setitem__),
                             del ? 1 : 2, args, &found);
    if (!found) {
        asy_raise(vm, ASY_EXC_TypeError,
                  del ? "'%s' object doesn't support item deletion"
                      : "'%s' object does not support item assignment",
                  asy_type_name(vm, self));
        return -1;
    }
    return ASY_IS_ERR(r) ? -1 : 0;
}

static int heap_contains(AsyVM *vm, AsyValue self, AsyValue item) {
    bool found;
    AsyValue r = call_dunder(vm, self, ASY_S(vm, __contains__), 1, &item, &found);
    if (ASY_IS_ERR(r)) return -1;
    return asy_truthy(vm, r);
}

/* The dunder names of each binary operator: forward, reflected, in-place. */
static AsyStr *binop_name(AsyVM *vm, AsyBinOp op, int which) {

    static const AsyNameId names[ASY_BIN_COUNT][3] = {
        {ASY_S___add__, ASY_S___radd__, ASY_S___iadd__},
        {ASY_S___sub__, ASY_S___rsub__, ASY_S___isub__},
        {ASY_S___mul__, ASY_S___rmul__, ASY_S___imul__},
        {ASY_S___matmul__, ASY_S___rmatmul__, ASY_S___imatmul__},
        {ASY_S___truediv__, ASY_S___rtruediv__, ASY_S___itruediv__},
        {ASY_S___floordiv__, ASY_S___rfloordiv__, ASY_S___ifloordiv__},
        {ASY_S___mod__, ASY_S___rmod__, ASY_S___imod__},
        {ASY_S___pow__, ASY_S___rpow__, ASY_S___ipow__},
        {ASY_S___lshift__, ASY_S___rlshift__, ASY_S___ilshift__},
        {ASY_S___rshift__, ASY_S___rrshift__, ASY_S___irshift__},
        {ASY_S___or__, ASY_S___ror__, ASY_S___ior__},
        {ASY_S___xor__, ASY_S___rxor__, ASY_S___ixor__},
        {ASY_S___and__, ASY_S___rand__, ASY_S___iand__},
    };

    return vm->names[names[op][which]];
}

static AsyValue heap_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op);

/* The method `name` of v's type when that type is a user class using the trampoline. */
static AsyValue binop_method(AsyType *t, AsyStr *name) {
    if (t->binop != heap_binop) return ASY_UNDEF;
    return asy_type_lookup(t, name);
}

static AsyValue call_binop_method(AsyVM *vm, AsyValue f, AsyValue self, AsyValue other) {
    return asy_call_unbound(vm, f, self, asy_type_of(vm, self), 1, &other, NULL);
}

/* CPython's SLOT1BINFULL: a.__op__(b), and b.__rop__(a) when b's type differs (first when
 * it is a subclass overriding __rop__). In-place operators try only a.__iop__; the caller
 * (asy_binop) falls back to the plain operator on NotImplemented. */
static AsyValue heap_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op) {
    AsyType *ta = asy_type_of(vm, a), *tb = asy_type_of(vm, b);
    if (op >= ASY_BIN_INPLACE) {
        AsyValue f = binop_method(ta, binop_name(vm, op - ASY_BIN_INPLACE, 2));
        if (ASY_IS_UNDEF(f)) return ASY_OBJ(vm->not_implemented);
        return call_binop_method(vm, f, a, b);
    }
    AsyValue fa = binop_method(ta, binop_name(vm, op, 0));
    AsyValue fb = ta == tb ? ASY_UNDEF : binop_method(tb, binop_name(vm, op, 1));
    AsyValue r;
    if (!ASY_IS_UNDEF(fb) && asy_is_subtype(tb, ta) &&
        !asy_value_is(fb, asy_type_lookup(ta, binop_name(vm, op, 1)))) {
        r = call_binop_method(vm, fb, b, a);
        if (!is_notimpl(vm, r)) return r;
        fb = ASY_UNDEF;
    }
    if (!ASY_IS_UNDEF(fa)) {
        asy_root_push(vm, fb);
        r = call_binop_method(vm, fa, a, b);
        asy_root_pop(vm, 1);
        if (!is_notimpl(vm, r)) return r;
    }
    if (!ASY_IS_UNDEF(fb)) return call_binop_method(vm, fb, b, a);
    return ASY_OBJ(vm->not_implemented);
}

static AsyValue heap_unaryop(AsyVM *vm, AsyValue self, AsyUnaryOp op) {
    AsyStr *name = op == ASY_UOP_NEG   ? ASY_S(vm, __neg__)
                   : op == ASY_UOP_POS ? ASY_S(vm, __pos__)
                                       : ASY_S(vm, __invert__);
    bool found;
    AsyValue r = call_dunder(vm, self, name, 0, NULL, &found);
    return found ? r : ASY_OBJ(vm->not_implemented);
}

/* A user descriptor: __get__(self, obj or None, owner). */
static AsyValue heap_descr_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    bool found;
    AsyValue args[2] = {ASY_IS_UNDEF(obj) ? ASY_NONE : obj,
                        owner ? ASY_OBJ(owner) : ASY_OBJ(asy_type_of(vm, obj))};
    AsyValue r = call_dunder(vm, descr, ASY_S(vm, __get__), 2, args, &found);
    return found ? r : descr;
}

static int heap_descr_set(AsyVM *vm, AsyValue descr, AsyValue obj, AsyValue v) {
    bool found, del = ASY_IS_UNDEF(v);
    AsyValue args[2] = {obj, v};
    AsyValue r = call_dunder(vm, descr, del ? ASY_S(vm, __delete__) : ASY_S(vm, __set__),
                             del ? 1 : 2, args, &found);
    if (!found) {
        asy_raise(vm, ASY_EXC_AttributeError, del ? "__delete__" : "__set__");
        return -1;
    }
    return ASY_IS_ERR(r) ? -1 : 0;
}

/* ---- instances ---- */

static AsyValue unwrap_static(AsyVM *vm, AsyValue f) {
    if (ASY_IS_OBJ(f) && ASY_AS_OBJ(f)->type == ASY_TYPE(vm, staticmethod))
        return ((AsyMethodWrapper *)ASY_AS_OBJ(f))->func;
    return f;
}

/* new_ of user classes: a user __new__(cls, ...) if some class defines one, else the
 * built-in base's constructor with this class as the type. __init__ is not run here
 * (type_call and the VM do that). */
static AsyValue heap_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue nf = heap_defined(vm, type, ASY_S(vm, __new__));
    if (!ASY_IS_UNDEF(nf)) {
        nf = unwrap_static(vm, nf);
        return asy_call_unbound(vm, nf, ASY_OBJ(type), asy_type_of(vm, ASY_OBJ(type)), argc, argv,
                                kw);
    }
    AsyType *b = asy_type_builtin_base(type);
    if (b == ASY_TYPE(vm, object) || b == ASY_TYPE(vm, type) || (b->tflags & ASY_TYPE_EXCEPTION))
        return b->new_(vm, type, argc, argv, kw);
    /* list, dict, ...: their constructor consumes the arguments unless a user __init__
     * is there to take them (it then calls the base's __init__ itself). */
    if (!ASY_IS_UNDEF(heap_defined(vm, type, ASY_S(vm, __init__))))
        return b->new_(vm, type, 0, NULL, NULL);
    return b->new_(vm, type, argc, argv, kw);
}

/* Instances have their built-in base's fields, then (when the base had none) __dict__. */
static void heap_traverse(AsyVM *vm, AsyObj *o) {
    AsyType *b = asy_type_builtin_base(o->type);
    if (b->traverse) b->traverse(vm, o);
    if (o->type->dict_offset) asy_gc_mark_obj(vm, (AsyObj *)*asy_obj_dict_slot(o));
    if (o->type->tflags & ASY_TYPE_SLOT_STORE) asy_gc_mark_obj(vm, (AsyObj *)*asy_slot_store(o));
}

static void heap_finalize(AsyVM *vm, AsyObj *o) {
    AsyType *b = asy_type_builtin_base(o->type);
    if (b->finalize) b->finalize(vm, o);
}

/* ---- building a class ---- */

static bool defines(AsyVM *vm, AsyType *t, AsyStr *name) {
    return !ASY_IS_UNDEF(heap_defined(vm, t, name));
}

static bool defines_any(AsyVM *vm, AsyType *t, const AsyNameId *ids, int n) {
    for (int i = 0; i < n; i++)
        if (defines(vm, t, vm->names[ids[i]])) return true;
    return false;
}

static bool defines_binop(AsyVM *vm, AsyType *t) {
    for (int op = 0; op < ASY_BIN_COUNT; op++)
        for (int w = 0; w < 3; w++)
            if (defines(vm, t, binop_name(vm, (AsyBinOp)op, w))) return true;
    return false;
}

/* Recomputes t's slots from its built-in base and the dunders of its heap part. */
void asy_class_update_slots(AsyVM *vm, AsyType *t) {
    AsyType *b = asy_type_builtin_base(t);
    static const AsyNameId cmp[] = {ASY_S___eq__, ASY_S___ne__, ASY_S___lt__,
                                    ASY_S___le__, ASY_S___gt__, ASY_S___ge__};
    static const AsyNameId truth[] = {ASY_S___bool__, ASY_S___len__};
    static const AsyNameId getattr[] = {ASY_S___getattr__, ASY_S___getattribute__};
    static const AsyNameId setattr[] = {ASY_S___setattr__, ASY_S___delattr__};
    static const AsyNameId setitem[] = {ASY_S___setitem__, ASY_S___delitem__};
    static const AsyNameId unary[] = {ASY_S___neg__, ASY_S___pos__, ASY_S___invert__};
    static const AsyNameId dset[] = {ASY_S___set__, ASY_S___delete__};
    t->repr = defines(vm, t, ASY_S(vm, __repr__)) ? heap_repr : b->repr;
    t->str = defines(vm, t, ASY_S(vm, __str__)) ? heap_str : b->str;
    /* int and float print their repr: a subclass's own __repr__ must show in str() too. */
    if (t->str == b->str && b->str == b->repr && t->repr != b->repr)
        t->str = ASY_TYPE(vm, object)->str;
    AsyValue h = heap_defined(vm, t, ASY_S(vm, __hash__));
    t->hash = ASY_IS_UNDEF(h) ? b->hash : ASY_IS_NONE(h) ? NULL : heap_hash;
    t->richcompare = defines_any(vm, t, cmp, 6) ? heap_richcompare : b->richcompare;
    t->truth = defines_any(vm, t, truth, 2) ? heap_truth : b->truth;
    t->len = defines(vm, t, ASY_S(vm, __len__)) ? heap_len : b->len;
    t->getattr = defines_any(vm, t, getattr, 2) ? heap_getattr : b->getattr;
    t->setattr = defines_any(vm, t, setattr, 2) ? heap_setattr : b->setattr;
    t->call = defines(vm, t, ASY_S(vm, __call__)) ? heap_call : b->call;
    bool old_seq = defines(vm, t, ASY_S(vm, __getitem__)) && b->iter == ASY_TYPE(vm, object)->iter;
    t->iter = defines(vm, t, ASY_S(vm, __iter__)) || old_seq ? heap_iter : b->iter;
    t->next = defines(vm, t, ASY_S(vm, __next__)) ? heap_next : b->next;
    t->getitem = defines(vm, t, ASY_S(vm, __getitem__)) ? heap_getitem : b->getitem;
    t->setitem = defines_any(vm, t, setitem, 2) ? heap_setitem : b->setitem;
    t->contains = defines(vm, t, ASY_S(vm, __contains__)) ? heap_contains : b->contains;
    t->binop = defines_binop(vm, t) ? heap_binop : b->binop;
    t->unaryop = defines_any(vm, t, unary, 3) ? heap_unaryop : b->unaryop;
    t->descr_get = defines(vm, t, ASY_S(vm, __get__)) ? heap_descr_get : b->descr_get;
    t->descr_set = defines_any(vm, t, dset, 2) ? heap_descr_set : b->descr_set;
    t->new_ = heap_new;
    t->traverse = heap_traverse;
    t->finalize = heap_finalize;
}

/* The bases as types into out (`object` when none is given); their count, or -1 with
 * TypeError. */
static int class_base_types(AsyVM *vm, AsyValue *bases, int nbases, AsyType **out) {
    for (int i = 0; i < nbases; i++) {
        if (!is_type_obj(vm, bases[i])) {
            asy_raise(vm, ASY_EXC_TypeError, "bases must be types");
            return -1;
        }
        out[i] = (AsyType *)ASY_AS_OBJ(bases[i]);
    }
    if (nbases > 0) return nbases;
    out[0] = ASY_TYPE(vm, object);
    return 1;
}

/* def __new__ is implicitly a staticmethod, __init_subclass__ a classmethod (as CPython). */
static void wrap_implicit(AsyVM *vm, AsyDict *ns, AsyStr *name, AsyType *wrapper) {
    AsyValue f = asy_dict_get_str(vm, ns, name);
    if (!ASY_IS_OBJ(f) || ASY_AS_OBJ(f)->type != ASY_TYPE(vm, function)) return;
    AsyMethodWrapper *w = asy_gc_alloc(vm, wrapper, sizeof(AsyMethodWrapper));
    w->func = f;
    asy_dict_set_str(vm, ns, name, ASY_OBJ(w));
}

/* str, bytes and tuple keep their text or items inline, so a subclass keeps __dict__ after
 * them (ASY_TYPE_DICT_AT_END): where they start, and the size of one. */
static size_t inline_items(AsyVM *vm, AsyType *base, size_t *itemsize) {
    *itemsize = 1;
    if (base == ASY_TYPE(vm, str)) return offsetof(AsyStr, data);
    if (base == ASY_TYPE(vm, bytes)) return offsetof(AsyBytes, data);
    *itemsize = sizeof(AsyValue);
    if (base == ASY_TYPE(vm, tuple)) return offsetof(AsyTuple, items);
    return 0;
}

static void class_layout(AsyVM *vm, AsyType *t, AsyType *base) {
    if (asy_is_subtype(base, ASY_TYPE(vm, type))) { /* a metaclass: its classes keep t->dict */
        t->basicsize = base->basicsize;
        return;
    }
    size_t itemsize, items = inline_items(vm, base, &itemsize);
    if (items) {
        t->tflags |= ASY_TYPE_DICT_AT_END;
        t->basicsize = base->basicsize;
        t->dict_offset = items;
        t->itemsize = itemsize;
        return;
    }
    if (base->dict_offset) {
        t->basicsize = base->basicsize;
        t->dict_offset = base->dict_offset;
        t->itemsize = base->itemsize;
        return;
    }
    size_t off = (base->basicsize + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
    t->dict_offset = off;
    t->basicsize = off + sizeof(AsyDict *);
}

static bool class_names(AsyVM *vm, AsyType *t, AsyStr *name, AsyDict *ns) {
    t->name_str = name;
    t->name = name->data;
    t->qualname = name;
    AsyValue q = asy_dict_get_str(vm, ns, ASY_S(vm, __qualname__));
    if (!ASY_IS_UNDEF(q)) {
        if (!asy_isinstance(vm, q, ASY_TYPE(vm, str))) {
            asy_raise(vm, ASY_EXC_TypeError, "type __qualname__ must be a str, not %s",
                      asy_type_name(vm, q));
            return false;
        }
        t->qualname = (AsyStr *)ASY_AS_OBJ(q);
        asy_dict_del(vm, ns, ASY_OBJ(ASY_S(vm, __qualname__)));
    }
    AsyValue m = asy_dict_get_str(vm, ns, ASY_S(vm, __module__));
    if (asy_isinstance(vm, m, ASY_TYPE(vm, str)))
        t->module = (AsyStr *)ASY_AS_OBJ(m);
    else
        t->module = asy_str_intern_cstr(vm, "builtins");
    if (ASY_IS_UNDEF(asy_dict_get_str(vm, ns, ASY_S(vm, __doc__))))
        asy_dict_set_str(vm, ns, ASY_S(vm, __doc__), ASY_NONE);
    return true;
}

/* value.__set_name__(cls, name) for every namespace entry that has it. */
static bool call_set_name_hooks(AsyVM *vm, AsyType *t) {
    AsyList *items = asy_list_new(vm, t->dict->len * 2);
    asy_root_push(vm, ASY_OBJ(items));
    int64_t pos = 0;
    AsyValue k, v;
    while (asy_dict_next(t->dict, &pos, &k, &v)) {
        if (!ASY_IS_OBJ(v) || ASY_AS_OBJ(v)->type == ASY_TYPE(vm, function)) continue;
        asy_list_append(vm, items, k);
        asy_list_append(vm, items, v);
    }
    bool ok = true;
    for (int64_t i = 0; ok && i < items->len; i += 2) {
        v = items->items[i + 1];
        AsyType *vt = asy_type_of(vm, v);
        AsyValue f = asy_type_lookup(vt, ASY_S(vm, __set_name__));
        if (ASY_IS_UNDEF(f)) continue;
        AsyValue args[2] = {ASY_OBJ(t), items->items[i]};
        ok = !ASY_IS_ERR(asy_call_unbound(vm, f, v, vt, 2, args, NULL));
    }
    asy_root_pop(vm, 1);
    return ok;
}

/* name from the classes after `after` in the MRO of t (what super(after, x) sees), or
 * UNDEF. */
static AsyValue lookup_after(AsyVM *vm, AsyType *t, AsyType *after, AsyStr *name) {
    AsyMroIter it = asy_mro_begin(t);
    while (it.t && it.t != after)
        asy_mro_next(&it);
    if (!it.t) return ASY_UNDEF;
    for (asy_mro_next(&it); it.t; asy_mro_next(&it)) {
        AsyValue v = it.t->dict ? asy_dict_get_str(vm, it.t->dict, name) : ASY_UNDEF;
        if (!ASY_IS_UNDEF(v)) return v;
    }
    return ASY_UNDEF;
}

/* super(t, t).__init_subclass__(**kw) */
static bool call_init_subclass(AsyVM *vm, AsyType *t, AsyDict *kw) {
    AsyValue f = lookup_after(vm, t, t, ASY_S(vm, __init_subclass__));
    if (ASY_IS_UNDEF(f)) return true;
    AsyType *ft = asy_type_of(vm, f);
    if (asy_type_has_descr_get(ft)) {
        f = ft->descr_get(vm, f, ASY_UNDEF, t);
        if (ASY_IS_ERR(f)) return false;
    }
    asy_root_push(vm, f);
    /* a copy: natives take their keywords out of the dict they are given */
    AsyDict *args = kw && kw->len ? asy_dict_copy(vm, kw) : NULL;
    if (args) asy_root_push(vm, ASY_OBJ(args));
    AsyValue r = asy_call(vm, f, 0, NULL, args);
    asy_root_pop(vm, args ? 2 : 1);
    return !ASY_IS_ERR(r);
}

/* A new heap type of metatype meta with its bases, MRO and layout: NULL with TypeError on
 * bad bases. */
static AsyType *class_alloc(AsyVM *vm, AsyType *meta, AsyValue *bases, int nbases) {
    size_t size = (size_t)(nbases > 0 ? nbases : 1) * sizeof(AsyType *);
    AsyType **types = asy_mem_alloc(vm, size);
    if (!types) return NULL;
    int n = class_base_types(vm, bases, nbases, types);
    AsyType *base = n < 0 ? NULL : asy_mro_best_base(vm, types, n);
    AsyType *t = base ? asy_gc_alloc_type(vm, meta, meta->basicsize) : NULL;
    if (t) {
        t->base = base;
        if (!asy_mro_set_bases(vm, t, types, n)) t = NULL;
    }
    asy_mem_free(vm, types, size);
    return t;
}

/* type.__new__'s work: a class of metatype meta (type or a subclass). */
static AsyValue class_make(AsyVM *vm, AsyType *meta, AsyStr *name, AsyValue *bases, int nbases,
                           AsyDict *ns, AsyDict *kw) {
    AsyType *t = class_alloc(vm, meta, bases, nbases);
    if (!t) return ASY_ERR;
    AsyType *base = t->base;
    t->dict = ns;
    t->tflags =
        ASY_TYPE_HEAP | ASY_TYPE_BASETYPE | ASY_TYPE_READY |
                (base->tflags & (ASY_TYPE_EXCEPTION | ASY_TYPE_DICT_AT_END | ASY_TYPE_FINALIZE_AT_EXIT |
                                 ASY_TYPE_SLOT_STORE));
    class_layout(vm, t, base);
    if (!asy_slots_setup(vm, t, ns) || !class_names(vm, t, name, ns)) return ASY_ERR;
    wrap_implicit(vm, ns, ASY_S(vm, __new__), ASY_TYPE(vm, staticmethod));
    wrap_implicit(vm, ns, ASY_S(vm, __init_subclass__), ASY_TYPE(vm, classmethod));
    wrap_implicit(vm, ns, ASY_S(vm, __class_getitem__), ASY_TYPE(vm, classmethod));
    /* A class that defines __eq__ without __hash__ is unhashable (CPython). */
    if (!ASY_IS_UNDEF(asy_dict_get_str(vm, ns, ASY_S(vm, __eq__))) &&
        ASY_IS_UNDEF(asy_dict_get_str(vm, ns, ASY_S(vm, __hash__))))
        asy_dict_set_str(vm, ns, ASY_S(vm, __hash__), ASY_NONE);
    asy_class_update_slots(vm, t);
    asy_root_push(vm, ASY_OBJ(t));
    bool ok = call_set_name_hooks(vm, t) && call_init_subclass(vm, t, kw);
    asy_root_pop(vm, 1);
    return ok ? ASY_OBJ(t) : ASY_ERR;
}

AsyValue asy_class_new(AsyVM *vm, AsyStr *name, AsyValue *bases, int nbases, AsyDict *ns) {
    return class_make(vm, ASY_TYPE(vm, type), name, bases, nbases, ns, NULL);
}

/* ---- metaclasses ---- */

/* CPython's _PyType_CalculateMetaclass: of meta and the types of the bases, the one that is
 * a subclass of all the others; NULL with TypeError when there is none. */
static AsyType *class_winner(AsyVM *vm, AsyType *meta, AsyValue *bases, int nbases) {
    AsyType *winner = meta;
    for (int i = 0; i < nbases; i++) {
        AsyType *t = asy_type_of(vm, bases[i]);
        if (asy_is_subtype(winner, t)) continue;
        if (asy_is_subtype(t, winner)) {
            winner = t;
            continue;
        }
        asy_raise(vm, ASY_EXC_TypeError,
                  "metaclass conflict: the metaclass of a derived class must be a (non-strict) "
                  "subclass of the metaclasses of all its bases");
        return NULL;
    }
    return winner;
}

/* The metaclass of a class statement: metaclass= when given (any callable), else the type of
 * the first base (type without bases); a class then gives way to the most derived of it and
 * the bases' types. */
static AsyValue class_meta(AsyVM *vm, AsyValue *bases, int nbases, AsyDict *kw) {
    AsyValue meta = kw ? asy_dict_get_str(vm, kw, ASY_S(vm, metaclass)) : ASY_UNDEF;
    if (ASY_IS_UNDEF(meta))
        meta = ASY_OBJ(nbases ? asy_type_of(vm, bases[0]) : ASY_TYPE(vm, type));
    else if (!is_type_obj(vm, meta))
        return meta;
    AsyType *w = class_winner(vm, (AsyType *)ASY_AS_OBJ(meta), bases, nbases);
    return w ? ASY_OBJ(w) : ASY_ERR;
}

/* The class statement's keywords but metaclass=, in a new dict (natives take their keywords
 * out of the dict they are given); NULL when none are left. */
static AsyDict *class_kwargs(AsyVM *vm, AsyDict *kw) {
    if (!kw || kw->len == 0) return NULL;
    AsyDict *d = asy_dict_copy(vm, kw);
    asy_dict_del(vm, d, ASY_OBJ(ASY_S(vm, metaclass)));
    return d->len ? d : NULL;
}

/* The name of a metaclass in messages: a class's own, "<metaclass>" for other callables. */
static const char *meta_name(AsyVM *vm, AsyValue meta) {
    return is_type_obj(vm, meta) ? ((AsyType *)ASY_AS_OBJ(meta))->name : "<metaclass>";
}

AsyValue asy_class_namespace(AsyVM *vm, AsyStr *name, AsyValue *bases, int nbases, AsyDict *kw) {
    AsyValue meta = class_meta(vm, bases, nbases, kw);
    if (ASY_IS_ERR(meta)) return ASY_ERR;
    if (asy_value_is(meta, ASY_OBJ(ASY_TYPE(vm, type)))) return ASY_OBJ(asy_dict_new(vm));
    asy_root_push(vm, meta);
    AsyValue prep = asy_getattr_opt(vm, meta, ASY_S(vm, __prepare__));
    AsyValue ns = prep;
    if (ASY_IS_UNDEF(prep)) {
        ns = ASY_OBJ(asy_dict_new(vm));
    } else if (!ASY_IS_ERR(prep)) {
        asy_root_push(vm, prep);
        AsyValue args[2] = {ASY_OBJ(name), ASY_OBJ(asy_tuple_from_array(vm, bases, nbases))};
        asy_root_push(vm, args[1]);
        AsyDict *kwargs = class_kwargs(vm, kw);
        if (kwargs) asy_root_push(vm, ASY_OBJ(kwargs));
        ns = asy_call(vm, prep, 2, args, kwargs);
        asy_root_pop(vm, kwargs ? 3 : 2);
        /* the class body's namespace is a dict in asy: other mappings are refused too */
        if (!ASY_IS_ERR(ns) && !asy_isinstance(vm, ns, ASY_TYPE(vm, dict)))
            ns = asy_raise(vm, ASY_EXC_TypeError, "%s.__prepare__() must return a mapping, not %s",
                           meta_name(vm, meta), asy_type_name(vm, ns));
    }
    asy_root_pop(vm, 1);
    return ns;
}

AsyValue asy_class_build(AsyVM *vm, AsyStr *name, AsyValue *bases, int nbases, AsyDict *ns,
                         AsyDict *kw) {
    AsyValue meta = class_meta(vm, bases, nbases, kw);
    if (ASY_IS_ERR(meta)) return ASY_ERR;
    asy_root_push(vm, meta);
    AsyDict *kwargs = class_kwargs(vm, kw);
    asy_root_push(vm, kwargs ? ASY_OBJ(kwargs) : ASY_NONE);
    AsyValue cls;
    if (asy_value_is(meta, ASY_OBJ(ASY_TYPE(vm, type)))) {
        cls = class_make(vm, ASY_TYPE(vm, type), name, bases, nbases, ns, kwargs);
    } else {
        AsyValue args[3] = {ASY_OBJ(name), ASY_OBJ(asy_tuple_from_array(vm, bases, nbases)),
                            ASY_OBJ(ns)};
        asy_root_push(vm, args[1]);
        cls = asy_call(vm, meta, 3, args, kwargs);
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 2);
    return cls;
}

/* type.__new__(meta, name, bases, ns, **kw): the bases' metaclasses may name a more derived
 * metaclass, whose own __new__ then makes the class (CPython's type_new). */
AsyValue asy_class_type_new(AsyVM *vm, AsyType *meta, AsyValue *argv, AsyDict *kw) {
    if (!asy_isinstance(vm, argv[0], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "type.__new__() argument 1 must be str, not %s",
                         asy_type_name(vm, argv[0]));
    if (!asy_isinstance(vm, argv[1], ASY_TYPE(vm, tuple)))
        return asy_raise(vm, ASY_EXC_TypeError, "type.__new__() argument 2 must be tuple, not %s",
                         asy_type_name(vm, argv[1]));
    if (!asy_isinstance(vm, argv[2], ASY_TYPE(vm, dict)))
        return asy_raise(vm, ASY_EXC_TypeError, "type.__new__() argument 3 must be dict, not %s",
                         asy_type_name(vm, argv[2]));
    AsyTuple *bases = (AsyTuple *)ASY_AS_OBJ(argv[1]);
    AsyType *winner = class_winner(vm, meta, bases->items, (int)bases->len);
    if (!winner) return ASY_ERR;
    if (winner != meta && defines(vm, winner, ASY_S(vm, __new__)))
        return winner->new_(vm, winner, 3, argv, kw);
    AsyDict *ns = asy_dict_copy(vm, (AsyDict *)ASY_AS_OBJ(argv[2]));
    asy_root_push(vm, ASY_OBJ(ns));
    if (ASY_IS_UNDEF(asy_dict_get_str(vm, ns, ASY_S(vm, __module__)))) {
        AsyDict *g = asy_vm_globals(vm);
        AsyValue m = g ? asy_dict_get_str(vm, g, ASY_S(vm, __name__)) : ASY_UNDEF;
        if (!ASY_IS_UNDEF(m)) asy_dict_set_str(vm, ns, ASY_S(vm, __module__), m);
    }
    AsyValue cls = class_make(vm, winner, (AsyStr *)ASY_AS_OBJ(argv[0]), bases->items,
                              (int)bases->len, ns, kw);
    asy_root_pop(vm, 1);
    return cls;
}

/* ---- property ---- */

static AsyProperty *prop_of(AsyValue v) { return (AsyProperty *)ASY_AS_OBJ(v); }

static bool absent(AsyValue v) { return ASY_IS_UNDEF(v) || ASY_IS_NONE(v); }

static AsyValue prop_error(AsyVM *vm, AsyProperty *p, AsyValue obj, const char *what) {
    if (ASY_IS_OBJ(p->name))
        return asy_raise(vm, ASY_EXC_AttributeError, "property %R of '%s' object has no %s",
                         p->name, asy_type_name(vm, obj), what);
    return asy_raise(vm, ASY_EXC_AttributeError, "property of '%s' object has no %s",
                     asy_type_name(vm, obj), what);
}

static AsyValue prop_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    ASY_UNUSED(owner);
    AsyProperty *p = prop_of(descr);
    if (ASY_IS_UNDEF(obj)) return descr;
    if (absent(p->fget)) return prop_error(vm, p, obj, "getter");
    return asy_call(vm, p->fget, 1, &obj, NULL);
}

static int prop_set(AsyVM *vm, AsyValue descr, AsyValue obj, AsyValue v) {
    AsyProperty *p = prop_of(descr);
    bool del = ASY_IS_UNDEF(v);
    AsyValue f = del ? p->fdel : p->fset;
    if (absent(f)) {
        prop_error(vm, p, obj, del ? "deleter" : "setter");
        return -1;
    }
    AsyValue args[2] = {obj, v};
    return ASY_IS_ERR(asy_call(vm, f, del ? 1 : 2, args, NULL)) ? -1 : 0;
}

static void prop_traverse(AsyVM *vm, AsyObj *o) {
    AsyProperty *p = (AsyProperty *)o;
    asy_gc_mark_value(vm, p->fget);
    asy_gc_mark_value(vm, p->fset);
    asy_gc_mark_value(vm, p->fdel);
    asy_gc_mark_value(vm, p->doc);
    asy_gc_mark_value(vm, p->name);
}

/* The doc of a property without one: its getter's __doc__. */
static AsyValue prop_doc_from_getter(AsyVM *vm, AsyValue fget) {
    if (absent(fget)) return ASY_NONE;
    AsyValue d = asy_getattr_opt(vm, fget, ASY_S(vm, __doc__));
    if (ASY_IS_ERR(d)) {
        asy_exc_clear(vm);
        return ASY_NONE;
    }
    return ASY_IS_UNDEF(d) ? ASY_NONE : d;
}

static AsyValue prop_make(AsyVM *vm, AsyType *type, AsyValue fget, AsyValue fset, AsyValue fdel,
                          AsyValue doc) {
    AsyProperty *p = asy_gc_alloc(vm, type, type->basicsize);
    p->fget = absent(fget) ? ASY_NONE : fget;
    p->fset = absent(fset) ? ASY_NONE : fset;
    p->fdel = absent(fdel) ? ASY_NONE : fdel;
    p->doc = absent(doc) ? prop_doc_from_getter(vm, fget) : doc;
    p->name = ASY_UNDEF;
    return ASY_OBJ(p);
}

/* property(fget=None, fset=None, fdel=None, doc=None) */
static AsyValue prop_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    static const char *const names[] = {"fget", "fset", "fdel", "doc"};
    AsyValue a[4] = {ASY_UNDEF, ASY_UNDEF, ASY_UNDEF, ASY_UNDEF};
    if (argc > 4)
        return asy_raise(vm, ASY_EXC_TypeError, "property() takes at most 4 arguments (%d given)",
                         argc);
    for (int i = 0; i < argc; i++)
        a[i] = argv[i];
    for (int i = 0; i < 4; i++) {
        AsyValue v = asy_kwarg(vm, kw, names[i]);
        if (ASY_IS_UNDEF(v)) continue;
        if (i < argc)
            return asy_raise(vm, ASY_EXC_TypeError,
                             "argument for property() given by name ('%s') and position (%d)",
                             names[i], i + 1);
        a[i] = v;
    }
    if (!asy_check_kw_done(vm, "property", kw)) return ASY_ERR;
    return prop_make(vm, type, a[0], a[1], a[2], a[3]);
}

/* getter/setter/deleter: a copy with one function replaced. */
static AsyValue prop_copy_with(AsyVM *vm, int argc, AsyValue *argv, int which, const char *meth) {
    if (!asy_check_args(vm, meth, argc - 1, 1, 1)) return ASY_ERR;
    AsyProperty *p = prop_of(argv[0]);
    AsyValue f[3] = {p->fget, p->fset, p->fdel};
    f[which] = argv[1];
    AsyValue doc = p->doc;
    if (which == 0 && ASY_IS_NONE(doc)) doc = ASY_UNDEF; /* recomputed from the getter */
    AsyValue r = prop_make(vm, p->hdr.type, f[0], f[1], f[2], doc);
    prop_of(r)->name = p->name;
    return r;
}

static AsyValue propm_getter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    return prop_copy_with(vm, argc, argv, 0, "getter");
}

static AsyValue propm_setter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    return prop_copy_with(vm, argc, argv, 1, "setter");
}

static AsyValue propm_deleter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    return prop_copy_with(vm, argc, argv, 2, "deleter");
}

static AsyValue propm_set_name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__set_name__", argc - 1, 2, 2)) return ASY_ERR;
    prop_of(argv[0])->name = argv[2];
    return ASY_NONE;
}

/* __get__, __set__ and __delete__ of a built-in descriptor type (property, member
 * descriptors): its descr_get and descr_set slots, called directly. */
static AsyValue descrm_get(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__get__", argc - 1, 1, 2)) return ASY_ERR;
    AsyValue obj = ASY_IS_NONE(argv[1]) ? ASY_UNDEF : argv[1];
    return asy_type_of(vm, argv[0])->descr_get(vm, argv[0], obj, NULL);
}

static AsyValue descrm_set(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__set__", argc - 1, 2, 2)) return ASY_ERR;
    int r = asy_type_of(vm, argv[0])->descr_set(vm, argv[0], argv[1], argv[2]);
    return r < 0 ? ASY_ERR : ASY_NONE;
}

static AsyValue descrm_delete(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__delete__", argc - 1, 1, 1)) return ASY_ERR;
    int r = asy_type_of(vm, argv[0])->descr_set(vm, argv[0], argv[1], ASY_UNDEF);
    return r < 0 ? ASY_ERR : ASY_NONE;
}

const AsyMethodDef asy_descriptor_methods[] = {
    {"__get__", descrm_get, 0, "Return an attribute of instance, which is of type owner."},
    {"__set__", descrm_set, 0, "Set an attribute of instance to value."},
    {"__delete__", descrm_delete, 0, "Delete an attribute of instance."},
    {NULL, NULL, 0, NULL},
};

static AsyValue prop_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyProperty *p = prop_of(self);
    const char *n = name->data;
    if (strcmp(n, "fget") == 0) return p->fget;
    if (strcmp(n, "fset") == 0) return p->fset;
    if (strcmp(n, "fdel") == 0) return p->fdel;
    if (strcmp(n, "__doc__") == 0) return p->doc;
    if (strcmp(n, "__isabstractmethod__") == 0) return ASY_FALSE;
    return asy_object_generic_getattr(vm, self, name, true);
}

static const AsyMethodDef property_methods[] = {
    {"getter", propm_getter, 0,
     "Descriptor to obtain a copy of the property with a "
     "different getter."},
    {"setter", propm_setter, 0,
     "Descriptor to obtain a copy of the property with a "
     "different setter."},
    {"deleter", propm_deleter, 0,
     "Descriptor to obtain a copy of the property with a "
     "different deleter."},
    {"__set_name__", propm_set_name, 0, "Method to set name of a property."},
    {NULL, NULL, 0, NULL},
};

/* ---- classmethod and staticmethod ---- */

static AsyMethodWrapper *wrapper_of(AsyValue v) { return (AsyMethodWrapper *)ASY_AS_OBJ(v); }

static AsyValue wrapper_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, type->name, kw)) return ASY_ERR;
    if (argc != 1)
        return asy_raise(vm, ASY_EXC_TypeError, "%s expected 1 argument, got %d", type->name, argc);
    AsyMethodWrapper *w = asy_gc_alloc(vm, type, type->basicsize);
    w->func = argv[0];
    return ASY_OBJ(w);
}

static void wrapper_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_value(vm, ((AsyMethodWrapper *)o)->func);
}

static AsyValue classmethod_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    if (!owner) owner = asy_type_of(vm, obj);
    AsyValue f = wrapper_of(descr)->func;
    /* A classmethod of a built-in type wraps an unbound native: bind it to the class. */
    if (ASY_IS_OBJ(f) && ASY_AS_OBJ(f)->type == ASY_TYPE(vm, builtin_function_or_method)) {
        AsyNative *n = (AsyNative *)ASY_AS_OBJ(f);
        return asy_native_new(vm, n->def, ASY_OBJ(owner), n->owner);
    }
    return asy_bound_method_new(vm, ASY_OBJ(owner), f);
}

static AsyValue staticmethod_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    ASY_UNUSED(vm), ASY_UNUSED(obj), ASY_UNUSED(owner);
    return wrapper_of(descr)->func;
}

static AsyValue staticmethod_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    return asy_call(vm, wrapper_of(self)->func, argc, argv, kw);
}

/* __func__ and __wrapped__, then the wrapped function's own attributes (__name__, __doc__). */
static AsyValue wrapper_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyValue f = wrapper_of(self)->func;
    if (strcmp(name->data, "__func__") == 0 || strcmp(name->data, "__wrapped__") == 0) return f;
    AsyValue v = asy_object_generic_getattr(vm, self, name, false);
    if (!ASY_IS_UNDEF(v)) return v;
    v = asy_getattr_opt(vm, f, name);
    if (!ASY_IS_UNDEF(v)) return v;
    return asy_raise_attribute_error(vm, self, name);
}

static AsyValue wrapper_repr(AsyVM *vm, AsyValue self) {
    AsyValue r = asy_repr(vm, wrapper_of(self)->func);
    if (ASY_IS_ERR(r)) return r;
    return ASY_OBJ(
        asy_str_printf(vm, "<%s(%s)>", asy_type_name(vm, self), ((AsyStr *)ASY_AS_OBJ(r))->data));
}

/* ---- super ---- */

static AsySuper *super_of(AsyValue v) { return (AsySuper *)ASY_AS_OBJ(v); }

/* super(type, obj): obj an instance of type (methods bind to it) or a subclass of it
 * (classmethods bind to it). */
static AsyValue super_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "super", kw)) return ASY_ERR;
    if (argc == 0) return asy_raise(vm, ASY_EXC_RuntimeError, "super(): no arguments");
    if (!asy_check_args(vm, "super", argc, 1, 2)) return ASY_ERR;
    if (!is_type_obj(vm, argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "super() argument 1 must be a type, not %s",
                         asy_type_name(vm, argv[0]));
    AsyType *t = (AsyType *)ASY_AS_OBJ(argv[0]);
    AsyType *obj_type = NULL;
    AsyValue obj = argc == 2 ? argv[1] : ASY_UNDEF;
    if (argc == 2 && !ASY_IS_NONE(obj)) {
        if (is_type_obj(vm, obj) && asy_is_subtype((AsyType *)ASY_AS_OBJ(obj), t))
            obj_type = (AsyType *)ASY_AS_OBJ(obj);
        else if (asy_isinstance(vm, obj, t))
            obj_type = asy_type_of(vm, obj);
        else
            return asy_raise(vm, ASY_EXC_TypeError,
                             "super(type, obj): obj must be an instance or subtype of type");
    } else {
        obj = ASY_UNDEF;
    }
    AsySuper *s = asy_gc_alloc(vm, type, type->basicsize);
    s->type = t;
    s->obj = obj;
    s->obj_type = obj_type;
    return ASY_OBJ(s);
}

/* The attribute from the classes after su->type in the chain of su->obj_type. */
static AsyValue super_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsySuper *s = super_of(self);
    if (s->obj_type && strcmp(name->data, "__class__") != 0) {
        AsyValue v = lookup_after(vm, s->obj_type, s->type, name);
        if (!ASY_IS_UNDEF(v)) {
            AsyType *vt = asy_type_of(vm, v);
            if (!asy_type_has_descr_get(vt)) return v;
            bool of_class = is_type_obj(vm, s->obj) && ASY_AS_OBJ(s->obj) == (AsyObj *)s->obj_type;
            return vt->descr_get(vm, v, of_class ? ASY_UNDEF : s->obj, s->obj_type);
        }
    }
    const char *n = name->data;
    if (strcmp(n, "__thisclass__") == 0) return ASY_OBJ(s->type);
    if (strcmp(n, "__self__") == 0) return ASY_IS_UNDEF(s->obj) ? ASY_NONE : s->obj;
    if (strcmp(n, "__self_class__") == 0) return s->obj_type ? ASY_OBJ(s->obj_type) : ASY_NONE;
    return asy_object_generic_getattr(vm, self, name, true);
}

static AsyValue super_repr(AsyVM *vm, AsyValue self) {
    AsySuper *s = super_of(self);
    const char *tn = s->type->qualname ? s->type->qualname->data : s->type->name;
    if (!s->obj_type) return ASY_OBJ(asy_str_printf(vm, "<super: <class '%s'>, NULL>", tn));
    return ASY_OBJ(asy_str_printf(vm, "<super: <class '%s'>, <%s object>>", tn, s->obj_type->name));
}

static void super_traverse(AsyVM *vm, AsyObj *o) {
    AsySuper *s = (AsySuper *)o;
    asy_gc_mark_obj(vm, (AsyObj *)s->type);
    asy_gc_mark_value(vm, s->obj);
    asy_gc_mark_obj(vm, (AsyObj *)s->obj_type);
}

/* ---- types.GenericAlias: list[int], dict[str, int] (annotations) ---- */

typedef struct {
    AsyObj hdr;
    AsyValue origin; /* the class subscripted                   */
    AsyValue args;   /* a tuple of the parameters               */
} AsyGenericAlias;

static AsyGenericAlias *alias_of(AsyValue v) { return (AsyGenericAlias *)ASY_AS_OBJ(v); }

/* Built-in classes that accept parameters (CPython's __class_getitem__ ones). */
static bool is_generic_class(AsyVM *vm, AsyType *t) {
    static const AsyTypeId ids[] = {ASY_TYPE_list,      ASY_TYPE_dict,      ASY_TYPE_tuple,
                                    ASY_TYPE_set,       ASY_TYPE_frozenset, ASY_TYPE_type,
                                    ASY_TYPE_enumerate, ASY_TYPE_reversed};
    AsyType *b = asy_type_builtin_base(t);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (b == vm->types[ids[i]]) return true;
    return false;
}

static AsyValue alias_new(AsyVM *vm, AsyValue origin, AsyValue params) {
    AsyGenericAlias *a = asy_gc_alloc(vm, ASY_TYPE(vm, GenericAlias), sizeof *a);
    a->origin = origin;
    if (asy_isinstance(vm, params, ASY_TYPE(vm, tuple)))
        a->args = params;
    else
        a->args = ASY_OBJ(asy_tuple_from_array(vm, &params, 1));
    return ASY_OBJ(a);
}

/* cls[params] on a class: its __class_getitem__, or a GenericAlias for the built-ins. */
static AsyValue type_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyType *t = (AsyType *)ASY_AS_OBJ(self);
    AsyValue f = asy_type_lookup(t, ASY_S(vm, __class_getitem__));
    if (!ASY_IS_UNDEF(f)) {
        AsyType *ft = asy_type_of(vm, f);
        if (asy_type_has_descr_get(ft)) f = ft->descr_get(vm, f, ASY_UNDEF, t);
        if (ASY_IS_ERR(f)) return f;
        asy_root_push(vm, f);
        AsyValue r = asy_call(vm, f, 1, &key, NULL);
        asy_root_pop(vm, 1);
        return r;
    }
    if (is_generic_class(vm, t)) return alias_new(vm, self, key);
    return asy_raise(vm, ASY_EXC_TypeError, "type '%s' is not subscriptable", t->name);
}

/* How a parameter shows in the alias's repr: classes by qualified name, ... as is. */
static bool alias_param_repr(AsyVM *vm, AsyStrBuf *b, AsyValue v) {
    if (ASY_IS_OBJ(v) && ASY_AS_OBJ(v) == vm->ellipsis) {
        asy_strbuf_append_cstr(vm, b, "...");
        return true;
    }
    if (is_type_obj(vm, v)) {
        AsyType *t = (AsyType *)ASY_AS_OBJ(v);
        const char *q = t->qualname ? t->qualname->data : t->name;
        if (t->module && strcmp(t->module->data, "builtins") != 0)
            asy_strbuf_printf(vm, b, "%s.%s", t->module->data, q);
        else
            asy_strbuf_append_cstr(vm, b, q);
        return true;
    }
    AsyValue r = asy_repr(vm, v);
    if (ASY_IS_ERR(r)) return false;
    asy_strbuf_append_str(vm, b, (AsyStr *)ASY_AS_OBJ(r));
    return true;
}

static AsyValue alias_repr(AsyVM *vm, AsyValue self) {
    AsyGenericAlias *a = alias_of(self);
    AsyTuple *args = (AsyTuple *)ASY_AS_OBJ(a->args);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    bool ok = alias_param_repr(vm, &b, a->origin);
    asy_strbuf_append_cstr(vm, &b, "[");
    for (int64_t i = 0; ok && i < args->len; i++) {
        if (i > 0) asy_strbuf_append_cstr(vm, &b, ", ");
        ok = alias_param_repr(vm, &b, args->items[i]);
    }
    if (ok && args->len == 0) asy_strbuf_append_cstr(vm, &b, "()");
    asy_strbuf_append_cstr(vm, &b, "]");
    if (!ok) {
        asy_strbuf_free(&b);
        return ASY_ERR;
    }
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue alias_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyGenericAlias *a = alias_of(self);
    if (strcmp(name->data, "__origin__") == 0) return a->origin;
    if (strcmp(name->data, "__args__") == 0) return a->args;
    if (strcmp(name->data, "__class__") == 0) return ASY_OBJ(ASY_TYPE(vm, GenericAlias));
    return asy_getattr(vm, a->origin, name);
}

static AsyValue alias_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    return asy_call(vm, alias_of(self)->origin, argc, argv, kw);
}

static AsyValue alias_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if ((op != ASY_CMP_EQ && op != ASY_CMP_NE) || !ASY_IS_OBJ(other) ||
        ASY_AS_OBJ(other)->type != ASY_TYPE(vm, GenericAlias))
        return ASY_OBJ(vm->not_implemented);
    AsyGenericAlias *a = alias_of(self), *b = alias_of(other);
    int eq = asy_value_is(a->origin, b->origin) ? asy_eq(vm, a->args, b->args) : 0;
    if (eq < 0) return ASY_ERR;
    return ASY_BOOL(op == ASY_CMP_EQ ? eq : !eq);
}

static bool alias_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    int64_t h1, h2;
    if (!asy_hash(vm, alias_of(self)->origin, &h1) || !asy_hash(vm, alias_of(self)->args, &h2))
        return false;
    *out = (h1 ^ h2) == -1 ? -2 : h1 ^ h2;
    return true;
}

static AsyValue alias_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    ASY_UNUSED(key);
    return asy_raise(vm, ASY_EXC_TypeError, "%R is not a generic class", self);
}

static void alias_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_value(vm, ((AsyGenericAlias *)o)->origin);
    asy_gc_mark_value(vm, ((AsyGenericAlias *)o)->args);
}

/* ---- the types ---- */

static AsyType *make_wrapper_type(AsyVM *vm, const char *name) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyMethodWrapper));
    t->new_ = wrapper_new;
    t->traverse = wrapper_traverse;
    t->getattr = wrapper_getattr;
    t->repr = wrapper_repr;
    return t;
}

/* Runs inside asy_object_init_types (before str and dict exist: the methods are deferred). */
void asy_class_init_types(AsyVM *vm) {
    AsyType *p = asy_type_new_builtin(vm, "property", ASY_TYPE(vm, object), sizeof(AsyProperty));
    p->new_ = prop_new;
    p->descr_get = prop_get;
    p->descr_set = prop_set;
    p->getattr = prop_getattr;
    p->traverse = prop_traverse;
    asy_type_add_methods(vm, p, property_methods);
    asy_type_add_methods(vm, p, asy_descriptor_methods);
    vm->types[ASY_TYPE_property] = p;

    AsyType *cm = make_wrapper_type(vm, "classmethod");
    cm->descr_get = classmethod_get;
    vm->types[ASY_TYPE_classmethod] = cm;

    AsyType *sm = make_wrapper_type(vm, "staticmethod");
    sm->descr_get = staticmethod_get;
    sm->call = staticmethod_call;
    vm->types[ASY_TYPE_staticmethod] = sm;

    AsyType *su = asy_type_new_builtin(vm, "super", ASY_TYPE(vm, object), sizeof(AsySuper));
    su->new_ = super_new;
    su->getattr = super_getattr;
    su->repr = super_repr;
    su->traverse = super_traverse;
    vm->types[ASY_TYPE_super] = su;

    AsyType *ga =
        asy_type_new_builtin(vm, "GenericAlias", ASY_TYPE(vm, object), sizeof(AsyGenericAlias));
    ga->repr = alias_repr;
    ga->getattr = alias_getattr;
    ga->call = alias_call;
    ga->richcompare = alias_richcompare;
    ga->hash = alias_hash;
    ga->getitem = alias_getitem;
    ga->traverse = alias_traverse;
    vm->types[ASY_TYPE_GenericAlias] = ga;
    ASY_TYPE(vm, type)->getitem = type_getitem;

    asy_type_ready(vm, ga);
    asy_type_ready(vm, p);
    asy_type_ready(vm, cm);
    asy_type_ready(vm, sm);
    asy_type_ready(vm, su);
}
