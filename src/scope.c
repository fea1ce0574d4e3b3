/* scope.c - the scope pass: which names of each block are local, cell, free or global.
 *
 * Three steps, as CPython's symtable.c:
 *  1. walk the AST once, creating an AsyScope per block and recording how each block uses
 *     each name (ASY_DEF_* flags), checking the rules that depend on statement order
 *     (global after use, walrus in comprehensions, yield outside a function);
 *  2. resolve every name of every block (resolve_scope): a block's own flags decide local or
 *     global; otherwise an enclosing function binding it makes it free, and every block in
 *     between carries it as a free variable too, while the binder turns it into a cell;
 *  3. lay out the slots of each block (layout_scope).
 * Step 2 only reads step-1 flags of enclosing blocks, so blocks can be resolved in any order.
 */
#include "scope.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    AstArena *arena;
    AsyParseError *err;
    AsyParseMode mode;
    AsyScope *cur;
    AsyScope **all;          /* every scope, parents before children */
    int nall, capall;
    int depth;               /* nesting of the walk, bounded like CPython's             */
    bool failed;
} Builder;

/* CPython 3.11 refuses ASTs nested deeper than about 3000 levels ("maximum recursion depth
 * exceeded during compilation"); asy does the same, which also keeps the C stack of this
 * recursive walk (and of the compiler's) small. */
#define MAX_NESTING 2994

/* ---- errors ---- */

static void fail_at(Builder *b, int line, int col, int end_col, const char *fmt, const char *name)
{
    if (b->failed) return;
    b->failed = true;
    b->err->type = "SyntaxError";
    snprintf(b->err->msg, sizeof b->err->msg, fmt, name ? name : "");
    b->err->line = line;
    b->err->col = col + 1;
    b->err->end_col = end_col > col ? end_col + 1 : 0;
    b->err->incomplete = false;
}

static void fail_node(Builder *b, const AstNode *n, const char *fmt, const char *name)
{
    int end = n->end_line == n->line ? n->end_col : n->col;
    fail_at(b, n->line, n->col, end, fmt, name);
}

/* ---- symbol tables ---- */

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Grow a pointer array living in the arena (old storage is simply abandoned). */
static void *grow(AstArena *arena, void *items, int n, int *cap, size_t elsize)
{
    if (n < *cap) return items;
    int ncap = *cap ? *cap * 2 : 8;
    void *p = asy_ast_alloc(arena, (size_t)ncap * elsize);
    if (n) memcpy(p, items, (size_t)n * elsize);
    *cap = ncap;
    return p;
}

AsySymbol *asy_scope_lookup(AsyScope *scope, const char *name)
{
    if (!scope->tablecap) return NULL;
    uint32_t mask = (uint32_t)scope->tablecap - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        AsySymbol *s = scope->table[i];
        if (!s) return NULL;
        if (strcmp(s->name, name) == 0) return s;
    }
}

static void table_insert(AsyScope *scope, AsySymbol *sym)
{
    uint32_t mask = (uint32_t)scope->tablecap - 1;
    uint32_t i = hash_name(sym->name) & mask;
    while (scope->table[i]) i = (i + 1) & mask;
    scope->table[i] = sym;
}

static AsySymbol *sym_get(Builder *b, AsyScope *scope, const char *name)
{
    AsySymbol *s = asy_scope_lookup(scope, name);
    if (s) return s;
    s = asy_ast_alloc(b->arena, sizeof *s);
    s->name = name;
    s->kind = ASY_SYM_GLOBAL_IMPLICIT;
    s->slot = s->deref = -1;
    scope->syms = grow(b->arena, scope->syms, scope->nsyms, &scope->symcap, sizeof(AsySymbol *));
    scope->syms[scope->nsyms++] = s;
    if ((scope->nsyms) * 2 > scope->tablecap) {  /* keep the table at most half full */
        int ncap = scope->tablecap ? scope->tablecap * 2 : 16;
        scope->table = asy_ast_alloc(b->arena, (size_t)ncap * sizeof(AsySymbol *));
        scope->tablecap = ncap;
        for (int i = 0; i < scope->nsyms; i++) table_insert(scope, scope->syms[i]);
    } else {
        table_insert(scope, s);
    }
    return s;
}

