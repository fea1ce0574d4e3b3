/* slots.h - __slots__ (slots.c). */
#ifndef ASY_SLOTS_H
#define ASY_SLOTS_H

#include "vm.h"

/* While type t is made from namespace ns: a member descriptor in ns for each name of its
 * __slots__, and ASY_TYPE_SLOTS on t when its instances have no __dict__. false with
 * CPython's TypeError or ValueError for a bad __slots__. */
bool asy_slots_setup(AsyVM *vm, AsyType *t, AsyDict *ns);

/* Where an ASY_TYPE_SLOT_STORE instance keeps the dict of its slot values (NULL until one
 * is set): the last word of the instance. */
static inline AsyDict **asy_slot_store(AsyObj *o) {
    return (AsyDict **)((char *)o + o->type->basicsize - sizeof(AsyDict *));
}

#endif
