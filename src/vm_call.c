/* vm_call.c - calls as the dispatch loop makes them: CPython's argument binding (with
 * its exact error messages), frames pushed for asy functions, generator objects made for
 * generator and coroutine functions, `C(...)` of plain user classes run as __init__
 * frames, and every other callable called through its slot. */
#include <string.h>

#include "vm_internal.h"

/* ---- argument binding (CPython's initialize_locals, with its messages) ---- */

static bool kw_next(KwArgs *kw, int64_t *i, AsyValue *name, AsyValue *value) {
    if (kw->names) {
        if (*i >= kw->names->len) return false;
        *name = kw->names->items[*i];
        *value = kw->values[*i];
        (*i)++;
        return true;
    }
    if (!kw->dict) return false;
    return asy_dict_next(kw->dict, &kw->pos, name, value);
}

static void format_names(AsyVM *vm, AsyStrBuf *b, AsyStr **names, int n) {
    for (int i = 0; i < n; i++) {
        if (i > 0) asy_strbuf_append_cstr(vm, b, n == 2 ? " and " : i == n - 1 ? ", and " : ", ");
        asy_strbuf_printf(vm, b, "'%s'", names[i]->data);
    }
}

static bool missing_arguments(AsyVM *vm, AsyFunction *fn, AsyValue *locals, bool positional) {
    AsyCode *co = fn->code;
    int ndef = fn->defaults ? (int)fn->defaults->len : 0;
    int start = positional ? 0 : co->argcount;
    int end = positional ? co->argcount - ndef : co->argcount + co->kwonlycount;
    AsyStr *small[16], **names = small;
    int n = 0, cap = end - start;
    if (cap > 16 && !(names = asy_mem_alloc(vm, sizeof(AsyStr *) * (size_t)cap))) return false;
    for (int i = start; i < end; i++) {
        if (!ASY_IS_UNDEF(locals[i])) continue;
        if (!positional && fn->kwdefaults &&
            !ASY_IS_UNDEF(asy_dict_get_str(vm, fn->kwdefaults, co->varnames[i])))
            continue;
        names[n++] = co->varnames[i];
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    format_names(vm, &b, names, n);
    if (names != small) asy_mem_free(vm, names, sizeof(AsyStr *) * (size_t)cap);
    AsyStr *list = asy_strbuf_finish(vm, &b);
    if (!list) return false;
    asy_raise(vm, ASY_EXC_TypeError, "%U() missing %d required %s argument%s: %U", fn->qualname,
              n, positional ? "positional" : "keyword-only", n == 1 ? "" : "s", list);
    return false;
}

static bool too_many_positional(AsyVM *vm, AsyFunction *fn, AsyValue *locals, int given) {
    AsyCode *co = fn->code;
    int ndef = fn->defaults ? (int)fn->defaults->len : 0;
    int kwonly_given = 0;
    for (int i = co->argcount; i < co->argcount + co->kwonlycount; i++)
        if (!ASY_IS_UNDEF(locals[i])) kwonly_given++;
    char sig[64], kwsig[96] = "";
    bool plural;
    if (ndef) {
        plural = true;
        snprintf(sig, sizeof sig, "from %d to %d", co->argcount - ndef, co->argcount);
    } else {
        plural = co->argcount != 1;
        snprintf(sig, sizeof sig, "%d", co->argcount);
    }
    if (kwonly_given)
        snprintf(kwsig, sizeof kwsig, " positional argument%s (and %d keyword-only argument%s)",
                 given != 1 ? "s" : "", kwonly_given, kwonly_given != 1 ? "s" : "");
    asy_raise(vm, ASY_EXC_TypeError, "%U() takes %s positional argument%s but %d%s %s given",
              fn->qualname, sig, plural ? "s" : "", given, kwsig,
              given == 1 && !kwonly_given ? "was" : "were");
    return false;
}

static bool posonly_as_keyword(AsyVM *vm, AsyFunction *fn, KwArgs kw) {
    AsyCode *co = fn->code;
    AsyStr *small[16], **names = small;
    int n = 0;
    AsyValue name, value;
    int64_t i = 0;
    kw.pos = 0;
    while (kw_next(&kw, &i, &name, &value)) {
        for (int j = 0; j < co->posonlycount && n < 16; j++)
            if (asy_str_equal(co->varnames[j], as_str(name))) names[n++] = co->varnames[j];
    }
    if (n == 0) return true;
    AsyStrBuf b;
    asy_strbuf_init(&b);
    for (int k = 0; k < n; k++) asy_strbuf_printf(vm, &b, "%s'%s'", k ? ", " : "", names[k]->data);
    AsyStr *list = asy_strbuf_finish(vm, &b);
    if (!list) return false;
    asy_raise(vm, ASY_EXC_TypeError,
              "%U() got some positional-only arguments passed as keyword arguments: %U",
              fn->qualname, list);
    return false;
}

/* The parameter slot named `name` among the keyword-passable ones, or -1. */
static int find_param(AsyCode *co, AsyStr *name) {
    int total = co->argcount + co->kwonlycount;
    for (int j = co->posonlycount; j < total; j++)
        if (co->varnames[j] == name) return j;
    for (int j = co->posonlycount; j < total; j++)
        if (asy_str_equal(co->varnames[j], name)) return j;
    return -1;
}

/* Fill locals (nlocals slots, all UNDEF on entry) from the call's arguments. */
static bool bind_args(AsyVM *vm, AsyFunction *fn, AsyValue *locals, const AsyValue *args,
                      int npos, KwArgs kw) {
    AsyCode *co = fn->code;
    int total = co->argcount + co->kwonlycount;
    AsyDict *kwdict = NULL;
    if (co->cflags & ASY_CODE_VARKW) {
        if (!(kwdict = asy_dict_new(vm))) return false;
        locals[total + ((co->cflags & ASY_CODE_VARARGS) ? 1 : 0)] = ASY_OBJ(kwdict);
    }
    int n = npos < co->argcount ? npos : co->argcount;
    for (int i = 0; i < n; i++) locals[i] = args[i];
    if (co->cflags & ASY_CODE_VARARGS) {
        AsyTuple *t = npos > n ? asy_tuple_from_array(vm, args + n, npos - n) : vm->empty_tuple;
        if (!t) return false;
        locals[total] = ASY_OBJ(t);
    }
    AsyValue name, value;
    int64_t it = 0;
    while (kw_next(&kw, &it, &name, &value)) {
        if (!is_type(vm, name, ASY_TYPE_str) &&
            !(ASY_IS_OBJ(name) && asy_isinstance(vm, name, ASY_TYPE(vm, str)))) {
            asy_raise(vm, ASY_EXC_TypeError, "%U() keywords must be strings", fn->qualname);
            return false;
        }
        int j = find_param(co, as_str(name));
        if (j < 0) {
            if (!kwdict) {
                if (co->posonlycount && !posonly_as_keyword(vm, fn, kw)) return false;
                asy_raise(vm, ASY_EXC_TypeError, "%U() got an unexpected keyword argument '%U'",
                          fn->qualname, as_str(name));
                return false;
            }
            if (asy_dict_set(vm, kwdict, name, value) < 0) return false;
            continue;
        }
        if (!ASY_IS_UNDEF(locals[j])) {
            asy_raise(vm, ASY_EXC_TypeError, "%U() got multiple values for argument '%U'",
                      fn->qualname, as_str(name));
            return false;
        }
        locals[j] = value;
    }
    if (npos > co->argcount && !(co->cflags & ASY_CODE_VARARGS))
        return too_many_positional(vm, fn, locals, npos);
    if (npos < co->argcount) {
        int ndef = fn->defaults ? (int)fn->defaults->len : 0;
        int m = co->argcount - ndef;
        for (int i = npos; i < m; i++)
            if (ASY_IS_UNDEF(locals[i])) return missing_arguments(vm, fn, locals, true);
        for (int i = npos > m ? npos : m; i < co->argcount; i++)
            if (ASY_IS_UNDEF(locals[i])) locals[i] = fn->defaults->items[i - m];
    }
    for (int i = co->argcount; i < total; i++) {
        if (!ASY_IS_UNDEF(locals[i])) continue;
        AsyValue d = fn->kwdefaults ? asy_dict_get_str(vm, fn->kwdefaults, co->varnames[i])
                                    : ASY_UNDEF;
        if (ASY_IS_UNDEF(d)) return missing_arguments(vm, fn, locals, false);
        locals[i] = d;
    }
    return true;
}

/* ---- calls ---- */

bool asy_vm_ensure_stack(AsyVM *vm, AsyFiber *fb, int64_t top) {
    if (top <= fb->stackcap) return true;
    int32_t saved = fb->sp;
    fb->sp = 0;
    bool ok = asy_fiber_ensure_stack(vm, fb, top);
    fb->sp = saved;
    return ok;
}

/* Set up a call of fn with its frame at stack[base]: positional arguments are at
 * stack[args_at ..] (args_at >= 0, possibly == base: bound in place) or in ext (args_at
 * < 0), keyword ones in kw (their values may be on the stack too: kw_at >= 0). The
 * result goes to stack[ret_sp]. Pushes a frame (CALL_FRAME), or makes a generator
 * (CALL_VALUE with *out). */
CallResult asy_vm_call_function(AsyVM *vm, AsyFiber *fb, AsyFunction *fn, int32_t ret_sp,
                                int32_t base, int32_t args_at, const AsyValue *ext, int npos,
                                KwArgs kw, int32_t kw_at, uint16_t flags, AsyValue aux,
                                AsyValue *out) {
    AsyCode *co = fn->code;
    int64_t size = asy_fiber_frame_size(co);
    int64_t nkw = kw.names ? kw.names->len : 0;
    if (!asy_vm_ensure_stack(vm, fb, (int64_t)base + size + npos + nkw)) return CALL_ERROR;
    AsyValue *stack = fb->stack;
    AsyValue *locals = stack + base;
    const AsyValue *args = args_at >= 0 ? stack + args_at : ext;
    uint32_t special = co->cflags & (ASY_CODE_VARARGS | ASY_CODE_VARKW);
    if (ASY_LIKELY(!special && !kw.names && !kw.dict && npos == co->argcount &&
                   co->kwonlycount == 0)) {
        if (args != locals) memmove(locals, args, sizeof(AsyValue) * (size_t)npos);
        for (int32_t i = npos; i < co->nlocals; i++) locals[i] = ASY_UNDEF;
    } else {
        /* General binding: copy the arguments out first, the locals overlap them. */
        AsyValue small[SMALL_ARGS], *tmp = small;
        size_t n = (size_t)npos + (size_t)nkw;
        if (n > SMALL_ARGS && !(tmp = asy_mem_alloc(vm, sizeof(AsyValue) * n))) return CALL_ERROR;
        if (npos) memcpy(tmp, args, sizeof(AsyValue) * (size_t)npos);
        if (nkw) memcpy(tmp + npos, kw_at >= 0 ? stack + kw_at : kw.values, sizeof(AsyValue) * (size_t)nkw);
        if (kw.names) kw.values = tmp + npos;
        for (int32_t i = 0; i < co->nlocals; i++) locals[i] = ASY_UNDEF;
        int32_t saved = fb->sp;
        fb->sp = base + co->nlocals; /* the bound values stay visible to the GC */
        bool ok = bind_args(vm, fn, locals, tmp, npos, kw);
        fb->sp = saved;
        if (tmp != small) asy_mem_free(vm, tmp, sizeof(AsyValue) * n);
        if (!ok) return CALL_ERROR;
    }
    for (int32_t i = 0; i < co->ncells; i++) {
        int32_t a = co->cell2arg ? co->cell2arg[i] : -1;
        AsyCell *c = asy_cell_new(vm, a >= 0 ? locals[a] : ASY_UNDEF);
        if (!c) return CALL_ERROR;
        locals[co->nlocals + i] = ASY_OBJ(c);
    }
    for (int32_t i = 0; i < co->nfree; i++)
        locals[co->nlocals + co->ncells + i] = fn->closure ? fn->closure->items[i] : ASY_UNDEF;
    int32_t nslots = co->blockbase + co->maxblocks;
    for (int32_t i = co->blockbase; i < nslots; i++) locals[i] = ASY_UNDEF;
    if (co->cflags & (ASY_CODE_GENERATOR | ASY_CODE_COROUTINE | ASY_CODE_ASYNC_GENERATOR)) {
        AsyGenerator *g = asy_gen_new(vm, fn, locals, nslots);
        if (!g) return CALL_ERROR;
        *out = ASY_OBJ(g);
        return CALL_VALUE;
    }
    AsyFrame *fr = asy_fiber_push_frame(vm, fb);
    if (!fr) return CALL_ERROR;
    fr->func = fn;
    fr->code = co;
    fr->globals = fn->globals;
    fr->base = base;
    fr->ret_sp = ret_sp;
    fr->flags = flags;
    if (flags & ASY_FRAME_CLASS) fr->nbases = (int32_t)ASY_AS_INT(aux);
    else fr->aux = asy_obj_or_null(aux);
    fb->sp = base + nslots;
    return CALL_FRAME;
}

/* `C(...)` for a user class whose instances are plain (object layout, no __new__ of its
 * own) and whose __init__ is an asy function: the instance is made here and __init__ runs
 * as a frame. Returns the __init__ function, or NULL for the generic path. */
static AsyFunction *plain_class_init(AsyVM *vm, AsyType *t) {
    if (!(t->tflags & ASY_TYPE_HEAP) || (t->tflags & (ASY_TYPE_EXCEPTION | ASY_TYPE_ABSTRACT)))
        return NULL;
    AsyType *b = t;
    while (b && (b->tflags & ASY_TYPE_HEAP)) b = b->base;
    AsyType *object = ASY_TYPE(vm, object);
    if (b != object) return NULL;
    AsyValue nw = asy_type_lookup(t, ASY_S(vm, __new__));
    if (!asy_value_is(nw, asy_type_lookup(object, ASY_S(vm, __new__)))) return NULL;
    AsyValue init = asy_type_lookup(t, ASY_S(vm, __init__));
    if (!asy_is_function(vm, init)) return NULL;
    return (AsyFunction *)ASY_AS_OBJ(init);
}

static AsyValue new_plain_instance(AsyVM *vm, AsyType *t) {
    size_t size = t->tflags & ASY_TYPE_DICT_AT_END
                      ? asy_var_instance_size(t, t->dict_offset + (t->itemsize == 1))
                      : t->basicsize;
    AsyObj *o = asy_gc_alloc(vm, t, size);
    if (!o) return ASY_ERR;
    if (t->dict_offset) {
        AsyDict *d = asy_dict_new(vm);
        if (!d) return ASY_ERR;
        *asy_obj_dict_slot(o) = d;
    }
    return ASY_OBJ(o);
}

static AsyDict *kw_dict_from_names(AsyVM *vm, AsyTuple *names, const AsyValue *values) {
    AsyDict *d = asy_dict_new(vm);
    if (!d) return NULL;
    for (int64_t i = 0; i < names->len; i++)
        if (asy_dict_set(vm, d, names->items[i], values[i]) < 0) return NULL;
    return d;
}

/* Any callable that is not an asy function run in place: natives, types, objects with
 * __call__. The arguments are copied off the stack first (a callee running asy code may
 * grow, and so move, the stack). */
static AsyValue call_other(AsyVM *vm, AsyFiber *fb, AsyValue callable, int32_t args_at,
                           int argc, AsyTuple *kwnames) {
    AsyValue small[SMALL_ARGS], *args = small;
    size_t bytes = sizeof(AsyValue) * (size_t)argc;
    if (argc > SMALL_ARGS && !(args = asy_mem_alloc(vm, bytes))) return ASY_ERR;
    if (argc) memcpy(args, fb->stack + args_at, bytes);
    int nkw = kwnames ? (int)kwnames->len : 0;
    AsyDict *kw = NULL;
    AsyValue r = ASY_ERR;
    if (nkw && !(kw = kw_dict_from_names(vm, kwnames, args + argc - nkw))) goto done;
    if (kw) asy_root_push(vm, ASY_OBJ(kw));
    if (asy_is_native(vm, callable))
        r = asy_native_call(vm, (AsyNative *)ASY_AS_OBJ(callable), argc - nkw, args, kw);
    else
        r = type_of(vm, callable)->call(vm, callable, argc - nkw, args, kw);
    if (kw) asy_root_pop(vm, 1);
done:
    if (args != small) asy_mem_free(vm, args, bytes);
    return r;
}

/* A call whose callable is stack[fs] and whose argc arguments (the last len(kwnames) of
 * them keyword values) start at stack[as]; stack[as-1] is scratch (it is either fs or an
 * unused method slot), where a bound self goes. */
CallResult asy_vm_call_setup(AsyVM *vm, AsyFiber *fb, int32_t fs, int32_t as, int argc,
                             AsyTuple *kwnames, AsyValue *out) {
    AsyValue callable = fb->stack[fs];
    int nkw = kwnames ? (int)kwnames->len : 0;
    KwArgs kw = {kwnames, NULL, NULL, 0};
    if (asy_is_function(vm, callable)) {
        AsyFunction *fn = (AsyFunction *)ASY_AS_OBJ(callable);
        return asy_vm_call_function(vm, fb, fn, fs, as, as, NULL, argc - nkw, kw, as + argc - nkw, 0,
                             ASY_UNDEF, out);
    }
    if (asy_is_bound_method(vm, callable)) {
        AsyBoundMethod *m = (AsyBoundMethod *)ASY_AS_OBJ(callable);
        if (asy_is_function(vm, m->func)) {
            fb->stack[as - 1] = m->self;
            return asy_vm_call_function(vm, fb, (AsyFunction *)ASY_AS_OBJ(m->func), fs, as - 1, as - 1,
                                 NULL, argc - nkw + 1, kw, as + argc - nkw, 0, ASY_UNDEF, out);
        }
    }
    if (ASY_IS_OBJ(callable) && ASY_AS_OBJ(callable)->type == ASY_TYPE(vm, type)) {
        AsyType *t = (AsyType *)ASY_AS_OBJ(callable);
        AsyFunction *init = plain_class_init(vm, t);
        if (init) {
            AsyValue inst = new_plain_instance(vm, t);
            if (ASY_IS_ERR(inst)) return CALL_ERROR;
            fb->stack[as - 1] = inst;
            CallResult r = asy_vm_call_function(vm, fb, init, fs, as - 1, as - 1, NULL, argc - nkw + 1,
                                         kw, as + argc - nkw, ASY_FRAME_INIT, inst, out);
            if (r == CALL_VALUE) {
                asy_raise(vm, ASY_EXC_TypeError, "__init__() should return None, not '%s'",
                          asy_type_name(vm, *out));
                return CALL_ERROR;
            }
            return r;
        }
    }
    AsyValue r = call_other(vm, fb, callable, as, argc, kwnames);
    if (ASY_IS_ERR(r)) return CALL_ERROR;
    *out = r;
    return CALL_VALUE;
}

/* CALL_EX: f(*args, **kwargs) with args a tuple and kwargs a dict (or NULL). The frame,
 * if any, goes above the current top. */
CallResult asy_vm_call_ex_setup(AsyVM *vm, AsyFiber *fb, int32_t fs, AsyTuple *args,
                                AsyDict *kwargs, AsyValue *out) {
    AsyValue callable = fb->stack[fs];
    KwArgs kw = {NULL, NULL, kwargs && kwargs->len ? kwargs : NULL, 0};
    int32_t top = fb->sp;
    AsyValue self = ASY_UNDEF;
    AsyValue f = callable;
    if (asy_is_bound_method(vm, callable) &&
        asy_is_function(vm, ((AsyBoundMethod *)ASY_AS_OBJ(callable))->func)) {
        self = ((AsyBoundMethod *)ASY_AS_OBJ(callable))->self;
        f = ((AsyBoundMethod *)ASY_AS_OBJ(callable))->func;
    }
    if (asy_is_function(vm, f)) {
        AsyFunction *fn = (AsyFunction *)ASY_AS_OBJ(f);
        int npos = (int)args->len;
        if (ASY_IS_UNDEF(self))
            return asy_vm_call_function(vm, fb, fn, fs, top, -1, args->items, npos, kw, -1, 0, ASY_UNDEF,
                                 out);
        /* Lay self and the arguments out above the top, then bind from there. */
        if (!asy_vm_ensure_stack(vm, fb, (int64_t)top + npos + 1)) return CALL_ERROR;
        fb->stack[top] = self;
        memcpy(fb->stack + top + 1, args->items, sizeof(AsyValue) * (size_t)npos);
        return asy_vm_call_function(vm, fb, fn, fs, top, top, NULL, npos + 1, kw, -1, 0, ASY_UNDEF, out);
    }
    AsyDict *kwcopy = NULL;
    if (kwargs && kwargs->len) {
        if (!(kwcopy = asy_dict_copy(vm, kwargs))) return CALL_ERROR;
        asy_root_push(vm, ASY_OBJ(kwcopy));
    }
    AsyValue r;
    if (asy_is_native(vm, callable)) {
        AsyTuple *outer = vm->native_args;
        vm->native_args = args;
        r = asy_native_call(vm, (AsyNative *)ASY_AS_OBJ(callable), (int)args->len, args->items,
                            kwcopy);
        vm->native_args = outer;
    } else
        r = type_of(vm, callable)->call(vm, callable, (int)args->len, args->items, kwcopy);
    if (kwcopy) asy_root_pop(vm, 1);
    if (ASY_IS_ERR(r)) return CALL_ERROR;
    *out = r;
    return CALL_VALUE;
}