const char *asy_scope_mangle(AstArena *arena, AsyScope *scope, const char *name)
{
    if (name[0] != '_' || name[1] != '_') return name;
    size_t n = strlen(name);
    if ((n >= 4 && name[n - 1] == '_' && name[n - 2] == '_') || strchr(name, '.')) return name;
    const char *priv = NULL;
    for (AsyScope *s = scope; s; s = s->parent)
        if (s->kind == ASY_SCOPE_CLASS) {
            priv = s->name;
            break;
        }
    if (!priv) return name;
    while (*priv == '_') priv++;
    if (!*priv) return name;
    size_t pn = strlen(priv);
    char *out = asy_ast_alloc(arena, 1 + pn + n + 1);
    out[0] = '_';
    memcpy(out + 1, priv, pn);
    memcpy(out + 1 + pn, name, n + 1);
    return out;
}

static AsySymbol *add_def(Builder *b, const char *name, uint32_t flag)
{
    AsySymbol *s = sym_get(b, b->cur, asy_scope_mangle(b->arena, b->cur, name));
    s->flags |= flag;
    return s;
}

/* ---- scopes ---- */

static const char *arena_concat(AstArena *arena, const char *a, const char *sep, const char *c)
{
    size_t na = strlen(a), ns = strlen(sep), nc = strlen(c);
    char *out = asy_ast_alloc(arena, na + ns + nc + 1);
    memcpy(out, a, na);
    memcpy(out + na, sep, ns);
    memcpy(out + na + ns, c, nc + 1);
    return out;
}

/* CPython's compiler_set_qualname: `f.<locals>.g` inside functions, `C.m` inside classes,
 * and a plain name for a def declared global in its parent. */
static const char *make_qualname(Builder *b, AsyScope *parent, AsyScopeKind kind, const char *name)
{
    if (!parent || parent->kind == ASY_SCOPE_MODULE) return name;
    if (kind == ASY_SCOPE_FUNCTION || kind == ASY_SCOPE_CLASS) {
        AsySymbol *s = asy_scope_lookup(parent, asy_scope_mangle(b->arena, parent, name));
        if (s && (s->flags & ASY_DEF_GLOBAL)) return name;
    }
    if (parent->kind == ASY_SCOPE_FUNCTION || parent->kind == ASY_SCOPE_LAMBDA)
        return arena_concat(b->arena, parent->qualname, ".<locals>.", name);
    return arena_concat(b->arena, parent->qualname, ".", name);
}

static AsyScope *enter_scope(Builder *b, AsyScopeKind kind, AstNode *node, const char *name)
{
    AsyScope *s = asy_ast_alloc(b->arena, sizeof *s);
    s->kind = kind;
    s->node = node;
    s->parent = b->cur;
    s->name = name;
    s->qualname = make_qualname(b, b->cur, kind, name);
    b->all = grow(b->arena, b->all, b->nall, &b->capall, sizeof(AsyScope *));
    b->all[b->nall++] = s;
    if (b->cur) {
        AsyScope *p = b->cur;
        p->children = grow(b->arena, p->children, p->nchildren, &p->childcap, sizeof(AsyScope *));
        p->children[p->nchildren++] = s;
    }
    b->cur = s;
    return s;
}

static bool is_function_like(const AsyScope *s)
{
    return s->kind == ASY_SCOPE_FUNCTION || s->kind == ASY_SCOPE_LAMBDA ||
           s->kind == ASY_SCOPE_COMPREHENSION;
}

AsyScope *asy_scope_of(AstNode *node)
{
    switch (node->kind) {
    case AST_MODULE: return node->u.module.scope;
    case AST_FUNCTIONDEF: return node->u.funcdef.scope;
    case AST_LAMBDA: return node->u.lambda.scope;
    case AST_CLASSDEF: return node->u.classdef.scope;
    case AST_LISTCOMP:
    case AST_SETCOMP:
    case AST_GENEXP:
    case AST_DICTCOMP: return node->u.comp.scope;
    default: return NULL;
    }
}

/* ---- step 1: the walk ---- */

static void visit_expr(Builder *b, AstNode *n);
static void visit_stmts(Builder *b, AstList *l);

static void visit_exprs(Builder *b, AstList *l)
{
    for (int i = 0; i < l->n && !b->failed; i++)
        if (l->items[i]) visit_expr(b, l->items[i]);
}

static void visit_opt(Builder *b, AstNode *n)
{
    if (n) visit_expr(b, n);
}

static void add_param(Builder *b, const char *name, int line)
{
    AsySymbol *s = add_def(b, name, 0);
    if (s->flags & ASY_DEF_PARAM) {
        AstNode *n = b->cur->node;
        fail_at(b, line ? line : n->line, n->col, n->col,
                "duplicate argument '%s' in function definition", name);
        return;
    }
    s->flags |= ASY_DEF_PARAM;
}

/* Parameters in CPython's slot order: positional (posonly first), keyword-only, *args,
 * **kwargs. param_lines is in source order: posonly, args, vararg, kwonly, kwarg. */
