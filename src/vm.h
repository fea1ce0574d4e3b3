/* vm.h - the interpreter state (AsyVM) and the runtime API every part of asy calls:
 * allocation and GC roots, raising exceptions, the object protocols (repr, call, getattr,
 * iteration, arithmetic, comparison), and the constructors of the built-in types.
 *
 * There are no mutable globals: everything hangs off the AsyVM passed explicitly.
 *
 * Error convention (as CPython's NULL, as QuickJS's exception marker): a function that
 * returns AsyValue returns ASY_ERR on failure; one that returns int returns -1; one that
 * returns a pointer returns NULL. In each case an exception is pending in vm->exc.
 *
 * GC convention: collection happens only at safepoints (asy_gc_safepoint), which the VM
 * reaches at calls, returns and backward jumps, and never inside asy_gc_alloc. So native
 * code may hold unrooted values in C locals freely, EXCEPT across a call that can run asy
 * code (asy_call, asy_repr on an instance, asy_iter/asy_next on a generator, hashing or
 * comparing user objects...). Values that must survive such a call are pushed with
 * asy_root_push and popped with asy_root_pop. Arguments of the running native (argv) are
 * always rooted by the caller.
 */
#ifndef ASY_VM_H
#define ASY_VM_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "object.h"

/* ---- built-in types: vm->types[ASY_TYPE_x], or ASY_TYPE(vm, x) ---- */
#define ASY_BUILTIN_TYPES(X)                                                              \
    X(object) X(type) X(NoneType) X(bool) X(int) X(float) X(str) X(bytes) X(list)         \
    X(tuple) X(dict) X(set) X(frozenset) X(range) X(slice) X(function)                    \
    X(builtin_function_or_method) X(method) X(code) X(cell) X(module) X(property)         \
    X(classmethod) X(staticmethod) X(super) X(NotImplementedType) X(ellipsis)             \
    X(traceback) X(generator) X(coroutine) X(async_generator) X(coroutine_wrapper) X(FutureIter) \
    X(list_iterator) X(list_reverseiterator) X(tuple_iterator) X(str_iterator)            \
    X(bytes_iterator) X(range_iterator) X(set_iterator) X(dict_keys) X(dict_values)       \
    X(dict_items) X(dict_keyiterator) X(dict_valueiterator) X(dict_itemiterator)          \
    X(enumerate) X(zip) X(map) X(filter) X(reversed) X(callable_iterator)                 \
    X(seq_iterator) X(async_generator_asend) X(async_generator_athrow)                    \
    X(GenericAlias) X(member_descriptor)                                                  \
    /* file objects (fileobject.c), made on first use */                                  \
    X(TextIOWrapper) X(BufferedReader) X(BufferedWriter) X(BufferedRandom) X(FileIO)

typedef enum {
#define ASY_X_ENUM(n) ASY_TYPE_##n,
    ASY_BUILTIN_TYPES(ASY_X_ENUM)
#undef ASY_X_ENUM
    ASY_TYPE_COUNT
} AsyTypeId;

#define ASY_TYPE(vm, n) ((vm)->types[ASY_TYPE_##n])

/* ---- built-in exceptions: vm->exc_types[ASY_EXC_x]; X(name, base) in hierarchy order ---- */
#define ASY_EXCEPTIONS(X)                                                                 \
    X(BaseException, BaseException)                                                      \
    X(SystemExit, BaseException)                                                          \
    X(KeyboardInterrupt, BaseException)                                                   \
    X(GeneratorExit, BaseException)                                                       \
    X(CancelledError, BaseException)                                                      \
    X(BaseExceptionGroup, BaseException)                                                  \
    X(Exception, BaseException)                                                           \
    X(ExceptionGroup, BaseExceptionGroup)                                                 \
    X(StopIteration, Exception)                                                           \
    X(StopAsyncIteration, Exception)                                                      \
    X(ArithmeticError, Exception)                                                         \
    X(FloatingPointError, ArithmeticError)                                                \
    X(OverflowError, ArithmeticError)                                                     \
    X(ZeroDivisionError, ArithmeticError)                                                 \
    X(AssertionError, Exception)                                                          \
    X(AttributeError, Exception)                                                          \
    X(BufferError, Exception)                                                             \
    X(EOFError, Exception)                                                                \
    X(ImportError, Exception)                                                             \
    X(ModuleNotFoundError, ImportError)                                                   \
    X(LookupError, Exception)                                                             \
    X(IndexError, LookupError)                                                            \
    X(KeyError, LookupError)                                                              \
    X(MemoryError, Exception)                                                             \
    X(NameError, Exception)                                                               \
    X(UnboundLocalError, NameError)                                                       \
    X(OSError, Exception)                                                                 \
    X(BlockingIOError, OSError)                                                           \
    X(ChildProcessError, OSError)                                                         \
    X(ConnectionError, OSError)                                                           \
    X(BrokenPipeError, ConnectionError)                                                   \
    X(ConnectionAbortedError, ConnectionError)                                            \
    X(ConnectionRefusedError, ConnectionError)                                            \
    X(ConnectionResetError, ConnectionError)                                              \
    X(FileExistsError, OSError)                                                           \
    X(FileNotFoundError, OSError)                                                         \
    X(InterruptedError, OSError)                                                          \
    X(IsADirectoryError, OSError)                                                         \
    X(NotADirectoryError, OSError)                                                        \
    X(PermissionError, OSError)                                                           \
    X(ProcessLookupError, OSError)                                                        \
    X(TimeoutError, OSError)                                                              \
    X(ReferenceError, Exception)                                                          \
    X(RuntimeError, Exception)                                                            \
    X(NotImplementedError, RuntimeError)                                                  \
    X(RecursionError, RuntimeError)                                                       \
    X(SyntaxError, Exception)                                                             \
    X(IndentationError, SyntaxError)                                                      \
    X(TabError, IndentationError)                                                         \
    X(SystemError, Exception)                                                             \
    X(TypeError, Exception)                                                               \
    X(ValueError, Exception)                                                              \
    X(UnicodeError, ValueError)                                                           \
    X(UnicodeDecodeError, UnicodeError)                                                   \
    X(UnicodeEncodeError, UnicodeError)                                                   \
    X(InvalidStateError, Exception)                                                       \
    X(Warning, Exception)                                                                 \
    X(DeprecationWarning, Warning)                                                        \
    X(RuntimeWarning, Warning)                                                            \
    X(UserWarning, Warning)

typedef enum {
#define ASY_X_ENUM(n, b) ASY_EXC_##n,
    ASY_EXCEPTIONS(ASY_X_ENUM)
#undef ASY_X_ENUM
    ASY_EXC_COUNT
} AsyExcId;

