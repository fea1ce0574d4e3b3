/* gc.c - allocation and the precise mark-sweep collector.
 *
 * Invariant: a collection runs only at a safepoint (asy_gc_safepoint), where every live
 * value is reachable from the roots listed in gc_mark_roots: the VM's fields, the fibers'
 * stacks and frames, the temporary root stack, and whatever the scheduler marks. Nothing
 * is ever collected inside asy_gc_alloc, so C code between safepoints needs no rooting.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/mman.h>

#include "fiber.h"
#include "vm.h"

static ASY_NORETURN void gc_fatal_oom(size_t size) {
    fprintf(stderr, "asy: fatal: out of memory allocating %zu bytes\n", size);
    exit(70);
}

/* Small objects (up to ASY_GC_NCLASSES * ASY_GC_GRAIN bytes, nearly all of them) come from
 * pools: each size class keeps a free list of blocks its dead objects left, refilled by
 * carving the newest chunk. malloc/free per object cost more than the rest of allocating
 * and sweeping together. Chunks go back to the system only in asy_gc_free_all. Under
 * AddressSanitizer every object is malloc'd, so use-after-free stays detectable. */
#if defined(__SANITIZE_ADDRESS__)
#define GC_POOLS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GC_POOLS 0
#endif
#endif
#ifndef GC_POOLS
#define GC_POOLS 1
#endif

/* Chunks are mapped directly rather than malloc'd, so they do not sit between the malloc'd
 * buffers of lists and dicts, which then often grow in place instead of being copied. */
#define GC_CHUNK_SIZE ((size_t)256 << 10)
#define GC_CHUNK_HEADER ASY_GC_GRAIN /* the chunk list link, padded to keep alignment */

/* Bytes one object occupies, for the collection threshold. */
static size_t gc_object_size(AsyObj *obj) {
    if (obj->gc_class) return (size_t)obj->gc_class * ASY_GC_GRAIN;
#if defined(__GLIBC__)
    return malloc_usable_size(obj);
#else
    return obj->type ? obj->type->basicsize : sizeof(AsyObj);
#endif
}

static char *gc_chunk_new(void) {
#ifdef MAP_ANONYMOUS
    void *p = mmap(NULL, GC_CHUNK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) gc_fatal_oom(GC_CHUNK_SIZE);
#else
    void *p = malloc(GC_CHUNK_SIZE);
    if (!p) gc_fatal_oom(GC_CHUNK_SIZE);
#endif
    return p;
}

static void gc_chunk_free(void *chunk) {
#ifdef MAP_ANONYMOUS
    munmap(chunk, GC_CHUNK_SIZE);
#else
    free(chunk);
#endif
}

/* A fresh block of class cls from the newest chunk, starting a new chunk when the tail is
 * too short (the tail's remainder is given to the free lists, largest classes first). */
static void *gc_pool_carve(AsyVM *vm, unsigned cls) {
    size_t size = (size_t)cls * ASY_GC_GRAIN;
    if ((size_t)(vm->gc_bump_end - vm->gc_bump) < size) {
        while (vm->gc_bump_end - vm->gc_bump >= ASY_GC_GRAIN) {
            size_t left = (size_t)(vm->gc_bump_end - vm->gc_bump) / ASY_GC_GRAIN;
            unsigned c = left > ASY_GC_NCLASSES ? ASY_GC_NCLASSES : (unsigned)left;
            *(void **)vm->gc_bump = vm->gc_free[c];
            vm->gc_free[c] = vm->gc_bump;
            vm->gc_bump += (size_t)c * ASY_GC_GRAIN;
        }
        char *chunk = gc_chunk_new();
        *(void **)chunk = vm->gc_chunks;
        vm->gc_chunks = chunk;
        vm->gc_bump = chunk + GC_CHUNK_HEADER;
        vm->gc_bump_end = chunk + GC_CHUNK_SIZE;
    }
    void *p = vm->gc_bump;
    vm->gc_bump += size;
    return p;
}

