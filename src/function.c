/* function.c - the callable objects that are not classes: asy functions (`function`),
 * built-in functions and methods (`builtin_function_or_method`), bound methods
 * (`method`), plus the `cell` and `code` objects functions are made of.
 *
 * Calling an asy function runs it in the VM (vm.c); this file owns the objects, their
 * attributes, reprs, binding (descr_get) and the native call path. */
#include "function.h"

#include <stddef.h>
#include <string.h>

#include "fiber.h"

static bool name_is(AsyStr *a, AsyStr *b) { return a == b || asy_str_equal(a, b); }
static bool name_is_c(AsyStr *a, const char *c) {
    return a->len == strlen(c) && memcmp(a->data, c, a->len) == 0;
}

/* Attributes not handled by a type's own getattr: the generic lookup of object.c. */
static AsyValue generic_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

/* ---- code ---- */

AsyCode *asy_code_new(AsyVM *vm) {
    AsyCode *c = asy_gc_alloc(vm, ASY_TYPE(vm, code), sizeof(AsyCode));
    if (c) {
        c->firstline = 1;
        c->fast_argc = -1;
    }
    return c;
}

static void code_traverse(AsyVM *vm, AsyObj *o) {
    AsyCode *c = (AsyCode *)o;
    for (int32_t i = 0; i < c->nconsts; i++) asy_gc_mark_value(vm, c->consts[i]);
    for (int32_t i = 0; i < c->nnames; i++) asy_gc_mark_obj(vm, (AsyObj *)c->names[i]);
    for (int32_t i = 0; i < c->nlocals; i++) asy_gc_mark_obj(vm, (AsyObj *)c->varnames[i]);
    for (int32_t i = 0; i < c->ncells; i++) asy_gc_mark_obj(vm, (AsyObj *)c->cellnames[i]);
    for (int32_t i = 0; i < c->nfree; i++) asy_gc_mark_obj(vm, (AsyObj *)c->freenames[i]);
    asy_gc_mark_obj(vm, (AsyObj *)c->name);
    asy_gc_mark_obj(vm, (AsyObj *)c->qualname);
    asy_gc_mark_obj(vm, (AsyObj *)c->filename);
    /* A cached globals dict stays alive, so a dict at the same address can never pass
     * for it (stale values are never read: the versions no longer match). */
    if (c->gcache)
        for (size_t i = 0; i < asy_code_cache_len(c); i++)
            asy_gc_mark_obj(vm, (AsyObj *)c->gcache[i].globals);
}

static void code_finalize(AsyVM *vm, AsyObj *o) {
    AsyCode *c = (AsyCode *)o;
    asy_mem_free(vm, c->code, sizeof(uint32_t) * (size_t)c->ncode);
    asy_mem_free(vm, c->locs, sizeof(AsyLoc) * (size_t)c->ncode);
    asy_mem_free(vm, c->consts, sizeof(AsyValue) * (size_t)c->nconsts);
    asy_mem_free(vm, c->names, sizeof(AsyStr *) * (size_t)c->nnames);
    asy_mem_free(vm, c->varnames, sizeof(AsyStr *) * (size_t)c->nlocals);
    asy_mem_free(vm, c->cellnames, sizeof(AsyStr *) * (size_t)c->ncells);
    asy_mem_free(vm, c->cell2arg, sizeof(int32_t) * (size_t)c->ncells);
    asy_mem_free(vm, c->freenames, sizeof(AsyStr *) * (size_t)c->nfree);
    asy_mem_free(vm, c->gcache, sizeof(AsyGlobalCache) * asy_code_cache_len(c));
}

static AsyValue code_repr(AsyVM *vm, AsyValue self) {
    AsyCode *c = (AsyCode *)ASY_AS_OBJ(self);
    return ASY_OBJ(asy_str_printf(vm, "<code object %s at %p, file \"%s\", line %d>",
                                  c->name ? c->name->data : "?", (void *)c,
                                  c->filename ? c->filename->data : "?", (int)c->firstline));
}

