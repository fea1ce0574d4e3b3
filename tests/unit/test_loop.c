/* Unit tests of the scheduler (loop.c): the ready queue runs in passes and in FIFO order,
 * the timer heap fires equal deadlines in the order they were set, blocking waits for the
 * earliest deadline; and, through asyncio scripts, the task step order built on it. */
#include "common.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "task.h"

/* What the test handles saw, in order. */
#define MAX_SEEN 4096
static int64_t seen[MAX_SEEN];
static int nseen;

static void record(AsyVM *vm, AsyValue a, AsyValue b) {
    ASY_UNUSED(vm);
    ASY_UNUSED(b);
    if (nseen < MAX_SEEN) seen[nseen++] = ASY_AS_INT(a);
}

/* A handle that queues another one: it must run in the next pass, not this one. */
static void requeue(AsyVM *vm, AsyValue a, AsyValue b) {
    record(vm, a, b);
    asy_loop_call_soon(vm, record, ASY_INT(ASY_AS_INT(a) + 100), ASY_UNDEF);
}

static AsyVM *new_vm(void) {
    AsyVM *vm = asy_vm_new();
    cr_assert_not_null(vm);
    cr_assert_not_null(asy_loop_get(vm));
    nseen = 0;
    return vm;
}

static void free_vm(AsyVM *vm) {
    asy_loop_free(vm);
    asy_vm_free(vm);
}

Test(loop, ready_queue_is_fifo) {
    AsyVM *vm = new_vm();
    for (int i = 1; i <= 5; i++)
        cr_assert(asy_loop_call_soon(vm, record, ASY_INT(i), ASY_UNDEF));
    cr_assert(asy_loop_run_once(vm));
    cr_assert_eq(nseen, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(seen[i], i + 1);
    free_vm(vm);
}

Test(loop, handles_queued_during_a_pass_run_in_the_next) {
    AsyVM *vm = new_vm();
    asy_loop_call_soon(vm, requeue, ASY_INT(1), ASY_UNDEF);
    asy_loop_call_soon(vm, record, ASY_INT(2), ASY_UNDEF);
    asy_loop_run_once(vm);
    cr_assert_eq(nseen, 2);
    cr_assert_eq(seen[0], 1);
    cr_assert_eq(seen[1], 2);
    asy_loop_run_once(vm);
    cr_assert_eq(nseen, 3);
    cr_assert_eq(seen[2], 101);
    free_vm(vm);
}

Test(loop, ready_queue_grows_and_keeps_order) {
    AsyVM *vm = new_vm();
    /* wrap the ring around, then grow it past its first capacity */
    for (int round = 0; round < 3; round++) {
        nseen = 0;
        for (int i = 0; i < 60; i++)
            asy_loop_call_soon(vm, record, ASY_INT(i), ASY_UNDEF);
        asy_loop_run_once(vm);
        cr_assert_eq(nseen, 60);
        for (int i = 0; i < 60; i++)
            cr_assert_eq(seen[i], i);
    }
    free_vm(vm);
}

Test(loop, equal_deadlines_fire_in_the_order_set) {
    AsyVM *vm = new_vm();
    double past = asy_loop_time() - 1;
    asy_loop_call_at(vm, past, record, ASY_INT(1), ASY_UNDEF);
    asy_loop_call_at(vm, past - 0.5, record, ASY_INT(0), ASY_UNDEF);
    for (int i = 2; i <= 9; i++)
        asy_loop_call_at(vm, past, record, ASY_INT(i), ASY_UNDEF);
    asy_loop_call_at(vm, past + 0.5, record, ASY_INT(10), ASY_UNDEF);
    asy_loop_run_once(vm);
    cr_assert_eq(nseen, 11);
    for (int i = 0; i <= 10; i++)
        cr_assert_eq(seen[i], i, "position %d got %lld", i, (long long)seen[i]);
    free_vm(vm);
}

/* The heap against a sort: thousands of timers with many equal deadlines, popped in
 * (deadline, order set) order. */
Test(loop, timer_heap_pops_in_deadline_then_set_order) {
    AsyVM *vm = new_vm();
    enum { N = 3000 };
    static double when[N];
    double base = asy_loop_time() - 10;
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        when[i] = base + (double)((x >> 16) % 97) / 16; /* about 31 timers per deadline */
        cr_assert(asy_loop_call_at(vm, when[i], record, ASY_INT(i), ASY_UNDEF));
    }
    asy_loop_run_once(vm);
    cr_assert_eq(nseen, N);
    for (int k = 1; k < N; k++) {
        int64_t p = seen[k - 1], q = seen[k];
        cr_assert(when[p] < when[q] || (when[p] == when[q] && p < q),
                  "timer %lld (at %f) fired before %lld (at %f)", (long long)p, when[p],
                  (long long)q, when[q]);
    }
    free_vm(vm);
}