/* ---- interned names the runtime looks up often: ASY_S(vm, __init__) ---- */
#define ASY_NAMES(X)                                                                      \
    X(__init__) X(__new__) X(__repr__) X(__str__) X(__hash__) X(__eq__) X(__ne__)         \
    X(__lt__) X(__le__) X(__gt__) X(__ge__) X(__len__) X(__bool__) X(__iter__)            \
    X(__next__) X(__getitem__) X(__setitem__) X(__delitem__) X(__contains__) X(__call__)  \
    X(__getattr__) X(__getattribute__) X(__setattr__) X(__delattr__) X(__get__)           \
    X(__set__) X(__delete__) X(__enter__) X(__exit__) X(__aenter__) X(__aexit__)          \
    X(__aiter__) X(__anext__) X(__await__) X(__name__) X(__qualname__) X(__module__)      \
    X(__doc__) X(__dict__) X(__class__) X(__file__) X(__main__) X(__builtins__)           \
    X(__format__) X(__index__) X(__int__) X(__float__) X(__neg__) X(__pos__)              \
    X(__invert__) X(__abs__) X(__add__) X(__radd__) X(__iadd__) X(__sub__) X(__rsub__)    \
    X(__isub__) X(__mul__) X(__rmul__) X(__imul__) X(__matmul__) X(__rmatmul__)           \
    X(__imatmul__) X(__truediv__) X(__rtruediv__) X(__itruediv__) X(__floordiv__)         \
    X(__rfloordiv__) X(__ifloordiv__) X(__mod__) X(__rmod__) X(__imod__) X(__pow__)       \
    X(__rpow__) X(__ipow__) X(__lshift__) X(__rlshift__) X(__ilshift__) X(__rshift__)     \
    X(__rrshift__) X(__irshift__) X(__or__) X(__ror__) X(__ior__) X(__xor__) X(__rxor__)  \
    X(__ixor__) X(__and__) X(__rand__) X(__iand__) X(__slots__) X(__traceback__)          \
    X(__cause__) X(__context__) X(__suppress_context__) X(__init_subclass__)              \
    X(__set_name__) X(__class_getitem__) X(__missing__) X(__reversed__) X(__round__)      \
    X(__trunc__) X(__floor__) X(__ceil__) X(__divmod__) X(__rdivmod__) X(__sizeof__)      \
    X(__annotations__) X(__mro__) X(__bases__) X(__base__) X(__subclasses__)              \
    X(__prepare__) X(metaclass)                                                           \
    X(args) X(value) X(self) X(send) X(throw) X(close) X(join) X(keys) X(items)           \
    X(values) X(get) X(append) X(strict) X(sys) X(stdout)

typedef enum {
#define ASY_X_ENUM(n) ASY_S_##n,
    ASY_NAMES(ASY_X_ENUM)
#undef ASY_X_ENUM
    ASY_S_COUNT
} AsyNameId;

#define ASY_S(vm, n) ((vm)->names[ASY_S_##n])

/* The set of interned strings: open addressing, keyed by content. */
typedef struct {
    AsyStr **slots;
    size_t count, cap;
} AsyInternTable;

typedef struct AsyFiber AsyFiber;   /* fiber.h: a task's value stack and frames */

/* vm_ops.c: LOAD_METHOD's cache of methods found on built-in types, valid while `type`'s
 * type_epoch (bumped by asy_type_modified) is unchanged. */
#define ASY_METHOD_CACHE_SIZE 64
typedef struct {
    AsyType *type;
    AsyStr *name;
    uint64_t epoch;
    AsyValue method;
} AsyMethodCacheEntry;

/* gensite.c: where a generator was made, and the __qualname__ it shows. */
typedef struct {
    AsyStr *file;               /* co_filename of the line that made it, or NULL     */
    AsyStr *qualname;
    int32_t line;
} AsyGenSite;

typedef struct {
    void *free;                 /* blocks of dead objects, linked through their first word */
    char *bump, *bump_end;
} AsyGcPool;

struct AsyVM {
    /* -- memory (gc.c) -- */
    /* Objects too big for the pools, and type objects, each on a list (gc.c). */
    struct GcLarge *gc_large, *gc_types;
    size_t bytes_allocated;     /* objects plus buffers they own                    */
    size_t next_gc;             /* collect at the next safepoint past this          */
    /* The largest allocation a program may ask for (ASY_MAX_ALLOC unless an embedder, such
     * as the fuzzers, lowers it): a bigger object or buffer is MemoryError. */
    size_t max_alloc;
    bool gc_pending;            /* an allocation happened since the last safepoint   */
    int gc_disabled;            /* > 0 while collection must not run                */
    AsyObj **gray;              /* mark stack                                       */
    size_t ngray, graycap;
    struct AsyGcCont *gc_cont;  /* marking still to do in big containers (gc.c)      */
    size_t ncont, contcap;
    size_t gray_floor;          /* the last one's level in the mark stack, or 0      */
    AsyValue *roots;            /* asy_root_push / asy_root_pop                     */
    size_t nroots, rootcap;
    size_t collections;         /* how many times the GC has run                     */
    /* Small objects come from pooled chunks (gc.c): per kind (plain, or finalized at
     * exit) and size class, a free list, then the unused tail of its newest chunk. */
    AsyGcPool gc_pools[2][ASY_GC_NCLASSES + 1];
    struct GcChunk *gc_chunks;  /* every chunk, newest first                        */
    char *gc_spare, *gc_spare_end; /* mapped chunks not used yet                     */

    /* -- the object model -- */
    AsyType *types[ASY_TYPE_COUNT];
    AsyType *exc_types[ASY_EXC_COUNT];
    AsyStr *names[ASY_S_COUNT];
    AsyInternTable interned;
    AsyObj *not_implemented;    /* the NotImplemented singleton                     */
    AsyObj *ellipsis;           /* the Ellipsis singleton                           */
    AsyStr *empty_str;
    AsyStr *char_cache[128];    /* the one-character ASCII strs (interned), str.c    */
    AsyTuple *empty_tuple;
    AsyMethodCacheEntry method_cache[ASY_METHOD_CACHE_SIZE];

    /* -- exceptions -- */
    AsyException *exc;          /* the pending exception (see the error convention)  */

    /* -- modules -- */
    AsyDict *modules;           /* sys.modules: name -> module                       */
    AsyModule *builtins;
    AsyModule *main_module;
    AsyValue sys_argv;          /* list of str                                       */
    const char *script_dir;     /* imports of .asy files look here                   */

    /* -- execution (vm.c, fiber.c) -- */
    AsyFiber *fiber;            /* the fiber running now                             */
    AsyFiber *main_fiber;
    /* Bare fibers for tasks to run on (asy_fiber_take): a task parked between steps
     * gives its fiber back, so stepping tasks costs no malloc. */
    AsyFiber *fiber_pool[ASY_FIBER_POOL];
    int32_t nfiber_pool;
    /* The value sent into a generator suspended at an AWAIT (asy_gen_push): the AWAIT,
     * which is the next instruction to run, takes it and passes it on (fiber.h). UNDEF:
     * none. The VM's rather than each fiber's, since nothing runs in between. */
    AsyValue pending_send;
    /* While a native runs for `f(*args)` (CALL_EX): the tuple whose items it got as argv,
     * else NULL. A native that would copy its arguments may keep the tuple instead
     * (asyncio.gather of 100,000 tasks). */
    AsyTuple *native_args;
    int recursion_limit;        /* sys.setrecursionlimit                             */
    int c_depth;                /* native -> VM re-entries and nested reprs          */
    /* Containers whose repr is in progress (list.c: asy_repr_enter), so that a list
     * containing itself prints [...]; bounded like c_depth. */
    AsyObj *repr_active[ASY_MAX_C_DEPTH];
    int nrepr_active;
    void *loop;                 /* the scheduler (loop.c), NULL until asyncio is used */
    void (*mark_extra)(AsyVM *vm); /* GC roots of the scheduler, when it exists         */
    bool gc_revived;            /* the last collection kept objects alive to finalize */
    bool owned_gens;            /* a loop has owned a generator (vm.c): exceptions
                                   unwinding the stack look for such generators     */
    bool (*gc_weak)(AsyVM *vm);    /* after marking: the scheduler's weak references
                                      (asyncgen.c); true when it marked more            */
    volatile int signal_pending;   /* set by the SIGINT handler (signals.c)             */
    /* While an event loop runs: what a Ctrl-C noticed at a safepoint does instead of
     * raising KeyboardInterrupt (0: nothing to raise; -1: an exception is pending). */
    int (*sigint_hook)(AsyVM *vm);
    volatile int dump_pending;     /* SIGQUIT under --dump-tasks: dump at the next chance */
    bool dump_tasks;               /* --dump-tasks: tasks record where they were made    */
    bool dev_mode;                 /* -X dev: asyncio's debug mode by default            */
    struct AsyTrace *trace;        /* --trace/--timeline: the tasks' recorder (trace.h)  */
    int64_t step_budget;           /* > 0: safepoints left before RuntimeError (fuzzing) */
    /* The never-awaited warning (unawaited.c): the places it was shown (hashes), the
     * coroutine being dropped at a known place and that place, and whether the program is
     * over (what is still referenced then warns as "sys:1"). */
    uint64_t *warned;
    size_t nwarned, capwarned;
    AsyObj *unawaited_drop;
    AsyStr *unawaited_drop_file;
    int32_t unawaited_drop_line;
    /* The task made last (task.c) and where: its maker's fiber, code and pc after the
     * call. Only compared, never followed: a POP_TOP right after that call drops it. */
    const void *made_task, *made_fiber, *made_code;
    int32_t made_pc;
    bool exiting;
    /* Generators' creation sites (gensite.c): the entries a generator's 32-bit site
     * indexes, an open-addressing index over them (entry + 1, 0 empty), the last found. */
    AsyGenSite *gensites;
    uint32_t ngensites, capgensites;
    uint32_t *gensite_index;
    uint32_t gensite_indexcap, gensite_last;

