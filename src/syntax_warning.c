/* syntax_warning.c - CPython 3.11's compile-time SyntaxWarnings (compiler_warn): an `is`
 * against a literal, an assert of a non-empty tuple, calling or subscripting a literal that
 * cannot be called or subscripted (a missing comma, most likely). Printed on stderr as the
 * warnings module shows them, "FILE:LINE: SyntaxWarning: MESSAGE" and the source line, every
 * time (CPython passes no registry, so two on one line both show).
 *
 * What counts as a literal follows CPython's AST optimizer, which runs first: constants,
 * negated numbers and tuples of constants are constants; f-strings are not. */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "syntax_warning.h"

/* The source line (1-based), without its indentation or newline: *len bytes at the result. */
static const char *line_text(const AsyWarnSource *s, int lineno, size_t *len) {
    size_t i = 0;
    for (int l = 1; l < lineno && i < s->srclen; i++)
        if (s->src[i] == '\n') l++;
    while (i < s->srclen && (s->src[i] == ' ' || s->src[i] == '\t')) i++;
    size_t j = i;
    while (j < s->srclen && s->src[j] != '\n') j++;
    while (j > i && (s->src[j - 1] == '\r' || s->src[j - 1] == ' ' || s->src[j - 1] == '\t')) j--;
    *len = j - i;
    return s->src + i;
}

static void warn(const AsyWarnSource *s, int lineno, const char *fmt, ...) {
    FILE *err = s->vm->err ? s->vm->err : stderr;
    fprintf(err, "%s:%d: SyntaxWarning: ", s->filename, lineno);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(err, fmt, ap);
    va_end(ap);
    fputc('\n', err);
    /* the warnings module quotes the line through linecache: only files have lines */
    if (!s->src || s->filename[0] == '<') return;
    size_t len;
    const char *text = line_text(s, lineno, &len);
    if (len) fprintf(err, "  %.*s\n", (int)len, text);
}

static bool is_constant(const AstNode *e) {
    switch (e->kind) {
    case AST_CONST: return true;
    case AST_UNARYOP: {
        const AstNode *o = e->u.unary.operand;
        if (e->u.unary.op == AST_NOT || o->kind != AST_CONST) return false;
        AstConstKind k = o->u.c.kind;
        return k == AST_CONST_INT || k == AST_CONST_BIGINT || k == AST_CONST_FLOAT ||
               (k == AST_CONST_IMAG && e->u.unary.op != AST_INVERT);
    }
    case AST_TUPLE:
        if (e->u.seq.ctx != AST_LOAD) return false;
        for (int i = 0; i < e->u.seq.elts.n; i++)
            if (!is_constant(e->u.seq.elts.items[i])) return false;
        return true;
    default: return false;
    }
}

/* CPython's infer_type: the type e's value surely has, or NULL. */
static const char *infer_type(const AstNode *e) {
    switch (e->kind) {
    case AST_CONST:
        switch (e->u.c.kind) {
        case AST_CONST_NONE: return "NoneType";
        case AST_CONST_TRUE:
        case AST_CONST_FALSE: return "bool";
        case AST_CONST_ELLIPSIS: return "ellipsis";
        case AST_CONST_INT:
        case AST_CONST_BIGINT: return "int";
        case AST_CONST_FLOAT: return "float";
        case AST_CONST_IMAG: return "complex";
        case AST_CONST_STR: return "str";
        case AST_CONST_BYTES: return "bytes";
        }
        return NULL;
    case AST_UNARYOP: return is_constant(e) ? infer_type(e->u.unary.operand) : NULL;
    case AST_TUPLE: return "tuple";
    case AST_LIST:
    case AST_LISTCOMP: return "list";
    case AST_DICT:
    case AST_DICTCOMP: return "dict";
    case AST_SET:
    case AST_SETCOMP: return "set";
    case AST_GENEXP: return "generator";
    case AST_LAMBDA: return "function";
    case AST_FSTRING:
    case AST_FORMATTED: return "str";
    case AST_SLICE: return "slice";
    default: return NULL;
    }
}

