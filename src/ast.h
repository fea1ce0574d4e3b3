/* ast.h - the abstract syntax tree: the contract between the parser and the compiler.
 *
 * The parser builds it (parser.c), the scope pass annotates it (scope.c), the compiler
 * reads it (compiler.c). It knows nothing of the object model: literals are raw data
 * (decoded string bytes, an int64 or the decimal digits of a big int, a double), and the
 * compiler turns them into values. Every node carries its source range; all nodes of one
 * parse live in one arena and die together (asy_ast_free).
 *
 * Invariant: a node's fields are those of its kind's union member only; lists never
 * contain NULL except where a comment says so (dict display keys for `**m`, slice parts).
 */
#ifndef ASY_AST_H
#define ASY_AST_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef struct AstNode AstNode;
typedef struct AstArena AstArena;

/* A growable array of nodes, allocated in the arena. */
typedef struct {
    int n, cap;
    AstNode **items;
} AstList;

typedef enum {
    /* ---- expressions ---- */
    AST_NAME,       /* name.id                                                    */
    AST_CONST,      /* constant: see AstConstKind                                 */
    AST_FSTRING,    /* fstring.parts: AST_CONST (str) and AST_FORMATTED pieces     */
    AST_FORMATTED,  /* formatted: value, conversion ('r','s','a' or 0), spec (an   */
                    /*   AST_FSTRING or NULL); f"{x=}" is lowered by the parser to  */
                    /*   the text "x=" followed by a formatted value with 'r'       */
    AST_TUPLE,      /* seq.elts (may contain AST_STARRED)                         */
    AST_LIST,       /* seq.elts                                                   */
    AST_SET,        /* seq.elts                                                   */
    AST_DICT,       /* dict.keys/values; a NULL key means `**values[i]`           */
    AST_ATTRIBUTE,  /* attr.value . attr.name                                     */
    AST_SUBSCRIPT,  /* subscript.value [ subscript.index ]                        */
    AST_SLICE,      /* slice.lower : slice.upper : slice.step (each may be NULL)   */
    AST_CALL,       /* call.func ( call.args (may hold AST_STARRED), call.keywords) */
    AST_KEYWORD,    /* keyword.name = keyword.value; name NULL means `**value`    */
    AST_BINOP,      /* binop.left op binop.right                                  */
    AST_UNARYOP,    /* unary.op unary.operand                                     */
    AST_BOOLOP,     /* boolop.op (AND/OR) over boolop.values (n >= 2)             */
    AST_COMPARE,    /* compare.left, compare.ops[i] compare.comparators[i]         */
    AST_IFEXP,      /* ifexp.body if ifexp.test else ifexp.orelse                 */
    AST_LAMBDA,     /* lambda.args, lambda.body (an expression)                   */
    AST_LISTCOMP,   /* comp.elt, comp.generators                                  */
    AST_SETCOMP,    /* comp.elt, comp.generators                                  */
    AST_GENEXP,     /* comp.elt, comp.generators                                  */
    AST_DICTCOMP,   /* comp.key : comp.elt, comp.generators                       */
    AST_COMPREHENSION, /* one `for target in iter if cond...`: comprehension.*    */
    AST_AWAIT,      /* await.value                                                */
    AST_YIELD,      /* yield.value (may be NULL)                                  */
    AST_YIELD_FROM, /* yield.value                                                */
    AST_STARRED,    /* starred.value (`*x` in a call, display or target)          */
    AST_NAMEDEXPR,  /* named.target (AST_NAME) := named.value                     */

    /* ---- statements ---- */
    AST_EXPR_STMT,  /* expr_stmt.value                                            */
    AST_ASSIGN,     /* assign.targets (n >= 1, chained a = b = v), assign.value    */
    AST_AUGASSIGN,  /* augassign.target op= augassign.value                       */
    AST_ANNASSIGN,  /* annassign.target : annotation [= value (may be NULL)]       */
    AST_IF,         /* if_.test, if_.body, if_.orelse (elif = one AST_IF in orelse) */
    AST_WHILE,      /* while_.test, body, orelse                                  */
    AST_FOR,        /* for_.target, iter, body, orelse, is_async                  */
    AST_BREAK,
    AST_CONTINUE,
    AST_PASS,
    AST_RETURN,     /* ret.value (may be NULL)                                    */
    AST_FUNCTIONDEF,/* funcdef.*                                                  */
    AST_CLASSDEF,   /* classdef.*                                                 */
    AST_TRY,        /* try_.body, handlers (AST_EXCEPT_HANDLER), orelse, finalbody;
                     * try_.star: the handlers are except* clauses               */
    AST_EXCEPT_HANDLER, /* handler.type (NULL = bare except), handler.name, body   */
    AST_RAISE,      /* raise.exc (NULL = bare raise), raise.cause (may be NULL)    */
    AST_ASSERT,     /* assert_.test, assert_.msg (may be NULL)                    */
    AST_DELETE,     /* del.targets                                                */
    AST_WITH,       /* with.items (AST_WITHITEM), body, is_async                  */
    AST_WITHITEM,   /* withitem.context_expr, withitem.optional_vars (or NULL)    */
    AST_IMPORT,     /* import.names (AST_ALIAS)                                   */
    AST_IMPORTFROM, /* import.module, import.names (AST_ALIAS; name "*" = star)   */
    AST_ALIAS,      /* alias.name (dotted "os.path"), alias.asname (or NULL)       */
    AST_GLOBAL,     /* names.names (array of identifiers), names.n                */
    AST_NONLOCAL,   /* names.names, names.n                                       */
    AST_MODULE,     /* module.body: the root of a parse                           */
    AST_KIND_COUNT
} AstKind;