static AsyValue str_tuple(AsyVM *vm, AsyStr **items, int32_t n) {
    AsyTuple *t = asy_tuple_new(vm, n);
    if (!t) return ASY_ERR;
    for (int32_t i = 0; i < n; i++) t->items[i] = ASY_OBJ(items[i]);
    return ASY_OBJ(t);
}

static AsyValue code_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyCode *c = (AsyCode *)ASY_AS_OBJ(self);
    if (name_is_c(name, "co_name")) return ASY_OBJ(c->name);
    if (name_is_c(name, "co_qualname")) return ASY_OBJ(c->qualname);
    if (name_is_c(name, "co_filename")) return ASY_OBJ(c->filename);
    if (name_is_c(name, "co_firstlineno")) return ASY_INT(c->firstline);
    if (name_is_c(name, "co_argcount")) return ASY_INT(c->argcount);
    if (name_is_c(name, "co_posonlyargcount")) return ASY_INT(c->posonlycount);
    if (name_is_c(name, "co_kwonlyargcount")) return ASY_INT(c->kwonlycount);
    if (name_is_c(name, "co_nlocals")) return ASY_INT(c->nlocals);
    if (name_is_c(name, "co_varnames")) return str_tuple(vm, c->varnames, c->nlocals);
    if (name_is_c(name, "co_cellvars")) return str_tuple(vm, c->cellnames, c->ncells);
    if (name_is_c(name, "co_freevars")) return str_tuple(vm, c->freenames, c->nfree);
    if (name_is_c(name, "co_names")) return str_tuple(vm, c->names, c->nnames);
    if (name_is_c(name, "co_flags")) return ASY_INT(c->cflags);
    if (name_is_c(name, "co_consts")) {
        AsyTuple *t = asy_tuple_from_array(vm, c->consts, c->nconsts);
        return t ? ASY_OBJ(t) : ASY_ERR;
    }
    return generic_getattr(vm, self, name);
}

/* ---- cell ---- */

AsyCell *asy_cell_new(AsyVM *vm, AsyValue v) {
    AsyCell *c = asy_gc_alloc(vm, ASY_TYPE(vm, cell), sizeof(AsyCell));
    if (c) c->value = v;
    return c;
}

static void cell_traverse(AsyVM *vm, AsyObj *o) { asy_gc_mark_value(vm, ((AsyCell *)o)->value); }

static AsyValue cell_repr(AsyVM *vm, AsyValue self) {
    AsyCell *c = (AsyCell *)ASY_AS_OBJ(self);
    if (ASY_IS_UNDEF(c->value)) return ASY_OBJ(asy_str_printf(vm, "<cell at %p: empty>", (void *)c));
    void *p = ASY_IS_OBJ(c->value) ? (void *)ASY_AS_OBJ(c->value) : (void *)c;
    return ASY_OBJ(asy_str_printf(vm, "<cell at %p: %s object at %p>", (void *)c,
                                  asy_type_name(vm, c->value), p));
}

static AsyValue cell_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyCell *c = (AsyCell *)ASY_AS_OBJ(self);
    if (name_is_c(name, "cell_contents")) {
        if (ASY_IS_UNDEF(c->value)) return asy_raise(vm, ASY_EXC_ValueError, "Cell is empty");
        return c->value;
    }
    return generic_getattr(vm, self, name);
}

/* ---- function ---- */

AsyFunction *asy_function_new(AsyVM *vm, AsyCode *code, AsyDict *globals) {
    AsyFunction *f = asy_gc_alloc(vm, ASY_TYPE(vm, function), sizeof(AsyFunction));
    if (!f) return NULL;
    f->code = code;
    f->globals = globals;
    f->name = code->name;
    f->qualname = code->qualname ? code->qualname : code->name;
    f->doc = ASY_NONE;
    if ((code->cflags & ASY_CODE_DOCSTRING) && code->nconsts > 0) f->doc = code->consts[0];
    f->module = ASY_NONE;
    if (globals) {
        AsyValue m = asy_dict_get_str(vm, globals, ASY_S(vm, __name__));
        if (!ASY_IS_UNDEF(m)) f->module = m;
    }
    return f;
}