/* The timer queue itself against a model: timers set before and after the deadlines
 * taken out so far (a sleep, a call_at in the past), many equal deadlines, taken out with
 * a moving "now" that leaves part of each bucket due (timers.c spreads it) or all of it
 * (sorts it), and a NaN deadline (due at once). Every timer taken out must be the first
 * due one by (deadline, order set). */
Test(loop, timer_queue_takes_out_in_order_as_time_moves) {
    AsyVM *vm = new_vm();
    enum { N = 6000 };
    static double when[N];
    static bool out[N];
    AsyTimers T;
    memset(&T, 0, sizeof T);
    uint32_t x = 4242;
    int set = 0;
    double now = 1000.0;
    for (int round = 0; round < 60; round++) {
        for (int k = 0; k < 100 && set < N; k++, set++) {
            x = x * 1103515245u + 12345u;
            uint32_t r = x >> 8;
            if (r % 50 == 0)
                when[set] = now - (double)(r % 7); /* in the past */
            else if (r % 97 == 0)
                when[set] = NAN;
            else
                when[set] = now + (double)(r % 300) / 8; /* ties every 1/8 */
            cr_assert(asy_timers_add(vm, &T, when[set], record, ASY_INT(set), ASY_UNDEF));
        }
        now += 0.5 + (double)(round % 5);
        AsyHandle h;
        int r;
        while ((r = asy_timers_pop_due(vm, &T, now, &h)) > 0) {
            int64_t i = ASY_AS_INT(h.a);
            double wi = isnan(when[i]) ? -HUGE_VAL : when[i];
            cr_assert(wi < now, "timer %lld at %f taken out before %f", (long long)i, wi, now);
            for (int j = 0; j < set; j++) { /* no earlier due timer is left behind */
                double wj = isnan(when[j]) ? -HUGE_VAL : when[j];
                cr_assert(out[j] || j == i || wj > wi || (wj == wi && j > i),
                          "timer %lld (at %f) taken out before %d (at %f)", (long long)i, wi, j,
                          wj);
            }
            out[i] = true;
        }
        cr_assert_eq(r, 0);
        double first;
        if (asy_timers_first(&T, &first)) cr_assert(first >= now);
    }
    asy_timers_free(vm, &T);
    free_vm(vm);
}

Test(loop, due_timers_join_after_ready_handles) {
    AsyVM *vm = new_vm();
    asy_loop_call_at(vm, asy_loop_time() - 1, record, ASY_INT(2), ASY_UNDEF);
    asy_loop_call_soon(vm, record, ASY_INT(1), ASY_UNDEF);
    asy_loop_run_once(vm);
    cr_assert_eq(nseen, 2);
    cr_assert_eq(seen[0], 1);
    cr_assert_eq(seen[1], 2);
    free_vm(vm);
}

Test(loop, blocks_until_the_earliest_deadline) {
    AsyVM *vm = new_vm();
    double t0 = asy_loop_time();
    asy_loop_call_at(vm, t0 + 0.05, record, ASY_INT(2), ASY_UNDEF);
    asy_loop_call_at(vm, t0 + 0.02, record, ASY_INT(1), ASY_UNDEF);
    while (nseen < 1)
        asy_loop_run_once(vm);
    double waited = asy_loop_time() - t0;
    cr_assert_eq(seen[0], 1);
    cr_assert(waited >= 0.02 && waited < 0.05, "waited %f", waited);
    while (nseen < 2)
        asy_loop_run_once(vm);
    cr_assert_eq(seen[1], 2);
    cr_assert(asy_loop_time() - t0 >= 0.05);
    free_vm(vm);
}

/* Run asy source with stdout (the file descriptor: print writes there) captured into a
 * temporary file, after setup(vm) if given; returns the output (malloc'd). */
