/* evmem.c - the memory libevent allocates: evhttp and bufferevents malloc and free about
 * fifty small blocks per HTTP request (each header as a struct and two strings, the
 * request, its buffers and their chains), and glibc's general allocator spent more
 * instructions on those than asy's own part of a request (measured with callgrind on
 * bench/http). Here each size class keeps a free list of the blocks it handed out, so a
 * request reuses the previous one's blocks in a few instructions.
 *
 * libevent's hooks (event_set_mem_functions) take no context and are process-wide, so
 * the free lists are too; asy runs libevent on one thread. They are installed once, by
 * the first asy_vm_new, before any libevent call allocates. Under AddressSanitizer
 * nothing is installed, so every block stays visible to it.
 */
#include "common.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "evmem.h"

#define EVMEM_POOLS (!ASY_ASAN)

#if EVMEM_POOLS

/* Before each block: its class (EVMEM_LARGE: straight from malloc) and its size. 16 bytes,
 * so blocks keep malloc's alignment. */
typedef struct {
    uint32_t cls;
    uint32_t pad;
    size_t size;
} EvHeader;

typedef struct EvFree {
    struct EvFree *next;
} EvFree;

/* Classes: 16-byte steps up to 256 bytes (headers, keys, values, small structs), then
 * powers of two up to 16 KiB (requests, buffer chains). */
#define EVMEM_SMALL_STEP 16
#define EVMEM_SMALL_MAX 256
#define EVMEM_NSMALL (EVMEM_SMALL_MAX / EVMEM_SMALL_STEP)
#define EVMEM_NCLASSES (EVMEM_NSMALL + 6)
#define EVMEM_LARGE UINT32_MAX
/* What one class keeps at most for reuse; beyond that, blocks go back to malloc. */
#define EVMEM_KEEP_BYTES ((size_t)1 << 20)

static EvFree *free_list[EVMEM_NCLASSES];
static size_t free_count[EVMEM_NCLASSES];

static size_t class_size(uint32_t c) {
    return c < EVMEM_NSMALL ? (size_t)(c + 1) * EVMEM_SMALL_STEP
                            : (size_t)EVMEM_SMALL_MAX << (c - EVMEM_NSMALL + 1);
}

static uint32_t class_of(size_t n) {
    if (n <= EVMEM_SMALL_MAX) return n ? (uint32_t)((n - 1) / EVMEM_SMALL_STEP) : 0;
    for (uint32_t c = EVMEM_NSMALL; c < EVMEM_NCLASSES; c++)
        if (n <= class_size(c)) return c;
    return EVMEM_LARGE;
}

static void *evmem_malloc(size_t n) {
    uint32_t c = class_of(n);
    EvHeader *h;
    if (c != EVMEM_LARGE && free_list[c]) {
        EvFree *f = free_list[c];
        free_list[c] = f->next;
        free_count[c]--;
        h = (EvHeader *)f - 1;
    } else {
        size_t body = c == EVMEM_LARGE ? n : class_size(c);
        if (body > SIZE_MAX - sizeof *h || !(h = malloc(sizeof *h + body))) return NULL;
        h->cls = c;
    }
    h->size = n;
    return h + 1;
}

static void evmem_free(void *p) {
    if (!p) return;
    EvHeader *h = (EvHeader *)p - 1;
    uint32_t c = h->cls;
    if (c == EVMEM_LARGE || free_count[c] * class_size(c) >= EVMEM_KEEP_BYTES) {
        free(h);
        return;
    }
    EvFree *f = p; /* the link lives in the body: the header keeps the class */
    f->next = free_list[c];
    free_list[c] = f;
    free_count[c]++;
}

static void *evmem_realloc(void *p, size_t n) {
    if (!p) return evmem_malloc(n);
    EvHeader *h = (EvHeader *)p - 1;
    if (h->cls != EVMEM_LARGE && n <= class_size(h->cls)) { /* still fits its block */
        h->size = n;
        return p;
    }
    if (h->cls == EVMEM_LARGE && class_of(n) == EVMEM_LARGE) {
        if (n > SIZE_MAX - sizeof *h) return NULL;
        EvHeader *g = realloc(h, sizeof *h + n);
        if (!g) return NULL;
        g->size = n;
        return g + 1;
    }
    void *q = evmem_malloc(n);
    if (!q) return NULL;
    memcpy(q, p, h->size < n ? h->size : n);
    evmem_free(p);
    return q;
}

void asy_evmem_install(void) {
    static bool installed;
    if (installed) return;
    installed = true;
    event_set_mem_functions(evmem_malloc, evmem_realloc, evmem_free);
}

void asy_evmem_free(void *p) {
    evmem_free(p);
}

#else

void asy_evmem_install(void) {}

void asy_evmem_free(void *p) {
    free(p);
}

#endif
