/* vm_ops.c - the slow paths of individual opcodes, out of the dispatch loop: method and
 * special-method lookup, exception matching and `raise ... from`, unpacking, `**`
 * merging, and what `await` accepts. */
#include <inttypes.h>
#include <string.h>

#include "vm_internal.h"

/* The name CPython's _PyObject_FunctionStr gives a callable in call errors: "mod.f()"
 * for asy functions outside builtins, "len()" for natives. */
AsyStr *asy_vm_func_str(AsyVM *vm, AsyValue f) {
    if (asy_is_bound_method(vm, f)) f = ((AsyBoundMethod *)ASY_AS_OBJ(f))->func;
    if (asy_is_function(vm, f)) {
        AsyFunction *fn = (AsyFunction *)ASY_AS_OBJ(f);
        if (is_type(vm, fn->module, ASY_TYPE_str) &&
            strcmp(as_str(fn->module)->data, "builtins") != 0)
            return asy_str_printf(vm, "%s.%s()", as_str(fn->module)->data, fn->qualname->data);
        return asy_str_printf(vm, "%s()", fn->qualname->data);
    }
    if (asy_is_native(vm, f)) {
        AsyNative *n = (AsyNative *)ASY_AS_OBJ(f);
        return asy_str_printf(vm, "%s()", n->qualname->data);
    }
    return asy_str_printf(vm, "%s object", asy_type_name(vm, f));
}

/* ---- attribute and method lookup ---- */

/* May LOAD_METHOD look a method up on the type directly? Only when attribute access on
 * the type is the generic one (no __getattribute__ of its own). */
static bool method_lookup_plain(AsyVM *vm, AsyType *t) {
    AsyType *object = ASY_TYPE(vm, object);
    if (t->getattr == object->getattr) return true;
    if (!(t->tflags & ASY_TYPE_HEAP)) return false;
    AsyValue ga = asy_type_lookup(t, ASY_S(vm, __getattribute__));
    return ASY_IS_UNDEF(ga) || asy_value_is(ga, asy_type_lookup(object, ASY_S(vm, __getattribute__)));
}

static AsyValue lookup_method_uncached(AsyVM *vm, AsyType *t, AsyValue obj, AsyStr *name);

/* The method `name` of obj, unbound, when calling it can skip making a bound method.
 * Methods of built-in types without instance dicts (list.append, dict.get) are remembered
 * in vm->method_cache by type and interned name (gc.c keeps the cached types and methods
 * alive, and interned strs are immortal, so no entry matches a reused address); any
 * change to a type bumps the epoch. */
AsyValue asy_vm_lookup_method(AsyVM *vm, AsyType *t, AsyValue obj, AsyStr *name) {
    if (!method_cacheable(t, name)) return lookup_method_uncached(vm, t, obj, name);
    uint64_t epoch = ASY_TYPE(vm, type)->type_epoch;
    size_t h = (((uintptr_t)t >> 4) ^ ((uintptr_t)name >> 4)) & (ASY_METHOD_CACHE_SIZE - 1);
    AsyMethodCacheEntry *e = &vm->method_cache[h];
    if (e->type == t && e->name == name && e->epoch == epoch) return e->method;
    AsyValue m = lookup_method_uncached(vm, t, obj, name);
    if (!ASY_IS_UNDEF(m) && ASY_IS_OBJ(m)) {
        e->type = t;
        e->name = name;
        e->epoch = epoch;
        e->method = m;
    }
    return m;
}

static AsyValue lookup_method_uncached(AsyVM *vm, AsyType *t, AsyValue obj, AsyStr *name) {
    AsyValue m = asy_type_lookup(t, name);
    if (ASY_IS_UNDEF(m)) return ASY_UNDEF;
    if (asy_is_function(vm, m)) {
        /* fine */
    } else if (asy_is_native(vm, m)) {
        AsyNative *n = (AsyNative *)ASY_AS_OBJ(m);
        if (!n->owner || !ASY_IS_UNDEF(n->self) ||
            (n->def->flags & (ASY_METH_STATIC | ASY_METH_CLASS)))
            return ASY_UNDEF;
    } else {
        return ASY_UNDEF;
    }
    if (!method_lookup_plain(vm, t)) return ASY_UNDEF;
    if (t->dict_offset && ASY_IS_OBJ(obj)) {
        AsyDict *d = *asy_obj_dict_slot(ASY_AS_OBJ(obj));
        if (d && !ASY_IS_UNDEF(asy_dict_get_str(vm, d, name))) return ASY_UNDEF;
    }
    return m;
}

