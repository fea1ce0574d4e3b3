/* parser.c - recursive descent over the token array, building the AST.
 *
 * Each function implements the production of grammar/asy.ebnf with the same name (cited
 * in the comment above it). The grammar is CPython 3.11's minus `match`, reshaped for one
 * token of lookahead: where CPython's PEG parser backtracks, we parse the more general form
 * and check it afterwards (an assignment target is parsed as an expression and then
 * validated by set_context), and in the one place that needs real backtracking
 * (parenthesized with-items) we rewind the token position.
 *
 * Error handling: the first error wins. A function that fails sets p->err (through
 * fail_at and friends) and returns NULL; every caller checks and returns NULL too. Nothing
 * is freed by hand: the arena owns it all.
 *
 * Error messages and positions follow CPython 3.11 (checked with python3's compile()).
 * Left to the compiler/scope pass, as CPython does in its compiler and symtable:
 * "'return' outside function", "'yield' outside function", "'await' outside function",
 * "nonlocal declaration not allowed at module level", "duplicate argument 'a' in function
 * definition", "starred assignment target must be in a list or tuple", "multiple starred
 * expressions in assignment", "'break' outside loop", "'continue' not properly in loop".
 */
#include "parser.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"

/* Bound on expression nesting, which also bounds the depth of the tree for the passes
 * that walk it recursively: every nested expression, unary operator, `not`, `**`, and
 * every link of a left-deep chain (`a+b+c`, `f()()`, `a.b.c`) costs one level. CPython
 * 3.11 stops at about the same depth (3000) with "maximum recursion depth exceeded during
 * ast construction"; nested brackets alone stop at 200 in the lexer. */
#define MAX_DEPTH 3000

typedef struct Parser {
    AstArena *arena;
    const char *buf;        /* the prepared source                                   */
    AsyToken *toks;
    int ntoks, pos;
    AsyLexer *lx;           /* holds the error behind a final TOK_ERROR              */
    AsyParseError *err;
    bool failed;
    int fail_pos;           /* token index where the error was found                 */
    int *depth;             /* shared with f-string sub-parsers                      */
    bool in_fstring;        /* parsing an f-string replacement field                 */
    /* The disjunction that began the last expression, for comma_hint. */
    AstNode *last_expr;
    int last_expr_start, last_expr_end;
    bool in_hint;           /* comma_hint is parsing ahead: no nested hints          */
    int max_pos;            /* the furthest token looked at (for choose_error)       */
} Parser;

/* ---- tokens ---- */

static AsyToken *cur(Parser *p) { return &p->toks[p->pos]; }

static AsyToken *prev(Parser *p) { return &p->toks[p->pos > 0 ? p->pos - 1 : 0]; }

/* The token after the current one; the array always ends with ENDMARKER or ERROR, which
 * we never move past. */
static AsyToken *peek(Parser *p, int ahead)
{
    int i = p->pos + ahead;
    if (i >= p->ntoks) i = p->ntoks - 1;
    if (i > p->max_pos) p->max_pos = i;
    return &p->toks[i];
}

static bool at(Parser *p, AsyTokKind k) { return cur(p)->kind == k; }

static void advance(Parser *p)
{
    if (p->pos < p->ntoks - 1) p->pos++;
    if (p->pos > p->max_pos) p->max_pos = p->pos;
}

static AsyToken *accept(Parser *p, AsyTokKind k)
{
    if (!at(p, k)) return NULL;
    AsyToken *t = cur(p);
    advance(p);
    return t;
}

/* ---- errors ---- */

