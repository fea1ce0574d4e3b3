/* gc.c - allocation and the precise mark-sweep collector.
 *
 * Invariant: a collection runs only at a safepoint (asy_gc_safepoint), where every live
 * value is reachable from the roots listed in gc_mark_roots: the VM's fields, the fibers'
 * stacks and frames, the temporary root stack, and whatever the scheduler marks. Nothing
 * is ever collected inside asy_gc_alloc, so C code between safepoints needs no rooting.
 */
#include "common.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fiber.h"
#include "vm.h"

static ASY_NORETURN void gc_fatal_oom(size_t size) {
    fprintf(stderr, "asy: fatal: out of memory allocating %zu bytes\n", size);
    exit(70);
}

/* Small objects (up to ASY_GC_NCLASSES * ASY_GC_GRAIN bytes, nearly all of them) come from
 * pools: chunks of GC_CHUNK_SIZE bytes, aligned to their size, each holding blocks of one
 * size class and one kind (GC_KIND_*). Each (kind, class) keeps a free list of the blocks
 * its dead objects left, then carves its newest chunk. malloc/free per object cost more
 * than the rest of allocating and sweeping together. A chunk's header has one bit per
 * grain in two bitmaps: `alloc` (the block holds an object) and `mark`; so a collection
 * sweeps the bitmaps, and touches only the dead objects, where a list of every object made
 * it load each live object again (the heap of a program building a big table is nearly
 * all live). Chunks go back to the system only in asy_gc_free_all. Under AddressSanitizer
 * every object is malloc'd, so use-after-free stays detectable.
 *
 * Bigger objects are malloc'd behind a GcLarge header that links them into one list, with
 * their mark in AsyObj.gc_marked; type objects are always allocated so, on a list of their
 * own, because they die last and __subclasses__ lists them in the order they were made. */
#define GC_POOLS (!ASY_ASAN)

#define GC_CHUNK_SIZE ((size_t)ASY_GC_CHUNK_SIZE)
#define GC_CHUNK_HEADER ((size_t)ASY_GC_CHUNK_HEADER)
#define GC_CHUNK_BITS ((size_t)ASY_GC_CHUNK_BITS)
/* Chunks are mapped this many at a time (one mmap, aligned by trimming the mapping). */
#define GC_CHUNKS_PER_MAP 16
#define GC_HUGE_PAGE ((size_t)2 << 20) /* x86-64's; elsewhere only an alignment */

enum { GC_KIND_PLAIN, GC_KIND_EXIT }; /* GC_KIND_EXIT: ASY_TYPE_FINALIZE_AT_EXIT types */

typedef struct GcChunk {
    struct GcChunk *next;      /* every chunk, newest first */
    uint32_t cls, kind;
    uint64_t alloc[GC_CHUNK_BITS / 64];
    uint64_t mark[GC_CHUNK_BITS / 64];
} GcChunk;
_Static_assert(sizeof(GcChunk) <= GC_CHUNK_HEADER, "a chunk's header fits in its first page");
_Static_assert(offsetof(GcChunk, mark) == ASY_GC_MARK_OFFSET, "vm.h finds the marks");

typedef struct GcLarge {
    struct GcLarge *next;
    size_t size;               /* bytes of the object, for the collection threshold */
} GcLarge;
_Static_assert(sizeof(GcLarge) % 16 == 0, "objects after a GcLarge keep malloc's alignment");

#define GC_LARGE_OF(obj) ((GcLarge *)(obj) - 1)
#define GC_OBJ_OF(large) ((AsyObj *)((GcLarge *)(large) + 1))

static inline GcChunk *gc_chunk_of(const void *p) {
    return (GcChunk *)((uintptr_t)p & ~(uintptr_t)(GC_CHUNK_SIZE - 1));
}

static inline size_t gc_bit_of(const void *p) {
    return (((uintptr_t)p & (GC_CHUNK_SIZE - 1)) - GC_CHUNK_HEADER) / ASY_GC_GRAIN;
}

