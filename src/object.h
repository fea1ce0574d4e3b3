/* object.h - the object model: the header every heap object starts with, the type object
 * (one struct for built-in types and user classes alike), and the layout of every built-in
 * object. Behaviour lives in one .c file per type (str.c, list.c, dict.c, ...).
 *
 * Invariants:
 * - Every heap object starts with AsyObj and was made by asy_gc_alloc (gc.h); its type
 *   never changes. The GC reaches its children only through type->traverse.
 * - A type's slots are never NULL after asy_type_ready(): missing behaviour is a slot that
 *   raises the right TypeError, so callers never test for NULL (except `hash`, where NULL
 *   means "unhashable", and `traverse`/`finalize`, which may be NULL for leaf objects).
 * - Slot functions return ASY_ERR (or -1 for int-returning slots) with an exception pending
 *   in vm->exc when they fail, and never both fail and return a value.
 */
#ifndef ASY_OBJECT_H
#define ASY_OBJECT_H

#include <gmp.h>

#include "value.h"

typedef struct AsyVM AsyVM;
typedef struct AsyType AsyType;
typedef struct AsyStr AsyStr;
typedef struct AsyDict AsyDict;
typedef struct AsyTuple AsyTuple;

struct AsyObj {
    AsyType *type;
    uint16_t gc_marked;  /* gc.c: reached in this collection (pooled objects' marks are
                          * in their chunk's bitmap)                                */
    uint16_t gc_class;   /* gc.c: small-block size class, 0 for a malloc'd one */
    uint32_t flags;      /* per-type bits (e.g. ASY_STR_INTERNED)             */
};

#define ASY_TYPE_OF_OBJ(o) (((AsyObj *)(o))->type)

/* ---- comparison and operator codes ---- */
typedef enum { ASY_CMP_LT, ASY_CMP_LE, ASY_CMP_EQ, ASY_CMP_NE, ASY_CMP_GT, ASY_CMP_GE } AsyCmpOp;

/* Binary operators, in the order of AstBinOp (ast.h). The in-place form of op is
 * op + ASY_BIN_INPLACE (e.g. ASY_BIN_ADD + ASY_BIN_INPLACE for `+=`). */
typedef enum {
    ASY_BIN_ADD, ASY_BIN_SUB, ASY_BIN_MUL, ASY_BIN_MATMUL, ASY_BIN_TRUEDIV, ASY_BIN_FLOORDIV,
    ASY_BIN_MOD, ASY_BIN_POW, ASY_BIN_LSHIFT, ASY_BIN_RSHIFT, ASY_BIN_OR, ASY_BIN_XOR,
    ASY_BIN_AND,
    ASY_BIN_COUNT,
    ASY_BIN_INPLACE = ASY_BIN_COUNT
} AsyBinOp;

typedef enum { ASY_UOP_NEG, ASY_UOP_POS, ASY_UOP_INVERT } AsyUnaryOp;

/* ---- native functions ---- */
/* Every built-in function and method has this signature. argv[0] is self for methods.
 * kw is NULL when the call passed no keyword arguments, else a dict str -> value. */
typedef AsyValue (*AsyNativeFn)(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw);

typedef struct {
    const char *name;
    AsyNativeFn fn;
    uint32_t flags;      /* ASY_METH_* */
    const char *doc;     /* one line, shown by help() and the man pages           */
} AsyMethodDef;

#define ASY_METH_DEFAULT 0u
#define ASY_METH_CLASS (1u << 0)   /* a classmethod: argv[0] is the type              */
#define ASY_METH_STATIC (1u << 1)  /* no self                                         */
#define ASY_METH_NOKW (1u << 2)    /* keywords rejected with CPython's TypeError      */
#define ASY_METH_SLOT (1u << 3)    /* an operator slot's wrapper (`str.__add__`): CPython
                                      calls it a slot wrapper in reprs and errors     */

/* ---- the type object ---- */
typedef AsyValue (*AsyUnaryFn)(AsyVM *vm, AsyValue self);
/* `await x` on a native awaitable (the type's await_ slot, fiber.h). sent: UNDEF the first
 * time the AWAIT runs; the value sent in when the awaiting frame is resumed after a value
 * it handed out went to a C caller (coro.send()) as a yield. mode: */