static void function_traverse(AsyVM *vm, AsyObj *o) {
    AsyFunction *f = (AsyFunction *)o;
    asy_gc_mark_obj(vm, (AsyObj *)f->code);
    asy_gc_mark_obj(vm, (AsyObj *)f->globals);
    asy_gc_mark_obj(vm, (AsyObj *)f->defaults);
    asy_gc_mark_obj(vm, (AsyObj *)f->kwdefaults);
    asy_gc_mark_obj(vm, (AsyObj *)f->closure);
    asy_gc_mark_obj(vm, (AsyObj *)f->name);
    asy_gc_mark_obj(vm, (AsyObj *)f->qualname);
    asy_gc_mark_obj(vm, (AsyObj *)f->dict);
    asy_gc_mark_value(vm, f->doc);
    asy_gc_mark_value(vm, f->module);
}

static AsyValue function_repr(AsyVM *vm, AsyValue self) {
    AsyFunction *f = (AsyFunction *)ASY_AS_OBJ(self);
    return ASY_OBJ(asy_str_printf(vm, "<function %s at %p>", f->qualname->data, (void *)f));
}

static AsyValue obj_or_none(AsyObj *o) { return o ? ASY_OBJ(o) : ASY_NONE; }

static AsyValue function_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyFunction *f = (AsyFunction *)ASY_AS_OBJ(self);
    if (name_is(name, ASY_S(vm, __name__))) return ASY_OBJ(f->name);
    if (name_is(name, ASY_S(vm, __qualname__))) return ASY_OBJ(f->qualname);
    if (name_is(name, ASY_S(vm, __doc__))) return f->doc;
    if (name_is(name, ASY_S(vm, __module__))) return f->module;
    if (name_is(name, ASY_S(vm, __dict__))) {
        if (!f->dict && !(f->dict = asy_dict_new(vm))) return ASY_ERR;
        return ASY_OBJ(f->dict);
    }
    if (name_is_c(name, "__defaults__")) return obj_or_none((AsyObj *)f->defaults);
    if (name_is_c(name, "__kwdefaults__")) return obj_or_none((AsyObj *)f->kwdefaults);
    if (name_is_c(name, "__code__")) return ASY_OBJ(f->code);
    if (name_is_c(name, "__globals__")) return ASY_OBJ(f->globals);
    if (name_is_c(name, "__closure__")) return obj_or_none((AsyObj *)f->closure);
    if (name_is(name, ASY_S(vm, __annotations__))) {
        AsyDict *d = asy_dict_new(vm);
        return d ? ASY_OBJ(d) : ASY_ERR;
    }
    if (f->dict) {
        AsyValue v = asy_dict_get_str(vm, f->dict, name);
        if (!ASY_IS_UNDEF(v)) return v;
    }
    return generic_getattr(vm, self, name);
}