    /* -- output -- */
    FILE *out, *err;            /* stdout and stderr (tests may redirect)            */

    struct AsyDynlib *dynlib;   /* libraries opened on first use (dynlib.c), or NULL */
};

/* ---- the VM's life ---- */
AsyVM *asy_vm_new(void);              /* sets up types, builtins and core modules    */
void asy_vm_free(AsyVM *vm);          /* frees every object                          */
/* The process is about to exit: close the scheduler and run the finalizers a user sees
 * (ASY_TYPE_FINALIZE_AT_EXIT), leaving the memory to the operating system; frees
 * everything as asy_vm_free does under the sanitizers or with ASY_FULL_TEARDOWN set in the
 * environment (valgrind's leak check: tests/memcheck-examples sets it). */
void asy_vm_exit(AsyVM *vm);

/* Compile and run source as the module `name`; returns the module, or NULL with an
 * exception pending (a SyntaxError from compilation, or whatever the code raised). */
AsyModule *asy_vm_run_source(AsyVM *vm, const char *src, size_t len, const char *filename,
                             const char *modname);

/* Compile source and run it in the namespace ns; ASY_ERR with the exception pending. */
AsyValue asy_vm_exec(AsyVM *vm, const char *src, size_t len, const char *filename, AsyDict *ns);
/* Compile and run source in a namespace of its own (the runtime's helpers written in
 * asy); returns what it bound to `name` (ASY_UNDEF: nothing), or ASY_ERR. */
AsyValue asy_vm_define(AsyVM *vm, const char *src, size_t len, const char *filename,
                       const char *name);

/* Print the pending exception as CPython does (traceback.c) and clear it. */
void asy_vm_print_exception(AsyVM *vm);
/* Print an exception with its chain and traceback (traceback.c). */
void asy_traceback_print(AsyVM *vm, AsyException *e, FILE *out);
/* e alone, without its cause and context: how CPython reports an unraisable exception. */
void asy_traceback_print_unchained(AsyVM *vm, AsyException *e, FILE *out);
/* Drop the entries of `filename` (a driver written in asy, such as the REPL's) from e's
 * traceback and from those of the exceptions it chains to. */
void asy_traceback_drop_file(AsyVM *vm, AsyException *e, const char *filename);

/* ---- memory (gc.c) ---- */
/* A new zeroed object of `size` bytes with its header set. Never collects. */
void *asy_gc_alloc(AsyVM *vm, AsyType *type, size_t size);
/* The same with only the AsyObj header zeroed: for objects whose every field the caller
 * writes at once (str bodies). */
void *asy_gc_alloc_uninit(AsyVM *vm, AsyType *type, size_t size);
/* An object whose size the program chose (a str, bytes or tuple of any length), zeroed or
 * not: NULL with MemoryError pending when memory runs out, where the two above end the
 * process (their objects are small and fixed; a failure there leaves nothing to recover). */
void *asy_gc_alloc_var(AsyVM *vm, AsyType *type, size_t size, bool zero);
/* A type object (zeroed), whose type is meta: types are kept on a list of their own. */
void *asy_gc_alloc_type(AsyVM *vm, AsyType *meta, size_t size);
/* Every object: fn is called on each until it returns false. Every type object, newest
 * first: for (o = asy_gc_types_first(vm); o; o = asy_gc_types_next(o)). */
void asy_gc_each(AsyVM *vm, bool (*fn)(AsyObj *obj, void *ctx), void *ctx);
AsyObj *asy_gc_types_first(AsyVM *vm);
AsyObj *asy_gc_types_next(AsyObj *type);
/* Memory for buffers an object owns (list items, dict tables, ...): counted toward the
 * next collection. Returns NULL with MemoryError pending when size > vm->max_alloc or
 * malloc fails. asy_mem_free accepts NULL. */
void *asy_mem_alloc(AsyVM *vm, size_t size);
void *asy_mem_realloc(AsyVM *vm, void *ptr, size_t old_size, size_t new_size);
void asy_mem_free(AsyVM *vm, void *ptr, size_t size);
/* Marking (traverse functions call these for every child). The test for an object marked
 * already, which is most of the calls (a frame's code, globals and builtins, every
 * instance's type), is inline: gc.c's pooled objects keep their marks in a bitmap at the
 * start of their chunk (aligned to its size), the others in gc_marked. */
#define ASY_GC_CHUNK_SIZE ((uintptr_t)256 << 10)
#define ASY_GC_CHUNK_HEADER ((uintptr_t)4096)
#define ASY_GC_CHUNK_BITS ((ASY_GC_CHUNK_SIZE - ASY_GC_CHUNK_HEADER) / ASY_GC_GRAIN)
#define ASY_GC_MARK_OFFSET (16 + ASY_GC_CHUNK_BITS / 8) /* gc.c's GcChunk.mark */
/* Sets obj's mark; whether it was set already. */
static inline bool asy_gc_test_and_mark(AsyObj *obj) {
    if (!obj->gc_class) {
        if (obj->gc_marked) return true;
        obj->gc_marked = 1;
        return false;
    }
    uintptr_t p = (uintptr_t)obj, chunk = p & ~(ASY_GC_CHUNK_SIZE - 1);
    size_t bit = ((p & (ASY_GC_CHUNK_SIZE - 1)) - ASY_GC_CHUNK_HEADER) / ASY_GC_GRAIN;
    uint64_t *word = (uint64_t *)(chunk + ASY_GC_MARK_OFFSET) + bit / 64;
    uint64_t m = (uint64_t)1 << (bit % 64);
    if (*word & m) return true;
    *word |= m;
    return false;
}
/* Whether obj is marked (during a collection, after marking: it survives). */
static inline bool asy_gc_is_marked(const AsyObj *obj) {
    if (!obj->gc_class) return obj->gc_marked;
    uintptr_t p = (uintptr_t)obj, chunk = p & ~(ASY_GC_CHUNK_SIZE - 1);
    size_t bit = ((p & (ASY_GC_CHUNK_SIZE - 1)) - ASY_GC_CHUNK_HEADER) / ASY_GC_GRAIN;
    const uint64_t *word = (const uint64_t *)(chunk + ASY_GC_MARK_OFFSET) + bit / 64;
    return (*word >> (bit % 64)) & 1;
}
/* obj was just marked: trace it (gc.c). */
void asy_gc_mark_new(AsyVM *vm, AsyObj *obj);
static inline void asy_gc_mark_obj(AsyVM *vm, AsyObj *obj) { /* NULL allowed */
    if (obj && !asy_gc_test_and_mark(obj)) asy_gc_mark_new(vm, obj);
}
static inline void asy_gc_mark_value(AsyVM *vm, AsyValue v) {
    if (v.tag == ASY_T_OBJ) asy_gc_mark_obj(vm, v.as.o);
}
/* Mark n values, prefetching their objects a few items ahead (big lists, dicts); more
 * than ASY_GC_SLICE of them are marked a slice at a time (asy_gc_mark_sliced). */
