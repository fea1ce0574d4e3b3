/* generator.c - generator, coroutine and async_generator objects: their frames while
 * suspended (moved onto and off a fiber's stack, see generator.h), the Python-visible
 * protocol (next, send, throw, close, asend, athrow, aclose) and the asend/athrow
 * awaitables. The dispatch loop that runs their frames is vm.c's. */
#include "generator.h"

#include <stdlib.h>
#include <string.h>

#include "asyncgen.h"
#include "diag.h"
#include "function.h"
#include "opcodes.h"

static AsyGenerator *as_gen(AsyValue v) { return (AsyGenerator *)ASY_AS_OBJ(v); }

static const char *kind_word(const AsyGenerator *g) {
    switch (g->kind) {
    case ASY_GENKIND_COROUTINE: return "coroutine";
    case ASY_GENKIND_ASYNC: return "async generator";
    default: return "generator";
    }
}

/* ---- frames in and out ---- */

AsyGenerator *asy_gen_new(AsyVM *vm, AsyFunction *fn, const AsyValue *slots, int32_t nslots) {
    AsyCode *co = fn->code;
    AsyType *type = ASY_TYPE(vm, generator);
    uint8_t kind = ASY_GENKIND_GENERATOR;
    if (co->cflags & ASY_CODE_COROUTINE) {
        type = ASY_TYPE(vm, coroutine);
        kind = ASY_GENKIND_COROUTINE;
    } else if (co->cflags & ASY_CODE_ASYNC_GENERATOR) {
        type = ASY_TYPE(vm, async_generator);
        kind = ASY_GENKIND_ASYNC;
    }
    AsyStr *file = NULL; /* where it is made: the running line, if asy code runs */
    int32_t line = 0;
    asy_diag_running_line(vm, &file, &line);
    uint32_t site;
    if (!asy_gensite_find(vm, file, line, fn->qualname, &site)) return NULL;
    int64_t cap = asy_gen_frame_size(co);
    AsyGenerator *g =
        asy_gc_alloc(vm, type, sizeof(AsyGenerator) + sizeof(AsyValue) * (size_t)cap);
    if (!g) return NULL;
    g->where = ASY_GEN_SLOTS_INLINE;
    memcpy(asy_gen_slots(g), slots, sizeof(AsyValue) * (size_t)nslots);
    g->depth = nslots;
    g->kind = kind;
    g->state = ASY_GEN_CREATED;
    g->hdr.flags = site;
    if (fn->name != co->name) {
        if (!asy_gen_extra(vm, g)) return NULL;
        g->extra->name = fn->name;
    }
    AsyFrame *fr = &g->frame;
    fr->func = fn;
    fr->code = co;
    fr->globals = fn->globals;
    fr->aux = &g->hdr;
    fr->saved_handled = NULL;
    fr->flags = ASY_FRAME_GEN;
    if (kind == ASY_GENKIND_COROUTINE) asy_diag_coroutine_created(vm, g);
    return g;
}

bool asy_gen_push(AsyVM *vm, AsyFiber *f, AsyGenerator *g, AsyResumeKind resume,
                  AsyValue sent) {
    AsyFrame *fr;
    if (f->stackcap == 0 && f->framecap == 0 && g->where != ASY_GEN_SLOTS_NONE) {
        /* A bare fiber (a task's, first resume) takes the generator's stack buffer over,
         * its slots already where they belong, and runs the generator's frame in place:
         * a task keeps one frame and one buffer rather than two of each. A malloc'd
         * buffer becomes the fiber's own. */
        f->stack = asy_gen_stack(g);
        f->stackcap = asy_gen_stackcap(g);
        f->stack_borrowed = g->where == ASY_GEN_SLOTS_INLINE;
        if (g->where == ASY_GEN_SLOTS_HEAP) g->extra->stack = NULL;
        g->where = ASY_GEN_SLOTS_NONE;
        f->frames = fr = &g->frame;
        f->framecap = f->nframes = 1;
        f->frames_borrowed = true;
    } else {
        if (!asy_fiber_ensure_stack(vm, f, asy_fiber_frame_size(g->frame.code))) return false;
        if (!(fr = asy_fiber_push_frame(vm, f))) return false;
        *fr = g->frame;
        memcpy(f->stack + f->sp, asy_gen_stack(g), sizeof(AsyValue) * (size_t)g->depth);
    }
    fr->base = f->sp;
    fr->resume = (uint8_t)resume;
    fr->flags = ASY_FRAME_GEN;
    fr->saved_handled = f->handled;
    f->sp += g->depth;
    if (g->state == ASY_GEN_SUSPENDED && !ASY_IS_UNDEF(sent)) {
        /* A yield receives the value on its stack; an AWAIT passes it on (fiber.h). */
        if (ASY_OP(g->frame.code->code[g->frame.pc]) == ASY_OP_AWAIT) vm->pending_send = sent;
        else f->stack[f->sp++] = sent;
    }
    if (ASY_UNLIKELY(g->extra && g->extra->exc_state)) f->handled = g->extra->exc_state;
    g->state = ASY_GEN_RUNNING;
    return true;
}

