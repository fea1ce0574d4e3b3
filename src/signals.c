/* signals.c - POSIX signals: Ctrl-C must stop any program, even a loop that never
 * awaits. The handler only records the signal; the VM notices it at its next safepoint
 * (calls, returns, backward jumps) and raises KeyboardInterrupt there, so no bytecode ever
 * runs inside a signal handler. While an asyncio loop runs, a Ctrl-C seen at a safepoint
 * goes to the loop's policy instead (vm->sigint_hook: the first press cancels the main
 * task, the next raises KeyboardInterrupt in the running code, as CPython's Runner), and
 * the handler also writes a byte to a wake-up pipe the loop watches, so an idle loop
 * blocked in libevent wakes up for it.
 *
 * SIGQUIT with --dump-tasks: the handler sets vm->dump_pending, which the next safepoint
 * (a busy task) or the loop after its poll (an idle one) turns into a task dump, and
 * writes to the same wake-up pipe.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "vm.h"

/* A signal handler gets no context argument, so the interpreter it must reach is the one
 * mutable global of asy. There is one interpreter per process that handles signals. */
static AsyVM *volatile signal_vm;

/* The pipe SIGINT and SIGQUIT wake the loop through (-1: not made yet). */
static int wake_pipe[2] = {-1, -1};
static bool sigquit_installed;

/* signal_pending holds this instead of a signal number while a step budget is set, so
 * that every safepoint comes here. */
#define BUDGET_MARK (-1)
/* ... and this when only a dump is asked for. */
#define DUMP_MARK (-2)

static void wake_loop(void) {
    int saved = errno;
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], "i", 1) < 0) {
        /* full: the loop has a wake-up to read already */
    }
    errno = saved;
}

static void on_sigint(int sig) {
    AsyVM *vm = signal_vm;
    if (!vm) return;
    vm->signal_pending = sig;
    wake_loop();
}

static void on_sigquit(int sig) {
    ASY_UNUSED(sig);
    AsyVM *vm = signal_vm;
    if (!vm) return;
    vm->dump_pending = 1;
    if (!vm->signal_pending) vm->signal_pending = DUMP_MARK;
    wake_loop();
}

int asy_signals_wake_fd(void) {
    if (wake_pipe[0] < 0 && pipe(wake_pipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    return wake_pipe[0];
}

void asy_signals_dump_on_sigquit(AsyVM *vm) {
    asy_signals_wake_fd();
    signal_vm = vm;
    sigquit_installed = true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigquit;
    /* No SA_RESTART: a blocking sleep or read sees EINTR, dumps (their EINTR loops call
     * asy_diag_signal_dump) and goes on, so the dump shows the line that blocks. */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGQUIT, &sa, NULL);
}

void asy_signals_wake_drain(void) {
    char buf[64];
    while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof buf) > 0) {}
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
    if (sigquit_installed) signal(SIGQUIT, SIG_DFL);
    sigquit_installed = false;
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
    }
    signal_vm = NULL;
}

void asy_vm_set_step_budget(AsyVM *vm, int64_t steps) {
    vm->step_budget = steps;
    if (steps > 0) vm->signal_pending = BUDGET_MARK;
    else if (vm->signal_pending == BUDGET_MARK) vm->signal_pending = 0;
}

bool asy_signals_take_sigint(AsyVM *vm) {
    if (vm->signal_pending != SIGINT) return false;
    vm->signal_pending = 0;
    return true;
}

int asy_vm_safepoint(AsyVM *vm) {
    asy_gc_safepoint(vm);
    if (ASY_LIKELY(!vm->signal_pending)) return 0;
    return asy_signals_check(vm);
}

int asy_signals_check(AsyVM *vm) {
    if (!vm->signal_pending) return 0;
    if (vm->dump_pending) asy_diag_signal_dump(vm);
    if (vm->signal_pending == DUMP_MARK) {
        vm->signal_pending = 0;
        return 0;
    }
    if (vm->signal_pending == BUDGET_MARK) {
        if (--vm->step_budget > 0) return 0;
        vm->signal_pending = 0;
        asy_raise(vm, ASY_EXC_RuntimeError, "step budget exhausted");
        return -1;
    }
    vm->signal_pending = 0;
    if (vm->sigint_hook) return vm->sigint_hook(vm);
    AsyValue e = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyboardInterrupt], 0, NULL);
    if (!ASY_IS_ERR(e)) vm->exc = (AsyException *)ASY_AS_OBJ(e);
    return -1;
}
