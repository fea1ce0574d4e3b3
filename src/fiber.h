/* fiber.h - a task's value stack and frame stack, and how a task suspends and resumes.
 *
 * Every piece of asy code runs inside a fiber (vm->fiber). A fiber owns:
 * - a value stack: one growable AsyValue array addressed by integer indexes (Janet style),
 *   so growing it never invalidates anything stored as an index. The VM caches raw
 *   pointers into it and refreshes them after anything that can grow it (any call that may
 *   run asy code);
 * - a frame stack: one growable AsyFrame array, one entry per active asy function call.
 *
 * Layout of one frame's slots on the value stack (opcodes.h):
 *
 *     stack[base ..]  locals (code->nlocals) | cells (ncells) | frees (nfree) |
 *                     handler blocks (maxblocks) | eval stack
 *
 * Invariants:
 * - fiber->sp is the index one past the live top of the running frame's evaluation stack
 *   whenever the VM may collect or call out (it saves it before every such point). Every
 *   slot below fiber->sp is live and initialised; the GC marks exactly stack[0 .. sp).
 * - A frame's callers lie below it: frames[i].base >= frames[i-1]'s stack top.
 * - Handler blocks record stack depths RELATIVE to the frame's base, so a generator frame
 *   can be copied elsewhere on a stack (or another fiber) without fix-ups.
 * - A suspended generator owns its frame (AsyGenerator.frame plus a copy of its stack
 *   segment); while it runs, that frame lives on the running fiber and the generator is
 *   marked running.
 *
 * Frame kinds (flags):
 * - ASY_FRAME_BOUNDARY: the first frame of a nested dispatch loop started from C (asy_call,
 *   a generator resumed by a native). When it returns or an exception leaves it, the loop
 *   returns to its C caller.
 * - ASY_FRAME_INIT: __init__ run for `C(...)`: its result must be None and is replaced by
 *   the instance held in frame->aux.
 * - ASY_FRAME_CLASS: a class body: when it returns, the class is built from the namespace
 *   (frame->ns) and the `body name bases..` left on the caller's stack (frame->nbases).
 * - ASY_FRAME_GEN: a generator, coroutine or async generator frame (aux: the generator).
 *   frame->resume says who resumed it, which decides where a yield and a return go.
 *
 * Suspension (the hook the async runtime builds on):
 * - A task is a fiber whose bottom frame is a coroutine's, started with
 *   asy_fiber_start_task and stepped with asy_fiber_resume by the scheduler.
 * - `await x` (AWAIT) on a coroutine or generator pushes its frame onto the same fiber: no
 *   copying, no C recursion. A whole await chain lives on the task's fiber.
 * - `await x` on a native awaitable (a type whose `await_` slot is set, see object.h)
 *   calls that slot each time the instruction executes: DONE gives the result, ERROR
 *   raises, SUSPEND makes the fiber suspend: asy_fiber_resume returns ASY_RUN_SUSPENDED
 *   (out: the value the slot stored, or UNDEF) with every frame intact; when the
 *   scheduler resumes the fiber, AWAIT runs again and asks the slot again.
 * - A bare `yield v` reaching an awaiting frame (a generator-based __await__) suspends the
 *   fiber too, handing v to the scheduler (as CPython hands it to Task.__step); resuming
 *   with `send` makes the yield return that value.
 * - Resuming with `throw` set raises that exception at the suspension point (how a
 *   scheduler delivers CancelledError).
 * - Suspension is only possible from the dispatch loop that asy_fiber_resume started. In a
 *   nested loop behind a C frame (a coroutine stepped by coro.send() from C), a yield that
 *   reaches an await travels down the await chain as in CPython instead: every awaiting
 *   frame is saved into its coroutine, suspended AT its AWAIT, and the value comes out of
 *   send(); the next send() re-executes those AWAITs, passing the sent value inwards
 *   (vm->pending_send). A native awaitable asked in such a loop (ASY_AWAIT_STEPPED) must
 *   not make the running task wait: it hands out what CPython's awaitable would yield
 *   (sleep(0): None; sleep(delay) and a pending future: a Future), which travels that way,
 *   and is asked again, with the sent value, when the caller sends.
 */
#ifndef ASY_FIBER_H
#define ASY_FIBER_H

#include "opcodes.h"
#include "vm.h"

