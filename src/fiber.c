/* fiber.c - a fiber: a task's value stack and frame stack (layout and invariants in
 * fiber.h), their growth, the VM's main fiber, and what the GC marks in them. Running code
 * on a fiber is vm.c's job. */
#include "fiber.h"

#include <string.h>

#define FIBER_INITIAL_STACK 256
#define FIBER_INITIAL_FRAMES 16

void asy_fiber_init_bare(AsyFiber *f) {
    memset(f, 0, sizeof *f);
    f->handled = NULL;
    f->state = ASY_FIBER_NEW;
}

void asy_fiber_release(AsyVM *vm, AsyFiber *f) {
    if (!f->stack_borrowed) asy_mem_free(vm, f->stack, sizeof(AsyValue) * (size_t)f->stackcap);
    f->stack_borrowed = false;
    if (!f->frames_borrowed) asy_mem_free(vm, f->frames, sizeof(AsyFrame) * (size_t)f->framecap);
    f->stack = NULL;
    f->frames = NULL;
    f->sp = f->stackcap = f->nframes = f->framecap = 0;
    f->frames_borrowed = false;
}

AsyFiber *asy_fiber_current(AsyVM *vm) {
    if (vm->fiber) return vm->fiber;
    if (!vm->main_fiber) {
        AsyFiber *f = asy_mem_alloc(vm, sizeof *f);
        if (!f) return NULL;
        asy_fiber_init_bare(f);
        f->stack = asy_mem_alloc(vm, sizeof(AsyValue) * FIBER_INITIAL_STACK);
        f->frames = asy_mem_alloc(vm, sizeof(AsyFrame) * FIBER_INITIAL_FRAMES);
        vm->main_fiber = f;
        if (!f->stack || !f->frames) {
            asy_fiber_free_main(vm);
            return NULL;
        }
        f->stackcap = FIBER_INITIAL_STACK;
        f->framecap = FIBER_INITIAL_FRAMES;
    }
    vm->main_fiber->state = ASY_FIBER_RUNNING;
    vm->fiber = vm->main_fiber;
    return vm->fiber;
}

void asy_fiber_free_main(AsyVM *vm) {
    while (vm->nfiber_pool > 0) asy_mem_free(vm, vm->fiber_pool[--vm->nfiber_pool], sizeof(AsyFiber));
    AsyFiber *f = vm->main_fiber;
    if (!f) return;
    if (vm->fiber == f) vm->fiber = NULL;
    vm->main_fiber = NULL;
    asy_fiber_release(vm, f);
    asy_mem_free(vm, f, sizeof *f);
}

AsyFiber *asy_fiber_alloc(AsyVM *vm) { return asy_mem_alloc(vm, sizeof(AsyFiber)); }

void asy_fiber_give(AsyVM *vm, AsyFiber *f) {
    asy_fiber_release(vm, f);
    asy_fiber_recycle(vm, f);
}

void asy_fiber_free_struct(AsyVM *vm, AsyFiber *f) { asy_mem_free(vm, f, sizeof *f); }

bool asy_fiber_ensure_stack(AsyVM *vm, AsyFiber *f, int64_t need) {
    int64_t want = (int64_t)f->sp + need;
    if (want <= f->stackcap) return true;
    if (want > INT32_MAX / 2) {
        asy_raise(vm, ASY_EXC_MemoryError, "stack overflow");
        return false;
    }
    int64_t cap = f->stackcap ? f->stackcap : 16;
    while (cap < want) cap *= 2;
    AsyValue *s;
    if (f->stack_borrowed) { /* leave the coroutine's slot area for a buffer of our own */
        s = asy_mem_alloc(vm, sizeof(AsyValue) * (size_t)cap);
        if (!s) return false;
        memcpy(s, f->stack, sizeof(AsyValue) * (size_t)f->stackcap);
        f->stack_borrowed = false;
    } else {
        s = asy_mem_realloc(vm, f->stack, sizeof(AsyValue) * (size_t)f->stackcap,
                            sizeof(AsyValue) * (size_t)cap);
        if (!s) return false;
    }
    f->stack = s;
    f->stackcap = (int32_t)cap;
    return true;
}

AsyFrame *asy_fiber_push_frame(AsyVM *vm, AsyFiber *f) {
    if (ASY_UNLIKELY(f->nframes >= vm->recursion_limit)) {
        asy_raise(vm, ASY_EXC_RecursionError, "maximum recursion depth exceeded");
        return NULL;
    }
    if (f->nframes == f->framecap) {
        int32_t cap = f->framecap ? f->framecap * 2 : 1;
        AsyFrame *fr;
        if (f->frames_borrowed) { /* the frame moves out of its generator into our array */
            fr = asy_mem_alloc(vm, sizeof(AsyFrame) * (size_t)cap);
            if (!fr) return NULL;
            memcpy(fr, f->frames, sizeof(AsyFrame) * (size_t)f->nframes);
            f->frames_borrowed = false;
        } else {
            fr = asy_mem_realloc(vm, f->frames, sizeof(AsyFrame) * (size_t)f->framecap,
                                 sizeof(AsyFrame) * (size_t)cap);
            if (!fr) return NULL;
        }
        f->frames = fr;
        f->framecap = cap;
    }
    AsyFrame *fr = &f->frames[f->nframes++];
    fr->flags = 0;
    fr->resume = ASY_RESUME_NONE;
    fr->nblocks = 0;
    fr->aux = NULL; /* and ns */
    fr->pc = 0;
    return fr;
}

void asy_fiber_mark_frame(AsyVM *vm, const AsyFrame *fr) {
    asy_gc_mark_obj(vm, (AsyObj *)fr->func);
    asy_gc_mark_obj(vm, (AsyObj *)fr->code);
    asy_gc_mark_obj(vm, (AsyObj *)fr->globals);
    /* ns or aux: an object either way */
    if (fr->flags & (ASY_FRAME_CLASS | ASY_FRAME_MODULE | ASY_FRAME_INIT | ASY_FRAME_GEN))
        asy_gc_mark_obj(vm, fr->aux);
    if (fr->flags & (ASY_FRAME_HANDLED | ASY_FRAME_GEN)) asy_gc_mark_obj(vm, fr->saved_handled);
}

void asy_fiber_mark(AsyVM *vm, const AsyFiber *f) {
    if (!f) return;
    asy_gc_mark_values(vm, f->stack, f->sp);
    int32_t i = 0;
    if (f->frames_borrowed && f->nframes > 0) {
        /* frame 0 is a task coroutine's own frame, which the coroutine marks */
        asy_gc_mark_obj(vm, f->frames[0].aux);
        i = 1;
    }
    for (; i < f->nframes; i++) asy_fiber_mark_frame(vm, &f->frames[i]);
    asy_gc_mark_obj(vm, f->handled);
}