/* A special method looked up on the type and bound to obj (as CPython's
 * _PyObject_LookupSpecial): UNDEF when the type lacks it. */
AsyValue asy_vm_lookup_special(AsyVM *vm, AsyValue obj, AsyStr *name) {
    AsyType *t = type_of(vm, obj);
    AsyValue m = asy_type_lookup(t, name);
    if (ASY_IS_UNDEF(m)) return m;
    AsyType *mt = type_of(vm, m);
    if (asy_is_function(vm, m)) return asy_bound_method_new(vm, obj, m);
    if (mt->descr_get) return mt->descr_get(vm, m, obj, t);
    return m;
}

AsyValue asy_vm_enter_context(AsyVM *vm, AsyValue mgr, bool is_async, AsyValue *exit) {
    const char *kind = is_async ? "asynchronous context manager" : "context manager";
    AsyValue enter = asy_vm_lookup_special(vm, mgr, is_async ? ASY_S(vm, __aenter__)
                                                              : ASY_S(vm, __enter__));
    if (ASY_IS_ERR(enter)) return enter;
    if (ASY_IS_UNDEF(enter))
        return asy_raise(vm, ASY_EXC_TypeError, "'%s' object does not support the %s protocol",
                         asy_type_name(vm, mgr), kind);
    asy_root_push(vm, enter);
    *exit = asy_vm_lookup_special(vm, mgr, is_async ? ASY_S(vm, __aexit__) : ASY_S(vm, __exit__));
    if (ASY_IS_UNDEF(*exit)) {
        asy_root_pop(vm, 1);
        return asy_raise(vm, ASY_EXC_TypeError,
                         "'%s' object does not support the %s protocol (missed %s method)",
                         asy_type_name(vm, mgr), kind, is_async ? "__aexit__" : "__exit__");
    }
    if (ASY_IS_ERR(*exit)) {
        asy_root_pop(vm, 1);
        return ASY_ERR;
    }
    asy_root_push(vm, *exit);
    AsyValue r = asy_call(vm, enter, 0, NULL, NULL);
    asy_root_pop(vm, 2);
    return r;
}

/* ---- exception helpers ---- */

bool asy_vm_is_exc_class(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_TYPE(vm, type)) &&
           asy_is_subtype((AsyType *)ASY_AS_OBJ(v), vm->exc_types[ASY_EXC_BaseException]);
}

/* CHECK_EXC_MATCH: -1 error, else whether exc is an instance of type (a class or tuple). */
int asy_vm_exc_match(AsyVM *vm, AsyValue exc, AsyValue type) {
    if (is_type(vm, type, ASY_TYPE_tuple)) {
        AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(type);
        for (int64_t i = 0; i < t->len; i++)
            if (!asy_vm_is_exc_class(vm, t->items[i])) goto bad;
        for (int64_t i = 0; i < t->len; i++)
            if (asy_isinstance(vm, exc, (AsyType *)ASY_AS_OBJ(t->items[i]))) return 1;
        return 0;
    }
    if (!asy_vm_is_exc_class(vm, type)) goto bad;
    return asy_isinstance(vm, exc, (AsyType *)ASY_AS_OBJ(type));
bad:
    asy_raise(vm, ASY_EXC_TypeError,
              "catching classes that do not inherit from BaseException is not allowed");
    return -1;
}

/* RAISE_VARARGS 2: `raise exc from cause`. exc is already pending in vm->exc. */
bool asy_vm_apply_cause(AsyVM *vm, AsyValue cause) {
    AsyException *e = vm->exc;
    if (ASY_IS_NONE(cause)) {
        e->cause = ASY_NONE;
    } else if (asy_vm_is_exc_class(vm, cause)) {
        AsyValue c = asy_exc_new(vm, (AsyType *)ASY_AS_OBJ(cause), 0, NULL);
        if (ASY_IS_ERR(c)) return false;
        e->cause = c;
    } else if (asy_isinstance(vm, cause, vm->exc_types[ASY_EXC_BaseException])) {
        e->cause = cause;
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "exception causes must derive from BaseException");
        return false;
    }
    e->suppress_context = true;
    return true;
}

