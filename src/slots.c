/* slots.c - __slots__: a class that names its instances' attributes in __slots__ gets a
 * member descriptor per name (`<member 'x' of 'P' objects>`), and when every user class of
 * its MRO has __slots__ (without '__dict__'), its instances have no __dict__: setting any
 * other attribute is AttributeError, as in CPython (ASY_TYPE_SLOTS).
 *
 * The values live in a dict of their own, its pointer the last word of the instance
 * (ASY_TYPE_SLOT_STORE, added by the first class with slots and inherited with the layout);
 * a __dict__ the instance may also have never shows them. */
#include "common.h"

#include <string.h>

#include "slots.h"
#include "unicode.h"

typedef struct {
    AsyObj hdr;
    AsyStr *name;
    AsyType *owner;
} AsyMember;

static AsyMember *member_of(AsyValue v) { return (AsyMember *)ASY_AS_OBJ(v); }

static AsyValue member_repr(AsyVM *vm, AsyValue self) {
    AsyMember *m = member_of(self);
    return ASY_OBJ(asy_str_printf(vm, "<member '%s' of '%s' objects>", m->name->data,
                                  m->owner->name));
}

/* The pointer to the dict of obj's slot values (the last word of an instance whose class
 * has the store), or NULL with TypeError when obj is not an instance of m's class. */
static AsyDict **member_store(AsyVM *vm, AsyMember *m, AsyValue obj) {
    AsyType *t = asy_type_of(vm, obj);
    if (!asy_isinstance(vm, obj, m->owner) || !(t->tflags & ASY_TYPE_SLOT_STORE) ||
        t->basicsize != m->owner->basicsize) {
        asy_raise(vm, ASY_EXC_TypeError,
                  "descriptor '%s' for '%s' objects doesn't apply to a '%s' object",
                  m->name->data, m->owner->name, asy_type_name(vm, obj));
        return NULL;
    }
    return asy_slot_store(ASY_AS_OBJ(obj));
}

static AsyValue member_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    ASY_UNUSED(owner);
    if (ASY_IS_UNDEF(obj)) return descr;
    AsyMember *m = member_of(descr);
    AsyDict **dp = member_store(vm, m, obj);
    if (!dp) return ASY_ERR;
    AsyValue v = *dp ? asy_dict_get_str(vm, *dp, m->name) : ASY_UNDEF;
    if (!ASY_IS_UNDEF(v)) return v;
    return asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute '%s'",
                     asy_type_name(vm, obj), m->name->data);
}

static int member_set(AsyVM *vm, AsyValue descr, AsyValue obj, AsyValue v) {
    AsyMember *m = member_of(descr);
    AsyDict **dp = member_store(vm, m, obj);
    if (!dp) return -1;
    if (!*dp) *dp = asy_dict_new(vm);
    if (!ASY_IS_UNDEF(v)) return asy_dict_set_str(vm, *dp, m->name, v);
    int r = asy_dict_del(vm, *dp, ASY_OBJ(m->name));
    if (r == 0) asy_raise(vm, ASY_EXC_AttributeError, "%s", m->name->data);
    return r > 0 ? 0 : -1;
}

static void member_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_obj(vm, (AsyObj *)((AsyMember *)o)->name);
    asy_gc_mark_obj(vm, (AsyObj *)((AsyMember *)o)->owner);
}

/* member_descriptor, made the first time a class has __slots__. */
static AsyType *member_type(AsyVM *vm) {
    if (ASY_TYPE(vm, member_descriptor)) return ASY_TYPE(vm, member_descriptor);
    AsyType *t = asy_type_new_builtin(vm, "member_descriptor", ASY_TYPE(vm, object),
                                      sizeof(AsyMember));
    t->tflags &= ~ASY_TYPE_BASETYPE;
    t->repr = member_repr;
    t->descr_get = member_get;
    t->descr_set = member_set;
    t->traverse = member_traverse;
    asy_type_add_methods(vm, t, asy_descriptor_methods);
    asy_type_ready(vm, t);
    ASY_TYPE(vm, member_descriptor) = t;
    return t;
}

