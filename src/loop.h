/* loop.h - the scheduler: one libevent event_base per interpreter, a FIFO ready queue run
 * in passes, and asy's own timers (timers.h).
 *
 * How an iteration runs (CPython's BaseEventLoop._run_once, which asy matches so that
 * tasks interleave in the same order):
 *   1. poll libevent: without blocking when something is ready, else until the earliest
 *      deadline (one libevent timer is armed for it) or a signal;
 *   2. move every timer whose deadline has passed to the ready queue, in (deadline,
 *      sequence) order, so equal deadlines fire in the order they were set;
 *   3. run exactly the handles that were ready when the pass began: a handle made ready
 *      during the pass runs in the next pass.
 *
 * Invariants:
 * - libevent callbacks never run bytecode: they only set flags that step 1 reads.
 * - A handle is a C function and two values. The values are GC roots while the handle
 *   waits (loop_mark); while it runs they are on the root stack. The ready queue stores
 *   the runtime's common handles in 16 bytes (AsyReady below).
 * - Wake-ups that lost a race (a timer for a sleep that was cancelled meanwhile) carry a
 *   generation number and are dropped by their handler (task.c), never here.
 */
#ifndef ASY_LOOP_H
#define ASY_LOOP_H

#include "timers.h"
#include "vm.h"

struct event_base;
struct event;
typedef struct AsyTask AsyTask;
struct AsyOp;

/* The ready queue holds 16-byte entries instead of 40-byte handles, because it holds one
 * per ready task (100,000 tasks woken at once: 2 MB instead of 5). The runtime's own
 * handles (a task's step or wake-up, a future's done callback) have an object for `a` and
 * one of a few (fn, tag of b) pairs, registered as kinds (asy_loop_add_kind): an entry
 * keeps a's pointer with the kind in its low 4 bits (GC objects are 16-byte aligned) and
 * b's payload. Any other handle goes to the side FIFO `other`, and its turn is an entry of
 * kind 0. Both are FIFOs, so the order is exactly the handles' order. */
typedef struct {
    uintptr_t a;         /* object pointer | kind (1..15), or 0: the next `other` handle */
    int64_t b;           /* b's payload (AsyValue.as), its tag is the kind's            */
} AsyReady;

#define ASY_LOOP_KINDS 16

/* Chains: a run of consecutive handles of one chain kind, each about a task (a step, the
 * wake-up of its implicit future, the done callback of a finished task), is one entry: `a`
 * the first task | kind, `b` the last; each task links to the next through its
 * ready_link (task.h), so 100,000 tasks woken at once cost one entry, not 2 MB. A task is
 * chained only while nothing else uses that word (it is not running) and it is in no other
 * chain; otherwise its handle is an ordinary entry. The first of a run is an ordinary
 * entry too, made a chain when a second one follows. Handles are taken from the chain one
 * at a time, in order, as the entries they stand for would be; a chain is only extended
 * while it is the last entry and was queued during the running pass (`open_tail`), so a
 * pass still runs exactly what was ready when it began. A chained task that runs through
 * another handle first keeps its link in the loop meanwhile (held_link), and its chained
 * wake-up is marked stale if it begins a new wait (the generation check, task.c). */
#define ASY_LOOP_CHAIN_FIRST 8 /* kinds 1..7 are plain, 8..15 chains */
#define ASY_READY_CHAINED ((uintptr_t)1)
#define ASY_READY_STALE ((uintptr_t)2)
#define ASY_READY_LINK_BITS ((uintptr_t)15)

/* What a chain kind's handle is for each of its tasks (fn is the kind's kind_fn): */
typedef enum {
    ASY_CHAIN_NONE,    /* not a chain kind                                                */
    ASY_CHAIN_STEP,    /* fn(task, UNDEF)                                                 */
    ASY_CHAIN_WAKE,    /* fn(task, INT(its wait_gen)); dropped when marked stale           */
    ASY_CHAIN_DONE_CB, /* the finished task's one done callback, kept in its cb_inline:
                          cb.fn(cb.arg, task)                                             */
} AsyChainStyle;
/* The async runtime's types, made when asyncio is first imported (they live as long as
 * the scheduler, which marks them). */
#define ASY_AIO_TYPES(X)                                                                  \
    X(Future) X(Task) X(GatheringFuture) X(Op) X(Handle) X(TimerHandle) X(Loop)          \
    X(Event) X(Lock) X(Semaphore) X(BoundedSemaphore) X(Queue) X(LifoQueue)               \
    X(PriorityQueue) X(QueueEmpty) X(QueueFull)                                           \
    X(HttpState) /* mod_http.c's state object lives in this type's dict */         \
    X(Streams)   /* asyncio_streams.c's state object, likewise                */

typedef enum {
#define ASY_X_ENUM(n) ASY_AIO_##n,
    ASY_AIO_TYPES(ASY_X_ENUM)
#undef ASY_X_ENUM
    ASY_AIO_TYPE_COUNT
} AsyAioTypeId;