static int function_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyFunction *f = (AsyFunction *)ASY_AS_OBJ(self);
    bool del = ASY_IS_UNDEF(v);
    bool is_str = ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, str);
    if (name_is(name, ASY_S(vm, __name__)) || name_is(name, ASY_S(vm, __qualname__))) {
        if (!is_str) {
            asy_raise(vm, ASY_EXC_TypeError, "%s must be set to a string object",
                      name->data);
            return -1;
        }
        if (name_is(name, ASY_S(vm, __name__))) f->name = (AsyStr *)ASY_AS_OBJ(v);
        else f->qualname = (AsyStr *)ASY_AS_OBJ(v);
        return 0;
    }
    if (name_is(name, ASY_S(vm, __doc__))) { f->doc = del ? ASY_NONE : v; return 0; }
    if (name_is(name, ASY_S(vm, __module__))) { f->module = del ? ASY_NONE : v; return 0; }
    if (name_is_c(name, "__defaults__")) {
        if (del || ASY_IS_NONE(v)) { f->defaults = NULL; return 0; }
        if (!ASY_IS_OBJ(v) || ASY_AS_OBJ(v)->type != ASY_TYPE(vm, tuple)) {
            asy_raise(vm, ASY_EXC_TypeError, "__defaults__ must be set to a tuple object");
            return -1;
        }
        f->defaults = (AsyTuple *)ASY_AS_OBJ(v);
        return 0;
    }
    if (name_is_c(name, "__kwdefaults__")) {
        if (del || ASY_IS_NONE(v)) { f->kwdefaults = NULL; return 0; }
        if (!ASY_IS_OBJ(v) || ASY_AS_OBJ(v)->type != ASY_TYPE(vm, dict)) {
            asy_raise(vm, ASY_EXC_TypeError, "__kwdefaults__ must be set to a dict object");
            return -1;
        }
        f->kwdefaults = (AsyDict *)ASY_AS_OBJ(v);
        return 0;
    }
    if (!f->dict && !(f->dict = asy_dict_new(vm))) return -1;
    if (del) {
        int r = asy_dict_del(vm, f->dict, ASY_OBJ(name));
        if (r == 0) asy_raise_attribute_error(vm, self, name);
        return r == 1 ? 0 : -1;
    }
    return asy_dict_set_str(vm, f->dict, name, v);
}

static AsyValue function_descr_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    ASY_UNUSED(owner);
    if (ASY_IS_UNDEF(obj)) return descr;
    return asy_bound_method_new(vm, obj, descr);
}

static AsyValue function_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    return asy_call(vm, self, argc, argv, kw);
}

/* ---- built-in functions and methods ---- */

AsyValue asy_native_new(AsyVM *vm, const AsyMethodDef *def, AsyValue self, AsyType *owner) {
    AsyNative *n = asy_gc_alloc(vm, ASY_TYPE(vm, builtin_function_or_method), sizeof(AsyNative));
    if (!n) return ASY_ERR;
    n->def = def;
    n->self = self;
    n->owner = owner;
    return ASY_OBJ(n);
}

AsyStr *asy_native_qualname(AsyVM *vm, AsyNative *n) {
    if (n->qualname) return n->qualname;
    if (n->owner && n->owner->name)
        n->qualname = asy_str_printf(vm, "%s.%s", asy_type_short_name(n->owner), n->def->name);
    else
        n->qualname = asy_str_from_cstr(vm, n->def->name);
    return n->qualname;
}

static void native_traverse(AsyVM *vm, AsyObj *o) {
    AsyNative *n = (AsyNative *)o;
    asy_gc_mark_value(vm, n->self);
    asy_gc_mark_obj(vm, (AsyObj *)n->owner);
    asy_gc_mark_obj(vm, (AsyObj *)n->qualname);
}

/* An unbound method descriptor (`list.append`) called directly: argv[0] is the receiver. */
static bool native_check_receiver(AsyVM *vm, AsyNative *n, int argc, AsyValue *argv) {
    bool slot = n->def->flags & ASY_METH_SLOT; /* CPython's wrapperobject.c words */
    if (argc == 0) {
        AsyStr *q = asy_native_qualname(vm, n);
        if (slot)
            asy_raise(vm, ASY_EXC_TypeError, "descriptor '%s' of '%s' object needs an argument",
                      n->def->name, n->owner->name);
        else if (q)
            asy_raise(vm, ASY_EXC_TypeError, "unbound method %U() needs an argument", q);
        return false;
    }
    if (!asy_isinstance(vm, argv[0], n->owner)) {
        if (slot)
            asy_raise(vm, ASY_EXC_TypeError, "descriptor '%s' requires a '%s' object but "
                      "received a '%s'", n->def->name, n->owner->name, asy_type_name(vm, argv[0]));
        else
            asy_raise(vm, ASY_EXC_TypeError, "descriptor '%s' for '%s' objects doesn't apply "
                      "to a '%s' object", n->def->name, n->owner->name, asy_type_name(vm, argv[0]));
        return false;
    }
    return true;
}

