/* signals.c - POSIX signals outside the event loop: Ctrl-C must stop any program, even a
 * loop that never awaits. The handler only records the signal; the VM notices it at its
 * next safepoint (calls, returns, backward jumps) and raises KeyboardInterrupt there, so no
 * bytecode ever runs inside a signal handler. While an asyncio loop runs, libevent's own
 * SIGINT watcher takes over (loop.c) and restores this handler afterwards.
 */
#include "common.h"

#include <signal.h>
#include <string.h>

#include "vm.h"

/* A signal handler gets no context argument, so the interpreter it must reach is the one
 * mutable global of asy. There is one interpreter per process that handles signals. */
static AsyVM *volatile signal_vm;

static void on_sigint(int sig) {
    AsyVM *vm = signal_vm;
    if (vm) vm->signal_pending = sig;
}

void asy_signals_install(AsyVM *vm) {
    /* A SIGINT ignored by whoever started us (nohup, a shell's background job) stays
     * ignored, as in CPython. */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_IGN) {
        signal(SIGPIPE, SIG_IGN);
        return;
    }
    signal_vm = vm;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    /* A closed pipe becomes an EPIPE error on write (BrokenPipeError), never a death. */
    signal(SIGPIPE, SIG_IGN);
}

void asy_signals_uninstall(AsyVM *vm) {
    if (signal_vm != vm) return;
    signal(SIGINT, SIG_DFL);
    signal_vm = NULL;
}

/* signal_pending holds this instead of a signal number while a step budget is set, so
 * that every safepoint comes here. */
#define BUDGET_MARK (-1)

void asy_vm_set_step_budget(AsyVM *vm, int64_t steps) {
    vm->step_budget = steps;
    if (steps > 0) vm->signal_pending = BUDGET_MARK;
    else if (vm->signal_pending == BUDGET_MARK) vm->signal_pending = 0;
}

int asy_vm_safepoint(AsyVM *vm) {
    asy_gc_safepoint(vm);
    if (ASY_LIKELY(!vm->signal_pending)) return 0;
    if (vm->signal_pending == BUDGET_MARK) {
        if (--vm->step_budget > 0) return 0;
        vm->signal_pending = 0;
        asy_raise(vm, ASY_EXC_RuntimeError, "step budget exhausted");
        return -1;
    }
    vm->signal_pending = 0;
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyboardInterrupt], 0, NULL);
    if (!ASY_IS_ERR(e)) vm->exc = (AsyException *)ASY_AS_OBJ(e);
    return -1;
}