/* One exception handler (SETUP_FINALLY): where to jump, and the stack depth to cut back
 * to, relative to the frame's base. Open blocks live in the frame's own slots, between
 * its frees and its evaluation stack (code->blockbase, code->maxblocks of them), each an
 * int value packing the pair: the GC skips them, and a generator's blocks travel with its
 * stack segment. A frame that opens no block costs nothing for them. */
typedef struct {
    int32_t handler;
    int32_t depth;
} AsyBlock;

static inline AsyValue asy_block_pack(AsyBlock b) {
    return ASY_INT(((int64_t)b.depth << 32) | (int64_t)(uint32_t)b.handler);
}
static inline AsyBlock asy_block_unpack(AsyValue v) {
    return (AsyBlock){(int32_t)(uint32_t)(ASY_AS_INT(v) & 0xffffffff),
                      (int32_t)(ASY_AS_INT(v) >> 32)};
}

#define ASY_FRAME_BOUNDARY (1u << 0)
#define ASY_FRAME_INIT (1u << 1)
#define ASY_FRAME_CLASS (1u << 2)
#define ASY_FRAME_GEN (1u << 3)
#define ASY_FRAME_MODULE (1u << 4) /* module code run by asy_vm_run_code              */
#define ASY_FRAME_HANDLED (1u << 5) /* saved_handled is set: the frame entered a handler */

/* Who resumed a generator frame (frame->resume). The resumer's pc stays on the
 * instruction that resumed it; the generator's yield and return complete it. */
typedef enum {
    ASY_RESUME_NONE,     /* not a generator frame                                       */
    ASY_RESUME_NATIVE,   /* send/next/throw from C: the nested loop returns the value   */
    ASY_RESUME_FOR_ITER, /* FOR_ITER: a yield pushes the value, a return ends the loop  */
    ASY_RESUME_YIELD_FROM, /* YIELD_FROM in a delegating generator                       */
    ASY_RESUME_AWAIT,    /* AWAIT on a coroutine/generator: a yield suspends the fiber  */
    ASY_RESUME_ASEND,    /* AWAIT on an async generator's asend/athrow: a yield is the
                            await's result, a return raises StopAsyncIteration          */
} AsyResumeKind;

typedef struct {
    AsyFunction *func;       /* NULL for module code                                   */
    AsyCode *code;
    AsyDict *globals;
    /* The next two are only valid (and only marked by the GC) for the frame kinds
     * named, so that the call fast path need not write them. They share their storage:
     * no kind has both, and the frame array is what every call touches. */
    union {
        AsyDict *ns;         /* CLASS|MODULE: the LOAD_NAME/STORE_NAME namespace        */
        AsyObj *aux;         /* INIT: the instance; GEN: the generator                  */
    };
    AsyObj *saved_handled;   /* HANDLED|GEN: fiber->handled when the frame was entered,
                                restored when it leaves. Recorded lazily, the first time
                                the frame enters an exception handler.                 */
    int32_t pc;              /* next instruction (index into code->code)               */
    int32_t base;            /* stack index of local 0                                 */
    int32_t sp;              /* saved stack top, while not the running frame           */
    int32_t ret_sp;          /* where the caller's stack top goes back to on return    */
    uint16_t flags;          /* ASY_FRAME_*                                            */
    uint8_t resume;          /* AsyResumeKind                                          */
    uint8_t nblocks;         /* open handler blocks (their slots: AsyBlock above)       */
    int32_t nbases;          /* CLASS: BUILD_CLASS's arg (the bases on the caller's
                                stack, ASY_BUILD_CLASS_KW); garbage for other kinds    */
} AsyFrame;

/* Every call writes one, a fiber holds an array of them and every generator one: keep
 * it at eight words. (The builtins are the builtins module's dict, vm->builtins->dict,
 * for every frame.) */
_Static_assert(sizeof(AsyFrame) == 64, "AsyFrame grew");

/* Not an object of its own: a task's fiber is malloc'd (asy_fiber_take) and held by its
 * Task while the task needs one (task.h), the main fiber belongs to the VM. Whoever holds
 * one marks it (asy_fiber_mark). */