static inline AsyObj *gc_obj_at(GcChunk *c, size_t bit) {
    return (AsyObj *)((char *)c + GC_CHUNK_HEADER + bit * ASY_GC_GRAIN);
}

/* GC_CHUNKS_PER_MAP chunks from one mapping (trimmed to huge-page alignment), which wait
 * in vm->gc_spare until pools need them. Past the first mapping the kernel is asked for
 * transparent huge pages: a heap growing to 60 MB took 15,700 page faults, a sixth of
 * strings_dicts' time, and 8,200 with them. The first stays in small pages, so that a
 * short script does not clear a whole huge page to start. */
static void gc_map_chunks(AsyVM *vm) {
    size_t want = GC_CHUNK_SIZE * GC_CHUNKS_PER_MAP, align = GC_HUGE_PAGE;
    size_t len = want + align;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) gc_fatal_oom(want);
    char *start = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
    if (start > p) munmap(p, (size_t)(start - p));
    if (start + want < p + len) munmap(start + want, (size_t)(p + len - (start + want)));
#ifdef MADV_HUGEPAGE
    if (vm->gc_chunks) madvise(start, want, MADV_HUGEPAGE);
#endif
    vm->gc_spare = start;
    vm->gc_spare_end = start + want;
}

static void gc_unmap_chunks(AsyVM *vm) {
    for (GcChunk *c = vm->gc_chunks, *next; c; c = next) {
        next = c->next;
        munmap(c, GC_CHUNK_SIZE);
    }
    if (vm->gc_spare) munmap(vm->gc_spare, (size_t)(vm->gc_spare_end - vm->gc_spare));
    vm->gc_chunks = NULL;
    vm->gc_spare = vm->gc_spare_end = NULL;
}

/* A new chunk for pool (kind, cls), made its carving area. */
static void gc_pool_new_chunk(AsyVM *vm, unsigned kind, unsigned cls) {
    if (vm->gc_spare == vm->gc_spare_end) gc_map_chunks(vm);
    GcChunk *c = (GcChunk *)vm->gc_spare;
    vm->gc_spare += GC_CHUNK_SIZE;
    c->next = vm->gc_chunks;
    c->cls = cls;
    c->kind = kind;
    vm->gc_chunks = c;
    AsyGcPool *pool = &vm->gc_pools[kind][cls];
    pool->bump = (char *)c + GC_CHUNK_HEADER;
    pool->bump_end = (char *)c + GC_CHUNK_SIZE;
}

static ASY_ALWAYS_INLINE void *gc_pool_take(AsyVM *vm, unsigned kind, unsigned cls) {
    AsyGcPool *pool = &vm->gc_pools[kind][cls];
    void *p = pool->free;
    if (p) {
        pool->free = *(void **)p;
    } else {
        size_t size = (size_t)cls * ASY_GC_GRAIN;
        if (ASY_UNLIKELY((size_t)(pool->bump_end - pool->bump) < size))
            gc_pool_new_chunk(vm, kind, cls);
        p = pool->bump;
        pool->bump += size;
    }
    size_t bit = gc_bit_of(p);
    gc_chunk_of(p)->alloc[bit / 64] |= (uint64_t)1 << (bit % 64);
    return p;
}

/* NULL when malloc fails: the callers decide between MemoryError and the fatal exit. */
static AsyObj *gc_large_new(AsyVM *vm, size_t size, bool zero, GcLarge **list) {
    size_t total = sizeof(GcLarge) + (size < sizeof(AsyObj) ? sizeof(AsyObj) : size);
    GcLarge *l = zero ? calloc(1, total) : malloc(total);
    if (!l) return NULL;
    l->next = *list;
    l->size = total - sizeof(GcLarge);
    *list = l;
    AsyObj *obj = GC_OBJ_OF(l);
    if (!zero) memset(obj, 0, sizeof(AsyObj));
    vm->bytes_allocated += l->size;
    return obj;
}

