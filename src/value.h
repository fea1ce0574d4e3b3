/* value.h - AsyValue, the 16-byte tagged value every slot, stack entry and field holds.
 *
 * None, bool, int (when it fits int64) and float are unboxed: arithmetic on them allocates
 * nothing. Everything else is a pointer to a GC object (object.h).
 *
 * Invariants:
 * - An int that fits in int64 is ALWAYS an ASY_T_INT, never a big-int object; a big-int
 *   object's value never fits in int64 (int.c normalises every result). So two equal ints
 *   always have the same representation.
 * - ASY_T_BOOL holds 0 or 1 in `i`; bool is a subtype of int and every int fast path
 *   accepts it (ASY_IS_INTLIKE).
 * - ASY_T_ERR is never stored anywhere: it is only returned, meaning "an exception is
 *   pending in vm->exc" (like CPython's NULL).
 * - ASY_T_UNDEF marks "no value": an unbound local, an empty cell, a missing dict entry,
 *   an exhausted iterator (asy_next). It is never visible to asy code.
 */
#ifndef ASY_VALUE_H
#define ASY_VALUE_H

#include "common.h"

typedef struct AsyObj AsyObj;

typedef enum {
    ASY_T_UNDEF = 0,
    ASY_T_NONE,
    ASY_T_BOOL,
    ASY_T_INT,
    ASY_T_FLOAT,
    ASY_T_OBJ,
    ASY_T_ERR,
} AsyTag;

typedef struct {
    AsyTag tag;
    union {
        int64_t i;
        double f;
        AsyObj *o;
    } as;
} AsyValue;

#define ASY_UNDEF ((AsyValue){.tag = ASY_T_UNDEF, .as.i = 0})
#define ASY_ERR ((AsyValue){.tag = ASY_T_ERR, .as.i = 0})
#define ASY_NONE ((AsyValue){.tag = ASY_T_NONE, .as.i = 0})
#define ASY_TRUE ((AsyValue){.tag = ASY_T_BOOL, .as.i = 1})
#define ASY_FALSE ((AsyValue){.tag = ASY_T_BOOL, .as.i = 0})
#define ASY_BOOL(b) ((AsyValue){.tag = ASY_T_BOOL, .as.i = (b) ? 1 : 0})
#define ASY_INT(n) ((AsyValue){.tag = ASY_T_INT, .as.i = (int64_t)(n)})
#define ASY_FLOAT(d) ((AsyValue){.tag = ASY_T_FLOAT, .as.f = (double)(d)})
#define ASY_OBJ(p) ((AsyValue){.tag = ASY_T_OBJ, .as.o = (AsyObj *)(p)})

#define ASY_IS_UNDEF(v) ((v).tag == ASY_T_UNDEF)
#define ASY_IS_ERR(v) ((v).tag == ASY_T_ERR)
#define ASY_IS_NONE(v) ((v).tag == ASY_T_NONE)
#define ASY_IS_BOOL(v) ((v).tag == ASY_T_BOOL)
#define ASY_IS_INT(v) ((v).tag == ASY_T_INT)
#define ASY_IS_INTLIKE(v) ((v).tag == ASY_T_INT || (v).tag == ASY_T_BOOL)
#define ASY_IS_FLOAT(v) ((v).tag == ASY_T_FLOAT)
#define ASY_IS_OBJ(v) ((v).tag == ASY_T_OBJ)

#define ASY_AS_INT(v) ((v).as.i)
#define ASY_AS_FLOAT(v) ((v).as.f)
#define ASY_AS_OBJ(v) ((v).as.o)
#define ASY_AS_BOOL(v) ((v).as.i != 0)

/* Identity (`is`): same tag and same payload. Floats compare by bits, so `x is x` holds
 * for a NaN stored in one variable. */
static inline bool asy_value_is(AsyValue a, AsyValue b) {
    if (a.tag != b.tag) return false;
    return a.as.i == b.as.i;
}

#endif