/* Give g a malloc'd stack of at least `depth` slots, and at least a whole frame
 * (asy_gen_push reserves stackcap slots on the fiber); its contents are replaced next.
 * g->extra exists. */
static bool gen_grow_slots(AsyVM *vm, AsyGenerator *g, AsyCode *code, int32_t depth) {
    int64_t cap = asy_gen_frame_size(code);
    if (cap < depth) cap = depth;
    size_t size = sizeof(AsyValue) * (size_t)cap;
    AsyValue *s = g->where == ASY_GEN_SLOTS_HEAP
                      ? asy_mem_realloc(vm, g->extra->stack,
                                        sizeof(AsyValue) * (size_t)g->extra->stackcap, size)
                      : asy_mem_alloc(vm, size);
    if (!s) return false;
    g->extra->stack = s;
    g->where = ASY_GEN_SLOTS_HEAP;
    g->extra->stackcap = (int32_t)cap;
    return true;
}

/* g's stack is no more (it finished, or is freed). */
static void gen_free_slots(AsyVM *vm, AsyGenerator *g) {
    if (g->where == ASY_GEN_SLOTS_HEAP) {
        asy_mem_free(vm, g->extra->stack, sizeof(AsyValue) * (size_t)g->extra->stackcap);
        g->extra->stack = NULL;
    }
    g->where = ASY_GEN_SLOTS_NONE;
}

bool asy_gen_save(AsyVM *vm, AsyFiber *f, AsyGenerator *g, int32_t sp) {
    AsyFrame *fr = &f->frames[f->nframes - 1];
    int32_t depth = sp - fr->base;
    AsyObj *saved_handled = fr->saved_handled;
    /* the exception it handles when it yields inside an except block (rare: in extra) */
    AsyObj *exc_state = f->handled == saved_handled ? NULL : f->handled;
    int32_t cap = asy_gen_stackcap(g);
    if ((exc_state || depth > cap) && !asy_gen_extra(vm, g)) return false;
    if (depth > cap && !gen_grow_slots(vm, g, fr->code, depth)) return false;
    memcpy(asy_gen_stack(g), f->stack + fr->base, sizeof(AsyValue) * (size_t)depth);
    g->depth = depth;
    int32_t base = fr->base;
    if (fr != &g->frame) g->frame = *fr; /* else it ran in place (a borrowed frame) */
    g->frame.base = 0;
    if (g->extra) g->extra->exc_state = exc_state;
    f->handled = saved_handled;
    g->frame.saved_handled = NULL;
    f->sp = base;
    f->nframes--;
    asy_fiber_frames_released(f);
    g->state = ASY_GEN_SUSPENDED;
    return true;
}

void asy_gen_finish(AsyVM *vm, AsyFiber *f, AsyGenerator *g) {
    AsyFrame *fr = &f->frames[f->nframes - 1];
    f->handled = fr->saved_handled;
    f->sp = fr->base;
    f->nframes--;
    asy_fiber_frames_released(f);
    g->state = ASY_GEN_CLOSED;
    g->depth = 0;
    if (g->extra) g->extra->exc_state = NULL;
    gen_free_slots(vm, g);
    AsyCode *code = g->frame.code; /* for __name__ and cr_code, as CPython keeps it */
    memset(&g->frame, 0, sizeof g->frame);
    g->frame.code = code;
    g->frame.aux = &g->hdr;
}