static ASY_ALWAYS_INLINE AsyObj *gc_alloc(AsyVM *vm, AsyType *type, size_t size, bool zero,
                                          bool fallible) {
    AsyObj *obj;
    if (GC_POOLS && size <= (size_t)ASY_GC_NCLASSES * ASY_GC_GRAIN) {
        size_t cls = (size + ASY_GC_GRAIN - 1) / ASY_GC_GRAIN;
        if (cls == 0) cls = 1;
        unsigned kind =
            type && (type->tflags & ASY_TYPE_FINALIZE_AT_EXIT) ? GC_KIND_EXIT : GC_KIND_PLAIN;
        void *p = gc_pool_take(vm, kind, (unsigned)cls);
        size_t bytes = cls * ASY_GC_GRAIN;
        memset(p, 0, zero ? bytes : sizeof(AsyObj));
        obj = p;
        obj->gc_class = (uint16_t)cls;
        vm->bytes_allocated += bytes;
    } else {
        /* A size the program chose comes here fallible: past vm->max_alloc, MemoryError. */
        bool over = size > (fallible ? vm->max_alloc : ASY_MAX_ALLOC);
        obj = over ? NULL : gc_large_new(vm, size, zero, &vm->gc_large);
        if (!obj) {
            if (!fallible) gc_fatal_oom(size);
            asy_raise_memory(vm);
            return NULL;
        }
    }
    obj->type = type;
    vm->gc_pending = true;
    return obj;
}

void *asy_gc_alloc(AsyVM *vm, AsyType *type, size_t size) {
    return gc_alloc(vm, type, size, true, false);
}

void *asy_gc_alloc_uninit(AsyVM *vm, AsyType *type, size_t size) {
    return gc_alloc(vm, type, size, false, false);
}

void *asy_gc_alloc_var(AsyVM *vm, AsyType *type, size_t size, bool zero) {
    /* Two instances, so that a body left unzeroed (strs) clears only its header. */
    return zero ? gc_alloc(vm, type, size, true, true) : gc_alloc(vm, type, size, false, true);
}

void *asy_gc_alloc_type(AsyVM *vm, AsyType *meta, size_t size) {
    AsyObj *obj = gc_large_new(vm, size, true, &vm->gc_types);
    if (!obj) gc_fatal_oom(size);
    obj->type = meta;
    vm->gc_pending = true;
    return obj;
}

void *asy_mem_alloc(AsyVM *vm, size_t size) {
    if (size > vm->max_alloc) {
        asy_raise_memory(vm);
        return NULL;
    }
    void *p = malloc(size ? size : 1);
    if (!p) {
        asy_raise_memory(vm);
        return NULL;
    }
    vm->bytes_allocated += size;
    vm->gc_pending = true;
    return p;
}

void *asy_mem_realloc(AsyVM *vm, void *ptr, size_t old_size, size_t new_size) {
    if (new_size > vm->max_alloc) {
        asy_raise_memory(vm);
        return NULL;
    }
    void *p = realloc(ptr, new_size ? new_size : 1);
    if (!p) {
        asy_raise_memory(vm);
        return NULL;
    }
    vm->bytes_allocated += new_size;
    vm->bytes_allocated -= old_size < vm->bytes_allocated ? old_size : vm->bytes_allocated;
    vm->gc_pending = true;
    return p;
}

void asy_mem_free(AsyVM *vm, void *ptr, size_t size) {
    if (!ptr) return;
    vm->bytes_allocated -= size < vm->bytes_allocated ? size : vm->bytes_allocated;
    free(ptr);
}

/* ---- marking ---- */

static void gc_gray_push(AsyVM *vm, AsyObj *obj) {
    if (vm->ngray == vm->graycap) {
        size_t cap = vm->graycap ? vm->graycap * 2 : 256;
        AsyObj **g = realloc(vm->gray, cap * sizeof *g);
        if (!g) gc_fatal_oom(cap * sizeof *g);
        vm->gray = g;
        vm->graycap = cap;
    }
    vm->gray[vm->ngray++] = obj;
}

void asy_gc_mark_new(AsyVM *vm, AsyObj *obj) {
    AsyType *t = obj->type;
    if (t && !t->traverse) {
        /* A leaf (str, bytes, a big int...): its type is all it refers to, so it need
         * not go through the mark stack. */
        asy_gc_mark_obj(vm, &t->hdr);
        return;
    }
    gc_gray_push(vm, obj);
}

