/* syntax_warning.h - the SyntaxWarnings CPython's compiler prints for code that compiles but
 * cannot do what it says (syntax_warning.c): `x is 1`, `assert (x, "msg")`, `[1, 2](3)`,
 * `[1][1.0]`. The compiler calls one check per node it compiles. */
#ifndef ASY_SYNTAX_WARNING_H
#define ASY_SYNTAX_WARNING_H

#include "ast.h"
#include "vm.h"

/* Where warnings go (vm->err) and the source they quote. */
typedef struct {
    AsyVM *vm;
    const char *filename;
    const char *src;
    size_t srclen;
} AsyWarnSource;

void asy_warn_compare(const AsyWarnSource *s, const AstNode *compare);
void asy_warn_call(const AsyWarnSource *s, const AstNode *call);
void asy_warn_subscript(const AsyWarnSource *s, const AstNode *subscript);
void asy_warn_assert(const AsyWarnSource *s, const AstNode *assert_stmt);

#endif