static inline AsyObj *gc_alloc(AsyVM *vm, AsyType *type, size_t size, bool zero) {
    if (size > ASY_MAX_ALLOC) gc_fatal_oom(size);
    AsyObj *obj;
    size_t cls = (size + ASY_GC_GRAIN - 1) / ASY_GC_GRAIN;
    if (GC_POOLS && cls <= ASY_GC_NCLASSES) {
        if (cls == 0) cls = 1;
        void *p = vm->gc_free[cls];
        if (p) vm->gc_free[cls] = *(void **)p;
        else p = gc_pool_carve(vm, (unsigned)cls);
        size_t bytes = cls * ASY_GC_GRAIN;
        memset(p, 0, zero ? bytes : sizeof(AsyObj));
        obj = p;
        obj->gc_class = (uint16_t)cls;
        vm->bytes_allocated += bytes;
    } else {
        obj = zero ? calloc(1, size) : malloc(size < sizeof(AsyObj) ? sizeof(AsyObj) : size);
        if (!obj) gc_fatal_oom(size);
        if (!zero) memset(obj, 0, sizeof(AsyObj));
        vm->bytes_allocated += gc_object_size(obj);
    }
    obj->type = type;
    obj->gc_next = vm->objects;
    vm->objects = obj;
    vm->gc_pending = true;
    return obj;
}

void *asy_gc_alloc(AsyVM *vm, AsyType *type, size_t size) { return gc_alloc(vm, type, size, true); }

void *asy_gc_alloc_uninit(AsyVM *vm, AsyType *type, size_t size) {
    return gc_alloc(vm, type, size, false);
}