static bool type_is(const char *t, const char *name) { return t && strcmp(t, name) == 0; }

/* check_is_arg: true unless e is a constant other than None, True, False and ... */
static bool is_arg_ok(const AstNode *e) {
    if (!is_constant(e)) return true;
    const char *t = infer_type(e);
    return type_is(t, "NoneType") || type_is(t, "bool") || type_is(t, "ellipsis");
}

void asy_warn_compare(const AsyWarnSource *s, const AstNode *cmp) {
    bool left = is_arg_ok(cmp->u.compare.left);
    for (int i = 0; i < cmp->u.compare.comparators.n; i++) {
        AstCmpOp op = cmp->u.compare.ops[i];
        bool right = is_arg_ok(cmp->u.compare.comparators.items[i]);
        if ((op == AST_IS || op == AST_IS_NOT) && !(left && right)) {
            warn(s, cmp->line, op == AST_IS ? "\"is\" with a literal. Did you mean \"==\"?"
                                            : "\"is not\" with a literal. Did you mean \"!=\"?");
            return;
        }
        left = right;
    }
}

void asy_warn_call(const AsyWarnSource *s, const AstNode *call) {
    const AstNode *f = call->u.call.func;
    switch (f->kind) {
    case AST_CONST:
    case AST_UNARYOP:
    case AST_TUPLE:
    case AST_LIST:
    case AST_LISTCOMP:
    case AST_DICT:
    case AST_DICTCOMP:
    case AST_SET:
    case AST_SETCOMP:
    case AST_GENEXP:
    case AST_FSTRING:
    case AST_FORMATTED:
        if (f->kind == AST_UNARYOP && !is_constant(f)) return;
        warn(s, call->line, "'%s' object is not callable; perhaps you missed a comma?",
             infer_type(f));
        return;
    default: return;
    }
}

/* check_subscripter: constants that have no items, and sets, generators, lambdas. */
static void warn_subscripter(const AsyWarnSource *s, const AstNode *sub, const AstNode *v) {
    const char *t = infer_type(v);
    if (is_constant(v)) {
        static const char *const bad[] = {"NoneType", "ellipsis", "int", "bool", "float",
                                          "complex"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            if (type_is(t, bad[i])) goto bad;
        return;
    }
    if (v->kind != AST_SET && v->kind != AST_SETCOMP && v->kind != AST_GENEXP &&
        v->kind != AST_LAMBDA)
        return;
bad:
    warn(s, sub->line, "'%s' object is not subscriptable; perhaps you missed a comma?", t);
}

/* check_index: a sequence literal indexed by what is surely not an int or a slice. */
static void warn_index(const AsyWarnSource *s, const AstNode *sub, const AstNode *v,
                       const AstNode *index) {
    const char *it = infer_type(index);
    if (!it || type_is(it, "int") || type_is(it, "bool") || type_is(it, "slice")) return;
    const char *vt = infer_type(v);
    if (is_constant(v)) {
        if (!type_is(vt, "str") && !type_is(vt, "bytes") && !type_is(vt, "tuple")) return;
    } else if (v->kind != AST_TUPLE && v->kind != AST_LIST && v->kind != AST_LISTCOMP &&
               v->kind != AST_FSTRING && v->kind != AST_FORMATTED) {
        return;
    }
    warn(s, sub->line, "%s indices must be integers or slices, not %s; perhaps you missed a comma?",
         vt, it);
}

void asy_warn_subscript(const AsyWarnSource *s, const AstNode *sub) {
    warn_subscripter(s, sub, sub->u.subscript.value);
    warn_index(s, sub, sub->u.subscript.value, sub->u.subscript.index);
}

void asy_warn_assert(const AsyWarnSource *s, const AstNode *a) {
    const AstNode *t = a->u.assert_.test;
    if (t->kind == AST_TUPLE && t->u.seq.elts.n > 0)
        warn(s, a->line, "assertion is always true, perhaps remove parentheses?");
}