static void set_error(Parser *p, const char *type, int line, int col, int end_col,
                      const char *fmt, va_list ap)
{
    if (p->failed) return;
    p->failed = true;
    p->fail_pos = p->pos;
    AsyParseError *e = p->err;
    memset(e, 0, sizeof *e);
    e->type = type;
    /* Errors inside an f-string's expression say so, once. */
    char msg[sizeof e->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = 0;
    if (p->in_fstring && strncmp(msg, "f-string", 8) != 0) {
        memcpy(e->msg, "f-string: ", 10);
        n = 10;
    }
    size_t len = strlen(msg);
    if (len > sizeof e->msg - 1 - n) len = sizeof e->msg - 1 - n;
    memcpy(e->msg + n, msg, len);
    e->msg[n + len] = '\0';
    e->line = line;
    e->col = col;
    e->end_col = end_col;
}

/* Error spanning a token range; positions become CPython's 1-based offsets. */
static void *fail_range(Parser *p, const char *type, int line, int col, int end_line,
                        int end_col, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void *fail_range(Parser *p, const char *type, int line, int col, int end_line,
                        int end_col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(p, type, line, col + 1, end_line == line ? end_col + 1 : 0, fmt, ap);
    va_end(ap);
    return NULL;
}

#define fail_tok(p, t, ...) \
    fail_range((p), "SyntaxError", (t)->line, (t)->col, (t)->end_line, (t)->end_col, __VA_ARGS__)
#define fail_node(p, n, ...) \
    fail_range((p), "SyntaxError", (n)->line, (n)->col, (n)->end_line, (n)->end_col, __VA_ARGS__)
#define fail_span(p, a, b, ...) \
    fail_range((p), "SyntaxError", (a)->line, (a)->col, (b)->end_line, (b)->end_col, __VA_ARGS__)

static bool comma_hint(Parser *p);

/* The generic error at the current token: a tokenizer error if we reached one, an
 * indentation error at INDENT/DEDENT, else "invalid syntax". */
static void *fail_here(Parser *p)
{
    AsyToken *t = cur(p);
    if (p->failed) return NULL;
    if (t->kind == TOK_ERROR) {
        /* As is: CPython reports tokenizer errors inside f-strings without a prefix. */
        *p->err = p->lx->err;
        p->failed = true;
        p->fail_pos = p->pos;
        return NULL;
    }
    if (t->kind == TOK_INDENT) {
        AsyToken *n = peek(p, 1);
        return fail_range(p, "IndentationError", t->line, n->col - 1, t->line, -1,
                          "unexpected indent");
    }
    if (t->kind == TOK_DEDENT) {
        return fail_range(p, "IndentationError", t->line, t->col, t->line, -1,
                          "unexpected unindent");
    }
    if (comma_hint(p)) return NULL;
    return fail_tok(p, t, "invalid syntax");
}

static AsyToken *expect(Parser *p, AsyTokKind k)
{
    AsyToken *t = accept(p, k);
    if (!t) fail_here(p);
    return t;
}

/* A token CPython's grammar insists on: "expected ':'" instead of "invalid syntax". With
 * `forced` (&&':' in CPython's grammar: def, try, else, finally) whatever stands there
 * gets the message; otherwise only the end of the line does (CPython's invalid_*_stmt
 * rules for if, while, for, with, class, except). */
static AsyToken *expect_forced(Parser *p, AsyTokKind k, bool forced)
{
    AsyToken *t = accept(p, k);
    if (t) return t;
    if (at(p, TOK_ERROR)) return fail_here(p);
    AsyToken *c = cur(p);
    if (!forced && c->kind != TOK_NEWLINE) return fail_here(p);
    if (k == TOK_COLON && (c->kind == TOK_NEWLINE)) {
        /* CPython points just past the previous token. */
        AsyToken *pv = prev(p);
        return fail_range(p, "SyntaxError", pv->end_line, pv->end_col, pv->end_line,
                          pv->end_col, "expected '%s'", asy_token_name(k));
    }
    return fail_tok(p, c, "expected '%s'", asy_token_name(k));
}

static bool enter(Parser *p)
{
    if (++*p->depth > MAX_DEPTH) {
        fail_tok(p, cur(p), "too many nested parentheses");
        return false;
    }
    return true;
}

static void leave(Parser *p) { --*p->depth; }

/* ---- node helpers ---- */

static AstNode *node_tok(Parser *p, AstKind kind, const AsyToken *t)
{
    return asy_ast_node(p->arena, kind, t->line, t->col);
}

/* Close a node at the end of the last consumed token (a compound statement ends with
 * its last statement, not with the NEWLINE and DEDENTs after it). */
static AstNode *finish(Parser *p, AstNode *n)
{
    int i = p->pos > 0 ? p->pos - 1 : 0;
    while (i > 0 && (p->toks[i].kind == TOK_DEDENT || p->toks[i].kind == TOK_NEWLINE ||
                     p->toks[i].kind == TOK_INDENT))
        i--;
    AsyToken *t = &p->toks[i];
    n->end_line = t->end_line;
    n->end_col = t->end_col;
    return n;
}

static void end_as(AstNode *n, const AstNode *last)
{
    n->end_line = last->end_line;
    n->end_col = last->end_col;
}

static void push(Parser *p, AstList *l, AstNode *n) { asy_ast_list_push(p->arena, l, n); }

static const char *tok_str(Parser *p, const AsyToken *t)
{
    return asy_ast_strdup(p->arena, p->buf + t->start, t->len);
}

static AstNode *const_node(Parser *p, AstConstKind k, const AsyToken *t)
{
    AstNode *n = node_tok(p, AST_CONST, t);
    n->u.c.kind = k;
    n->end_line = t->end_line;
    n->end_col = t->end_col;
    return n;
}

/* CPython's _PyPegen_get_expr_name: how error messages name an expression. */
static const char *expr_name(const AstNode *e)
{
    switch (e->kind) {
    case AST_ATTRIBUTE: return "attribute";
    case AST_SUBSCRIPT: return "subscript";
    case AST_STARRED: return "starred";
    case AST_NAME: return "name";
    case AST_LIST: return "list";
    case AST_TUPLE: return "tuple";
    case AST_LAMBDA: return "lambda";
    case AST_CALL: return "function call";
    case AST_BOOLOP: case AST_BINOP: case AST_UNARYOP: return "expression";
    case AST_GENEXP: return "generator expression";
    case AST_YIELD: case AST_YIELD_FROM: return "yield expression";
    case AST_AWAIT: return "await expression";
    case AST_LISTCOMP: return "list comprehension";
    case AST_SETCOMP: return "set comprehension";
    case AST_DICTCOMP: return "dict comprehension";
    case AST_DICT: return "dict literal";
    case AST_SET: return "set display";
    case AST_FSTRING: case AST_FORMATTED: return "f-string expression";
    case AST_COMPARE: return "comparison";
    case AST_IFEXP: return "conditional expression";
    case AST_NAMEDEXPR: return "named expression";
    case AST_CONST:
        switch (e->u.c.kind) {
        case AST_CONST_NONE: return "None";
        case AST_CONST_TRUE: return "True";
        case AST_CONST_FALSE: return "False";
        case AST_CONST_ELLIPSIS: return "ellipsis";
        default: return "literal";
        }
    default: return "expression";
    }
}

/* The first part of a target that cannot be assigned (or deleted), or NULL: CPython's
 * _PyPegen_get_invalid_target. */
static AstNode *invalid_target(AstNode *e, AstCtx ctx)
{
    switch (e->kind) {
    case AST_TUPLE: case AST_LIST:
        for (int i = 0; i < e->u.seq.elts.n; i++) {
            AstNode *bad = invalid_target(e->u.seq.elts.items[i], ctx);
            if (bad) return bad;
        }
        return NULL;
    case AST_STARRED:
        if (ctx == AST_DEL) return e;
        return invalid_target(e->u.starred.value, ctx);
    case AST_NAME: case AST_ATTRIBUTE: case AST_SUBSCRIPT: return NULL;
    default: return e;
    }
}

static void apply_ctx(AstNode *e, AstCtx ctx)
{
    switch (e->kind) {
    case AST_NAME: e->u.name.ctx = ctx; break;
    case AST_ATTRIBUTE: e->u.attr.ctx = ctx; break;
    case AST_SUBSCRIPT: e->u.subscript.ctx = ctx; break;
    case AST_STARRED: apply_ctx(e->u.starred.value, ctx); break;
    case AST_TUPLE: case AST_LIST:
        e->u.seq.ctx = ctx;
        for (int i = 0; i < e->u.seq.elts.n; i++) apply_ctx(e->u.seq.elts.items[i], ctx);
        break;
    default: break;
    }
}

/* Turn a parsed expression into an assignment or deletion target. */
static bool set_context(Parser *p, AstNode *e, AstCtx ctx)
{
    AstNode *bad = invalid_target(e, ctx);
    if (bad) {
        fail_node(p, bad, "cannot %s %s", ctx == AST_DEL ? "delete" : "assign to", expr_name(bad));
        return false;
    }
    apply_ctx(e, ctx);
    return true;
}

/* ---- forward declarations: one per production ---- */

static AstNode *statement(Parser *p, AstList *out);
static bool block(Parser *p, AstList *body, const char *what, int line);
static AstNode *expression(Parser *p);
static AstNode *named_expression(Parser *p);
static AstNode *star_expressions(Parser *p);
static AstNode *star_named_expression(Parser *p);
static AstNode *disjunction(Parser *p);
static AstNode *bitwise_or(Parser *p);
static AstNode *factor(Parser *p);
static AstNode *primary(Parser *p);
static AstNode *atom(Parser *p);
static AstNode *yield_expr(Parser *p);
static AstNode *star_targets(Parser *p);
static AstNode *strings(Parser *p);
static AstArgs *params(Parser *p, AsyTokKind close, bool annotations);
static bool for_if_clauses(Parser *p, AstList *gens);
static void note_expr(Parser *p, AstNode *e, int first);
static AstNode *paren_body(Parser *p, const AsyToken *open, AsyTokKind close);
static bool arguments(Parser *p, AstList *args, AstList *keywords, AsyTokKind close,
                      AstNode **bare_genexp);

/* ============================ expressions ============================ */

/* star_expression: '*' bitwise_or | expression */
static AstNode *star_expression(Parser *p)
{
    AsyToken *star = accept(p, TOK_STAR);
    if (!star) return expression(p);
    AstNode *v = bitwise_or(p);
    if (!v) return NULL;
    AstNode *n = node_tok(p, AST_STARRED, star);
    n->u.starred.value = v;
    return finish(p, n);
}

/* star_expressions: star_expression (',' star_expression)* [','] */
static AstNode *star_expressions(Parser *p)
{
    AsyToken *first = cur(p);
    AstNode *e = star_expression(p);
    if (!e) return NULL;
    if (!at(p, TOK_COMMA)) return e;
    AstNode *t = node_tok(p, AST_TUPLE, first);
    push(p, &t->u.seq.elts, e);
    while (accept(p, TOK_COMMA)) {
        AsyTokKind k = cur(p)->kind;
        /* Stop before whatever ends an expression list. */
        if (k == TOK_NEWLINE || k == TOK_EQUAL || k == TOK_RPAR || k == TOK_SEMI ||
            k == TOK_COLON || k == TOK_ENDMARKER || k == TOK_RSQB || k == TOK_RBRACE ||
            (k >= TOK_PLUSEQUAL && k <= TOK_AMPEREQUAL))
            break;
        if (!(e = star_expression(p))) return NULL;
        push(p, &t->u.seq.elts, e);
    }
    return finish(p, t);
}

/* star_named_expression: '*' bitwise_or | named_expression */
static AstNode *star_named_expression(Parser *p)
{
    AsyToken *star = accept(p, TOK_STAR);
    if (!star) return named_expression(p);
    AstNode *v = bitwise_or(p);
    if (!v) return NULL;
    AstNode *n = node_tok(p, AST_STARRED, star);
    n->u.starred.value = v;
    return finish(p, n);
}

static bool bitwise_level(const AstNode *e);

/* A named_expression followed by '=' (never valid: keyword arguments, defaults and
 * assignments do not parse one): CPython's invalid_named_expression, which reads the
 * value after '=' and suggests '==' (or ':=' after a plain name). */
static AstNode *misused_equal(Parser *p, AstNode *e)
{
    int save = p->pos;
    advance(p);
    AstNode *rhs = bitwise_or(p);
    bool chained = rhs && (at(p, TOK_EQUAL) || at(p, TOK_COLONEQUAL));
    p->failed = false;
    p->pos = save;
    if (rhs && !chained) {
        if (e->kind == AST_NAME)
            return fail_span(p, e, rhs, "invalid syntax. Maybe you meant '==' or ':=' instead of '='?");
        if (bitwise_level(e))
            return fail_node(p, e, "cannot assign to %s here. Maybe you meant '==' instead of '='?",
                             expr_name(e));
    }
    return fail_here(p);
}

/* named_expression: NAME ':=' expression | expression */
static AstNode *named_expression(Parser *p)
{
    if (at(p, TOK_NAME) && peek(p, 1)->kind == TOK_COLONEQUAL) {
        AsyToken *name = cur(p);
        advance(p);
        advance(p);
        AstNode *target = node_tok(p, AST_NAME, name);
        target->u.name.id = tok_str(p, name);
        target->u.name.ctx = AST_STORE;
        target->end_col = name->end_col;
        AstNode *v = expression(p);
        if (!v) return NULL;
        AstNode *n = node_tok(p, AST_NAMEDEXPR, name);
        n->u.named.target = target;
        n->u.named.value = v;
        return finish(p, n);
    }
    AstNode *e = expression(p);
    if (e && at(p, TOK_COLONEQUAL))
        return fail_node(p, e, "cannot use assignment expressions with %s", expr_name(e));
    if (e && at(p, TOK_EQUAL)) return misused_equal(p, e);
    return e;
}

/* lambdef: 'lambda' params ':' expression */
static AstNode *lambdef(Parser *p)
{
    AsyToken *kw = expect(p, TOK_LAMBDA);
    AstArgs *args = params(p, TOK_COLON, false);
    if (!args || !expect(p, TOK_COLON)) return NULL;
    AstNode *body = expression(p);
    if (!body) return NULL;
    AstNode *n = node_tok(p, AST_LAMBDA, kw);
    n->u.lambda.args = args;
    n->u.lambda.body = body;
    return finish(p, n);
}

/* expression: disjunction ['if' disjunction 'else' expression] | lambdef */
static AstNode *expression(Parser *p)
{
    if (!enter(p)) return NULL;
    AsyToken *start = cur(p);
    AstNode *r = NULL;
    if (at(p, TOK_LAMBDA)) {
        r = lambdef(p);
    } else {
        int first = p->pos;
        AstNode *body = disjunction(p);
        if (body) note_expr(p, body, first);
        if (body && at(p, TOK_IF)) {
            advance(p);
            AstNode *test = disjunction(p);
            if (test && !at(p, TOK_ELSE)) {
                if (at(p, TOK_COLON) || at(p, TOK_ERROR)) fail_here(p);
                else fail_span(p, body, test, "expected 'else' after 'if' expression");
                test = NULL;
            }
            if (test) {
                advance(p);
                AstNode *orelse = expression(p);
                if (orelse) {
                    r = node_tok(p, AST_IFEXP, start);
                    r->u.ifexp.test = test;
                    r->u.ifexp.body = body;
                    r->u.ifexp.orelse = orelse;
                    finish(p, r);
                }
            }
        } else {
            r = body;
        }
    }
    leave(p);
    return r;
}

static AstNode *inversion(Parser *p);

/* conjunction: inversion ('and' inversion)* */
static AstNode *conjunction(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *e = inversion(p);
    if (!e || !at(p, TOK_AND)) return e;
    AstNode *n = node_tok(p, AST_BOOLOP, start);
    n->u.boolop.op = AST_AND;
    push(p, &n->u.boolop.values, e);
    while (accept(p, TOK_AND)) {
        if (!(e = inversion(p))) return NULL;
        push(p, &n->u.boolop.values, e);
    }
    return finish(p, n);
}

/* disjunction: conjunction ('or' conjunction)* */
static AstNode *disjunction(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *e = conjunction(p);
    if (!e || !at(p, TOK_OR)) return e;
    AstNode *n = node_tok(p, AST_BOOLOP, start);
    n->u.boolop.op = AST_OR;
    push(p, &n->u.boolop.values, e);
    while (accept(p, TOK_OR)) {
        if (!(e = conjunction(p))) return NULL;
        push(p, &n->u.boolop.values, e);
    }
    return finish(p, n);
}

/* Remember the disjunction an expression starts with, ending at the current token: if
 * another expression follows directly, comma_hint blames a missing comma. */
static void note_expr(Parser *p, AstNode *e, int first)
{
    p->last_expr = e;
    p->last_expr_start = first;
    p->last_expr_end = p->pos;
}

static AstNode *comparison(Parser *p);

/* inversion: 'not' inversion | comparison */
static AstNode *inversion(Parser *p)
{
    AsyToken *kw = accept(p, TOK_NOT);
    if (!kw) return comparison(p);
    if (!enter(p)) return NULL;
    AstNode *operand = inversion(p);
    leave(p);
    if (!operand) return NULL;
    AstNode *n = node_tok(p, AST_UNARYOP, kw);
    n->u.unary.op = AST_NOT;
    n->u.unary.operand = operand;
    return finish(p, n);
}

/* compare_op: '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in' | 'is' | 'is' 'not'
 * Returns -1 (consuming nothing) when the current token is not one. */
static int compare_op(Parser *p)
{
    AstCmpOp op;
    switch (cur(p)->kind) {
    case TOK_EQEQUAL: op = AST_EQ; break;
    case TOK_NOTEQUAL: op = AST_NE; break;
    case TOK_LESS: op = AST_LT; break;
    case TOK_LESSEQUAL: op = AST_LE; break;
    case TOK_GREATER: op = AST_GT; break;
    case TOK_GREATEREQUAL: op = AST_GE; break;
    case TOK_IN: op = AST_IN; break;
    case TOK_NOT:
        if (peek(p, 1)->kind != TOK_IN) return -1;
        advance(p);
        op = AST_NOT_IN;
        break;
    case TOK_IS:
        advance(p);
        return accept(p, TOK_NOT) ? AST_IS_NOT : AST_IS;
    default: return -1;
    }
    advance(p);
    return (int)op;
}

/* comparison: bitwise_or (compare_op bitwise_or)* */
static AstNode *comparison(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *e = bitwise_or(p);
    if (!e) return NULL;
    int op = compare_op(p);
    if (op < 0) return e;
    AstNode *n = node_tok(p, AST_COMPARE, start);
    n->u.compare.left = e;
    int cap = 0, count = 0;
    AstCmpOp *ops = NULL;
    while (op >= 0) {
        if (count == cap) {
            cap = cap ? cap * 2 : 4;
            AstCmpOp *nops = asy_ast_alloc(p->arena, sizeof(AstCmpOp) * (size_t)cap);
            if (count) memcpy(nops, ops, sizeof(AstCmpOp) * (size_t)count);
            ops = nops;
        }
        ops[count++] = (AstCmpOp)op;
        if (!(e = bitwise_or(p))) return NULL;
        push(p, &n->u.compare.comparators, e);
        op = compare_op(p);
    }
    n->u.compare.ops = ops;
    return finish(p, n);
}

/* The six levels of left-associative binary operators, loosest first. */
enum { LV_BITOR, LV_BITXOR, LV_BITAND, LV_SHIFT, LV_SUM, LV_TERM, LV_COUNT };

/* The level of a binary operator token and its operator, or -1 for any other token. */
static int binop_level(AsyTokKind k, AstBinOp *op)
{
    switch (k) {
    case TOK_VBAR: *op = AST_BITOR; return LV_BITOR;
    case TOK_CIRCUMFLEX: *op = AST_BITXOR; return LV_BITXOR;
    case TOK_AMPER: *op = AST_BITAND; return LV_BITAND;
    case TOK_LEFTSHIFT: *op = AST_LSHIFT; return LV_SHIFT;
    case TOK_RIGHTSHIFT: *op = AST_RSHIFT; return LV_SHIFT;
    case TOK_PLUS: *op = AST_ADD; return LV_SUM;
    case TOK_MINUS: *op = AST_SUB; return LV_SUM;
    case TOK_STAR: *op = AST_MUL; return LV_TERM;
    case TOK_SLASH: *op = AST_DIV; return LV_TERM;
    case TOK_DOUBLESLASH: *op = AST_FLOORDIV; return LV_TERM;
    case TOK_PERCENT: *op = AST_MOD; return LV_TERM;
    case TOK_AT: *op = AST_MATMUL; return LV_TERM;
    default: return -1;
    }
}

/* bitwise_or: bitwise_xor ('|' bitwise_xor)*
 * bitwise_xor: bitwise_and ('^' bitwise_and)*
 * bitwise_and: shift_expr ('&' shift_expr)*
 * shift_expr: sum (('<<' | '>>') sum)*
 * sum: term (('+' | '-') term)*
 * term: factor (('*' | '/' | '//' | '%' | '@') factor)*
 *
 * The levels from `min` down to term, by precedence climbing: one loop takes the operators
 * of every level at once, and an operand is parsed by one call instead of one call per
 * level (most operands have no operator around them at all). Each link of a chain costs
 * one level of the depth budget until its level's chain ends, when a looser operator
 * follows or the expression does: what a function per level charged, so the limit stops
 * the same inputs. */
static AstNode *binary_chain(Parser *p, int min)
{
    AsyToken *start = cur(p);
    AstNode *left = factor(p);
    int links[LV_COUNT] = {0};
    AstBinOp op = AST_ADD;
    int level;
    while (left && (level = binop_level(cur(p)->kind, &op)) >= min) {
        for (int i = level + 1; i < LV_COUNT; i++) {
            *p->depth -= links[i];
            links[i] = 0;
        }
        advance(p);
        links[level]++;
        AstNode *right = enter(p) ? binary_chain(p, level + 1) : NULL;
        if (!right) {
            left = NULL;
            break;
        }
        AstNode *n = node_tok(p, AST_BINOP, start);
        n->u.binop.op = op;
        n->u.binop.left = left;
        n->u.binop.right = right;
        left = finish(p, n);
    }
    for (int i = min; i < LV_COUNT; i++) *p->depth -= links[i];
    return left;
}

static AstNode *bitwise_or(Parser *p) { return binary_chain(p, LV_BITOR); }

/* await_primary: 'await' primary | primary */
static AstNode *await_primary(Parser *p)
{
    AsyToken *kw = accept(p, TOK_AWAIT);
    if (!kw) return primary(p);
    AstNode *v = primary(p);
    if (!v) return NULL;
    AstNode *n = node_tok(p, AST_AWAIT, kw);
    n->u.await.value = v;
    return finish(p, n);
}

/* power: await_primary ['**' factor] */
static AstNode *power(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *left = await_primary(p);
    if (!left || !accept(p, TOK_DOUBLESTAR)) return left;
    if (!enter(p)) return NULL; /* `**` is right-recursive: 2**2**2**... */
    AstNode *right = factor(p);
    leave(p);
    if (!right) return NULL;
    AstNode *n = node_tok(p, AST_BINOP, start);
    n->u.binop.op = AST_POW;
    n->u.binop.left = left;
    n->u.binop.right = right;
    return finish(p, n);
}

/* factor: ('+' | '-' | '~') factor | power */
static AstNode *factor(Parser *p)
{
    AsyToken *t = cur(p);
    AstUnaryOp op;
    if (t->kind == TOK_PLUS) op = AST_POS;
    else if (t->kind == TOK_MINUS) op = AST_NEG;
    else if (t->kind == TOK_TILDE) op = AST_INVERT;
    else return power(p);
    advance(p);
    if (!enter(p)) return NULL;
    AstNode *operand = factor(p);
    leave(p);
    if (!operand) return NULL;
    AstNode *n = node_tok(p, AST_UNARYOP, t);
    n->u.unary.op = op;
    n->u.unary.operand = operand;
    return finish(p, n);
}

/* slice: [expression] ':' [expression] [':' [expression]] | named_expression */
static AstNode *slice(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *lower = NULL;
    if (!at(p, TOK_COLON)) {
        lower = named_expression(p);
        if (!lower || !at(p, TOK_COLON)) return lower;
    }
    AstNode *n = node_tok(p, AST_SLICE, start);
    n->u.slice.lower = lower;
    advance(p); /* ':' */
    AsyTokKind k = cur(p)->kind;
    if (k != TOK_COLON && k != TOK_COMMA && k != TOK_RSQB) {
        if (!(n->u.slice.upper = expression(p))) return NULL;
    }
    if (accept(p, TOK_COLON)) {
        k = cur(p)->kind;
        if (k != TOK_COMMA && k != TOK_RSQB) {
            if (!(n->u.slice.step = expression(p))) return NULL;
        }
    }
    return finish(p, n);
}

/* slices: slice | (slice | star_expression) (',' (slice | star_expression))* [','] */
static AstNode *slices(Parser *p)
{
    AsyToken *first = cur(p);
    AstNode *e = at(p, TOK_STAR) ? star_named_expression(p) : slice(p);
    if (!e) return NULL;
    if (!at(p, TOK_COMMA) && e->kind != AST_STARRED) return e;
    AstNode *t = node_tok(p, AST_TUPLE, first);
    push(p, &t->u.seq.elts, e);
    while (accept(p, TOK_COMMA) && !at(p, TOK_RSQB)) {
        e = at(p, TOK_STAR) ? star_named_expression(p) : slice(p);
        if (!e) return NULL;
        push(p, &t->u.seq.elts, e);
    }
    return finish(p, t);
}

/* trailer: '.' NAME | '(' arguments ')' | '[' slices ']'
 * Applied to `e`, which started at token `start`. */
static AstNode *trailer(Parser *p, const AsyToken *start, AstNode *e)
{
    AstNode *n;
    if (accept(p, TOK_DOT)) {
        AsyToken *name = expect(p, TOK_NAME);
        if (!name) return NULL;
        n = node_tok(p, AST_ATTRIBUTE, start);
        n->u.attr.value = e;
        n->u.attr.name = tok_str(p, name);
    } else if (accept(p, TOK_LPAR)) {
        AsyToken *open = prev(p);
        AstNode *genexp = NULL;
        n = node_tok(p, AST_CALL, start);
        n->u.call.func = e;
        if (!arguments(p, &n->u.call.args, &n->u.call.keywords, TOK_RPAR, &genexp))
            return NULL;
        if (!expect(p, TOK_RPAR)) return NULL;
        if (genexp) {
            /* f(x for x in y): the generator expression owns the call's parentheses. */
            genexp->line = open->line;
            genexp->col = open->col;
            finish(p, genexp);
        }
    } else {
        expect(p, TOK_LSQB);
        n = node_tok(p, AST_SUBSCRIPT, start);
        n->u.subscript.value = e;
        if (!(n->u.subscript.index = slices(p))) return NULL;
        if (!expect(p, TOK_RSQB)) return NULL;
    }
    return finish(p, n);
}

/* primary: atom trailer*
 * Each trailer makes the tree one level deeper, so each counts toward MAX_DEPTH. */
static AstNode *primary(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *e = atom(p);
    int links = 0;
    while (e && (at(p, TOK_DOT) || at(p, TOK_LPAR) || at(p, TOK_LSQB))) {
        links++;
        e = enter(p) ? trailer(p, start, e) : NULL;
    }
    *p->depth -= links;
    return e;
}

/* The positional/keyword shape seen so far in a call, for CPython's ordering errors. */
typedef struct {
    bool keyword, kwunpack;
    AstNode *first_bad_star;
} ArgState;

/* arg: '*' expression | '**' expression | NAME '=' expression
 *    | named_expression [for_if_clauses] */
static AstNode *arg(Parser *p, ArgState *st, bool *is_keyword, bool *bad_positional,
                    bool *bare_genexp)
{
    AsyToken *t = cur(p);
    *is_keyword = false;
    if (accept(p, TOK_STAR)) {
        AstNode *v = expression(p);
        if (!v) return NULL;
        AstNode *n = node_tok(p, AST_STARRED, t);
        n->u.starred.value = v;
        if (st->kwunpack && !st->first_bad_star) st->first_bad_star = n;
        return finish(p, n);
    }
    if (accept(p, TOK_DOUBLESTAR)) {
        AstNode *v = expression(p);
        if (!v) return NULL;
        AstNode *n = node_tok(p, AST_KEYWORD, t);
        n->u.keyword.value = v;
        *is_keyword = true;
        st->kwunpack = true;
        return finish(p, n);
    }
    if (at(p, TOK_NAME) && peek(p, 1)->kind == TOK_EQUAL) {
        advance(p);
        advance(p);
        AstNode *v = expression(p);
        if (!v) return NULL;
        AstNode *n = node_tok(p, AST_KEYWORD, t);
        n->u.keyword.name = tok_str(p, t);
        n->u.keyword.value = v;
        *is_keyword = true;
        st->keyword = true;
        return finish(p, n);
    }
    /* CPython's args take `NAME := value` but not named_expression's error for `a.b :=`. */
    bool walrus = at(p, TOK_NAME) && peek(p, 1)->kind == TOK_COLONEQUAL;
    AstNode *e = walrus ? named_expression(p) : expression(p);
    if (!e) return NULL;
    if (at(p, TOK_COLONEQUAL)) return fail_here(p);
    if (at(p, TOK_EQUAL)) {
        AsyToken *eq = cur(p);
        if (e->kind == AST_CONST && (e->u.c.kind == AST_CONST_TRUE || e->u.c.kind ==
                                     AST_CONST_FALSE || e->u.c.kind == AST_CONST_NONE))
            return fail_span(p, e, eq, "cannot assign to %s", expr_name(e));
        return fail_span(p, e, eq, "expression cannot contain assignment, perhaps you meant \"==\"?");
    }
    if (st->keyword || st->kwunpack) *bad_positional = true;
    if (at(p, TOK_FOR) || (at(p, TOK_ASYNC) && peek(p, 1)->kind == TOK_FOR)) {
        AstNode *g = node_tok(p, AST_GENEXP, t);
        g->u.comp.elt = e;
        if (!for_if_clauses(p, &g->u.comp.generators)) return NULL;
        *bare_genexp = true;
        return finish(p, g);
    }
    return e;
}

/* CPython's compiler rejects `f(x=1, x=2)`; the parser has the keywords at hand. */
static bool check_repeated_keywords(Parser *p, AstList *keywords)
{
    for (int i = 1; i < keywords->n; i++) {
        AstNode *k = keywords->items[i];
        if (!k->u.keyword.name) continue;
        for (int j = 0; j < i; j++) {
            const char *other = keywords->items[j]->u.keyword.name;
            if (other && strcmp(other, k->u.keyword.name) == 0) {
                fail_node(p, k, "keyword argument repeated: %s", k->u.keyword.name);
                return false;
            }
        }
    }
    return true;
}

/* arguments: [arg (',' arg)* [',']] */
static bool arguments(Parser *p, AstList *args, AstList *keywords, AsyTokKind close,
                      AstNode **bare_genexp)
{
    ArgState st = {0};
    bool bad_positional = false;
    bool bad_unpack = false;
    AstNode *genexp_first = NULL;
    int count = 0;
    while (!at(p, close)) {
        bool is_kw;
        bool was_kwunpack = st.kwunpack, bare = false;
        AstNode *a = arg(p, &st, &is_kw, &bad_positional, &bare);
        if (!a) return false;
        if (a->kind == AST_STARRED && was_kwunpack) bad_unpack = true;
        if (bare && !genexp_first) genexp_first = a;
        count++;
        push(p, is_kw ? keywords : args, a);
        if (!accept(p, TOK_COMMA)) break;
    }
    if (genexp_first && count > 1) {
        /* A bare generator expression must be the only argument. */
        AstNode *g = genexp_first;
        AstList *gens = &g->u.comp.generators;
        AstNode *last = gens->items[gens->n - 1];
        AstNode *end = last->u.comprehension.ifs.n
                           ? last->u.comprehension.ifs.items[last->u.comprehension.ifs.n - 1]
                           : last->u.comprehension.iter;
        fail_span(p, g->u.comp.elt, end, "Generator expression must be parenthesized");
        return false;
    }
    if (bad_unpack) {
        AstNode *star = st.first_bad_star;
        fail_range(p, "SyntaxError", star->line, star->col, star->line, star->col + 1,
                   "iterable argument unpacking follows keyword argument unpacking");
        return false;
    }
    if (bad_positional) {
        fail_tok(p, cur(p), "positional argument follows keyword argument%s",
                 st.kwunpack ? " unpacking" : "");
        return false;
    }
    if (!at(p, close)) {
        fail_here(p);
        return false;
    }
    if (bare_genexp) *bare_genexp = genexp_first;
    return check_repeated_keywords(p, keywords);
}

/* for_if_clauses: (['async'] 'for' star_targets 'in' disjunction ('if' disjunction)*)+ */
static bool for_if_clauses(Parser *p, AstList *gens)
{
    while (at(p, TOK_FOR) || (at(p, TOK_ASYNC) && peek(p, 1)->kind == TOK_FOR)) {
        AsyToken *start = cur(p);
        AstNode *c = node_tok(p, AST_COMPREHENSION, start);
        c->u.comprehension.is_async = accept(p, TOK_ASYNC) != NULL;
        advance(p); /* 'for' */
        int first = p->pos;
        AstNode *target = star_targets(p);
        if (!target) return false;
        if (!at(p, TOK_IN)) {
            note_expr(p, target, first); /* `for x y in z`: maybe a missing comma */
            return fail_here(p), false;
        }
        if (!set_context(p, target, AST_STORE)) return false;
        advance(p);
        AstNode *iter = disjunction(p);
        if (!iter) return false;
        c->u.comprehension.target = target;
        c->u.comprehension.iter = iter;
        while (accept(p, TOK_IF)) {
            AstNode *cond = disjunction(p);
            if (!cond) return false;
            push(p, &c->u.comprehension.ifs, cond);
        }
        push(p, gens, finish(p, c));
    }
    return true;
}

static bool at_comp_for(Parser *p)
{
    return at(p, TOK_FOR) || (at(p, TOK_ASYNC) && peek(p, 1)->kind == TOK_FOR);
}

/* A comprehension node around `elt`, started at token `open`. */
static AstNode *comprehension(Parser *p, AstKind kind, const AsyToken *open, AstNode *key,
                              AstNode *elt)
{
    if (elt->kind == AST_STARRED) {
        return fail_node(p, elt, "iterable unpacking cannot be used in comprehension");
    }
    AstNode *n = node_tok(p, kind, open);
    n->u.comp.key = key;
    n->u.comp.elt = elt;
    if (!for_if_clauses(p, &n->u.comp.generators)) return NULL;
    return n;
}

/* star_named_expressions: star_named_expression (',' star_named_expression)* [','] */
static bool star_named_expressions(Parser *p, AstList *elts, AsyTokKind close)
{
    while (!at(p, close)) {
        AstNode *e = star_named_expression(p);
        if (!e) return false;
        push(p, elts, e);
        if (!accept(p, TOK_COMMA)) break;
    }
    return true;
}

static bool starts_expression(AsyTokKind k)
{
    switch (k) {
    case TOK_NAME: case TOK_NUMBER: case TOK_STRING: case TOK_LPAR: case TOK_LSQB:
    case TOK_LBRACE: case TOK_NONE: case TOK_TRUE: case TOK_FALSE: case TOK_MINUS:
    case TOK_PLUS: case TOK_TILDE: case TOK_LAMBDA: case TOK_NOT: case TOK_AWAIT:
    case TOK_ELLIPSIS:
        return true;
    default:
        return false;
    }
}

/* CPython's invalid_expression: inside brackets, an expression directly followed by
 * another one is "invalid syntax. Perhaps you forgot a comma?", spanning both. Not after
 * `print`/`exec` (the legacy-statement hint), a soft keyword, or a name directly before a
 * string (`f "x"` is more likely a misspelt prefix). Returns true if it reported. */
static bool comma_hint(Parser *p)
{
    AsyToken *t = cur(p);
    AstNode *last = p->last_expr;
    if (p->in_hint || !last || p->last_expr_end != p->pos || t->level == 0 ||
        !starts_expression(t->kind))
        return false;
    AsyToken *first = &p->toks[p->last_expr_start];
    if (first->kind == TOK_NAME) {
        const char *id = p->buf + first->start;
        size_t n = first->len;
        if (p->toks[p->last_expr_start + 1].kind == TOK_STRING) return false;
        if ((n == 1 && id[0] == '_') || (n == 5 && memcmp(id, "match", 5) == 0) ||
            (n == 4 && memcmp(id, "case", 4) == 0))
            return false;
        if (last->kind == AST_NAME && (strcmp(last->u.name.id, "print") == 0 ||
                                       strcmp(last->u.name.id, "exec") == 0))
            return false;
    }
    int save = p->pos, depth = *p->depth;
    p->in_hint = true;
    AstNode *next = expression(p);
    p->in_hint = false;
    p->failed = false;
    p->pos = save;
    *p->depth = depth;
    if (!next) return false;
    fail_span(p, last, next, "invalid syntax. Perhaps you forgot a comma?");
    return true;
}

/* list_atom: '[' [star_named_expression (for_if_clauses | [',' star_named_expressions])] ']' */
static AstNode *list_atom(Parser *p)
{
    AsyToken *open = cur(p);
    advance(p);
    AstNode *n = node_tok(p, AST_LIST, open);
    if (!at(p, TOK_RSQB)) {
        AstNode *first = star_named_expression(p);
        if (!first) return NULL;
        if (at_comp_for(p)) {
            n = comprehension(p, AST_LISTCOMP, open, NULL, first);
            if (!n) return NULL;
        } else {
            push(p, &n->u.seq.elts, first);
            if (accept(p, TOK_COMMA) && !star_named_expressions(p, &n->u.seq.elts, TOK_RSQB))
                return NULL;
        }
    }
    if (!at(p, TOK_RSQB)) {
        return fail_here(p);
    }
    advance(p);
    return finish(p, n);
}

/* dict_value: ':' expression  (with CPython's errors for a missing or starred value) */
static AstNode *dict_value(Parser *p)
{
    AsyToken *colon = cur(p);
    advance(p);
    if (at(p, TOK_RBRACE) || at(p, TOK_COMMA))
        return fail_tok(p, colon, "expression expected after dictionary key and ':'");
    if (at(p, TOK_STAR)) {
        AsyToken *star = cur(p);
        advance(p);
        AstNode *v = bitwise_or(p);
        if (!v) return NULL;
        return fail_range(p, "SyntaxError", star->line, star->col, v->end_line, v->end_col,
                          "cannot use a starred expression in a dictionary value");
    }
    return expression(p);
}

/* dict_items: (',' (expression dict_value | '**' bitwise_or))* [',']
 * (the items after the first; brace_atom parsed that one) */
static bool dict_items(Parser *p, AstNode *d)
{
    while (accept(p, TOK_COMMA) && !at(p, TOK_RBRACE)) {
        if (accept(p, TOK_DOUBLESTAR)) {
            AstNode *v = bitwise_or(p);
            if (!v) return false;
            push(p, &d->u.dict.keys, NULL);
            push(p, &d->u.dict.values, v);
            continue;
        }
        AstNode *k = expression(p);
        if (!k) return false;
        if (!at(p, TOK_COLON)) {
            if (at(p, TOK_ERROR)) return fail_here(p), false;
            /* CPython's invalid_kvpair: at the key's last character. */
            return fail_range(p, "SyntaxError", k->end_line, k->end_col - 1, k->end_line, -1,
                              "':' expected after dictionary key"), false;
        }
        AstNode *v = dict_value(p);
        if (!v) return false;
        push(p, &d->u.dict.keys, k);
        push(p, &d->u.dict.values, v);
    }
    return true;
}

/* brace_atom: '{' '}'
 *           | '{' '**' bitwise_or dict_items '}'
 *           | '{' expression dict_value (for_if_clauses | dict_items) '}'
 *           | '{' star_named_expression (for_if_clauses | [',' star_named_expressions]) '}' */
static AstNode *brace_atom(Parser *p)
{
    AsyToken *open = cur(p);
    advance(p);
    AstNode *n;
    if (at(p, TOK_RBRACE)) {
        n = node_tok(p, AST_DICT, open);
    } else if (accept(p, TOK_DOUBLESTAR)) {
        n = node_tok(p, AST_DICT, open);
        AstNode *v = bitwise_or(p);
        if (!v) return NULL;
        push(p, &n->u.dict.keys, NULL);
        push(p, &n->u.dict.values, v);
        if (!dict_items(p, n)) return NULL;
    } else {
        AstNode *first = star_named_expression(p);
        if (!first) return NULL;
        if (first->kind != AST_STARRED && at(p, TOK_COLON)) {
            AstNode *v = dict_value(p);
            if (!v) return NULL;
            if (at_comp_for(p)) {
                if (!(n = comprehension(p, AST_DICTCOMP, open, first, v))) return NULL;
            } else {
                n = node_tok(p, AST_DICT, open);
                push(p, &n->u.dict.keys, first);
                push(p, &n->u.dict.values, v);
                if (!dict_items(p, n)) return NULL;
            }
        } else if (at_comp_for(p)) {
            if (!(n = comprehension(p, AST_SETCOMP, open, NULL, first))) return NULL;
        } else {
            n = node_tok(p, AST_SET, open);
            push(p, &n->u.seq.elts, first);
            if (accept(p, TOK_COMMA) && !star_named_expressions(p, &n->u.seq.elts, TOK_RBRACE))
                return NULL;
        }
    }
    if (!at(p, TOK_RBRACE)) return fail_here(p);
    advance(p);
    return finish(p, n);
}

/* paren_body: ')' | yield_expr ')'
 *           | star_named_expression (for_if_clauses | ',' [star_named_expressions] | ) ')'
 * What follows '(' (or the inside of an f-string's braces, where `close` is ENDMARKER). */
static AstNode *paren_body(Parser *p, const AsyToken *open, AsyTokKind close)
{
    AstNode *n;
    if (at(p, close) && close == TOK_RPAR) {
        n = node_tok(p, AST_TUPLE, open);
        advance(p);
        return finish(p, n);
    }
    if (at(p, TOK_YIELD)) {
        n = yield_expr(p);
    } else {
        AstNode *first = star_named_expression(p);
        if (!first) return NULL;
        if (at_comp_for(p)) {
            n = comprehension(p, AST_GENEXP, open, NULL, first);
        } else if (at(p, TOK_COMMA)) {
            n = node_tok(p, AST_TUPLE, open);
            push(p, &n->u.seq.elts, first);
            advance(p);
            if (!star_named_expressions(p, &n->u.seq.elts, close)) return NULL;
        } else {
            if (first->kind == AST_STARRED && at(p, close))
                return fail_node(p, first, "cannot use starred expression here");
            n = first;
            if (at(p, close)) {
                advance(p);
                return n; /* a group keeps its inner node's position */
            }
            return fail_here(p);
        }
    }
    if (!n) return NULL;
    if (!at(p, close)) {
        return fail_here(p);
    }
    advance(p);
    if (n->kind == AST_YIELD || n->kind == AST_YIELD_FROM) return n;
    return finish(p, n);
}

/* atom: NAME | 'True' | 'False' | 'None' | strings | NUMBER | '...'
 *     | '(' paren_body | list_atom | brace_atom */
static AstNode *atom(Parser *p)
{
    AsyToken *t = cur(p);
    AstNode *n;
    switch (t->kind) {
    case TOK_NAME:
        n = node_tok(p, AST_NAME, t);
        n->u.name.id = tok_str(p, t);
        advance(p);
        return finish(p, n);
    case TOK_TRUE: advance(p); return const_node(p, AST_CONST_TRUE, t);
    case TOK_FALSE: advance(p); return const_node(p, AST_CONST_FALSE, t);
    case TOK_NONE: advance(p); return const_node(p, AST_CONST_NONE, t);
    case TOK_ELLIPSIS: advance(p); return const_node(p, AST_CONST_ELLIPSIS, t);
    case TOK_NUMBER:
        advance(p);
        n = const_node(p, AST_CONST_INT, t);
        asy_lex_number(p->arena, p->buf + t->start, t->len, n);
        return n;
    case TOK_STRING: return strings(p);
    case TOK_LPAR: {
        advance(p);
        if (!enter(p)) return NULL;
        n = paren_body(p, t, TOK_RPAR);
        leave(p);
        return n;
    }
    case TOK_LSQB: return list_atom(p);
    case TOK_LBRACE: return brace_atom(p);
    default: return fail_here(p);
    }
}

/* yield_expr: 'yield' 'from' expression | 'yield' [star_expressions] */
static AstNode *yield_expr(Parser *p)
{
    AsyToken *kw = expect(p, TOK_YIELD);
    if (!kw) return NULL;
    if (accept(p, TOK_FROM)) {
        AstNode *v = expression(p);
        if (!v) return NULL;
        AstNode *n = node_tok(p, AST_YIELD_FROM, kw);
        n->u.yield.value = v;
        return finish(p, n);
    }
    AstNode *n = node_tok(p, AST_YIELD, kw);
    AsyTokKind k = cur(p)->kind;
    if (k != TOK_RPAR && k != TOK_NEWLINE && k != TOK_EQUAL && k != TOK_SEMI &&
        k != TOK_ENDMARKER && k != TOK_RSQB && k != TOK_RBRACE) {
        if (!(n->u.yield.value = star_expressions(p))) return NULL;
    }
    return finish(p, n);
}

/* star_targets: ['*'] bitwise_or (',' ['*'] bitwise_or)* [',']
 * (CPython's star_target, parsed as an expression and checked by set_context) */
static AstNode *star_targets(Parser *p)
{
    AsyToken *first = cur(p);
    AstNode *e;
    AstNode *t = NULL;
    for (;;) {
        AsyToken *star = accept(p, TOK_STAR);
        AstNode *v = bitwise_or(p);
        if (!v) return NULL;
        if (star) {
            e = node_tok(p, AST_STARRED, star);
            e->u.starred.value = v;
            finish(p, e);
        } else {
            e = v;
        }
        if (!t && !at(p, TOK_COMMA)) return e;
        if (!t) t = node_tok(p, AST_TUPLE, first);
        push(p, &t->u.seq.elts, e);
        if (!accept(p, TOK_COMMA)) break;
        AsyTokKind k = cur(p)->kind;
        if (k == TOK_IN || k == TOK_EQUAL || k == TOK_COLON || k == TOK_RPAR) break;
    }
    return finish(p, t);
}

/* ============================ strings ============================ */

/* Accumulates the pieces of one implicitly concatenated string. */
typedef struct {
    char *buf;
    size_t len, cap;
    AstList parts;          /* f-string parts so far                                  */
    bool fstring;
    const AsyToken *first, *last;   /* the whole concatenation: every part's position */
    const AsyToken *tok;            /* the token being decoded                        */
} StrAcc;

static AstNode *str_const(Parser *p, StrAcc *acc)
{
    AstNode *n = node_tok(p, AST_CONST, acc->first);
    n->u.c.kind = AST_CONST_STR;
    n->u.c.str = acc->buf ? acc->buf : asy_ast_strdup(p->arena, "", 0);
    n->u.c.len = acc->len;
    n->end_line = acc->last->end_line;
    n->end_col = acc->last->end_col;
    return n;
}

/* Give a piece of an f-string the position of the whole literal, as CPython 3.11 does. */
static void span_string(AstNode *n, const StrAcc *acc)
{
    n->end_line = acc->last->end_line;
    n->end_col = acc->last->end_col;
}

/* Move pending literal text into the part list (f-strings). */
static void flush_literal(Parser *p, StrAcc *acc, AstList *parts)
{
    if (!acc->len) return;
    push(p, parts, str_const(p, acc));
    acc->buf = NULL;
    acc->len = acc->cap = 0;
}

/* A decode error in a string token: CPython reports it at the token after the strings. */
static bool decode_into(Parser *p, StrAcc *acc, const char *s, size_t n, bool bytes, bool raw)
{
    char msg[200];
    const char *e = asy_lex_decode(p->arena, s, n, bytes, raw, &acc->buf, &acc->len,
                                   &acc->cap, msg, sizeof msg);
    if (!e) return true;
    if (strncmp(e, "bytes can only", 14) == 0) fail_tok(p, acc->last, "%s", e);
    else fail_tok(p, cur(p), "%s", e);
    return false;
}

static bool fstring(Parser *p, size_t *s, size_t end, bool raw, int recurse, StrAcc *acc,
                    AstList *parts);

/* The error CPython raises for malformed f-strings: at the token after the string. */
static bool fstring_error(Parser *p, const char *msg)
{
    fail_tok(p, cur(p), "%s", msg);
    return false;
}

/* fstring_literal: (CHAR | '{{' | '}}')*
 * The text up to the next '{' or '}' (CPython's fstring_find_literal).
 * Returns 1 when a doubled brace ended the literal, 0 otherwise, -1 on error. */
static int fstring_literal(Parser *p, size_t *sp, size_t end, bool raw, int recurse,
                           StrAcc *acc)
{
    const char *b = p->buf;
    size_t s = *sp, start = s;
    int result = 0;
    while (s < end) {
        char ch = b[s++];
        if (!raw && ch == '\\' && s < end) {
            ch = b[s++];
            if (ch == 'N' && s < end && b[s] == '{') {
                while (s < end && b[s] != '}') s++;
                if (s < end) s++;
                continue;
            }
        }
        if (ch == '{' || ch == '}') {
            if (recurse == 0) {
                if (s < end && b[s] == ch) {
                    *sp = s + 1;
                    result = 1;
                    break;
                }
                if (ch == '}') {
                    fstring_error(p, "f-string: single '}' is not allowed");
                    return -1;
                }
            }
            s--;
            *sp = s;
            break;
        }
    }
    if (s >= end) *sp = end;
    if (!decode_into(p, acc, b + start, s - start, false, raw)) return -1;
    return result;
}

/* fstring_compile_expr: paren_body
 * An f-string replacement field's expression, b[start, end), parsed as if written inside
 * parentheses (CPython compiles "(" + text + ")"), with its own lexer. */
static AstNode *fstring_compile_expr(Parser *p, size_t start, size_t end, int line)
{
    size_t i = start;
    while (i < end && (p->buf[i] == ' ' || p->buf[i] == '\t' || p->buf[i] == '\n' ||
                       p->buf[i] == '\f'))
        i++;
    if (i == end) {
        fstring_error(p, "f-string: empty expression not allowed");
        return NULL;
    }
    AsyLexer lx;
    asy_lexer_init_sub(&lx, p->buf, start, end, line);
    Parser sub = *p;
    sub.lx = &lx;
    sub.toks = asy_lexer_tokenize(&lx, p->arena, &sub.ntoks);
    sub.pos = 0;
    sub.failed = false;
    sub.in_fstring = true;
    AsyToken open = sub.toks[0];
    AstNode *e = paren_body(&sub, &open, TOK_ENDMARKER);
    if (!e && !p->failed) {
        p->failed = true;
        p->fail_pos = p->pos;
    }
    return e;
}

/* The extent of an f-string expression (CPython's fstring_find_expr loop): stops at a
 * top-level '!', ':', '}' or '='. A scan over characters, not a production. */
static bool fstring_expr_end(Parser *p, size_t *sp, size_t end)
{
    const char *b = p->buf;
    char quote = 0, parens[200];
    int string_type = 0, depth = 0;
    size_t s = *sp;
    char msg[120];
    for (; s < end; s++) {
        char ch = b[s];
        if (ch == '\\') return fstring_error(p, "f-string expression part cannot include a backslash");
        if (quote) {
            if (ch == quote) {
                if (string_type == 3) {
                    if (s + 2 < end && b[s + 1] == ch && b[s + 2] == ch) {
                        s += 2;
                        string_type = 0;
                        quote = 0;
                    }
                } else {
                    string_type = 0;
                    quote = 0;
                }
            }
            continue;
        }
        if (ch == '\'' || ch == '"') {
            if (s + 2 < end && b[s + 1] == ch && b[s + 2] == ch) {
                string_type = 3;
                s += 2;
            } else {
                string_type = 1;
            }
            quote = ch;
        } else if (ch == '[' || ch == '{' || ch == '(') {
            if (depth >= 200) return fstring_error(p, "f-string: too many nested parenthesis");
            parens[depth++] = ch;
        } else if (ch == '#') {
            return fstring_error(p, "f-string expression part cannot include '#'");
        } else if (depth == 0 && (ch == '!' || ch == ':' || ch == '}' || ch == '=' ||
                                  ch == '>' || ch == '<')) {
            if (s + 1 < end) {
                char next = b[s + 1];
                if ((ch == '!' || ch == '=' || ch == '<' || ch == '>') && next == '=') {
                    s++;
                    continue;
                }
            }
            if (ch == '>' || ch == '<') continue;
            break;
        } else if (ch == ']' || ch == '}' || ch == ')') {
            if (!depth) {
                snprintf(msg, sizeof msg, "f-string: unmatched '%c'", ch);
                return fstring_error(p, msg);
            }
            char open = parens[--depth];
            if (!((open == '(' && ch == ')') || (open == '[' && ch == ']') ||
                  (open == '{' && ch == '}'))) {
                snprintf(msg, sizeof msg,
                         "f-string: closing parenthesis '%c' does not match opening "
                         "parenthesis '%c'", ch, open);
                return fstring_error(p, msg);
            }
        }
    }
    if (quote) return fstring_error(p, "f-string: unterminated string");
    if (depth) {
        snprintf(msg, sizeof msg, "f-string: unmatched '%c'", parens[depth - 1]);
        return fstring_error(p, msg);
    }
    if (s >= end) return fstring_error(p, "f-string: expecting '}'");
    *sp = s;
    return true;
}

/* Line number of byte offset `off`, counting from a token that starts at known line. */
static int line_of(Parser *p, const AsyToken *t, size_t off)
{
    int line = t->line;
    for (size_t i = t->start; i < off; i++)
        if (p->buf[i] == '\n') line++;
    return line;
}

/* fstring_replacement_field: '{' fstring_compile_expr ['='] ['!' ('s' | 'r' | 'a')]
 *                            [':' fstring] '}'
 * (CPython's fstring_find_expr after the scan.) */
static bool fstring_replacement_field(Parser *p, size_t *sp, size_t end, bool raw,
                                      int recurse, StrAcc *acc, AstList *parts)
{
    const char *b = p->buf;
    if (recurse >= 2) return fstring_error(p, "f-string: expressions nested too deeply");
    size_t expr_start = ++*sp;
    if (!fstring_expr_end(p, sp, end)) return false;
    size_t s = *sp;
    AstNode *value = fstring_compile_expr(p, expr_start, s, line_of(p, acc->tok, expr_start));
    if (!value) return false;
    bool self_doc = false;
    if (b[s] == '=') {
        s++;
        while (s < end && (b[s] == ' ' || b[s] == '\t' || b[s] == '\n' || b[s] == '\f')) s++;
        if (s >= end) return fstring_error(p, "f-string: expecting '}'");
        /* f"{x = }" shows its own text, then the value. */
        if (!decode_into(p, acc, b + expr_start, s - expr_start, false, true)) return false;
        self_doc = true;
    }
    int conversion = 0;
    if (b[s] == '!') {
        s++;
        if (s >= end) return fstring_error(p, "f-string: expecting '}'");
        conversion = (unsigned char)b[s++];
        if (conversion != 's' && conversion != 'r' && conversion != 'a')
            return fstring_error(p, "f-string: invalid conversion character: expected 's', 'r', or 'a'");
    }
    AstNode *spec = NULL;
    if (s < end && b[s] == ':') {
        s++;
        if (s >= end) return fstring_error(p, "f-string: expecting '}'");
        /* A format spec and its pieces span just the literal holding them (CPython). */
        StrAcc sacc = {.first = acc->tok, .last = acc->tok, .tok = acc->tok, .fstring = true};
        spec = node_tok(p, AST_FSTRING, acc->tok);
        if (!fstring(p, &s, end, raw, recurse + 1, &sacc, &spec->u.fstring.parts))
            return false;
        flush_literal(p, &sacc, &spec->u.fstring.parts);
        span_string(spec, &sacc);
    }
    if (s >= end || b[s] != '}') return fstring_error(p, "f-string: expecting '}'");
    *sp = s + 1;
    if (self_doc && !spec && !conversion) conversion = 'r';
    flush_literal(p, acc, parts);
    AstNode *f = node_tok(p, AST_FORMATTED, acc->first);
    f->u.formatted.value = value;
    f->u.formatted.conversion = conversion;
    f->u.formatted.spec = spec;
    span_string(f, acc);
    push(p, parts, f);
    return true;
}

/* fstring: (fstring_literal | fstring_replacement_field)*  (CPython's fstring_parse) */
static bool fstring(Parser *p, size_t *s, size_t end, bool raw, int recurse,
                          StrAcc *acc, AstList *parts)
{
    for (;;) {
        int r = fstring_literal(p, s, end, raw, recurse, acc);
        if (r < 0) return false;
        if (r == 1) continue;
        if (*s >= end || p->buf[*s] == '}') break;
        if (!fstring_replacement_field(p, s, end, raw, recurse, acc, parts)) return false;
    }
    if (recurse != 0 && (*s >= end || p->buf[*s] != '}'))
        return fstring_error(p, "f-string: expecting '}'");
    if (recurse == 0 && *s < end) return fstring_error(p, "f-string: single '}' is not allowed");
    return true;
}

/* strings: STRING+  -- adjacent literals concatenate; any f-string makes an AST_FSTRING */
static AstNode *strings(Parser *p)
{
    StrAcc acc = {.first = cur(p)};
    int first = p->pos;
    bool any_bytes = false, any_str = false;
    while (at(p, TOK_STRING)) {
        AsyStrPrefix pre;
        asy_lex_string_prefix(p->buf + cur(p)->start, cur(p)->len, &pre);
        if (pre.is_bytes) any_bytes = true;
        else any_str = true;
        if (pre.is_fstring) acc.fstring = true;
        acc.last = cur(p);
        advance(p);
    }
    if (any_bytes && any_str) {
        fail_tok(p, cur(p), "cannot mix bytes and nonbytes literals");
        return NULL;
    }
    AstList parts = {0};
    for (int i = first; i < p->pos; i++) {
        AsyToken *t = &p->toks[i];
        AsyStrPrefix pre;
        asy_lex_string_prefix(p->buf + t->start, t->len, &pre);
        size_t body = t->start + pre.prefix_len + pre.quote_len;
        size_t body_end = t->start + t->len - pre.quote_len;
        if (pre.is_fstring) {
            acc.tok = t;
            if (!fstring(p, &body, body_end, pre.is_raw, 0, &acc, &parts)) return NULL;
        } else if (!decode_into(p, &acc, p->buf + body, body_end - body, pre.is_bytes,
                                pre.is_raw)) {
            return NULL;
        }
    }
    if (!acc.fstring) {
        AstNode *n = str_const(p, &acc);
        if (any_bytes) n->u.c.kind = AST_CONST_BYTES;
        return n;
    }
    flush_literal(p, &acc, &parts);
    AstNode *n = node_tok(p, AST_FSTRING, acc.first);
    n->u.fstring.parts = parts;
    n->end_line = acc.last->end_line;
    n->end_col = acc.last->end_col;
    return n;
}

/* ============================ parameters ============================ */

/* Growable arena arrays of parameter names. */
static void add_name(Parser *p, const char ***arr, int *n, int *cap, const char *name)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        const char **na = asy_ast_alloc(p->arena, sizeof(char *) * (size_t)nc);
        if (*n) memcpy(na, *arr, sizeof(char *) * (size_t)*n);
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = name;
}

/* param: NAME [':' ['*'] expression]   (the annotation is parsed and dropped) */
static const char *param(Parser *p, bool annotations, AsyToken **name_tok)
{
    AsyToken *name = expect(p, TOK_NAME);
    if (!name) return NULL;
    *name_tok = name;
    if (annotations && accept(p, TOK_COLON)) {
        accept(p, TOK_STAR); /* `*args: *Ts` (PEP 646); harmless elsewhere */
        if (!expression(p)) return NULL;
    }
    return tok_str(p, name);
}

typedef struct {
    int cap_pos, cap_args, cap_kw, cap_lines, n_lines;
    bool seen_default, seen_star, seen_slash;
} ParamState;

static void note_line(Parser *p, AstArgs *a, ParamState *st, int line)
{
    if (st->n_lines == st->cap_lines) {
        int nc = st->cap_lines ? st->cap_lines * 2 : 8;
        int *nl = asy_ast_alloc(p->arena, sizeof(int) * (size_t)nc);
        if (st->n_lines) memcpy(nl, a->param_lines, sizeof(int) * (size_t)st->n_lines);
        a->param_lines = nl;
        st->cap_lines = nc;
    }
    a->param_lines[st->n_lines++] = line;
}

/* The `/` marker: everything so far becomes positional-only. */
static bool slash_marker(Parser *p, AstArgs *a, ParamState *st, AsyToken *t)
{
    if (st->seen_slash) return fail_tok(p, t, "/ may appear only once"), false;
    if (st->seen_star) return fail_tok(p, t, "/ must be ahead of *"), false;
    if (a->n_args == 0) return fail_tok(p, t, "at least one argument must precede /"), false;
    st->seen_slash = true;
    a->posonly = a->args;
    a->n_posonly = a->n_args;
    a->args = NULL;
    a->n_args = 0;
    st->cap_pos = st->cap_args;
    st->cap_args = 0;
    return true;
}

/* param_item: '/' | '**' param | '*' [param] | param ['=' expression] */
static bool param_item(Parser *p, AstArgs *a, ParamState *st, AsyTokKind close, bool ann)
{
    AsyToken *t = cur(p);
    AsyToken *name;
    if (accept(p, TOK_SLASH)) return slash_marker(p, a, st, t);
    if (accept(p, TOK_DOUBLESTAR)) {
        if (!(a->kwarg = param(p, ann, &name))) return false;
        note_line(p, a, st, name->line);
        if (at(p, TOK_EQUAL))
            return fail_tok(p, cur(p), "var-keyword argument cannot have default value"), false;
        if (accept(p, TOK_COMMA) && !at(p, close))
            return fail_tok(p, cur(p), "arguments cannot follow var-keyword argument"), false;
        return true;
    }
    if (accept(p, TOK_STAR)) {
        if (st->seen_star) return fail_tok(p, t, "* argument may appear only once"), false;
        st->seen_star = true;
        if (at(p, TOK_COMMA)) {
            AsyToken *after = peek(p, 1);
            if (after->kind == close || after->kind == TOK_DOUBLESTAR)
                return fail_tok(p, t, "named arguments must follow bare *"), false;
            return true;
        }
        if (at(p, close)) return fail_tok(p, t, "named arguments must follow bare *"), false;
        if (!(a->vararg = param(p, ann, &name))) return false;
        note_line(p, a, st, name->line);
        if (at(p, TOK_EQUAL))
            return fail_tok(p, cur(p), "var-positional argument cannot have default value"), false;
        return true;
    }
    const char *pname = param(p, ann, &name);
    if (!pname) return false;
    note_line(p, a, st, name->line);
    AstNode *dflt = NULL;
    if (accept(p, TOK_EQUAL) && !(dflt = expression(p))) return false;
    if (st->seen_star) {
        add_name(p, &a->kwonly, &a->n_kwonly, &st->cap_kw, pname);
        push(p, &a->kw_defaults, dflt);
        return true;
    }
    if (dflt) {
        st->seen_default = true;
        push(p, &a->defaults, dflt);
    } else if (st->seen_default) {
        return fail_tok(p, name, "non-default argument follows default argument"), false;
    }
    add_name(p, &a->args, &a->n_args, &st->cap_args, pname);
    return true;
}

/* params: [param_item (',' param_item)* [',']]
 * up to `close`: ')' for def, ':' for lambda (where annotations are not allowed) */
static AstArgs *params(Parser *p, AsyTokKind close, bool annotations)
{
    AstArgs *a = asy_ast_alloc(p->arena, sizeof(AstArgs));
    ParamState st = {0};
    while (!at(p, close)) {
        if (!param_item(p, a, &st, close, annotations)) return NULL;
        if (!accept(p, TOK_COMMA)) break;
    }
    if (!at(p, close)) return fail_here(p);
    return a;
}

/* ============================ statements ============================ */

/* Statement node spanning from token `t` to the last consumed token. */
static AstNode *stmt_node(Parser *p, AstKind kind, const AsyToken *t)
{
    return node_tok(p, kind, t);
}

/* The annotated-assignment target check (CPython's invalid_ann_assign_target). */
static bool ann_target(Parser *p, AstNode *target)
{
    if (target->kind == AST_TUPLE || target->kind == AST_LIST) {
        fail_node(p, target, "only single target (not %s) can be annotated",
                  target->kind == AST_TUPLE ? "tuple" : "list");
        return false;
    }
    if (target->kind != AST_NAME && target->kind != AST_ATTRIBUTE &&
        target->kind != AST_SUBSCRIPT) {
        fail_node(p, target, "illegal target for annotation");
        return false;
    }
    return set_context(p, target, AST_STORE);
}

/* Is this expression something CPython's invalid_named_expression would have matched as
 * `bitwise_or '=' bitwise_or`? Then its error says "here. Maybe you meant '=='...". */
static bool bitwise_level(const AstNode *e)
{
    switch (e->kind) {
    case AST_COMPARE: case AST_BOOLOP: case AST_IFEXP: case AST_LAMBDA: case AST_STARRED:
    case AST_NAMEDEXPR: case AST_TUPLE: case AST_LIST: case AST_GENEXP: case AST_YIELD:
    case AST_YIELD_FROM:
        return false;
    case AST_UNARYOP: return e->u.unary.op != AST_NOT;
    case AST_CONST:
        return e->u.c.kind != AST_CONST_TRUE && e->u.c.kind != AST_CONST_FALSE &&
               e->u.c.kind != AST_CONST_NONE;
    default: return true;
    }
}

/* assign_value: yield_expr | star_expressions */
static AstNode *assign_value(Parser *p)
{
    return at(p, TOK_YIELD) ? yield_expr(p) : star_expressions(p);
}

/* Validate the targets of `t1 = t2 = ... = value`. */
static bool assign_targets(Parser *p, AstNode *n)
{
    AstList *targets = &n->u.assign.targets;
    for (int i = 0; i < targets->n; i++) {
        AstNode *t = targets->items[i];
        if (t->kind == AST_YIELD || t->kind == AST_YIELD_FROM) {
            fail_node(p, t, "assignment to yield expression not possible");
            return false;
        }
        AstNode *bad = invalid_target(t, AST_STORE);
        if (bad && i == 0 && targets->n == 1 && bad == t && bitwise_level(t)) {
            AstNode *v = n->u.assign.value;
            AstNode *first = v->kind == AST_TUPLE && v->u.seq.elts.n ? v->u.seq.elts.items[0] : v;
            if (bitwise_level(first) || first->kind == AST_TUPLE) {
                fail_node(p, t, "cannot assign to %s here. Maybe you meant '==' instead of '='?",
                          expr_name(t));
                return false;
            }
        }
        if (!set_context(p, t, AST_STORE)) return false;
    }
    return true;
}

/* assignment: assign_value ('=' assign_value)+
 *           | assign_value augassign assign_value
 *           | assign_value ':' expression ['=' assign_value]
 *           | assign_value                          (an expression statement)
 * The left side is parsed as an expression first and then checked as a target. */
static AstNode *assignment(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *e = assign_value(p);
    if (!e) return NULL;
    AsyToken *t = cur(p);
    if (t->kind == TOK_EQUAL) {
        AstNode *n = stmt_node(p, AST_ASSIGN, start);
        push(p, &n->u.assign.targets, e);
        AstNode *v = NULL;
        while (accept(p, TOK_EQUAL)) {
            if (!(v = assign_value(p))) return NULL;
            if (at(p, TOK_EQUAL)) push(p, &n->u.assign.targets, v);
        }
        n->u.assign.value = v;
        if (!assign_targets(p, n)) return NULL;
        return finish(p, n);
    }
    if (t->kind >= TOK_PLUSEQUAL && t->kind <= TOK_AMPEREQUAL) {
        if (e->kind != AST_NAME && e->kind != AST_ATTRIBUTE && e->kind != AST_SUBSCRIPT)
            return fail_node(p, e, "'%s' is an illegal expression for augmented assignment",
                             expr_name(e));
        advance(p);
        AstNode *v = assign_value(p);
        if (!v) return NULL;
        set_context(p, e, AST_STORE);
        AstNode *n = node_tok(p, AST_AUGASSIGN, start);
        n->u.augassign.target = e;
        n->u.augassign.op = (AstBinOp)(t->kind - TOK_PLUSEQUAL);
        n->u.augassign.value = v;
        return finish(p, n);
    }
    if (t->kind == TOK_COLON) {
        /* CPython only complains about the target once a whole annotation follows; a
         * call or the like before a bare ':' is just "invalid syntax" at the colon. */
        bool single = e->kind == AST_NAME || e->kind == AST_ATTRIBUTE || e->kind == AST_SUBSCRIPT;
        if (!single && !starts_expression(peek(p, 1)->kind)) return fail_here(p);
        advance(p);
        AstNode *ann = expression(p);
        if (!ann || !ann_target(p, e)) return NULL;
        AstNode *n = node_tok(p, AST_ANNASSIGN, start);
        n->u.annassign.target = e;
        n->u.annassign.annotation = ann;
        n->u.annassign.simple = e->kind == AST_NAME && start->kind != TOK_LPAR;
        if (accept(p, TOK_EQUAL) && !(n->u.annassign.value = assign_value(p))) return NULL;
        return finish(p, n);
    }
    if (t->kind == TOK_COLONEQUAL && e->kind != AST_NAME)
        return fail_node(p, e, "cannot use assignment expressions with %s", expr_name(e));
    /* `print "x"`: CPython's legacy-statement hint. */
    if (e->kind == AST_NAME && (strcmp(e->u.name.id, "print") == 0 ||
                                strcmp(e->u.name.id, "exec") == 0) &&
        t->kind != TOK_NEWLINE && t->kind != TOK_SEMI && t->kind != TOK_ERROR) {
        int save = p->pos;
        AstNode *arg = star_expressions(p);
        if (arg)
            return fail_span(p, e, arg, "Missing parentheses in call to '%s'. Did you mean %s(...)?",
                             e->u.name.id, e->u.name.id);
        p->failed = false;
        p->pos = save;
    }
    AstNode *n = node_tok(p, AST_EXPR_STMT, start);
    n->u.expr_stmt.value = e;
    return finish(p, n);
}

/* return_stmt: 'return' [star_expressions] */
static AstNode *return_stmt(Parser *p)
{
    AstNode *n = stmt_node(p, AST_RETURN, cur(p));
    advance(p);
    if (!at(p, TOK_NEWLINE) && !at(p, TOK_SEMI) && !(n->u.ret.value = star_expressions(p)))
        return NULL;
    return finish(p, n);
}

/* raise_stmt: 'raise' [expression ['from' expression]] */
static AstNode *raise_stmt(Parser *p)
{
    AstNode *n = stmt_node(p, AST_RAISE, cur(p));
    advance(p);
    if (!at(p, TOK_NEWLINE) && !at(p, TOK_SEMI)) {
        if (!(n->u.raise.exc = expression(p))) return NULL;
        if (accept(p, TOK_FROM) && !(n->u.raise.cause = expression(p))) return NULL;
    }
    return finish(p, n);
}

/* assert_stmt: 'assert' expression [',' expression] */
static AstNode *assert_stmt(Parser *p)
{
    AstNode *n = stmt_node(p, AST_ASSERT, cur(p));
    advance(p);
    if (!(n->u.assert_.test = expression(p))) return NULL;
    if (accept(p, TOK_COMMA) && !(n->u.assert_.msg = expression(p))) return NULL;
    return finish(p, n);
}

/* del_stmt: 'del' star_named_expression (',' star_named_expression)* [',']
 * (each target checked by set_context) */
static AstNode *del_stmt(Parser *p)
{
    AstNode *n = stmt_node(p, AST_DELETE, cur(p));
    advance(p);
    for (;;) {
        AstNode *t = star_named_expression(p);
        if (!t) return NULL;
        if (!set_context(p, t, AST_DEL)) return NULL;
        push(p, &n->u.del.targets, t);
        if (!accept(p, TOK_COMMA) || at(p, TOK_NEWLINE) || at(p, TOK_SEMI)) break;
    }
    if (!at(p, TOK_NEWLINE) && !at(p, TOK_SEMI)) return fail_here(p);
    return finish(p, n);
}

/* global_stmt: ('global' | 'nonlocal') NAME (',' NAME)* */
static AstNode *global_stmt(Parser *p)
{
    AstNode *n = stmt_node(p, at(p, TOK_GLOBAL) ? AST_GLOBAL : AST_NONLOCAL, cur(p));
    advance(p);
    int cap = 0;
    do {
        AsyToken *name = expect(p, TOK_NAME);
        if (!name) return NULL;
        add_name(p, &n->u.names.names, &n->u.names.n, &cap, tok_str(p, name));
    } while (accept(p, TOK_COMMA));
    return finish(p, n);
}

/* dotted_name: NAME ('.' NAME)* */
static const char *dotted_name(Parser *p)
{
    AsyToken *first = expect(p, TOK_NAME);
    if (!first) return NULL;
    size_t start = first->start, end = first->start + first->len;
    bool spaced = false;
    while (accept(p, TOK_DOT)) {
        AsyToken *t = expect(p, TOK_NAME);
        if (!t) return NULL;
        end = t->start + t->len;
        spaced = true;
    }
    if (!spaced) return tok_str(p, first);
    /* Rebuild without whitespace: `os . path` names "os.path". */
    char *s = asy_ast_alloc(p->arena, end - start + 1);
    size_t n = 0;
    for (size_t i = start; i < end; i++) {
        char c = p->buf[i];
        if (c != ' ' && c != '\t' && c != '\\' && c != '\n' && c != '\f') s[n++] = c;
    }
    s[n] = '\0';
    return s;
}

/* import_name: 'import' dotted_name ['as' NAME] (',' dotted_name ['as' NAME])* */
static AstNode *import_name(Parser *p)
{
    AstNode *n = stmt_node(p, AST_IMPORT, cur(p));
    advance(p);
    do {
        AsyToken *t = cur(p);
        AstNode *a = node_tok(p, AST_ALIAS, t);
        if (!(a->u.alias.name = dotted_name(p))) return NULL;
        if (accept(p, TOK_AS)) {
            AsyToken *as = expect(p, TOK_NAME);
            if (!as) return NULL;
            a->u.alias.asname = tok_str(p, as);
        }
        push(p, &n->u.import.names, finish(p, a));
    } while (accept(p, TOK_COMMA));
    return finish(p, n);
}

/* import_from_as_names: NAME ['as' NAME] (',' NAME ['as' NAME])* [','] */
static bool import_from_as_names(Parser *p, AstNode *n, bool parenthesized)
{
    for (;;) {
        AsyToken *name = expect(p, TOK_NAME);
        if (!name) return false;
        AstNode *a = node_tok(p, AST_ALIAS, name);
        a->u.alias.name = tok_str(p, name);
        if (accept(p, TOK_AS)) {
            AsyToken *as = expect(p, TOK_NAME);
            if (!as) return false;
            a->u.alias.asname = tok_str(p, as);
        }
        push(p, &n->u.import.names, finish(p, a));
        if (!accept(p, TOK_COMMA)) return true;
        if (parenthesized && at(p, TOK_RPAR)) return true;
        if (!parenthesized && (at(p, TOK_NEWLINE) || at(p, TOK_SEMI))) {
            fail_tok(p, prev(p), "trailing comma not allowed without surrounding parentheses");
            p->err->col = prev(p)->col + 2;
            p->err->end_col = p->err->col;
            return false;
        }
    }
}

/* import_from: 'from' ('.' | '...')* [dotted_name] 'import'
 *                 ('*' | '(' import_from_as_names ')' | import_from_as_names)
 * (without dots the module name is required) */
static AstNode *import_from(Parser *p)
{
    AstNode *n = stmt_node(p, AST_IMPORTFROM, cur(p));
    advance(p);
    for (;;) {
        if (accept(p, TOK_DOT)) n->u.import.level += 1;
        else if (accept(p, TOK_ELLIPSIS)) n->u.import.level += 3;
        else break;
    }
    if (!at(p, TOK_IMPORT) || n->u.import.level == 0) {
        if (!(n->u.import.module = dotted_name(p))) return NULL;
    }
    if (!expect(p, TOK_IMPORT)) return NULL;
    AsyToken *star = accept(p, TOK_STAR);
    if (star) {
        AstNode *a = node_tok(p, AST_ALIAS, star);
        a->u.alias.name = "*";
        push(p, &n->u.import.names, finish(p, a));
    } else if (accept(p, TOK_LPAR)) {
        if (!import_from_as_names(p, n, true) || !expect(p, TOK_RPAR)) return NULL;
    } else if (!import_from_as_names(p, n, false)) {
        return NULL;
    }
    return finish(p, n);
}

/* simple_stmt: return_stmt | import_name | import_from | raise_stmt | 'pass' | 'break'
 *            | 'continue' | del_stmt | assert_stmt | global_stmt | assignment */
static AstNode *simple_stmt(Parser *p)
{
    AsyToken *t = cur(p);
    AstNode *n;
    switch (t->kind) {
    case TOK_RETURN: return return_stmt(p);
    case TOK_IMPORT: return import_name(p);
    case TOK_FROM: return import_from(p);
    case TOK_RAISE: return raise_stmt(p);
    case TOK_PASS: case TOK_BREAK: case TOK_CONTINUE:
        n = stmt_node(p, t->kind == TOK_PASS ? AST_PASS : t->kind == TOK_BREAK ? AST_BREAK
                                                                                : AST_CONTINUE, t);
        advance(p);
        return finish(p, n);
    case TOK_DEL: return del_stmt(p);
    case TOK_ASSERT: return assert_stmt(p);
    case TOK_GLOBAL: case TOK_NONLOCAL: return global_stmt(p);
    default: return assignment(p);
    }
}

/* simple_stmts: simple_stmt (';' simple_stmt)* [';'] NEWLINE */
static bool simple_stmts(Parser *p, AstList *out)
{
    for (;;) {
        AstNode *s = simple_stmt(p);
        if (!s) return false;
        push(p, out, s);
        if (!accept(p, TOK_SEMI) || at(p, TOK_NEWLINE)) break;
    }
    if (!accept(p, TOK_NEWLINE)) return fail_here(p), false;
    return true;
}

/* block: NEWLINE INDENT statement+ DEDENT | simple_stmts
 * `what` and `line` name the owner for "expected an indented block after ...". */
static bool block(Parser *p, AstList *body, const char *what, int line)
{
    if (!accept(p, TOK_NEWLINE)) return simple_stmts(p, body);
    if (!accept(p, TOK_INDENT)) {
        if (at(p, TOK_ERROR)) return fail_here(p), false;
        AsyToken *t = cur(p);
        if (t->kind == TOK_ENDMARKER || t->kind == TOK_DEDENT) {
            /* CPython points past the header at the end of input, else at the start of
             * the dedented line (offset 0). */
            AsyToken *nl = prev(p);
            bool eof = t->kind == TOK_ENDMARKER || peek(p, 1)->kind == TOK_ENDMARKER ||
                       peek(p, 1)->kind == TOK_DEDENT;
            fail_range(p, "IndentationError", eof ? nl->line : t->line, eof ? nl->end_col : -1,
                       eof ? nl->line : t->line, -1,
                       "expected an indented block after %s on line %d", what, line);
            if (eof) p->err->incomplete = true; /* the REPL reads the block next */
            return false;
        }
        fail_range(p, "IndentationError", t->line, t->col, t->end_line, t->end_col,
                   "expected an indented block after %s on line %d", what, line);
        return false;
    }
    while (!accept(p, TOK_DEDENT)) {
        if (at(p, TOK_ENDMARKER)) return fail_here(p), false;
        if (!statement(p, body)) return false;
    }
    return true;
}

/* colon_block: ':' block */
static bool colon_block(Parser *p, AstList *body, const char *what, int line)
{
    bool forced = strncmp(what, "function", 8) == 0 || strcmp(what, "'try' statement") == 0 ||
                  strcmp(what, "'else' statement") == 0 || strcmp(what, "'finally' statement") == 0;
    if (!expect_forced(p, TOK_COLON, forced)) return false;
    return block(p, body, what, line);
}

/* else_block: 'else' ':' block */
static bool else_block(Parser *p, AstList *orelse)
{
    AsyToken *kw = cur(p);
    advance(p);
    return colon_block(p, orelse, "'else' statement", kw->line);
}

/* condition: named_expression */
static AstNode *condition(Parser *p)
{
    return named_expression(p);
}

/* if_stmt: ('if' | 'elif') condition colon_block [&'elif' if_stmt | else_block]
 * (an elif is an if_stmt alone in the orelse of the one before) */
static AstNode *if_stmt(Parser *p)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_IF, kw);
    if (!(n->u.if_.test = condition(p))) return NULL;
    const char *what = kw->kind == TOK_IF ? "'if' statement" : "'elif' statement";
    if (!colon_block(p, &n->u.if_.body, what, kw->line)) return NULL;
    if (at(p, TOK_ELIF)) {
        AstNode *elif = if_stmt(p);
        if (!elif) return NULL;
        push(p, &n->u.if_.orelse, elif);
    } else if (at(p, TOK_ELSE) && !else_block(p, &n->u.if_.orelse)) {
        return NULL;
    }
    return finish(p, n);
}