/* Run by asy_loop_free before the event_base goes: owners of libevent objects (the
 * streams) free them there, since GC finalizers only run after the base is gone. */
typedef void (*AsyLoopCloser)(AsyVM *vm);

typedef struct AsyLoop {
    struct event_base *base;
    struct event *timer_ev;   /* armed for the earliest deadline while blocking        */
    struct event *wake_ev;    /* signals.c's wake-up pipe (SIGINT, SIGQUIT)             */
    int sigint_pending;       /* a Ctrl-C for the next pass to act on                   */
    bool sigint_watched;      /* a run handles Ctrl-C (SIGINT was not ignored)          */

    AsyReady *ready;          /* ring buffer, capacity a power of two                  */
    size_t rhead, rlen, rcap;
    AsyHandle *other;         /* the handles of kind-0 entries: a ring, like `ready`   */
    size_t ohead, olen, ocap;
    AsyLoopFn kind_fn[ASY_LOOP_KINDS]; /* an entry's kind: its fn and b's tag (1..)      */
    uint8_t kind_tag[ASY_LOOP_KINDS];
    uint8_t kind_shift;       /* ASY_LOOP_FN_HASH's: one that gives the kinds' fns
                                 slots of their own, when there is one                  */
    uint8_t kind_hash[ASY_LOOP_KINDS]; /* by the fn's address bits (ASY_LOOP_FN_HASH): the
                                 first kind registered with it, 0 for none              */
    unsigned nkinds;          /* 1 + plain kinds registered (kind 0 is `other`), 0 at
                                 first; chain kinds are ASY_LOOP_CHAIN_FIRST and up     */
    uint8_t chain_style[ASY_LOOP_KINDS]; /* AsyChainStyle: a chain kind's, else NONE     */
    uintptr_t held_link;      /* the chain link of the task being stepped, if it is in a
                                 chain (task.c: task_hold_link), else 0                 */
    uint32_t held_gen;        /* its wait generation then                               */
    AsyReady *open_tail;      /* the last entry if it was queued during this pass (a
                                 chain may grow there), else NULL                      */
    AsyTimers timers;         /* timers.h                                              */
    size_t timers_dead;       /* cancelled timers still set (approximate)              */
    unsigned passes;          /* counts busy passes between signal polls               */

    bool running;             /* inside asyncio.run / run_until_complete               */
    bool stopping;            /* stop after the current pass (run_until_complete)      */
    bool debug;               /* asyncio debug mode: slow steps are logged             */
    /* Debug mode: the longest blocking call (time.sleep, input, a file read) of the
     * handle running now, which the slow-step report names (diag.c). */
    double block_dt;          /* its duration, 0: none yet                             */
    const char *block_what;   /* "time.sleep()"                                        */
    char block_file[400];     /* the asy line that made it                             */
    int block_line;
    const char *create_site;  /* debug: where CPython's asyncio creates the next task
                                 ("tasks.py:384"), NULL for the running asy line       */
    uint32_t run_id;          /* which run this is: primitives bind to one (locks)     */
    AsyException *fatal;      /* KeyboardInterrupt/SystemExit leaving a task: stop     */
    int interrupts;           /* Ctrl-C presses during this run                        */
    void (*sigint_hook)(AsyVM *vm); /* the REPL's own Ctrl-C handling (repl.c), called
                                 instead of asy_asyncio_on_sigint when set              */
    AsyLoopFn watchdog;       /* timers calling this (asy test's per-test timeout) do not
                                 count as something that can wake a task: with only
                                 them left, a run is deadlocked                         */

    AsyTask *current;         /* the task being stepped, or NULL                       */
    AsyTask *tasks;           /* every unfinished task (strong references), a list     */
    int64_t ntasks;
    int64_t task_counter;     /* Task-N names                                          */
    AsyObj *loop_obj;         /* the loop object asy code sees during this run         */
    AsyObj *default_loop;     /* get_event_loop() outside a run                        */
    AsyLoopCloser closers[4]; /* run by asy_loop_free (asy_loop_add_closer)            */
    int nclosers;
    uint32_t loop_serial;     /* numbers loop objects: run_id is the running one's     */
    AsyTask *main_task;
    AsyList *unretrieved;     /* failed futures to report if nobody looks at them      */
    int64_t unretrieved_pruned; /* its length after the last pruning                   */
    AsyType *types[ASY_AIO_TYPE_COUNT];
    struct AsyOp *sleep0;     /* the shared awaitable of asyncio.sleep(0)              */
    /* asyncgen.c: the async generators registered while a loop ran (weak: the collector
     * drops the dead), those found dying and still to be aclose()d (strong), and the
     * function whose coroutine runs a task made of an asend/athrow awaitable. */
    AsyObj **agens;
    size_t nagens, agencap;
    AsyObj **dying;
    size_t ndying, dyingcap;
    AsyObj *agen_runner;
} AsyLoop;

/* The scheduler of this VM, made on first use (sets vm->loop and vm->mark_extra). NULL
 * with MemoryError/RuntimeError pending if libevent cannot start. */
