/* test_vm.c - the VM's C entry points: asy_call into compiled functions (binding and its
 * errors), generators resumed from C, and tasks that suspend on a native awaitable and
 * are resumed (or have an exception thrown in) by a scheduler, here the test itself. */
#include <criterion/criterion.h>
#include <string.h>

#include "common.h"
#include "fiber.h"
#include "generator.h"
#include "vm.h"

static AsyVM *vm;
static AsyModule *mod;

static void run(const char *src) {
    vm = asy_vm_new();
    cr_assert_not_null(vm);
    mod = asy_vm_run_source(vm, src, strlen(src), "test.asy", "__main__");
    if (!mod) asy_vm_print_exception(vm);
    cr_assert_not_null(mod, "the module failed to run");
}

/* The fiber of the task a test runs (a task's fiber lives in its Task; here, in the
 * test), and the coroutine it starts with. */
static AsyFiber task_fiber;
static AsyValue task_coro;

static void done(void) {
    asy_fiber_release(vm, &task_fiber);
    asy_vm_free(vm);
    vm = NULL;
}

static AsyValue global(const char *name) {
    AsyValue v = asy_dict_get_cstr(vm, mod->dict, name);
    cr_assert(!ASY_IS_UNDEF(v) && !ASY_IS_ERR(v), "no global %s", name);
    return v;
}

/* The pending exception's message, then clear it. */
static const char *take_error(char *buf, size_t n) {
    cr_assert_not_null(vm->exc, "an exception should be pending");
    AsyValue s = asy_str(vm, ASY_OBJ(vm->exc));
    cr_assert(!ASY_IS_ERR(s));
    snprintf(buf, n, "%s: %s", vm->exc->hdr.type->name, ((AsyStr *)ASY_AS_OBJ(s))->data);
    asy_exc_clear(vm);
    return buf;
}

Test(vm, call_with_positional_and_keyword_arguments, .fini = done) {
    run("def f(a, b=10, *rest, k=1, **kw):\n"
        "    return a + b + sum(rest) + k + len(kw)\n");
    AsyValue args[3] = {ASY_INT(1), ASY_INT(2), ASY_INT(3)};
    AsyValue r = asy_call(vm, global("f"), 3, args, NULL);
    cr_assert_eq(ASY_AS_INT(r), 1 + 2 + 3 + 1);
    AsyDict *kw = asy_dict_new(vm);
    asy_dict_set_cstr(vm, kw, "k", ASY_INT(100));
    asy_dict_set_cstr(vm, kw, "extra", ASY_INT(0));
    r = asy_call(vm, global("f"), 1, args, kw);
    cr_assert_eq(ASY_AS_INT(r), 1 + 10 + 100 + 1);
}

Test(vm, call_errors_use_cpython_messages, .fini = done) {
    run("def f(a, b):\n    return a\n");
    char buf[200];
    AsyValue r = asy_call(vm, global("f"), 0, NULL, NULL);
    cr_assert(ASY_IS_ERR(r));
    cr_assert_str_eq(take_error(buf, sizeof buf),
                     "TypeError: f() missing 2 required positional arguments: 'a' and 'b'");
    AsyValue args[3] = {ASY_INT(1), ASY_INT(2), ASY_INT(3)};
    r = asy_call(vm, global("f"), 3, args, NULL);
    cr_assert(ASY_IS_ERR(r));
    cr_assert_str_eq(take_error(buf, sizeof buf),
                     "TypeError: f() takes 2 positional arguments but 3 were given");
}

Test(vm, exceptions_unwind_to_the_c_caller, .fini = done) {
    run("def f(n):\n"
        "    if n == 0:\n"
        "        raise ValueError('bottom')\n"
        "    return f(n - 1)\n");
    AsyValue arg = ASY_INT(50);
    AsyValue r = asy_call(vm, global("f"), 1, &arg, NULL);
    cr_assert(ASY_IS_ERR(r));
    char buf[200];
    cr_assert_str_eq(take_error(buf, sizeof buf), "ValueError: bottom");
    cr_assert_eq(vm->fiber->nframes, 0, "every frame was unwound");
}