/* while_stmt: 'while' condition colon_block [else_block] */
static AstNode *while_stmt(Parser *p)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_WHILE, kw);
    if (!(n->u.while_.test = condition(p))) return NULL;
    if (!colon_block(p, &n->u.while_.body, "'while' statement", kw->line)) return NULL;
    if (at(p, TOK_ELSE) && !else_block(p, &n->u.while_.orelse)) return NULL;
    return finish(p, n);
}

/* for_stmt: 'for' star_targets 'in' star_expressions colon_block [else_block] */
static AstNode *for_stmt(Parser *p, const AsyToken *start, bool is_async)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_FOR, start);
    n->u.for_.is_async = is_async;
    AstNode *target = star_targets(p);
    if (!target || !set_context(p, target, AST_STORE)) return NULL;
    n->u.for_.target = target;
    if (!expect(p, TOK_IN)) return NULL;
    if (!(n->u.for_.iter = star_expressions(p))) return NULL;
    if (!colon_block(p, &n->u.for_.body, "'for' statement", kw->line)) return NULL;
    if (at(p, TOK_ELSE) && !else_block(p, &n->u.for_.orelse)) return NULL;
    return finish(p, n);
}

/* with_item: expression ['as' ['*'] bitwise_or] */
static AstNode *with_item(Parser *p)
{
    AsyToken *start = cur(p);
    AstNode *e = expression(p);
    if (!e) return NULL;
    AstNode *n = node_tok(p, AST_WITHITEM, start);
    n->u.withitem.context_expr = e;
    if (accept(p, TOK_AS)) {
        AsyToken *star = accept(p, TOK_STAR);
        AstNode *t = bitwise_or(p);
        if (!t) return NULL;
        if (star) {
            AstNode *s = node_tok(p, AST_STARRED, star);
            s->u.starred.value = t;
            t = finish(p, s);
        }
        if (!set_context(p, t, AST_STORE)) return NULL;
        n->u.withitem.optional_vars = t;
    }
    return finish(p, n);
}