static void visit_params(Builder *b, AstArgs *a)
{
    AsyScope *s = b->cur;
    const int *pl = a->param_lines;
    int k = 0;
#define LINE(i) (pl ? pl[i] : 0)
    for (int i = 0; i < a->n_posonly; i++) add_param(b, a->posonly[i], LINE(k + i));
    k += a->n_posonly;
    for (int i = 0; i < a->n_args; i++) add_param(b, a->args[i], LINE(k + i));
    k += a->n_args;
    int kv = k;
    if (a->vararg) k++;
    for (int i = 0; i < a->n_kwonly; i++) add_param(b, a->kwonly[i], LINE(k + i));
    k += a->n_kwonly;
    if (a->vararg) add_param(b, a->vararg, LINE(kv));
    if (a->kwarg) add_param(b, a->kwarg, LINE(k));
#undef LINE
    s->posonlycount = a->n_posonly;
    s->argcount = a->n_posonly + a->n_args;
    s->kwonlycount = a->n_kwonly;
    s->has_varargs = a->vararg != NULL;
    s->has_varkw = a->kwarg != NULL;
}

static void visit_defaults(Builder *b, AstArgs *a)
{
    visit_exprs(b, &a->defaults);
    visit_exprs(b, &a->kw_defaults);
}

static const char *comp_name(AstKind k)
{
    switch (k) {
    case AST_LISTCOMP: return "<listcomp>";
    case AST_SETCOMP: return "<setcomp>";
    case AST_DICTCOMP: return "<dictcomp>";
    default: return "<genexpr>";
    }
}

static const char *comp_desc(AstKind k)
{
    switch (k) {
    case AST_LISTCOMP: return "list comprehension";
    case AST_SETCOMP: return "set comprehension";
    case AST_DICTCOMP: return "dict comprehension";
    default: return "generator expression";
    }
}

/* Mark every name in an assignment target as bound (and comprehension iteration variables
 * as such, for the walrus rule). Attribute and subscript targets only read names. */
static void visit_target(Builder *b, AstNode *t, uint32_t extra)
{
    switch (t->kind) {
    case AST_NAME: add_def(b, t->u.name.id, ASY_DEF_LOCAL | extra); break;
    case AST_TUPLE:
    case AST_LIST:
        for (int i = 0; i < t->u.seq.elts.n && !b->failed; i++)
            visit_target(b, t->u.seq.elts.items[i], extra);
        break;
    case AST_STARRED: visit_target(b, t->u.starred.value, extra); break;
    default: visit_expr(b, t); break;
    }
}

static void visit_comprehension(Builder *b, AstNode *n)
{
    AstList *gens = &n->u.comp.generators;
    AstNode *first = gens->items[0];
    visit_expr(b, first->u.comprehension.iter); /* evaluated in the enclosing scope */
    if (b->failed) return;
    AsyScope *s = enter_scope(b, ASY_SCOPE_COMPREHENSION, n, comp_name(n->kind));
    n->u.comp.scope = s;
    add_param(b, ".0", n->line);
    s->argcount = 1;
    if (n->kind == AST_GENEXP) s->is_generator = true;
    for (int i = 0; i < gens->n && !b->failed; i++) {
        AstNode *g = gens->items[i];
        if (g->u.comprehension.is_async) s->is_async = s->has_await = true;
        visit_target(b, g->u.comprehension.target, ASY_DEF_COMP_ITER);
        if (i > 0) visit_expr(b, g->u.comprehension.iter);
        visit_exprs(b, &g->u.comprehension.ifs);
    }
    if (n->u.comp.key) visit_expr(b, n->u.comp.key);
    visit_expr(b, n->u.comp.elt);
    if (s->has_await) s->is_async = true;
    b->cur = s->parent;
    /* An async list/set/dict comprehension is awaited where it is built. */
    if (s->is_async && n->kind != AST_GENEXP) b->cur->has_await = true;
}

/* `target := value` inside comprehensions binds in the nearest enclosing function (or the
 * module), never in the comprehension itself (PEP 572). */
