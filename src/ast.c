/* ast.c - the AST arena, node construction and the debug dump.
 *
 * Every node, list and string of one parse comes from one arena: a chain of malloc'd
 * blocks handed out by bumping a pointer. Freeing the arena frees the whole tree, which is
 * what lets the parser give up anywhere on bad input without leaking.
 *
 * Dump format (asy_ast_dump): one S-expression per node, `(Kind field...)`.
 *   Names       (Name x) ; a non-Load context is appended: (Name x Store), (Name x Del)
 *               the same for Attribute, Subscript, Tuple, List and Starred.
 *   Constants   (Const 1) (Const 1.5) (Const 2j) (Const 'text') (Const b'\x00')
 *               (Const None) (Const True) (Const ...) ; big ints: (BigInt 1234...)
 *   f-strings   (FString (Const 'a=') (Formatted (Name a) !r (FString (Const '>10'))))
 *   Operators   (BinOp + l r) (UnaryOp not x) (BoolOp and a b c)
 *               (Compare a < b not-in c is-not d)
 *   Calls       (Call f args... (Keyword name v) (Keyword ** v)); (Starred x) for *x
 *   Dict        (Dict k1 v1 ** m k2 v2) ; `**` stands for a NULL key
 *   Slice       (Slice lower upper step) with `_` for a missing part
 *   Parameters  (Args a b=(Const 1) / c * d e=(Const 2) **kw) - as written in Python
 *   Comprehension generators: (Comprehension target iter ifs...), `async` first if async
 *   Statements  hold their statement lists in labelled groups that are left out when
 *               empty (except body): (If test (body ...) (orelse ...)),
 *               (Try (body ...) (ExceptHandler type name (body ...)) (orelse ...)
 *               (finally ...)), (FunctionDef f (Args ...) (body ...) (decorators ...)
 *               (returns ...)), (ClassDef C (bases ...) (keywords ...) (body ...) ...)
 *               (Assign target... value), (AugAssign t += v), (AnnAssign t ann value|_),
 *               (ImportFrom ..mod (Alias a b)) - leading dots give the level.
 *   async forms are named AsyncFunctionDef, AsyncFor, AsyncWith.
 *
 * asy_ast_dump_positions is the same with each node's range appended to its kind:
 * (Name@1:0-1:1 x) - line:col-end_line:end_col, columns 0-based in code points.
 */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

typedef struct ArenaBlock {
    struct ArenaBlock *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} ArenaBlock;

struct AstArena {
    ArenaBlock *head;
};

#define ARENA_BLOCK 65536

AstArena *asy_ast_arena_new(void)
{
    return calloc(1, sizeof(AstArena));
}

void asy_ast_arena_free(AstArena *arena)
{
    if (!arena) return;
    ArenaBlock *b = arena->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    free(arena);
}