typedef enum {
    ASY_AWAIT_IN_TASK,   /* the running task's own dispatch loop: SUSPEND makes it wait   */
    ASY_AWAIT_STEPPED,   /* a C caller steps the frame (coro.send(), a generator-based
                            __await__ delegating to it): what the slot hands out goes to
                            that caller, as CPython's awaitables yield to whoever steps
                            them, and no task may be made to wait                       */
    ASY_AWAIT_ABANDONED, /* an exception is thrown in (coro.throw(), close()) at the AWAIT
                            that handed something out: let go of it; the result is unused */
} AsyAwaitMode;
typedef int (*AsyAwaitFn)(AsyVM *vm, AsyValue self, AsyValue sent, AsyAwaitMode mode,
                          AsyValue *result);

#define ASY_TYPE_BASETYPE (1u << 0)   /* may be subclassed                              */
#define ASY_TYPE_HEAP (1u << 1)       /* a user class (made by a class statement)       */
#define ASY_TYPE_EXCEPTION (1u << 2)  /* BaseException or a subclass                    */
#define ASY_TYPE_ABSTRACT (1u << 3)   /* cannot be instantiated directly                */
#define ASY_TYPE_READY (1u << 4)      /* asy_type_ready has run (object.c)              */
/* The type's instances have fields (or meaning) its base's lack, though basicsize is the
 * same: the exceptions that have their own struct in CPython (OSError, StopIteration...).
 * Two such unrelated bases are a "lay-out conflict", and one wins __base__ (class.c). */
#define ASY_TYPE_SOLID (1u << 5)
/* Instances are str, bytes or tuple objects, whose text or items are inline and of varying
 * length: their __dict__ pointer follows them (asy_obj_dict_slot), dict_offset being where
 * the text or items start and itemsize their size. CPython's negative tp_dictoffset. */
#define ASY_TYPE_DICT_AT_END (1u << 6)
/* A user class whose instances have no __dict__: their attributes are its __slots__. */
#define ASY_TYPE_SLOTS (1u << 9)
/* The instances' last word is the dict of their __slots__ values (slots.c). */
#define ASY_TYPE_SLOT_STORE (1u << 10)
/* The instances' finalizer does something a user sees (flushes a file, warns that a
 * coroutine was never awaited), so it also runs when the process exits, where gc.c leaves
 * every other object to the operating system (asy_gc_exit). Subclasses inherit it. */
#define ASY_TYPE_FINALIZE_AT_EXIT (1u << 7)

struct AsyType {
    AsyObj hdr;                 /* hdr.type is the `type` type                          */
    const char *name;           /* C name for built-ins; for heap types points into name_str */
    AsyStr *name_str;           /* __name__                                             */
    AsyStr *qualname;           /* __qualname__                                         */
    AsyStr *module;             /* __module__ ("builtins" for built-ins)                */
    /* __base__: the base whose instance layout (and so whose built-in slots) the type
     * has, CPython's "best base"; NULL only for `object`. */
    AsyType *base;
    /* __bases__ and __mro__ (C3), or NULL when they are just (base,) and the chain
     * t, base, base->base, ..., object: every built-in type made with one base. Walk the
     * MRO with AsyMroIter (below), never with ->base. */
    AsyTuple *bases;
    AsyTuple *mro;
    AsyDict *dict;              /* methods, class attributes, descriptors               */
    uint32_t tflags;            /* ASY_TYPE_*                                           */
    size_t basicsize;           /* bytes of one instance                               */
    size_t dict_offset;         /* offset of an AsyDict* __dict__ field, 0 for none     */
    size_t itemsize;            /* ASY_TYPE_DICT_AT_END: bytes per inline item (text: 1) */