bool asy_gen_check_resumable(AsyVM *vm, AsyGenerator *g) {
    if (g->state != ASY_GEN_RUNNING) return true;
    asy_raise(vm, ASY_EXC_ValueError, "%s already executing", kind_word(g));
    return false;
}

void asy_gen_fix_stop_iteration(AsyVM *vm, AsyGenerator *g) {
    AsyException *e = vm->exc;
    if (!e) return;
    bool stop = asy_is_subtype(e->hdr.type, vm->exc_types[ASY_EXC_StopIteration]);
    bool astop = g->kind == ASY_GENKIND_ASYNC &&
                 asy_is_subtype(e->hdr.type, vm->exc_types[ASY_EXC_StopAsyncIteration]);
    if (!stop && !astop) return;
    asy_raise(vm, ASY_EXC_RuntimeError, "%s raised %s", kind_word(g),
              stop ? "StopIteration" : "StopAsyncIteration");
    if (!vm->exc) return;
    vm->exc->cause = ASY_OBJ(e);
    vm->exc->context = ASY_OBJ(e);
    vm->exc->suppress_context = true;
}

/* ---- the object ---- */

AsyGenExtra *asy_gen_extra(AsyVM *vm, AsyGenerator *g) {
    if (!g->extra && !(g->extra = calloc(1, sizeof *g->extra))) asy_raise_memory(vm);
    return g->extra;
}

static void gen_traverse(AsyVM *vm, AsyObj *o) {
    AsyGenerator *g = (AsyGenerator *)o;
    if (g->state != ASY_GEN_RUNNING) asy_gc_mark_values(vm, asy_gen_stack(g), g->depth);
    asy_fiber_mark_frame(vm, &g->frame);
    if (g->extra) {
        asy_gc_mark_obj(vm, (AsyObj *)g->extra->name);
        asy_gc_mark_obj(vm, g->extra->exc_state);
    }
}

const char *asy_gen_unawaited_name(AsyVM *vm, AsyGenerator *g, const char **origin) {
    *origin = g->extra ? g->extra->origin : NULL;
    bool warns = g->kind == ASY_GENKIND_COROUTINE && g->state == ASY_GEN_CREATED && !g->awaited;
    return warns ? asy_gen_site(vm, g)->qualname->data : NULL;
}

static void gen_finalize(AsyVM *vm, AsyObj *o) {
    AsyGenerator *g = (AsyGenerator *)o;
    /* A coroutine with state CREATED and !awaited here was never awaited: CPython prints
     * "RuntimeWarning: coroutine '<qualname>' was never awaited" at this point. (CPython
     * also closes suspended generators here, running their finally blocks; a finalizer
     * may not run code, so asy does not.) The site's strings are GC roots, so the sweep
     * that frees the coroutine cannot have freed them. */
    const char *origin, *name = asy_gen_unawaited_name(vm, g, &origin);
    if (name) {
        const AsyGenSite *s = asy_gen_site(vm, g);
        asy_warn_never_awaited_at(vm, o, name, s->file ? s->file->data : NULL, s->line, origin);
    }
    gen_free_slots(vm, g);
    if (g->extra) free(g->extra->origin);
    free(g->extra);
    g->extra = NULL;
}

static AsyValue gen_repr(AsyVM *vm, AsyValue self) {
    AsyGenerator *g = as_gen(self);
    const char *k = g->kind == ASY_GENKIND_COROUTINE ? "coroutine"
                    : g->kind == ASY_GENKIND_ASYNC   ? "async_generator"
                                                     : "generator";
    return ASY_OBJ(asy_str_printf(vm, "<%s object %s at %p>", k,
                                  asy_gen_site(vm, g)->qualname->data, (void *)g));
}

static bool name_is_c(AsyStr *a, const char *c) {
    return a->len == strlen(c) && memcmp(a->data, c, a->len) == 0;
}

/* The iterator a generator suspended in `yield from` delegates to, or None. */
static AsyValue gen_yieldfrom(AsyVM *vm, AsyGenerator *g) {
    if (g->state != ASY_GEN_SUSPENDED || g->depth == 0) return ASY_NONE;
    uint32_t ins = g->frame.code->code[g->frame.pc];
    if (ASY_OP(ins) != ASY_OP_YIELD_FROM && ASY_OP(ins) != ASY_OP_AWAIT) return ASY_NONE;
    ASY_UNUSED(vm);
    return asy_gen_stack(g)[g->depth - 1];
}