/* with_items_parenthesized: '(' with_item (',' with_item)* [','] ')' &':'
 * Tried first, as in CPython; if the parentheses turn out to belong to an expression
 * (`with (a, b) as c:`) we rewind and reparse. */
static bool with_items_parenthesized(Parser *p, AstList *items)
{
    int save = p->pos;
    int depth = *p->depth;
    advance(p); /* '(' */
    bool ok = true;
    while (ok && !at(p, TOK_RPAR)) {
        AstNode *it = with_item(p);
        if (!it) ok = false;
        else push(p, items, it);
        if (!ok || !accept(p, TOK_COMMA)) break;
    }
    ok = ok && accept(p, TOK_RPAR) && at(p, TOK_COLON) && items->n > 0;
    if (!ok) {
        p->failed = false;
        p->pos = save;
        *p->depth = depth;
        items->n = 0;
    }
    return ok;
}

/* with_stmt: 'with' (with_items_parenthesized | with_item (',' with_item)*) colon_block */
static AstNode *with_stmt(Parser *p, const AsyToken *start, bool is_async)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_WITH, start);
    n->u.with.is_async = is_async;
    if (!at(p, TOK_LPAR) || !with_items_parenthesized(p, &n->u.with.items)) {
        do {
            AstNode *it = with_item(p);
            if (!it) return NULL;
            push(p, &n->u.with.items, it);
        } while (accept(p, TOK_COMMA));
    }
    if (!colon_block(p, &n->u.with.body, "'with' statement", kw->line)) return NULL;
    return finish(p, n);
}