void asy_gc_mark_values(AsyVM *vm, const AsyValue *values, int64_t n);
/* Marking a big container in slices, so that the mark stack holds at most a slice of its
 * children at a time (marking a list of 100,000 tasks pushed 100,000 pointers): fn marks
 * the children of obj from position pos on, at most about ASY_GC_SLICE of them, and
 * returns the position to go on from, `end` when it is done (a fn that starts the sliced
 * marking of a child container returns right after, to keep the stack bounded). A position is whatever fn makes of it: an index, a node pointer. The
 * collector calls fn again for the rest once what the slice pushed is traced. Nothing
 * moves during a collection, so obj and its buffers stay as they are. */
#define ASY_GC_SLICE 256
typedef uintptr_t (*AsyGcSliceFn)(AsyVM *vm, const void *obj, uintptr_t pos, uintptr_t end);
void asy_gc_mark_sliced_rest(AsyVM *vm, AsyGcSliceFn fn, const void *obj, uintptr_t pos,
                             uintptr_t end, size_t level);
static inline void asy_gc_mark_sliced(AsyVM *vm, AsyGcSliceFn fn, const void *obj,
                                      uintptr_t pos, uintptr_t end) {
    size_t level = vm->ngray;
    pos = fn(vm, obj, pos, end); /* the first slice (for most containers, all of it) */
    if (pos != end) asy_gc_mark_sliced_rest(vm, fn, obj, pos, end, level);
}
void asy_gc_safepoint(AsyVM *vm);                   /* collect if due              */
/* The VM's safepoint (signals.c): collect if due, then act on a signal that came since
 * the last one (-1 with an exception pending, KeyboardInterrupt for Ctrl-C). */
int asy_vm_safepoint(AsyVM *vm);
/* The signal half of the safepoint alone (no collection), for natives that wait, such as
 * time.sleep interrupted by EINTR: -1 with KeyboardInterrupt pending, else 0. */
int asy_signals_check(AsyVM *vm);
/* Ctrl-C came and nothing has acted on it yet: consume it (the loop, after its poll). */
bool asy_signals_take_sigint(AsyVM *vm);
/* Route SIGINT to vm->signal_pending and ignore SIGPIPE / put SIGINT back to default. */
void asy_signals_install(AsyVM *vm);
void asy_signals_uninstall(AsyVM *vm);
/* --dump-tasks: SIGQUIT sets vm->dump_pending (asy_diag_signal_dump prints the tasks at
 * the next safepoint or loop pass). */
void asy_signals_dump_on_sigquit(AsyVM *vm);
/* The read end of the pipe SIGINT and SIGQUIT write a byte to, made on first use, so
 * that an event loop blocked in libevent wakes up for them (-1 if no pipe can be made);
 * asy_signals_wake_drain() empties it. */
int asy_signals_wake_fd(void);
void asy_signals_wake_drain(void);
/* Limit the program to `steps` more safepoints (calls, returns, backward jumps), after
 * which RuntimeError("step budget exhausted") is raised; 0 removes the limit. For fuzzing
 * arbitrary programs without hanging. */
void asy_vm_set_step_budget(AsyVM *vm, int64_t steps);
void asy_gc_collect(AsyVM *vm);
void asy_gc_free_all(AsyVM *vm);                     /* asy_vm_free: every object   */
void asy_gc_exit(AsyVM *vm);                         /* asy_vm_exit's finalizers    */
/* Is pred true of some object whose type is finalized at exit (ASY_TYPE_FINALIZE_AT_EXIT)? */
bool asy_gc_any_finalized_at_exit(AsyVM *vm, bool (*pred)(AsyVM *vm, AsyObj *obj));
static inline void asy_root_push(AsyVM *vm, AsyValue v);
static inline void asy_root_pop(AsyVM *vm, size_t n);
void asy_root_grow(AsyVM *vm);

static inline void asy_root_push(AsyVM *vm, AsyValue v) {
    if (ASY_UNLIKELY(vm->nroots == vm->rootcap)) asy_root_grow(vm);
    vm->roots[vm->nroots++] = v;
}
static inline void asy_root_pop(AsyVM *vm, size_t n) { vm->nroots -= n; }

/* ---- exceptions (exception.c) ---- */
/* Raise a new exception of a built-in type with a printf-like message. Besides the C
 * conversions (%s %d %ld %lld %zd %zu %c %%), %R inserts repr(AsyValue), %S str(AsyValue),
 * %T the type name of an AsyValue, %U an AsyStr*. Always returns ASY_ERR. */
AsyValue asy_raise(AsyVM *vm, AsyExcId type, const char *fmt, ...);
AsyValue asy_raise_type(AsyVM *vm, AsyType *type, const char *fmt, ...);
/* `raise v`: v is an exception instance or class (instantiated with no arguments);
 * anything else is a TypeError. Always returns ASY_ERR. */
AsyValue asy_raise_value(AsyVM *vm, AsyValue v);
/* Build an exception instance of `type` from arguments, without raising it. */
AsyValue asy_exc_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv);
bool asy_exc_matches(AsyVM *vm, AsyExcId type);     /* pending exception is-a type?    */
bool asy_exc_is(AsyVM *vm, AsyValue exc, AsyType *type);
void asy_exc_clear(AsyVM *vm);
AsyValue asy_raise_memory(AsyVM *vm);               /* MemoryError without allocating  */
/* OSError (or the subclass errno maps to, e.g. FileNotFoundError) with args
 * (errno, strerror) and `filename` (or NULL): "[Errno 2] No such file or directory: 'x'". */
AsyValue asy_raise_oserror(AsyVM *vm, int err, const char *filename);
/* The same with any filename value (an int for a file descriptor), none when UNDEF. */
AsyValue asy_raise_oserror_value(AsyVM *vm, int err, AsyValue filename);
/* UnicodeEncodeError/UnicodeDecodeError(encoding, object, start, end, reason), with their
 * attributes and CPython's message (object is the str or bytes; start/end index it). */
AsyValue asy_raise_unicode_error(AsyVM *vm, AsyExcId type, const char *encoding,
                                 AsyValue object, size_t start, size_t end, const char *reason);
/* SyntaxError/IndentationError/TabError (type is its name) with CPython's attributes:
 * filename, lineno, offset (1-based column), end_offset (0: none), text (the source
 * line, or NULL). Always returns ASY_ERR. */
AsyValue asy_raise_syntax_error(AsyVM *vm, const char *type, const char *msg,
                                const char *filename, int lineno, int offset,
                                int end_offset, const char *text);
/* Standard messages, CPython's words. */
AsyValue asy_raise_attribute_error(AsyVM *vm, AsyValue obj, AsyStr *name);
AsyValue asy_raise_unhashable(AsyVM *vm, AsyValue v);   /* unhashable type: 'list'    */

/* Prepend a traceback entry as an exception leaves a frame (the VM's unwinder). */
AsyTraceback *asy_traceback_push(AsyVM *vm, AsyException *exc, AsyCode *code, int32_t ip);
/* Put the built-in exception classes into the builtins namespace. */
void asy_exception_register_builtins(AsyVM *vm, AsyDict *builtins);

/* ---- argument checking helpers (exception.c), CPython's messages ---- */
/* "len() takes exactly one argument (2 given)", "pop expected at most 1 argument, got 2".
 * argc counts the arguments WITHOUT self for methods; max < 0 means no upper bound. */