static AsyValue gen_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyGenerator *g = as_gen(self);
    const char *p = g->kind == ASY_GENKIND_COROUTINE ? "cr_"
                    : g->kind == ASY_GENKIND_ASYNC   ? "ag_"
                                                     : "gi_";
    if (name_is_c(name, "__name__")) return ASY_OBJ(asy_gen_name(g));
    if (name_is_c(name, "__qualname__")) return ASY_OBJ(asy_gen_site(vm, g)->qualname);
    if (strncmp(name->data, p, 3) == 0) {
        const char *rest = name->data + 3;
        if (strcmp(rest, "running") == 0) return ASY_BOOL(g->state == ASY_GEN_RUNNING);
        if (strcmp(rest, "code") == 0)
            return g->frame.code ? ASY_OBJ(g->frame.code) : ASY_NONE;
        if (strcmp(rest, "frame") == 0) return ASY_NONE;
        if (strcmp(rest, "suspended") == 0) return ASY_BOOL(g->state == ASY_GEN_SUSPENDED);
        if (strcmp(rest, "yieldfrom") == 0 || strcmp(rest, "await") == 0)
            return gen_yieldfrom(vm, g);
    }
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static int gen_setattr(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v) {
    AsyGenerator *g = as_gen(self);
    bool is_name = name_is_c(name, "__name__"), is_qual = name_is_c(name, "__qualname__");
    if (is_name || is_qual) {
        if (!ASY_IS_OBJ(v) || ASY_AS_OBJ(v)->type != ASY_TYPE(vm, str)) {
            asy_raise(vm, ASY_EXC_TypeError, "%s must be set to a string object", name->data);
            return -1;
        }
        if (is_name) {
            if (!asy_gen_extra(vm, g)) return -1;
            g->extra->name = (AsyStr *)ASY_AS_OBJ(v);
            return 0;
        }
        /* the same place under another name: the finalizer may warn with it */
        const AsyGenSite *s = asy_gen_site(vm, g);
        uint32_t site;
        if (!asy_gensite_find(vm, s->file, s->line, (AsyStr *)ASY_AS_OBJ(v), &site)) return -1;
        g->hdr.flags = site;
        return 0;
    }
    return ASY_TYPE(vm, object)->setattr(vm, self, name, v);
}

/* ---- the protocol ---- */

static AsyValue stop_iteration(AsyVM *vm, AsyValue value) {
    AsyType *t = vm->exc_types[ASY_EXC_StopIteration];
    AsyValue e = ASY_IS_NONE(value) ? asy_exc_new(vm, t, 0, NULL) : asy_exc_new(vm, t, 1, &value);
    if (ASY_IS_ERR(e)) return ASY_ERR;
    ((AsyException *)ASY_AS_OBJ(e))->value = value;
    vm->exc = (AsyException *)ASY_AS_OBJ(e);
    return ASY_ERR;
}

AsyValue asy_raise_stop_iteration(AsyVM *vm, AsyValue value) { return stop_iteration(vm, value); }

/* send(value) semantics shared by next/send/__next__: the yielded value, or ASY_ERR with
 * StopIteration(return value) (raise_stop) or ASY_UNDEF (!raise_stop) at the end. */
static AsyValue gen_send_ex(AsyVM *vm, AsyGenerator *g, AsyValue v, bool raise_stop) {
    if (!asy_gen_check_resumable(vm, g)) return ASY_ERR;
    if (g->state == ASY_GEN_CLOSED) {
        if (g->kind == ASY_GENKIND_COROUTINE)
            return asy_raise(vm, ASY_EXC_RuntimeError, "cannot reuse already awaited coroutine");
        return raise_stop ? stop_iteration(vm, ASY_NONE) : ASY_UNDEF;
    }
    if (g->state == ASY_GEN_CREATED && !ASY_IS_NONE(v))
        return asy_raise(vm, ASY_EXC_TypeError, "can't send non-None value to a just-started %s",
                         kind_word(g));
    if (g->kind == ASY_GENKIND_COROUTINE) g->awaited = true;
    AsyValue out;
    int r = asy_vm_gen_resume(vm, g, v, ASY_UNDEF, &out);
    if (r < 0) return ASY_ERR;
    if (r == 1) return out;
    return raise_stop ? stop_iteration(vm, out) : ASY_UNDEF;
}