/* A container whose marking goes on later (asy_gc_mark_sliced): when the mark stack is
 * back down to `level` (what its last slice pushed is traced), fn marks the next slice. */
typedef struct AsyGcCont {
    AsyGcSliceFn fn;
    const void *obj;
    uintptr_t pos, end;
    size_t level;
} AsyGcCont;

/* asy_gc_mark_sliced's container did not fit in one slice: the rest waits as a
 * continuation, from where the mark stack was before its first slice. */
void asy_gc_mark_sliced_rest(AsyVM *vm, AsyGcSliceFn fn, const void *obj, uintptr_t pos,
                             uintptr_t end, size_t level) {
    if (vm->ncont == vm->contcap) {
        size_t cap = vm->contcap ? vm->contcap * 2 : 16;
        AsyGcCont *c = realloc(vm->gc_cont, cap * sizeof *c);
        if (!c) gc_fatal_oom(cap * sizeof *c);
        vm->gc_cont = c;
        vm->contcap = cap;
    }
    vm->gc_cont[vm->ncont++] = (AsyGcCont){fn, obj, pos, end, level};
    vm->gray_floor = level; /* gc_trace stops there to mark the next slice */
}

/* The objects are prefetched a few items ahead: in a big list nearly every item's header
 * is a cache miss, and unlike the mark stack's pointer chase their addresses are known. */
static void gc_mark_values_now(AsyVM *vm, const AsyValue *values, int64_t n) {
    enum { AHEAD = 8 };
    for (int64_t i = 0; i < n; i++) {
        if (i + AHEAD < n && values[i + AHEAD].tag == ASY_T_OBJ)
            ASY_PREFETCH_W(values[i + AHEAD].as.o);
        asy_gc_mark_value(vm, values[i]);
    }
}

static uintptr_t gc_values_slice(AsyVM *vm, const void *values, uintptr_t pos, uintptr_t end) {
    uintptr_t stop = end - pos > ASY_GC_SLICE ? pos + ASY_GC_SLICE : end;
    gc_mark_values_now(vm, (const AsyValue *)values + pos, (int64_t)(stop - pos));
    return stop;
}

void asy_gc_mark_values(AsyVM *vm, const AsyValue *values, int64_t n) {
    if (n <= ASY_GC_SLICE)
        gc_mark_values_now(vm, values, n);
    else
        asy_gc_mark_sliced(vm, gc_values_slice, values, 0, (uintptr_t)n);
}

void asy_root_grow(AsyVM *vm) {
    size_t cap = vm->rootcap ? vm->rootcap * 2 : 64;
    AsyValue *r = realloc(vm->roots, cap * sizeof *r);
    if (!r) gc_fatal_oom(cap * sizeof *r);
    vm->roots = r;
    vm->rootcap = cap;
}

/* Every root of the heap. A value reachable only from a C local is not here: see the GC
 * convention in vm.h. */