bool asy_check_args_fail(AsyVM *vm, const char *fname, int argc, int min, int max);
/* Inline: every call of a built-in asks, and the answer is nearly always yes. */
static inline bool asy_check_args(AsyVM *vm, const char *fname, int argc, int min, int max) {
    return (argc >= min && (max < 0 || argc <= max)) ||
           asy_check_args_fail(vm, fname, argc, min, max);
}
/* "f() takes no keyword arguments" when kw holds anything. */
bool asy_check_nokw(AsyVM *vm, const char *fname, AsyDict *kw);
/* Take keyword argument `name` out of kw (UNDEF when absent); kw is the call's own dict. */
AsyValue asy_kwarg(AsyVM *vm, AsyDict *kw, const char *name);
/* After taking the known keywords: "'x' is an invalid keyword argument for f()". */
bool asy_check_kw_done(AsyVM *vm, const char *fname, AsyDict *kw);

/* ---- object protocols (object.c unless noted) ---- */
AsyType *asy_type_of(AsyVM *vm, AsyValue v);
const char *asy_type_name(AsyVM *vm, AsyValue v);
bool asy_is_subtype(AsyType *sub, AsyType *base);
bool asy_isinstance(AsyVM *vm, AsyValue v, AsyType *type);
AsyValue asy_repr(AsyVM *vm, AsyValue v);            /* a str value                   */
AsyValue asy_str(AsyVM *vm, AsyValue v);
AsyValue asy_format(AsyVM *vm, AsyValue v, AsyStr *spec); /* format(v, spec)          */
bool asy_hash(AsyVM *vm, AsyValue v, int64_t *out);
int asy_truthy(AsyVM *vm, AsyValue v);               /* 1, 0, -1                     */
int asy_eq(AsyVM *vm, AsyValue a, AsyValue b);       /* 1, 0, -1: a == b as bool     */
AsyValue asy_compare(AsyVM *vm, AsyValue a, AsyValue b, AsyCmpOp op); /* any value   */
int asy_compare_bool(AsyVM *vm, AsyValue a, AsyValue b, AsyCmpOp op);
AsyValue asy_binop(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op);  /* number.c     */
AsyValue asy_unaryop(AsyVM *vm, AsyValue v, AsyUnaryOp op);          /* number.c     */
AsyValue asy_getattr(AsyVM *vm, AsyValue obj, AsyStr *name);
/* Like asy_getattr but a missing attribute gives UNDEF without raising. */
AsyValue asy_getattr_opt(AsyVM *vm, AsyValue obj, AsyStr *name);
int asy_setattr(AsyVM *vm, AsyValue obj, AsyStr *name, AsyValue v);
int asy_delattr(AsyVM *vm, AsyValue obj, AsyStr *name);
AsyValue asy_getitem(AsyVM *vm, AsyValue obj, AsyValue key);
int asy_setitem(AsyVM *vm, AsyValue obj, AsyValue key, AsyValue v);
int asy_delitem(AsyVM *vm, AsyValue obj, AsyValue key);
int asy_contains(AsyVM *vm, AsyValue container, AsyValue item);   /* 1, 0, -1        */
int64_t asy_len(AsyVM *vm, AsyValue v);                            /* -1 on error     */
AsyValue asy_iter(AsyVM *vm, AsyValue v);
AsyValue asy_next(AsyVM *vm, AsyValue iter);         /* UNDEF when exhausted         */
/* Call anything callable. Runs asy functions to completion in a nested dispatch loop
 * (vm.c); the VM itself calls asy functions without recursing in C. */
AsyValue asy_call(AsyVM *vm, AsyValue callable, int argc, AsyValue *argv, AsyDict *kw);
/* callable(tuple(items[0..n))): a struct sequence made from its fields (os.stat_result). */
AsyValue asy_call_with_tuple(AsyVM *vm, AsyValue callable, const AsyValue *items, int64_t n);
AsyValue asy_call_method(AsyVM *vm, AsyValue obj, AsyStr *name, int argc, AsyValue *argv);
/* Look a name up on the type (through bases), without binding: UNDEF when absent. */
AsyValue asy_type_lookup(AsyType *type, AsyStr *name);
/* An int index from v (int, bool, or __index__); false with TypeError otherwise. */
bool asy_index(AsyVM *vm, AsyValue v, int64_t *out);
bool asy_callable(AsyVM *vm, AsyValue v);

/* ---- types (object.c, class.c) ---- */
/* A built-in type object; slots default to raising TypeError, then the caller fills them,
 * adds methods, and calls asy_type_ready. */
AsyType *asy_type_new_builtin(AsyVM *vm, const char *name, AsyType *base, size_t basicsize);
void asy_type_add_methods(AsyVM *vm, AsyType *type, const AsyMethodDef *defs);
/* A type CPython writes in C inside a module ("_asyncio.Task", "re.Pattern"): messages name
 * it by `dotted` (a string literal, CPython's tp_name), while __name__ and __qualname__ stay
 * the part after the last dot, which must be the name it was made with. */
void asy_type_set_tp_name(AsyVM *vm, AsyType *t, const char *dotted);
/* The type's __name__ as a C string (t->name may be a dotted tp_name). */
static inline const char *asy_type_short_name(const AsyType *t) {
    return t->name_str ? t->name_str->data : t->name;
}
void asy_type_ready(AsyVM *vm, AsyType *type);       /* inherit unset slots from base */
/* t's dict was changed directly: forget every cached type lookup (object.c). */
void asy_type_modified(AsyVM *vm, AsyType *t);
/* A class whose metatype is `type`, from name, bases (none: object) and namespace. */
AsyValue asy_class_new(AsyVM *vm, AsyStr *name, AsyValue *bases, int nbases, AsyDict *ns);
/* The class statement (CPython's __build_class__), kw its keywords (NULL: none): the
 * namespace the body runs in (the metaclass's __prepare__), then the class made from it by
 * the metaclass (type: __init_subclass__ gets the keywords). */
AsyValue asy_class_namespace(AsyVM *vm, AsyStr *name, AsyValue *bases, int nbases, AsyDict *kw);
AsyValue asy_class_build(AsyVM *vm, AsyStr *name, AsyValue *bases, int nbases, AsyDict *ns,
                         AsyDict *kw);
/* __get__, __set__, __delete__ for a built-in descriptor type: its descr_get/descr_set. */
extern const AsyMethodDef asy_descriptor_methods[];
/* type.__new__(meta, name, bases, ns, **kw) once type_new has counted the arguments. */
AsyValue asy_class_type_new(AsyVM *vm, AsyType *meta, AsyValue *argv, AsyDict *kw);
/* mro.c: of a class's bases (all types), the one whose instance layout it takes, or
 * NULL with CPython's TypeError (not an acceptable base type, lay-out conflict). */
AsyType *asy_mro_best_base(AsyVM *vm, AsyType **bases, int n);
/* The C3 linearisation (t, ...) of a class t with these bases, or NULL with TypeError
 * (duplicate base class, no consistent MRO). */
AsyTuple *asy_mro_compute(AsyVM *vm, AsyType *t, AsyType **bases, int n);
/* Sets t->bases and t->mro from bases (t->base is left to the caller); false with
 * TypeError as asy_mro_compute. */
bool asy_mro_set_bases(AsyVM *vm, AsyType *t, AsyType **bases, int n);
/* Helpers of object.c and class.c for each other and for the VM. */
bool asy_type_is_data_descr(AsyType *t);      /* instances have a real descr_set      */
bool asy_type_has_descr_get(AsyType *t);      /* instances bind (descr_get not default) */
AsyType *asy_type_builtin_base(AsyType *t);   /* nearest non-heap type: the layout   */
AsyValue asy_object_alloc(AsyVM *vm, AsyType *t);   /* zeroed instance of t's size     */
/* object.__getattribute__ / __setattr__ (raise false: UNDEF when missing, no error). */
AsyValue asy_object_generic_getattr(AsyVM *vm, AsyValue obj, AsyStr *name, bool raise);
int asy_object_generic_setattr(AsyVM *vm, AsyValue obj, AsyStr *name, AsyValue v);
AsyValue asy_object_dir(AsyVM *vm, AsyValue obj);   /* dir(obj): sorted list of names */
/* Call f, found by looking a name up on `owner` (self's type), as a method of self:
 * functions and natives get self prepended (no bound method is made). */