Test(vm, generator_resumed_from_c, .fini = done) {
    run("def g(n):\n"
        "    total = 0\n"
        "    for i in range(n):\n"
        "        total += yield i\n"
        "    return total\n");
    AsyValue arg = ASY_INT(3);
    AsyValue gen = asy_call(vm, global("g"), 1, &arg, NULL);
    cr_assert(asy_is_gen(vm, gen));
    asy_root_push(vm, gen);
    AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(gen);
    AsyValue out;
    cr_assert_eq(asy_vm_gen_resume(vm, g, ASY_NONE, ASY_UNDEF, &out), 1);
    cr_assert_eq(ASY_AS_INT(out), 0);
    cr_assert_eq(asy_vm_gen_resume(vm, g, ASY_INT(10), ASY_UNDEF, &out), 1);
    cr_assert_eq(ASY_AS_INT(out), 1);
    cr_assert_eq(asy_vm_gen_resume(vm, g, ASY_INT(20), ASY_UNDEF, &out), 1);
    cr_assert_eq(asy_vm_gen_resume(vm, g, ASY_INT(30), ASY_UNDEF, &out), 0);
    cr_assert_eq(ASY_AS_INT(out), 60, "the return value comes back");
    cr_assert_eq(g->state, ASY_GEN_CLOSED);
    asy_root_pop(vm, 1);
}

/* A generator whose slot area a bare fiber took (as a task's first step adopts its
 * coroutine's) and whose frame came back before it ran keeps its slots in a malloc'd
 * buffer from then on, since the fiber may still run on that area: the collector marks
 * them there, the generator runs from there, and finishing frees the buffer (the
 * sanitizer build checks the frees). */
Test(vm, generator_slots_move_to_a_buffer, .fini = done) {
    run("def g(a):\n"
        "    b = yield a\n"
        "    yield a + b\n");
    AsyValue arg = ASY_OBJ(asy_str_printf(vm, "made %d", 1));
    AsyValue gen = asy_call(vm, global("g"), 1, &arg, NULL);
    asy_root_push(vm, gen);
    AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(gen);
    cr_assert_eq(g->where, ASY_GEN_SLOTS_INLINE);
    asy_fiber_init_bare(&task_fiber);
    cr_assert(asy_gen_push(vm, &task_fiber, g, ASY_RESUME_NATIVE, ASY_UNDEF));
    cr_assert_eq(g->where, ASY_GEN_SLOTS_NONE);
    cr_assert(task_fiber.stack == asy_gen_slots(g) && task_fiber.frames == &g->frame);
    cr_assert(asy_gen_save(vm, &task_fiber, g, task_fiber.sp));
    cr_assert_eq(g->where, ASY_GEN_SLOTS_HEAP);
    cr_assert(asy_gen_stack(g) != asy_gen_slots(g) && g->depth >= 1);
    g->state = ASY_GEN_CREATED; /* it never ran: the next resume starts it */
    memset(asy_gen_slots(g), 0, sizeof(AsyValue)); /* the fiber's now, whatever it holds */
    asy_gc_collect(vm);
    AsyValue out;
    cr_assert_eq(asy_vm_gen_resume(vm, g, ASY_NONE, ASY_UNDEF, &out), 1);
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(out))->data, "made 1");
    AsyValue b = ASY_OBJ(asy_str_from_cstr(vm, " and sent"));
    cr_assert_eq(asy_vm_gen_resume(vm, g, b, ASY_UNDEF, &out), 1);
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(out))->data, "made 1 and sent");
    cr_assert_eq(asy_vm_gen_resume(vm, g, ASY_NONE, ASY_UNDEF, &out), 0);
    cr_assert_eq(g->state, ASY_GEN_CLOSED);
    cr_assert_eq(g->where, ASY_GEN_SLOTS_NONE);
    asy_root_pop(vm, 1);
}

/* A native awaitable: not ready the first `pending` times it is awaited, then ready. */
typedef struct {
    AsyObj hdr;
    int pending;
    int64_t value;
} Waiter;

static int waiter_await(AsyVM *v, AsyValue self, AsyValue sent, AsyAwaitMode mode,
                        AsyValue *result) {
    ASY_UNUSED(v);
    ASY_UNUSED(sent);
    if (mode == ASY_AWAIT_ABANDONED) return ASY_AWAIT_DONE;
    Waiter *w = (Waiter *)ASY_AS_OBJ(self);
    if (w->pending > 0) {
        w->pending--;
        *result = ASY_INT(-1);
        return ASY_AWAIT_SUSPEND;
    }
    *result = ASY_INT(w->value);
    return ASY_AWAIT_DONE;
}

static AsyValue new_waiter(int pending, int64_t value) {
    AsyType *t = asy_type_new_builtin(vm, "waiter", ASY_TYPE(vm, object), sizeof(Waiter));
    t->await_ = waiter_await;
    asy_type_ready(vm, t);
    asy_root_push(vm, ASY_OBJ(t));
    Waiter *w = asy_gc_alloc(vm, t, sizeof(Waiter));
    asy_root_pop(vm, 1);
    w->pending = pending;
    w->value = value;
    return ASY_OBJ(w);
}

