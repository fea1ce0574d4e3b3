/* scope.h - Python's scope rules, computed in one pass over the AST before code generation.
 *
 * asy_scope_build() gives every AST_MODULE, AST_FUNCTIONDEF, AST_LAMBDA, AST_CLASSDEF and
 * comprehension node an AsyScope (its `scope` field) that says, for every name used in that
 * block, how the compiler must reach it: a fast local slot, a cell, a free variable, a global,
 * or (module and class bodies) the namespace. It also lays out the code object's slots
 * (varnames, cellnames, cell2arg, freenames) and computes the qualname and the block's
 * generator/coroutine flags.
 *
 * The rules are CPython 3.11's (Python/symtable.c): a name bound anywhere in a function is
 * local to the whole function unless declared global/nonlocal; free names resolve to the
 * nearest enclosing function that binds them (class bodies are skipped, except for the
 * implicit `__class__` cell that zero-argument super() needs); comprehensions are functions
 * of their own whose walrus targets bind in the enclosing function.
 *
 * Everything lives in the AST arena and dies with it.
 */
#ifndef ASY_SCOPE_H
#define ASY_SCOPE_H

#include "ast.h"
#include "parser.h"

typedef enum {
    ASY_SCOPE_MODULE,
    ASY_SCOPE_FUNCTION,
    ASY_SCOPE_LAMBDA,
    ASY_SCOPE_CLASS,
    ASY_SCOPE_COMPREHENSION,
} AsyScopeKind;

/* Where a name lives, from the point of view of one block. */
typedef enum {
    ASY_SYM_LOCAL,           /* function: a fast slot; module/class: the namespace      */
    ASY_SYM_CELL,            /* a local captured by an inner function                 */
    ASY_SYM_FREE,            /* a variable of an enclosing function                  */
    ASY_SYM_GLOBAL_EXPLICIT, /* declared `global`                                    */
    ASY_SYM_GLOBAL_IMPLICIT, /* not bound anywhere visible: globals, then builtins     */
} AsySymKind;

/* Flags recorded while walking (how the block uses the name). */
#define ASY_DEF_LOCAL (1u << 0)      /* assigned, deleted, def/class/for/with/except target */
#define ASY_DEF_PARAM (1u << 1)
#define ASY_DEF_GLOBAL (1u << 2)
#define ASY_DEF_NONLOCAL (1u << 3)
#define ASY_DEF_USE (1u << 4)        /* read                                            */
#define ASY_DEF_IMPORT (1u << 5)
#define ASY_DEF_ANNOT (1u << 6)      /* `x: T` annotation                                */
#define ASY_DEF_COMP_ITER (1u << 7)  /* a comprehension's iteration variable            */
#define ASY_DEF_FREE_CLASS (1u << 8) /* class body: also passed through to a method     */
#define ASY_DEF_BOUND (ASY_DEF_LOCAL | ASY_DEF_PARAM | ASY_DEF_IMPORT)

typedef struct {
    const char *name;
    uint32_t flags;          /* ASY_DEF_*                                               */
    AsySymKind kind;
    int slot;                /* varnames index (function locals and parameters), or -1  */
    int deref;               /* index into cells then frees (LOAD_DEREF), or -1         */
    /* Where the global/nonlocal directive was, for SyntaxErrors found in analysis. */
    int line, col, end_col;
} AsySymbol;

typedef struct Scope AsyScope;
struct Scope {
    AsyScopeKind kind;
    AstNode *node;
    AsyScope *parent;
    AsyScope **children;     /* nested blocks, in source order                          */
    int nchildren, childcap;
    const char *name;        /* "f", "<lambda>", "<listcomp>", "C", "<module>"           */
    const char *qualname;    /* CPython's __qualname__                                  */

    AsySymbol **syms;        /* in order of first appearance                            */
    int nsyms, symcap;
    AsySymbol **table;       /* open addressing by name                                */
    int tablecap;

    /* The code object's layout (function-like scopes; class: cells and frees only). */
    const char **varnames;   /* parameters first, in CPython's order                   */
    int nlocals;
    int argcount, posonlycount, kwonlycount;
    bool has_varargs, has_varkw;
    const char **cellnames;
    int *cell2arg;           /* per cell: the parameter slot it starts from, or -1        */
    int ncells;
    const char **freenames;
    int nfree;

    bool is_generator;       /* contains yield / yield from                             */
    bool is_async;           /* async def, or an async comprehension                    */
    bool has_await;          /* await / async for / async with / awaited comprehension   */
    bool needs_class_cell;   /* class body whose methods use __class__ or super()       */
    bool has_annotations;    /* module/class body with an annotated simple name         */
};

/* Analyse a whole parse (the AST_MODULE root). mode: ASY_PARSE_MODULE and ASY_PARSE_SINGLE
 * allow top-level await (asy's extension). Returns true, or false with *err filled with a
 * SyntaxError (CPython's message and position). */
bool asy_scope_build(AstArena *arena, AstNode *module, AsyParseMode mode, AsyParseError *err);

/* The symbol of `name` in `scope`, or NULL when the block never mentions it. */
AsySymbol *asy_scope_lookup(AsyScope *scope, const char *name);

/* How `name` resolves in `scope`, including names the block never mentions (which are
 * implicit globals). */
AsySymKind asy_scope_kind(AsyScope *scope, const char *name);

/* The block whose qualname is `qualname`, searching `root` and its descendants (tests). */
AsyScope *asy_scope_find(AsyScope *root, const char *qualname);

/* The scope an AST node introduces (module, def, lambda, class, comprehension), or NULL. */
AsyScope *asy_scope_of(AstNode *node);

/* Private name mangling (`__x` inside class C becomes `_C__x`), as CPython. Returns name
 * itself when it is not mangled, else a string in the arena. */
const char *asy_scope_mangle(AstArena *arena, AsyScope *scope, const char *name);

#endif