    /* Slots. User classes get generic slots that look up dunder methods (class.c). */
    AsyValue (*repr)(AsyVM *vm, AsyValue self);
    AsyValue (*str)(AsyVM *vm, AsyValue self);
    bool (*hash)(AsyVM *vm, AsyValue self, int64_t *out);   /* NULL: unhashable */
    /* Returns a value, the NotImplemented singleton, or ASY_ERR. */
    AsyValue (*richcompare)(AsyVM *vm, AsyValue self, AsyValue other, AsyCmpOp op);
    int (*truth)(AsyVM *vm, AsyValue self);                   /* 1, 0, -1 error   */
    int64_t (*len)(AsyVM *vm, AsyValue self);                 /* >= 0, -1 error   */
    AsyValue (*getattr)(AsyVM *vm, AsyValue self, AsyStr *name);
    int (*setattr)(AsyVM *vm, AsyValue self, AsyStr *name, AsyValue v); /* v UNDEF: del */
    AsyValue (*call)(AsyVM *vm, AsyValue self, int argc, AsyValue *argv, AsyDict *kw);
    AsyValue (*iter)(AsyVM *vm, AsyValue self);
    /* Next item, ASY_UNDEF when exhausted (no StopIteration is raised), ASY_ERR on error. */
    AsyValue (*next)(AsyVM *vm, AsyValue self);
    AsyValue (*getitem)(AsyVM *vm, AsyValue self, AsyValue key);
    int (*setitem)(AsyVM *vm, AsyValue self, AsyValue key, AsyValue v);  /* v UNDEF: del */
    int (*contains)(AsyVM *vm, AsyValue self, AsyValue item);             /* 1, 0, -1 */
    /* Binary operator; self may be either operand (a is the left one). Returns
     * NotImplemented when it does not handle the pair. */
    AsyValue (*binop)(AsyVM *vm, AsyValue a, AsyValue b, AsyBinOp op);
    AsyValue (*unaryop)(AsyVM *vm, AsyValue self, AsyUnaryOp op);
    /* T(...): make (and initialise) a new instance of `type` (which may be a subclass). */
    AsyValue (*new_)(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw);
    /* Descriptor protocol: functions bind, properties compute. obj UNDEF: class access. */
    AsyValue (*descr_get)(AsyVM *vm, AsyValue descr, AsyValue obj, AsyType *owner);
    int (*descr_set)(AsyVM *vm, AsyValue descr, AsyValue obj, AsyValue v);
    /* GC: mark every child (asy_gc_mark_value / asy_gc_mark_obj). NULL for leaf objects. */
    void (*traverse)(AsyVM *vm, AsyObj *self);
    /* Free memory the object owns outside its own allocation. Must not allocate. */
    void (*finalize)(AsyVM *vm, AsyObj *self);
    /* `await x` on a native awaitable (the async runtime's futures): NULL for every other
     * type (it is not inherited). Returns ASY_AWAIT_DONE with *result set, ASY_AWAIT_SUSPEND
     * to suspend the task until the scheduler resumes it (or, when it cannot suspend, to
     * hand *result to the C caller), or ASY_AWAIT_ERROR (fiber.h). */
    AsyAwaitFn await_;
    /* Bootstrap (object.c): method tables added before str, dict and natives existed,
     * installed into `dict` as soon as they do; empty afterwards. */
    const AsyMethodDef **pending_methods;
    uint32_t npending_methods;
    /* object.c: a cache of asy_type_lookup results, valid while it was filled at the
     * current epoch: `type`'s type_epoch, bumped by asy_type_modified whenever any type's
     * dict changes. Change a type's dict only through asy_setattr / asy_type_add_methods,
     * or call asy_type_modified after. */
    void *lookup_cache;
    uint64_t type_epoch;
};

/* ---- built-in object layouts ---- */

/* str: immutable UTF-8, NUL-terminated. Indexing is by code point: O(1) when ascii. */
struct AsyStr {
    AsyObj hdr;
    int64_t hash;        /* -1 until computed                                  */
    size_t len;          /* bytes, excluding the terminating NUL               */
    size_t nchars;       /* code points                                        */
    bool ascii;          /* every byte < 0x80, so byte index == char index      */
    char data[];
};
#define ASY_STR_INTERNED (1u << 0)  /* hdr.flags: lives in vm->interned     */

