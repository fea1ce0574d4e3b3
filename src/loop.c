/* loop.c - the scheduler (see loop.h for the iteration it runs and its invariants): the
 * ready queue, the libevent base that blocks until the next deadline (timers.c keeps the
 * timers) or signal, and the GC marking of everything the scheduler holds.
 */
#include "common.h"

#include <event2/event.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncgen.h"
#include "diag.h"
#include "loop.h"
#include "task.h"

/* With no socket watched, a busy loop polls libevent (for signals) once every this many
 * passes. A power of two. */
#define LOOP_SIGNAL_POLL 64

/* Debug mode logs a step or callback that ran this long (CPython's
 * loop.slow_callback_duration). */
#define LOOP_SLOW_CALLBACK 0.1

/* The longest the loop blocks for a timer at a time (CPython's MAXIMUM_SELECT_TIMEOUT): a
 * deadline of sleep(1e300) or call_at(inf) is waited for a day at a time. */
#define LOOP_MAX_WAIT (24.0 * 3600.0)

/* Virtual time (`asy test --virtual-time`): an offset added to the monotonic clock, grown
 * by the time the loop would have slept for a timer when nothing else can happen. It is
 * process-wide, like the clock it shifts: asy_loop_time() and time.monotonic() take no
 * VM, and the test runner sets it before making its one interpreter. */
static bool virtual_time;
static double virtual_offset;

void asy_loop_set_virtual_time(bool on) { virtual_time = on; }

double asy_loop_clock_offset(void) { return virtual_offset; }

double asy_loop_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + virtual_offset;
}

/* The events the loop adds for itself: the signals' wake-up pipe. */
static int loop_own_events(const AsyLoop *L) { return L->wake_ev ? 1 : 0; }

/* Something besides the loop's own timer and signal watchers can wake it (sockets,
 * pipes of subprocesses, servers): libevent has other events added. */
static bool loop_watches_io(AsyLoop *L) {
    return event_base_get_num_events(L->base, EVENT_BASE_COUNT_ADDED) > loop_own_events(L);
}

/* ---- GC ---- */

static void loop_mark_handle(AsyVM *vm, const AsyHandle *h) {
    asy_gc_mark_value(vm, h->a);
    asy_gc_mark_value(vm, h->b);
}

/* A slice of a chain, from task pos on; obj is its kind's style. */
static uintptr_t loop_mark_chain(AsyVM *vm, const void *obj, uintptr_t pos, uintptr_t end) {
    bool done_cb = *(const uint8_t *)obj == ASY_CHAIN_DONE_CB;
    AsyTask *t = (AsyTask *)pos;
    for (int n = 0; t && n < ASY_GC_SLICE; n++) {
        asy_gc_mark_obj(vm, (AsyObj *)t);
        if (done_cb) asy_gc_mark_value(vm, t->fut.cb_inline.arg);
        t = (AsyTask *)(t->ready_link & ~ASY_READY_LINK_BITS);
    }
    return t ? (uintptr_t)t : end;
}

/* A slice of the ready ring, entries [pos, end); a chain's marking is started, and the
 * slice ends there so that the stack holds one slice at a time. */
static uintptr_t loop_mark_ready(AsyVM *vm, const void *obj, uintptr_t pos, uintptr_t end) {
    const AsyLoop *L = obj;
    uintptr_t stop = end - pos > ASY_GC_SLICE ? pos + ASY_GC_SLICE : end;
    for (uintptr_t i = pos; i < stop; i++) {
        const AsyReady *e = &L->ready[(L->rhead + i) & (L->rcap - 1)];
        unsigned k = e->a & (ASY_LOOP_KINDS - 1);
        if (!k) continue; /* its handle is in `other` */
        if (L->chain_style[k]) {
            asy_gc_mark_sliced(vm, loop_mark_chain, &L->chain_style[k], e->a - k, 0);
            return i + 1;
        }
        asy_gc_mark_obj(vm, (AsyObj *)(e->a - k));
        if (L->kind_tag[k] == ASY_T_OBJ) asy_gc_mark_obj(vm, (AsyObj *)(uintptr_t)e->b);
    }
    return stop;
}

