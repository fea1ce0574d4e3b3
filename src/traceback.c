/* traceback.c - the only code that formats errors for the user: the traceback type, and
 * printing an uncaught exception exactly as CPython 3.11 does (chained causes and contexts,
 * one `File "x", line N, in f` entry per frame with its source line and ~~^^ markers,
 * recursion cut to "[Previous line repeated N more times]", SyntaxError carets, notes,
 * then `Type: message`; exception groups in the boxed `+-+---- 1 ----` form).
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

/* ---- printing state ---- */

#define TB_LIMIT 1000            /* sys.tracebacklimit's default: the newest entries    */
#define TB_RECURSIVE_CUTOFF 3    /* identical entries shown before "[Previous line ...]" */
#define TB_MAX_GROUP_WIDTH 15    /* sub-exceptions shown of one group                  */
#define TB_MAX_GROUP_DEPTH 10    /* groups nested                                      */

/* CPython's exception_print_context: inside an exception group every line starts with the
 * margin, two spaces per level and "| ". */
typedef struct {
    FILE *out;
    AsyException **seen; /* printed already (chains can be cyclic) */
    size_t nseen, capseen;
    int group_depth;
    bool need_close;     /* the last sub-exception still owes the group's closing line */
    int nesting;         /* C recursion through chains and groups */
} PrintCtx;

static void put_margin(PrintCtx *pc) {
    if (pc->group_depth) fprintf(pc->out, "%*s| ", 2 * pc->group_depth, "");
}

static void print_carets(PrintCtx *pc, const char *line, const AsyLoc *loc) {
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
    put_margin(pc);
    fprintf(pc->out, "    %*s", start - stripped, "");
    for (int i = 0; i < end - start; i++) {
        char c = '^';
        if (anchors) c = (i < left || i >= right) ? '~' : '^';
        fputc(c, pc->out);
    }
    fputc('\n', pc->out);
}

static void print_entry(PrintCtx *pc, AsyTraceback *tb) {
    AsyCode *code = tb->code;
    int32_t lineno = tb_line(tb);
    const char *file = code->filename ? code->filename->data : "<unknown>";
    put_margin(pc);
    fprintf(pc->out, "  File \"%s\", line %d, in %s\n", file, lineno,
            code->name ? code->name->data : "?");
    char *line = source_line(file, lineno);
    if (!line) return;
    const char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\f') p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (n > 0) {
        put_margin(pc);
        fprintf(pc->out, "    %.*s\n", (int)n, p);
        if (tb->ip >= 0 && tb->ip < code->ncode) print_carets(pc, line, &code->locs[tb->ip]);
    }
    free(line);
}

static bool same_place(AsyTraceback *a, AsyTraceback *b) {
    const AsyCode *x = a->code, *y = b->code;
    return tb_line(a) == tb_line(b) && x->filename && y->filename && x->name && y->name &&
           strcmp(x->filename->data, y->filename->data) == 0 &&
           strcmp(x->name->data, y->name->data) == 0;
}

static void print_repeated(PrintCtx *pc, long cnt) {
    cnt -= TB_RECURSIVE_CUTOFF;
    fprintf(pc->out, "  [Previous line repeated %ld more time%s]\n", cnt, cnt > 1 ? "s" : "");
}

/* CPython's tb_printinternal: the newest TB_LIMIT entries, a run of identical ones
 * (recursion) cut after TB_RECURSIVE_CUTOFF. */
static void print_entries(PrintCtx *pc, AsyTraceback *tb) {
    long depth = 0, cnt = 0;
    for (AsyTraceback *t = tb; t; t = t->next) depth++;
    for (; tb && depth > TB_LIMIT; depth--) tb = tb->next;
    AsyTraceback *last = NULL;
    for (; tb; tb = tb->next) {
        if (!last || !same_place(last, tb)) {
            if (cnt > TB_RECURSIVE_CUTOFF) print_repeated(pc, cnt);
            last = tb;
            cnt = 0;
        }
        if (++cnt <= TB_RECURSIVE_CUTOFF) print_entry(pc, tb);
    }
    if (cnt > TB_RECURSIVE_CUTOFF) print_repeated(pc, cnt);
}

/* ---- the exception line ---- */