/* ---- sequences ---- */

/* UNPACK_SEQUENCE / UNPACK_EX into dst[0 .. before + after (+1 for the list)), in target
 * order (the caller pushes them reversed). */
bool asy_vm_unpack(AsyVM *vm, AsyValue seq, int before, int after, bool star, AsyValue *dst) {
    int want = before + after;
    const AsyValue *items = NULL;
    int64_t len = 0;
    if (is_type(vm, seq, ASY_TYPE_tuple)) {
        items = ((AsyTuple *)ASY_AS_OBJ(seq))->items;
        len = ((AsyTuple *)ASY_AS_OBJ(seq))->len;
    } else if (is_type(vm, seq, ASY_TYPE_list)) {
        items = ((AsyList *)ASY_AS_OBJ(seq))->items;
        len = ((AsyList *)ASY_AS_OBJ(seq))->len;
    }
    if (items && !star) {
        if (len != want) goto count_error;
        memcpy(dst, items, sizeof(AsyValue) * (size_t)want);
        return true;
    }
    AsyList *all;
    if (items) {
        all = asy_list_from_array(vm, items, len);
    } else {
        AsyValue it = asy_iter(vm, seq);
        if (ASY_IS_ERR(it)) {
            if (asy_exc_matches(vm, ASY_EXC_TypeError) &&
                ASY_IS_UNDEF(asy_type_lookup(type_of(vm, seq), ASY_S(vm, __iter__))) &&
                ASY_IS_UNDEF(asy_type_lookup(type_of(vm, seq), ASY_S(vm, __getitem__)))) {
                asy_exc_clear(vm);
                asy_raise(vm, ASY_EXC_TypeError, "cannot unpack non-iterable %s object",
                          asy_type_name(vm, seq));
            }
            return false;
        }
        if (!star) {
            /* Take exactly `want` items, then check that the iterator is exhausted. */
            asy_root_push(vm, it);
            int got = 0;
            for (; got < want; got++) {
                AsyValue v = asy_next(vm, it);
                if (ASY_IS_ERR(v)) { asy_root_pop(vm, 1); return false; }
                if (ASY_IS_UNDEF(v)) break;
                dst[got] = v;
                asy_root_push(vm, v);
            }
            AsyValue extra = got == want ? asy_next(vm, it) : ASY_UNDEF;
            asy_root_pop(vm, (size_t)got + 1);
            if (ASY_IS_ERR(extra)) return false;
            if (got < want) {
                asy_raise(vm, ASY_EXC_ValueError, "not enough values to unpack (expected %d, got %d)",
                          want, got);
                return false;
            }
            if (!ASY_IS_UNDEF(extra)) {
                asy_raise(vm, ASY_EXC_ValueError, "too many values to unpack (expected %d)", want);
                return false;
            }
            return true;
        }
        asy_root_push(vm, it);
        all = asy_list_from_iterable(vm, it);
        asy_root_pop(vm, 1);
    }
    if (!all) return false;
    len = all->len;
    if (len < want) {
        asy_raise(vm, ASY_EXC_ValueError,
                  "not enough values to unpack (expected at least %d, got %" PRId64 ")", want, len);
        return false;
    }
    memcpy(dst, all->items, sizeof(AsyValue) * (size_t)before);
    AsyList *mid = asy_list_from_array(vm, all->items + before, len - want);
    if (!mid) return false;
    dst[before] = ASY_OBJ(mid);
    memcpy(dst + before + 1, all->items + len - after, sizeof(AsyValue) * (size_t)after);
    return true;
count_error:
    if (len > want)
        asy_raise(vm, ASY_EXC_ValueError, "too many values to unpack (expected %d)", want);
    else
        asy_raise(vm, ASY_EXC_ValueError, "not enough values to unpack (expected %d, got %" PRId64 ")",
                  want, len);
    return false;
}

/* `{**m}` and `f(**m)`: update dict d from mapping m. merge: a repeated key is an error
 * naming the called function f. */