AsyValue asy_call_unbound(AsyVM *vm, AsyValue f, AsyValue self, AsyType *owner, int argc,
                          AsyValue *argv, AsyDict *kw);
void asy_class_update_slots(AsyVM *vm, AsyType *t);  /* after a dunder is (re)assigned */
void asy_class_init_types(AsyVM *vm);  /* property, classmethod, staticmethod, super   */

/* ---- constructors and accessors of built-in objects ---- */
/* str.c */
AsyStr *asy_str_new(AsyVM *vm, const char *utf8, size_t len);   /* copies; valid UTF-8 */
AsyStr *asy_str_new_ascii(AsyVM *vm, const char *ascii, size_t len); /* known ASCII: no scan */
AsyStr *asy_str_from_cstr(AsyVM *vm, const char *s);
AsyStr *asy_str_printf(AsyVM *vm, const char *fmt, ...) ASY_PRINTF(2, 3);
AsyStr *asy_str_intern(AsyVM *vm, const char *utf8, size_t len);
AsyStr *asy_str_intern_cstr(AsyVM *vm, const char *s);
/* The interned str equal to s: s itself (now interned) when there was none. */
AsyStr *asy_str_intern_obj(AsyVM *vm, AsyStr *s);
AsyStr *asy_str_from_codepoint(AsyVM *vm, uint32_t cp);   /* chr(cp)                   */
int64_t asy_hash_bytes(const void *data, size_t n);       /* str/bytes hash; never -1  */
void asy_str_fini(AsyVM *vm);         /* asy_vm_free: frees the interned table's array    */
AsyValue asy_ascii(AsyVM *vm, AsyValue v);                /* ascii(v)                  */
bool asy_str_is_identifier(const AsyStr *s);
AsyStr *asy_str_replace(AsyVM *vm, AsyStr *s, AsyStr *old, AsyStr *new_, int64_t count);
/* Codecs of str.encode/bytes.decode: utf-8, ascii, latin-1 and their aliases; -1 unknown. */
enum { ASY_CODEC_UTF8, ASY_CODEC_ASCII, ASY_CODEC_LATIN1 };
int asy_codec_lookup(const char *name);
/* s.encode(encoding, errors) -> bytes; NULL encoding/errors mean utf-8/strict. */
AsyValue asy_str_encode(AsyVM *vm, AsyStr *s, const char *encoding, const char *errors);
/* Does s hold a lone surrogate (which the utf-8 codec refuses without an error handler)? */
bool asy_str_has_surrogates(const AsyStr *s);
int64_t asy_str_hash(AsyStr *s);
/* Whether n bytes at a and b are the same. Inline for the short keys of dicts, where a
 * memcmp call costs more than the comparison. */
static inline bool asy_bytes_equal(const char *a, const char *b, size_t n) {
    if (n >= 8 && n <= 16) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8), memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8), memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4), memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4), memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n < 4) return n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]);
    return memcmp(a, b, n) == 0;
}
/* Same text: identity, then length and (when both are known) hash, then the bytes. */
static inline bool asy_str_equal(AsyStr *a, AsyStr *b) {
    if (a == b) return true;
    if (a->len != b->len) return false;
    if (a->hash != -1 && b->hash != -1 && a->hash != b->hash) return false;
    return asy_bytes_equal(a->data, b->data, a->len);
}
AsyStr *asy_str_concat(AsyVM *vm, AsyStr *a, AsyStr *b);
/* Join a C array of strs with a separator (f-strings and str.join). */
AsyStr *asy_str_join_array(AsyVM *vm, AsyStr *sep, AsyStr **parts, size_t n);
/* BUILD_STRING: items[0] + .. + items[n-1], each a str or an ASY_T_INT an f-string left
 * unformatted (written in decimal). NULL with MemoryError pending. */
AsyStr *asy_str_build(AsyVM *vm, const AsyValue *items, size_t n);
/* A growable UTF-8 buffer for building strings in C. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;          /* a MemoryError was raised while appending            */
} AsyStrBuf;
void asy_strbuf_init(AsyStrBuf *b);
void asy_strbuf_append(AsyVM *vm, AsyStrBuf *b, const char *s, size_t len);
void asy_strbuf_append_cstr(AsyVM *vm, AsyStrBuf *b, const char *s);
void asy_strbuf_append_str(AsyVM *vm, AsyStrBuf *b, AsyStr *s);
void asy_strbuf_printf(AsyVM *vm, AsyStrBuf *b, const char *fmt, ...) ASY_PRINTF(3, 4);
AsyStr *asy_strbuf_finish(AsyVM *vm, AsyStrBuf *b);  /* frees the buffer; NULL if failed */
void asy_strbuf_free(AsyStrBuf *b);
/* strformat.c: format-spec mini-language, str.format, %-formatting. */
AsyValue asy_str_format_method(AsyVM *vm, AsyStr *fmt, int argc, AsyValue *argv,
                               AsyDict *kw);
AsyValue asy_str_percent(AsyVM *vm, AsyStr *fmt, AsyValue args);
AsyValue asy_bytes_percent(AsyVM *vm, AsyBytes *fmt, AsyValue args); /* bytes % args */

/* bytes.c */
AsyBytes *asy_bytes_new(AsyVM *vm, const uint8_t *data, size_t len);
/* bytes.decode(encoding, errors) -> str; NULL encoding/errors mean utf-8/strict. */
AsyValue asy_bytes_decode(AsyVM *vm, const uint8_t *data, size_t len, const char *encoding,
                          const char *errors);

/* int.c (bigints on GMP), float.c, number.c */
AsyValue asy_int_from_mpz(AsyVM *vm, const mpz_t z);   /* normalises to ASY_INT    */
AsyValue asy_int_from_str(AsyVM *vm, const char *s, size_t len, int base); /* int(s, b) */
AsyValue asy_int_to_str(AsyVM *vm, AsyValue v, int base);
/* The decimal digits of i (with its '-') written backwards, ending just before `end`;
 * returns where they start. At most ASY_INT64_DEC_MAX bytes. */
char *asy_int64_dec(int64_t i, char *end);
#define ASY_INT64_DEC_MAX 20
void asy_int_to_mpz(AsyValue v, mpz_t out);           /* v int, bool or bigint; out inited */
bool asy_is_int(AsyVM *vm, AsyValue v);               /* int, bool or bigint           */
AsyValue asy_float_repr(AsyVM *vm, double d);         /* shortest round-trip repr    */
/* Convert to a C double: int/bool/bigint/float (OverflowError for huge ints). */
bool asy_to_double(AsyVM *vm, AsyValue v, double *out);
/* float(s) on text (whitespace, underscores, inf/nan); ValueError as CPython. */
AsyValue asy_float_from_str(AsyVM *vm, const char *s, size_t len);
/* int(x) and float(x) for one argument (what the constructors do), e.g. for %d and %f. */
AsyValue asy_number_int(AsyVM *vm, AsyValue v);
AsyValue asy_number_float(AsyVM *vm, AsyValue v);
/* The builtins divmod(a, b), pow(a, b, mod) (mod None: a ** b), abs(v) and round(v, n)
 * (ndigits UNDEF when omitted), with CPython's dunder fallbacks and messages. */
AsyValue asy_number_divmod(AsyVM *vm, AsyValue a, AsyValue b);
AsyValue asy_number_pow3(AsyVM *vm, AsyValue a, AsyValue b, AsyValue mod);
AsyValue asy_number_abs(AsyVM *vm, AsyValue v);
AsyValue asy_number_round(AsyVM *vm, AsyValue v, AsyValue ndigits);