/* except_block: 'except' ['*' expression ['as' NAME] | expression ['as' NAME]] colon_block
 * *star says whether it is an except* clause. */
static AstNode *except_block(Parser *p, bool *star)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_EXCEPT_HANDLER, kw);
    *star = accept(p, TOK_STAR) != NULL;
    if (*star && (at(p, TOK_COLON) || at(p, TOK_NEWLINE)))
        return fail_tok(p, cur(p), "expected one or more exception types");
    if (!at(p, TOK_COLON) && !at(p, TOK_NEWLINE)) {
        if (!(n->u.handler.type = expression(p))) return NULL;
        if (at(p, TOK_COMMA)) {
            int save = p->pos;
            advance(p);
            AstNode *more = expression(p);
            if (more) {
                while (accept(p, TOK_COMMA) && (more = expression(p))) {}
            }
            if (more && (at(p, TOK_COLON) || at(p, TOK_AS)))
                return fail_span(p, n->u.handler.type, more,
                                 "multiple exception types must be parenthesized");
            p->failed = false;
            p->pos = save;
            return fail_here(p);
        }
        if (accept(p, TOK_AS)) {
            AsyToken *name = expect(p, TOK_NAME);
            if (!name) return NULL;
            n->u.handler.name = tok_str(p, name);
        }
    }
    if (!colon_block(p, &n->u.handler.body, *star ? "'except*' statement" : "'except' statement",
                     kw->line))
        return NULL;
    return finish(p, n);
}