static void loop_mark(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    if (!L) return;
    asy_gc_mark_sliced(vm, loop_mark_ready, L, 0, L->rlen);
    for (size_t i = 0; i < L->olen; i++)
        loop_mark_handle(vm, &L->other[(L->ohead + i) & (L->ocap - 1)]);
    asy_timers_mark(vm, &L->timers);
    asy_task_list_prune(L);
    asy_task_mark_list(vm, L->tasks);
    asy_gc_mark_obj(vm, (AsyObj *)L->current);
    asy_gc_mark_obj(vm, (AsyObj *)L->main_task);
    asy_gc_mark_obj(vm, L->loop_obj);
    asy_gc_mark_obj(vm, L->default_loop);
    asy_gc_mark_obj(vm, (AsyObj *)L->unretrieved);
    asy_gc_mark_obj(vm, (AsyObj *)L->fatal);
    asy_gc_mark_obj(vm, (AsyObj *)L->sleep0);
    for (size_t i = 0; i < L->ndying; i++) asy_gc_mark_obj(vm, L->dying[i]);
    asy_gc_mark_obj(vm, L->agen_runner);
    for (int i = 0; i < ASY_AIO_TYPE_COUNT; i++)
        asy_gc_mark_obj(vm, (AsyObj *)L->types[i]);
}

/* ---- life ---- */

static void loop_on_timer(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(fd);
    ASY_UNUSED(what);
    ASY_UNUSED(arg); /* waking up is all it is for: the timers are checked after polling */
}

/* A signal woke the loop: its handler set vm->signal_pending / dump_pending, which
 * asy_loop_run_once acts on after the poll. */
static void loop_on_wake(evutil_socket_t fd, short what, void *arg) {
    ASY_UNUSED(fd);
    ASY_UNUSED(what);
    ASY_UNUSED(arg);
    asy_signals_wake_drain();
}

/* vm->sigint_hook while a loop runs: Ctrl-C noticed at a safepoint, in running code. The
 * REPL handles it at the loop's next pass; asyncio.run as CPython's Runner._on_sigint,
 * whose KeyboardInterrupt is raised in the running coroutine. */
static int loop_sigint_at_safepoint(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    if (L->sigint_hook) {
        L->sigint_pending = 1;
        return 0;
    }
    return asy_asyncio_sigint_in_task(vm);
}

/* An epoll base that batches its changes: evhttp and bufferevents enable and disable a
 * socket's read and write events several times per request, and the changelist turns
 * those into at most one epoll_ctl per socket and loop pass (measured: 6 -> 2 per client
 * request, 4 -> 3 per server request). libevent warns that this misbehaves when a watched
 * socket is closed while a dup() of it stays open; asy never dup()s what it watches, and
 * its children close every inherited fd above 2 (asyncio_subprocess.c). */