void *asy_mem_alloc(AsyVM *vm, size_t size) {
    if (size > ASY_MAX_ALLOC) {
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
    if (new_size > ASY_MAX_ALLOC) {
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

void asy_gc_mark_obj(AsyVM *vm, AsyObj *obj) {
    if (!obj || obj->gc_marked) return;
    obj->gc_marked = 1;
    AsyType *t = obj->type;
    if (t && !t->traverse) {
        /* A leaf (str, bytes, a big int...): its type is all it refers to, so it need
         * not go through the mark stack. */
        if (!t->hdr.gc_marked) asy_gc_mark_obj(vm, &t->hdr);
        return;
    }
    gc_gray_push(vm, obj);
}

void asy_gc_mark_value(AsyVM *vm, AsyValue v) {
    if (v.tag == ASY_T_OBJ) asy_gc_mark_obj(vm, v.as.o);
}

/* The objects are prefetched a few items ahead: in a big list nearly every item's header
 * is a cache miss, and unlike the mark stack's pointer chase their addresses are known. */
void asy_gc_mark_values(AsyVM *vm, const AsyValue *values, int64_t n) {
    enum { AHEAD = 8 };
    for (int64_t i = 0; i < n; i++) {
        if (i + AHEAD < n && values[i + AHEAD].tag == ASY_T_OBJ)
            ASY_PREFETCH_W(values[i + AHEAD].as.o);
        asy_gc_mark_value(vm, values[i]);
    }
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
    if (vm->mark_extra) vm->mark_extra(vm);
}

static void gc_trace(AsyVM *vm) {
    while (vm->ngray > 0) {
        AsyObj *obj = vm->gray[--vm->ngray];
        asy_gc_mark_obj(vm, (AsyObj *)obj->type); /* classes live while instances do */
        if (obj->type && obj->type->traverse) obj->type->traverse(vm, obj);
    }
}

static void gc_finalize(AsyVM *vm, AsyObj *obj) {
    if (obj->type && obj->type->finalize) obj->type->finalize(vm, obj);
}

/* Release the memory of an already finalized object; does not look at its type. */
static void gc_release(AsyVM *vm, AsyObj *obj) {
    size_t size = gc_object_size(obj);
    vm->bytes_allocated -= size < vm->bytes_allocated ? size : vm->bytes_allocated;
    unsigned cls = obj->gc_class;
    if (cls) {
        *(void **)obj = vm->gc_free[cls];
        vm->gc_free[cls] = obj;
    } else {
        free(obj);
    }
}

static void gc_free_object(AsyVM *vm, AsyObj *obj) {
    gc_finalize(vm, obj);
    gc_release(vm, obj);
}

/* Free a list of dead type objects: every finalizer first (a type's finalizer looks at the
 * `type` type, which may be on the same list), then the memory. */
static void gc_free_types(AsyVM *vm, AsyObj *types) {
    for (AsyObj *t = types; t; t = t->gc_next) gc_finalize(vm, t);
    while (types) {
        AsyObj *next = types->gc_next;
        gc_release(vm, types);
        types = next;
    }
}

/* Finalizers may look at their object's type, so types die last: first sweep frees every
 * unmarked non-type object, second sweep the unmarked types. */
/* Whether obj is a type object. `plain` caches the last type found not to be a metatype:
 * dead objects come in runs of one type, and asy_is_subtype walks the bases. */
static bool gc_is_type(AsyVM *vm, AsyObj *obj, AsyType **plain) {
    AsyType *type_type = vm->types[ASY_TYPE_type];
    if (!type_type || !obj->type || obj->type == *plain) return false;
    if (asy_is_subtype(obj->type, type_type)) return true;
    *plain = obj->type;
    return false;
}

static void gc_sweep(AsyVM *vm) {
    AsyObj **link = &vm->objects;
    AsyObj *dead_types = NULL;
    AsyType *plain = NULL;
    while (*link) {
        AsyObj *obj = *link;
        if (obj->gc_marked) {
            obj->gc_marked = 0;
            link = &obj->gc_next;
            continue;
        }
        *link = obj->gc_next;
        if (gc_is_type(vm, obj, &plain)) {
            obj->gc_next = dead_types;
            dead_types = obj;
        } else {
            gc_free_object(vm, obj);
        }
    }
    gc_free_types(vm, dead_types);
}

/* The next threshold: a multiple of the live heap. When most of the heap survives a
 * collection, the program is building up data (a table being filled, tasks being spawned)
 * and another collection soon would mark the same objects again for little gain: the
 * multiple grows from ASY_GC_GROWTH_FACTOR towards ASY_GC_GROWTH_MAX with the share that
 * survived. A program that makes garbage keeps the small multiple, so its peak stays near
 * twice its live data. strings_dicts (a 200,000-key table, then 300,000 words) marked
 * 116 MB in five collections, now 51 MB in three. */
static size_t gc_next_threshold(size_t before, size_t live) {
    double survived = before ? (double)live / (double)before : 0;
    double factor = ASY_GC_GROWTH_FACTOR;
    if (survived > 0.5)
        factor += (ASY_GC_GROWTH_MAX - ASY_GC_GROWTH_FACTOR) * (survived - 0.5) * 2;
    double next = (double)live * factor;
    if (next < ASY_GC_INITIAL_THRESHOLD) return ASY_GC_INITIAL_THRESHOLD;
    return next > (double)SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)next;
}

void asy_gc_collect(AsyVM *vm) {
    if (vm->gc_disabled) return;
    size_t before = vm->bytes_allocated;
    gc_mark_roots(vm);
    gc_trace(vm);
    gc_sweep(vm);
    vm->collections++;
    vm->gc_pending = false;
    vm->next_gc = gc_next_threshold(before, vm->bytes_allocated);
}

void asy_gc_safepoint(AsyVM *vm) {
#if ASY_GC_STRESS
    if (vm->gc_pending) asy_gc_collect(vm);
#else
    if (ASY_UNLIKELY(vm->bytes_allocated > vm->next_gc)) asy_gc_collect(vm);
#endif
}

/* Free every object, live or not: the VM is going away. Finalizers run, types last. */
void asy_gc_free_all(AsyVM *vm) {
    vm->nroots = 0;
    AsyObj *obj = vm->objects;
    AsyObj *types = NULL;
    AsyType *plain = NULL;
    while (obj) {
        AsyObj *next = obj->gc_next;
        if (gc_is_type(vm, obj, &plain)) {
            obj->gc_next = types;
            types = obj;
        } else {
            gc_finalize(vm, obj);
            if (!obj->gc_class) free(obj); /* pooled blocks go with their chunks below */
        }
        obj = next;
    }
    gc_free_types(vm, types);
    vm->objects = NULL;
    free(vm->gray);
    free(vm->roots);
    vm->gray = NULL;
    vm->roots = NULL;
    while (vm->gc_chunks) {
        void *next = *(void **)vm->gc_chunks;
        gc_chunk_free(vm->gc_chunks);
        vm->gc_chunks = next;
    }
    memset(vm->gc_free, 0, sizeof vm->gc_free);
    vm->gc_bump = vm->gc_bump_end = NULL;
}