/* try_stmt: 'try' colon_block (except_block+ [else_block] ['finally' colon_block]
 *                              | 'finally' colon_block)
 * The except blocks are all except* clauses or none is. */
static AstNode *try_stmt(Parser *p)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_TRY, kw);
    if (!colon_block(p, &n->u.try_.body, "'try' statement", kw->line)) return NULL;
    while (at(p, TOK_EXCEPT)) {
        AsyToken *ek = cur(p);
        bool star;
        AsyToken *next = peek(p, 1);
        if (n->u.try_.handlers.n && (next->kind == TOK_STAR) != n->u.try_.star) {
            /* CPython marks `except` after except* clauses, `except*` after except ones */
            AsyToken *last = n->u.try_.star ? ek : next;
            return fail_range(p, "SyntaxError", ek->line, ek->col, last->end_line, last->end_col,
                              "cannot have both 'except' and 'except*' on the same 'try'");
        }
        AstNode *h = except_block(p, &star);
        if (!h) return NULL;
        n->u.try_.star = star;
        push(p, &n->u.try_.handlers, h);
    }
    for (int i = 0; i + 1 < n->u.try_.handlers.n; i++) {
        AstNode *h = n->u.try_.handlers.items[i];
        if (!h->u.handler.type) return fail_node(p, h, "default 'except:' must be last");
    }
    if (n->u.try_.handlers.n && at(p, TOK_ELSE) && !else_block(p, &n->u.try_.orelse))
        return NULL;
    if (at(p, TOK_FINALLY)) {
        AsyToken *fk = cur(p);
        advance(p);
        if (!colon_block(p, &n->u.try_.finalbody, "'finally' statement", fk->line))
            return NULL;
    } else if (!n->u.try_.handlers.n) {
        if (at(p, TOK_ERROR)) return fail_here(p);
        AsyToken *t = cur(p);
        for (int i = p->pos; (t->kind == TOK_DEDENT || t->kind == TOK_ENDMARKER) && i > 0;)
            t = &p->toks[--i];
        return fail_range(p, "SyntaxError", t->line, t->col, t->line, -1,
                          "expected 'except' or 'finally' block");
    }
    return finish(p, n);
}