/* tuple.c, list.c */
AsyTuple *asy_tuple_new(AsyVM *vm, int64_t len);        /* items are None            */
AsyTuple *asy_tuple_from_array(AsyVM *vm, const AsyValue *items, int64_t len);
AsyList *asy_list_new(AsyVM *vm, int64_t cap);          /* empty, room for cap        */
AsyList *asy_list_from_array(AsyVM *vm, const AsyValue *items, int64_t len);
int asy_list_append(AsyVM *vm, AsyList *list, AsyValue v);
/* list(iterable): a new list of everything the iterable yields. */
AsyList *asy_list_from_iterable(AsyVM *vm, AsyValue iterable);
/* Stable sort in place with optional key function (UNDEF for none) and reverse flag. */
int asy_list_sort(AsyVM *vm, AsyList *list, AsyValue key, bool reverse);
/* Repr recursion guard for containers (CPython's Py_ReprEnter): 0 when o was not being
 * repr'd (it now is: call asy_repr_leave after), 1 when it already is (print "[...]"),
 * -1 with RecursionError pending when reprs nest too deeply. */
int asy_repr_enter(AsyVM *vm, AsyObj *o);
void asy_repr_leave(AsyVM *vm, AsyObj *o);
/* tuple(iterable) (the iterable itself when it is an exact tuple). */
AsyTuple *asy_tuple_from_iterable(AsyVM *vm, AsyValue iterable);

/* dict.c */
AsyDict *asy_dict_new(AsyVM *vm);
/* An empty dict with room for n items before its first resize. */
AsyDict *asy_dict_new_sized(AsyVM *vm, int64_t n);
AsyValue asy_dict_get(AsyVM *vm, AsyDict *d, AsyValue key);   /* UNDEF if missing      */
int asy_dict_set(AsyVM *vm, AsyDict *d, AsyValue key, AsyValue value);
int asy_dict_del(AsyVM *vm, AsyDict *d, AsyValue key);        /* 1, 0 missing, -1      */
/* String-keyed fast paths: never call user code, never fail (except MemoryError). */
AsyValue asy_dict_get_str(AsyVM *vm, AsyDict *d, AsyStr *key);
AsyValue asy_dict_find_str(AsyDict *d, AsyStr *key);   /* the same, for callers without a vm */
int asy_dict_set_str(AsyVM *vm, AsyDict *d, AsyStr *key, AsyValue value);
AsyValue asy_dict_get_cstr(AsyVM *vm, AsyDict *d, const char *key);
int asy_dict_set_cstr(AsyVM *vm, AsyDict *d, const char *key, AsyValue value);
/* Iterate: pos starts at 0; false at the end. */
bool asy_dict_next(AsyDict *d, int64_t *pos, AsyValue *key, AsyValue *value);
bool asy_dict_next_hash(AsyDict *d, int64_t *pos, AsyValue *key, AsyValue *value,
                        int64_t *hash);   /* also the key's stored hash */
AsyDict *asy_dict_copy(AsyVM *vm, AsyDict *d);
/* d.update(other): a mapping (keys() and [] when not a dict) or pairs; -1 on error.
 * dict_merge (the VM's DICT_UPDATE/DICT_MERGE) rejects non-mappings as CPython. */
int asy_dict_update(AsyVM *vm, AsyDict *d, AsyValue other);

/* set.c */
AsySet *asy_set_new(AsyVM *vm, bool frozen);
int asy_set_add(AsyVM *vm, AsySet *s, AsyValue key);
int asy_set_contains(AsyVM *vm, AsySet *s, AsyValue key);
int asy_set_discard(AsyVM *vm, AsySet *s, AsyValue key);   /* 1 removed, 0, -1      */
int asy_set_update(AsyVM *vm, AsySet *s, AsyValue iterable);  /* set.update(it)        */
/* The compiler's constant for a display of 3+ constants ({3, 1, 2}; `x in {1, 2, 3}`):
 * a frozenset built exactly as CPython builds that constant, so that BUILD_SET 0,
 * LOAD_CONST it, SET_UPDATE 1 iterates in CPython's order. items: a tuple of them. */
AsyValue asy_frozenset_const(AsyVM *vm, AsyValue items);

/* range.c, slice (list.c) */
AsyValue asy_range_new(AsyVM *vm, int64_t start, int64_t stop, int64_t step);
AsyValue asy_slice_new(AsyVM *vm, AsyValue start, AsyValue stop, AsyValue step);
/* Resolve a slice against a sequence length, as PySlice_GetIndicesEx; returns count. */
bool asy_slice_indices(AsyVM *vm, AsySlice *s, int64_t len, int64_t *start,
                       int64_t *stop, int64_t *step, int64_t *count);

/* iterobject.c: iter(seq) for objects with only __getitem__, and iter(f, sentinel). */
AsyValue asy_seqiter_new(AsyVM *vm, AsyValue seq);
AsyValue asy_calliter_new(AsyVM *vm, AsyValue callable, AsyValue sentinel);

/* function.c */
AsyValue asy_native_new(AsyVM *vm, const AsyMethodDef *def, AsyValue self, AsyType *owner);
/* suggestions.c: an AttributeError pending from looking up obj.name records both (e.name,
 * e.obj) unless it has them; a NameError records its name and the globals it was looked
 * up in; the traceback's "Did you mean: '...'?" hint for e (CPython's rules), or NULL. */
void asy_attribute_error_context(AsyVM *vm, AsyValue obj, AsyStr *name);
AsyValue asy_raise_name_error(AsyVM *vm, AsyStr *name, AsyDict *globals);
AsyStr *asy_exception_suggestion(AsyVM *vm, AsyException *e);
/* binop_wrappers.c: give built-in type t its operator dunders (str.__add__, set.__or__...). */
void asy_add_binop_wrappers(AsyVM *vm, AsyType *t);
/* A native's __qualname__ ("str.join", "print"), made on first use (NULL with an exception
 * pending): natives are made at startup and at each method binding, and few are asked. */
AsyStr *asy_native_qualname(AsyVM *vm, AsyNative *n);
AsyValue asy_bound_method_new(AsyVM *vm, AsyValue self, AsyValue func);
AsyCell *asy_cell_new(AsyVM *vm, AsyValue v);

/* module.c */
AsyModule *asy_module_new(AsyVM *vm, const char *name);
/* doc.c: CPython's docstring of "owner.name" ("str.split"; owner NULL: "len", "int",
 * "math"), or NULL. asy_doc_fill puts the one of `name` in ns as its __doc__ and returns it
 * (None when there is none); asy_doc_of_type is a built-in type's, made on first use. */
const char *asy_doc_find(const char *owner, const char *name);
AsyValue asy_doc_fill(AsyVM *vm, AsyDict *ns, const char *name);
AsyValue asy_doc_of_type(AsyVM *vm, AsyType *t);
void asy_module_add_functions(AsyVM *vm, AsyModule *m, const AsyMethodDef *defs);
/* import name: built-in modules, then NAME.asy beside the script. */
AsyValue asy_import(AsyVM *vm, AsyStr *name);
/* IMPORT_NAME: as asy_import, but `import a.b` (no fromlist) gives the top module a. */
AsyValue asy_import_name(AsyVM *vm, AsyStr *name, AsyValue fromlist);
void asy_module_register(AsyVM *vm, AsyModule *m);   /* sys.modules[m.__name__] = m */
/* Give m parts made on first use of their names (`parts` is static, see AsyLazyPart). */
void asy_module_set_lazy(AsyModule *m, const AsyLazyPart *parts);
/* Make the part of m that defines `name` if it is not made yet: 1 if one was made, 0 if
 * no part left to make defines it, -1 with an exception pending if it failed. */
int asy_module_make_for(AsyVM *vm, AsyModule *m, const char *name);
/* Make every part of m not made yet, before its namespace is shown whole (dir, vars,
 * __dict__, import *). Returns -1 with an exception pending if one failed. */