static void gc_mark_roots(AsyVM *vm) {
    for (int i = 0; i < ASY_TYPE_COUNT; i++) asy_gc_mark_obj(vm, (AsyObj *)vm->types[i]);
    for (int i = 0; i < ASY_EXC_COUNT; i++) asy_gc_mark_obj(vm, (AsyObj *)vm->exc_types[i]);
    for (int i = 0; i < ASY_S_COUNT; i++) asy_gc_mark_obj(vm, (AsyObj *)vm->names[i]);
    /* Interned strings are immortal: code objects and type dicts key on their identity. */
    for (size_t i = 0; i < vm->interned.cap; i++)
        asy_gc_mark_obj(vm, (AsyObj *)vm->interned.slots[i]);
    for (int i = 0; i < ASY_METHOD_CACHE_SIZE; i++) {
        asy_gc_mark_obj(vm, (AsyObj *)vm->method_cache[i].type);
        asy_gc_mark_value(vm, vm->method_cache[i].method);
    }
    asy_gc_mark_obj(vm, vm->not_implemented);
    asy_gc_mark_obj(vm, vm->ellipsis);
    asy_gc_mark_obj(vm, (AsyObj *)vm->empty_str);
    asy_gc_mark_obj(vm, (AsyObj *)vm->empty_tuple);
    asy_gc_mark_obj(vm, (AsyObj *)vm->exc);
    asy_gc_mark_obj(vm, (AsyObj *)vm->modules);
    asy_gc_mark_obj(vm, (AsyObj *)vm->builtins);
    asy_gc_mark_obj(vm, (AsyObj *)vm->main_module);
    asy_gc_mark_value(vm, vm->sys_argv);
    /* a task's fiber is marked by its task too (the loop holds every unfinished one) */
    asy_fiber_mark(vm, vm->fiber);
    asy_gc_mark_value(vm, vm->pending_send);
    if (vm->main_fiber != vm->fiber) asy_fiber_mark(vm, vm->main_fiber);
    for (size_t i = 0; i < vm->nroots; i++) asy_gc_mark_value(vm, vm->roots[i]);
    asy_gensite_mark(vm);
    if (vm->mark_extra) vm->mark_extra(vm);
}

/* Depth first: a container's next slice is marked only once the mark stack is back to
 * where it was before its last one, so the stack holds at most a slice per level of
 * nesting of big containers. */
/* Trace what is marked and not traced yet. Returns the bytes of the objects it traced
 * (leaves, marked without being traced, are not counted) when `count`, else 0. */
static ASY_ALWAYS_INLINE size_t gc_trace_counting(AsyVM *vm, bool count) {
    size_t bytes = 0;
    for (;;) {
        while (vm->ngray > vm->gray_floor) {
            AsyObj *obj = vm->gray[--vm->ngray];
            if (count)
                bytes += obj->gc_class ? (size_t)obj->gc_class * ASY_GC_GRAIN
                                       : GC_LARGE_OF(obj)->size;
            asy_gc_mark_obj(vm, (AsyObj *)obj->type); /* classes live while instances do */
            if (obj->type && obj->type->traverse) obj->type->traverse(vm, obj);
        }
        /* the mark stack is down to the last continuation's level: its next slice */
        while (vm->ncont && vm->gc_cont[vm->ncont - 1].pos == vm->gc_cont[vm->ncont - 1].end)
            vm->ncont--; /* done (after its last slice, which may have pushed more above) */
        if (!vm->ncont) {
            vm->gray_floor = 0;
            if (vm->ngray == 0) break;
            continue;
        }
        size_t i = vm->ncont - 1;
        vm->gray_floor = vm->gc_cont[i].level;
        if (vm->ngray > vm->gray_floor) continue;
        AsyGcCont c = vm->gc_cont[i];
        vm->gc_cont[i].pos = c.fn(vm, c.obj, c.pos, c.end); /* by index: fn may grow it */
    }
    return bytes;
}

static void gc_trace(AsyVM *vm) { gc_trace_counting(vm, false); }

/* After a collection that grew them, the mark stacks go back to the system (a list of
 * 100,000 tasks left 1 MB behind before marking was sliced; it still can with deep
 * nesting). */
#define GC_GRAY_KEEP 4096
#define GC_CONT_KEEP 256

static void gc_trim_stacks(AsyVM *vm) {
    if (vm->graycap > GC_GRAY_KEEP) {
        free(vm->gray);
        vm->gray = NULL;
        vm->graycap = 0;
    }
    if (vm->contcap > GC_CONT_KEEP) {
        free(vm->gc_cont);
        vm->gc_cont = NULL;
        vm->contcap = 0;
    }
}

static void gc_finalize(AsyVM *vm, AsyObj *obj) {
    if (obj->type && obj->type->finalize) obj->type->finalize(vm, obj);
}

/* Release the memory of an already finalized pooled object; does not look at its type. */
static void gc_release_pooled(AsyVM *vm, GcChunk *c, AsyObj *obj) {
    size_t size = (size_t)c->cls * ASY_GC_GRAIN;
    vm->bytes_allocated -= size < vm->bytes_allocated ? size : vm->bytes_allocated;
    AsyGcPool *pool = &vm->gc_pools[c->kind][c->cls];
    *(void **)obj = pool->free;
    pool->free = obj;
}