/* Most calls pass a handful of arguments: prepend self in a small C array, else the heap. */
#define NATIVE_SMALL_ARGS 8

AsyValue asy_native_call(AsyVM *vm, AsyNative *n, int argc, AsyValue *argv, AsyDict *kw) {
    const AsyMethodDef *def = n->def;
    if ((def->flags & ASY_METH_NOKW) && kw && kw->len > 0 &&
        !asy_check_nokw(vm, def->name, kw))
        return ASY_ERR;
    bool bound = !ASY_IS_UNDEF(n->self) && !(def->flags & ASY_METH_STATIC);
    if (!bound) {
        if (n->owner && !(def->flags & (ASY_METH_STATIC | ASY_METH_CLASS)) &&
            !native_check_receiver(vm, n, argc, argv))
            return ASY_ERR;
        return def->fn(vm, argc, argv, kw);
    }
    AsyValue small[NATIVE_SMALL_ARGS + 1];
    AsyValue *args = small;
    size_t bytes = sizeof(AsyValue) * ((size_t)argc + 1);
    if (argc >= NATIVE_SMALL_ARGS && !(args = asy_mem_alloc(vm, bytes))) return ASY_ERR;
    args[0] = n->self;
    if (argc > 0) memcpy(args + 1, argv, sizeof(AsyValue) * (size_t)argc);
    AsyValue r = def->fn(vm, argc + 1, args, kw);
    if (args != small) asy_mem_free(vm, args, bytes);
    return r;
}

static AsyValue native_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    return asy_native_call(vm, (AsyNative *)ASY_AS_OBJ(self), argc, argv, kw);
}

static AsyValue native_repr(AsyVM *vm, AsyValue self) {
    AsyNative *n = (AsyNative *)ASY_AS_OBJ(self);
    const char *name = n->def->name;
    bool slot = n->def->flags & ASY_METH_SLOT;
    if (ASY_IS_UNDEF(n->self) || (ASY_IS_OBJ(n->self) &&
                                  ASY_AS_OBJ(n->self)->type == ASY_TYPE(vm, module))) {
        if (n->owner && !(n->def->flags & ASY_METH_STATIC))
            return ASY_OBJ(asy_str_printf(vm, "<%s '%s' of '%s' objects>",
                                          slot ? "slot wrapper" : "method", name,
                                          n->owner->name));
        return ASY_OBJ(asy_str_printf(vm, "<built-in function %s>", name));
    }
    void *p = ASY_IS_OBJ(n->self) ? (void *)ASY_AS_OBJ(n->self) : (void *)n;
    return ASY_OBJ(asy_str_printf(vm, slot ? "<method-wrapper '%s' of %s object at %p>"
                                           : "<built-in method %s of %s object at %p>",
                                  name, asy_type_name(vm, n->self), p));
}

/* CPython's docstring of a method ("str.split") or of a function of builtins ("len": the
 * native is the one builtins holds, not a module's function of the same name). */
static const char *native_cpython_doc(AsyVM *vm, AsyNative *n) {
    if (n->owner) return asy_doc_find(asy_type_short_name(n->owner), n->def->name);
    AsyValue b = asy_dict_get_cstr(vm, vm->builtins->dict, n->def->name);
    if (!ASY_IS_OBJ(b) || ASY_AS_OBJ(b)->type != n->hdr.type ||
        ((AsyNative *)ASY_AS_OBJ(b))->def != n->def)
        return NULL;
    return asy_doc_find(NULL, n->def->name);
}