static struct event_base *loop_new_base(void) {
    struct event_config *cfg = event_config_new();
    if (!cfg) return NULL;
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

AsyLoop *asy_loop_get(AsyVM *vm) {
    if (vm->loop) return vm->loop;
    AsyLoop *L = calloc(1, sizeof *L);
    if (!L) {
        asy_raise_memory(vm);
        return NULL;
    }
    L->base = loop_new_base();
    if (L->base) L->timer_ev = evtimer_new(L->base, loop_on_timer, L);
    if (!L->timer_ev) {
        if (L->base) event_base_free(L->base);
        free(L);
        asy_raise(vm, ASY_EXC_RuntimeError, "cannot create the event loop (libevent)");
        return NULL;
    }
    /* Signals reach the loop through signals.c's pipe, never a libevent signal event:
     * that would replace signals.c's handler, and a task that never returns to the loop
     * could then not be interrupted. */
    int wake_fd = asy_signals_wake_fd();
    if (wake_fd >= 0) {
        L->wake_ev = event_new(L->base, wake_fd, EV_READ | EV_PERSIST, loop_on_wake, L);
        if (L->wake_ev) event_add(L->wake_ev, NULL);
    }
    vm->loop = L;
    vm->mark_extra = loop_mark;
    vm->gc_weak = asy_agen_gc_weak;
    return L;
}

void asy_loop_add_closer(AsyVM *vm, AsyLoopCloser fn) {
    AsyLoop *L = vm->loop;
    if (L->nclosers < (int)(sizeof L->closers / sizeof L->closers[0]))
        L->closers[L->nclosers++] = fn;
}

void asy_loop_free(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    if (!L) return;
    for (int i = L->nclosers; i-- > 0;)
        L->closers[i](vm);
    if (L->wake_ev) event_free(L->wake_ev);
    event_free(L->timer_ev);
    event_base_free(L->base);
    asy_mem_free(vm, L->ready, L->rcap * sizeof *L->ready);
    asy_mem_free(vm, L->other, L->ocap * sizeof *L->other);
    asy_timers_free(vm, &L->timers);
    free(L->agens);
    free(L->dying);
    free(L);
    vm->loop = NULL;
    vm->mark_extra = NULL;
    vm->gc_weak = NULL;
}

void asy_loop_watch_sigint(AsyVM *vm, bool on) {
    AsyLoop *L = vm->loop;
    if (on) {
        /* As CPython's Runner: only when Ctrl-C is not ignored (a background job). */
        struct sigaction old;
        L->sigint_watched = sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN;
        L->sigint_pending = 0;
        if (L->sigint_watched) vm->sigint_hook = loop_sigint_at_safepoint;
    } else if (L->sigint_watched) {
        vm->sigint_hook = NULL;
        L->sigint_watched = false;
    }
}

/* ---- the ready queue ---- */

_Static_assert(ASY_GC_GRAIN % 16 == 0 && ASY_LOOP_KINDS == 16 && ASY_READY_LINK_BITS == 15,
               "an entry's kind and a chain link's flags live in an object pointer's 4 low bits");
_Static_assert(sizeof(AsyReady) == 16, "a ready-queue entry is 16 bytes");

/* Fill kind_hash for `shift`: the first kind of each slot. true when no two different fns
 * share a slot. */
static bool loop_hash_kinds(AsyLoop *L, unsigned shift) {
    bool distinct = true;
    L->kind_shift = (uint8_t)shift;
    memset(L->kind_hash, 0, sizeof L->kind_hash);
    for (unsigned k = 1; k < L->nkinds; k++) {
        uint8_t *slot = &L->kind_hash[ASY_LOOP_FN_HASH(L, L->kind_fn[k])];
        if (!*slot)
            *slot = (uint8_t)k;
        else if (L->kind_fn[*slot] != L->kind_fn[k])
            distinct = false;
    }
    return distinct;
}

bool asy_loop_add_kind(AsyLoop *L, AsyLoopFn fn, AsyTag tag) {
    if (L->nkinds == 0) L->nkinds = 1;
    if (L->nkinds == ASY_LOOP_CHAIN_FIRST) return false;
    L->kind_fn[L->nkinds] = fn;
    L->kind_tag[L->nkinds++] = (uint8_t)tag;
    /* the address bits that tell the fns apart: which ones depends on the code's layout */
    for (unsigned shift = 4; shift < 24; shift++)
        if (loop_hash_kinds(L, shift)) return true;
    loop_hash_kinds(L, 4);
    return true;
}

unsigned asy_loop_add_chain(AsyLoop *L, AsyLoopFn fn, AsyChainStyle style) {
    unsigned k = ASY_LOOP_CHAIN_FIRST;
    while (k < ASY_LOOP_KINDS && L->chain_style[k]) k++;
    if (k == ASY_LOOP_KINDS) return 0;
    L->kind_fn[k] = fn;
    L->chain_style[k] = (uint8_t)style;
    return k;
}

bool asy_loop_ready_grow(AsyVM *vm, AsyLoop *L) {
    size_t cap = L->rcap ? L->rcap * 2 : 256;
    AsyReady *r = asy_mem_alloc(vm, cap * sizeof *r);
    if (!r) return false;
    for (size_t i = 0; i < L->rlen; i++)
        r[i] = L->ready[(L->rhead + i) & (L->rcap - 1)];
    if (L->open_tail) L->open_tail = &r[L->rlen - 1]; /* it is the last entry */
    asy_mem_free(vm, L->ready, L->rcap * sizeof *L->ready);
    L->ready = r;
    L->rcap = cap;
    L->rhead = 0;
    return true;
}

bool asy_loop_call_soon_other(AsyVM *vm, AsyLoopFn fn, AsyValue a, AsyValue b) {
    AsyLoop *L = vm->loop;
    if (ASY_IS_OBJ(a) && ((uintptr_t)ASY_AS_OBJ(a) & (ASY_LOOP_KINDS - 1)) == 0)
        for (unsigned k = 1; k < L->nkinds; k++)
            if (L->kind_fn[k] == fn && L->kind_tag[k] == b.tag)
                return asy_loop_soon_kind(vm, k, ASY_AS_OBJ(a), ASY_AS_INT(b));
    if (L->rlen == L->rcap && !asy_loop_ready_grow(vm, L)) return false;
    if (L->olen == L->ocap) {
        size_t cap = L->ocap ? L->ocap * 2 : 64;
        AsyHandle *o = asy_mem_alloc(vm, cap * sizeof *o);
        if (!o) return false;
        for (size_t i = 0; i < L->olen; i++)
            o[i] = L->other[(L->ohead + i) & (L->ocap - 1)];
        asy_mem_free(vm, L->other, L->ocap * sizeof *L->other);
        L->other = o;
        L->ocap = cap;
        L->ohead = 0;
    }
    L->other[(L->ohead + L->olen++) & (L->ocap - 1)] = (AsyHandle){fn, a, b};
    AsyReady *e = &L->ready[(L->rhead + L->rlen++) & (L->rcap - 1)];
    *e = (AsyReady){0, 0};
    L->open_tail = e;
    return true;
}

/* A ring this big that has drained is given back: a burst of 100,000 handles left 2 MB
 * behind for the rest of the run. (Entries; the side FIFO keeps LOOP_OTHER_KEEP.) */
#define LOOP_READY_KEEP 4096
#define LOOP_OTHER_KEEP 1024

static void loop_shrink(AsyVM *vm, AsyLoop *L) {
    if (L->rlen == 0 && L->rcap > LOOP_READY_KEEP) {
        asy_mem_free(vm, L->ready, L->rcap * sizeof *L->ready);
        L->ready = L->open_tail = NULL;
        L->rcap = L->rhead = 0;
    }
    if (L->olen == 0 && L->ocap > LOOP_OTHER_KEEP) {
        asy_mem_free(vm, L->other, L->ocap * sizeof *L->other);
        L->other = NULL;
        L->ocap = L->ohead = 0;
    }
}

/* ---- timers ---- */

bool asy_loop_call_at(AsyVM *vm, double when, AsyLoopFn fn, AsyValue a, AsyValue b) {
    return asy_timers_add(vm, &((AsyLoop *)vm->loop)->timers, when, fn, a, b);
}

/* Compaction starts at this many dead timers, when they are also half of the timers
 * (CPython's _MIN_SCHEDULED_TIMER_HANDLES and _MIN_CANCELLED_TIMER_HANDLES_FRACTION). */
#define LOOP_MIN_DEAD_TIMERS 100

void asy_loop_timer_cancelled(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    L->timers_dead++;
    if (L->timers_dead < LOOP_MIN_DEAD_TIMERS || L->timers_dead * 2 < L->timers.count) return;
    asy_timers_drop(vm, &L->timers, asy_timer_dead);
    L->timers_dead = 0;
}

/* ---- one iteration ---- */

/* Step 1: wait for I/O (the http module's sockets), signals or the earliest deadline;
 * never blocks when something is ready. As CPython, a busy loop polls once per pass when
 * sockets are watched; with none (only the signals' wake-up pipe) a poll every
 * LOOP_SIGNAL_POLL passes is enough (signals are seen through vm->signal_pending anyway),
 * and saves a syscall per task switch. */
/* A run whose tasks all wait while nothing can wake them (diag.c reports it and stops the
 * run, where CPython would hang): no live timer but watchdogs, no I/O, no signal but
 * Ctrl-C. */
typedef struct {
    AsyVM *vm;
    AsyLoopFn watchdog;
} DeadlockCheck;

/* Whether a timer cannot wake a task (a deadline at infinity never comes): false stops
 * the walk. */
static bool loop_timer_cannot_wake(const AsyHandle *h, double when, void *ctx) {
    DeadlockCheck *c = ctx;
    return h->fn == c->watchdog || when == HUGE_VAL || asy_timer_dead(c->vm, h);
}

static bool loop_deadlocked(AsyVM *vm, AsyLoop *L) {
    if (!L->running || loop_watches_io(L)) return false;
    DeadlockCheck c = {vm, L->watchdog};
    return asy_timers_each(&L->timers, loop_timer_cannot_wake, &c);
}

static void loop_poll(AsyVM *vm, AsyLoop *L) {
    if (L->rlen > 0) {
        if (loop_watches_io(L) ||
            (++L->passes & (LOOP_SIGNAL_POLL - 1)) == 0)
            event_base_loop(L->base, EVLOOP_NONBLOCK);
        return;
    }
    if (loop_deadlocked(vm, L)) {
        asy_diag_deadlock(vm);
        return;
    }
    double first;
    if (asy_timers_first(&L->timers, &first)) {
        double delay = first - asy_loop_time();
        if (delay <= 0) return;
        if (delay > LOOP_MAX_WAIT) delay = LOOP_MAX_WAIT;
        if (virtual_time && !loop_watches_io(L)) {
            virtual_offset += delay; /* the jump: the timer is due now */
            event_base_loop(L->base, EVLOOP_NONBLOCK);
            return;
        }
        struct timeval tv;
        tv.tv_sec = (time_t)delay;
        tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6) + 1;
        if (tv.tv_usec >= 1000000) {
            tv.tv_sec++;
            tv.tv_usec -= 1000000;
        }
        evtimer_add(L->timer_ev, &tv);
        event_base_loop(L->base, EVLOOP_ONCE);
        evtimer_del(L->timer_ev);
        return;
    }
    /* Nothing to do until a signal: CPython would hang here too. */
    event_base_loop(L->base, EVLOOP_ONCE);
}