static void gc_release_large(AsyVM *vm, GcLarge *l) {
    vm->bytes_allocated -= l->size < vm->bytes_allocated ? l->size : vm->bytes_allocated;
    free(l);
}

/* Whether obj is a type object. `plain` caches the last type found not to be a metatype:
 * dead objects come in runs of one type. Type objects are on vm->gc_types, but one made
 * some other way must die last as well. The walk follows __base__ (a metatype's is type or
 * a metatype: type's layout wins it), never the MRO tuple, which may have been freed
 * earlier in this sweep (a dead class of many bases and its dead instances). Types are
 * freed only after every other dead object, so the base chain is safe to read. */
static bool gc_is_type(AsyVM *vm, AsyObj *obj, AsyType **plain) {
    AsyType *type_type = vm->types[ASY_TYPE_type];
    if (!type_type || !obj->type || obj->type == *plain) return false;
    for (AsyType *t = obj->type; t; t = t->base)
        if (t == type_type) return true;
    *plain = obj->type;
    return false;
}

/* Dead type objects wait on the (then empty) mark stack until every other dead object is
 * finalized: finalizers may look at their object's type. */
static void gc_defer_type(AsyVM *vm, AsyObj *obj) { gc_gray_push(vm, obj); }

/* Sweep a list of large objects: the marks of the live ones are cleared, the dead unlinked
 * and freed. On vm->gc_large (`plain` given) a dead object is finalized first and a dead type
 * is deferred instead, staying on the list for gc_free_deferred; on vm->gc_types (`plain`
 * NULL) the dead were finalized already. With `all`, every one is dead. */
static void gc_sweep_list(AsyVM *vm, GcLarge **link, bool all, AsyType **plain) {
    while (*link) {
        GcLarge *l = *link;
        AsyObj *obj = GC_OBJ_OF(l);
        if (obj->gc_marked && !all) {
            obj->gc_marked = 0;
            link = &l->next;
        } else if (plain && gc_is_type(vm, obj, plain)) {
            gc_defer_type(vm, obj);
            link = &l->next;
        } else {
            *link = l->next;
            if (plain) gc_finalize(vm, obj);
            gc_release_large(vm, l);
        }
    }
}

/* Sweep one chunk through its bitmaps: what was allocated and is not marked is dead, and
 * only the dead objects are touched. With `all`, everything is dead. */
static void gc_sweep_chunk(AsyVM *vm, GcChunk *c, bool all, AsyType **plain) {
    for (size_t w = 0; w < GC_CHUNK_BITS / 64; w++) {
        uint64_t dead = all ? c->alloc[w] : c->alloc[w] & ~c->mark[w];
        c->alloc[w] &= ~dead;
        c->mark[w] = 0;
        while (dead) {
            AsyObj *obj = gc_obj_at(c, w * 64 + (size_t)__builtin_ctzll(dead));
            dead &= dead - 1;
            if (gc_is_type(vm, obj, plain)) {
                gc_defer_type(vm, obj);
            } else {
                gc_finalize(vm, obj);
                gc_release_pooled(vm, c, obj);
            }
        }
    }
}

/* Free a deferred dead type, already finalized. */
static void gc_free_deferred(AsyVM *vm, AsyObj *obj) {
    if (obj->gc_class) {
        gc_release_pooled(vm, gc_chunk_of(obj), obj);
        return;
    }
    for (GcLarge **link = &vm->gc_large; *link; link = &(*link)->next)
        if (*link == GC_LARGE_OF(obj)) {
            *link = GC_LARGE_OF(obj)->next;
            gc_release_large(vm, GC_LARGE_OF(obj));
            return;
        }
}

/* Free the unmarked objects (with `all`, every object), types last: every dead type is
 * finalized before any is freed, since a type's finalizer looks at the `type` type. */
