/* timers.c - the scheduler's timers: a radix heap of deadlines, with a small heap for the
 * timers set in the past (the design is in timers.h). */
#include "timers.h"

#include <math.h>
#include <string.h>

/* The deadline as an unsigned integer that orders as the double does: positive doubles
 * keep their bits with the sign bit set, negative ones are inverted. */
static inline uint64_t timer_key(double when) {
    uint64_t u;
    memcpy(&u, &when, sizeof u);
    return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}

static inline double timer_when(uint64_t key) {
    uint64_t u = (key >> 63) ? key & ~((uint64_t)1 << 63) : ~key;
    double when;
    memcpy(&when, &u, sizeof when);
    return when;
}

/* The bucket of `key` while `last` is the last key taken out (key >= last). */
static inline unsigned bucket_of(uint64_t key, uint64_t last) {
    return key == last ? 0 : 64 - (unsigned)__builtin_clzll(key ^ last);
}

/* ---- slots ---- */

static bool slots_grow(AsyVM *vm, AsyTimers *T) {
    size_t cap = T->cap ? T->cap * 2 : 64;
    if (cap > UINT32_MAX) {
        asy_raise_memory(vm);
        return false;
    }
    AsyTimer *s = asy_mem_realloc(vm, T->slots, T->cap * sizeof *s, cap * sizeof *s);
    if (!s) return false;
    T->slots = s;
    uint32_t *fr = asy_mem_realloc(vm, T->free, T->cap * sizeof *fr, cap * sizeof *fr);
    if (!fr) return false;
    T->free = fr;
    T->cap = cap;
    return true;
}

static void slot_free(AsyTimers *T, uint32_t slot) { T->free[T->nfree++] = slot; }

/* ---- the past heap: 4-ary, on (key, seq) ---- */

#define PAST_ARITY 4

static inline bool past_before(const AsyTimers *T, AsyTimerRef x, AsyTimerRef y) {
    if (x.key != y.key) return x.key < y.key;
    return T->slots[x.slot].seq < T->slots[y.slot].seq;
}

static void past_sift_up(AsyTimers *T, size_t i, AsyTimerRef item) {
    while (i > 0) {
        size_t parent = (i - 1) / PAST_ARITY;
        if (!past_before(T, item, T->past[parent])) break;
        T->past[i] = T->past[parent];
        i = parent;
    }
    T->past[i] = item;
}

static void past_sift_down(AsyTimers *T, size_t i, AsyTimerRef item) {
    for (;;) {
        size_t first = PAST_ARITY * i + 1, min = first;
        if (first >= T->npast) break;
        for (size_t c = first + 1; c < first + PAST_ARITY && c < T->npast; c++)
            if (past_before(T, T->past[c], T->past[min])) min = c;
        if (!past_before(T, T->past[min], item)) break;
        T->past[i] = T->past[min];
        i = min;
    }
    T->past[i] = item;
}

static bool past_push(AsyVM *vm, AsyTimers *T, AsyTimerRef r) {
    if (T->npast == T->cappast) {
        size_t cap = T->cappast ? T->cappast * 2 : 16;
        AsyTimerRef *p = asy_mem_realloc(vm, T->past, T->cappast * sizeof *p, cap * sizeof *p);
        if (!p) return false;
        T->past = p;
        T->cappast = cap;
    }
    past_sift_up(T, T->npast++, r);
    return true;
}

static AsyTimerRef past_pop(AsyTimers *T) {
    AsyTimerRef top = T->past[0];
    AsyTimerRef last = T->past[--T->npast];
    if (T->npast > 0) past_sift_down(T, 0, last);
    return top;
}

/* ---- buckets ---- */