bool asy_vm_dict_update(AsyVM *vm, AsyDict *d, AsyValue m, bool merge, AsyValue f) {
    if (is_type(vm, m, ASY_TYPE_dict)) {
        AsyDict *src = (AsyDict *)ASY_AS_OBJ(m);
        int64_t pos = 0;
        AsyValue k, v;
        while (asy_dict_next(src, &pos, &k, &v)) {
            if (merge && !ASY_IS_UNDEF(asy_dict_get(vm, d, k))) goto repeated;
            if (asy_dict_set(vm, d, k, v) < 0) return false;
            continue;
        repeated:
            if (!is_type(vm, k, ASY_TYPE_str)) {
                asy_raise(vm, ASY_EXC_TypeError, "keywords must be strings");
                return false;
            }
            AsyStr *fs = asy_vm_func_str(vm, f);
            if (fs) asy_raise(vm, ASY_EXC_TypeError, "%U got multiple values for keyword argument '%U'",
                              fs, as_str(k));
            return false;
        }
        return true;
    }
    AsyValue keys = asy_getattr_opt(vm, m, ASY_S(vm, keys));
    if (ASY_IS_ERR(keys)) return false;
    if (ASY_IS_UNDEF(keys)) {
        if (merge) {
            AsyStr *fs = asy_vm_func_str(vm, f);
            if (fs) asy_raise(vm, ASY_EXC_TypeError, "%U argument after ** must be a mapping, not %s",
                              fs, asy_type_name(vm, m));
        } else {
            asy_raise(vm, ASY_EXC_TypeError, "'%s' object is not a mapping", asy_type_name(vm, m));
        }
        return false;
    }
    AsyValue ks = asy_call(vm, keys, 0, NULL, NULL);
    if (ASY_IS_ERR(ks)) return false;
    asy_root_push(vm, ks);
    AsyList *kl = asy_list_from_iterable(vm, ks);
    asy_root_pop(vm, 1);
    if (!kl) return false;
    asy_root_push(vm, ASY_OBJ(kl));
    bool ok = true;
    for (int64_t i = 0; ok && i < kl->len; i++) {
        AsyValue v = asy_getitem(vm, m, kl->items[i]);
        if (ASY_IS_ERR(v)) { ok = false; break; }
        if (merge && !ASY_IS_UNDEF(asy_dict_get(vm, d, kl->items[i]))) {
            AsyStr *fs = asy_vm_func_str(vm, f);
            if (fs) asy_raise(vm, ASY_EXC_TypeError, "%U got multiple values for keyword argument '%S'",
                              fs, kl->items[i]);
            ok = false;
            break;
        }
        if (asy_dict_set(vm, d, kl->items[i], v) < 0) ok = false;
    }
    asy_root_pop(vm, 1);
    return ok;
}

/* GET_AWAITABLE's conversion of a non-coroutine. */
AsyValue asy_vm_get_awaitable(AsyVM *vm, AsyValue v) {
    if (asy_is_coroutine(vm, v) || asy_is_agen_op(vm, v)) return v;
    AsyType *t = type_of(vm, v);
    if (asy_vm_await_slot(t)) return v;
    AsyValue m = asy_vm_lookup_special(vm, v, ASY_S(vm, __await__));
    if (ASY_IS_ERR(m)) return ASY_ERR;
    if (ASY_IS_UNDEF(m))
        return asy_raise(vm, ASY_EXC_TypeError, "object %s can't be used in 'await' expression",
                         asy_type_name(vm, v));
    asy_root_push(vm, m);
    AsyValue it = asy_call(vm, m, 0, NULL, NULL);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(it)) return ASY_ERR;
    AsyValue inner = asy_coro_unwrap(vm, it);
    if (!asy_value_is(inner, it)) return inner; /* awaited itself: what its wrapper steps */
    if (asy_is_coroutine(vm, it))
        return asy_raise(vm, ASY_EXC_TypeError, "__await__() returned a coroutine");
    AsyType *it_t = type_of(vm, it);
    if (!asy_is_gen(vm, it) && ASY_IS_UNDEF(asy_type_lookup(it_t, ASY_S(vm, __next__))) &&
        it_t->next == ASY_TYPE(vm, object)->next)
        return asy_raise(vm, ASY_EXC_TypeError, "__await__() returned non-iterator of type '%s'",
                         asy_type_name(vm, it));
    return it;
}

AsyAwaitFn asy_vm_await_slot(AsyType *t) {
    for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it))
        if (it.t->await_) return it.t->await_;
    return NULL;
}