static AsyValue gen_iter_slot(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static AsyValue gen_next_slot(AsyVM *vm, AsyValue self) {
    return gen_send_ex(vm, as_gen(self), ASY_NONE, false);
}

static AsyValue m_next(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__next__", argc - 1, 0, 0)) return ASY_ERR;
    return gen_send_ex(vm, as_gen(argv[0]), ASY_NONE, true);
}

static AsyValue m_send(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "send", argc - 1, 1, 1)) return ASY_ERR;
    return gen_send_ex(vm, as_gen(argv[0]), argv[1], true);
}

/* throw(exc) / throw(type[, value[, tb]]): the exception instance to raise. */
static AsyValue throw_arg(AsyVM *vm, int argc, AsyValue *argv) {
    AsyType *base = vm->exc_types[ASY_EXC_BaseException];
    AsyValue t = argv[0];
    if (ASY_IS_OBJ(t) && asy_is_subtype(ASY_AS_OBJ(t)->type, ASY_TYPE(vm, type)) &&
        asy_is_subtype((AsyType *)ASY_AS_OBJ(t), base)) {
        AsyValue val = argc > 1 ? argv[1] : ASY_NONE;
        if (asy_isinstance(vm, val, (AsyType *)ASY_AS_OBJ(t))) return val;
        if (ASY_IS_NONE(val)) return asy_exc_new(vm, (AsyType *)ASY_AS_OBJ(t), 0, NULL);
        return asy_exc_new(vm, (AsyType *)ASY_AS_OBJ(t), 1, &val);
    }
    if (asy_isinstance(vm, t, base)) {
        if (argc > 1 && !ASY_IS_NONE(argv[1]))
            return asy_raise(vm, ASY_EXC_TypeError,
                             "instance exception may not have a separate value");
        return t;
    }
    return asy_raise(vm, ASY_EXC_TypeError,
                     "exceptions must be classes or instances deriving from BaseException, "
                     "not %s", asy_type_name(vm, t));
}

static AsyValue gen_throw(AsyVM *vm, AsyGenerator *g, AsyValue exc) {
    if (!asy_gen_check_resumable(vm, g)) return ASY_ERR;
    if (g->state == ASY_GEN_CLOSED) {
        vm->exc = (AsyException *)ASY_AS_OBJ(exc);
        return ASY_ERR;
    }
    AsyValue out;
    int r = asy_vm_gen_resume(vm, g, ASY_NONE, exc, &out);
    if (r < 0) return ASY_ERR;
    if (r == 1) return out;
    return stop_iteration(vm, out);
}

static AsyValue m_throw(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "throw", argc - 1, 1, 3)) return ASY_ERR;
    AsyValue exc = throw_arg(vm, argc - 1, argv + 1);
    if (ASY_IS_ERR(exc)) return ASY_ERR;
    return gen_throw(vm, as_gen(argv[0]), exc);
}

/* close(): throw GeneratorExit in; a generator that yields again is an error. */
static AsyValue gen_close(AsyVM *vm, AsyGenerator *g) {
    if (g->state == ASY_GEN_CREATED || g->state == ASY_GEN_CLOSED) {
        if (g->state == ASY_GEN_CREATED) {
            if (g->kind == ASY_GENKIND_COROUTINE) g->awaited = true;
            g->state = ASY_GEN_CLOSED;
        }
        return ASY_NONE;
    }
    if (!asy_gen_check_resumable(vm, g)) return ASY_ERR;
    AsyValue exc = asy_exc_new(vm, vm->exc_types[ASY_EXC_GeneratorExit], 0, NULL);
    if (ASY_IS_ERR(exc)) return ASY_ERR;
    AsyValue out;
    int r = asy_vm_gen_resume(vm, g, ASY_NONE, exc, &out);
    if (r == 1)
        return asy_raise(vm, ASY_EXC_RuntimeError, "%s ignored GeneratorExit", kind_word(g));
    if (r == 0) return ASY_NONE;
    if (asy_exc_matches(vm, ASY_EXC_GeneratorExit) || asy_exc_matches(vm, ASY_EXC_StopIteration)) {
        asy_exc_clear(vm);
        return ASY_NONE;
    }
    return ASY_ERR;
}