static void visit_walrus_target(Builder *b, AstNode *target)
{
    const char *name = target->u.name.id;
    AsyScope *s = b->cur;
    if (s->kind != ASY_SCOPE_COMPREHENSION) {
        add_def(b, name, ASY_DEF_LOCAL);
        return;
    }
    for (; s->kind == ASY_SCOPE_COMPREHENSION; s = s->parent) {
        AsySymbol *sym = asy_scope_lookup(s, name);
        if (sym && (sym->flags & ASY_DEF_COMP_ITER)) {
            fail_node(b, target,
                      "assignment expression cannot rebind comprehension iteration variable '%s'",
                      name);
            return;
        }
    }
    if (s->kind == ASY_SCOPE_CLASS) {
        fail_node(b, target,
                  "assignment expression within a comprehension cannot be used in a class body",
                  NULL);
        return;
    }
    AsySymbol *inner = sym_get(b, b->cur, name);
    inner->flags |= s->kind == ASY_SCOPE_MODULE ? ASY_DEF_GLOBAL : ASY_DEF_NONLOCAL;
    inner->line = target->line;
    inner->col = target->col;
    inner->end_col = target->end_col;
    sym_get(b, s, name)->flags |= ASY_DEF_LOCAL;
}

static void visit_yield(Builder *b, AstNode *n)
{
    AsyScope *s = b->cur;
    if (s->kind == ASY_SCOPE_MODULE || s->kind == ASY_SCOPE_CLASS) {
        fail_node(b, n, "'yield' outside function", NULL);
        return;
    }
    if (s->kind == ASY_SCOPE_COMPREHENSION) {
        char msg[64];
        snprintf(msg, sizeof msg, "'yield' inside %s", comp_desc(s->node->kind));
        fail_node(b, n, "%s", msg);
        return;
    }
    if (n->kind == AST_YIELD_FROM && s->is_async) {
        fail_node(b, n, "'yield from' inside async function", NULL);
        return;
    }
    s->is_generator = true;
}

static void visit_lambda(Builder *b, AstNode *n)
{
    visit_defaults(b, n->u.lambda.args);
    if (b->failed) return;
    AsyScope *s = enter_scope(b, ASY_SCOPE_LAMBDA, n, "<lambda>");
    n->u.lambda.scope = s;
    visit_params(b, n->u.lambda.args);
    visit_expr(b, n->u.lambda.body);
    b->cur = s->parent;
}

static void visit_expr_inner(Builder *b, AstNode *n);

static bool enter_nested(Builder *b, const AstNode *n)
{
    if (++b->depth <= MAX_NESTING) return true;
    if (!b->failed) {
        fail_at(b, n->line, n->col, n->col, "maximum recursion depth exceeded during compilation",
                NULL);
        b->err->type = "RecursionError";
    }
    return false;
}

static void visit_expr(Builder *b, AstNode *n)
{
    if (!b->failed && enter_nested(b, n)) visit_expr_inner(b, n);
    b->depth--;
}

static void visit_expr_inner(Builder *b, AstNode *n)
{
    switch (n->kind) {
    case AST_NAME:
        if (n->u.name.ctx == AST_LOAD) {
            add_def(b, n->u.name.id, ASY_DEF_USE);
            /* super() needs the __class__ cell (CPython does the same on any load of
             * `super` in a function). */
            if (is_function_like(b->cur) && strcmp(n->u.name.id, "super") == 0)
                add_def(b, "__class__", ASY_DEF_USE);
        } else {
            add_def(b, n->u.name.id, ASY_DEF_LOCAL);
        }
        break;
    case AST_CONST: break;
    case AST_FSTRING: visit_exprs(b, &n->u.fstring.parts); break;
    case AST_FORMATTED:
        visit_expr(b, n->u.formatted.value);
        visit_opt(b, n->u.formatted.spec);
        break;
    case AST_TUPLE:
    case AST_LIST:
    case AST_SET:
        if (n->u.seq.ctx != AST_LOAD && n->kind != AST_SET) visit_target(b, n, 0);
        else visit_exprs(b, &n->u.seq.elts);
        break;
    case AST_DICT:
        for (int i = 0; i < n->u.dict.values.n && !b->failed; i++) {
            if (n->u.dict.keys.items[i]) visit_expr(b, n->u.dict.keys.items[i]);
            visit_expr(b, n->u.dict.values.items[i]);
        }
        break;
    case AST_ATTRIBUTE: visit_expr(b, n->u.attr.value); break;
    case AST_SUBSCRIPT:
        visit_expr(b, n->u.subscript.value);
        visit_expr(b, n->u.subscript.index);
        break;
    case AST_SLICE:
        visit_opt(b, n->u.slice.lower);
        visit_opt(b, n->u.slice.upper);
        visit_opt(b, n->u.slice.step);
        break;
    case AST_CALL:
        visit_expr(b, n->u.call.func);
        visit_exprs(b, &n->u.call.args);
        visit_exprs(b, &n->u.call.keywords);
        break;
    case AST_KEYWORD: visit_expr(b, n->u.keyword.value); break;
    case AST_BINOP:
        visit_expr(b, n->u.binop.left);
        visit_expr(b, n->u.binop.right);
        break;
    case AST_UNARYOP: visit_expr(b, n->u.unary.operand); break;
    case AST_BOOLOP: visit_exprs(b, &n->u.boolop.values); break;
    case AST_COMPARE:
        visit_expr(b, n->u.compare.left);
        visit_exprs(b, &n->u.compare.comparators);
        break;
    case AST_IFEXP:
        visit_expr(b, n->u.ifexp.test);
        visit_expr(b, n->u.ifexp.body);
        visit_expr(b, n->u.ifexp.orelse);
        break;
    case AST_LAMBDA: visit_lambda(b, n); break;
    case AST_LISTCOMP:
    case AST_SETCOMP:
    case AST_GENEXP:
    case AST_DICTCOMP: visit_comprehension(b, n); break;
    case AST_AWAIT:
        visit_expr(b, n->u.await.value);
        b->cur->has_await = true;
        break;
    case AST_YIELD:
    case AST_YIELD_FROM:
        visit_opt(b, n->u.yield.value);
        if (!b->failed) visit_yield(b, n);
        break;
    case AST_STARRED:
        if (n->u.starred.value) visit_expr(b, n->u.starred.value);
        break;
    case AST_NAMEDEXPR:
        visit_expr(b, n->u.named.value);
        if (!b->failed) visit_walrus_target(b, n->u.named.target);
        break;
    default:
        fail_node(b, n, "invalid syntax", NULL); /* a statement where an expression goes */
        break;
    }
}

