/* traceback.c - the only code that formats errors for the user: the traceback type, and
 * printing an uncaught exception exactly as CPython 3.11 does (chained causes and contexts,
 * one `File "x", line N, in f` entry per frame with its source line and ~~^^ markers,
 * SyntaxError carets, notes, then `Type: message`).
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "vm.h"

/* ---- the traceback type ---- */

static void tb_traverse(AsyVM *vm, AsyObj *o) {
    AsyTraceback *tb = (AsyTraceback *)o;
    asy_gc_mark_obj(vm, (AsyObj *)tb->next);
    asy_gc_mark_obj(vm, (AsyObj *)tb->code);
}

static int32_t tb_line(AsyTraceback *tb) {
    if (tb->ip >= 0 && tb->ip < tb->code->ncode) return tb->code->locs[tb->ip].line;
    return tb->code->firstline;
}

static AsyValue tb_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyTraceback *tb = (AsyTraceback *)ASY_AS_OBJ(self);
    if (strcmp(name->data, "tb_next") == 0) return tb->next ? ASY_OBJ(tb->next) : ASY_NONE;
    if (strcmp(name->data, "tb_lineno") == 0) return ASY_INT(tb_line(tb));
    if (strcmp(name->data, "tb_lasti") == 0) return ASY_INT(tb->ip * 2);
    return vm->types[ASY_TYPE_object]->getattr(vm, self, name);
}

void asy_traceback_init(AsyVM *vm) {
    AsyType *t = asy_type_new_builtin(vm, "traceback", ASY_TYPE(vm, object),
                                      sizeof(AsyTraceback));
    t->traverse = tb_traverse;
    t->getattr = tb_getattr;
    asy_type_ready(vm, t);
    vm->types[ASY_TYPE_traceback] = t;
}

/* ---- source lines ---- */

/* Line `lineno` (1-based) of a file, without its newline, malloc'd; NULL if unavailable.
 * Names like "<string>" and "<stdin>" have no source to show, as in CPython. */
static char *source_line(const char *filename, int lineno) {
    if (!filename || filename[0] == '<' || lineno < 1) return NULL;
    FILE *f = fopen(filename, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    for (int i = 0; i < lineno; i++) {
        n = getline(&buf, &cap, f);
        if (n < 0) break;
    }
    fclose(f);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    return buf;
}

/* Byte offset of code point `cp` in a UTF-8 string (clamped to its length). */
static size_t utf8_offset(const char *s, int cp) {
    size_t i = 0;
    for (int k = 0; k < cp && s[i]; k++) {
        i++;
        while ((s[i] & 0xC0) == 0x80) i++;
    }
    return i;
}

static int utf8_count(const char *s, size_t nbytes) {
    int n = 0;
    for (size_t i = 0; i < nbytes && s[i]; i++)
        if ((s[i] & 0xC0) != 0x80) n++;
    return n;
}

/* CPython 3.11's anchors: for a binary operation `~~^~~` marks the operator, for a
 * subscript `~^^^` marks the brackets. Found by parsing the failing segment again. */
static bool caret_anchors(const char *segment, int *left, int *right) {
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    AstNode *mod = asy_parse(arena, segment, strlen(segment), ASY_PARSE_EVAL, &err);
    bool found = false;
    if (mod && mod->u.module.body.n == 1) {
        AstNode *e = mod->u.module.body.items[0]->u.expr_stmt.value;
        if (e->kind == AST_BINOP) {
            AstNode *l = e->u.binop.left, *r = e->u.binop.right;
            size_t lb = utf8_offset(segment, l->end_col), rb = utf8_offset(segment, r->col);
            for (size_t i = lb; i < rb; i++) {
                if (segment[i] == ' ' || segment[i] == '\t' || segment[i] == '\f') continue;
                *left = utf8_count(segment, i);
                *right = *left + 1;
                if (i + 1 < rb && segment[i + 1] != ' ' && segment[i + 1] != '\t') ++*right;
                found = true;
                break;
            }
        } else if (e->kind == AST_SUBSCRIPT) {
            *left = e->u.subscript.value->end_col;
            *right = e->u.subscript.index->end_col + 1;
            found = true;
        }
    }
    asy_ast_arena_free(arena);
    return found;
}

static void print_carets(FILE *out, const char *line, const AsyLoc *loc) {
    if (loc->col < 0 || loc->end_col < 0) return;
    int stripped = 0;
    while (line[stripped] == ' ' || line[stripped] == '\t' || line[stripped] == '\f') stripped++;
    int len = utf8_count(line, strlen(line));
    int end_trim = len;
    while (end_trim > stripped && (line[utf8_offset(line, end_trim - 1)] == ' ' ||
                                   line[utf8_offset(line, end_trim - 1)] == '\t'))
        end_trim--;
    int start = loc->col, end = loc->end_col;
    int left = 0, right = 0;
    bool anchors = false;
    if (loc->end_line == loc->line) {
        if (end > len) end = len;
        size_t sb = utf8_offset(line, start), eb = utf8_offset(line, end);
        char *seg = strndup(line + sb, eb - sb);
        if (seg) anchors = caret_anchors(seg, &left, &right);
        free(seg);
    } else {
        end = end_trim;
    }
    if (start < stripped || end <= start) return;
    if (!(end - start < end_trim - stripped || (anchors && right - left > 0))) return;
    fprintf(out, "    %*s", start - stripped, "");
    for (int i = 0; i < end - start; i++) {
        char c = '^';
        if (anchors) c = (i < left || i >= right) ? '~' : '^';
        fputc(c, out);
    }
    fputc('\n', out);
}

static void print_entry(AsyVM *vm, FILE *out, AsyTraceback *tb) {
    ASY_UNUSED(vm);
    AsyCode *code = tb->code;
    int32_t lineno = tb_line(tb);
    const char *file = code->filename ? code->filename->data : "<unknown>";
    fprintf(out, "  File \"%s\", line %d, in %s\n", file, lineno,
            code->name ? code->name->data : "?");
    char *line = source_line(file, lineno);
    if (!line) return;
    const char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\f') p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (n > 0) {
        fprintf(out, "    %.*s\n", (int)n, p);
        if (tb->ip >= 0 && tb->ip < code->ncode) print_carets(out, line, &code->locs[tb->ip]);
    }
    free(line);
}