static AsyValue native_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyNative *n = (AsyNative *)ASY_AS_OBJ(self);
    if (name_is(name, ASY_S(vm, __name__))) return ASY_OBJ(asy_str_from_cstr(vm, n->def->name));
    if (name_is(name, ASY_S(vm, __qualname__))) {
        AsyStr *q = asy_native_qualname(vm, n);
        return q ? ASY_OBJ(q) : ASY_ERR;
    }
    if (name_is(name, ASY_S(vm, __doc__))) {
        const char *doc = native_cpython_doc(vm, n);
        if (!doc) doc = n->def->doc;
        return doc ? ASY_OBJ(asy_str_from_cstr(vm, doc)) : ASY_NONE;
    }
    if (name_is_c(name, "__self__")) {
        if (ASY_IS_UNDEF(n->self)) return ASY_NONE;
        return n->self;
    }
    if (name_is(name, ASY_S(vm, __module__))) {
        if (n->owner) return ASY_NONE;
        return ASY_OBJ(asy_str_from_cstr(vm, "builtins"));
    }
    return generic_getattr(vm, self, name);
}

/* d bound to self: the descriptor's qualname is the bound method's too, so binding (once
 * per `obj.method` of a built-in type, and per `async with` on one) formats nothing. */
static AsyValue native_bind(AsyVM *vm, AsyNative *d, AsyValue self) {
    AsyNative *n = asy_gc_alloc(vm, ASY_TYPE(vm, builtin_function_or_method), sizeof(AsyNative));
    if (!n) return ASY_ERR;
    n->def = d->def;
    n->self = self;
    n->owner = d->owner;
    n->qualname = d->qualname;
    return ASY_OBJ(n);
}

/* A method descriptor found on a class binds to the instance (or, for classmethods, to the
 * class); module-level functions and bound natives never rebind. */
static AsyValue native_descr_get(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner) {
    AsyNative *n = (AsyNative *)ASY_AS_OBJ(descr);
    if (!n->owner || !ASY_IS_UNDEF(n->self) || (n->def->flags & ASY_METH_STATIC)) return descr;
    if (n->def->flags & ASY_METH_CLASS) {
        AsyType *t = owner ? owner : asy_type_of(vm, obj);
        return native_bind(vm, n, ASY_OBJ(t));
    }
    if (ASY_IS_UNDEF(obj)) return descr;
    return native_bind(vm, n, obj);
}

/* ---- bound methods ---- */

AsyValue asy_bound_method_new(AsyVM *vm, AsyValue self, AsyValue func) {
    AsyBoundMethod *m = asy_gc_alloc(vm, ASY_TYPE(vm, method), sizeof(AsyBoundMethod));
    if (!m) return ASY_ERR;
    m->self = self;
    m->func = func;
    return ASY_OBJ(m);
}

static void method_traverse(AsyVM *vm, AsyObj *o) {
    AsyBoundMethod *m = (AsyBoundMethod *)o;
    asy_gc_mark_value(vm, m->self);
    asy_gc_mark_value(vm, m->func);
}

static AsyValue method_call(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw) {
    /* asy_call binds asy functions without copying; other callables get self prepended. */
    return asy_call(vm, self, argc, argv, kw);
}

static AsyValue method_repr(AsyVM *vm, AsyValue self) {
    AsyBoundMethod *m = (AsyBoundMethod *)ASY_AS_OBJ(self);
    AsyValue qn = asy_getattr_opt(vm, m->func, ASY_S(vm, __qualname__));
    if (ASY_IS_ERR(qn)) return ASY_ERR;
    asy_root_push(vm, qn);
    AsyValue r = asy_repr(vm, m->self);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r)) return ASY_ERR;
    const char *q = ASY_IS_OBJ(qn) && ASY_AS_OBJ(qn)->type == ASY_TYPE(vm, str)
                        ? ((AsyStr *)ASY_AS_OBJ(qn))->data : "?";
    return ASY_OBJ(asy_str_printf(vm, "<bound method %s of %s>", q,
                                  ((AsyStr *)ASY_AS_OBJ(r))->data));
}