typedef struct {
    AsyObj hdr;
    int64_t hash;
    size_t len;
    uint8_t data[];      /* NUL-terminated too, for convenience                */
} AsyBytes;

/* The address of the __dict__ pointer of an instance whose type has a dict_offset. For
 * ASY_TYPE_DICT_AT_END types it comes after the inline text or items (a text also keeps a
 * NUL after it): AsyStr, AsyBytes and AsyTuple all keep their length right after `hash`. */
_Static_assert(offsetof(AsyStr, len) == offsetof(AsyBytes, len), "str and bytes keep len alike");
static inline AsyDict **asy_obj_dict_slot(AsyObj *o) {
    AsyType *t = o->type;
    size_t at = t->dict_offset;
    if (t->tflags & ASY_TYPE_DICT_AT_END) {
        at += ((AsyStr *)o)->len * t->itemsize + (t->itemsize == 1);
        at = (at + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
    }
    return (AsyDict **)((char *)o + at);
}

/* Bytes to allocate for a str, bytes or tuple instance of `type` that needs `size` bytes
 * for itself: room for the __dict__ pointer after it when the type keeps one there. */
static inline size_t asy_var_instance_size(AsyType *type, size_t size) {
    if (!(type->tflags & ASY_TYPE_DICT_AT_END)) return size;
    return ((size + sizeof(void *) - 1) & ~(sizeof(void *) - 1)) + sizeof(void *);
}

/* An int too large for int64 (see the invariant in value.h). */
typedef struct {
    AsyObj hdr;
    mpz_t z;
} AsyBigInt;

struct AsyTuple {
    AsyObj hdr;
    int64_t hash;        /* -1 until computed                                  */
    int64_t len;
    AsyValue items[];
};

/* Walks a type's MRO, the type itself first:
 *   for (AsyMroIter it = asy_mro_begin(t); it.t; asy_mro_next(&it)) ... it.t ...
 * (the mro tuple when there is one, else the base chain). */
typedef struct {
    AsyType *t;
    const AsyTuple *mro;
    int64_t i;
} AsyMroIter;

static inline AsyMroIter asy_mro_begin(AsyType *t) {
    AsyMroIter it = {t, t ? t->mro : NULL, 0};
    return it;
}

static inline void asy_mro_next(AsyMroIter *it) {
    if (!it->mro) {
        it->t = it->t->base;
        return;
    }
    it->i++;
    it->t = it->i < it->mro->len ? (AsyType *)ASY_AS_OBJ(it->mro->items[it->i]) : NULL;
}

typedef struct {
    AsyObj hdr;
    AsyValue *items;
    int64_t len, cap;
} AsyList;

/* dict: insertion-ordered, CPython 3.11's compact layout (dict.c owns the details): one
 * block holding a power-of-two index table (int8/16/32 slots by size) followed by the
 * entries in insertion order, holes left by deletions until the next resize. While every
 * key is an exact str the entries are 24 bytes, else 40 (hash, key, value). */
struct AsyDict {
    AsyObj hdr;
    int64_t len;         /* live entries                                        */
    int64_t nentries;    /* used entry slots, live or deleted                   */
    int64_t capentries;
    void *indices;       /* the block: nindices slots of ixsize bytes, entries  */
    void *entries;       /* inside the block, after the indices                 */
    int64_t nindices;    /* power of two; 0 before the first insertion          */
    uint64_t version;    /* bumped on every change (the globals cache's key)    */
    bool general;        /* false: every key an exact str (24-byte entries)     */
    uint8_t ixsize;      /* bytes per index slot: 1, 2 or 4                     */
    uint8_t ixtag;       /* shift of the hash tag in index slots, 0 for none    */
};

/* set and frozenset share a layout; the probing follows CPython's setobject.c so that
 * sets of small ints print in CPython's order. */
typedef struct {
    int64_t hash;
    AsyValue key;        /* UNDEF: empty; a deleted slot has key UNDEF and hash -1 */
} AsySetEntry;

typedef struct {
    AsyObj hdr;
    int64_t len;         /* live keys                                           */
    int64_t fill;        /* live + deleted slots                                */
    int64_t mask;        /* table size - 1                                      */
    AsySetEntry *table;
    int64_t finger;      /* for pop(), as CPython                               */
    int64_t hash;        /* frozenset only, -1 until computed                   */
    uint64_t version;
} AsySet;

typedef struct {
    AsyObj hdr;
    int64_t start, stop, step, len;   /* range objects over int64 only          */
} AsyRange;

typedef struct {
    AsyObj hdr;
    AsyValue start, stop, step;       /* None when omitted                      */
} AsySlice;

/* Iterators the VM fast-paths in FOR_ITER (list.c, tuple.c, range.c). A list/tuple
 * iterator's seq is NULL once exhausted; a range iterator yields `next` while
 * remaining > 0, advancing by step. */
typedef struct {
    AsyObj hdr;
    AsyList *seq;
    int64_t index;
} AsyListIter;

typedef struct {
    AsyObj hdr;
    AsyTuple *seq;
    int64_t index;
} AsyTupleIter;

typedef struct {
    AsyObj hdr;
    int64_t next, step, remaining;
} AsyRangeIter;

/* ---- code and functions ---- */

/* Source location of one instruction, for tracebacks (CPython 3.11 shows ^^^ ranges). */
typedef struct {
    int32_t line, end_line;
    int32_t col, end_col;             /* 0-based code points; -1 when unknown    */
} AsyLoc;

#define ASY_CODE_VARARGS (1u << 0)
#define ASY_CODE_VARKW (1u << 1)
#define ASY_CODE_GENERATOR (1u << 2)
#define ASY_CODE_COROUTINE (1u << 3)
#define ASY_CODE_ASYNC_GENERATOR (1u << 4)
#define ASY_CODE_MODULE (1u << 5)     /* a module body: names are globals          */
#define ASY_CODE_CLASS (1u << 6)      /* a class body: names go to the class dict  */
#define ASY_CODE_LAMBDA (1u << 7)
#define ASY_CODE_COMPREHENSION (1u << 8)
#define ASY_CODE_DOCSTRING (1u << 9)  /* consts[0] is the docstring (function.h)     */
#define ASY_CODE_HIDDEN (1u << 10)    /* the runtime's own: no traceback entries       */

typedef struct {
    AsyObj hdr;
    uint32_t *code;          /* instructions: opcode in the low 8 bits, arg in the high 24 */
    int32_t ncode;
    AsyLoc *locs;            /* one per instruction                              */
    AsyValue *consts;
    int32_t nconsts;
    AsyStr **names;          /* global, attribute and import names (interned)    */
    int32_t nnames;
    AsyStr **varnames;       /* local slots, parameters first (interned)         */
    int32_t nlocals;
    AsyStr **cellnames;      /* locals captured by inner functions               */
    int32_t ncells;
    AsyStr **freenames;      /* variables captured from enclosing functions      */
    int32_t nfree;
    /* cell2arg[i] >= 0: cell i is parameter slot cell2arg[i], copied in at call time. */
    int32_t *cell2arg;
    int32_t argcount;        /* positional parameters, including positional-only  */
    int32_t posonlycount;
    int32_t kwonlycount;
    /* argcount when a call with that many positional arguments can take CALL's inline
     * path (no *args, **kwargs, keyword-only parameters, cells or free variables; not a
     * generator or coroutine), else -1: one comparison in the VM's hottest path. */
    int32_t fast_argc;
    uint32_t cflags;         /* ASY_CODE_*                                        */
    int32_t stacksize;       /* most values the body ever has on the stack         */
    int32_t maxblocks;       /* most handler blocks ever open at once              */
    int32_t blockbase;       /* slot of handler block 0: nlocals + ncells + nfree  */
    int32_t framesize;       /* stack slots a frame takes (asy_fiber_frame_size)   */
    int32_t firstline;
    AsyStr *name, *qualname, *filename;
    /* vm.c's LOAD_GLOBAL cache, one entry per name (nnames), allocated on first use and
     * freed with the code object (function.c). */
    struct AsyGlobalCache *gcache;
} AsyCode;

typedef struct {
    AsyObj hdr;
    AsyValue value;          /* UNDEF while empty                                 */
} AsyCell;

typedef struct {
    AsyObj hdr;
    AsyCode *code;
    AsyDict *globals;
    AsyTuple *defaults;      /* NULL or defaults of the last positional parameters */
    AsyDict *kwdefaults;     /* NULL or name -> default for keyword-only ones      */
    AsyTuple *closure;       /* NULL or a tuple of AsyCell, one per code->freenames */
    AsyStr *name, *qualname;
    AsyDict *dict;           /* __dict__ (decorators set attributes); NULL until used */
    AsyValue doc;
    AsyValue module;         /* __module__ string                                 */
} AsyFunction;

typedef struct {
    AsyObj hdr;
    const AsyMethodDef *def;
    AsyValue self;           /* bound receiver (module functions: UNDEF)           */
    AsyType *owner;          /* type a method belongs to, for "descriptor 'x' of 'str'
                                object needs an argument" messages; NULL otherwise  */
    AsyStr *qualname;        /* "str.join", "print"                               */
} AsyNative;

typedef struct {
    AsyObj hdr;
    AsyValue self;
    AsyValue func;
} AsyBoundMethod;

typedef struct AsyModule AsyModule;

/* A part of a built-in module that is made on first use of one of its names, so that
 * what most scripts never touch costs nothing at import (module.c). A module's parts are
 * an array ending with names == NULL. `make` adds the names to the module's namespace;
 * it reports failure with an exception pending. */
typedef struct {
    const char *const *names; /* NULL-terminated                                      */
    void (*make)(AsyVM *vm, AsyModule *m);
} AsyLazyPart;

struct AsyModule {
    AsyObj hdr;
    AsyDict *dict;
    AsyStr *name;
    AsyStr *file;            /* NULL for built-in modules                         */
    const AsyLazyPart *lazy; /* parts not made at import, or NULL                 */
    uint32_t lazy_made;      /* bit i: lazy[i] has been made (at most 32 parts)    */
};

/* An instance of a user class deriving from object. Instances of classes deriving from a
 * built-in type have that type's layout followed by the __dict__ pointer (dict_offset). */
typedef struct {
    AsyObj hdr;
    AsyDict *dict;
} AsyInstance;

typedef struct {
    AsyObj hdr;
    AsyValue fget, fset, fdel, doc;   /* UNDEF when absent                      */
    AsyValue name;                    /* set by __set_name__; UNDEF before      */
} AsyProperty;

typedef struct {
    AsyObj hdr;
    AsyValue func;                    /* classmethod / staticmethod wrapper     */
} AsyMethodWrapper;

typedef struct {
    AsyObj hdr;
    AsyType *type;                    /* super(type, obj)                       */
    AsyValue obj;
    AsyType *obj_type;
} AsySuper;

/* One traceback entry: code and instruction of a frame an exception passed through. */
typedef struct AsyTraceback {
    AsyObj hdr;
    struct AsyTraceback *next;        /* toward the frame that raised            */
    AsyCode *code;
    int32_t ip;                       /* index of the instruction that was running */
} AsyTraceback;

/* BaseException and every subclass. dict comes first so user subclasses reuse it. */
typedef struct {
    AsyObj hdr;
    AsyDict *dict;
    AsyTuple *args;
    AsyTraceback *traceback;          /* __traceback__, NULL when never raised      */
    AsyValue cause;                   /* __cause__ (None when unset)                */
    AsyValue context;                 /* __context__ (None when unset)              */
    bool suppress_context;
    AsyValue value;                   /* StopIteration.value; code of SystemExit    */
    AsyValue extra;                   /* OSError errno/strerror tuple; what a refused
                                         asyncio.run() was given (mod_asyncio.c); a
                                         NameError's globals (suggestions.c)          */
    AsyValue exceptions;              /* ExceptionGroup: the tuple of exceptions    */
    AsyValue message;                 /* ExceptionGroup: the message string          */
} AsyException;

#endif