/* ---- the exception line ---- */

static void print_type_name(AsyVM *vm, FILE *out, AsyType *t) {
    ASY_UNUSED(vm);
    const char *mod = t->module ? t->module->data : "builtins";
    const char *name = t->qualname ? t->qualname->data : t->name;
    if (strcmp(mod, "__main__") != 0 && strcmp(mod, "builtins") != 0)
        fprintf(out, "%s.%s", mod, name);
    else
        fputs(name, out);
}

static AsyValue exc_attr(AsyVM *vm, AsyException *e, const char *name) {
    AsyValue v = asy_getattr_opt(vm, ASY_OBJ(e), asy_str_intern_cstr(vm, name));
    if (ASY_IS_ERR(v)) asy_exc_clear(vm);
    return v;
}

static void print_syntax_error_location(AsyVM *vm, FILE *out, AsyException *e) {
    AsyValue file = exc_attr(vm, e, "filename"), line = exc_attr(vm, e, "lineno");
    AsyValue text = exc_attr(vm, e, "text"), off = exc_attr(vm, e, "offset");
    AsyValue end = exc_attr(vm, e, "end_offset");
    if (!ASY_IS_OBJ(file) || !ASY_IS_INT(line)) return;
    fprintf(out, "  File \"%s\", line %lld\n", ((AsyStr *)ASY_AS_OBJ(file))->data,
            (long long)ASY_AS_INT(line));
    if (!ASY_IS_OBJ(text)) return;
    const char *t = ((AsyStr *)ASY_AS_OBJ(text))->data;
    int lead = 0;
    while (t[lead] == ' ' || t[lead] == '\t' || t[lead] == '\f') lead++;
    size_t n = strlen(t + lead);
    while (n > 0 && (t[lead + n - 1] == '\n' || t[lead + n - 1] == '\r' ||
                     t[lead + n - 1] == ' '))
        n--;
    fprintf(out, "    %.*s\n", (int)n, t + lead);
    if (!ASY_IS_INT(off)) return;
    int col = (int)ASY_AS_INT(off) - utf8_count(t, (size_t)lead);
    int width = ASY_IS_INT(end) && ASY_AS_INT(end) > ASY_AS_INT(off)
                    ? (int)(ASY_AS_INT(end) - ASY_AS_INT(off)) : 1;
    int max = utf8_count(t + lead, n) + 1;
    if (col < 1) col = 1;
    if (col > max) col = max;
    if (col - 1 + width > max) width = max - col + 1;
    fprintf(out, "    %*s", col - 1, "");
    for (int i = 0; i < width; i++) fputc('^', out);
    fputc('\n', out);
}