/* CPython's PyErr_WriteUnraisable for an error out of a finalizer: "Exception ignored
 * in: <obj>" and the traceback, which gets the running frame when it has none (an error
 * made by close() itself). The pending exception is taken. */
static void write_unraisable(AsyVM *vm, AsyValue obj) {
    AsyException *e = vm->exc;
    asy_exc_clear(vm);
    asy_root_push(vm, ASY_OBJ(e));
    AsyFiber *f = vm->fiber;
    if (!e->traceback && f && f->nframes > 0) {
        AsyFrame *fr = &f->frames[f->nframes - 1];
        asy_traceback_push(vm, e, fr->code, fr->pc > 0 ? fr->pc - 1 : 0);
    }
    FILE *err = vm->err ? vm->err : stderr;
    fflush(vm->out ? vm->out : stdout);
    AsyValue r = asy_repr(vm, obj);
    if (ASY_IS_ERR(r)) {
        asy_exc_clear(vm);
        fprintf(err, "Exception ignored in: <object repr() failed>\n");
    } else {
        fprintf(err, "Exception ignored in: %s\n", ((AsyStr *)ASY_AS_OBJ(r))->data);
    }
    asy_traceback_print_unchained(vm, e, err);
    asy_root_pop(vm, 1);
}

void asy_gen_drop_owned(AsyVM *vm, AsyGenerator *g) {
    g->owned = 0;
    if (g->kind == ASY_GENKIND_ASYNC && g->finalizer) {
        asy_agen_finalize(vm, g);
        return;
    }
    if (g->state != ASY_GEN_SUSPENDED) return;
    /* _PyGen_Finalize: close() now, with the exception being raised, if any, put aside */
    AsyException *pending = vm->exc;
    vm->exc = NULL;
    asy_root_push(vm, ASY_OBJ(g));
    asy_root_push(vm, pending ? ASY_OBJ(pending) : ASY_UNDEF);
    if (ASY_IS_ERR(gen_close(vm, g))) write_unraisable(vm, ASY_OBJ(g));
    asy_root_pop(vm, 2);
    vm->exc = pending;
}

static AsyValue m_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    return gen_close(vm, as_gen(argv[0]));
}

static AsyValue m_iter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__iter__", argc - 1, 0, 0)) return ASY_ERR;
    return argv[0];
}

/* ---- async generators: asend/athrow awaitables (driven by AWAIT in vm.c) ---- */

bool asy_is_agen_op(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v)) return false;
    AsyType *t = ASY_AS_OBJ(v)->type;
    return t == ASY_TYPE(vm, async_generator_asend) || t == ASY_TYPE(vm, async_generator_athrow);
}

static AsyValue agen_op_new(AsyVM *vm, AsyValue gen, AsyAgenMode mode, AsyValue value) {
    if (!asy_agen_hooks_init(vm, as_gen(gen))) return ASY_ERR;
    AsyType *t = mode == ASY_AGEN_ASEND ? ASY_TYPE(vm, async_generator_asend)
                                        : ASY_TYPE(vm, async_generator_athrow);
    AsyAgenOp *op = asy_gc_alloc(vm, t, sizeof(AsyAgenOp));
    if (!op) return ASY_ERR;
    op->gen = as_gen(gen);
    op->value = value;
    op->mode = (uint8_t)mode;
    return ASY_OBJ(op);
}

static void agen_op_traverse(AsyVM *vm, AsyObj *o) {
    AsyAgenOp *op = (AsyAgenOp *)o;
    asy_gc_mark_obj(vm, (AsyObj *)op->gen);
    asy_gc_mark_value(vm, op->value);
}

static AsyValue agen_op_repr(AsyVM *vm, AsyValue self) {
    return ASY_OBJ(asy_str_printf(vm, "<%s object at %p>", asy_type_name(vm, self),
                                  (void *)ASY_AS_OBJ(self)));
}

static AsyValue m_anext(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__anext__", argc - 1, 0, 0)) return ASY_ERR;
    return agen_op_new(vm, argv[0], ASY_AGEN_ASEND, ASY_NONE);
}

static AsyValue m_asend(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "asend", argc - 1, 1, 1)) return ASY_ERR;
    return agen_op_new(vm, argv[0], ASY_AGEN_ASEND, argv[1]);
}