/* global/nonlocal: CPython's order-dependent checks, in its order of precedence. */
static void visit_directive(Builder *b, AstNode *n, bool global)
{
    if (!global && b->cur->kind == ASY_SCOPE_MODULE) {
        fail_node(b, n, "nonlocal declaration not allowed at module level", NULL);
        return;
    }
    const char *what = global ? "global" : "nonlocal";
    for (int i = 0; i < n->u.names.n && !b->failed; i++) {
        const char *name = n->u.names.names[i];
        AsySymbol *s = sym_get(b, b->cur, asy_scope_mangle(b->arena, b->cur, name));
        uint32_t f = s->flags;
        char msg[128];
        if (f & (ASY_DEF_PARAM | ASY_DEF_LOCAL | ASY_DEF_USE | ASY_DEF_ANNOT)) {
            if (f & ASY_DEF_PARAM)
                snprintf(msg, sizeof msg, "name '%%s' is parameter and %s", what);
            else if (f & ASY_DEF_USE)
                snprintf(msg, sizeof msg, "name '%%s' is used prior to %s declaration", what);
            else if (f & ASY_DEF_ANNOT)
                snprintf(msg, sizeof msg, "annotated name '%%s' can't be %s", what);
            else
                snprintf(msg, sizeof msg, "name '%%s' is assigned to before %s declaration",
                         what);
            fail_node(b, n, msg, name);
            return;
        }
        if (!(f & (ASY_DEF_GLOBAL | ASY_DEF_NONLOCAL))) {
            s->line = n->line;
            s->col = n->col;
            s->end_col = n->end_line == n->line ? n->end_col : n->col;
        }
        s->flags |= global ? ASY_DEF_GLOBAL : ASY_DEF_NONLOCAL;
    }
}

static void visit_funcdef(Builder *b, AstNode *n)
{
    add_def(b, n->u.funcdef.name, ASY_DEF_LOCAL);
    visit_exprs(b, &n->u.funcdef.decorators);
    visit_defaults(b, n->u.funcdef.args);
    if (b->failed) return;
    AsyScope *s = enter_scope(b, ASY_SCOPE_FUNCTION, n, n->u.funcdef.name);
    n->u.funcdef.scope = s;
    s->is_async = n->u.funcdef.is_async;
    visit_params(b, n->u.funcdef.args);
    visit_stmts(b, &n->u.funcdef.body);
    b->cur = s->parent;
}

static void visit_classdef(Builder *b, AstNode *n)
{
    add_def(b, n->u.classdef.name, ASY_DEF_LOCAL);
    visit_exprs(b, &n->u.classdef.decorators);
    visit_exprs(b, &n->u.classdef.bases);
    visit_exprs(b, &n->u.classdef.keywords);
    if (b->failed) return;
    AsyScope *s = enter_scope(b, ASY_SCOPE_CLASS, n, n->u.classdef.name);
    n->u.classdef.scope = s;
    visit_stmts(b, &n->u.classdef.body);
    b->cur = s->parent;
}