struct AsyFiber {
    AsyValue *stack;
    int32_t sp;              /* see the invariants above                               */
    int32_t stackcap;
    AsyFrame *frames;
    int32_t nframes;
    int32_t framecap;
    AsyObj *handled;         /* the exception being handled (sys.exc_info), or NULL for
                                None: a pointer, not a value, so that a task's fiber and
                                every generator's frame are 8 bytes smaller            */
    uint8_t state;           /* AsyFiberState                                          */
    bool frames_borrowed;    /* frames is a task coroutine's own AsyGenerator.frame,
                                used in place (capacity 1) until a second frame is
                                pushed or that frame leaves (asy_gen_push)             */
    bool stack_borrowed;     /* stack is the slot area inside a task coroutine's object
                                (asy_gen_push): never freed nor realloc'd here; growing
                                moves the stack to a buffer of the fiber's own          */
    int32_t nested;          /* dispatch loops running on this fiber right now         */
};

typedef enum {
    ASY_FIBER_NEW,       /* created, never resumed                                      */
    ASY_FIBER_RUNNING,
    ASY_FIBER_SUSPENDED,
    ASY_FIBER_DONE,      /* its coroutine returned or raised                            */
} AsyFiberState;

typedef enum {
    ASY_RUN_DONE,        /* the task's coroutine returned: *out is its value           */
    ASY_RUN_ERROR,       /* it raised: the exception is pending in vm->exc              */
    ASY_RUN_SUSPENDED,   /* it waits: *out is the value it handed over (UNDEF if none)  */
} AsyRunStatus;

/* A native awaitable's answer (the `await_` slot of object.h). */
#define ASY_AWAIT_ERROR (-1)
#define ASY_AWAIT_DONE 0     /* *result is the value of the await expression           */
#define ASY_AWAIT_SUSPEND 1  /* not ready: suspend the task; *result may carry a value
                                for the scheduler (UNDEF otherwise)                    */

/* An optional object field (fiber->handled, frame->saved_handled, a task's step_exc) and
 * the value asy code sees: NULL stands for None (or "none" where the field's value is
 * never None). */
static inline AsyObj *asy_obj_or_null(AsyValue v) { return ASY_IS_OBJ(v) ? ASY_AS_OBJ(v) : NULL; }
static inline AsyValue asy_obj_or_none(AsyObj *o) { return o ? ASY_OBJ(o) : ASY_NONE; }

/* fiber.c */
/* A fiber with no stack or frames yet (a task's, asy_fiber_take): both grow on first
 * use, and the first asy_gen_push onto it adopts the generator's stack buffer instead of
 * copying it, and runs the generator's frame where it is (frames_borrowed). */
void asy_fiber_init_bare(AsyFiber *f);
/* Free a fiber's buffers (not the struct); it is empty afterwards. */
void asy_fiber_release(AsyVM *vm, AsyFiber *f);
/* Mark everything a fiber holds (its live stack, its frames, its exception state). */
void asy_fiber_mark(AsyVM *vm, const AsyFiber *f);
/* The running fiber, creating vm->main_fiber if nothing runs yet. */
AsyFiber *asy_fiber_current(AsyVM *vm);
/* asy_vm_free: the main fiber and the free list of task fibers go. */
void asy_fiber_free_main(AsyVM *vm);
/* A fiber struct for a task to run on, contents undefined (the caller fills it in): from
 * the VM's free list, else malloc'd (asy_fiber_alloc). NULL with MemoryError pending. The
 * free list is inline: a task takes one and gives it back at every step. */
AsyFiber *asy_fiber_alloc(AsyVM *vm);
void asy_fiber_free_struct(AsyVM *vm, AsyFiber *f);
static inline AsyFiber *asy_fiber_take(AsyVM *vm) {
    return ASY_LIKELY(vm->nfiber_pool > 0) ? vm->fiber_pool[--vm->nfiber_pool] : asy_fiber_alloc(vm);
}
/* Put a fiber that owns no buffers back on the free list (or free it when that is full). */
static inline void asy_fiber_recycle(AsyVM *vm, AsyFiber *f) {
    if (ASY_LIKELY(vm->nfiber_pool < ASY_FIBER_POOL)) vm->fiber_pool[vm->nfiber_pool++] = f;
    else asy_fiber_free_struct(vm, f);
}
/* Free f's buffers and recycle it. */
void asy_fiber_give(AsyVM *vm, AsyFiber *f);
/* Make room for `need` more slots above fiber->sp; false with MemoryError pending.
 * Invalidates raw pointers into the stack. */