/* Step 2: every due timer joins the ready queue in deadline order. */
static bool loop_move_due_timers(AsyVM *vm, AsyLoop *L) {
    if (L->timers.count == 0) return true;
    double end = asy_loop_time() + 1e-9; /* CPython adds the clock resolution */
    AsyHandle h;
    int r;
    while ((r = asy_timers_pop_due(vm, &L->timers, end, &h)) > 0)
        if (!asy_loop_call_soon(vm, h.fn, h.a, h.b)) return false;
    return r == 0;
}

/* The next handle of the chain at the head of the ready queue (its entry stays, for the
 * rest, until its last task); false: a stale handle, dropped. *done: the entry is used up. */
static ASY_ALWAYS_INLINE bool loop_take_chained(AsyLoop *L, AsyReady *e, unsigned k,
                                                AsyHandle *h, bool *done) {
    AsyTask *t = (AsyTask *)(e->a - k);
    uintptr_t link = t->ready_link;
    t->ready_link = 0;
    *done = !(link & ~ASY_READY_LINK_BITS);
    if (*done) {
        L->rhead = (L->rhead + 1) & (L->rcap - 1);
        L->rlen--;
    } else {
        e->a = (link & ~ASY_READY_LINK_BITS) | k;
    }
    h->fn = L->kind_fn[k];
    h->a = ASY_OBJ(t);
    unsigned style = L->chain_style[k];
    if (style == ASY_CHAIN_WAKE) {
        h->b = ASY_INT(t->wait_gen);
        return !(link & ASY_READY_STALE);
    }
    if (style == ASY_CHAIN_DONE_CB) {
        h->fn = t->fut.cb_inline.fn;
        h->a = t->fut.cb_inline.arg;
        h->b = ASY_OBJ(t);
        t->fut.cb_inline.arg = ASY_UNDEF;
        return true;
    }
    h->b = ASY_UNDEF; /* a step: never dropped */
    return true;
}