/* Out of memory is not something a parse can recover from: abort like malloc wrappers do. */
static void *checked(void *p)
{
    if (!p) {
        fputs("asy: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *asy_ast_alloc_uninit(AstArena *arena, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    ArenaBlock *b = arena->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > ARENA_BLOCK / 2 ? size : ARENA_BLOCK;
        ArenaBlock *nb = checked(malloc(sizeof(ArenaBlock) + cap));
        nb->used = 0;
        nb->cap = cap;
        /* A big one-off block goes behind the head so the head keeps its free space. */
        if (b && cap != ARENA_BLOCK) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            arena->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += size;
    return p;
}

void *asy_ast_alloc(AstArena *arena, size_t size)
{
    void *p = asy_ast_alloc_uninit(arena, size);
    memset(p, 0, size);
    return p;
}

char *asy_ast_strdup(AstArena *arena, const char *s, size_t len)
{
    char *d = asy_ast_alloc(arena, len + 1);
    if (len) memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

AstNode *asy_ast_node(AstArena *arena, AstKind kind, int line, int col)
{
    AstNode *n = asy_ast_alloc(arena, sizeof(AstNode));
    n->kind = kind;
    n->line = n->end_line = line;
    n->col = n->end_col = col;
    return n;
}

void asy_ast_list_push(AstArena *arena, AstList *list, AstNode *node)
{
    if (list->n == list->cap) {
        int cap = list->cap ? list->cap * 2 : 4;
        AstNode **items = asy_ast_alloc(arena, sizeof(AstNode *) * (size_t)cap);
        if (list->n) memcpy(items, list->items, sizeof(AstNode *) * (size_t)list->n);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->n++] = node;
}

/* ---- dump ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool positions;     /* asy_ast_dump_positions: tag each node with its range */
} Buf;

static void put(Buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        b->buf = checked(realloc(b->buf, cap));
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void puts_(Buf *b, const char *s) { put(b, s, strlen(s)); }

static void putf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void putf(Buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static const char *const kind_names[AST_KIND_COUNT] = {
    "Name", "Const", "FString", "Formatted", "Tuple", "List", "Set", "Dict", "Attribute",
    "Subscript", "Slice", "Call", "Keyword", "BinOp", "UnaryOp", "BoolOp", "Compare",
    "IfExp", "Lambda", "ListComp", "SetComp", "GenExp", "DictComp", "Comprehension",
    "Await", "Yield", "YieldFrom", "Starred", "NamedExpr",
    "Expr", "Assign", "AugAssign", "AnnAssign", "If", "While", "For", "Break", "Continue",
    "Pass", "Return", "FunctionDef", "ClassDef", "Try", "ExceptHandler", "Raise", "Assert",
    "Delete", "With", "WithItem", "Import", "ImportFrom", "Alias", "Global", "Nonlocal",
    "Module",
};

const char *asy_ast_kind_name(AstKind kind)
{
    return (unsigned)kind < AST_KIND_COUNT ? kind_names[kind] : "?";
}

static const char *const binop_names[AST_BINOP_COUNT] = {
    "+", "-", "*", "@", "/", "//", "%", "**", "<<", ">>", "|", "^", "&",
};
static const char *const unary_names[] = {"not", "-", "+", "~"};
static const char *const cmp_names[] = {
    "==", "!=", "<", "<=", ">", ">=", "is", "is-not", "in", "not-in",
};

static void dump(Buf *b, const AstNode *n);

/* A string or bytes constant, quoted like Python's repr (always single quotes). */
static void dump_str(Buf *b, const char *s, size_t len, bool bytes)
{
    if (bytes) puts_(b, "b");
    puts_(b, "'");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\') putf(b, "\\%c", c);
        else if (c == '\n') puts_(b, "\\n");
        else if (c == '\t') puts_(b, "\\t");
        else if (c == '\r') puts_(b, "\\r");
        else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) putf(b, "\\x%02x", c);
        else put(b, (const char *)&s[i], 1);
    }
    puts_(b, "'");
}

/* A double the way Python's repr writes it: the shortest digits that read back as the
 * same value, fixed notation for exponents -4..15 and "e+XX" otherwise; floats always
 * show a '.', imaginary parts (suffix "j") do not. */
static void dump_double(Buf *b, double d, const char *suffix)
{
    char tmp[64];
    if (d != d || d - d != 0) {
        puts_(b, d != d ? "nan" : d < 0 ? "-inf" : "inf");
        puts_(b, suffix);
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
    char *e = strchr(tmp, 'e');
    int exp = atoi(e + 1);
    if (exp >= -4 && exp < 16) {
        int decimals = prec - 1 - exp > 0 ? prec - 1 - exp : 0;
        snprintf(tmp, sizeof tmp, "%.*f", decimals, d);
        if (!suffix[0] && !strchr(tmp, '.')) strcat(tmp, ".0");
    } else {
        /* "d.ddde-05" -> Python's "d.ddde-05"; printf already gives two exponent digits */
        char mant[32];
        snprintf(mant, sizeof mant, "%.*s", (int)(e - tmp), tmp);
        snprintf(tmp, sizeof tmp, "%se%c%02d", mant, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    puts_(b, tmp);
    puts_(b, suffix);
}

static void dump_const(Buf *b, const AstNode *n)
{
    switch (n->u.c.kind) {
    case AST_CONST_NONE: puts_(b, "(Const None)"); return;
    case AST_CONST_TRUE: puts_(b, "(Const True)"); return;
    case AST_CONST_FALSE: puts_(b, "(Const False)"); return;
    case AST_CONST_ELLIPSIS: puts_(b, "(Const ...)"); return;
    case AST_CONST_INT: putf(b, "(Const %lld)", (long long)n->u.c.i); return;
    case AST_CONST_BIGINT:
        puts_(b, "(BigInt ");
        put(b, n->u.c.str, n->u.c.len);
        puts_(b, ")");
        return;
    case AST_CONST_FLOAT: puts_(b, "(Const "); dump_double(b, n->u.c.f, ""); break;
    case AST_CONST_IMAG: puts_(b, "(Const "); dump_double(b, n->u.c.f, "j"); break;
    case AST_CONST_STR:
    case AST_CONST_BYTES:
        puts_(b, "(Const ");
        dump_str(b, n->u.c.str, n->u.c.len, n->u.c.kind == AST_CONST_BYTES);
        break;
    }
    puts_(b, ")");
}

static void dump_opt(Buf *b, const AstNode *n)
{
    if (n) dump(b, n);
    else puts_(b, "_");
}

static void dump_list(Buf *b, const AstList *l)
{
    for (int i = 0; i < l->n; i++) {
        puts_(b, " ");
        dump_opt(b, l->items[i]);
    }
}

/* A labelled statement list: " (label items...)", left out when empty unless forced. */
static void dump_group(Buf *b, const char *label, const AstList *l, bool force)
{
    if (!l->n && !force) return;
    putf(b, " (%s", label);
    dump_list(b, l);
    puts_(b, ")");
}

static void dump_ctx(Buf *b, AstCtx ctx)
{
    if (ctx == AST_STORE) puts_(b, " Store");
    else if (ctx == AST_DEL) puts_(b, " Del");
}

static void dump_param(Buf *b, const char *name, const AstNode *dflt)
{
    putf(b, " %s", name);
    if (dflt) {
        puts_(b, "=");
        dump(b, dflt);
    }
}

static void dump_args(Buf *b, const AstArgs *a)
{
    puts_(b, "(Args");
    int npos = a->n_posonly + a->n_args;
    int first_default = npos - a->defaults.n;
    for (int i = 0; i < npos; i++) {
        const char *name = i < a->n_posonly ? a->posonly[i] : a->args[i - a->n_posonly];
        dump_param(b, name, i >= first_default ? a->defaults.items[i - first_default] : NULL);
        if (i == a->n_posonly - 1) puts_(b, " /");
    }
    if (a->vararg) putf(b, " *%s", a->vararg);
    else if (a->n_kwonly) puts_(b, " *");
    for (int i = 0; i < a->n_kwonly; i++)
        dump_param(b, a->kwonly[i], i < a->kw_defaults.n ? a->kw_defaults.items[i] : NULL);
    if (a->kwarg) putf(b, " **%s", a->kwarg);
    puts_(b, ")");
}

static void dump_names(Buf *b, const char *kind, const AstNode *n)
{
    putf(b, "(%s", kind);
    for (int i = 0; i < n->u.names.n; i++) putf(b, " %s", n->u.names.names[i]);
    puts_(b, ")");
}

static void dump_expr(Buf *b, const AstNode *n);
static void dump_stmt(Buf *b, const AstNode *n);

/* Insert "@line:col-end_line:end_col" after the kind name the node's dump starts with. */
static void tag_position(Buf *b, size_t start, const AstNode *n)
{
    size_t at = start + 1;
    while (at < b->len && b->buf[at] != ' ' && b->buf[at] != ')') at++;
    char tag[64];
    int len = snprintf(tag, sizeof tag, "@%d:%d-%d:%d", n->line, n->col, n->end_line, n->end_col);
    put(b, tag, (size_t)len); /* grow; then move into place */
    memmove(b->buf + at + (size_t)len, b->buf + at, b->len - (size_t)len - at);
    memcpy(b->buf + at, tag, (size_t)len);
}

static void dump(Buf *b, const AstNode *n)
{
    size_t start = b->len;
    if (n->kind >= AST_EXPR_STMT) dump_stmt(b, n);
    else dump_expr(b, n);
    if (b->positions) tag_position(b, start, n);
}

static void dump_comp(Buf *b, const AstNode *n)
{
    putf(b, "(%s", kind_names[n->kind]);
    if (n->u.comp.key) {
        puts_(b, " ");
        dump(b, n->u.comp.key);
    }
    puts_(b, " ");
    dump(b, n->u.comp.elt);
    dump_list(b, &n->u.comp.generators);
    puts_(b, ")");
}

static void dump_expr(Buf *b, const AstNode *n)
{
    const char *k = kind_names[n->kind];
    switch (n->kind) {
    case AST_NAME:
        putf(b, "(Name %s", n->u.name.id);
        dump_ctx(b, n->u.name.ctx);
        break;
    case AST_CONST: dump_const(b, n); return;
    case AST_FSTRING: puts_(b, "(FString"); dump_list(b, &n->u.fstring.parts); break;
    case AST_FORMATTED:
        puts_(b, "(Formatted ");
        dump(b, n->u.formatted.value);
        if (n->u.formatted.conversion) putf(b, " !%c", n->u.formatted.conversion);
        if (n->u.formatted.spec) {
            puts_(b, " ");
            dump(b, n->u.formatted.spec);
        }
        break;
    case AST_TUPLE: case AST_LIST: case AST_SET:
        putf(b, "(%s", k);
        dump_list(b, &n->u.seq.elts);
        if (n->kind != AST_SET) dump_ctx(b, n->u.seq.ctx);
        break;
    case AST_DICT:
        puts_(b, "(Dict");
        for (int i = 0; i < n->u.dict.keys.n; i++) {
            puts_(b, " ");
            if (n->u.dict.keys.items[i]) dump(b, n->u.dict.keys.items[i]);
            else puts_(b, "**");
            puts_(b, " ");
            dump(b, n->u.dict.values.items[i]);
        }
        break;
    case AST_ATTRIBUTE:
        puts_(b, "(Attribute ");
        dump(b, n->u.attr.value);
        putf(b, " %s", n->u.attr.name);
        dump_ctx(b, n->u.attr.ctx);
        break;
    case AST_SUBSCRIPT:
        puts_(b, "(Subscript ");
        dump(b, n->u.subscript.value);
        puts_(b, " ");
        dump(b, n->u.subscript.index);
        dump_ctx(b, n->u.subscript.ctx);
        break;
    case AST_SLICE:
        puts_(b, "(Slice ");
        dump_opt(b, n->u.slice.lower);
        puts_(b, " ");
        dump_opt(b, n->u.slice.upper);
        puts_(b, " ");
        dump_opt(b, n->u.slice.step);
        break;
    case AST_CALL:
        puts_(b, "(Call ");
        dump(b, n->u.call.func);
        dump_list(b, &n->u.call.args);
        dump_list(b, &n->u.call.keywords);
        break;
    case AST_KEYWORD:
        putf(b, "(Keyword %s ", n->u.keyword.name ? n->u.keyword.name : "**");
        dump(b, n->u.keyword.value);
        break;
    case AST_BINOP:
        putf(b, "(BinOp %s ", binop_names[n->u.binop.op]);
        dump(b, n->u.binop.left);
        puts_(b, " ");
        dump(b, n->u.binop.right);
        break;
    case AST_UNARYOP:
        putf(b, "(UnaryOp %s ", unary_names[n->u.unary.op]);
        dump(b, n->u.unary.operand);
        break;
    case AST_BOOLOP:
        putf(b, "(BoolOp %s", n->u.boolop.op == AST_AND ? "and" : "or");
        dump_list(b, &n->u.boolop.values);
        break;
    case AST_COMPARE:
        puts_(b, "(Compare ");
        dump(b, n->u.compare.left);
        for (int i = 0; i < n->u.compare.comparators.n; i++) {
            putf(b, " %s ", cmp_names[n->u.compare.ops[i]]);
            dump(b, n->u.compare.comparators.items[i]);
        }
        break;
    case AST_IFEXP:
        puts_(b, "(IfExp ");
        dump(b, n->u.ifexp.test);
        puts_(b, " ");
        dump(b, n->u.ifexp.body);
        puts_(b, " ");
        dump(b, n->u.ifexp.orelse);
        break;
    case AST_LAMBDA:
        puts_(b, "(Lambda ");
        dump_args(b, n->u.lambda.args);
        puts_(b, " ");
        dump(b, n->u.lambda.body);
        break;
    case AST_LISTCOMP: case AST_SETCOMP: case AST_GENEXP: case AST_DICTCOMP:
        dump_comp(b, n);
        return;
    case AST_COMPREHENSION:
        puts_(b, n->u.comprehension.is_async ? "(Comprehension async " : "(Comprehension ");
        dump(b, n->u.comprehension.target);
        puts_(b, " ");
        dump(b, n->u.comprehension.iter);
        dump_list(b, &n->u.comprehension.ifs);
        break;
    case AST_AWAIT: case AST_YIELD: case AST_YIELD_FROM: case AST_STARRED:
        putf(b, "(%s", k);
        if (n->u.starred.value) {
            puts_(b, " ");
            dump(b, n->u.starred.value);
        }
        break;
    case AST_NAMEDEXPR:
        puts_(b, "(NamedExpr ");
        dump(b, n->u.named.target);
        puts_(b, " ");
        dump(b, n->u.named.value);
        break;
    default:
        putf(b, "(?%d", (int)n->kind);
        break;
    }
    puts_(b, ")");
}

static void dump_stmt2(Buf *b, const AstNode *n);

static void dump_stmt(Buf *b, const AstNode *n)
{
    switch (n->kind) {
    case AST_EXPR_STMT: puts_(b, "(Expr "); dump(b, n->u.expr_stmt.value); break;
    case AST_ASSIGN:
        puts_(b, "(Assign");
        dump_list(b, &n->u.assign.targets);
        puts_(b, " ");
        dump(b, n->u.assign.value);
        break;
    case AST_AUGASSIGN:
        puts_(b, "(AugAssign ");
        dump(b, n->u.augassign.target);
        putf(b, " %s= ", binop_names[n->u.augassign.op]);
        dump(b, n->u.augassign.value);
        break;
    case AST_ANNASSIGN:
        puts_(b, n->u.annassign.simple ? "(AnnAssign " : "(AnnAssign nonsimple ");
        dump(b, n->u.annassign.target);
        puts_(b, " ");
        dump(b, n->u.annassign.annotation);
        puts_(b, " ");
        dump_opt(b, n->u.annassign.value);
        break;
    case AST_IF: case AST_WHILE:
        putf(b, "(%s ", kind_names[n->kind]);
        dump(b, n->u.if_.test);
        dump_group(b, "body", &n->u.if_.body, true);
        dump_group(b, "orelse", &n->u.if_.orelse, false);
        break;
    case AST_FOR:
        puts_(b, n->u.for_.is_async ? "(AsyncFor " : "(For ");
        dump(b, n->u.for_.target);
        puts_(b, " ");
        dump(b, n->u.for_.iter);
        dump_group(b, "body", &n->u.for_.body, true);
        dump_group(b, "orelse", &n->u.for_.orelse, false);
        break;
    case AST_BREAK: case AST_CONTINUE: case AST_PASS:
        putf(b, "(%s", kind_names[n->kind]);
        break;
    case AST_RETURN:
        puts_(b, "(Return");
        if (n->u.ret.value) {
            puts_(b, " ");
            dump(b, n->u.ret.value);
        }
        break;
    default:
        dump_stmt2(b, n);
        return;
    }
    puts_(b, ")");
}

static void dump_funcdef(Buf *b, const AstNode *n)
{
    putf(b, "(%s %s ", n->u.funcdef.is_async ? "AsyncFunctionDef" : "FunctionDef",
         n->u.funcdef.name);
    dump_args(b, n->u.funcdef.args);
    dump_group(b, "body", &n->u.funcdef.body, true);
    dump_group(b, "decorators", &n->u.funcdef.decorators, false);
    if (n->u.funcdef.returns) {
        puts_(b, " (returns ");
        dump(b, n->u.funcdef.returns);
        puts_(b, ")");
    }
}

static void dump_stmt2(Buf *b, const AstNode *n)
{
    switch (n->kind) {
    case AST_FUNCTIONDEF: dump_funcdef(b, n); break;
    case AST_CLASSDEF:
        putf(b, "(ClassDef %s", n->u.classdef.name);
        dump_group(b, "bases", &n->u.classdef.bases, false);
        dump_group(b, "keywords", &n->u.classdef.keywords, false);
        dump_group(b, "body", &n->u.classdef.body, true);
        dump_group(b, "decorators", &n->u.classdef.decorators, false);
        break;
    case AST_TRY:
        puts_(b, n->u.try_.star ? "(TryStar" : "(Try");
        dump_group(b, "body", &n->u.try_.body, true);
        dump_list(b, &n->u.try_.handlers);
        dump_group(b, "orelse", &n->u.try_.orelse, false);
        dump_group(b, "finally", &n->u.try_.finalbody, false);
        break;
    case AST_EXCEPT_HANDLER:
        puts_(b, "(ExceptHandler");
        if (n->u.handler.type) {
            puts_(b, " ");
            dump(b, n->u.handler.type);
        }
        if (n->u.handler.name) putf(b, " %s", n->u.handler.name);
        dump_group(b, "body", &n->u.handler.body, true);
        break;
    case AST_RAISE:
        puts_(b, "(Raise");
        if (n->u.raise.exc) {
            puts_(b, " ");
            dump(b, n->u.raise.exc);
        }
        if (n->u.raise.cause) {
            puts_(b, " ");
            dump(b, n->u.raise.cause);
        }
        break;
    case AST_ASSERT:
        puts_(b, "(Assert ");
        dump(b, n->u.assert_.test);
        if (n->u.assert_.msg) {
            puts_(b, " ");
            dump(b, n->u.assert_.msg);
        }
        break;
    case AST_DELETE: puts_(b, "(Delete"); dump_list(b, &n->u.del.targets); break;
    case AST_WITH:
        puts_(b, n->u.with.is_async ? "(AsyncWith" : "(With");
        dump_list(b, &n->u.with.items);
        dump_group(b, "body", &n->u.with.body, true);
        break;
    case AST_WITHITEM:
        puts_(b, "(WithItem ");
        dump(b, n->u.withitem.context_expr);
        if (n->u.withitem.optional_vars) {
            puts_(b, " ");
            dump(b, n->u.withitem.optional_vars);
        }
        break;
    case AST_IMPORT: puts_(b, "(Import"); dump_list(b, &n->u.import.names); break;
    case AST_IMPORTFROM:
        puts_(b, "(ImportFrom ");
        for (int i = 0; i < n->u.import.level; i++) puts_(b, ".");
        if (n->u.import.module) puts_(b, n->u.import.module);
        dump_list(b, &n->u.import.names);
        break;
    case AST_ALIAS:
        putf(b, "(Alias %s", n->u.alias.name);
        if (n->u.alias.asname) putf(b, " %s", n->u.alias.asname);
        break;
    case AST_GLOBAL: dump_names(b, "Global", n); return;
    case AST_NONLOCAL: dump_names(b, "Nonlocal", n); return;
    case AST_MODULE: puts_(b, "(Module"); dump_list(b, &n->u.module.body); break;
    default: putf(b, "(?%d", (int)n->kind); break;
    }
    puts_(b, ")");
}

char *asy_ast_dump(const AstNode *node)
{
    Buf b = {0};
    if (node) dump(&b, node);
    else puts_(&b, "_");
    return b.buf;
}

char *asy_ast_dump_positions(const AstNode *node)
{
    Buf b = {.positions = true};
    if (node) dump(&b, node);
    else puts_(&b, "_");
    return b.buf;
}
