/* debug.h - the disassembler (`asy --disassemble FILE`, and a debugging aid): a listing of
 * a code object in the style of CPython's dis module. */
#ifndef ASY_DEBUG_H
#define ASY_DEBUG_H

#include <stdio.h>

#include "vm.h"

/* List `code` and, after it, every code object among its constants (recursively). */
void asy_disassemble(AsyVM *vm, AsyCode *code, FILE *out);

/* One instruction's argument as text ("(x)", "(to 12)", "(+=)"), for listings and tests:
 * writes at most size bytes to buf (empty when the argument needs no explanation). */
void asy_disassemble_arg(AsyVM *vm, AsyCode *code, int32_t ip, char *buf, size_t size);

#endif
