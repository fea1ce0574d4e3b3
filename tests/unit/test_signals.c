/* Ctrl-C stops any program: a real SIGINT, delivered by a POSIX timer while asy code spins
 * in a loop that never awaits or calls anything, becomes a KeyboardInterrupt at the VM's
 * next safepoint, and `finally` blocks run on the way out (signals.c, vm.c). */
#include "config.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "vm.h"

static void sigint_after_ms(long ms) {
    timer_t timer;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGINT;
    cr_assert_eq(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
    struct itimerspec its = {.it_value = {.tv_sec = 0, .tv_nsec = ms * 1000000L}};
    cr_assert_eq(timer_settime(timer, 0, &its, NULL), 0);
}

Test(signals, sigint_interrupts_a_busy_loop) {
    signal(SIGINT, SIG_DFL);
    AsyVM *vm = asy_vm_new();
    asy_signals_install(vm);
    const char *src = "done = []\n"
                      "try:\n"
                      "    while True:\n"
                      "        pass\n"
                      "finally:\n"
                      "    done.append('finally ran')\n";
    sigint_after_ms(50);
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<sigint>", "sigint_test");
    cr_assert_null(m, "the loop ended without an exception");
    cr_assert(asy_exc_matches(vm, ASY_EXC_KeyboardInterrupt));
    asy_exc_clear(vm);
    AsyValue mod = asy_dict_get_cstr(vm, vm->modules, "sigint_test");
    AsyValue done = asy_dict_get_cstr(vm, ((AsyModule *)ASY_AS_OBJ(mod))->dict, "done");
    cr_assert_eq(((AsyList *)ASY_AS_OBJ(done))->len, 1, "the finally block did not run");
    asy_signals_uninstall(vm);
    asy_vm_free(vm);
}

Test(signals, ignored_sigint_stays_ignored) {
    signal(SIGINT, SIG_IGN);
    AsyVM *vm = asy_vm_new();
    asy_signals_install(vm);
    struct sigaction now;
    sigaction(SIGINT, NULL, &now);
    cr_assert_eq(now.sa_handler, SIG_IGN, "asy took over a SIGINT its parent ignored");
    asy_vm_free(vm);
    signal(SIGINT, SIG_DFL);
}

/* Programs whose C loops never end, with constant memory: a built-in over an iterator class
 * whose __next__ has no call or loop (no safepoint of its own), a key function, `in`, and
 * built-in iterators that run no asy code at all. Found by tests/fuzz (fuzz_vm) as
 * list(C()), which neither the step budget nor Ctrl-C stopped. */
static const char *const endless_c_loops[] = {
    "class Zeros:\n    def __iter__(self): return self\n    def __next__(self): return 0\n"
    "any(Zeros())\n",
    "class Zeros:\n    def __iter__(self): return self\n    def __next__(self): return 0\n"
    "1 in Zeros()\n",
    "class Seq:\n    def __getitem__(self, i): return 0\nset(Seq())\n",
    "min(iter(int, 1), key=lambda x: 0)\n",
    "any(iter(int, 1))\n",
    "sum(map(abs, iter(int, 1)))\n",
};

/* The fuzzers' step budget reaches loops in C: each ends in RuntimeError. */
Test(signals, step_budget_stops_c_loops, .timeout = 60) {
    AsyVM *vm = asy_vm_new();
    for (size_t i = 0; i < sizeof endless_c_loops / sizeof *endless_c_loops; i++) {
        const char *src = endless_c_loops[i];
        asy_vm_set_step_budget(vm, 20000);
        AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<budget>", "budget_test");
        asy_vm_set_step_budget(vm, 0);
        cr_assert_null(m, "program %zu ended without an exception", i);
        cr_assert(asy_exc_matches(vm, ASY_EXC_RuntimeError), "program %zu: not RuntimeError", i);
        asy_exc_clear(vm);
    }
    asy_vm_free(vm);
}

/* ... and so does Ctrl-C (CPython cannot stop the last two: asy can). */
Test(signals, sigint_interrupts_c_loops, .timeout = 60) {
    signal(SIGINT, SIG_DFL);
    AsyVM *vm = asy_vm_new();
    asy_signals_install(vm);
    for (size_t i = 0; i < sizeof endless_c_loops / sizeof *endless_c_loops; i++) {
        const char *src = endless_c_loops[i];
        sigint_after_ms(50);
        AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<sigint>", "sigint_test");
        cr_assert_null(m, "program %zu ended without an exception", i);
        cr_assert(asy_exc_matches(vm, ASY_EXC_KeyboardInterrupt), "program %zu", i);
        asy_exc_clear(vm);
    }
    asy_signals_uninstall(vm);
    asy_vm_free(vm);
}