/* function_def: 'def' NAME '(' params ')' ['->' expression] colon_block */
static AstNode *function_def(Parser *p, const AsyToken *start, bool is_async)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_FUNCTIONDEF, start);
    n->u.funcdef.is_async = is_async;
    AsyToken *name = expect(p, TOK_NAME);
    if (!name || !expect_forced(p, TOK_LPAR, true)) return NULL;
    n->u.funcdef.name = tok_str(p, name);
    if (!(n->u.funcdef.args = params(p, TOK_RPAR, true))) return NULL;
    advance(p); /* ')' */
    if (accept(p, TOK_ARROW) && !(n->u.funcdef.returns = expression(p))) return NULL;
    if (!colon_block(p, &n->u.funcdef.body, "function definition", kw->line)) return NULL;
    return finish(p, n);
}

/* class_def: 'class' NAME ['(' arguments ')'] colon_block */
static AstNode *class_def(Parser *p)
{
    AsyToken *kw = cur(p);
    advance(p);
    AstNode *n = stmt_node(p, AST_CLASSDEF, kw);
    AsyToken *name = expect(p, TOK_NAME);
    if (!name) return NULL;
    n->u.classdef.name = tok_str(p, name);
    if (accept(p, TOK_LPAR)) {
        int start = p->pos;
        if (!arguments(p, &n->u.classdef.bases, &n->u.classdef.keywords, TOK_RPAR, NULL))
            return NULL;
        /* A class takes no bare generator expression: "invalid syntax" at its `for`. */
        for (int i = start; i < p->pos; i++) {
            AstNode **b = n->u.classdef.bases.items;
            if (n->u.classdef.bases.n && b[0]->kind == AST_GENEXP && p->toks[i].level ==
                p->toks[start].level && (p->toks[i].kind == TOK_FOR || p->toks[i].kind == TOK_ASYNC)) {
                p->pos = i;
                return fail_here(p);
            }
        }
        if (!expect(p, TOK_RPAR)) return NULL;
    }
    if (!colon_block(p, &n->u.classdef.body, "class definition", kw->line)) return NULL;
    return finish(p, n);
}