static void visit_annassign(Builder *b, AstNode *n)
{
    AstNode *t = n->u.annassign.target;
    AsyScope *s = b->cur;
    if (t->kind == AST_NAME) {
        AsySymbol *sym = asy_scope_lookup(s, asy_scope_mangle(b->arena, s, t->u.name.id));
        if (sym && (sym->flags & (ASY_DEF_GLOBAL | ASY_DEF_NONLOCAL)) &&
            s->kind != ASY_SCOPE_MODULE && n->u.annassign.simple) {
            fail_node(b, n,
                      (sym->flags & ASY_DEF_GLOBAL) ? "annotated name '%s' can't be global"
                                                    : "annotated name '%s' can't be nonlocal",
                      t->u.name.id);
            return;
        }
        if (n->u.annassign.simple) add_def(b, t->u.name.id, ASY_DEF_ANNOT | ASY_DEF_LOCAL);
        if (n->u.annassign.value) add_def(b, t->u.name.id, ASY_DEF_LOCAL);
    } else {
        visit_expr(b, t);
    }
    /* Annotations are evaluated only in module and class bodies (PEP 526). */
    if (s->kind == ASY_SCOPE_MODULE || s->kind == ASY_SCOPE_CLASS) {
        visit_expr(b, n->u.annassign.annotation);
        if (t->kind == AST_NAME && n->u.annassign.simple) s->has_annotations = true;
    }
    visit_opt(b, n->u.annassign.value);
}

static void visit_import(Builder *b, AstNode *n)
{
    AstList *names = &n->u.import.names;
    for (int i = 0; i < names->n && !b->failed; i++) {
        AstNode *a = names->items[i];
        const char *name = a->u.alias.asname ? a->u.alias.asname : a->u.alias.name;
        if (strcmp(name, "*") == 0) {
            if (b->cur->kind != ASY_SCOPE_MODULE)
                fail_node(b, a, "import * only allowed at module level", NULL);
            continue;
        }
        const char *dot = a->u.alias.asname ? NULL : strchr(name, '.');
        if (dot) name = asy_ast_strdup(b->arena, name, (size_t)(dot - name));
        add_def(b, name, ASY_DEF_IMPORT); /* not DEF_LOCAL: CPython allows `global` after it */
    }
}

static void visit_stmt_inner(Builder *b, AstNode *n);

static void visit_stmt(Builder *b, AstNode *n)
{
    if (!b->failed && enter_nested(b, n)) visit_stmt_inner(b, n);
    b->depth--;
}

static void visit_stmt_inner(Builder *b, AstNode *n)
{
    switch (n->kind) {
    case AST_EXPR_STMT: visit_expr(b, n->u.expr_stmt.value); break;
    case AST_ASSIGN:
        visit_expr(b, n->u.assign.value);
        for (int i = 0; i < n->u.assign.targets.n; i++)
            visit_target(b, n->u.assign.targets.items[i], 0);
        break;
    case AST_AUGASSIGN:
        visit_expr(b, n->u.augassign.value);
        visit_target(b, n->u.augassign.target, 0);
        break;
    case AST_ANNASSIGN: visit_annassign(b, n); break;
    case AST_IF:
    case AST_WHILE:
        visit_expr(b, n->u.if_.test);
        visit_stmts(b, &n->u.if_.body);
        visit_stmts(b, &n->u.if_.orelse);
        break;
    case AST_FOR:
        visit_expr(b, n->u.for_.iter);
        visit_target(b, n->u.for_.target, 0);
        if (n->u.for_.is_async) b->cur->has_await = true;
        visit_stmts(b, &n->u.for_.body);
        visit_stmts(b, &n->u.for_.orelse);
        break;
    case AST_BREAK:
    case AST_CONTINUE:
    case AST_PASS: break;
    case AST_RETURN: visit_opt(b, n->u.ret.value); break;
    case AST_FUNCTIONDEF: visit_funcdef(b, n); break;
    case AST_CLASSDEF: visit_classdef(b, n); break;
    case AST_TRY:
        visit_stmts(b, &n->u.try_.body);
        for (int i = 0; i < n->u.try_.handlers.n && !b->failed; i++) {
            AstNode *h = n->u.try_.handlers.items[i];
            visit_opt(b, h->u.handler.type);
            if (h->u.handler.name) add_def(b, h->u.handler.name, ASY_DEF_LOCAL);
            visit_stmts(b, &h->u.handler.body);
        }
        visit_stmts(b, &n->u.try_.orelse);
        visit_stmts(b, &n->u.try_.finalbody);
        break;
    case AST_RAISE:
        visit_opt(b, n->u.raise.exc);
        visit_opt(b, n->u.raise.cause);
        break;
    case AST_ASSERT:
        visit_expr(b, n->u.assert_.test);
        visit_opt(b, n->u.assert_.msg);
        break;
    case AST_DELETE:
        for (int i = 0; i < n->u.del.targets.n; i++) visit_target(b, n->u.del.targets.items[i], 0);
        break;
    case AST_WITH:
        if (n->u.with.is_async) b->cur->has_await = true;
        for (int i = 0; i < n->u.with.items.n && !b->failed; i++) {
            AstNode *it = n->u.with.items.items[i];
            visit_expr(b, it->u.withitem.context_expr);
            if (it->u.withitem.optional_vars) visit_target(b, it->u.withitem.optional_vars, 0);
        }
        visit_stmts(b, &n->u.with.body);
        break;
    case AST_IMPORT:
    case AST_IMPORTFROM: visit_import(b, n); break;
    case AST_GLOBAL: visit_directive(b, n, true); break;
    case AST_NONLOCAL: visit_directive(b, n, false); break;
    default: fail_node(b, n, "invalid syntax", NULL); break;
    }
}