typedef enum {
    AST_CONST_NONE,
    AST_CONST_TRUE,
    AST_CONST_FALSE,
    AST_CONST_ELLIPSIS,
    AST_CONST_INT,      /* value fits int64: c.i                                   */
    AST_CONST_BIGINT,   /* c.str holds decimal digits (no sign, no '_'), c.len     */
    AST_CONST_FLOAT,    /* c.f                                                     */
    AST_CONST_IMAG,     /* c.f (complex literals: the compiler may reject them)    */
    AST_CONST_STR,      /* c.str: decoded UTF-8 bytes, c.len bytes (may hold NUL)  */
    AST_CONST_BYTES,    /* c.str: decoded bytes, c.len                             */
} AstConstKind;

/* Operators. Binary and augmented assignment share AstBinOp. */
typedef enum {
    AST_ADD, AST_SUB, AST_MUL, AST_MATMUL, AST_DIV, AST_FLOORDIV, AST_MOD, AST_POW,
    AST_LSHIFT, AST_RSHIFT, AST_BITOR, AST_BITXOR, AST_BITAND,
    AST_BINOP_COUNT
} AstBinOp;

typedef enum { AST_NOT, AST_NEG, AST_POS, AST_INVERT } AstUnaryOp;
typedef enum { AST_AND, AST_OR } AstBoolOp;
typedef enum {
    AST_EQ, AST_NE, AST_LT, AST_LE, AST_GT, AST_GE,
    AST_IS, AST_IS_NOT, AST_IN, AST_NOT_IN
} AstCmpOp;

/* Expression context, set by the parser on names, attributes, subscripts, tuples, lists
 * and starred nodes so the compiler knows whether it loads, stores or deletes. */
typedef enum { AST_LOAD, AST_STORE, AST_DEL } AstCtx;

/* The parameters of a def or lambda. Defaults align with the *last* n positional
 * parameters (posonly then args); kw_defaults[i] belongs to kwonly[i] and may be NULL. */
typedef struct {
    const char **posonly; int n_posonly;   /* before `/`                         */
    const char **args;    int n_args;      /* ordinary positional-or-keyword      */
    const char *vararg;                    /* `*name` or NULL                     */
    const char **kwonly;  int n_kwonly;    /* after `*` or `*args`                */
    const char *kwarg;                     /* `**name` or NULL                    */
    AstList defaults;                      /* for positional parameters           */
    AstList kw_defaults;                   /* n == n_kwonly; NULL entries allowed  */
    /* Source positions of each parameter name, for error messages: same order as
     * posonly, args, vararg, kwonly, kwarg concatenated. May be NULL. */
    int *param_lines;
} AstArgs;