static void print_exception_line(AsyVM *vm, FILE *out, AsyException *e) {
    AsyType *t = e->hdr.type;
    bool syntax = asy_is_subtype(t, vm->exc_types[ASY_EXC_SyntaxError]);
    if (syntax) print_syntax_error_location(vm, out, e);
    print_type_name(vm, out, t);
    AsyValue s = syntax ? exc_attr(vm, e, "msg") : asy_str(vm, ASY_OBJ(e));
    if (ASY_IS_ERR(s)) {
        asy_exc_clear(vm);
        fputs(": <exception str() failed>\n", out);
        return;
    }
    if (!ASY_IS_OBJ(s) || !asy_isinstance(vm, s, ASY_TYPE(vm, str))) {
        s = asy_str(vm, s);
        if (ASY_IS_ERR(s)) {
            asy_exc_clear(vm);
            s = ASY_OBJ(vm->empty_str);
        }
    }
    AsyStr *msg = (AsyStr *)ASY_AS_OBJ(s);
    if (msg->len > 0) fprintf(out, ": %s", msg->data);
    fputc('\n', out);
    AsyValue notes = e->dict ? asy_dict_get_cstr(vm, e->dict, "__notes__") : ASY_UNDEF;
    if (ASY_IS_OBJ(notes) && asy_isinstance(vm, notes, ASY_TYPE(vm, list))) {
        AsyList *l = (AsyList *)ASY_AS_OBJ(notes);
        for (int64_t i = 0; i < l->len; i++) {
            AsyValue ns = asy_str(vm, l->items[i]);
            if (ASY_IS_ERR(ns)) {
                asy_exc_clear(vm);
                continue;
            }
            fprintf(out, "%s\n", ((AsyStr *)ASY_AS_OBJ(ns))->data);
        }
    }
}

/* ---- chains ---- */

#define TB_MAX_CHAIN 64

static void print_one(AsyVM *vm, FILE *out, AsyException *e) {
    if (e->traceback) {
        fputs("Traceback (most recent call last):\n", out);
        for (AsyTraceback *tb = e->traceback; tb; tb = tb->next) print_entry(vm, out, tb);
    }
    print_exception_line(vm, out, e);
}

static bool chain_seen(AsyException **seen, int n, AsyException *e) {
    for (int i = 0; i < n; i++)
        if (seen[i] == e) return true;
    return false;
}

static void print_chain(AsyVM *vm, FILE *out, AsyException *e, AsyException **seen, int *n) {
    seen[(*n)++] = e;
    AsyException *prev = NULL;
    const char *sep = NULL;
    if (ASY_IS_OBJ(e->cause)) {
        prev = (AsyException *)ASY_AS_OBJ(e->cause);
        sep = "\nThe above exception was the direct cause of the following exception:\n\n";
    } else if (ASY_IS_OBJ(e->context) && !e->suppress_context) {
        prev = (AsyException *)ASY_AS_OBJ(e->context);
        sep = "\nDuring handling of the above exception, another exception occurred:\n\n";
    }
    if (prev && *n < TB_MAX_CHAIN && !chain_seen(seen, *n, prev)) {
        print_chain(vm, out, prev, seen, n);
        fputs(sep, out);
    }
    print_one(vm, out, e);
}

void asy_traceback_print(AsyVM *vm, AsyException *e, FILE *out) {
    AsyException *seen[TB_MAX_CHAIN];
    int n = 0;
    asy_root_push(vm, ASY_OBJ(e));
    print_chain(vm, out, e, seen, &n);
    asy_root_pop(vm, 1);
    fflush(out);
}

void asy_vm_print_exception(AsyVM *vm) {
    AsyException *e = vm->exc;
    if (!e) return;
    asy_exc_clear(vm);
    fflush(vm->out ? vm->out : stdout);
    asy_traceback_print(vm, e, vm->err ? vm->err : stderr);
}

static void drop_file(AsyVM *vm, AsyException *e, const char *filename, int depth) {
    if (!e || depth > 16) return; /* chains can be cyclic */
    for (AsyTraceback **link = &e->traceback; *link;) {
        AsyCode *code = (*link)->code;
        if (code && code->filename && strcmp(code->filename->data, filename) == 0)
            *link = (*link)->next;
        else
            link = &(*link)->next;
    }
    AsyType *base = vm->exc_types[ASY_EXC_BaseException];
    if (asy_isinstance(vm, e->cause, base))
        drop_file(vm, (AsyException *)ASY_AS_OBJ(e->cause), filename, depth + 1);
    if (asy_isinstance(vm, e->context, base))
        drop_file(vm, (AsyException *)ASY_AS_OBJ(e->context), filename, depth + 1);
}

void asy_traceback_drop_file(AsyVM *vm, AsyException *e, const char *filename) {
    drop_file(vm, e, filename, 0);
}
