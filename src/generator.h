/* generator.h - generators, coroutines and async generators (generator.c), and the small
 * interface between them and the dispatch loop (vm.c).
 *
 * One struct serves the three kinds; the type (vm->types[ASY_TYPE_generator], coroutine,
 * async_generator) tells them apart. Calling a function whose code has
 * ASY_CODE_GENERATOR/COROUTINE/ASYNC_GENERATOR binds the arguments into a new frame and
 * returns such an object instead of running (vm.c, asy_gen_new).
 *
 * Invariants:
 * - While not running, the generator owns its frame: `frame` with base 0 (indexes in
 *   `frame` are relative to its stack, asy_gen_stack), and stack[0 .. depth) the frame's
 *   live slots.
 * - While running, the frame lives on a fiber (frame->aux is the generator) and state is
 *   ASY_GEN_RUNNING; the stack keeps its allocation for the next suspension, except for a
 *   task's coroutine, whose buffer became the task fiber's stack (then `where` is NONE
 *   and a suspension allocates one again).
 * - A suspended frame's pc is the next instruction; when it is a YIELD_FROM, the
 *   generator is delegating to the iterator on top of its stack and resuming it re-executes
 *   the YIELD_FROM with the sent value pushed (as does every resumption after a yield).
 */
#ifndef ASY_GENERATOR_H
#define ASY_GENERATOR_H

#include "fiber.h"

typedef enum {
    ASY_GEN_CREATED,     /* never run: resuming starts at pc 0 and pushes nothing       */
    ASY_GEN_SUSPENDED,   /* stopped at a yield: resuming pushes the sent value          */
    ASY_GEN_RUNNING,
    ASY_GEN_CLOSED,
} AsyGenState;

typedef enum { ASY_GENKIND_GENERATOR, ASY_GENKIND_COROUTINE, ASY_GENKIND_ASYNC } AsyGenKind;

/* What few generators have: a __name__ other than their code's (the function's was
 * renamed, or the generator's own was set), in debug mode a coroutine's creation
 * traceback, the exception being handled where it yielded inside an except block, and a
 * stack that outgrew the slot area inside the object. malloc'd on first need, so the
 * common generator is 32 bytes smaller. */
typedef struct {
    AsyStr *name;            /* NULL: the code's name                                   */
    char *origin;            /* malloc'd creation traceback (diag.c), or NULL           */
    AsyObj *exc_state;       /* the exception it was handling when it last yielded, or
                                NULL for none                                          */
    AsyValue *stack;         /* its slots while where is ASY_GEN_SLOTS_HEAP             */
    int32_t stackcap;        /* how many                                               */
} AsyGenExtra;

/* Where a generator's slots are (AsyGenerator.where). */
typedef enum {
    ASY_GEN_SLOTS_INLINE,    /* the area inside the object after the struct (asy_gen_slots) */
    ASY_GEN_SLOTS_HEAP,      /* a malloc'd buffer, extra->stack, once they outgrew it   */
    ASY_GEN_SLOTS_NONE,      /* none: a task's fiber runs on them, or it finished       */
} AsyGenSlotsWhere;