static AsyFiber *task_of(const char *fn, AsyValue arg) {
    AsyValue coro = asy_call(vm, global(fn), 1, &arg, NULL);
    cr_assert(asy_is_coroutine(vm, coro));
    asy_root_push(vm, coro);
    cr_assert(asy_fiber_start_task(vm, coro));
    asy_fiber_init_bare(&task_fiber);
    task_coro = coro;
    return &task_fiber;
}

/* Step the task: its first resume starts the coroutine, as task.c's does. */
static AsyRunStatus resume(AsyFiber *f, AsyValue exc, AsyValue *out) {
    return asy_fiber_resume(vm, f, f->state == ASY_FIBER_NEW ? task_coro : ASY_NONE, exc, false, out);
}

Test(vm, task_suspends_on_a_native_awaitable_and_resumes, .fini = done) {
    run("async def inner(w):\n"
        "    return (await w) * 2\n"
        "async def main(w):\n"
        "    x = await inner(w)\n"
        "    return x + 1\n");
    AsyValue w = new_waiter(2, 20);
    asy_root_push(vm, w);
    AsyFiber *f = task_of("main", w);
    AsyValue out;
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_SUSPENDED);
    cr_assert_eq(ASY_AS_INT(out), -1, "the value the awaitable handed over");
    cr_assert_gt(f->nframes, 1, "the await chain stays on the task's fiber");
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_SUSPENDED);
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_DONE);
    cr_assert_eq(ASY_AS_INT(out), 41);
    cr_assert_eq(f->state, ASY_FIBER_DONE);
}

Test(vm, scheduler_completes_a_suspended_await, .fini = done) {
    run("async def main(w):\n"
        "    x = await w\n"
        "    return x + 1\n");
    AsyValue w = new_waiter(5, 0);
    asy_root_push(vm, w);
    AsyFiber *f = task_of("main", w);
    AsyValue out;
    cr_assert(!asy_fiber_at_await(f, w), "not started yet");
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_SUSPENDED);
    cr_assert(asy_fiber_at_await(f, w));
    cr_assert(!asy_fiber_at_await(f, ASY_INT(0)), "another awaitable");
    /* the await gives 41 without asking the awaitable (which would suspend again) */
    cr_assert_eq(asy_fiber_resume(vm, f, ASY_INT(41), ASY_UNDEF, true, &out), ASY_RUN_DONE);
    cr_assert_eq(ASY_AS_INT(out), 42);
    cr_assert_eq(((Waiter *)ASY_AS_OBJ(w))->pending, 4);
}

Test(vm, exception_thrown_into_a_suspended_task, .fini = done) {
    run("async def main(w):\n"
        "    try:\n"
        "        await w\n"
        "    except KeyError as e:\n"
        "        return 'caught ' + str(e)\n");
    AsyValue w = new_waiter(5, 0);
    asy_root_push(vm, w);
    AsyFiber *f = task_of("main", w);
    AsyValue out;
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_SUSPENDED);
    AsyValue msg = ASY_OBJ(asy_str_from_cstr(vm, "k"));
    AsyValue exc = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyError], 1, &msg);
    cr_assert_eq(resume(f, exc, &out), ASY_RUN_DONE);
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(out))->data, "caught 'k'");
}

Test(vm, uncaught_exception_ends_the_task, .fini = done) {
    run("async def main(w):\n"
        "    await w\n"
        "    raise ValueError('late')\n");
    AsyValue w = new_waiter(1, 0);
    asy_root_push(vm, w);
    AsyFiber *f = task_of("main", w);
    AsyValue out;
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_SUSPENDED);
    cr_assert_eq(resume(f, ASY_UNDEF, &out), ASY_RUN_ERROR);
    char buf[200];
    cr_assert_str_eq(take_error(buf, sizeof buf), "ValueError: late");
    cr_assert_eq(f->nframes, 0);
}

Test(vm, awaiting_outside_a_task_yields_through_send, .fini = done) {
    run("class F:\n"
        "    def __await__(self):\n"
        "        got = yield 'ready?'\n"
        "        return got\n"
        "async def main():\n"
        "    return await F()\n"
        "c = main()\n"
        "first = c.send(None)\n"
        "try:\n"
        "    c.send(7)\n"
        "except StopIteration as e:\n"
        "    result = e.value\n");
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(global("first")))->data, "ready?");
    cr_assert_eq(ASY_AS_INT(global("result")), 7);
}