static bool bucket_reserve(AsyVM *vm, AsyTimerBucket *bk, size_t need) {
    if (need <= bk->cap) return true;
    if (need > UINT32_MAX) {
        asy_raise_memory(vm);
        return false;
    }
    size_t cap = bk->cap ? bk->cap : 16;
    while (cap < need) cap *= 2;
    if (cap > UINT32_MAX) cap = UINT32_MAX;
    AsyTimerRef *it = asy_mem_realloc(vm, bk->items, bk->cap * sizeof *it, cap * sizeof *it);
    if (!it) return false;
    bk->items = it;
    bk->cap = (uint32_t)cap;
    return true;
}

/* Append r to bucket i, which has room. */
static inline void bucket_put(AsyTimers *T, unsigned i, AsyTimerRef r) {
    AsyTimerBucket *bk = &T->b[i];
    if (bk->len == 0) {
        bk->min = bk->max = r.key;
    } else {
        if (r.key < bk->min) bk->min = r.key;
        if (r.key > bk->max) bk->max = r.key;
    }
    bk->items[bk->len++] = r;
    if (i) T->mask |= (uint64_t)1 << (i - 1);
}

static inline bool bucket0_empty(const AsyTimers *T) { return T->head0 == T->b[0].len; }

/* Bucket j is the lowest non-empty one and bucket 0 is empty: its smallest key becomes
 * the last one taken out, and its timers go down to the buckets below it, in order. Room
 * is made first, so a failure changes nothing. */
static bool bucket_spread(AsyVM *vm, AsyTimers *T, unsigned j) {
    AsyTimerBucket *bk = &T->b[j];
    uint64_t last = bk->min;
    uint32_t count[ASY_TIMER_BUCKETS] = {0};
    for (uint32_t k = 0; k < bk->len; k++) count[bucket_of(bk->items[k].key, last)]++;
    T->b[0].len = T->head0 = 0;
    for (unsigned i = 0; i < j; i++)
        if (count[i] && !bucket_reserve(vm, &T->b[i], (size_t)T->b[i].len + count[i]))
            return false;
    T->last = last;
    for (uint32_t k = 0; k < bk->len; k++) {
        AsyTimerRef r = bk->items[k];
        bucket_put(T, bucket_of(r.key, last), r);
    }
    bk->len = 0;
    T->mask &= ~((uint64_t)1 << (j - 1));
    return true;
}

/* Sort items[0 .. n) by key, keeping the order of equal keys: insertion sort for a few,
 * else LSD radix sort, 11 bits a pass, over the low bits in which the keys differ. */
#define SORT_BITS 11

