/* timers.h - the scheduler's timers (loop.c sets and takes them): deadlines taken out in
 * order, equal deadlines in the order they were set, as CPython's heap of (when, sequence).
 *
 * A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, 1990). The loop only takes out timers
 * that are due, and nearly every timer is set for later than the last one taken out
 * (a sleep is now + delay): such a "monotone" queue can keep its keys in 65 buckets by the
 * highest bit in which they differ from the last key taken out: bucket 0 holds the keys
 * equal to it, bucket i those differing first in bit i-1, and every key of a bucket is
 * below every key of a higher one. Setting a timer appends it to its bucket; taking one out
 * takes the head of bucket 0, or first spreads the lowest non-empty bucket over the buckets
 * below it around that bucket's smallest key (each timer moves down a few times in its
 * life, never up). When every timer of that lowest bucket is due, it is sorted at once
 * instead (a stable radix sort on the bits its keys differ in) and drained in order:
 * nothing can be set while the loop takes out due timers, so that run ends before the
 * next timer is set. Buckets keep the order timers were set in, so equal deadlines stay
 * in it. timers.asy's 100,000 timers, taken out some 20,000 at a time, cost 8 levels of
 * four-way comparisons each in a 4-ary heap.
 *
 * The few timers set for before the last key taken out (call_at() in the past, a NaN
 * deadline, a clock step) are due already: they wait in a small heap on (when, sequence)
 * of their own, which goes first.
 *
 * Keys are the deadlines (doubles, loop time) mapped to integers ordered as the doubles
 * are. A timer's handle and sequence number wait in a slot; the buckets move 16-byte
 * (key, slot) references.
 */
#ifndef ASY_TIMERS_H
#define ASY_TIMERS_H

#include "vm.h"

/* A ready-queue entry or timer callback: fn(vm, a, b). */
typedef void (*AsyLoopFn)(AsyVM *vm, AsyValue a, AsyValue b);

typedef struct {
    AsyLoopFn fn;
    AsyValue a, b;
} AsyHandle;

typedef struct {
    uint64_t key;        /* the deadline, as an ordered integer (timers.c: timer_key)   */
    uint32_t slot;       /* index into AsyTimers.slots                                  */
} AsyTimerRef;

typedef struct {
    AsyTimerRef *items;
    uint32_t len, cap;
    uint64_t min, max;   /* its smallest and largest keys, while it is not empty          */
} AsyTimerBucket;

typedef struct {
    uint64_t seq;        /* tie-break between equal deadlines in the past heap         */
    AsyHandle h;
} AsyTimer;

#define ASY_TIMER_BUCKETS 65

typedef struct {
    AsyTimerBucket b[ASY_TIMER_BUCKETS];
    uint32_t head0;      /* bucket 0 is a FIFO from here; while a sorted run of due
                            timers drains from it, its keys are <= last               */
    uint64_t last;       /* the last key taken out (0 before the first)                 */
    uint64_t mask;       /* bit i-1 set: bucket i (1..64) is not empty                   */
    AsyTimerRef *past;   /* timers set before `last`: a 4-ary heap on (key, seq)         */
    size_t npast, cappast;
    AsyTimerRef *scratch; /* the radix sort's other buffer                              */
    size_t capscratch;
    AsyTimer *slots;     /* by slot; cap slots, the first `used` ever used               */
    uint32_t *free;      /* slots given back, a stack of nfree                          */
    size_t cap, used, nfree;
    size_t count;        /* timers set and not taken out (dead ones included)           */
    uint64_t seq;
} AsyTimers;

/* Set fn(a, b) for loop time `when` (NaN: due at once). False with MemoryError pending. */
bool asy_timers_add(AsyVM *vm, AsyTimers *T, double when, AsyLoopFn fn, AsyValue a,
                    AsyValue b);
/* The earliest deadline; false when there is no timer. */
bool asy_timers_first(const AsyTimers *T, double *when);
/* Take out the earliest timer if its deadline is before `end`: 1 (its handle in *h), 0
 * (none is due), -1 (MemoryError pending: nothing was taken out). */
int asy_timers_pop_due(AsyVM *vm, AsyTimers *T, double end, AsyHandle *h);
/* Drop every timer for which dead(vm, handle) is true. */
void asy_timers_drop(AsyVM *vm, AsyTimers *T, bool (*dead)(AsyVM *vm, const AsyHandle *h));
/* Call fn on every timer (in no particular order) until it returns false; false then. */
bool asy_timers_each(const AsyTimers *T, bool (*fn)(const AsyHandle *h, double when, void *ctx),
                     void *ctx);
/* Mark every timer's values for the collector (a slice at a time: asy_gc_mark_sliced). */
void asy_timers_mark(AsyVM *vm, const AsyTimers *T);
void asy_timers_free(AsyVM *vm, AsyTimers *T);

#endif
