/* compiler.h - source to code object: parse (parser.c), resolve scopes (scope.c), generate
 * the bytecode of opcodes.h (compiler.c).
 *
 * The code objects follow the conventions of function.h (array sizes, parameter slots,
 * docstring at consts[0] with ASY_CODE_DOCSTRING) and of opcodes.h (stack effects, jump
 * targets as absolute instruction indexes). Module bodies use LOAD_GLOBAL/STORE_GLOBAL;
 * class bodies LOAD_NAME/STORE_NAME (LOAD_CLASSDEREF for free variables); functions fast
 * locals and cells. A module that uses top-level await (asy's extension) is compiled with
 * ASY_CODE_COROUTINE: running it yields a coroutine to drive as the main task.
 */
#ifndef ASY_COMPILER_H
#define ASY_COMPILER_H

#include "parser.h"
#include "vm.h"

/* Compile `len` bytes of source. EVAL mode: the code returns the expression's value.
 * SINGLE mode (REPL): expression statements print their value with PRINT_EXPR. Returns
 * the module's code object, or NULL with a SyntaxError (or MemoryError) pending.
 * Nothing is collected during compilation; the caller roots the result. */
AsyCode *asy_compile(AsyVM *vm, const char *src, size_t len, const char *filename,
                     AsyParseMode mode);

/* asy_compile with options. ASY_COMPILE_EXPLAIN_ASSERTS (for `asy test`): an `assert`
 * without a message that fails raises AssertionError('assert 2 == 3') showing the values
 * of its comparison's operands (or of its test), plus a ' +  where 2 = f(1)' line for each
 * operand that is more than a name or a constant. Operands are still evaluated once. */
#define ASY_COMPILE_EXPLAIN_ASSERTS 1u
AsyCode *asy_compile_flags(AsyVM *vm, const char *src, size_t len, const char *filename,
                           AsyParseMode mode, unsigned flags);

#endif