static void visit_stmts(Builder *b, AstList *l)
{
    for (int i = 0; i < l->n && !b->failed; i++) visit_stmt(b, l->items[i]);
}

/* ---- step 2: resolution ---- */

/* The function that binds `name` for a block nested in `from`, or NULL when the name is
 * global. Class bodies are invisible to their methods, except that a class provides the
 * `__class__` cell. */
static AsyScope *find_binder(AsyScope *from, const char *name)
{
    for (AsyScope *a = from; a && a->kind != ASY_SCOPE_MODULE; a = a->parent) {
        if (a->kind == ASY_SCOPE_CLASS) {
            if (strcmp(name, "__class__") == 0) return a;
            continue;
        }
        AsySymbol *s = asy_scope_lookup(a, name);
        if (!s) continue;
        if (s->flags & ASY_DEF_GLOBAL) return NULL;
        if (s->flags & ASY_DEF_BOUND) return a;
    }
    return NULL;
}

/* Make `name` free in every block from `s` (exclusive) up to `binder` (exclusive) and a
 * cell in the binder. */
static void propagate_free(Builder *b, AsyScope *s, AsyScope *binder, const char *name)
{
    for (AsyScope *a = s->parent; a != binder; a = a->parent) {
        AsySymbol *sym = sym_get(b, a, name);
        if (a->kind == ASY_SCOPE_CLASS &&
            (sym->flags & (ASY_DEF_BOUND | ASY_DEF_GLOBAL)))
            sym->flags |= ASY_DEF_FREE_CLASS; /* its own binding stays in the namespace */
        else
            sym->kind = ASY_SYM_FREE;
    }
    if (binder->kind == ASY_SCOPE_CLASS) {
        binder->needs_class_cell = true;
        return;
    }
    AsySymbol *bs = asy_scope_lookup(binder, name);
    bs->kind = ASY_SYM_CELL;
}

static void resolve_symbol(Builder *b, AsyScope *s, AsySymbol *sym)
{
    uint32_t f = sym->flags;
    if (f & ASY_DEF_GLOBAL) {
        if (f & ASY_DEF_NONLOCAL) {
            fail_at(b, sym->line, sym->col, sym->end_col, "name '%s' is nonlocal and global",
                    sym->name);
            return;
        }
        sym->kind = ASY_SYM_GLOBAL_EXPLICIT;
        return;
    }
    if (f & ASY_DEF_NONLOCAL) {
        AsyScope *binder = find_binder(s->parent, sym->name);
        if (!binder || binder->kind == ASY_SCOPE_CLASS) {
            fail_at(b, sym->line, sym->col, sym->end_col, "no binding for nonlocal '%s' found",
                    sym->name);
            return;
        }
        sym->kind = ASY_SYM_FREE;
        return;
    }
    if (f & ASY_DEF_BOUND) {
        sym->kind = ASY_SYM_LOCAL;
        return;
    }
    sym->kind = s->kind == ASY_SCOPE_MODULE || !find_binder(s->parent, sym->name)
                    ? ASY_SYM_GLOBAL_IMPLICIT
                    : ASY_SYM_FREE;
}

static void resolve_all(Builder *b)
{
    for (int i = 0; i < b->nall && !b->failed; i++) {
        AsyScope *s = b->all[i];
        for (int j = 0; j < s->nsyms && !b->failed; j++) resolve_symbol(b, s, s->syms[j]);
    }
    /* Free names found above, propagated outward. A name resolved FREE because it is free
     * in an enclosing block was resolved the same way there, so order does not matter. */
    for (int i = 0; i < b->nall && !b->failed; i++) {
        AsyScope *s = b->all[i];
        int n = s->nsyms; /* propagation never adds to s itself */
        for (int j = 0; j < n; j++) {
            AsySymbol *sym = s->syms[j];
            if (sym->kind != ASY_SYM_FREE || (sym->flags & ASY_DEF_FREE_CLASS)) continue;
            AsyScope *binder = find_binder(s->parent, sym->name);
            if (binder) propagate_free(b, s, binder, sym->name);
        }
    }
}