bool asy_loop_run_once(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    if (ASY_UNLIKELY(L->ndying)) asy_agen_flush_dying(vm); /* found by the last collection */
    loop_poll(vm, L);
    if (vm->dump_pending) asy_diag_signal_dump(vm);
    if (L->sigint_watched && asy_signals_take_sigint(vm)) L->sigint_pending = 1;
    if (L->sigint_pending) {
        L->sigint_pending = 0;
        if (L->sigint_hook)
            L->sigint_hook(vm);
        else
            asy_asyncio_on_sigint(vm);
    }
    if (!loop_move_due_timers(vm, L)) return false;
    /* Step 3: only what was ready when the pass began (the chains queued so far are closed:
     * what is chained from now on is for the next pass). Each handle's values are rooted
     * while it runs, in two root slots taken once for the whole pass. */
    L->open_tail = NULL;
    if (ASY_UNLIKELY(vm->rootcap - vm->nroots < 2)) asy_root_grow(vm);
    size_t root = vm->nroots;
    vm->nroots += 2;
    for (size_t n = L->rlen; n > 0 && !L->fatal;) {
        /* the first handle (decoded in place: this runs once per task switch) */
        AsyReady *e = &L->ready[L->rhead];
        unsigned k = e->a & (ASY_LOOP_KINDS - 1);
        AsyHandle h;
        if (k >= ASY_LOOP_CHAIN_FIRST) {
            bool done;
            bool run = loop_take_chained(L, e, k, &h, &done);
            n -= done;
            if (!run) continue;
        } else {
            AsyReady r = *e;
            L->rhead = (L->rhead + 1) & (L->rcap - 1);
            L->rlen--;
            n--;
            if (k) {
                h.fn = L->kind_fn[k];
                h.a = ASY_OBJ(r.a - k);
                h.b = (AsyValue){.tag = (AsyTag)L->kind_tag[k], .as.i = r.b};
            } else {
                h = L->other[L->ohead];
                L->ohead = (L->ohead + 1) & (L->ocap - 1);
                L->olen--;
            }
        }
        vm->roots[root] = h.a;
        vm->roots[root + 1] = h.b;
        if (ASY_UNLIKELY(L->debug)) {
            L->block_dt = 0;
            double t0 = asy_loop_time();
            h.fn(vm, h.a, h.b);
            double dt = asy_loop_time() - t0;
            if (dt >= LOOP_SLOW_CALLBACK) {
                asy_loop_log_slow(vm, &h, dt);
                asy_diag_report_blocking(vm);
            }
        } else {
            h.fn(vm, h.a, h.b);
        }
    }
    vm->nroots = root;
    if (ASY_UNLIKELY(L->rcap > LOOP_READY_KEEP || L->ocap > LOOP_OTHER_KEEP)) loop_shrink(vm, L);
    if (L->fatal) {
        vm->exc = L->fatal;
        L->fatal = NULL;
        return false;
    }
    return true;
}