static void gc_sweep(AsyVM *vm, bool all) {
    AsyType *plain = NULL;
    gc_sweep_list(vm, &vm->gc_large, all, &plain);
    for (GcChunk *c = vm->gc_chunks; c; c = c->next) gc_sweep_chunk(vm, c, all, &plain);
    for (GcLarge *l = vm->gc_types; l; l = l->next)
        if (all || !GC_OBJ_OF(l)->gc_marked) gc_finalize(vm, GC_OBJ_OF(l));
    for (size_t i = 0; i < vm->ngray; i++) gc_finalize(vm, vm->gray[i]);
    for (size_t i = 0; i < vm->ngray; i++) gc_free_deferred(vm, vm->gray[i]);
    vm->ngray = 0;
    gc_sweep_list(vm, &vm->gc_types, all, NULL);
}

/* The next threshold: a multiple of the live heap. When most of the heap survives a
 * collection, the program is building up data (a table being filled, tasks being spawned)
 * and another collection soon would mark the same objects again for little gain: the
 * multiple grows from ASY_GC_GROWTH_FACTOR towards ASY_GC_GROWTH_MAX with the share that
 * survived. A program that makes garbage keeps the small multiple, so its peak stays near
 * twice its live data. strings_dicts (a 200,000-key table, then 300,000 words) marked
 * 116 MB in five collections, now 51 MB in three.
 *
 * A collection that freed next to nothing (over GC_IDLE_SURVIVAL of the heap survived) was
 * marking work for nothing: the program is only growing, as while it spawns tasks that all
 * wait. The next one then waits for up to ASY_GC_IDLE_EXTRA bytes more, a fixed amount
 * rather than a multiple, so that a big heap that turns to making garbage does not
 * overshoot by more than that. spawn.asy and timers.asy (100,000 tasks gathered, 60-75 MB
 * that all live until the end) collected at 8 MB and again at 66-70 MB, marking it all for
 * nothing (a sixth of timers.asy's instructions); now only at 8 MB. */
#define GC_IDLE_SURVIVAL 0.9

/* Room given to objects a collection kept alive to finalize them, per byte of them: they
 * and what their finalization allocates. */
#define GC_REVIVED_ROOM 4

static size_t gc_next_threshold(size_t before, size_t live) {
    double survived = before ? (double)live / (double)before : 0;
    double factor = ASY_GC_GROWTH_FACTOR, extra = 0;
    if (survived > 0.5)
        factor += (ASY_GC_GROWTH_MAX - ASY_GC_GROWTH_FACTOR) * (survived - 0.5) * 2;
    if (survived > GC_IDLE_SURVIVAL)
        extra = (double)ASY_GC_IDLE_EXTRA * (survived - GC_IDLE_SURVIVAL) / (1 - GC_IDLE_SURVIVAL);
    double next = (double)live * factor + extra;
    if (next < ASY_GC_INITIAL_THRESHOLD) return ASY_GC_INITIAL_THRESHOLD;
    return next > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)next;
}

void asy_gc_collect(AsyVM *vm) {
    if (vm->gc_disabled) return;
    size_t before = vm->bytes_allocated;
    gc_mark_roots(vm);
    gc_trace(vm);
    /* What the weak pass keeps alive to finalize it (async generators to aclose) is
     * garbage that dies soon after, once the tasks that finalize it (about three times its
     * size: asyncgen.c) have run. Counted as live, it and they would raise the threshold,
     * and each collection would keep a bigger batch alive (a program abandoning 300,000
     * generators grew to 340 MB); the next collection is put after them instead. */
    size_t revived = vm->gc_weak && vm->gc_weak(vm) ? gc_trace_counting(vm, true) : 0;
    gc_sweep(vm, false);
    gc_trim_stacks(vm);
    vm->collections++;
    vm->gc_pending = false;
    size_t live = vm->bytes_allocated;
    if (revived > live) revived = live;
    if (revived > before) revived = before;
    if (revived || vm->gc_revived) /* (the collection after one that revived may still see
                                      its finalizing tasks: no growth for them either) */
        vm->next_gc = gc_next_threshold(0, live - revived) + GC_REVIVED_ROOM * revived;
    else
        vm->next_gc = gc_next_threshold(before, live);
    vm->gc_revived = revived != 0;
}