AsyLoop *asy_loop_get(AsyVM *vm);
/* Free the scheduler and its libevent base (asy_vm_free calls it when vm->loop is set). */
void asy_loop_free(AsyVM *vm);
/* Have fn run when the scheduler is freed (at most 4 closers). */
void asy_loop_add_closer(AsyVM *vm, AsyLoopCloser fn);

/* Seconds on the monotonic clock: loop.time(), time.monotonic(). */
double asy_loop_time(void);
/* Virtual time (asy test --virtual-time): when no task is ready, no I/O is watched and a
 * timer is set, the clock jumps to its deadline instead of sleeping. asy_loop_clock_offset
 * is how far the clock has jumped so far (time.monotonic and perf_counter add it). */
void asy_loop_set_virtual_time(bool on);
double asy_loop_clock_offset(void);

/* Register fn, called with an object and a value tagged `tag`, as a kind of compact
 * ready-queue entry (AsyReady); at most ASY_LOOP_CHAIN_FIRST - 1 of them, false past that
 * (its handles then go to the side FIFO, which only costs memory). The hash is chosen so
 * that the kinds' fns have slots of their own when some shift gives them; else of those
 * that share one, only the first registered is found without a search (register the most
 * frequent first). */
bool asy_loop_add_kind(AsyLoop *L, AsyLoopFn fn, AsyTag tag);
/* Register a chain kind (see ASY_READY_CHAINED); its number, 0 when there is no room. A
 * chain's entry is queued as any (asy_loop_soon_kind(vm, k, first, first)), then grown at
 * asy_loop_open_tail by its owner (task.c), which knows the link. */
unsigned asy_loop_add_chain(AsyLoop *L, AsyLoopFn fn, AsyChainStyle style);
/* Double the ready queue (asy_loop_call_soon, when it is full). */
bool asy_loop_ready_grow(AsyVM *vm, AsyLoop *L);
/* Queue a handle whose kind asy_loop_call_soon did not find by hash: by a search of the
 * kinds, else in the side FIFO. */
bool asy_loop_call_soon_other(AsyVM *vm, AsyLoopFn fn, AsyValue a, AsyValue b);
/* Queue kind_fn[k](a, b) with b = {kind_tag[k], payload}, for a caller that knows its
 * kind (a task's step); a must be a GC object. false with MemoryError pending. */
static inline bool asy_loop_soon_kind(AsyVM *vm, unsigned k, AsyObj *a, int64_t payload) {
    AsyLoop *L = vm->loop;
    if (ASY_UNLIKELY(L->rlen == L->rcap) && !asy_loop_ready_grow(vm, L)) return false;
    AsyReady *e = &L->ready[(L->rhead + L->rlen) & (L->rcap - 1)];
    e->a = (uintptr_t)a | k;
    e->b = payload;
    L->rlen++;
    L->open_tail = e;
    return true;
}

/* The last entry if it was queued during this pass (a chain may grow there), else NULL. */
static inline AsyReady *asy_loop_open_tail(AsyLoop *L) { return L->open_tail; }

#define ASY_LOOP_FN_HASH(L, fn) (((uintptr_t)(fn) >> (L)->kind_shift) & (ASY_LOOP_KINDS - 1))

/* Queue fn(a, b) for the next pass; false with MemoryError pending. The kind is found by
 * the fn's hash; a kind that shares its hash with another (or a handle of none) takes
 * asy_loop_call_soon_other, which searches. */
static inline bool asy_loop_call_soon(AsyVM *vm, AsyLoopFn fn, AsyValue a, AsyValue b) {
    AsyLoop *L = vm->loop;
    unsigned k = L->kind_hash[ASY_LOOP_FN_HASH(L, fn)];
    uintptr_t p = (uintptr_t)ASY_AS_OBJ(a);
    if (!k || L->kind_fn[k] != fn || L->kind_tag[k] != b.tag || !ASY_IS_OBJ(a) ||
        (p & (ASY_LOOP_KINDS - 1)))
        return asy_loop_call_soon_other(vm, fn, a, b);
    return asy_loop_soon_kind(vm, k, ASY_AS_OBJ(a), ASY_AS_INT(b));
}

/* Queue fn(a, b) when the loop time reaches `when`. */
bool asy_loop_call_at(AsyVM *vm, double when, AsyLoopFn fn, AsyValue a, AsyValue b);

/* A timer that is set was cancelled: when they are many and most of the timers, they are
 * dropped (asy_timer_dead tells which), as CPython's loop does, so a server that keeps
 * cancelling long timeouts does not grow. */
void asy_loop_timer_cancelled(AsyVM *vm);

/* One iteration (see the top of this file). Returns false when a handle left a fatal
 * exception (loop->fatal, now pending in vm->exc). */
bool asy_loop_run_once(AsyVM *vm);

/* Install/remove the SIGINT watcher around a run. */
void asy_loop_watch_sigint(AsyVM *vm, bool on);

#endif