static bool sort_by_key(AsyVM *vm, AsyTimers *T, AsyTimerRef *items, uint32_t n) {
    if (n < 48) {
        for (uint32_t i = 1; i < n; i++) {
            AsyTimerRef r = items[i];
            uint32_t k = i;
            for (; k > 0 && items[k - 1].key > r.key; k--) items[k] = items[k - 1];
            items[k] = r;
        }
        return true;
    }
    if (T->capscratch < n) {
        AsyTimerRef *s = asy_mem_realloc(vm, T->scratch, T->capscratch * sizeof *s, n * sizeof *s);
        if (!s) return false;
        T->scratch = s;
        T->capscratch = n;
    }
    uint64_t differ = 0;
    for (uint32_t i = 1; i < n; i++) differ |= items[i].key ^ items[0].key;
    AsyTimerRef *src = items, *dst = T->scratch;
    for (unsigned shift = 0; shift < 64 && (differ >> shift); shift += SORT_BITS) {
        uint32_t count[1u << SORT_BITS] = {0};
        const uint64_t digit = (1u << SORT_BITS) - 1;
        for (uint32_t i = 0; i < n; i++) count[(src[i].key >> shift) & digit]++;
        uint32_t sum = 0;
        for (uint32_t d = 0; d <= digit; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (uint32_t i = 0; i < n; i++) dst[count[(src[i].key >> shift) & digit]++] = src[i];
        AsyTimerRef *t = src;
        src = dst;
        dst = t;
    }
    if (src != items) memcpy(items, src, n * sizeof *items);
    return true;
}

/* Bucket j is the lowest non-empty one, bucket 0 is empty, and every timer of j is due:
 * j becomes bucket 0, sorted, and its largest key the last one taken out (the buckets
 * above keep their meaning: that key differs from the old one only below bit j). */
static bool bucket_sort_due(AsyVM *vm, AsyTimers *T, unsigned j) {
    if (!sort_by_key(vm, T, T->b[j].items, T->b[j].len)) return false;
    AsyTimerBucket b0 = T->b[0];
    T->b[0] = T->b[j];
    T->b[j] = b0;
    T->b[j].len = 0;
    T->head0 = 0;
    T->last = T->b[0].max;
    T->mask &= ~((uint64_t)1 << (j - 1));
    return true;
}

/* ---- the interface ---- */

bool asy_timers_add(AsyVM *vm, AsyTimers *T, double when, AsyLoopFn fn, AsyValue a,
                    AsyValue b) {
    if (isnan(when)) when = -HUGE_VAL;
    uint32_t slot;
    if (T->nfree > 0) {
        slot = T->free[T->nfree - 1];
    } else {
        if (T->used == T->cap && !slots_grow(vm, T)) return false;
        slot = (uint32_t)T->used;
    }
    AsyTimer *t = &T->slots[slot]; /* filled first: the past heap compares sequences */
    t->seq = T->seq;
    t->h.fn = fn;
    t->h.a = a;
    t->h.b = b;
    AsyTimerRef r = {timer_key(when), slot};
    if (r.key < T->last) {
        if (!past_push(vm, T, r)) return false;
    } else {
        unsigned i = bucket_of(r.key, T->last);
        if (!bucket_reserve(vm, &T->b[i], (size_t)T->b[i].len + 1)) return false;
        bucket_put(T, i, r);
    }
    if (T->nfree > 0)
        T->nfree--;
    else
        T->used++;
    T->seq++;
    T->count++;
    return true;
}

bool asy_timers_first(const AsyTimers *T, double *when) {
    if (T->npast > 0) {
        *when = timer_when(T->past[0].key);
    } else if (!bucket0_empty(T)) {
        *when = timer_when(T->b[0].items[T->head0].key);
    } else if (T->mask) {
        *when = timer_when(T->b[__builtin_ctzll(T->mask) + 1].min);
    } else {
        return false;
    }
    return true;
}

int asy_timers_pop_due(AsyVM *vm, AsyTimers *T, double end, AsyHandle *h) {
    AsyTimerRef r;
    if (T->npast > 0) { /* set before the last one taken out: due already */
        r = past_pop(T);
    } else {
        if (bucket0_empty(T)) {
            if (!T->mask) return 0;
            unsigned j = (unsigned)__builtin_ctzll(T->mask) + 1;
            uint64_t end_key = timer_key(end);
            if (T->b[j].min >= end_key) return 0;
            if (!(T->b[j].max < end_key ? bucket_sort_due(vm, T, j) : bucket_spread(vm, T, j)))
                return -1;
        }
        r = T->b[0].items[T->head0++];
        if (bucket0_empty(T)) T->b[0].len = T->head0 = 0;
    }
    *h = T->slots[r.slot].h;
    slot_free(T, r.slot);
    T->count--;
    return 1;
}

/* Keep the timers of items[from .. len) that are alive, in order; returns how many. */
static uint32_t keep_alive(AsyVM *vm, AsyTimers *T, AsyTimerRef *items, uint32_t from,
                           uint32_t len, bool (*dead)(AsyVM *, const AsyHandle *)) {
    uint32_t keep = 0;
    for (uint32_t k = from; k < len; k++) {
        if (dead(vm, &T->slots[items[k].slot].h)) {
            slot_free(T, items[k].slot);
            T->count--;
        } else {
            items[keep++] = items[k];
        }
    }
    return keep;
}

void asy_timers_drop(AsyVM *vm, AsyTimers *T, bool (*dead)(AsyVM *vm, const AsyHandle *h)) {
    for (unsigned i = 0; i < ASY_TIMER_BUCKETS; i++) {
        AsyTimerBucket *bk = &T->b[i];
        bk->len = keep_alive(vm, T, bk->items, i == 0 ? T->head0 : 0, bk->len, dead);
        if (i == 0) T->head0 = 0;
        bk->min = bk->max = bk->len ? bk->items[0].key : 0;
        for (uint32_t k = 1; k < bk->len; k++) {
            if (bk->items[k].key < bk->min) bk->min = bk->items[k].key;
            if (bk->items[k].key > bk->max) bk->max = bk->items[k].key;
        }
        if (i && !bk->len) T->mask &= ~((uint64_t)1 << (i - 1));
    }
    T->npast = keep_alive(vm, T, T->past, 0, (uint32_t)T->npast, dead);
    for (size_t i = T->npast > 1 ? (T->npast - 2) / PAST_ARITY + 1 : 0; i-- > 0;)
        past_sift_down(T, i, T->past[i]);
}

bool asy_timers_each(const AsyTimers *T, bool (*fn)(const AsyHandle *h, double when, void *ctx),
                     void *ctx) {
    for (size_t k = 0; k < T->npast; k++)
        if (!fn(&T->slots[T->past[k].slot].h, timer_when(T->past[k].key), ctx)) return false;
    for (unsigned i = 0; i < ASY_TIMER_BUCKETS; i++) {
        const AsyTimerBucket *bk = &T->b[i];
        for (uint32_t k = i == 0 ? T->head0 : 0; k < bk->len; k++)
            if (!fn(&T->slots[bk->items[k].slot].h, timer_when(bk->items[k].key), ctx))
                return false;
    }
    return true;
}

/* Positions of the sliced marking: (part << 32) | index, part 0 the past heap, part i + 1
 * bucket i. */
#define TIMERS_POS(part, k) (((uintptr_t)(part) << 32) | (k))

static uintptr_t timers_mark_slice(AsyVM *vm, const void *obj, uintptr_t pos, uintptr_t end) {
    const AsyTimers *T = obj;
    int n = 0;
    for (unsigned part = (unsigned)(pos >> 32); part <= ASY_TIMER_BUCKETS; part++) {
        const AsyTimerRef *refs = part ? T->b[part - 1].items : T->past;
        size_t len = part ? T->b[part - 1].len : T->npast;
        size_t k = part == (pos >> 32) ? (uint32_t)pos : 0;
        if (part == 1 && k < T->head0) k = T->head0; /* bucket 0's FIFO starts there */
        for (; k < len; k++) {
            if (n++ == ASY_GC_SLICE) return TIMERS_POS(part, k);
            const AsyHandle *h = &T->slots[refs[k].slot].h;
            asy_gc_mark_value(vm, h->a);
            asy_gc_mark_value(vm, h->b);
        }
    }
    return end;
}

void asy_timers_mark(AsyVM *vm, const AsyTimers *T) {
    if (T->count) asy_gc_mark_sliced(vm, timers_mark_slice, T, 0, UINTPTR_MAX);
}

void asy_timers_free(AsyVM *vm, AsyTimers *T) {
    for (unsigned i = 0; i < ASY_TIMER_BUCKETS; i++)
        asy_mem_free(vm, T->b[i].items, T->b[i].cap * sizeof *T->b[i].items);
    asy_mem_free(vm, T->past, T->cappast * sizeof *T->past);
    asy_mem_free(vm, T->scratch, T->capscratch * sizeof *T->scratch);
    asy_mem_free(vm, T->slots, T->cap * sizeof *T->slots);
    asy_mem_free(vm, T->free, T->cap * sizeof *T->free);
    memset(T, 0, sizeof *T);
}