static AsyValue m_athrow(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "athrow", argc - 1, 1, 3)) return ASY_ERR;
    AsyValue exc = throw_arg(vm, argc - 1, argv + 1);
    if (ASY_IS_ERR(exc)) return ASY_ERR;
    return agen_op_new(vm, argv[0], ASY_AGEN_ATHROW, exc);
}

AsyValue asy_agen_aclose(AsyVM *vm, AsyGenerator *g) {
    return agen_op_new(vm, ASY_OBJ(g), ASY_AGEN_ACLOSE, ASY_UNDEF);
}

static AsyValue m_aclose(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "aclose", argc - 1, 0, 0)) return ASY_ERR;
    return agen_op_new(vm, argv[0], ASY_AGEN_ACLOSE, ASY_UNDEF);
}

static const AsyMethodDef gen_methods[] = {
    {"send", m_send, ASY_METH_NOKW, "send(arg) -> send 'arg' into generator"},
    {"throw", m_throw, ASY_METH_NOKW, "throw(value) -> raise exception in generator"},
    {"close", m_close, ASY_METH_NOKW, "close() -> raise GeneratorExit inside generator."},
    {"__next__", m_next, ASY_METH_NOKW, "Implement next(self)."},
    {"__iter__", m_iter, ASY_METH_NOKW, "Implement iter(self)."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef coro_methods[] = {
    {"send", m_send, ASY_METH_NOKW, "send(arg) -> send 'arg' into coroutine"},
    {"throw", m_throw, ASY_METH_NOKW, "throw(value) -> raise exception in coroutine"},
    {"close", m_close, ASY_METH_NOKW, "close() -> raise GeneratorExit inside coroutine."},
    {"__await__", asy_coro_await_method, ASY_METH_NOKW | ASY_METH_SLOT,
     "Return an iterator to be used in await expression."},
    {NULL, NULL, 0, NULL},
};

static const AsyMethodDef agen_methods[] = {
    {"__aiter__", m_iter, ASY_METH_NOKW, "Return an awaitable, that resolves in asynchronous iterator."},
    {"__anext__", m_anext, ASY_METH_NOKW, "Return a value or raise StopAsyncIteration."},
    {"asend", m_asend, ASY_METH_NOKW, "asend(v) -> send 'v' in generator."},
    {"athrow", m_athrow, ASY_METH_NOKW, "athrow(typ[,val[,tb]]) -> raise exception in generator."},
    {"aclose", m_aclose, ASY_METH_NOKW, "aclose() -> raise GeneratorExit inside generator."},
    {NULL, NULL, 0, NULL},
};

static AsyType *make_gen_type(AsyVM *vm, const char *name, const AsyMethodDef *methods) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyGenerator));
    t->tflags &= ~ASY_TYPE_BASETYPE;
    t->repr = gen_repr;
    t->getattr = gen_getattr;
    t->setattr = gen_setattr;
    t->traverse = gen_traverse;
    t->finalize = gen_finalize;
    asy_type_add_methods(vm, t, methods);
    return t;
}

void asy_generator_init(AsyVM *vm) {
    AsyType *t = make_gen_type(vm, "generator", gen_methods);
    t->iter = gen_iter_slot;
    t->next = gen_next_slot;
    asy_type_ready(vm, t);
    vm->types[ASY_TYPE_generator] = t;

    t = make_gen_type(vm, "coroutine", coro_methods);
    t->tflags |= ASY_TYPE_FINALIZE_AT_EXIT; /* "never awaited" */
    asy_type_ready(vm, t);
    vm->types[ASY_TYPE_coroutine] = t;
    asy_coro_wrapper_init(vm);

    t = make_gen_type(vm, "async_generator", agen_methods);
    asy_type_ready(vm, t);
    vm->types[ASY_TYPE_async_generator] = t;

    const char *ops[] = {"async_generator_asend", "async_generator_athrow"};
    for (int i = 0; i < 2; i++) {
        t = asy_type_new_builtin(vm, ops[i], ASY_TYPE(vm, object), sizeof(AsyAgenOp));
        t->tflags &= ~ASY_TYPE_BASETYPE;
        t->repr = agen_op_repr;
        t->traverse = agen_op_traverse;
        asy_type_ready(vm, t);
        vm->types[i == 0 ? ASY_TYPE_async_generator_asend : ASY_TYPE_async_generator_athrow] = t;
    }
}