typedef struct {
    /* hdr.flags: where it was made and its __qualname__, an entry of the VM's table
     * (gensite.c, asy_gen_site), whose strings outlive the code object for the
     * finalizer. A coroutine's never-awaited warning names the place (asy's collector
     * cannot tell where the last reference went, as CPython's warning does), and in debug
     * mode its creation traceback (extra->origin; diag.c). */
    AsyObj hdr;
    AsyFrame frame;          /* frame.code stays set once it is closed (cr_code)        */
    int32_t depth;           /* live slots in its stack; while it runs as a parked
                                task's coroutine (task.h), the live slots in its slot
                                area                                                   */
    uint8_t state;           /* AsyGenState                                            */
    uint8_t kind;            /* AsyGenKind                                             */
    uint8_t where;           /* AsyGenSlotsWhere                                       */
    uint8_t awaited : 1;     /* coroutine: given to await or a task. A coroutine freed
                                with this false and state CREATED was never awaited:
                                the hook for CPython's RuntimeWarning is in its finalize */
    uint8_t agen_running : 1; /* async generator: an asend/athrow is being awaited      */
    /* Its only reference is a for/async for loop's iterator slot: a generator function's
     * call was the loop's iterable (vm.c marks it). When the loop drops it unfinished
     * (break, return, an exception) it is finalized at once, as CPython's refcounting
     * does: close() for a generator, the loop's aclose() task for an async generator
     * (asy_gen_drop_owned). */
    uint8_t owned : 1;
    /* Async generators, as CPython's (asyncgen.h): the first asend/athrow/aclose was made
     * (ag_hooks_inited); the loop was running then, so it has the loop's finalizer and is
     * in its registry; it closed (ag_closed: StopAsyncIteration or GeneratorExit came out,
     * or aclose() began). */
    uint8_t hooks_inited : 1;
    uint8_t finalizer : 1;
    uint8_t ag_closed : 1;
    AsyGenExtra *extra;      /* NULL for most                                           */
} AsyGenerator;

/* 100,000 waiting tasks hold 100,000 of these (bench/memory.asy): it must not grow. */
_Static_assert(sizeof(AsyGenerator) == 96, "AsyGenerator grew");

/* An async generator's asend()/__anext__() (mode ASEND) or athrow()/aclose() awaitable. */
typedef enum { ASY_AGEN_ASEND, ASY_AGEN_ATHROW, ASY_AGEN_ACLOSE } AsyAgenMode;

typedef struct {
    AsyObj hdr;
    AsyGenerator *gen;
    AsyValue value;          /* ASEND: the value to send; ATHROW: the exception         */
    uint8_t mode;            /* AsyAgenMode                                            */
    uint8_t used;            /* 0 fresh, 1 started (its AWAIT may re-execute), 2 done:
                                awaiting it again is a RuntimeError                    */
} AsyAgenOp;

/* The slot area allocated with the object, right after the struct: one GC object per
 * generator instead of an object and a malloc'd buffer (a waiting task's coroutine costs
 * the buffer's malloc header and rounding less). */
static inline AsyValue *asy_gen_slots(AsyGenerator *g) { return (AsyValue *)(g + 1); }
/* Its stack (asy_gen_stackcap slots, depth of them live); NULL when where is NONE. */
static inline AsyValue *asy_gen_stack(AsyGenerator *g) {
    if (ASY_LIKELY(g->where == ASY_GEN_SLOTS_INLINE)) return asy_gen_slots(g);
    return g->where == ASY_GEN_SLOTS_HEAP ? g->extra->stack : NULL;
}
/* How many slots its stack has: inside the object, what asy_gen_new gave it. */
static inline int32_t asy_gen_stackcap(const AsyGenerator *g) {
    if (ASY_LIKELY(g->where == ASY_GEN_SLOTS_INLINE))
        return (int32_t)asy_gen_frame_size(g->frame.code);
    return g->where == ASY_GEN_SLOTS_HEAP ? g->extra->stackcap : 0;
}

/* generator.c */
void asy_generator_init(AsyVM *vm);        /* the types (called by asy_vm_init_runtime) */
/* A generator of the kind code->cflags says, owning a frame for fn whose first `nslots`
 * slots (bound arguments, cells, frees) are copied from `slots`. */
AsyGenerator *asy_gen_new(AsyVM *vm, AsyFunction *fn, const AsyValue *slots, int32_t nslots);
static inline bool asy_is_gen(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v)) return false;
    AsyType *t = ASY_AS_OBJ(v)->type;
    return t == ASY_TYPE(vm, generator) || t == ASY_TYPE(vm, coroutine) ||
           t == ASY_TYPE(vm, async_generator);
}
static inline bool asy_is_coroutine(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, coroutine);
}
bool asy_is_agen_op(AsyVM *vm, AsyValue v);
/* __name__: the one set on it, else its code's. */
static inline AsyStr *asy_gen_name(const AsyGenerator *g) {
    return g->extra && g->extra->name ? g->extra->name : g->frame.code->name;
}
/* Where g was made, and its __qualname__. */
static inline const AsyGenSite *asy_gen_site(const AsyVM *vm, const AsyGenerator *g) {
    return asy_gensite(vm, g->hdr.flags);
}
/* g->extra, made on first use; NULL with MemoryError pending. */
AsyGenExtra *asy_gen_extra(AsyVM *vm, AsyGenerator *g);
/* A coroutine that never started and was never given to await or a task (it warns when
 * freed): its qualname and, in debug mode, its creation traceback (*origin, else NULL);
 * NULL for any other generator. */