static void print_type_name(FILE *out, AsyType *t) {
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

/* The file line gets the margin; the text and its carets do not (as CPython 3.11). */
static void print_syntax_error_location(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    FILE *out = pc->out;
    AsyValue file = exc_attr(vm, e, "filename"), line = exc_attr(vm, e, "lineno");
    AsyValue text = exc_attr(vm, e, "text"), off = exc_attr(vm, e, "offset");
    AsyValue end = exc_attr(vm, e, "end_offset");
    if (!ASY_IS_OBJ(file) || !ASY_IS_INT(line)) return;
    put_margin(pc);
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
    /* CPython draws one caret under an IndentationError whatever its end_offset */
    bool one = asy_is_subtype(e->hdr.type, vm->exc_types[ASY_EXC_IndentationError]);
    int width = !one && ASY_IS_INT(end) && ASY_AS_INT(end) > ASY_AS_INT(off)
                    ? (int)(ASY_AS_INT(end) - ASY_AS_INT(off)) : 1;
    int max = utf8_count(t + lead, n) + 1;
    if (col < 1) return; /* left of the stripped text: CPython prints no caret */
    if (col > max) col = max;
    if (col - 1 + width > max) width = max - col + 1;
    fprintf(out, "    %*s", col - 1, "");
    for (int i = 0; i < width; i++) fputc('^', out);
    fputc('\n', out);
}

/* Each note's lines with the margin, a newline after each note (CPython's
 * print_exception_notes); __notes__ that is not a list or tuple shows its repr. */
static void print_notes(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    AsyValue notes = e->dict ? asy_dict_get_cstr(vm, e->dict, "__notes__") : ASY_UNDEF;
    if (ASY_IS_UNDEF(notes)) return;
    bool list = asy_isinstance(vm, notes, ASY_TYPE(vm, list));
    if (!list && !asy_isinstance(vm, notes, ASY_TYPE(vm, tuple))) {
        AsyValue r = asy_repr(vm, notes);
        put_margin(pc);
        if (ASY_IS_ERR(r)) asy_exc_clear(vm);
        fprintf(pc->out, "%s\n",
                ASY_IS_ERR(r) ? "<__notes__ repr() failed>" : ((AsyStr *)ASY_AS_OBJ(r))->data);
        return;
    }
    asy_root_push(vm, notes);
    for (int64_t i = 0;; i++) {
        AsyValue *items = list ? ((AsyList *)ASY_AS_OBJ(notes))->items
                               : ((AsyTuple *)ASY_AS_OBJ(notes))->items;
        int64_t len = list ? ((AsyList *)ASY_AS_OBJ(notes))->len
                           : ((AsyTuple *)ASY_AS_OBJ(notes))->len;
        if (i >= len) break;
        AsyValue ns = asy_str(vm, items[i]);
        if (ASY_IS_ERR(ns)) {
            asy_exc_clear(vm);
            fputs("<note str() failed>\n", pc->out);
            continue;
        }
        const char *p = ((AsyStr *)ASY_AS_OBJ(ns))->data;
        while (*p) {
            size_t k = strcspn(p, "\n");
            put_margin(pc);
            fprintf(pc->out, "%.*s", (int)(p[k] ? k + 1 : k), p);
            p += p[k] ? k + 1 : k;
        }
        fputc('\n', pc->out);
    }
    asy_root_pop(vm, 1);
}

static void print_exception_line(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    FILE *out = pc->out;
    AsyType *t = e->hdr.type;
    bool syntax = asy_is_subtype(t, vm->exc_types[ASY_EXC_SyntaxError]);
    if (syntax) print_syntax_error_location(vm, pc, e);
    put_margin(pc);
    print_type_name(out, t);
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
    AsyStr *hint = asy_exception_suggestion(vm, e);
    if (hint) fprintf(out, ". Did you mean: '%s'?", hint->data);
    fputc('\n', out);
    print_notes(vm, pc, e);
}

/* ---- chains and groups (CPython 3.11's pythonrun.c) ---- */

static bool is_group(AsyVM *vm, AsyException *e) {
    return asy_is_subtype(e->hdr.type, vm->exc_types[ASY_EXC_BaseExceptionGroup]) &&
           ASY_IS_OBJ(e->exceptions);
}

static void print_one(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    if (e->traceback) {
        bool group = is_group(vm, e);
        if (group && pc->group_depth == 1) fprintf(pc->out, "  + ");
        else put_margin(pc);
        fputs(group ? "Exception Group Traceback (most recent call last):\n"
                    : "Traceback (most recent call last):\n",
              pc->out);
        print_entries(pc, e->traceback);
    }
    print_exception_line(vm, pc, e);
}

static bool seen_add(PrintCtx *pc, AsyException *e) {
    if (pc->nseen == pc->capseen) {
        size_t cap = pc->capseen ? 2 * pc->capseen : 16;
        AsyException **s = realloc(pc->seen, cap * sizeof *s);
        if (!s) return false;
        pc->seen = s;
        pc->capseen = cap;
    }
    pc->seen[pc->nseen++] = e;
    return true;
}

static bool seen_has(PrintCtx *pc, AsyException *e) {
    for (size_t i = 0; i < pc->nseen; i++)
        if (pc->seen[i] == e) return true;
    return false;
}

static void print_recursive(AsyVM *vm, PrintCtx *pc, AsyException *e);

static void print_chained(AsyVM *vm, PrintCtx *pc, AsyException *prev, const char *msg) {
    bool need_close = pc->need_close;
    print_recursive(vm, pc, prev);
    pc->need_close = need_close;
    put_margin(pc);
    fputc('\n', pc->out);
    put_margin(pc);
    fputs(msg, pc->out);
    put_margin(pc);
    fputc('\n', pc->out);
}

static void print_cause_and_context(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    if (!seen_add(pc, e)) return;
    AsyType *base = vm->exc_types[ASY_EXC_BaseException];
    if (asy_isinstance(vm, e->cause, base)) {
        AsyException *c = (AsyException *)ASY_AS_OBJ(e->cause);
        if (!seen_has(pc, c))
            print_chained(vm, pc, c,
                          "The above exception was the direct cause of the following "
                          "exception:\n");
    } else if (!e->suppress_context && asy_isinstance(vm, e->context, base)) {
        AsyException *c = (AsyException *)ASY_AS_OBJ(e->context);
        if (!seen_has(pc, c))
            print_chained(vm, pc, c,
                          "During handling of the above exception, another exception "
                          "occurred:\n");
    }
}

static void print_group(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    FILE *out = pc->out;
    if (pc->group_depth > TB_MAX_GROUP_DEPTH) {
        put_margin(pc);
        fprintf(out, "... (max_group_depth is %d)\n", TB_MAX_GROUP_DEPTH);
        return;
    }
    if (pc->group_depth == 0) pc->group_depth++;
    print_one(vm, pc, e);
    AsyTuple *excs = (AsyTuple *)ASY_AS_OBJ(e->exceptions);
    int64_t n = excs->len <= TB_MAX_GROUP_WIDTH ? excs->len : TB_MAX_GROUP_WIDTH + 1;
    pc->need_close = false;
    for (int64_t i = 0; i < n; i++) {
        bool last = i == n - 1, truncated = i >= TB_MAX_GROUP_WIDTH;
        if (last) pc->need_close = true; /* a nested group may close it instead */
        fprintf(out, "%*s%s+---------------- ", 2 * pc->group_depth, "", i == 0 ? "+-" : "  ");
        if (truncated) fputs("...", out);
        else fprintf(out, "%lld", (long long)i + 1);
        fputs(" ----------------\n", out);
        pc->group_depth++;
        if (!truncated) {
            print_recursive(vm, pc, (AsyException *)ASY_AS_OBJ(excs->items[i]));
        } else {
            int64_t more = excs->len - TB_MAX_GROUP_WIDTH;
            put_margin(pc);
            fprintf(out, "and %lld more exception%s\n", (long long)more, more > 1 ? "s" : "");
        }
        if (last && pc->need_close) {
            fprintf(out, "%*s+------------------------------------\n", 2 * pc->group_depth, "");
            pc->need_close = false;
        }
        pc->group_depth--;
    }
    if (pc->group_depth == 1) pc->group_depth--;
}

static void print_recursive(AsyVM *vm, PrintCtx *pc, AsyException *e) {
    if (pc->nesting >= ASY_MAX_C_DEPTH) return;
    pc->nesting++;
    print_cause_and_context(vm, pc, e);
    if (is_group(vm, e)) print_group(vm, pc, e);
    else print_one(vm, pc, e);
    pc->nesting--;
}

void asy_traceback_print(AsyVM *vm, AsyException *e, FILE *out) {
    PrintCtx pc = {.out = out};
    asy_root_push(vm, ASY_OBJ(e));
    print_recursive(vm, &pc, e);
    asy_root_pop(vm, 1);
    free(pc.seen);
    fflush(out);
}

void asy_traceback_print_unchained(AsyVM *vm, AsyException *e, FILE *out) {
    PrintCtx pc = {.out = out};
    asy_root_push(vm, ASY_OBJ(e));
    print_one(vm, &pc, e);
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