bool asy_fiber_ensure_stack(AsyVM *vm, AsyFiber *f, int64_t need);
/* Push a zeroed frame (fields to be filled by the caller); NULL with RecursionError or
 * MemoryError pending. Invalidates raw pointers into the frame array. */
AsyFrame *asy_fiber_push_frame(AsyVM *vm, AsyFiber *f);
/* The bottom frame of f (a borrowed one) has left: f no longer points into its owner. */
static inline void asy_fiber_frames_released(AsyFiber *f) {
    if (f->frames_borrowed && f->nframes == 0) {
        f->frames = NULL;
        f->framecap = 0;
        f->frames_borrowed = false;
    }
}
/* Mark the live part of a frame array and stack (the GC and generators use it). */
void asy_fiber_mark_frame(AsyVM *vm, const AsyFrame *fr);
/* Slots a frame of `code` needs on the stack (locals, cells, frees, blocks, eval stack, and slack:
 * a bound method or __init__ call writes self into a spare slot, C helpers push a value
 * or two). */
static inline int64_t asy_fiber_frame_size(const AsyCode *code) {
    return code->framesize; /* blockbase + maxblocks + stacksize + 4 (compiler.c) */
}
/* Slots a generator's own buffer holds: the frame without that slack, as many as the
 * deepest point of its evaluation stack needs. A task's coroutine runs on that buffer
 * (asy_gen_push adopts it), so its bottom frame has no slack: every write above the
 * frame's deepest point must make room first (asy_fiber_ensure_stack). */
static inline int64_t asy_gen_frame_size(const AsyCode *code) {
    return code->blockbase + code->maxblocks + code->stacksize;
}

/* One name cache entry (AsyCode.gcache): valid while the dicts keep the versions seen
 * when it was filled (every insert, update and delete bumps a dict's version). The array
 * has three parts of code->nnames entries each, indexed by the name's index: LOAD_GLOBAL's
 * (globals and builtins), then module attributes' (`asyncio.sleep`: `globals` is the
 * module's dict, builtins_version unused), then LOAD_METHOD's on built-in types
 * (`parts.append`: `globals` is the type, globals_version the types' epoch, see
 * asy_vm_lookup_method). */
typedef struct AsyGlobalCache {
    AsyDict *globals;
    uint64_t globals_version, builtins_version;
    AsyValue value;
} AsyGlobalCache;

/* Entries in AsyCode.gcache. */
static inline size_t asy_code_cache_len(const AsyCode *code) { return 3 * (size_t)code->nnames; }

/* Tasks (vm.c): check that a task can run the coroutine `coro` (on a bare fiber, first
 * resumed with it) and mark the coroutine as awaited. TypeError if coro is not a
 * coroutine, RuntimeError if it already ran. */
bool asy_fiber_start_task(AsyVM *vm, AsyValue coro);
/* Run the task until it finishes or suspends. send: the value a suspended `yield`
 * receives (None for a plain wake-up); for the first resume, the coroutine to start (the
 * one given to asy_fiber_start_task). throw: an exception instance to raise at the
 * suspension point instead, or UNDEF. A fiber suspended at an AWAIT re-executes it, unless
 * complete_await (the caller checked asy_fiber_at_await): then that await completes with
 * `send`, which saves asking the awaitable again when the scheduler knows the outcome
 * (sleep(0)'s None). Sets vm->fiber for the duration and restores it. */
AsyRunStatus asy_fiber_resume(AsyVM *vm, AsyFiber *f, AsyValue send, AsyValue throw_exc,
                              bool complete_await, AsyValue *out);
/* Is f suspended at an AWAIT of exactly aw (in its innermost frame)? Inline: the
 * scheduler asks it at every wake-up from a sleep. */
static inline bool asy_fiber_at_await(const AsyFiber *f, AsyValue aw) {
    if (f->state != ASY_FIBER_SUSPENDED || f->nframes == 0 || f->sp == 0) return false;
    const AsyFrame *fr = &f->frames[f->nframes - 1];
    return ASY_OP(fr->code->code[fr->pc]) == ASY_OP_AWAIT && asy_value_is(f->stack[f->sp - 1], aw);
}

#endif