static AsyValue method_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyBoundMethod *m = (AsyBoundMethod *)ASY_AS_OBJ(self);
    if (name_is_c(name, "__self__")) return m->self;
    if (name_is_c(name, "__func__")) return m->func;
    if (name_is(name, ASY_S(vm, __class__))) return generic_getattr(vm, self, name);
    /* Everything else (__name__, __doc__, attributes set on the function) comes from the
     * underlying function, as in CPython. */
    return asy_getattr(vm, m->func, name);
}

static bool method_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    AsyBoundMethod *m = (AsyBoundMethod *)ASY_AS_OBJ(self);
    int64_t a, b;
    if (!asy_hash(vm, m->self, &a) || !asy_hash(vm, m->func, &b)) return false;
    *out = a ^ (b * 1000003);
    if (*out == -1) *out = -2;
    return true;
}

static AsyValue method_richcompare(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op) {
    if ((op != ASY_CMP_EQ && op != ASY_CMP_NE) || !asy_is_bound_method(vm, other))
        return ASY_OBJ(vm->not_implemented);
    AsyBoundMethod *a = (AsyBoundMethod *)ASY_AS_OBJ(self);
    AsyBoundMethod *b = (AsyBoundMethod *)ASY_AS_OBJ(other);
    bool eq = asy_value_is(a->self, b->self);
    if (eq) {
        int r = asy_eq(vm, a->func, b->func);
        if (r < 0) return ASY_ERR;
        eq = r == 1;
    }
    return ASY_BOOL(op == ASY_CMP_EQ ? eq : !eq);
}

/* ---- types ---- */

void asy_function_init(AsyVM *vm) {
    AsyType *object = ASY_TYPE(vm, object);
    AsyType *t;

    t = asy_type_new_builtin(vm, "function", object, sizeof(AsyFunction));
    t->repr = function_repr;
    t->getattr = function_getattr;
    t->setattr = function_setattr;
    t->call = function_call;
    t->descr_get = function_descr_get;
    t->traverse = function_traverse;
    vm->types[ASY_TYPE_function] = t;

    t = asy_type_new_builtin(vm, "builtin_function_or_method", object, sizeof(AsyNative));
    t->repr = native_repr;
    t->getattr = native_getattr;
    t->call = native_call;
    t->descr_get = native_descr_get;
    t->traverse = native_traverse;
    vm->types[ASY_TYPE_builtin_function_or_method] = t;

    t = asy_type_new_builtin(vm, "method", object, sizeof(AsyBoundMethod));
    t->repr = method_repr;
    t->getattr = method_getattr;
    t->call = method_call;
    t->hash = method_hash;
    t->richcompare = method_richcompare;
    t->traverse = method_traverse;
    vm->types[ASY_TYPE_method] = t;

    t = asy_type_new_builtin(vm, "cell", object, sizeof(AsyCell));
    t->repr = cell_repr;
    t->getattr = cell_getattr;
    t->traverse = cell_traverse;
    vm->types[ASY_TYPE_cell] = t;

    t = asy_type_new_builtin(vm, "code", object, sizeof(AsyCode));
    t->repr = code_repr;
    t->getattr = code_getattr;
    t->traverse = code_traverse;
    t->finalize = code_finalize;
    vm->types[ASY_TYPE_code] = t;
}

void asy_function_init_late(AsyVM *vm) {
    static const AsyTypeId ids[] = {ASY_TYPE_function, ASY_TYPE_builtin_function_or_method,
                                    ASY_TYPE_method, ASY_TYPE_cell, ASY_TYPE_code};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) asy_type_ready(vm, vm->types[ids[i]]);
}