const char *asy_gen_unawaited_name(AsyVM *vm, AsyGenerator *g, const char **origin);
/* Move a suspended (or created) generator's frame onto the fiber at f->sp, resumed by
 * `resume`; push `sent` unless the generator was just created or sent is UNDEF (a throw);
 * a generator suspended at an AWAIT gets it in vm->pending_send instead. The generator is
 * running afterwards. False with MemoryError/RecursionError pending. */
bool asy_gen_push(AsyVM *vm, AsyFiber *f, AsyGenerator *g, AsyResumeKind resume,
                  AsyValue sent);
/* The top frame of f is g's and has yielded: copy it back into g, pop it; its stack
 * top was `sp` (absolute index). f->sp becomes the frame's base. */
bool asy_gen_save(AsyVM *vm, AsyFiber *f, AsyGenerator *g, int32_t sp);
/* The top frame of f is g's and has finished (returned or raised): pop it, close g. */
void asy_gen_finish(AsyVM *vm, AsyFiber *f, AsyGenerator *g);
/* "generator already executing" and friends: can g be resumed now? */
bool asy_gen_check_resumable(AsyVM *vm, AsyGenerator *g);
/* The RuntimeError that replaces a StopIteration (or, for an async generator,
 * StopAsyncIteration) leaving g's frame (PEP 479); other exceptions unchanged. */
void asy_gen_fix_stop_iteration(AsyVM *vm, AsyGenerator *g);

/* coro_wrapper.c: __await__() of coroutines and native awaitables (a coroutine_wrapper or
 * FutureIter iterator), the types, and the
 * coroutine a wrapper stands for (v itself when it is not a wrapper: the VM steps the
 * coroutine in place of its wrapper). */
AsyValue asy_coro_await_method(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw);
void asy_coro_wrapper_init(AsyVM *vm);
AsyValue asy_coro_unwrap(AsyVM *vm, AsyValue v);
/* The iter slot of futures: their __await__() (CPython's Future.__iter__). */
AsyValue asy_await_iter(AsyVM *vm, AsyValue self);
/* v is a wrapper of a native awaitable (a future's __await__()): stepped by its send. */
bool asy_coro_wrapper_steps(AsyVM *vm, AsyValue v);
/* generator.c: raise StopIteration(value) (bare for None); returns ASY_ERR. */
AsyValue asy_raise_stop_iteration(AsyVM *vm, AsyValue value);

/* A generator its loop dropped unfinished (g->owned: nothing else refers to it) is
 * finalized as CPython's refcounting would at that moment: a generator is closed at once
 * (an error is printed as "Exception ignored in: ..."), an async generator with the
 * loop's finalizer gets its aclose() task (asyncgen.h), one without is closed at once.
 * Any pending exception (the one unwinding the loop) is kept. */
void asy_gen_drop_owned(AsyVM *vm, AsyGenerator *g);
/* g.aclose(): its athrow awaitable in aclose mode. */
AsyValue asy_agen_aclose(AsyVM *vm, AsyGenerator *g);

/* vm.c: run g from C until it yields (returns 1, *out the value), returns (0, *out its
 * return value) or raises (-1). throw_exc: UNDEF, or an exception instance to raise at
 * the suspension point (delegated down a `yield from` chain, as CPython). */
int asy_vm_gen_resume(AsyVM *vm, AsyGenerator *g, AsyValue sent, AsyValue throw_exc,
                      AsyValue *out);

#endif