void asy_gc_safepoint(AsyVM *vm) {
#if ASY_GC_STRESS
    if (vm->gc_pending) asy_gc_collect(vm);
#else
    if (ASY_UNLIKELY(vm->bytes_allocated > vm->next_gc)) asy_gc_collect(vm);
#endif
}

/* The process is exiting: only the finalizers a user would miss run. Freeing the rest one
 * by one, then unmapping it, took a tenth of the time of a program whose heap was large. */
void asy_gc_exit(AsyVM *vm) {
    for (GcChunk *c = vm->gc_chunks; c; c = c->next) {
        if (c->kind != GC_KIND_EXIT) continue;
        for (size_t w = 0; w < GC_CHUNK_BITS / 64; w++)
            for (uint64_t bits = c->alloc[w]; bits; bits &= bits - 1)
                gc_finalize(vm, gc_obj_at(c, w * 64 + (size_t)__builtin_ctzll(bits)));
    }
    for (GcLarge *l = vm->gc_large; l; l = l->next) {
        AsyObj *obj = GC_OBJ_OF(l);
        if (obj->type && (obj->type->tflags & ASY_TYPE_FINALIZE_AT_EXIT)) gc_finalize(vm, obj);
    }
}

bool asy_gc_any_finalized_at_exit(AsyVM *vm, bool (*pred)(AsyVM *vm, AsyObj *obj)) {
    for (GcChunk *c = vm->gc_chunks; c; c = c->next) {
        if (c->kind != GC_KIND_EXIT) continue;
        for (size_t w = 0; w < GC_CHUNK_BITS / 64; w++)
            for (uint64_t bits = c->alloc[w]; bits; bits &= bits - 1)
                if (pred(vm, gc_obj_at(c, w * 64 + (size_t)__builtin_ctzll(bits)))) return true;
    }
    for (GcLarge *l = vm->gc_large; l; l = l->next) {
        AsyObj *obj = GC_OBJ_OF(l);
        if (obj->type && (obj->type->tflags & ASY_TYPE_FINALIZE_AT_EXIT) && pred(vm, obj))
            return true;
    }
    return false;
}

/* Free every object, live or not: the VM is going away. Finalizers run, types last. */
void asy_gc_free_all(AsyVM *vm) {
    vm->nroots = 0;
    gc_sweep(vm, true);
    free(vm->gray);
    free(vm->gc_cont);
    vm->gc_cont = NULL;
    vm->ncont = vm->contcap = 0;
    free(vm->roots);
    vm->gray = NULL;
    vm->roots = NULL;
    vm->ngray = vm->graycap = 0;
    gc_unmap_chunks(vm);
    memset(vm->gc_pools, 0, sizeof vm->gc_pools);
}

/* Calls fn on every object until it returns false. */
void asy_gc_each(AsyVM *vm, bool (*fn)(AsyObj *obj, void *ctx), void *ctx) {
    for (GcLarge *l = vm->gc_types; l; l = l->next)
        if (!fn(GC_OBJ_OF(l), ctx)) return;
    for (GcLarge *l = vm->gc_large; l; l = l->next)
        if (!fn(GC_OBJ_OF(l), ctx)) return;
    for (GcChunk *c = vm->gc_chunks; c; c = c->next)
        for (size_t w = 0; w < GC_CHUNK_BITS / 64; w++)
            for (uint64_t bits = c->alloc[w]; bits; bits &= bits - 1)
                if (!fn(gc_obj_at(c, w * 64 + (size_t)__builtin_ctzll(bits)), ctx)) return;
}

/* The type objects, newest first. */
AsyObj *asy_gc_types_first(AsyVM *vm) { return vm->gc_types ? GC_OBJ_OF(vm->gc_types) : NULL; }

AsyObj *asy_gc_types_next(AsyObj *type) {
    GcLarge *next = GC_LARGE_OF(type)->next;
    return next ? GC_OBJ_OF(next) : NULL;
}