/* async_stmt: 'async' (function_def | with_stmt | for_stmt) */
static AstNode *async_stmt(Parser *p)
{
    AsyToken *kw = cur(p);
    advance(p);
    switch (cur(p)->kind) {
    case TOK_DEF: return function_def(p, kw, true);
    case TOK_WITH: return with_stmt(p, kw, true);
    case TOK_FOR: return for_stmt(p, kw, true);
    default: return fail_here(p);
    }
}

/* decorated: ('@' named_expression NEWLINE)+ (class_def | function_def | async_stmt) */
static AstNode *decorated(Parser *p)
{
    AstList decorators = {0};
    while (accept(p, TOK_AT)) {
        AstNode *d = named_expression(p);
        if (!d) return NULL;
        if (!expect(p, TOK_NEWLINE)) return NULL;
        push(p, &decorators, d);
    }
    AstNode *n;
    if (at(p, TOK_CLASS)) {
        if (!(n = class_def(p))) return NULL;
        n->u.classdef.decorators = decorators;
        return n;
    }
    if (at(p, TOK_DEF)) n = function_def(p, cur(p), false);
    else if (at(p, TOK_ASYNC) && peek(p, 1)->kind == TOK_DEF) n = async_stmt(p);
    else return fail_here(p);
    if (!n) return NULL;
    n->u.funcdef.decorators = decorators;
    return n;
}

/* compound_stmt: function_def | if_stmt | class_def | with_stmt | for_stmt | try_stmt
 *              | while_stmt | decorated | async_stmt */
static AstNode *compound_stmt(Parser *p)
{
    switch (cur(p)->kind) {
    case TOK_DEF: return function_def(p, cur(p), false);
    case TOK_IF: return if_stmt(p);
    case TOK_CLASS: return class_def(p);
    case TOK_WITH: return with_stmt(p, cur(p), false);
    case TOK_FOR: return for_stmt(p, cur(p), false);
    case TOK_TRY: return try_stmt(p);
    case TOK_WHILE: return while_stmt(p);
    case TOK_AT: return decorated(p);
    case TOK_ASYNC: return async_stmt(p);
    default: return fail_here(p);
    }
}

static bool is_compound_start(Parser *p)
{
    switch (cur(p)->kind) {
    case TOK_DEF: case TOK_IF: case TOK_CLASS: case TOK_WITH: case TOK_FOR: case TOK_TRY:
    case TOK_WHILE: case TOK_AT:
        return true;
    case TOK_ASYNC: {
        AsyTokKind k = peek(p, 1)->kind;
        return k == TOK_DEF || k == TOK_WITH || k == TOK_FOR;
    }
    default: return false;
    }
}

/* statement: compound_stmt | simple_stmts */
static AstNode *statement(Parser *p, AstList *out)
{
    if (is_compound_start(p)) {
        AstNode *s = compound_stmt(p);
        if (s) push(p, out, s);
        return s;
    }
    AsyTokKind k = cur(p)->kind;
    if (k == TOK_ELSE || k == TOK_ELIF || k == TOK_EXCEPT || k == TOK_FINALLY ||
        k == TOK_INDENT || k == TOK_ERROR)
        return fail_here(p);
    int before = out->n;
    if (!simple_stmts(p, out)) return NULL;
    return out->items[before];
}

/* file: statement* ENDMARKER */
static AstNode *file(Parser *p)
{
    AstNode *m = asy_ast_node(p->arena, AST_MODULE, 1, 0);
    while (!at(p, TOK_ENDMARKER)) {
        if (!statement(p, &m->u.module.body)) return NULL;
    }
    return m;
}

/* eval: [INDENT] star_expressions NEWLINE* [DEDENT] ENDMARKER */
static AstNode *eval(Parser *p)
{
    AstNode *m = asy_ast_node(p->arena, AST_MODULE, 1, 0);
    bool indented = accept(p, TOK_INDENT) != NULL; /* eval(" 1") strips leading blanks */
    AsyToken *start = cur(p);
    AstNode *e = star_expressions(p);
    if (!e) return NULL;
    while (accept(p, TOK_NEWLINE)) {}
    if (indented) accept(p, TOK_DEDENT);
    if (!at(p, TOK_ENDMARKER)) return fail_here(p);
    AstNode *s = node_tok(p, AST_EXPR_STMT, start);
    s->u.expr_stmt.value = e;
    end_as(s, e);
    push(p, &m->u.module.body, s);
    return m;
}

/* interactive: NEWLINE | ENDMARKER | statement NEWLINE* ENDMARKER  (one REPL statement) */
static AstNode *interactive(Parser *p)
{
    AstNode *m = asy_ast_node(p->arena, AST_MODULE, 1, 0);
    if (accept(p, TOK_NEWLINE) || at(p, TOK_ENDMARKER)) return m;
    AstList *body = &m->u.module.body;
    if (!statement(p, body)) return NULL;
    while (at(p, TOK_NEWLINE)) advance(p);
    if (!at(p, TOK_ENDMARKER)) {
        AsyToken *t = cur(p);
        return fail_range(p, "SyntaxError", t->line, t->col, t->end_line, t->end_col,
                          "multiple statements found while compiling a single statement");
    }
    return m;
}

/* ============================ entry point ============================ */

/* Pick the error to report, as CPython's _PyPegen_set_syntax_error does: a tokenizer
 * error later in the file beats a parser error, and an unclosed bracket opened before the
 * parser's error line is reported instead of it. */
static void choose_error(Parser *p)
{
    AsyToken *last = &p->toks[p->ntoks - 1];
    if (last->kind != TOK_ERROR) return;
    AsyLexer *lx = p->lx;
    if (lx->err_kind == ASY_LEXERR_RAISED) {
        /* CPython's tokenizer raises these at once, and re-reads the rest of the file
         * after any parser error: either way they win. */
        *p->err = lx->err;
        return;
    }
    /* The bracket never closed, so everything after it is inside it. If the parser read
     * past the bracket's line before failing (or failed at the bracket itself, where
     * CPython's error rules read on), CPython blames the bracket. */
    AsyToken *t = &p->toks[p->fail_pos];
    int bline = lx->err.line, bcol = lx->err.col - 1;
    if (lx->err_kind == ASY_LEXERR_EOF &&
        (p->toks[p->max_pos].line > bline || (t->line == bline && t->col == bcol)))
        *p->err = lx->err;
}

AstNode *asy_parse(AstArena *arena, const char *src, size_t len, AsyParseMode mode,
                   AsyParseError *err)
{
    memset(err, 0, sizeof *err);
    size_t n;
    char *buf = asy_lexer_prepare(arena, src, len, &n, err);
    if (!buf) return NULL;
    AsyLexer *lx = asy_ast_alloc(arena, sizeof(AsyLexer));
    asy_lexer_init(lx, buf, n);
    int depth = 0;
    Parser p = {.arena = arena, .buf = buf, .lx = lx, .err = err, .depth = &depth};
    p.toks = asy_lexer_tokenize(lx, arena, &p.ntoks);
    AstNode *root = mode == ASY_PARSE_EVAL     ? eval(&p)
                    : mode == ASY_PARSE_SINGLE ? interactive(&p)
                                               : file(&p);
    if (root) {
        memset(err, 0, sizeof *err); /* abandoned alternatives may have scribbled here */
        return root;
    }
    if (!p.failed) fail_here(&p);
    choose_error(&p);
    if (p.fail_pos < p.ntoks && p.toks[p.fail_pos].kind == TOK_ENDMARKER) err->incomplete = true;
    return NULL;
}