int asy_module_make_all(AsyVM *vm, AsyModule *m);
/* A whole file read into a NUL-terminated malloc'd buffer; NULL with errno set. */
char *asy_read_file(const char *path, size_t *len);
/* Built-in modules: each makes its module and registers it (mod_<name>.c). */
void asy_mod_sys_init(AsyVM *vm);
void asy_mod_os_init(AsyVM *vm);
void asy_mod_random_init(AsyVM *vm);
void asy_mod_asyncio_init(AsyVM *vm);   /* mod_asyncio.c */
void asy_mod_time_init(AsyVM *vm);      /* mod_time.c    */
void asy_mod_re_init(AsyVM *vm);        /* mod_re.c      */
void asy_mod_http_init(AsyVM *vm);      /* mod_http.c: http, also imported as aiohttp */
void asy_mod_json_init(AsyVM *vm);      /* mod_json.c    */
void asy_mod_io_init(AsyVM *vm);        /* fileobject.c  */
/* fileobject.c: open() (the builtin), the sys.stdin/stdout/stderr file objects (stored
 * into the sys module's dict), and input()'s line: sys.stdin.readline() ('' at EOF). */
AsyValue asy_file_open(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw);
void asy_file_add_std_streams(AsyVM *vm, AsyDict *sys_dict);
AsyValue asy_file_stdin_readline(AsyVM *vm);
/* print(file=f)'s fast path: 1 when s was written to f, an open-file object; 0 when f is
 * something else (call its write method); -1 on error. */
int asy_file_write_str(AsyVM *vm, AsyValue file, AsyStr *s);
/* Where print() without file= writes: UNDEF for vm->out (sys never imported, or sys.stdout
 * is still the real one), None when sys.stdout is None, else the object put there. */
AsyValue asy_file_print_target(AsyVM *vm);
/* The async runtime (mod_asyncio.c, loop.c). asy_asyncio_run_main runs a coroutine as
 * asyncio.run does (the main task of a script with top-level await: its module code run
 * by asy_vm_run_code gives that coroutine); its result or ASY_ERR. asy_loop_free releases
 * the scheduler: asy_vm_free calls it before freeing the objects. */
AsyValue asy_asyncio_run_main(AsyVM *vm, AsyValue coro);
void asy_loop_free(AsyVM *vm);
/* "file:line: RuntimeWarning: coroutine 'qualname' was never awaited" (unawaited.c) for
 * the coroutine `coro` made at file:line (file NULL: "sys:1"; the place it was dropped
 * instead when asy_unawaited_dropped is collecting it, and "sys:1" after
 * asy_unawaited_exit), then `origin`, its creation traceback ("Coroutine created at ...",
 * or NULL) as CPython shows it in asyncio's debug mode, and the line's source; once per
 * place as CPython's default warning filter. Allocates no objects, so a GC finalizer (of
 * a coroutine freed unawaited) may call it. */
void asy_warn_never_awaited_at(AsyVM *vm, AsyObj *coro, const char *qualname, const char *file,
                               int line, const char *origin);
/* v was just dropped by an expression statement or a `del` (vm.c): if it is a coroutine
 * never awaited, collect now, so that it warns here, naming this line, as CPython does
 * when the last reference goes. Needs the running frame's pc and sp published. */
void asy_unawaited_dropped(AsyVM *vm, AsyValue v);
/* v was just dropped by an expression statement (POP_TOP, pc published): if it is the
 * task the call just before made (`asyncio.create_task(work())` on its own), no asy code
 * holds it any more, and its failure is reported at once (task.c). */
void asy_task_dropped(AsyVM *vm, AsyValue v);
/* The program is over (asy_vm_exit, asy_vm_free): report the coroutines never awaited
 * that are garbage, then treat the rest as CPython's shutdown does ("sys:1"). */
void asy_unawaited_exit(AsyVM *vm);
void asy_unawaited_free(AsyVM *vm);

/* ---- generators' creation sites (gensite.c) ---- */
/* The number of the site (file, line, qualname), made if new: *id. False with
 * MemoryError pending. file may be NULL (made outside asy code). The last site found is
 * tried first, here, by identity: a loop making its coroutines at one line. */
bool asy_gensite_lookup(AsyVM *vm, AsyStr *file, int32_t line, AsyStr *qualname, uint32_t *id);
static inline bool asy_gensite_find(AsyVM *vm, AsyStr *file, int32_t line, AsyStr *qualname,
                                    uint32_t *id) {
    if (ASY_LIKELY(vm->ngensites)) {
        const AsyGenSite *last = &vm->gensites[vm->gensite_last];
        if (ASY_LIKELY(last->qualname == qualname && last->file == file && last->line == line)) {
            *id = vm->gensite_last;
            return true;
        }
    }
    return asy_gensite_lookup(vm, file, line, qualname, id);
}
static inline const AsyGenSite *asy_gensite(const AsyVM *vm, uint32_t id) {
    return &vm->gensites[id];
}
void asy_gensite_mark(AsyVM *vm);   /* GC roots: every site's strings                  */
void asy_gensite_free(AsyVM *vm);

/* ---- running code (vm.c) ---- */
/* Run module-level code with `globals` as its namespace; its result, or ASY_ERR. */
AsyValue asy_vm_run_code(AsyVM *vm, AsyCode *code, AsyDict *globals);
/* The globals of the innermost running asy frame (NULL when none): globals(), vars(). */
AsyDict *asy_vm_globals(AsyVM *vm);
/* The exception being handled right now (sys.exc_info()[1], sys.exception()), or None. */
AsyValue asy_vm_handled_exception(AsyVM *vm);

/* The built-in type initialisers, one per file. asy_vm_new (state.c) calls them in this
 * order: object_init_types, function_init, str_init, dict_init, (the ASY_NAMES strings are
 * interned here), tuple, list, int, float, bytes, set, range, iterobjects, traceback,
 * module, exception, vm_init_runtime, builtins. So asy_object_init_types and
 * asy_function_init run before any str or dict exists: they make type objects only, and
 * add their methods from a later hook (asy_object_init_methods, called after dict_init).
 * GC is disabled until asy_vm_new returns. */
void asy_object_init_methods(AsyVM *vm);   /* methods of object/type/... (object.c)   */
void asy_vm_init_runtime(AsyVM *vm);       /* generator, coroutine types (vm.c)        */
void asy_object_init_types(AsyVM *vm);     /* object, type, NoneType, ... (object.c)   */
void asy_int_init(AsyVM *vm);              /* int, bool (int.c)                        */
void asy_float_init(AsyVM *vm);            /* float.c                                 */
void asy_str_init(AsyVM *vm);              /* str.c                                   */
void asy_bytes_init(AsyVM *vm);            /* bytes.c                                 */
void asy_list_init(AsyVM *vm);             /* list.c                                  */
void asy_tuple_init(AsyVM *vm);            /* tuple.c                                 */
void asy_dict_init(AsyVM *vm);             /* dict.c                                  */
void asy_set_init(AsyVM *vm);              /* set.c                                   */
void asy_range_init(AsyVM *vm);            /* range.c, slice                          */
void asy_iterobjects_init(AsyVM *vm);      /* enumerate, zip, map, ... (iterobject.c)  */
void asy_function_init(AsyVM *vm);         /* function, method, native, cell, code     */
void asy_exception_init(AsyVM *vm);        /* the hierarchy (exception.c)             */
void asy_excgroup_add_methods(AsyVM *vm, AsyType *base_group); /* split... (excgroup.c) */
void asy_traceback_init(AsyVM *vm);        /* the traceback type (traceback.c)         */
void asy_module_init(AsyVM *vm);           /* the module type, sys.modules (module.c)  */
void asy_builtins_init(AsyVM *vm);         /* the builtins module (builtins.c)         */
void asy_mod_math_init(AsyVM *vm);         /* the math module (mod_math.c)             */

#endif