struct Scope; /* scope.h: filled in by the scope pass */

struct AstNode {
    AstKind kind;
    int line, col;          /* 1-based line, 0-based column (in code points) of the start */
    int end_line, end_col;  /* end, exclusive                                    */
    union {
        struct { const char *id; AstCtx ctx; } name;
        struct {
            AstConstKind kind;
            int64_t i;
            double f;
            const char *str; size_t len;
        } c;
        struct { AstList parts; } fstring;
        struct { AstNode *value; int conversion; AstNode *spec; } formatted;
        struct { AstList elts; AstCtx ctx; } seq;
        struct { AstList keys, values; } dict;
        struct { AstNode *value; const char *name; AstCtx ctx; } attr;
        struct { AstNode *value, *index; AstCtx ctx; } subscript;
        struct { AstNode *lower, *upper, *step; } slice;
        struct { AstNode *func; AstList args, keywords; } call;
        struct { const char *name; AstNode *value; } keyword;
        struct { AstBinOp op; AstNode *left, *right; } binop;
        struct { AstUnaryOp op; AstNode *operand; } unary;
        struct { AstBoolOp op; AstList values; } boolop;
        struct { AstNode *left; AstCmpOp *ops; AstList comparators; } compare;
        struct { AstNode *test, *body, *orelse; } ifexp;
        struct { AstArgs *args; AstNode *body; struct Scope *scope; } lambda;
        /* For list/set/genexp comps: key is NULL. For dictcomps key and elt both set. */
        struct { AstNode *key, *elt; AstList generators; struct Scope *scope; } comp;
        struct { AstNode *target, *iter; AstList ifs; bool is_async; } comprehension;
        struct { AstNode *value; } await, yield, starred;
        struct { AstNode *target, *value; } named;

        struct { AstNode *value; } expr_stmt;
        struct { AstList targets; AstNode *value; } assign;
        struct { AstNode *target; AstBinOp op; AstNode *value; } augassign;
        struct { AstNode *target, *annotation, *value; bool simple; } annassign;
        struct { AstNode *test; AstList body, orelse; } if_, while_;
        struct { AstNode *target, *iter; AstList body, orelse; bool is_async; } for_;
        struct { AstNode *value; } ret;
        struct {
            const char *name; AstArgs *args; AstList body; AstList decorators;
            AstNode *returns; bool is_async; struct Scope *scope;
        } funcdef;
        struct {
            const char *name; AstList bases; AstList keywords; AstList body;
            AstList decorators; struct Scope *scope;
        } classdef;
        struct { AstList body, handlers, orelse, finalbody; bool star; } try_;
        struct { AstNode *type; const char *name; AstList body; } handler;
        struct { AstNode *exc, *cause; } raise;
        struct { AstNode *test, *msg; } assert_;
        struct { AstList targets; } del;
        struct { AstList items, body; bool is_async; } with;
        struct { AstNode *context_expr, *optional_vars; } withitem;
        struct { const char *module; int level; AstList names; } import;
        struct { const char *name, *asname; } alias;
        struct { const char **names; int n; } names;
        struct { AstList body; struct Scope *scope; } module;
    } u;
};

/* ---- arena and construction (ast.c) ---- */
AstArena *asy_ast_arena_new(void);
void asy_ast_arena_free(AstArena *arena);
void *asy_ast_alloc(AstArena *arena, size_t size);           /* zeroed memory       */
void *asy_ast_alloc_uninit(AstArena *arena, size_t size);    /* for arrays filled at once */
char *asy_ast_strdup(AstArena *arena, const char *s, size_t len); /* NUL-terminated */
AstNode *asy_ast_node(AstArena *arena, AstKind kind, int line, int col);
void asy_ast_list_push(AstArena *arena, AstList *list, AstNode *node);

/* Debug dump in a compact S-expression form, used by the parser's unit tests and
 * `asy --dump-ast`. Writes to a malloc'd string the caller frees. */
char *asy_ast_dump(const AstNode *node);
/* The same with every node's source range: (Name@1:0-1:1 x). Added for the parser tests. */
char *asy_ast_dump_positions(const AstNode *node);
const char *asy_ast_kind_name(AstKind kind);

#endif