/* The names __slots__ holds (a str is one name), in a new list; NULL with TypeError. */
static AsyList *slot_names(AsyVM *vm, AsyValue slots) {
    AsyList *names = asy_list_new(vm, 0);
    asy_root_push(vm, ASY_OBJ(names));
    bool ok = true;
    if (asy_isinstance(vm, slots, ASY_TYPE(vm, str))) {
        ok = asy_list_append(vm, names, slots) >= 0;
    } else {
        AsyValue it = asy_iter(vm, slots);
        ok = !ASY_IS_ERR(it);
        if (ok) asy_root_push(vm, it);
        for (AsyValue v; ok && !ASY_IS_UNDEF(v = asy_next(vm, it));)
            ok = !ASY_IS_ERR(v) && asy_list_append(vm, names, v) >= 0;
        if (!ASY_IS_ERR(it)) asy_root_pop(vm, 1);
    }
    for (int64_t i = 0; ok && i < names->len; i++) {
        AsyValue n = names->items[i];
        if (!asy_isinstance(vm, n, ASY_TYPE(vm, str))) {
            asy_raise(vm, ASY_EXC_TypeError, "__slots__ items must be strings, not '%s'",
                      asy_type_name(vm, n));
            ok = false;
        } else if (!asy_str_is_identifier((AsyStr *)ASY_AS_OBJ(n))) {
            asy_raise(vm, ASY_EXC_TypeError, "__slots__ must be identifiers");
            ok = false;
        }
    }
    asy_root_pop(vm, 1);
    return ok ? names : NULL;
}

/* Does every user class in t's MRO but t have __slots__ without a __dict__? */
static bool bases_have_no_dict(AsyType *t) {
    for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it))
        if (it.t != t && (it.t->tflags & ASY_TYPE_HEAP) && !(it.t->tflags & ASY_TYPE_SLOTS))
            return false;
    return true;
}

/* Gives t's instances the store of slot values, unless its layout base has one: false with
 * CPython's TypeError where asy's layout (or CPython's) has no room for it. */
static bool add_store(AsyVM *vm, AsyType *t) {
    AsyType *b = asy_type_builtin_base(t);
    if ((t->tflags & ASY_TYPE_DICT_AT_END) || b == ASY_TYPE(vm, int) || b == ASY_TYPE(vm, bool) ||
        asy_is_subtype(b, ASY_TYPE(vm, type))) {
        asy_raise(vm, ASY_EXC_TypeError, "nonempty __slots__ not supported for subtype of '%s'",
                  b->name);
        return false;
    }
    for (int64_t i = 0; t->bases && i < t->bases->len; i++) {
        AsyType *o = (AsyType *)ASY_AS_OBJ(t->bases->items[i]);
        if (o != t->base && (o->tflags & ASY_TYPE_SLOT_STORE)) {
            asy_raise(vm, ASY_EXC_TypeError, "multiple bases have instance lay-out conflict");
            return false;
        }
    }
    if (t->tflags & ASY_TYPE_SLOT_STORE) return true; /* inherited with the layout */
    t->basicsize += sizeof(AsyDict *);
    t->tflags |= ASY_TYPE_SLOT_STORE;
    return true;
}

bool asy_slots_setup(AsyVM *vm, AsyType *t, AsyDict *ns) {
    AsyValue slots = asy_dict_get_str(vm, ns, ASY_S(vm, __slots__));
    if (ASY_IS_UNDEF(slots) || (t->tflags & ASY_TYPE_EXCEPTION)) return true;
    AsyList *names = slot_names(vm, slots);
    if (!names) return false;
    asy_root_push(vm, ASY_OBJ(names));
    bool has_dict = false, stored = false, ok = true;
    AsyType *mt = member_type(vm);
    for (int64_t i = 0; ok && i < names->len; i++) {
        AsyStr *name = (AsyStr *)ASY_AS_OBJ(names->items[i]);
        if (strcmp(name->data, "__dict__") == 0) {
            has_dict = true;
            continue;
        }
        if (!ASY_IS_UNDEF(asy_dict_get_str(vm, ns, name))) {
            asy_raise(vm, ASY_EXC_ValueError, "'%s' in __slots__ conflicts with class variable",
                      name->data);
            ok = false;
            break;
        }
        if (!stored && !(ok = stored = add_store(vm, t))) break;
        AsyMember *m = asy_gc_alloc(vm, mt, sizeof(AsyMember));
        m->name = asy_str_intern(vm, name->data, name->len);
        m->owner = t;
        ok = asy_dict_set_str(vm, ns, m->name, ASY_OBJ(m)) >= 0;
    }
    asy_root_pop(vm, 1);
    if (ok && !has_dict && bases_have_no_dict(t))
        t->tflags |= ASY_TYPE_SLOTS;
    return ok;
}