/* ---- step 3: slot layout ---- */

static void layout_scope(Builder *b, AsyScope *s)
{
    AstArena *A = b->arena;
    bool fn = is_function_like(s);
    int nl = 0, nc = 0, nf = 0;
    for (int i = 0; i < s->nsyms; i++) {
        AsySymbol *sym = s->syms[i];
        if (fn && (sym->kind == ASY_SYM_LOCAL || (sym->flags & ASY_DEF_PARAM))) nl++;
        if (sym->kind == ASY_SYM_CELL) nc++;
        if (sym->kind == ASY_SYM_FREE || (sym->flags & ASY_DEF_FREE_CLASS)) nf++;
    }
    if (s->needs_class_cell) nc++;
    s->varnames = asy_ast_alloc(A, sizeof(char *) * (size_t)(nl + 1));
    s->cellnames = asy_ast_alloc(A, sizeof(char *) * (size_t)(nc + 1));
    s->cell2arg = asy_ast_alloc(A, sizeof(int) * (size_t)(nc + 1));
    s->freenames = asy_ast_alloc(A, sizeof(char *) * (size_t)(nf + 1));

    /* Parameters were the first symbols added, in slot order. */
    for (int i = 0; i < s->nsyms; i++) {
        AsySymbol *sym = s->syms[i];
        if (!fn) break;
        if (sym->flags & ASY_DEF_PARAM) {
            sym->slot = s->nlocals;
            s->varnames[s->nlocals++] = sym->name;
        }
    }
    for (int i = 0; i < s->nsyms; i++) {
        AsySymbol *sym = s->syms[i];
        if (fn && sym->kind == ASY_SYM_LOCAL && !(sym->flags & ASY_DEF_PARAM)) {
            sym->slot = s->nlocals;
            s->varnames[s->nlocals++] = sym->name;
        }
        if (sym->kind == ASY_SYM_CELL) {
            s->cell2arg[s->ncells] = (sym->flags & ASY_DEF_PARAM) ? sym->slot : -1;
            sym->deref = s->ncells;
            s->cellnames[s->ncells++] = sym->name;
        }
    }
    if (s->needs_class_cell) {
        AsySymbol *sym = asy_scope_lookup(s, "__class__");
        if (sym) sym->deref = s->ncells;
        s->cell2arg[s->ncells] = -1;
        s->cellnames[s->ncells++] = "__class__";
    }
    for (int i = 0; i < s->nsyms; i++) {
        AsySymbol *sym = s->syms[i];
        if (sym->kind == ASY_SYM_FREE || (sym->flags & ASY_DEF_FREE_CLASS)) {
            sym->deref = s->ncells + s->nfree;
            s->freenames[s->nfree++] = sym->name;
        }
    }
}

AsyScope *asy_scope_find(AsyScope *root, const char *qualname)
{
    if (strcmp(root->qualname, qualname) == 0) return root;
    for (int i = 0; i < root->nchildren; i++) {
        AsyScope *s = asy_scope_find(root->children[i], qualname);
        if (s) return s;
    }
    return NULL;
}

AsySymKind asy_scope_kind(AsyScope *scope, const char *name)
{
    AsySymbol *s = asy_scope_lookup(scope, name);
    return s ? s->kind : ASY_SYM_GLOBAL_IMPLICIT;
}

bool asy_scope_build(AstArena *arena, AstNode *module, AsyParseMode mode, AsyParseError *err)
{
    Builder b = {.arena = arena, .err = err, .mode = mode};
    AsyScope *top = enter_scope(&b, ASY_SCOPE_MODULE, module, "<module>");
    module->u.module.scope = top;
    visit_stmts(&b, &module->u.module.body);
    if (!b.failed) resolve_all(&b);
    if (b.failed) return false;
    for (int i = 0; i < b.nall; i++) {
        AsyScope *s = b.all[i];
        layout_scope(&b, s);
        /* async def with yield is an async generator; with await it stays a coroutine */
        if (s->kind == ASY_SCOPE_MODULE && s->has_await &&
            (mode == ASY_PARSE_MODULE || mode == ASY_PARSE_SINGLE))
            s->is_async = true;
    }
    return true;
}