static char *run_script_on(const char *src, void (*setup)(AsyVM *vm)) {
    fflush(stdout);
    FILE *tmp = tmpfile();
    cr_assert_not_null(tmp);
    int saved = dup(1);
    dup2(fileno(tmp), 1);
    AsyVM *vm = asy_vm_new();
    if (setup) setup(vm);
    AsyModule *m = asy_vm_run_source(vm, src, strlen(src), "<test>", "__main__");
    if (!m) asy_vm_print_exception(vm);
    fflush(stdout);
    free_vm(vm);
    dup2(saved, 1);
    close(saved);
    off_t len = lseek(fileno(tmp), 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    if (len > 0 && pread(fileno(tmp), buf, (size_t)len, 0) < 0) buf[0] = '\0';
    fclose(tmp);
    return buf;
}

static char *run_script(const char *src) { return run_script_on(src, NULL); }

/* A task keeps its Task-N number in 32 bits: past 2^32 - 1 tasks its name is made when it
 * is created instead, and reads the same (no wrap to Task-0). */
static void near_32_bits(AsyVM *vm) {
    cr_assert_not_null(asy_loop_get(vm));
    ((AsyLoop *)vm->loop)->task_counter = (int64_t)UINT32_MAX - 2; /* asyncio.run's main: -1 */
}

Test(loop, task_numbers_beyond_32_bits_name_the_task) {
    char *out = run_script_on("import asyncio\n"
                              "async def w():\n"
                              "    await asyncio.sleep(0)\n"
                              "async def main():\n"
                              "    ts = [asyncio.create_task(w()) for _ in range(3)]\n"
                              "    print(asyncio.current_task().get_name(), [t.get_name() for t in ts])\n"
                              "    print(repr(ts[2]).split()[2], repr(ts[0]).split()[2])\n"
                              "    await asyncio.gather(*ts)\n"
                              "asyncio.run(main())\n",
                              near_32_bits);
    cr_assert_str_eq(out, "Task-4294967294 ['Task-4294967295', 'Task-4294967296', "
                          "'Task-4294967297']\nname='Task-4294967297' name='Task-4294967295'\n");
    free(out);
}

Test(loop, sleep_zero_interleaves_tasks) {
    char *out = run_script("import asyncio\n"
                           "async def w(n):\n"
                           "    for i in range(2):\n"
                           "        print(n, i)\n"
                           "        await asyncio.sleep(0)\n"
                           "async def main():\n"
                           "    await asyncio.gather(w('A'), w('B'))\n"
                           "asyncio.run(main())\n");
    cr_assert_str_eq(out, "A 0\nB 0\nA 1\nB 1\n");
    free(out);
}

Test(loop, timers_wake_tasks_in_deadline_order) {
    char *out = run_script("import asyncio\n"
                           "res = []\n"
                           "async def d(i, ms):\n"
                           "    await asyncio.sleep(ms / 1000)\n"
                           "    res.append(i)\n"
                           "async def main():\n"
                           "    await asyncio.gather(*(d(i, 10 - 2 * i) for i in range(5)))\n"
                           "    await asyncio.gather(*(d(i, 5) for i in range(5, 10)))\n"
                           "asyncio.run(main())\n"
                           "print(res)\n");
    cr_assert_str_eq(out, "[4, 3, 2, 1, 0, 5, 6, 7, 8, 9]\n");
    free(out);
}

Test(loop, cancelled_sleep_drops_its_stale_timer) {
    char *out = run_script("import asyncio\n"
                           "async def sleeper():\n"
                           "    try:\n"
                           "        await asyncio.sleep(0.01)\n"
                           "    except asyncio.CancelledError:\n"
                           "        print('cancelled')\n"
                           "    await asyncio.sleep(0.05)\n"
                           "    print('slept again, not woken early')\n"
                           "async def main():\n"
                           "    t = asyncio.create_task(sleeper())\n"
                           "    await asyncio.sleep(0)\n"
                           "    t.cancel()\n"
                           "    await asyncio.sleep(0.03)\n"
                           "    print('main at 0.03', t.done())\n"
                           "    await t\n"
                           "asyncio.run(main())\n");
    cr_assert_str_eq(out, "cancelled\nmain at 0.03 False\nslept again, not woken early\n");
    free(out);
}

Test(loop, cancelled_timers_leave_the_heap) {
    const char *src = "import asyncio\n"
                      "async def main():\n"
                      "    loop = asyncio.get_running_loop()\n"
                      "    hs = [loop.call_later(60, print, 'never') for _ in range(1000)]\n"
                      "    for h in hs[:900]:\n"
                      "        h.cancel()\n"
                      "    ts = [asyncio.create_task(asyncio.sleep(60)) for _ in range(300)]\n"
                      "    await asyncio.sleep(0)\n"
                      "    for t in ts:\n"
                      "        t.cancel()\n"
                      "    await asyncio.gather(*ts, return_exceptions=True)\n"
                      "    for h in hs[900:]:\n"
                      "        h.cancel()\n"
                      "asyncio.run(main())\n";
    AsyVM *vm = asy_vm_new();
    cr_assert_not_null(asy_vm_run_source(vm, src, strlen(src), "<test>", "__main__"));
    AsyLoop *L = vm->loop;
    /* 1,300 timers were set and all cancelled: compaction leaves fewer than 100 */
    cr_assert(L->timers.count < 100, "%zu timers left", L->timers.count);
    free_vm(vm);
}
