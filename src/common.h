/* common.h - every build knob and limit of asy in one place, each with the reason it exists.
 * Included first by every .c file of the core. */
#ifndef ASY_COMMON_H
#define ASY_COMMON_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Built with AddressSanitizer (configure --enable-sanitizers, gcc or clang): the pools of
 * gc.c and evmem.c give way to malloc, so use-after-free stays detectable, and the heap is
 * freed at exit for the leak check. */
#if defined(__SANITIZE_ADDRESS__)
#define ASY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASY_ASAN 1
#endif
#endif
#ifndef ASY_ASAN
#define ASY_ASAN 0
#endif

/* GC stress (configure --enable-gc-stress): collect at every safepoint that follows an
 * allocation, so that a missing root shows up at once instead of once in a blue moon. */
#ifndef ASY_GC_STRESS
#define ASY_GC_STRESS 0
#endif

/* Dispatch with computed goto where the compiler supports it (gcc, clang); the switch is
 * the portable fallback. Computed goto gives each opcode its own indirect branch, which the
 * branch predictor learns far better than one shared switch jump. */
#if defined(__GNUC__) && !defined(ASY_NO_COMPUTED_GOTO)
#define ASY_COMPUTED_GOTO 1
#else
#define ASY_COMPUTED_GOTO 0
#endif

/* First collection after this many bytes; afterwards the threshold is two to four times the
 * live heap (gc.c: gc_next_threshold). Large enough that short scripts never collect, small
 * enough that garbage-heavy loops stay within a few MB. */
#define ASY_GC_INITIAL_THRESHOLD (8u << 20)
#define ASY_GC_GROWTH_FACTOR 2
/* ... up to this many times when nearly everything survived (gc.c's gc_next_threshold). */
#define ASY_GC_GROWTH_MAX 4
/* ... plus up to this many bytes when a collection freed next to nothing. */
#define ASY_GC_IDLE_EXTRA ((size_t)64 << 20)
/* gc.c's small-object pools: objects up to ASY_GC_NCLASSES * ASY_GC_GRAIN bytes. */
#define ASY_GC_GRAIN 16
#define ASY_GC_NCLASSES 32

/* Default of sys.getrecursionlimit(), as in CPython. Counts asy frames of one task. */
#define ASY_DEFAULT_RECURSION_LIMIT 1000
/* C-level recursion (native code calling back into the VM, repr of nested containers,
 * nested compilation) is bounded separately so it can never overflow the C stack. */
#define ASY_MAX_C_DEPTH 200
/* Bare fibers kept for tasks to run on (vm->fiber_pool): one per task running at once,
 * which nesting rarely takes beyond one or two. */
#define ASY_FIBER_POOL 4

/* Parser limits: CPython refuses more than 200 nested brackets and 100 indentation levels. */
#define ASY_MAX_PAREN_DEPTH 200
#define ASY_MAX_INDENT_DEPTH 100

/* The largest container or string asy will try to build: beyond it MemoryError is raised
 * before any allocation is attempted, so a huge `[0] * n` never aborts the process. */
#define ASY_MAX_ALLOC ((size_t)1 << 40)

/* Exception handler blocks (try/with/loops needing cleanup) one frame may nest. The
 * compiler enforces it ("too many statically nested blocks", as CPython: 20). */
#define ASY_MAX_BLOCKS 20

#define ASY_UNUSED(x) ((void)(x))

#if defined(__GNUC__)
#define ASY_LIKELY(x) __builtin_expect(!!(x), 1)
#define ASY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ASY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ASY_NORETURN __attribute__((noreturn))
#define ASY_PREFETCH_W(p) __builtin_prefetch((p), 1) /* about to be written */
#define ASY_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ASY_LIKELY(x) (x)
#define ASY_UNLIKELY(x) (x)
#define ASY_PRINTF(f, a)
#define ASY_NORETURN
#define ASY_PREFETCH_W(p) ((void)(p))
#define ASY_ALWAYS_INLINE inline
#endif

#endif
