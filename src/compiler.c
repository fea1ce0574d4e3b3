/* compiler.c - the AST to bytecode compiler (the instruction set is opcodes.h).
 *
 * asy_compile() parses, runs the scope pass (scope.c), then walks the AST once per code
 * object ("unit"), emitting instructions with symbolic labels for jumps. assemble() then
 * resolves labels to instruction indexes, computes the exact maximum stack depth by
 * flow analysis, and copies everything into an AsyCode.
 *
 * Exception handling follows CPython 3.11's layout with a runtime block stack:
 *   SETUP_FINALLY h ... POP_BLOCK      the protected range; at h the stack holds `prev exc`
 *   h: SETUP_FINALLY cleanup           except/finally bodies are protected by a cleanup
 *      ... POP_BLOCK POP_TOP POP_EXCEPT  handler that restores `prev` before re-raising:
 *   cleanup: COPY 4 POP_EXCEPT RERAISE  (stack: prev exc prev2 exc2)
 * Every construct that needs cleanup when left early (loops, try, with, except bodies)
 * pushes a compile-time FBlock; break/continue/return unwind them inline (popping
 * iterators, running finally bodies, calling __exit__), exactly as CPython does. Each FBlock
 * accounts for at most one runtime block, so ASY_MAX_BLOCKS FBlocks bound the frame's block
 * stack.
 */
#include "compiler.h"

#include <stdlib.h>
#include <string.h>

#include "opcodes.h"
#include "scope.h"
#include "syntax_warning.h"

/* ---- compile-time state ---- */

typedef enum {
    FB_WHILE,
    FB_FOR,          /* the iterator is on the stack                                */
    FB_TRY_EXCEPT,   /* body of try with handlers: one runtime block               */
    FB_FINALLY_TRY,  /* body of try/finally: the finally body runs when leaving     */
    FB_FINALLY_END,  /* finally body on the exception path: prev exc + cleanup block */
    FB_EXC_MATCH,    /* the except clauses: prev exc + cleanup block (no unwinding)  */
    FB_HANDLER,      /* an except body: prev exc + cleanup block (+ the name)       */
    FB_HANDLER_STAR, /* an except* body: break, continue and return may not leave it */
    FB_WITH,         /* with body: __exit__ on the stack and one block              */
    FB_ASYNC_WITH,
    FB_WITH_EXC,     /* with's exception path (no user code)                         */
    FB_POP_VALUE,    /* a return value kept while a finally body runs                */
} FBlockKind;

typedef struct {
    FBlockKind kind;
    int top, exit;   /* loops: continue and break targets (labels)                  */
    AstNode *node;   /* FINALLY_TRY: the try; HANDLER: the handler                  */
} FBlock;

typedef struct Unit {
    struct Unit *parent;
    AsyScope *scope;
    uint32_t *code;
    AsyLoc *locs;
    int ncode, capcode;
    AsyValue *consts;
    int nconsts, capconsts;
    int *consttab;   /* open addressing: const index + 1, 0 empty              */
    int consttabcap;
    AsyStr **names;
    int nnames, capnames;
    int *nametab;
    int nametabcap;
    int *labels;     /* label -> instruction index, -1 while unbound         */
    int nlabels, caplabels;
    FBlock fblocks[ASY_MAX_BLOCKS];
    int nfblocks;
    AsyLoc loc;      /* location given to the next instruction                 */
    uint32_t cflags;
    int firstline;
} Unit;

typedef struct {
    AsyVM *vm;
    AstArena *arena;
    const char *filename;
    const char *src;
    size_t srclen;
    AsyParseMode mode;
    Unit *u;
    AsyStr *filename_str;
    unsigned flags;     /* ASY_COMPILE_* (compiler.h)                                  */
    bool failed;
} Compiler;

typedef Compiler C;

/* ---- errors ---- */

/* The source line `lineno` (1-based) with its newline, or NULL; malloc'd. */
static char *source_line(const char *src, size_t len, int lineno)
{
    if (!src || lineno < 1) return NULL;
    size_t i = 0;
    for (int l = 1; l < lineno && i < len; i++)
        if (src[i] == '\n') l++;
    if (i >= len) return NULL;
    size_t j = i;
    while (j < len && src[j] != '\n') j++;
    char *out = malloc(j - i + 2);
    if (!out) return NULL;
    memcpy(out, src + i, j - i);
    out[j - i] = '\n';
    out[j - i + 1] = '\0';
    return out;
}

static void raise_syntax(C *c, const char *type, const char *msg, int line, int offset,
                         int end_offset)
{
    char *text = source_line(c->src, c->srclen, line);
    asy_raise_syntax_error(c->vm, type, msg, c->filename, line, offset, end_offset, text);
    free(text);
}

static void error_at(C *c, const AstNode *n, const char *msg)
{
    if (c->failed) return;
    c->failed = true;
    int end = n->end_line == n->line ? n->end_col + 1 : 0;
    raise_syntax(c, "SyntaxError", msg, n->line, n->col + 1, end);
}

/* The SyntaxWarnings of syntax_warning.c print the compiled file's lines. */
static AsyWarnSource warn_source(C *c)
{
    AsyWarnSource w = {c->vm, c->filename ? c->filename : "<unknown>", c->src, c->srclen};
    return w;
}

static void fail_memory(C *c)
{
    if (c->failed) return;
    c->failed = true;
    asy_raise_memory(c->vm);
}

/* ---- growable arrays (plain malloc while compiling; the code object gets exact copies) ---- */

static bool grow_array(C *c, void **items, int n, int *cap, size_t elsize)
{
    if (n < *cap) return true;
    int ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*items, (size_t)ncap * elsize);
    if (!p) {
        fail_memory(c);
        return false;
    }
    *items = p;
    *cap = ncap;
    return true;
}

/* ---- emission ---- */

static void emit(C *c, AsyOpcode op, int arg)
{
    Unit *u = c->u;
    if (c->failed) return;
    if (arg < 0 || arg > ASY_MAX_ARG) {
        c->failed = true;
        asy_raise(c->vm, ASY_EXC_SystemError, "code too complex to compile");
        return;
    }
    if (u->ncode == u->capcode) { /* code and locs grow in step */
        int cap = u->capcode ? u->capcode * 2 : 64;
        uint32_t *code = realloc(u->code, sizeof(uint32_t) * (size_t)cap);
        if (code) u->code = code;
        AsyLoc *locs = code ? realloc(u->locs, sizeof(AsyLoc) * (size_t)cap) : NULL;
        if (!locs) {
            fail_memory(c);
            return;
        }
        u->locs = locs;
        u->capcode = cap;
    }
    u->code[u->ncode] = ASY_INS(op, arg);
    u->locs[u->ncode] = u->loc;
    u->ncode++;
}

static int new_label(C *c)
{
    Unit *u = c->u;
    if (!grow_array(c, (void **)&u->labels, u->nlabels, &u->caplabels, sizeof(int))) return 0;
    u->labels[u->nlabels] = -1;
    return u->nlabels++;
}

static void bind_label(C *c, int label)
{
    if (c->failed) return;
    c->u->labels[label] = c->u->ncode;
}

static bool is_jump(AsyOpcode op)
{
    switch (op) {
    case ASY_OP_JUMP:
    case ASY_OP_POP_JUMP_IF_FALSE:
    case ASY_OP_POP_JUMP_IF_TRUE:
    case ASY_OP_JUMP_IF_FALSE_OR_POP:
    case ASY_OP_JUMP_IF_TRUE_OR_POP:
    case ASY_OP_FOR_ITER:
    case ASY_OP_SETUP_FINALLY: return true;
    default: return false;
    }
}

static AsyLoc loc_of(const AstNode *n)
{
    AsyLoc l = {n->line, n->end_line, n->col, n->end_col};
    return l;
}

static void set_loc(C *c, const AstNode *n) { c->u->loc = loc_of(n); }

static int utf8_chars(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* CPython 3.11's update_start_location_to_match_attr: when `obj.name` spans lines, the
 * instructions for .name start at the name, so a traceback underlines `name(...)` on its
 * own line rather than the first line of obj. */
static void match_attr_start(C *c, const AstNode *attr)
{
    AsyLoc *l = &c->u->loc;
    if (l->line == attr->end_line) return;
    l->line = attr->end_line;
    int len = utf8_chars(attr->u.attr.name);
    if (len <= attr->end_col) {
        l->col = attr->end_col - len;
    } else {
        l->col = l->end_col = -1;
    }
    if (l->end_line < l->line) l->end_line = l->line;
    if (l->line == l->end_line && l->end_col < l->col) l->end_col = l->col;
}

/* ---- constants and names ---- */

static uint32_t hash_bytes(const void *p, size_t n, uint32_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
    return h;
}

static bool is_type(AsyValue v, AsyType *t)
{
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == t;
}

/* Constants are shared when they are the same value of the same type (1, 1.0 and True stay
 * distinct, as do 0.0 and -0.0). Only scalars, str and bytes are shared. */
static bool const_hashable(C *c, AsyValue v, uint32_t *h)
{
    uint32_t seed = 2166136261u ^ (uint32_t)v.tag;
    if (!ASY_IS_OBJ(v)) {
        *h = hash_bytes(&v.as.i, sizeof v.as.i, seed);
        return true;
    }
    if (is_type(v, ASY_TYPE(c->vm, str))) {
        AsyStr *s = (AsyStr *)ASY_AS_OBJ(v);
        *h = hash_bytes(s->data, s->len, seed);
        return true;
    }
    if (is_type(v, ASY_TYPE(c->vm, bytes))) {
        AsyBytes *s = (AsyBytes *)ASY_AS_OBJ(v);
        *h = hash_bytes(s->data, s->len, seed + 1);
        return true;
    }
    return false;
}

static bool const_same(C *c, AsyValue a, AsyValue b)
{
    if (a.tag != b.tag) return false;
    if (!ASY_IS_OBJ(a)) return a.as.i == b.as.i;
    AsyObj *x = ASY_AS_OBJ(a), *y = ASY_AS_OBJ(b);
    if (x == y) return true;
    if (x->type != y->type) return false;
    if (x->type == ASY_TYPE(c->vm, str)) return asy_str_equal((AsyStr *)x, (AsyStr *)y);
    if (x->type == ASY_TYPE(c->vm, bytes)) {
        AsyBytes *p = (AsyBytes *)x, *q = (AsyBytes *)y;
        return p->len == q->len && memcmp(p->data, q->data, p->len) == 0;
    }
    return false;
}

static int append_const(C *c, AsyValue v)
{
    Unit *u = c->u;
    if (!grow_array(c, (void **)&u->consts, u->nconsts, &u->capconsts, sizeof(AsyValue)))
        return 0;
    u->consts[u->nconsts] = v;
    return u->nconsts++;
}

static bool rehash_consts(C *c, Unit *u)
{
    int cap = u->consttabcap ? u->consttabcap * 2 : 64;
    int *tab = calloc((size_t)cap, sizeof(int));
    if (!tab) {
        fail_memory(c);
        return false;
    }
    free(u->consttab);
    u->consttab = tab;
    u->consttabcap = cap;
    for (int i = 0; i < u->nconsts; i++) {
        uint32_t h;
        if (!const_hashable(c, u->consts[i], &h)) continue;
        uint32_t m = (uint32_t)cap - 1, j = h & m;
        while (tab[j]) j = (j + 1) & m;
        tab[j] = i + 1;
    }
    return true;
}

static int add_const(C *c, AsyValue v)
{
    Unit *u = c->u;
    if (c->failed) return 0;
    uint32_t h;
    if (!const_hashable(c, v, &h)) return append_const(c, v);
    if (u->nconsts * 2 >= u->consttabcap && !rehash_consts(c, u)) return 0;
    uint32_t m = (uint32_t)u->consttabcap - 1, j = h & m;
    for (; u->consttab[j]; j = (j + 1) & m) {
        int i = u->consttab[j] - 1;
        if (const_same(c, u->consts[i], v)) return i;
    }
    int i = append_const(c, v);
    if (!c->failed) u->consttab[j] = i + 1;
    return i;
}

static void load_const(C *c, AsyValue v) { emit(c, ASY_OP_LOAD_CONST, add_const(c, v)); }

static AsyStr *intern(C *c, const char *s)
{
    AsyStr *r = asy_str_intern_cstr(c->vm, s);
    if (!r) c->failed = true;
    return r;
}

static int add_name(C *c, const char *name)
{
    Unit *u = c->u;
    AsyStr *s = intern(c, name);
    if (!s) return 0;
    if (u->nnames * 2 >= u->nametabcap) {
        int cap = u->nametabcap ? u->nametabcap * 2 : 32;
        int *tab = calloc((size_t)cap, sizeof(int));
        if (!tab) {
            fail_memory(c);
            return 0;
        }
        for (int i = 0; i < u->nnames; i++) {
            uint32_t j = (uint32_t)((uintptr_t)u->names[i] >> 4) & (uint32_t)(cap - 1);
            while (tab[j]) j = (j + 1) & (uint32_t)(cap - 1);
            tab[j] = i + 1;
        }
        free(u->nametab);
        u->nametab = tab;
        u->nametabcap = cap;
    }
    uint32_t m = (uint32_t)u->nametabcap - 1, j = (uint32_t)((uintptr_t)s >> 4) & m;
    for (; u->nametab[j]; j = (j + 1) & m)
        if (u->names[u->nametab[j] - 1] == s) return u->nametab[j] - 1;
    if (!grow_array(c, (void **)&u->names, u->nnames, &u->capnames, sizeof(AsyStr *))) return 0;
    u->names[u->nnames] = s;
    u->nametab[j] = u->nnames + 1;
    return u->nnames++;
}

static void emit_name(C *c, AsyOpcode op, const char *name) { emit(c, op, add_name(c, name)); }

static AsyValue str_value(C *c, const char *s, size_t len)
{
    AsyStr *r = asy_str_new(c->vm, s, len);
    if (!r) {
        c->failed = true;
        return ASY_NONE;
    }
    return ASY_OBJ(r);
}

static AsyValue cstr_value(C *c, const char *s) { return str_value(c, s, strlen(s)); }

/* ---- units ---- */

static const char *mangle(C *c, const char *name)
{
    return asy_scope_mangle(c->arena, c->u->scope, name);
}

static void enter_unit(C *c, Unit *u, AsyScope *scope, const AstNode *node)
{
    memset(u, 0, sizeof *u);
    u->parent = c->u;
    u->scope = scope;
    u->firstline = node->line;
    u->loc = loc_of(node);
    c->u = u;
}

static void free_unit(Unit *u)
{
    free(u->code);
    free(u->locs);
    free(u->consts);
    free(u->consttab);
    free(u->names);
    free(u->nametab);
    free(u->labels);
}

static void leave_unit(C *c, Unit *u)
{
    free_unit(u);
    c->u = u->parent;
}

static int stack_effect(AsyOpcode op, int arg, bool jump)
{
    switch (op) {
    case ASY_OP_NOP:
    case ASY_OP_SWAP:
    case ASY_OP_DELETE_FAST:
    case ASY_OP_DELETE_DEREF:
    case ASY_OP_DELETE_GLOBAL:
    case ASY_OP_DELETE_NAME:
    case ASY_OP_LOAD_ATTR:
    case ASY_OP_UNARY_NEG:
    case ASY_OP_UNARY_POS:
    case ASY_OP_UNARY_INVERT:
    case ASY_OP_UNARY_NOT:
    case ASY_OP_JUMP:
    case ASY_OP_GET_ITER:
    case ASY_OP_LIST_TO_TUPLE:
    case ASY_OP_POP_BLOCK:
    case ASY_OP_CHECK_EXC_MATCH:
    case ASY_OP_CHECK_EG_MATCH:
    case ASY_OP_GET_AWAITABLE:
    case ASY_OP_AWAIT:
    case ASY_OP_YIELD_VALUE:
    case ASY_OP_GET_YIELD_FROM_ITER:
    case ASY_OP_GET_AITER:
    case ASY_OP_IMPORT_NAME:
    case ASY_OP_SETUP_ANNOTATIONS:
    case ASY_OP_RETURN_GENERATOR: return 0;
    case ASY_OP_COPY:
    case ASY_OP_LOAD_CONST:
    case ASY_OP_LOAD_FAST:
    case ASY_OP_LOAD_DEREF:
    case ASY_OP_LOAD_CLOSURE:
    case ASY_OP_LOAD_CLASSDEREF:
    case ASY_OP_LOAD_GLOBAL:
    case ASY_OP_LOAD_NAME:
    case ASY_OP_LOAD_METHOD:
    case ASY_OP_LOAD_ASSERTION_ERROR:
    case ASY_OP_BEFORE_WITH:
    case ASY_OP_WITH_EXCEPT_START:
    case ASY_OP_BEFORE_ASYNC_WITH:
    case ASY_OP_GET_ANEXT:
    case ASY_OP_IMPORT_FROM: return 1;
    case ASY_OP_POP_TOP:
    case ASY_OP_POP_ITER:
    case ASY_OP_STORE_FAST:
    case ASY_OP_STORE_DEREF:
    case ASY_OP_STORE_GLOBAL:
    case ASY_OP_STORE_NAME:
    case ASY_OP_DELETE_ATTR:
    case ASY_OP_BINARY_SUBSCR:
    case ASY_OP_BINARY_OP:
    case ASY_OP_COMPARE_OP:
    case ASY_OP_IS_OP:
    case ASY_OP_CONTAINS_OP:
    case ASY_OP_POP_JUMP_IF_FALSE:
    case ASY_OP_POP_JUMP_IF_TRUE:
    case ASY_OP_LIST_APPEND:
    case ASY_OP_SET_ADD:
    case ASY_OP_LIST_EXTEND:
    case ASY_OP_SET_UPDATE:
    case ASY_OP_DICT_UPDATE:
    case ASY_OP_DICT_MERGE:
    case ASY_OP_RETURN_VALUE:
    case ASY_OP_POP_EXCEPT:
    case ASY_OP_PREP_RERAISE_STAR:
    case ASY_OP_RERAISE:
    case ASY_OP_YIELD_FROM:
    case ASY_OP_IMPORT_STAR:
    case ASY_OP_PRINT_EXPR: return -1;
    case ASY_OP_STORE_ATTR:
    case ASY_OP_DELETE_SUBSCR:
    case ASY_OP_MAP_ADD: return -2;
    case ASY_OP_STORE_SUBSCR:
    case ASY_OP_END_ASYNC_FOR: return -3;
    case ASY_OP_JUMP_IF_FALSE_OR_POP:
    case ASY_OP_JUMP_IF_TRUE_OR_POP: return jump ? 0 : -1;
    case ASY_OP_FOR_ITER: return jump ? -1 : 1;
    case ASY_OP_SETUP_FINALLY: return jump ? 2 : 0;
    case ASY_OP_BUILD_TUPLE:
    case ASY_OP_BUILD_LIST:
    case ASY_OP_BUILD_SET:
    case ASY_OP_BUILD_STRING:
    case ASY_OP_BUILD_SLICE: return 1 - arg;
    case ASY_OP_BUILD_MAP: return 1 - 2 * arg;
    case ASY_OP_UNPACK_SEQUENCE: return arg - 1;
    case ASY_OP_UNPACK_EX: return (arg & 0xFF) + (arg >> 8);
    case ASY_OP_FORMAT_VALUE: return (arg & 4) ? -1 : 0;
    case ASY_OP_CALL: return -arg;
    case ASY_OP_CALL_KW: return -arg - 1;
    case ASY_OP_CALL_EX: return -1 - (arg & 1);
    case ASY_OP_CALL_METHOD: return -arg - 1;
    case ASY_OP_CALL_METHOD_KW: return -arg - 2;
    case ASY_OP_MAKE_FUNCTION: return -((arg & 1) + ((arg >> 1) & 1) + ((arg >> 2) & 1));
    case ASY_OP_BUILD_CLASS: return -(arg & 0xFFFF) - 1 - (arg & ASY_BUILD_CLASS_KW ? 1 : 0);
    case ASY_OP_RAISE_VARARGS: return -arg;
    default: return 0;
    }
}

static bool ends_flow(AsyOpcode op)
{
    return op == ASY_OP_JUMP || op == ASY_OP_RETURN_VALUE || op == ASY_OP_RERAISE ||
           op == ASY_OP_RAISE_VARARGS;
}

/* Handler blocks open after instruction op (SETUP_FINALLY pushes one, POP_BLOCK pops
 * one); on SETUP_FINALLY's jump to its handler the block is already gone (the unwinder
 * pops it before jumping). */
static int block_effect(AsyOpcode op, bool jump)
{
    if (op == ASY_OP_SETUP_FINALLY) return jump ? 0 : 1;
    return op == ASY_OP_POP_BLOCK ? -1 : 0;
}

/* The most handler blocks open at once when the flow analysis could not tell (two paths
 * disagreeing): every SETUP_FINALLY of the unit, which is always enough. */
static int count_setups(const Unit *u)
{
    int k = 0;
    for (int i = 0; i < u->ncode; i++) k += ASY_OP(u->code[i]) == ASY_OP_SETUP_FINALLY;
    return k;
}

/* The deepest the stack ever gets, by walking every path (as CPython's stackdepth()), and
 * in *maxblocks the most handler blocks ever open (their slots are part of the frame).
 * A stack-depth mismatch between two paths reaching one instruction is a compiler bug: it
 * is reported as SystemError rather than left to corrupt the stack at run time. */
static int compute_stacksize(C *c, Unit *u, int *maxblocks)
{
    int n = u->ncode, maxd = 0, maxb = 0, nwork = 0;
    bool blocks_exact = true;
    int *depth = malloc(sizeof(int) * (size_t)(n + 1));
    int *bdepth = malloc(sizeof(int) * (size_t)(n + 1));
    int *work = malloc(sizeof(int) * (size_t)(n + 1));
    *maxblocks = 0;
    if (!depth || !bdepth || !work) {
        free(depth);
        free(bdepth);
        free(work);
        fail_memory(c);
        return 0;
    }
    for (int i = 0; i < n; i++) depth[i] = -1;
    if (n > 0) {
        depth[0] = bdepth[0] = 0;
        work[nwork++] = 0;
    }
    const char *bad = NULL;
    int badpc = 0;
    while (nwork > 0 && !bad) {
        int i = work[--nwork];
        int d = depth[i], b = bdepth[i];
        for (; i < n;) {
            AsyOpcode op = ASY_OP(u->code[i]);
            int arg = ASY_ARG(u->code[i]);
            if (is_jump(op)) {
                int t = arg, td = d + stack_effect(op, arg, true);
                int tb = b + block_effect(op, true);
                if (td > maxd) maxd = td;
                if (depth[t] < 0) {
                    depth[t] = td;
                    bdepth[t] = tb;
                    work[nwork++] = t;
                } else if (depth[t] != td) {
                    bad = "inconsistent stack depth";
                    badpc = t;
                    break;
                } else if (bdepth[t] != tb) {
                    blocks_exact = false;
                }
            }
            int nd = d + stack_effect(op, arg, false), nb = b + block_effect(op, false);
            if (nd < 0) {
                bad = "stack underflow";
                badpc = i;
                break;
            }
            if (nd > maxd) maxd = nd;
            if (nb > maxb) maxb = nb;
            if (nb < 0) blocks_exact = false;
            if (ends_flow(op) || ++i >= n) break;
            if (depth[i] >= 0) {
                if (depth[i] != nd) {
                    bad = "inconsistent stack depth";
                    badpc = i;
                } else if (bdepth[i] != nb) {
                    blocks_exact = false;
                }
                break;
            }
            depth[i] = d = nd;
            bdepth[i] = b = nb;
        }
    }
    free(depth);
    free(bdepth);
    free(work);
    if (bad && !c->failed) {
        c->failed = true;
        asy_raise(c->vm, ASY_EXC_SystemError, "compiler bug: %s at instruction %d", bad, badpc);
    }
    *maxblocks = blocks_exact ? maxb : count_setups(u);
    return maxd;
}

static AsyStr **intern_names(C *c, const char **names, int n)
{
    if (n == 0) return NULL;
    AsyStr **out = asy_mem_alloc(c->vm, sizeof(AsyStr *) * (size_t)n);
    if (!out) {
        c->failed = true;
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        out[i] = intern(c, names[i]);
        if (!out[i]) out[i] = c->vm->empty_str;
    }
    return out;
}

static void *copy_out(C *c, const void *src, size_t size)
{
    if (size == 0) return NULL;
    void *p = asy_mem_alloc(c->vm, size);
    if (!p) {
        c->failed = true;
        return NULL;
    }
    memcpy(p, src, size);
    return p;
}

/* Resolve labels, size the stack and build the code object of the current unit. */
static AsyCode *assemble(C *c, const char *name, const char *qualname)
{
    Unit *u = c->u;
    if (c->failed) return NULL;
    for (int i = 0; i < u->ncode; i++) {
        AsyOpcode op = ASY_OP(u->code[i]);
        if (!is_jump(op)) continue;
        int target = u->labels[ASY_ARG(u->code[i])];
        if (target < 0) target = u->ncode; /* unreachable: never bound */
        u->code[i] = ASY_INS(op, target);
    }
    /* A label bound at the very end needs an instruction there. */
    for (int i = 0; i < u->nlabels; i++)
        if (u->labels[i] == u->ncode) {
            load_const(c, ASY_NONE);
            emit(c, ASY_OP_RETURN_VALUE, 0);
            break;
        }
    int maxblocks;
    int stacksize = compute_stacksize(c, u, &maxblocks);
    if (c->failed) return NULL;
    AsyScope *s = u->scope;
    AsyCode *code = asy_gc_alloc(c->vm, ASY_TYPE(c->vm, code), sizeof(AsyCode));
    if (!code) {
        c->failed = true;
        return NULL;
    }
    code->code = copy_out(c, u->code, sizeof(uint32_t) * (size_t)u->ncode);
    code->locs = copy_out(c, u->locs, sizeof(AsyLoc) * (size_t)u->ncode);
    if (c->failed) {
        asy_mem_free(c->vm, code->code, code->code ? sizeof(uint32_t) * (size_t)u->ncode : 0);
        code->code = NULL;
        return NULL;
    }
    code->ncode = u->ncode;
    code->consts = copy_out(c, u->consts, sizeof(AsyValue) * (size_t)u->nconsts);
    if (c->failed) return NULL;
    code->nconsts = u->nconsts;
    code->names = copy_out(c, u->names, sizeof(AsyStr *) * (size_t)u->nnames);
    if (c->failed) return NULL;
    code->nnames = u->nnames;
    bool fn = s->kind != ASY_SCOPE_MODULE && s->kind != ASY_SCOPE_CLASS;
    int nlocals = fn ? s->nlocals : 0;
    code->varnames = intern_names(c, s->varnames, nlocals);
    if (c->failed) return NULL;
    code->nlocals = nlocals;
    code->cellnames = intern_names(c, s->cellnames, s->ncells);
    if (c->failed) return NULL;
    code->cell2arg = copy_out(c, s->cell2arg, sizeof(int32_t) * (size_t)s->ncells);
    if (c->failed) {
        asy_mem_free(c->vm, code->cellnames, sizeof(AsyStr *) * (size_t)s->ncells);
        code->cellnames = NULL;
        return NULL;
    }
    code->ncells = s->ncells;
    code->freenames = intern_names(c, s->freenames, s->nfree);
    if (c->failed) return NULL;
    code->nfree = s->nfree;
    code->argcount = fn ? s->argcount : 0;
    code->posonlycount = fn ? s->posonlycount : 0;
    code->kwonlycount = fn ? s->kwonlycount : 0;
    uint32_t f = u->cflags;
    if (s->has_varargs) f |= ASY_CODE_VARARGS;
    if (s->has_varkw) f |= ASY_CODE_VARKW;
    if (s->is_async && s->is_generator) f |= ASY_CODE_ASYNC_GENERATOR;
    else if (s->is_async) f |= ASY_CODE_COROUTINE;
    else if (s->is_generator) f |= ASY_CODE_GENERATOR;
    code->cflags = f;
    code->fast_argc = -1;
    if (fn && code->kwonlycount == 0 && code->ncells == 0 && code->nfree == 0 &&
        !(f & (ASY_CODE_VARARGS | ASY_CODE_VARKW | ASY_CODE_GENERATOR | ASY_CODE_COROUTINE |
               ASY_CODE_ASYNC_GENERATOR)))
        code->fast_argc = code->argcount;
    code->stacksize = stacksize;
    code->maxblocks = maxblocks;
    code->blockbase = code->nlocals + code->ncells + code->nfree;
    code->framesize = code->blockbase + maxblocks + stacksize + 4;
    code->firstline = u->firstline;
    code->name = intern(c, name);
    code->qualname = intern(c, qualname);
    code->filename = c->filename_str;
    return c->failed ? NULL : code;
}

/* ---- frame blocks ---- */

static bool push_fblock(C *c, FBlockKind kind, int top, int exit, AstNode *node, const AstNode *at)
{
    Unit *u = c->u;
    if (u->nfblocks >= ASY_MAX_BLOCKS) {
        error_at(c, at, "too many statically nested blocks");
        return false;
    }
    u->fblocks[u->nfblocks++] = (FBlock){kind, top, exit, node};
    return true;
}

static void pop_fblock(C *c)
{
    if (c->u->nfblocks > 0) c->u->nfblocks--;
}

/* ---- forward declarations ---- */

static void compile_expr(C *c, AstNode *n);
static void compile_stmt(C *c, AstNode *n);
static void compile_stmts(C *c, AstList *l);
static void compile_store(C *c, AstNode *t);
static void compile_name(C *c, const char *id, AstCtx ctx);
static void compile_jump_if(C *c, AstNode *e, int label, bool cond);

static void compile_expr_at(C *c, AstNode *n)
{
    AsyLoc saved = c->u->loc;
    compile_expr(c, n);
    c->u->loc = saved;
}

/* ---- constants from the AST ---- */

static bool is_const_node(const AstNode *n)
{
    if (n->kind == AST_CONST) return n->u.c.kind != AST_CONST_IMAG;
    if (n->kind == AST_TUPLE && n->u.seq.ctx == AST_LOAD) {
        for (int i = 0; i < n->u.seq.elts.n; i++)
            if (!is_const_node(n->u.seq.elts.items[i])) return false;
        return true;
    }
    if (n->kind == AST_UNARYOP && n->u.unary.op == AST_NEG && n->u.unary.operand->kind == AST_CONST) {
        AstConstKind k = n->u.unary.operand->u.c.kind;
        return k == AST_CONST_INT || k == AST_CONST_BIGINT || k == AST_CONST_FLOAT;
    }
    return false;
}

static AsyValue const_value(C *c, const AstNode *n);

static AsyValue bigint_value(C *c, const char *digits, size_t len, bool neg)
{
    char *buf = malloc(len + 2);
    if (!buf) {
        fail_memory(c);
        return ASY_NONE;
    }
    size_t k = 0;
    if (neg) buf[k++] = '-';
    memcpy(buf + k, digits, len);
    buf[k + len] = '\0';
    AsyValue v = asy_int_from_str(c->vm, buf, k + len, 10);
    free(buf);
    if (ASY_IS_ERR(v)) {
        c->failed = true;
        return ASY_NONE;
    }
    return v;
}

static AsyValue const_value(C *c, const AstNode *n)
{
    if (n->kind == AST_TUPLE) {
        int len = n->u.seq.elts.n;
        if (len == 0) return ASY_OBJ(c->vm->empty_tuple);
        AsyTuple *t = asy_tuple_new(c->vm, len);
        if (!t) {
            c->failed = true;
            return ASY_NONE;
        }
        for (int i = 0; i < len; i++) t->items[i] = const_value(c, n->u.seq.elts.items[i]);
        return ASY_OBJ(t);
    }
    if (n->kind == AST_UNARYOP) { /* -number */
        const AstNode *o = n->u.unary.operand;
        if (o->u.c.kind == AST_CONST_FLOAT) return ASY_FLOAT(-o->u.c.f);
        if (o->u.c.kind == AST_CONST_INT) return ASY_INT(-o->u.c.i);
        return bigint_value(c, o->u.c.str, o->u.c.len, true);
    }
    switch (n->u.c.kind) {
    case AST_CONST_NONE: return ASY_NONE;
    case AST_CONST_TRUE: return ASY_TRUE;
    case AST_CONST_FALSE: return ASY_FALSE;
    case AST_CONST_ELLIPSIS: return ASY_OBJ(c->vm->ellipsis);
    case AST_CONST_INT: return ASY_INT(n->u.c.i);
    case AST_CONST_BIGINT: return bigint_value(c, n->u.c.str, n->u.c.len, false);
    case AST_CONST_FLOAT: return ASY_FLOAT(n->u.c.f);
    case AST_CONST_STR: return str_value(c, n->u.c.str, n->u.c.len);
    case AST_CONST_BYTES: {
        AsyBytes *b = asy_bytes_new(c->vm, (const uint8_t *)n->u.c.str, n->u.c.len);
        if (!b) {
            c->failed = true;
            return ASY_NONE;
        }
        return ASY_OBJ(b);
    }
    case AST_CONST_IMAG:
    default: error_at(c, n, "complex numbers are not supported"); return ASY_NONE;
    }
}

/* Truth of a constant expression: 1, 0, or -1 when not a constant. */
static int const_truth(const AstNode *n)
{
    if (n->kind != AST_CONST) return -1;
    switch (n->u.c.kind) {
    case AST_CONST_NONE:
    case AST_CONST_FALSE: return 0;
    case AST_CONST_TRUE:
    case AST_CONST_ELLIPSIS: return 1;
    case AST_CONST_INT: return n->u.c.i != 0;
    case AST_CONST_BIGINT: return 1;
    case AST_CONST_FLOAT: return n->u.c.f != 0.0;
    case AST_CONST_STR:
    case AST_CONST_BYTES: return n->u.c.len != 0;
    default: return -1;
    }
}

/* ---- names ---- */

static bool unit_is_function(C *c)
{
    AsyScopeKind k = c->u->scope->kind;
    return k == ASY_SCOPE_FUNCTION || k == ASY_SCOPE_LAMBDA || k == ASY_SCOPE_COMPREHENSION;
}

static void compile_name(C *c, const char *id, AstCtx ctx)
{
    AsyScope *s = c->u->scope;
    const char *name = mangle(c, id);
    AsySymbol *sym = asy_scope_lookup(s, name);
    AsySymKind k = sym ? sym->kind : ASY_SYM_GLOBAL_IMPLICIT;
    static const AsyOpcode fast[] = {ASY_OP_LOAD_FAST, ASY_OP_STORE_FAST, ASY_OP_DELETE_FAST};
    static const AsyOpcode deref[] = {ASY_OP_LOAD_DEREF, ASY_OP_STORE_DEREF, ASY_OP_DELETE_DEREF};
    static const AsyOpcode global[] = {ASY_OP_LOAD_GLOBAL, ASY_OP_STORE_GLOBAL,
                                       ASY_OP_DELETE_GLOBAL};
    static const AsyOpcode ns[] = {ASY_OP_LOAD_NAME, ASY_OP_STORE_NAME, ASY_OP_DELETE_NAME};
    if (s->kind == ASY_SCOPE_MODULE) {
        emit_name(c, global[ctx], name);
        return;
    }
    switch (k) {
    case ASY_SYM_LOCAL:
        if (s->kind == ASY_SCOPE_CLASS) emit_name(c, ns[ctx], name);
        else emit(c, fast[ctx], sym->slot);
        return;
    case ASY_SYM_CELL:
    case ASY_SYM_FREE:
        if (s->kind == ASY_SCOPE_CLASS && ctx == AST_LOAD) emit(c, ASY_OP_LOAD_CLASSDEREF, sym->deref);
        else emit(c, deref[ctx], sym->deref);
        return;
    case ASY_SYM_GLOBAL_EXPLICIT: emit_name(c, global[ctx], name); return;
    case ASY_SYM_GLOBAL_IMPLICIT:
        if (s->kind == ASY_SCOPE_CLASS) emit_name(c, ns[ctx], name);
        else emit_name(c, global[ctx], name);
        return;
    }
}

/* Index of `name` among the current unit's cells then frees (for LOAD_CLOSURE). */
static int closure_index(C *c, const char *name)
{
    AsyScope *s = c->u->scope;
    for (int i = 0; i < s->ncells; i++)
        if (strcmp(s->cellnames[i], name) == 0) return i;
    for (int i = 0; i < s->nfree; i++)
        if (strcmp(s->freenames[i], name) == 0) return s->ncells + i;
    c->failed = true;
    asy_raise(c->vm, ASY_EXC_SystemError, "compiler bug: no cell for free variable '%s'", name);
    return 0;
}

/* MAKE_FUNCTION for a compiled nested code object; flags tell which of the defaults tuple
 * and keyword defaults dict are already on the stack. */
static void make_function(C *c, AsyCode *code, AsyScope *inner, int flags)
{
    if (!code) return;
    if (inner->nfree > 0) {
        for (int i = 0; i < inner->nfree; i++)
            emit(c, ASY_OP_LOAD_CLOSURE, closure_index(c, inner->freenames[i]));
        emit(c, ASY_OP_BUILD_TUPLE, inner->nfree);
        flags |= 4;
    }
    load_const(c, ASY_OBJ(code));
    emit(c, ASY_OP_MAKE_FUNCTION, flags);
}

/* ---- displays ---- */

/* Elements of a list/tuple/set display with starred items, or a long one: build
 * incrementally (CPython's starunpack_helper). */
static void build_incremental(C *c, AstList *elts, AsyOpcode build, AsyOpcode add,
                              AsyOpcode extend)
{
    int i = 0, lead = 0;
    while (lead < elts->n && elts->items[lead]->kind != AST_STARRED && lead < 30) lead++;
    for (; i < lead; i++) compile_expr_at(c, elts->items[i]);
    emit(c, build, lead);
    for (; i < elts->n; i++) {
        AstNode *e = elts->items[i];
        if (e->kind == AST_STARRED) {
            compile_expr_at(c, e->u.starred.value);
            emit(c, extend, 1);
        } else {
            compile_expr_at(c, e);
            emit(c, add, 1);
        }
    }
}

static bool has_starred(AstList *l)
{
    for (int i = 0; i < l->n; i++)
        if (l->items[i]->kind == AST_STARRED) return true;
    return false;
}

static bool all_const(AstList *l)
{
    for (int i = 0; i < l->n; i++)
        if (!is_const_node(l->items[i])) return false;
    return true;
}

/* A tuple of constants as one constant (no starred elements). */
static AsyValue const_tuple_of(C *c, AstList *l)
{
    AstNode fake = {.kind = AST_TUPLE};
    fake.u.seq.elts = *l;
    fake.u.seq.ctx = AST_LOAD;
    return const_value(c, &fake);
}

static void compile_sequence(C *c, AstNode *n)
{
    AstList *elts = &n->u.seq.elts;
    bool starred = has_starred(elts);
    if (n->kind == AST_TUPLE) {
        if (!starred && all_const(elts)) {
            load_const(c, const_value(c, n));
        } else if (!starred && elts->n <= 30) {
            for (int i = 0; i < elts->n; i++) compile_expr_at(c, elts->items[i]);
            emit(c, ASY_OP_BUILD_TUPLE, elts->n);
        } else {
            build_incremental(c, elts, ASY_OP_BUILD_LIST, ASY_OP_LIST_APPEND, ASY_OP_LIST_EXTEND);
            emit(c, ASY_OP_LIST_TO_TUPLE, 0);
        }
        return;
    }
    AsyOpcode build = n->kind == AST_LIST ? ASY_OP_BUILD_LIST : ASY_OP_BUILD_SET;
    AsyOpcode add = n->kind == AST_LIST ? ASY_OP_LIST_APPEND : ASY_OP_SET_ADD;
    AsyOpcode ext = n->kind == AST_LIST ? ASY_OP_LIST_EXTEND : ASY_OP_SET_UPDATE;
    if (!starred && elts->n >= 3 && all_const(elts)) {
        /* [1, 2, 3]: extend an empty list by one constant tuple. {1, 2, 3}: by a constant
         * frozenset built as CPython builds it, so the set iterates in CPython's order. */
        emit(c, build, 0);
        AsyValue items = const_tuple_of(c, elts);
        load_const(c, n->kind == AST_SET ? asy_frozenset_const(c->vm, items) : items);
        emit(c, ext, 1);
    } else if (!starred && elts->n <= 30) {
        for (int i = 0; i < elts->n; i++) compile_expr_at(c, elts->items[i]);
        emit(c, build, elts->n);
    } else {
        build_incremental(c, elts, build, add, ext);
    }
}

static void compile_dict(C *c, AstNode *n)
{
    AstList *keys = &n->u.dict.keys, *values = &n->u.dict.values;
    int pending = 0;
    bool have_dict = false;
    for (int i = 0; i < values->n; i++) {
        AstNode *k = keys->items[i];
        if (!k) { /* **m */
            if (!have_dict) {
                emit(c, ASY_OP_BUILD_MAP, pending);
                have_dict = true;
                pending = 0;
            }
            compile_expr_at(c, values->items[i]);
            emit(c, ASY_OP_DICT_UPDATE, 1);
            continue;
        }
        compile_expr_at(c, k);
        compile_expr_at(c, values->items[i]);
        if (have_dict) {
            emit(c, ASY_OP_MAP_ADD, 1);
        } else if (++pending == 16) {
            emit(c, ASY_OP_BUILD_MAP, pending);
            have_dict = true;
            pending = 0;
        }
    }
    if (!have_dict) emit(c, ASY_OP_BUILD_MAP, pending);
}

/* ---- f-strings ---- */

/* The pieces compile_fstring pushes: each formatted value and each run of literal text
 * that is not empty. */
static int fstring_pieces(const AstList *parts)
{
    int count = 0;
    for (int i = 0; i < parts->n; i++) {
        if (parts->items[i]->kind != AST_CONST) {
            count++;
            continue;
        }
        size_t len = 0;
        for (; i < parts->n && parts->items[i]->kind == AST_CONST; i++)
            len += parts->items[i]->u.c.len;
        i--;
        count += len > 0;
    }
    return count;
}

static void compile_fstring(C *c, AstNode *n)
{
    AstList *parts = &n->u.fstring.parts;
    int count = 0;
    /* Whether a BUILD_STRING joins the pieces: then FORMAT_VALUE may leave an int for it
     * to write in decimal (ASY_FORMAT_JOINED), without a str of its own. */
    bool joined = parts->n > 0 && (fstring_pieces(parts) > 1 || parts->items[0]->kind != AST_FORMATTED);
    for (int i = 0; i < parts->n; i++) {
        AstNode *p = parts->items[i];
        if (p->kind == AST_CONST) {
            /* merge adjacent literal pieces into one constant */
            size_t len = 0;
            int j = i;
            for (; j < parts->n && parts->items[j]->kind == AST_CONST; j++)
                len += parts->items[j]->u.c.len;
            if (len > 0) {
                char *buf = malloc(len + 1);
                if (!buf) {
                    fail_memory(c);
                    return;
                }
                size_t k = 0;
                for (int m = i; m < j; m++) {
                    memcpy(buf + k, parts->items[m]->u.c.str, parts->items[m]->u.c.len);
                    k += parts->items[m]->u.c.len;
                }
                load_const(c, str_value(c, buf, len));
                free(buf);
                count++;
            }
            i = j - 1;
            continue;
        }
        AsyLoc saved = c->u->loc;
        set_loc(c, p);
        compile_expr_at(c, p->u.formatted.value);
        int arg = 0;
        switch (p->u.formatted.conversion) {
        case 's': arg = 1; break;
        case 'r': arg = 2; break;
        case 'a': arg = 3; break;
        default: break;
        }
        if (p->u.formatted.spec) {
            compile_expr_at(c, p->u.formatted.spec);
            arg |= 4;
        }
        if (joined) arg |= ASY_FORMAT_JOINED;
        emit(c, ASY_OP_FORMAT_VALUE, arg);
        c->u->loc = saved;
        count++;
    }
    if (count == 0) load_const(c, ASY_OBJ(c->vm->empty_str));
    else if (joined)
        emit(c, ASY_OP_BUILD_STRING, count);
}

/* ---- calls ---- */

static bool call_is_simple(AstNode *n)
{
    if (has_starred(&n->u.call.args)) return false;
    for (int i = 0; i < n->u.call.keywords.n; i++)
        if (!n->u.call.keywords.items[i]->u.keyword.name) return false;
    return true;
}

/* Arguments and keyword values, then `plain n` or, with keywords, the constant tuple of
 * their names and `kw n` (n counts all arguments; LOAD_METHOD's receiver is not one). */
static void compile_call_args(C *c, AstNode *n, AsyOpcode plain, AsyOpcode kw)
{
    AstList *args = &n->u.call.args, *kws = &n->u.call.keywords;
    for (int i = 0; i < args->n; i++) compile_expr_at(c, args->items[i]);
    for (int i = 0; i < kws->n; i++) compile_expr_at(c, kws->items[i]->u.keyword.value);
    if (kws->n == 0) {
        emit(c, plain, args->n);
        return;
    }
    AsyTuple *names = asy_tuple_new(c->vm, kws->n);
    if (!names) {
        c->failed = true;
        return;
    }
    for (int i = 0; i < kws->n; i++) {
        AsyStr *s = intern(c, kws->items[i]->u.keyword.name);
        names->items[i] = s ? ASY_OBJ(s) : ASY_NONE;
    }
    load_const(c, ASY_OBJ(names));
    emit(c, kw, args->n + kws->n);
}

/* f(*a, x, **k): a tuple and a dict, then CALL_EX. */
/* The keywords of a call (or class statement) as one dict: name=value pairs and **maps. */
static void compile_keywords_dict(C *c, AstList *kws)
{
    int pending = 0;
    bool have_dict = false;
    for (int i = 0; i < kws->n; i++) {
        AstNode *k = kws->items[i];
        if (k->u.keyword.name) {
            load_const(c, cstr_value(c, k->u.keyword.name));
            compile_expr_at(c, k->u.keyword.value);
            pending++;
            continue;
        }
        if (pending || !have_dict) {
            emit(c, ASY_OP_BUILD_MAP, pending);
            if (have_dict) emit(c, ASY_OP_DICT_MERGE, 1);
            have_dict = true;
            pending = 0;
        }
        compile_expr_at(c, k->u.keyword.value);
        emit(c, ASY_OP_DICT_MERGE, 1);
    }
    if (pending) {
        emit(c, ASY_OP_BUILD_MAP, pending);
        if (have_dict) emit(c, ASY_OP_DICT_MERGE, 1);
    }
}

static void compile_call_ex(C *c, AstNode *n)
{
    AstList *args = &n->u.call.args, *kws = &n->u.call.keywords;
    if (args->n == 1 && args->items[0]->kind == AST_STARRED) {
        /* f(*x): CALL_EX takes any iterable and names f in its TypeError, as CPython */
        compile_expr_at(c, args->items[0]->u.starred.value);
    } else {
        build_incremental(c, args, ASY_OP_BUILD_LIST, ASY_OP_LIST_APPEND, ASY_OP_LIST_EXTEND);
        emit(c, ASY_OP_LIST_TO_TUPLE, 0);
    }
    if (kws->n == 0) {
        emit(c, ASY_OP_CALL_EX, 0);
        return;
    }
    compile_keywords_dict(c, kws);
    emit(c, ASY_OP_CALL_EX, 1);
}

/* super() inside a method: super(__class__, <first parameter>), as CPython's runtime
 * does by inspecting the frame. */
static bool compile_zero_arg_super(C *c, AstNode *n)
{
    AstNode *f = n->u.call.func;
    if (f->kind != AST_NAME || strcmp(f->u.name.id, "super") != 0 || n->u.call.args.n ||
        n->u.call.keywords.n || !unit_is_function(c))
        return false;
    AsyScope *s = c->u->scope;
    if (asy_scope_kind(s, "super") != ASY_SYM_GLOBAL_IMPLICIT) return false;
    AsySymbol *cls = asy_scope_lookup(s, "__class__");
    if (!cls || cls->kind != ASY_SYM_FREE || s->argcount == 0) return false;
    AsySymbol *first = asy_scope_lookup(s, s->varnames[0]);
    emit_name(c, ASY_OP_LOAD_GLOBAL, "super");
    emit(c, ASY_OP_LOAD_DEREF, cls->deref);
    if (first && first->kind == ASY_SYM_CELL) emit(c, ASY_OP_LOAD_DEREF, first->deref);
    else emit(c, ASY_OP_LOAD_FAST, 0);
    emit(c, ASY_OP_CALL, 2);
    return true;
}

static void compile_call(C *c, AstNode *n)
{
    AsyWarnSource w = warn_source(c);
    asy_warn_call(&w, n);
    if (compile_zero_arg_super(c, n)) return;
    AstNode *f = n->u.call.func;
    bool simple = call_is_simple(n);
    if (simple && f->kind == AST_ATTRIBUTE) {
        compile_expr_at(c, f->u.attr.value);
        AsyLoc saved = c->u->loc;
        set_loc(c, f);
        match_attr_start(c, f);
        emit_name(c, ASY_OP_LOAD_METHOD, mangle(c, f->u.attr.name));
        c->u->loc = saved;
        match_attr_start(c, f);
        compile_call_args(c, n, ASY_OP_CALL_METHOD, ASY_OP_CALL_METHOD_KW);
        c->u->loc = saved;
        return;
    }
    compile_expr_at(c, f);
    if (simple) compile_call_args(c, n, ASY_OP_CALL, ASY_OP_CALL_KW);
    else compile_call_ex(c, n);
}

/* ---- operators ---- */

static void compile_cmp_op(C *c, AstCmpOp op)
{
    switch (op) {
    case AST_EQ: emit(c, ASY_OP_COMPARE_OP, ASY_CMP_EQ); break;
    case AST_NE: emit(c, ASY_OP_COMPARE_OP, ASY_CMP_NE); break;
    case AST_LT: emit(c, ASY_OP_COMPARE_OP, ASY_CMP_LT); break;
    case AST_LE: emit(c, ASY_OP_COMPARE_OP, ASY_CMP_LE); break;
    case AST_GT: emit(c, ASY_OP_COMPARE_OP, ASY_CMP_GT); break;
    case AST_GE: emit(c, ASY_OP_COMPARE_OP, ASY_CMP_GE); break;
    case AST_IS: emit(c, ASY_OP_IS_OP, 0); break;
    case AST_IS_NOT: emit(c, ASY_OP_IS_OP, 1); break;
    case AST_IN: emit(c, ASY_OP_CONTAINS_OP, 0); break;
    case AST_NOT_IN: emit(c, ASY_OP_CONTAINS_OP, 1); break;
    }
}

/* a < b < c: each middle operand is evaluated once and the chain stops at the first
 * false comparison (CPython's compiler_compare). */
static void compile_compare(C *c, AstNode *n)
{
    AsyWarnSource w = warn_source(c);
    asy_warn_compare(&w, n);
    AstList *cmps = &n->u.compare.comparators;
    compile_expr_at(c, n->u.compare.left);
    if (cmps->n == 1) {
        compile_expr_at(c, cmps->items[0]);
        compile_cmp_op(c, n->u.compare.ops[0]);
        return;
    }
    int cleanup = new_label(c), end = new_label(c);
    for (int i = 0; i < cmps->n - 1; i++) {
        compile_expr_at(c, cmps->items[i]);
        emit(c, ASY_OP_SWAP, 2);
        emit(c, ASY_OP_COPY, 2);
        compile_cmp_op(c, n->u.compare.ops[i]);
        emit(c, ASY_OP_JUMP_IF_FALSE_OR_POP, cleanup);
    }
    compile_expr_at(c, cmps->items[cmps->n - 1]);
    compile_cmp_op(c, n->u.compare.ops[cmps->n - 1]);
    emit(c, ASY_OP_JUMP, end);
    bind_label(c, cleanup);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_POP_TOP, 0);
    bind_label(c, end);
}

static void compile_boolop(C *c, AstNode *n)
{
    AstList *v = &n->u.boolop.values;
    int end = new_label(c);
    AsyOpcode op = n->u.boolop.op == AST_AND ? ASY_OP_JUMP_IF_FALSE_OR_POP : ASY_OP_JUMP_IF_TRUE_OR_POP;
    for (int i = 0; i < v->n - 1; i++) {
        compile_expr_at(c, v->items[i]);
        emit(c, op, end);
    }
    compile_expr_at(c, v->items[v->n - 1]);
    bind_label(c, end);
}

/* Jump to `label` when bool(e) == cond, without materialising `not`/`and`/`or` results. */
static void compile_jump_if(C *c, AstNode *e, int label, bool cond)
{
    if (c->failed) return;
    if (e->kind == AST_UNARYOP && e->u.unary.op == AST_NOT) {
        compile_jump_if(c, e->u.unary.operand, label, !cond);
        return;
    }
    if (e->kind == AST_BOOLOP) {
        AstList *v = &e->u.boolop.values;
        bool is_or = e->u.boolop.op == AST_OR;
        /* For `and` jumping on false (or `or` on true), any operand decides alone. */
        if (is_or == cond) {
            for (int i = 0; i < v->n; i++) compile_jump_if(c, v->items[i], label, cond);
            return;
        }
        int next = new_label(c);
        for (int i = 0; i < v->n - 1; i++) compile_jump_if(c, v->items[i], next, !cond);
        compile_jump_if(c, v->items[v->n - 1], label, cond);
        bind_label(c, next);
        return;
    }
    int t = const_truth(e);
    if (t >= 0) {
        if ((t == 1) == cond) emit(c, ASY_OP_JUMP, label);
        return;
    }
    compile_expr_at(c, e);
    emit(c, cond ? ASY_OP_POP_JUMP_IF_TRUE : ASY_OP_POP_JUMP_IF_FALSE, label);
}

/* ---- constant folding ---- */

static bool is_small_number(AsyValue v) { return ASY_IS_INT(v) || ASY_IS_FLOAT(v); }

static bool is_short_str(C *c, AsyValue v)
{
    return is_type(v, ASY_TYPE(c->vm, str)) && ((AsyStr *)ASY_AS_OBJ(v))->len <= 4096;
}

/* The value of a constant arithmetic expression such as `1 << 20` or `60 * 60`, as CPython's
 * AST optimizer computes it: only numbers that fit an int64 or a float, and short strings;
 * anything that would raise (1/0) or grow large (2**1000) is left to run time. */
static bool fold(C *c, const AstNode *n, AsyValue *out)
{
    if (c->failed) return false;
    if (n->kind == AST_CONST) {
        AstConstKind k = n->u.c.kind;
        if (k != AST_CONST_INT && k != AST_CONST_FLOAT && k != AST_CONST_STR) return false;
        *out = const_value(c, n);
        return !c->failed;
    }
    AsyValue a, b, r;
    if (n->kind == AST_UNARYOP && (n->u.unary.op == AST_NEG || n->u.unary.op == AST_INVERT ||
                                   n->u.unary.op == AST_POS)) {
        if (!fold(c, n->u.unary.operand, &a) || !is_small_number(a)) return false;
        AsyUnaryOp op = n->u.unary.op == AST_NEG   ? ASY_UOP_NEG
                        : n->u.unary.op == AST_POS ? ASY_UOP_POS
                                                   : ASY_UOP_INVERT;
        r = asy_unaryop(c->vm, a, op);
    } else if (n->kind == AST_BINOP && n->u.binop.op != AST_MATMUL) {
        if (!fold(c, n->u.binop.left, &a) || !fold(c, n->u.binop.right, &b)) return false;
        AstBinOp op = n->u.binop.op;
        bool nums = is_small_number(a) && is_small_number(b);
        if (!nums) {
            /* 'ab' + 'cd' and 'ab' * 3, kept short */
            bool concat = op == AST_ADD && is_short_str(c, a) && is_short_str(c, b);
            bool repeat = op == AST_MUL && is_short_str(c, a) && ASY_IS_INT(b) &&
                          ASY_AS_INT(b) >= 0 && ASY_AS_INT(b) <= 64;
            if (!concat && !repeat) return false;
        }
        if ((op == AST_POW || op == AST_LSHIFT) && ASY_IS_INT(b) &&
            (ASY_AS_INT(b) > 128 || ASY_AS_INT(b) < -128))
            return false;
        r = asy_binop(c->vm, a, b, (AsyBinOp)op);
    } else {
        return false;
    }
    if (ASY_IS_ERR(r)) { /* e.g. 1/0: raise when it runs, with a traceback */
        asy_exc_clear(c->vm);
        return false;
    }
    if (!is_small_number(r) && !is_short_str(c, r)) return false;
    *out = r;
    return true;
}

static bool compile_folded(C *c, AstNode *n)
{
    AsyValue v;
    if (!fold(c, n, &v)) return false;
    load_const(c, v);
    return true;
}

static void compile_unary(C *c, AstNode *n)
{
    if (is_const_node(n)) {
        load_const(c, const_value(c, n));
        return;
    }
    if (compile_folded(c, n)) return;
    compile_expr_at(c, n->u.unary.operand);
    switch (n->u.unary.op) {
    case AST_NOT: emit(c, ASY_OP_UNARY_NOT, 0); break;
    case AST_NEG: emit(c, ASY_OP_UNARY_NEG, 0); break;
    case AST_POS: emit(c, ASY_OP_UNARY_POS, 0); break;
    case AST_INVERT: emit(c, ASY_OP_UNARY_INVERT, 0); break;
    }
}

static void compile_subscript_index(C *c, AstNode *idx)
{
    if (idx->kind != AST_SLICE) {
        compile_expr_at(c, idx);
        return;
    }
    AstNode *parts[3] = {idx->u.slice.lower, idx->u.slice.upper, idx->u.slice.step};
    int n = parts[2] ? 3 : 2;
    for (int i = 0; i < n; i++) {
        if (parts[i]) compile_expr_at(c, parts[i]);
        else load_const(c, ASY_NONE);
    }
    emit(c, ASY_OP_BUILD_SLICE, n);
}

/* ---- functions, lambdas, classes, comprehensions ---- */

static bool unit_allows_await(C *c)
{
    AsyScope *s = c->u->scope;
    if (s->kind == ASY_SCOPE_MODULE)
        return c->mode == ASY_PARSE_MODULE || c->mode == ASY_PARSE_SINGLE;
    return (s->kind == ASY_SCOPE_FUNCTION && s->is_async) || s->kind == ASY_SCOPE_COMPREHENSION;
}

/* Positional defaults (a tuple) and keyword-only defaults (a dict): MAKE_FUNCTION flags. */
static int compile_defaults(C *c, AstArgs *a)
{
    int flags = 0;
    if (a->defaults.n > 0) {
        if (all_const(&a->defaults)) {
            load_const(c, const_tuple_of(c, &a->defaults));
        } else {
            for (int i = 0; i < a->defaults.n; i++) compile_expr_at(c, a->defaults.items[i]);
            emit(c, ASY_OP_BUILD_TUPLE, a->defaults.n);
        }
        flags |= 1;
    }
    int nkw = 0;
    for (int i = 0; i < a->kw_defaults.n; i++) {
        AstNode *d = a->kw_defaults.items[i];
        if (!d || i >= a->n_kwonly) continue;
        load_const(c, cstr_value(c, mangle(c, a->kwonly[i])));
        compile_expr_at(c, d);
        nkw++;
    }
    if (nkw) {
        emit(c, ASY_OP_BUILD_MAP, nkw);
        flags |= 2;
    }
    return flags;
}

static bool is_docstring(AstList *body)
{
    if (body->n == 0) return false;
    AstNode *s = body->items[0];
    return s->kind == AST_EXPR_STMT && s->u.expr_stmt.value->kind == AST_CONST &&
           s->u.expr_stmt.value->u.c.kind == AST_CONST_STR;
}

static void emit_return_none(C *c)
{
    load_const(c, ASY_NONE);
    emit(c, ASY_OP_RETURN_VALUE, 0);
}

static void last_stmt_loc(C *c, AstList *body)
{
    if (body->n > 0) {
        AstNode *last = body->items[body->n - 1];
        c->u->loc = loc_of(last);
    }
}

static AsyCode *compile_function_body(C *c, AstNode *n, AsyScope *s)
{
    Unit u;
    enter_unit(c, &u, s, n);
    AstList *body = &n->u.funcdef.body;
    if (n->u.funcdef.decorators.n > 0) u.firstline = n->u.funcdef.decorators.items[0]->line;
    int start = 0;
    if (is_docstring(body)) {
        add_const(c, const_value(c, body->items[0]->u.expr_stmt.value));
        u.cflags |= ASY_CODE_DOCSTRING;
        start = 1;
    }
    for (int i = start; i < body->n && !c->failed; i++) compile_stmt(c, body->items[i]);
    last_stmt_loc(c, body);
    emit_return_none(c);
    AsyCode *code = assemble(c, s->name, s->qualname);
    leave_unit(c, &u);
    return code;
}

static void apply_decorators(C *c, AstList *decos)
{
    for (int i = decos->n - 1; i >= 0; i--) {
        AsyLoc saved = c->u->loc;
        set_loc(c, decos->items[i]);
        emit(c, ASY_OP_CALL, 1);
        c->u->loc = saved;
    }
}

static void compile_funcdef(C *c, AstNode *n)
{
    AsyScope *s = n->u.funcdef.scope;
    for (int i = 0; i < n->u.funcdef.decorators.n; i++)
        compile_expr_at(c, n->u.funcdef.decorators.items[i]);
    int flags = compile_defaults(c, n->u.funcdef.args);
    if (c->failed) return;
    AsyCode *code = compile_function_body(c, n, s);
    make_function(c, code, s, flags);
    apply_decorators(c, &n->u.funcdef.decorators);
    compile_name(c, n->u.funcdef.name, AST_STORE);
}

static void compile_lambda(C *c, AstNode *n)
{
    AsyScope *s = n->u.lambda.scope;
    int flags = compile_defaults(c, n->u.lambda.args);
    if (c->failed) return;
    Unit u;
    enter_unit(c, &u, s, n);
    u.cflags |= ASY_CODE_LAMBDA;
    compile_expr_at(c, n->u.lambda.body);
    if (s->is_generator) {
        emit(c, ASY_OP_POP_TOP, 0);
        load_const(c, ASY_NONE);
    }
    emit(c, ASY_OP_RETURN_VALUE, 0);
    AsyCode *code = assemble(c, s->name, s->qualname);
    leave_unit(c, &u);
    make_function(c, code, s, flags);
}

static void compile_classdef(C *c, AstNode *n)
{
    AsyScope *s = n->u.classdef.scope;
    AstList *decos = &n->u.classdef.decorators;
    for (int i = 0; i < decos->n; i++) compile_expr_at(c, decos->items[i]);
    Unit u;
    enter_unit(c, &u, s, n);
    if (decos->n > 0) u.firstline = decos->items[0]->line;
    u.cflags |= ASY_CODE_CLASS;
    emit_name(c, ASY_OP_LOAD_NAME, "__name__");
    emit_name(c, ASY_OP_STORE_NAME, "__module__");
    load_const(c, cstr_value(c, s->qualname));
    emit_name(c, ASY_OP_STORE_NAME, "__qualname__");
    AstList *body = &n->u.classdef.body;
    int start = 0;
    if (is_docstring(body)) {
        set_loc(c, body->items[0]);
        load_const(c, const_value(c, body->items[0]->u.expr_stmt.value));
        emit_name(c, ASY_OP_STORE_NAME, "__doc__");
        start = 1;
    }
    if (s->has_annotations) emit(c, ASY_OP_SETUP_ANNOTATIONS, 0);
    for (int i = start; i < body->n && !c->failed; i++) compile_stmt(c, body->items[i]);
    last_stmt_loc(c, body);
    if (s->needs_class_cell) {
        emit(c, ASY_OP_LOAD_CLOSURE, closure_index(c, "__class__"));
        emit(c, ASY_OP_RETURN_VALUE, 0);
    } else {
        emit_return_none(c);
    }
    AsyCode *code = assemble(c, s->name, s->qualname);
    leave_unit(c, &u);
    if (!code) return;
    make_function(c, code, s, 0);
    load_const(c, cstr_value(c, n->u.classdef.name));
    AstList *bases = &n->u.classdef.bases;
    for (int i = 0; i < bases->n; i++) {
        if (bases->items[i]->kind == AST_STARRED) {
            error_at(c, bases->items[i], "starred base classes are not supported");
            return;
        }
        compile_expr_at(c, bases->items[i]);
    }
    AstList *kws = &n->u.classdef.keywords;
    if (kws->n) compile_keywords_dict(c, kws); /* for __init_subclass__ */
    emit(c, ASY_OP_BUILD_CLASS, bases->n | (kws->n ? ASY_BUILD_CLASS_KW : 0));
    apply_decorators(c, decos);
    compile_name(c, n->u.classdef.name, AST_STORE);
}

/* A loop's iterable that makes a generator nobody else refers to, when it is a generator
 * function's call (the VM checks that at the CALL): the loop then owns its iterator. */
static bool iter_is_owned(const AstNode *iter)
{
    return iter->kind == AST_CALL || iter->kind == AST_GENEXP;
}

/* One `for ... in ... if ...` of a comprehension, and (recursively) the ones after it. */
static void compile_comp_loop(C *c, AstNode *n, int i)
{
    AstList *gens = &n->u.comp.generators;
    AstNode *g = gens->items[i];
    bool is_async = g->u.comprehension.is_async;
    if (i == 0) {
        emit(c, ASY_OP_LOAD_FAST, 0); /* .0: the iterator the caller made */
    } else {
        compile_expr_at(c, g->u.comprehension.iter);
        emit(c, is_async ? ASY_OP_GET_AITER : ASY_OP_GET_ITER,
             iter_is_owned(g->u.comprehension.iter));
    }
    int top = new_label(c), end = new_label(c);
    bind_label(c, top);
    if (is_async) {
        emit(c, ASY_OP_SETUP_FINALLY, end);
        emit(c, ASY_OP_GET_ANEXT, 0);
        emit(c, ASY_OP_AWAIT, 0);
        emit(c, ASY_OP_POP_BLOCK, 0);
    } else {
        emit(c, ASY_OP_FOR_ITER, end);
    }
    compile_store(c, g->u.comprehension.target);
    AstList *ifs = &g->u.comprehension.ifs;
    for (int k = 0; k < ifs->n; k++) compile_jump_if(c, ifs->items[k], top, false);
    if (i + 1 < gens->n) {
        compile_comp_loop(c, n, i + 1);
    } else {
        AsyLoc saved = c->u->loc;
        switch (n->kind) {
        case AST_LISTCOMP:
            compile_expr_at(c, n->u.comp.elt);
            emit(c, ASY_OP_LIST_APPEND, i + 2);
            break;
        case AST_SETCOMP:
            compile_expr_at(c, n->u.comp.elt);
            emit(c, ASY_OP_SET_ADD, i + 2);
            break;
        case AST_DICTCOMP:
            compile_expr_at(c, n->u.comp.key);
            compile_expr_at(c, n->u.comp.elt);
            emit(c, ASY_OP_MAP_ADD, i + 2);
            break;
        default:
            compile_expr_at(c, n->u.comp.elt);
            set_loc(c, n->u.comp.elt);
            emit(c, ASY_OP_YIELD_VALUE, 0);
            emit(c, ASY_OP_POP_TOP, 0);
            break;
        }
        c->u->loc = saved;
    }
    emit(c, ASY_OP_JUMP, top);
    bind_label(c, end);
    if (is_async) emit(c, ASY_OP_END_ASYNC_FOR, 0);
}

static void compile_comprehension(C *c, AstNode *n)
{
    AsyScope *s = n->u.comp.scope;
    bool awaited = s->is_async && n->kind != AST_GENEXP;
    if (awaited && !unit_allows_await(c)) {
        error_at(c, n, "asynchronous comprehension outside of an asynchronous function");
        return;
    }
    Unit u;
    enter_unit(c, &u, s, n);
    u.cflags |= ASY_CODE_COMPREHENSION;
    switch (n->kind) {
    case AST_LISTCOMP: emit(c, ASY_OP_BUILD_LIST, 0); break;
    case AST_SETCOMP: emit(c, ASY_OP_BUILD_SET, 0); break;
    case AST_DICTCOMP: emit(c, ASY_OP_BUILD_MAP, 0); break;
    default: break;
    }
    compile_comp_loop(c, n, 0);
    if (n->kind == AST_GENEXP) load_const(c, ASY_NONE);
    emit(c, ASY_OP_RETURN_VALUE, 0);
    AsyCode *code = assemble(c, s->name, s->qualname);
    leave_unit(c, &u);
    if (!code) return;
    make_function(c, code, s, 0);
    AstNode *first = n->u.comp.generators.items[0];
    compile_expr_at(c, first->u.comprehension.iter);
    emit(c, first->u.comprehension.is_async ? ASY_OP_GET_AITER : ASY_OP_GET_ITER,
         iter_is_owned(first->u.comprehension.iter));
    emit(c, ASY_OP_CALL, 1);
    if (awaited) {
        emit(c, ASY_OP_GET_AWAITABLE, 0);
        emit(c, ASY_OP_AWAIT, 0);
    }
}

/* ---- expressions ---- */

static void compile_await(C *c, AstNode *n)
{
    AsyScope *s = c->u->scope;
    bool top = s->kind == ASY_SCOPE_MODULE &&
               (c->mode == ASY_PARSE_MODULE || c->mode == ASY_PARSE_SINGLE);
    if (!top) {
        if (s->kind == ASY_SCOPE_MODULE || s->kind == ASY_SCOPE_CLASS) {
            error_at(c, n, "'await' outside function");
            return;
        }
        if (s->kind == ASY_SCOPE_LAMBDA || (s->kind == ASY_SCOPE_FUNCTION && !s->is_async)) {
            error_at(c, n, "'await' outside async function");
            return;
        }
    }
    compile_expr_at(c, n->u.await.value);
    emit(c, ASY_OP_GET_AWAITABLE, 0);
    emit(c, ASY_OP_AWAIT, 0);
}

static void compile_expr(C *c, AstNode *n)
{
    if (c->failed) return;
    set_loc(c, n);
    switch (n->kind) {
    case AST_NAME: compile_name(c, n->u.name.id, n->u.name.ctx); break;
    case AST_CONST: load_const(c, const_value(c, n)); break;
    case AST_FSTRING: compile_fstring(c, n); break;
    case AST_TUPLE:
    case AST_LIST:
    case AST_SET: compile_sequence(c, n); break;
    case AST_DICT: compile_dict(c, n); break;
    case AST_ATTRIBUTE:
        compile_expr_at(c, n->u.attr.value);
        match_attr_start(c, n);
        emit_name(c, ASY_OP_LOAD_ATTR, mangle(c, n->u.attr.name));
        break;
    case AST_SUBSCRIPT: {
        AsyWarnSource w = warn_source(c);
        asy_warn_subscript(&w, n);
        compile_expr_at(c, n->u.subscript.value);
        compile_subscript_index(c, n->u.subscript.index);
        emit(c, ASY_OP_BINARY_SUBSCR, 0);
        break;
    }
    case AST_SLICE: compile_subscript_index(c, n); break;
    case AST_CALL: compile_call(c, n); break;
    case AST_BINOP:
        if (compile_folded(c, n)) break;
        compile_expr_at(c, n->u.binop.left);
        compile_expr_at(c, n->u.binop.right);
        emit(c, ASY_OP_BINARY_OP, (int)n->u.binop.op);
        break;
    case AST_UNARYOP: compile_unary(c, n); break;
    case AST_BOOLOP: compile_boolop(c, n); break;
    case AST_COMPARE: compile_compare(c, n); break;
    case AST_IFEXP: {
        int orelse = new_label(c), end = new_label(c);
        compile_jump_if(c, n->u.ifexp.test, orelse, false);
        compile_expr_at(c, n->u.ifexp.body);
        emit(c, ASY_OP_JUMP, end);
        bind_label(c, orelse);
        compile_expr_at(c, n->u.ifexp.orelse);
        bind_label(c, end);
        break;
    }
    case AST_LAMBDA: compile_lambda(c, n); break;
    case AST_LISTCOMP:
    case AST_SETCOMP:
    case AST_GENEXP:
    case AST_DICTCOMP: compile_comprehension(c, n); break;
    case AST_AWAIT: compile_await(c, n); break;
    case AST_YIELD:
        if (n->u.yield.value) compile_expr_at(c, n->u.yield.value);
        else load_const(c, ASY_NONE);
        emit(c, ASY_OP_YIELD_VALUE, 0);
        break;
    case AST_YIELD_FROM:
        compile_expr_at(c, n->u.yield.value);
        emit(c, ASY_OP_GET_YIELD_FROM_ITER, 0);
        load_const(c, ASY_NONE);
        emit(c, ASY_OP_YIELD_FROM, 0);
        break;
    case AST_STARRED: error_at(c, n, "can't use starred expression here"); break;
    case AST_NAMEDEXPR:
        compile_expr_at(c, n->u.named.value);
        emit(c, ASY_OP_COPY, 1);
        compile_store(c, n->u.named.target);
        break;
    default: error_at(c, n, "invalid syntax"); break;
    }
}

/* ---- assignment ---- */

static void compile_unpack(C *c, AstNode *t)
{
    AstList *elts = &t->u.seq.elts;
    int star = -1;
    for (int i = 0; i < elts->n; i++) {
        if (elts->items[i]->kind != AST_STARRED) continue;
        if (star >= 0) {
            error_at(c, t, "multiple starred expressions in assignment");
            return;
        }
        star = i;
    }
    if (star < 0) {
        emit(c, ASY_OP_UNPACK_SEQUENCE, elts->n);
    } else {
        int after = elts->n - star - 1;
        if (star >= 256 || after >= (1 << 16)) {
            error_at(c, t, "too many expressions in star-unpacking assignment");
            return;
        }
        emit(c, ASY_OP_UNPACK_EX, star | (after << 8));
    }
    for (int i = 0; i < elts->n; i++) {
        AstNode *e = elts->items[i];
        compile_store(c, e->kind == AST_STARRED ? e->u.starred.value : e);
    }
}

/* Store the value on top of the stack into target t. */
static void compile_store(C *c, AstNode *t)
{
    if (c->failed) return;
    AsyLoc saved = c->u->loc;
    switch (t->kind) {
    case AST_NAME:
        set_loc(c, t);
        compile_name(c, t->u.name.id, AST_STORE);
        break;
    case AST_ATTRIBUTE:
        compile_expr_at(c, t->u.attr.value);
        set_loc(c, t);
        match_attr_start(c, t);
        emit_name(c, ASY_OP_STORE_ATTR, mangle(c, t->u.attr.name));
        break;
    case AST_SUBSCRIPT:
        compile_expr_at(c, t->u.subscript.value);
        compile_subscript_index(c, t->u.subscript.index);
        set_loc(c, t);
        emit(c, ASY_OP_STORE_SUBSCR, 0);
        break;
    case AST_TUPLE:
    case AST_LIST:
        set_loc(c, t);
        compile_unpack(c, t);
        break;
    case AST_STARRED:
        error_at(c, t, "starred assignment target must be in a list or tuple");
        break;
    default: error_at(c, t, "cannot assign to expression"); break;
    }
    c->u->loc = saved;
}

static void compile_delete(C *c, AstNode *t)
{
    AsyLoc saved = c->u->loc;
    set_loc(c, t);
    switch (t->kind) {
    case AST_NAME: compile_name(c, t->u.name.id, AST_DEL); break;
    case AST_ATTRIBUTE:
        compile_expr_at(c, t->u.attr.value);
        set_loc(c, t);
        emit_name(c, ASY_OP_DELETE_ATTR, mangle(c, t->u.attr.name));
        break;
    case AST_SUBSCRIPT:
        compile_expr_at(c, t->u.subscript.value);
        compile_subscript_index(c, t->u.subscript.index);
        set_loc(c, t);
        emit(c, ASY_OP_DELETE_SUBSCR, 0);
        break;
    case AST_TUPLE:
    case AST_LIST:
        for (int i = 0; i < t->u.seq.elts.n; i++) compile_delete(c, t->u.seq.elts.items[i]);
        break;
    default: error_at(c, t, "cannot delete expression"); break;
    }
    c->u->loc = saved;
}

static bool is_plain_seq(AstNode *n)
{
    return (n->kind == AST_TUPLE || n->kind == AST_LIST) && !has_starred(&n->u.seq.elts);
}

static void compile_assign(C *c, AstNode *n)
{
    AstList *targets = &n->u.assign.targets;
    AstNode *value = n->u.assign.value;
    /* a, b = b, a: no tuple is built (CPython does the same for up to 3 items) */
    if (targets->n == 1 && is_plain_seq(targets->items[0]) && is_plain_seq(value) &&
        value->kind == AST_TUPLE) {
        int k = value->u.seq.elts.n;
        if (k == targets->items[0]->u.seq.elts.n && k >= 2 && k <= 3) {
            for (int i = 0; i < k; i++) compile_expr_at(c, value->u.seq.elts.items[i]);
            emit(c, ASY_OP_SWAP, k);
            for (int i = 0; i < k; i++) compile_store(c, targets->items[0]->u.seq.elts.items[i]);
            return;
        }
    }
    compile_expr_at(c, value);
    for (int i = 0; i < targets->n; i++) {
        if (i < targets->n - 1) emit(c, ASY_OP_COPY, 1);
        compile_store(c, targets->items[i]);
    }
}

/* x op= v evaluates the target's object and key once. */
static void compile_augassign(C *c, AstNode *n)
{
    AstNode *t = n->u.augassign.target;
    int op = (int)n->u.augassign.op + ASY_BIN_INPLACE;
    AsyLoc stmt = c->u->loc;
    switch (t->kind) {
    case AST_NAME:
        set_loc(c, t);
        compile_name(c, t->u.name.id, AST_LOAD);
        compile_expr_at(c, n->u.augassign.value);
        c->u->loc = stmt;
        emit(c, ASY_OP_BINARY_OP, op);
        set_loc(c, t);
        compile_name(c, t->u.name.id, AST_STORE);
        break;
    case AST_ATTRIBUTE: {
        const char *attr = mangle(c, t->u.attr.name);
        compile_expr_at(c, t->u.attr.value);
        set_loc(c, t);
        emit(c, ASY_OP_COPY, 1);
        emit_name(c, ASY_OP_LOAD_ATTR, attr);
        compile_expr_at(c, n->u.augassign.value);
        c->u->loc = stmt;
        emit(c, ASY_OP_BINARY_OP, op);
        set_loc(c, t);
        emit(c, ASY_OP_SWAP, 2);
        emit_name(c, ASY_OP_STORE_ATTR, attr);
        break;
    }
    case AST_SUBSCRIPT:
        compile_expr_at(c, t->u.subscript.value);
        compile_subscript_index(c, t->u.subscript.index);
        set_loc(c, t);
        emit(c, ASY_OP_COPY, 2);
        emit(c, ASY_OP_COPY, 2);
        emit(c, ASY_OP_BINARY_SUBSCR, 0);
        compile_expr_at(c, n->u.augassign.value);
        c->u->loc = stmt;
        emit(c, ASY_OP_BINARY_OP, op);
        set_loc(c, t);
        emit(c, ASY_OP_SWAP, 3);
        emit(c, ASY_OP_SWAP, 2);
        emit(c, ASY_OP_STORE_SUBSCR, 0);
        break;
    default: error_at(c, t, "illegal expression for augmented assignment"); break;
    }
    c->u->loc = stmt;
}

static void compile_annassign(C *c, AstNode *n)
{
    AstNode *t = n->u.annassign.target;
    if (n->u.annassign.value) {
        compile_expr_at(c, n->u.annassign.value);
        compile_store(c, t);
    }
    AsyScopeKind k = c->u->scope->kind;
    if (k != ASY_SCOPE_MODULE && k != ASY_SCOPE_CLASS) return;
    /* Module and class bodies evaluate the annotation; simple names record it. */
    compile_expr_at(c, n->u.annassign.annotation);
    if (t->kind == AST_NAME && n->u.annassign.simple) {
        emit_name(c, k == ASY_SCOPE_MODULE ? ASY_OP_LOAD_GLOBAL : ASY_OP_LOAD_NAME,
                  "__annotations__");
        load_const(c, cstr_value(c, mangle(c, t->u.name.id)));
        emit(c, ASY_OP_STORE_SUBSCR, 0);
    } else {
        emit(c, ASY_OP_POP_TOP, 0);
    }
}

/* ---- unwinding for break / continue / return ---- */

/* `name = None; del name` after an except clause that bound the exception to name. */
static void unbind_handler_name(C *c, const char *name)
{
    if (!name) return;
    load_const(c, ASY_NONE);
    compile_name(c, name, AST_STORE);
    compile_name(c, name, AST_DEL);
}

/* Drop the iterator of the for loop `loop` being left early: POP_ITER when the loop may
 * own a generator (iter_is_owned), to finalize it. */
static void emit_pop_iter(C *c, const AstNode *loop)
{
    if (loop && iter_is_owned(loop->u.for_.iter))
        emit(c, ASY_OP_POP_ITER, loop->u.for_.is_async);
    else
        emit(c, ASY_OP_POP_TOP, 0);
}

/* Leave one frame block early. preserve: a return value sits on top of the stack. */
static void unwind_fblock(C *c, FBlock *fb, bool preserve)
{
    switch (fb->kind) {
    case FB_WHILE:
    case FB_EXC_MATCH:
    case FB_HANDLER_STAR: /* never: leaves_except_star refused the jump */
    case FB_WITH_EXC: break;
    case FB_FOR:
        if (preserve) emit(c, ASY_OP_SWAP, 2);
        emit_pop_iter(c, fb->node);
        break;
    case FB_TRY_EXCEPT: emit(c, ASY_OP_POP_BLOCK, 0); break;
    case FB_FINALLY_TRY:
        emit(c, ASY_OP_POP_BLOCK, 0);
        if (preserve && !push_fblock(c, FB_POP_VALUE, 0, 0, NULL, fb->node)) return;
        compile_stmts(c, &fb->node->u.try_.finalbody);
        if (preserve) pop_fblock(c);
        break;
    case FB_FINALLY_END:
    case FB_HANDLER:
        emit(c, ASY_OP_POP_BLOCK, 0);
        if (preserve) { /* prev exc v -> v */
            emit(c, ASY_OP_SWAP, 2);
            emit(c, ASY_OP_POP_TOP, 0);
            emit(c, ASY_OP_SWAP, 2);
        } else {
            emit(c, ASY_OP_POP_TOP, 0);
        }
        emit(c, ASY_OP_POP_EXCEPT, 0);
        if (fb->kind == FB_HANDLER) unbind_handler_name(c, fb->node->u.handler.name);
        break;
    case FB_WITH:
    case FB_ASYNC_WITH:
        emit(c, ASY_OP_POP_BLOCK, 0);
        if (preserve) emit(c, ASY_OP_SWAP, 2);
        load_const(c, ASY_NONE);
        load_const(c, ASY_NONE);
        load_const(c, ASY_NONE);
        emit(c, ASY_OP_CALL, 3);
        if (fb->kind == FB_ASYNC_WITH) {
            emit(c, ASY_OP_GET_AWAITABLE, 0);
            emit(c, ASY_OP_AWAIT, 0);
        }
        emit(c, ASY_OP_POP_TOP, 0);
        break;
    case FB_POP_VALUE:
        if (preserve) emit(c, ASY_OP_SWAP, 2);
        emit(c, ASY_OP_POP_TOP, 0);
        break;
    }
}

/* Unwind blocks from the innermost outward, down to (not including) index `stop`. Each
 * block is taken off the stack while its cleanup is compiled, so that a break or return
 * inside a finally body does not run that finally body again. */
static void unwind_to(C *c, int stop, bool preserve)
{
    Unit *u = c->u;
    int n = u->nfblocks;
    FBlock saved[ASY_MAX_BLOCKS];
    memcpy(saved, u->fblocks, sizeof(FBlock) * (size_t)n);
    for (int i = n - 1; i >= stop && !c->failed; i--) {
        u->nfblocks = i;
        FBlock fb = saved[i];
        unwind_fblock(c, &fb, preserve);
    }
    memcpy(u->fblocks, saved, sizeof(FBlock) * (size_t)n);
    u->nfblocks = n;
}

/* CPython refuses break, continue and return that would leave an except* body. */
static bool leaves_except_star(C *c, int stop, AstNode *n)
{
    for (int i = c->u->nfblocks - 1; i >= stop; i--) {
        if (c->u->fblocks[i].kind == FB_HANDLER_STAR) {
            error_at(c, n, "'break', 'continue' and 'return' cannot appear in an except* block");
            return true;
        }
    }
    return false;
}

static int innermost_loop(C *c)
{
    for (int i = c->u->nfblocks - 1; i >= 0; i--)
        if (c->u->fblocks[i].kind == FB_WHILE || c->u->fblocks[i].kind == FB_FOR) return i;
    return -1;
}

static void compile_break_continue(C *c, AstNode *n, bool is_break)
{
    int loop = innermost_loop(c);
    if (loop < 0) {
        error_at(c, n, is_break ? "'break' outside loop" : "'continue' not properly in loop");
        return;
    }
    FBlock fb = c->u->fblocks[loop];
    if (leaves_except_star(c, loop + 1, n)) return;
    unwind_to(c, loop + 1, false);
    if (is_break) {
        if (fb.kind == FB_FOR) emit_pop_iter(c, fb.node);
        emit(c, ASY_OP_JUMP, fb.exit);
    } else {
        emit(c, ASY_OP_JUMP, fb.top);
    }
}

static void compile_return(C *c, AstNode *n)
{
    AsyScope *s = c->u->scope;
    if (s->kind == ASY_SCOPE_MODULE || s->kind == ASY_SCOPE_CLASS) {
        error_at(c, n, "'return' outside function");
        return;
    }
    AstNode *v = n->u.ret.value;
    if (v && s->is_async && s->is_generator) {
        error_at(c, n, "'return' with value in async generator");
        return;
    }
    if (leaves_except_star(c, 0, n)) return;
    bool preserve = v && !is_const_node(v);
    if (preserve) compile_expr_at(c, v);
    unwind_to(c, 0, preserve);
    if (!preserve) {
        if (v) load_const(c, const_value(c, v));
        else load_const(c, ASY_NONE);
    }
    set_loc(c, n);
    emit(c, ASY_OP_RETURN_VALUE, 0);
}

/* ---- compound statements ---- */

static void compile_if(C *c, AstNode *n)
{
    int orelse = new_label(c), end = new_label(c);
    int t = const_truth(n->u.if_.test);
    if (t == 1) {
        compile_stmts(c, &n->u.if_.body);
        return;
    }
    if (t == 0) {
        compile_stmts(c, &n->u.if_.orelse);
        return;
    }
    compile_jump_if(c, n->u.if_.test, orelse, false);
    compile_stmts(c, &n->u.if_.body);
    if (n->u.if_.orelse.n) emit(c, ASY_OP_JUMP, end);
    bind_label(c, orelse);
    compile_stmts(c, &n->u.if_.orelse);
    bind_label(c, end);
}

/* The test is compiled twice, before the loop and at its bottom (CPython 3.11's loop
 * rotation): each iteration then costs one conditional backward jump (a GC safepoint in the
 * VM, like JUMP) instead of a test, a forward jump and a JUMP back. */
static void compile_while(C *c, AstNode *n)
{
    int body = new_label(c), test = new_label(c), orelse = new_label(c), end = new_label(c);
    compile_jump_if(c, n->u.while_.test, orelse, false);
    bind_label(c, body);
    if (!push_fblock(c, FB_WHILE, test, end, NULL, n)) return;
    compile_stmts(c, &n->u.while_.body);
    pop_fblock(c);
    bind_label(c, test);
    /* CPython's jump back has the test's location, or the whole statement's when the test
     * is a constant (`while True:`, which then shows no carets) */
    set_loc(c, const_truth(n->u.while_.test) >= 0 ? n : n->u.while_.test);
    compile_jump_if(c, n->u.while_.test, body, true);
    bind_label(c, orelse);
    compile_stmts(c, &n->u.while_.orelse);
    bind_label(c, end);
}

static bool check_async_stmt(C *c, AstNode *n, const char *what)
{
    if (unit_allows_await(c) && c->u->scope->kind != ASY_SCOPE_COMPREHENSION) return true;
    char msg[64];
    snprintf(msg, sizeof msg, "'%s' outside async function", what);
    error_at(c, n, msg);
    return false;
}

/* The location of a for loop's jump back: CPython 3.11's jump has none of its own and takes
 * the last instruction's, where a final `pass` on a line of its own counts as one (its NOP
 * stays; one on the line before it is dropped). */
static void loop_back_loc(C *c, const AstList *body)
{
    const AstNode *last = body->n ? body->items[body->n - 1] : NULL;
    int prev_line = c->u->ncode ? c->u->locs[c->u->ncode - 1].line : -1;
    if (last && last->kind == AST_PASS && last->line != prev_line) set_loc(c, last);
    else if (c->u->ncode) c->u->loc = c->u->locs[c->u->ncode - 1];
}

static void compile_for(C *c, AstNode *n)
{
    bool is_async = n->u.for_.is_async;
    if (is_async && !check_async_stmt(c, n, "async for")) return;
    int top = new_label(c), stop = new_label(c), end = new_label(c);
    compile_expr_at(c, n->u.for_.iter);
    emit(c, is_async ? ASY_OP_GET_AITER : ASY_OP_GET_ITER, iter_is_owned(n->u.for_.iter));
    if (!push_fblock(c, FB_FOR, top, end, n, n)) return;
    bind_label(c, top);
    if (is_async) {
        emit(c, ASY_OP_SETUP_FINALLY, stop);
        emit(c, ASY_OP_GET_ANEXT, 0);
        emit(c, ASY_OP_AWAIT, 0);
        emit(c, ASY_OP_POP_BLOCK, 0);
    } else {
        emit(c, ASY_OP_FOR_ITER, stop);
    }
    compile_store(c, n->u.for_.target);
    compile_stmts(c, &n->u.for_.body);
    pop_fblock(c);
    loop_back_loc(c, &n->u.for_.body);
    emit(c, ASY_OP_JUMP, top);
    bind_label(c, stop);
    if (is_async) emit(c, ASY_OP_END_ASYNC_FOR, 0);
    compile_stmts(c, &n->u.for_.orelse);
    bind_label(c, end);
}

/* The code after an exception handler's protected range: `prev exc prev2 exc2` on the
 * stack; restore prev as the exception being handled and re-raise exc2. */
static void emit_cleanup_reraise(C *c)
{
    emit(c, ASY_OP_COPY, 4);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_RERAISE, 0);
}

static void compile_handlers(C *c, AstNode *n, int end)
{
    AstList *hs = &n->u.try_.handlers;
    int cleanup = new_label(c);
    emit(c, ASY_OP_SETUP_FINALLY, cleanup); /* stack: prev exc */
    if (!push_fblock(c, FB_EXC_MATCH, 0, 0, NULL, n)) return;
    for (int i = 0; i < hs->n && !c->failed; i++) {
        AstNode *h = hs->items[i];
        set_loc(c, h);
        if (!h->u.handler.type && i < hs->n - 1) {
            error_at(c, h, "default 'except:' must be last");
            return;
        }
        int next = new_label(c), named_cleanup = new_label(c);
        const char *name = h->u.handler.name;
        if (h->u.handler.type) {
            compile_expr_at(c, h->u.handler.type);
            emit(c, ASY_OP_CHECK_EXC_MATCH, 0);
            emit(c, ASY_OP_POP_JUMP_IF_FALSE, next);
        }
        if (name) {
            emit(c, ASY_OP_COPY, 1);
            compile_name(c, name, AST_STORE);
            /* from here on the cleanup also unbinds the name */
            emit(c, ASY_OP_POP_BLOCK, 0);
            emit(c, ASY_OP_SETUP_FINALLY, named_cleanup);
        }
        if (!push_fblock(c, FB_HANDLER, 0, 0, h, h)) return;
        compile_stmts(c, &h->u.handler.body);
        pop_fblock(c);
        set_loc(c, h);
        emit(c, ASY_OP_POP_BLOCK, 0);
        emit(c, ASY_OP_POP_TOP, 0);
        emit(c, ASY_OP_POP_EXCEPT, 0);
        unbind_handler_name(c, name);
        emit(c, ASY_OP_JUMP, end);
        if (name) {
            bind_label(c, named_cleanup);
            unbind_handler_name(c, name);
            emit_cleanup_reraise(c);
        }
        bind_label(c, next);
    }
    pop_fblock(c);
    /* no clause matched: restore prev and re-raise exc */
    set_loc(c, n);
    emit(c, ASY_OP_POP_BLOCK, 0);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_RERAISE, 0);
    bind_label(c, cleanup);
    emit_cleanup_reraise(c);
}


/* One except* clause; the stack holds `prev orig res exc` (exc: what is still unmatched)
 * before and `prev orig res rest` after. What its body raises is appended to res. */
static void compile_star_handler(C *c, AstNode *h)
{
    int no_match = new_label(c), raised = new_label(c), next = new_label(c);
    const char *name = h->u.handler.name;
    compile_expr_at(c, h->u.handler.type);
    set_loc(c, h);
    emit(c, ASY_OP_CHECK_EG_MATCH, 0);
    emit(c, ASY_OP_COPY, 1);
    load_const(c, ASY_NONE);
    emit(c, ASY_OP_IS_OP, 0);
    emit(c, ASY_OP_POP_JUMP_IF_TRUE, no_match);
    if (name) compile_name(c, name, AST_STORE);
    else emit(c, ASY_OP_POP_TOP, 0);
    emit(c, ASY_OP_SETUP_FINALLY, raised);
    if (!push_fblock(c, FB_HANDLER_STAR, 0, 0, h, h)) return;
    compile_stmts(c, &h->u.handler.body);
    pop_fblock(c);
    set_loc(c, h);
    emit(c, ASY_OP_POP_BLOCK, 0);
    unbind_handler_name(c, name);
    emit(c, ASY_OP_JUMP, next);
    bind_label(c, raised); /* prev orig res rest prev2 exc2 */
    unbind_handler_name(c, name);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_LIST_APPEND, 2);
    emit(c, ASY_OP_JUMP, next);
    bind_label(c, no_match);
    emit(c, ASY_OP_POP_TOP, 0);
    bind_label(c, next);
}

/* The except* clauses of a try, laid out as CPython 3.11's compiler_try_star_except: at the
 * handler the stack holds `prev exc`; under the part of the exception still unmatched it
 * keeps `orig` (the exception as raised) and `res` (a list of what the clauses raised), and
 * PREP_RERAISE_STAR turns them into what leaves. */
static void compile_star_handlers(C *c, AstNode *n, int end)
{
    int cleanup = new_label(c), reraise = new_label(c);
    emit(c, ASY_OP_SETUP_FINALLY, cleanup);
    if (!push_fblock(c, FB_EXC_MATCH, 0, 0, NULL, n)) return;
    emit(c, ASY_OP_COPY, 1);
    emit(c, ASY_OP_BUILD_LIST, 0);
    emit(c, ASY_OP_SWAP, 2); /* prev orig res exc */
    for (int i = 0; i < n->u.try_.handlers.n && !c->failed; i++)
        compile_star_handler(c, n->u.try_.handlers.items[i]);
    pop_fblock(c);
    set_loc(c, n);
    emit(c, ASY_OP_LIST_APPEND, 1); /* the rest, last */
    emit(c, ASY_OP_PREP_RERAISE_STAR, 0);
    emit(c, ASY_OP_POP_BLOCK, 0); /* prev result */
    emit(c, ASY_OP_COPY, 1);
    load_const(c, ASY_NONE);
    emit(c, ASY_OP_IS_OP, 1);
    emit(c, ASY_OP_POP_JUMP_IF_TRUE, reraise);
    emit(c, ASY_OP_POP_TOP, 0);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_JUMP, end);
    bind_label(c, reraise);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_RERAISE, 0);
    bind_label(c, cleanup);
    emit_cleanup_reraise(c);
}

static void compile_try_except(C *c, AstNode *n)
{
    int handler = new_label(c), end = new_label(c);
    emit(c, ASY_OP_SETUP_FINALLY, handler);
    if (!push_fblock(c, FB_TRY_EXCEPT, 0, 0, n, n)) return;
    compile_stmts(c, &n->u.try_.body);
    pop_fblock(c);
    set_loc(c, n);
    emit(c, ASY_OP_POP_BLOCK, 0);
    compile_stmts(c, &n->u.try_.orelse);
    emit(c, ASY_OP_JUMP, end);
    bind_label(c, handler);
    if (n->u.try_.star) compile_star_handlers(c, n, end);
    else compile_handlers(c, n, end);
    bind_label(c, end);
}

static void compile_try(C *c, AstNode *n)
{
    if (n->u.try_.finalbody.n == 0) {
        compile_try_except(c, n);
        return;
    }
    int fin = new_label(c), cleanup = new_label(c), end = new_label(c);
    emit(c, ASY_OP_SETUP_FINALLY, fin);
    if (!push_fblock(c, FB_FINALLY_TRY, 0, 0, n, n)) return;
    if (n->u.try_.handlers.n) compile_try_except(c, n);
    else compile_stmts(c, &n->u.try_.body);
    pop_fblock(c);
    set_loc(c, n);
    emit(c, ASY_OP_POP_BLOCK, 0);
    compile_stmts(c, &n->u.try_.finalbody);
    emit(c, ASY_OP_JUMP, end);
    /* the exception path: prev exc */
    bind_label(c, fin);
    set_loc(c, n);
    emit(c, ASY_OP_SETUP_FINALLY, cleanup);
    if (!push_fblock(c, FB_FINALLY_END, 0, 0, n, n)) return;
    compile_stmts(c, &n->u.try_.finalbody);
    pop_fblock(c);
    emit(c, ASY_OP_POP_BLOCK, 0);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_RERAISE, 0);
    bind_label(c, cleanup);
    emit_cleanup_reraise(c);
    bind_label(c, end);
}

static void emit_exit_call(C *c, bool is_async)
{
    load_const(c, ASY_NONE);
    load_const(c, ASY_NONE);
    load_const(c, ASY_NONE);
    emit(c, ASY_OP_CALL, 3);
    if (is_async) {
        emit(c, ASY_OP_GET_AWAITABLE, 0);
        emit(c, ASY_OP_AWAIT, 0);
    }
    emit(c, ASY_OP_POP_TOP, 0);
}

static void compile_with(C *c, AstNode *n, int item)
{
    bool is_async = n->u.with.is_async;
    if (item == 0 && is_async && !check_async_stmt(c, n, "async with")) return;
    AstNode *it = n->u.with.items.items[item];
    int exc = new_label(c), cleanup = new_label(c), suppress = new_label(c), end = new_label(c);
    compile_expr_at(c, it->u.withitem.context_expr);
    set_loc(c, n);
    if (is_async) {
        emit(c, ASY_OP_BEFORE_ASYNC_WITH, 0);
        emit(c, ASY_OP_GET_AWAITABLE, 0);
        emit(c, ASY_OP_AWAIT, 0);
    } else {
        emit(c, ASY_OP_BEFORE_WITH, 0);
    }
    /* The handler block must not count the __enter__ result, so it is stored first (CPython
     * also protects that store; an `as` target whose assignment fails is the difference). */
    if (it->u.withitem.optional_vars) compile_store(c, it->u.withitem.optional_vars);
    else emit(c, ASY_OP_POP_TOP, 0);
    set_loc(c, n);
    emit(c, ASY_OP_SETUP_FINALLY, exc);
    if (!push_fblock(c, is_async ? FB_ASYNC_WITH : FB_WITH, 0, 0, n, n)) return;
    if (item + 1 < n->u.with.items.n) compile_with(c, n, item + 1);
    else compile_stmts(c, &n->u.with.body);
    pop_fblock(c);
    set_loc(c, n);
    emit(c, ASY_OP_POP_BLOCK, 0);
    emit_exit_call(c, is_async);
    emit(c, ASY_OP_JUMP, end);
    /* exit prev exc */
    bind_label(c, exc);
    emit(c, ASY_OP_SETUP_FINALLY, cleanup);
    if (!push_fblock(c, FB_WITH_EXC, 0, 0, NULL, n)) return;
    emit(c, ASY_OP_WITH_EXCEPT_START, 0);
    if (is_async) {
        emit(c, ASY_OP_GET_AWAITABLE, 0);
        emit(c, ASY_OP_AWAIT, 0);
    }
    emit(c, ASY_OP_POP_JUMP_IF_TRUE, suppress);
    emit(c, ASY_OP_POP_BLOCK, 0);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_RERAISE, 0);
    bind_label(c, suppress);
    emit(c, ASY_OP_POP_BLOCK, 0);
    emit(c, ASY_OP_POP_TOP, 0);
    emit(c, ASY_OP_POP_EXCEPT, 0);
    emit(c, ASY_OP_POP_TOP, 0);
    emit(c, ASY_OP_JUMP, end);
    pop_fblock(c);
    bind_label(c, cleanup);
    emit_cleanup_reraise(c);
    bind_label(c, end);
}

/* ---- simple statements ---- */

static void compile_import(C *c, AstNode *n)
{
    AstList *names = &n->u.import.names;
    for (int i = 0; i < names->n; i++) {
        AstNode *a = names->items[i];
        const char *full = a->u.alias.name;
        load_const(c, ASY_NONE);
        emit_name(c, ASY_OP_IMPORT_NAME, full);
        if (a->u.alias.asname) {
            /* import a.b.c as d: d is the submodule, reached attribute by attribute */
            for (const char *p = strchr(full, '.'); p; p = strchr(p + 1, '.')) {
                const char *q = strchr(p + 1, '.');
                size_t len = q ? (size_t)(q - p - 1) : strlen(p + 1);
                emit_name(c, ASY_OP_IMPORT_FROM, asy_ast_strdup(c->arena, p + 1, len));
                emit(c, ASY_OP_SWAP, 2);
                emit(c, ASY_OP_POP_TOP, 0);
            }
            compile_name(c, a->u.alias.asname, AST_STORE);
        } else {
            const char *dot = strchr(full, '.');
            compile_name(c, dot ? asy_ast_strdup(c->arena, full, (size_t)(dot - full)) : full,
                         AST_STORE);
        }
    }
}

static void compile_importfrom(C *c, AstNode *n)
{
    AstList *names = &n->u.import.names;
    AsyTuple *fromlist = asy_tuple_new(c->vm, names->n);
    if (!fromlist) {
        c->failed = true;
        return;
    }
    for (int i = 0; i < names->n; i++)
        fromlist->items[i] = cstr_value(c, names->items[i]->u.alias.name);
    load_const(c, ASY_OBJ(fromlist));
    /* relative imports keep their leading dots in the module name */
    const char *mod = n->u.import.module ? n->u.import.module : "";
    int level = n->u.import.level;
    if (level > 0) {
        size_t ml = strlen(mod);
        char *full = asy_ast_alloc(c->arena, (size_t)level + ml + 1);
        memset(full, '.', (size_t)level);
        memcpy(full + level, mod, ml + 1);
        mod = full;
    }
    emit_name(c, ASY_OP_IMPORT_NAME, mod);
    for (int i = 0; i < names->n; i++) {
        AstNode *a = names->items[i];
        if (strcmp(a->u.alias.name, "*") == 0) {
            emit(c, ASY_OP_IMPORT_STAR, 0);
            return;
        }
        emit_name(c, ASY_OP_IMPORT_FROM, a->u.alias.name);
        compile_name(c, a->u.alias.asname ? a->u.alias.asname : a->u.alias.name, AST_STORE);
    }
    emit(c, ASY_OP_POP_TOP, 0);
}

static void compile_raise(C *c, AstNode *n)
{
    int argc = 0;
    if (n->u.raise.exc) {
        compile_expr_at(c, n->u.raise.exc);
        argc = 1;
        if (n->u.raise.cause) {
            compile_expr_at(c, n->u.raise.cause);
            argc = 2;
        }
    }
    emit(c, ASY_OP_RAISE_VARARGS, argc);
}

/* ---- explained asserts (ASY_COMPILE_EXPLAIN_ASSERTS, for `asy test`) ---- */

/* The source text of a one-line node, as a str constant; UNDEF when it spans lines. */
static AsyValue source_text(C *c, const AstNode *n)
{
    if (n->line != n->end_line) return ASY_UNDEF;
    size_t i = 0;
    for (int l = 1; l < n->line && i < c->srclen; i++)
        if (c->src[i] == '\n') l++;
    /* columns count code points: step over whole UTF-8 sequences */
    size_t start = i, end;
    for (int col = 0; start < c->srclen && col < n->col; col++)
        do start++; while (start < c->srclen && ((unsigned char)c->src[start] & 0xC0) == 0x80);
    end = start;
    for (int col = n->col; end < c->srclen && col < n->end_col; col++)
        do end++; while (end < c->srclen && ((unsigned char)c->src[end] & 0xC0) == 0x80);
    return str_value(c, c->src + start, end - start);
}

/* A name, constant or display of constants: its repr says all its source would. */
static bool shows_itself(const AstNode *n)
{
    switch (n->kind) {
    case AST_NAME:
    case AST_CONST: return true;
    case AST_UNARYOP: return n->u.unary.op != AST_NOT && n->u.unary.operand->kind == AST_CONST;
    case AST_LIST:
    case AST_TUPLE:
    case AST_SET:
        for (int i = 0; i < n->u.seq.elts.n; i++)
            if (!shows_itself(n->u.seq.elts.items[i])) return false;
        return true;
    default: return false;
    }
}

static const char *cmp_op_text(AstCmpOp op)
{
    static const char *const text[] = {
        [AST_EQ] = " == ", [AST_NE] = " != ", [AST_LT] = " < ",     [AST_LE] = " <= ",
        [AST_GT] = " > ",  [AST_GE] = " >= ",     [AST_IS] = " is ",    [AST_IS_NOT] = " is not ",
        [AST_IN] = " in ", [AST_NOT_IN] = " not in ",
    };
    return text[op];
}

/* Builds AssertionError("assert 2 == 3\n +  where 2 = f(1)") from the nvals operand values
 * left on the stack (vals[i]'s source gives each where-line), then raises it. */
static void raise_explained(C *c, const char *prefix, const char *op, AstNode **vals, int nvals)
{
    int k = 0, repr_at[2];
    load_const(c, cstr_value(c, prefix)), k++;
    for (int i = 0; i < nvals; i++) {
        if (i > 0) load_const(c, cstr_value(c, op)), k++;
        emit(c, ASY_OP_COPY, nvals - i + k);
        emit(c, ASY_OP_FORMAT_VALUE, 2), repr_at[i] = k++;
    }
    for (int i = 0; i < nvals; i++) {
        AsyValue text = shows_itself(vals[i]) ? ASY_UNDEF : source_text(c, vals[i]);
        if (ASY_IS_UNDEF(text)) continue;
        load_const(c, cstr_value(c, "\n +  where ")), k++;
        emit(c, ASY_OP_COPY, k - repr_at[i]), k++;
        load_const(c, cstr_value(c, " = ")), k++;
        load_const(c, text), k++;
    }
    emit(c, ASY_OP_BUILD_STRING, k);
    emit(c, ASY_OP_SWAP, nvals + 1);
    for (int i = 0; i < nvals; i++) emit(c, ASY_OP_POP_TOP, 0);
    emit(c, ASY_OP_LOAD_ASSERTION_ERROR, 0);
    emit(c, ASY_OP_SWAP, 2);
    emit(c, ASY_OP_CALL, 1);
    emit(c, ASY_OP_RAISE_VARARGS, 1);
}

/* `assert a == b` (one comparison): both operands stay on the stack for the message;
 * `assert not x`: x does; anything else: the test's value. Each operand is evaluated
 * once, as by a plain assert. */
static void compile_assert_explained(C *c, AstNode *n)
{
    AstNode *t = n->u.assert_.test, *vals[2] = {t, NULL};
    int ok = new_label(c), nvals = 1;
    const char *prefix = "assert ", *op = NULL;
    if (t->kind == AST_COMPARE && t->u.compare.comparators.n == 1) {
        vals[0] = t->u.compare.left;
        vals[1] = t->u.compare.comparators.items[0];
        nvals = 2;
        op = cmp_op_text(t->u.compare.ops[0]);
        compile_expr_at(c, vals[0]);
        compile_expr_at(c, vals[1]);
        emit(c, ASY_OP_COPY, 2);
        emit(c, ASY_OP_COPY, 2);
        compile_cmp_op(c, t->u.compare.ops[0]);
        emit(c, ASY_OP_POP_JUMP_IF_TRUE, ok);
    } else if (t->kind == AST_UNARYOP && t->u.unary.op == AST_NOT) {
        vals[0] = t->u.unary.operand;
        prefix = "assert not ";
        compile_expr_at(c, vals[0]);
        emit(c, ASY_OP_COPY, 1);
        emit(c, ASY_OP_POP_JUMP_IF_FALSE, ok);
    } else {
        compile_expr_at(c, t);
        emit(c, ASY_OP_COPY, 1);
        emit(c, ASY_OP_POP_JUMP_IF_TRUE, ok);
    }
    set_loc(c, t->kind == AST_COMPARE ? t : n);
    raise_explained(c, prefix, op, vals, nvals);
    bind_label(c, ok);
    for (int i = 0; i < nvals; i++) emit(c, ASY_OP_POP_TOP, 0);
}

static void compile_assert(C *c, AstNode *n)
{
    AsyWarnSource w = warn_source(c);
    asy_warn_assert(&w, n);
    if ((c->flags & ASY_COMPILE_EXPLAIN_ASSERTS) && !n->u.assert_.msg) {
        compile_assert_explained(c, n);
        return;
    }
    int end = new_label(c);
    compile_jump_if(c, n->u.assert_.test, end, true);
    /* CPython's tracebacks point at a comparison test, else at the whole statement */
    set_loc(c, n->u.assert_.test->kind == AST_COMPARE ? n->u.assert_.test : n);
    emit(c, ASY_OP_LOAD_ASSERTION_ERROR, 0);
    if (n->u.assert_.msg) {
        compile_expr_at(c, n->u.assert_.msg);
        emit(c, ASY_OP_CALL, 1);
    }
    emit(c, ASY_OP_RAISE_VARARGS, 1);
    bind_label(c, end);
}

static void compile_expr_stmt(C *c, AstNode *n)
{
    AstNode *v = n->u.expr_stmt.value;
    bool top = c->u->scope->kind == ASY_SCOPE_MODULE && c->u->parent == NULL;
    if (c->mode == ASY_PARSE_SINGLE && top) {
        compile_expr_at(c, v);
        emit(c, ASY_OP_PRINT_EXPR, 0);
        return;
    }
    if (v->kind == AST_CONST) return; /* docstrings and bare constants do nothing */
    compile_expr_at(c, v);
    /* arg 1: the VM checks for a coroutine never awaited, dropped on the statement's line */
    set_loc(c, n);
    emit(c, ASY_OP_POP_TOP, 1);
}

static void compile_stmt(C *c, AstNode *n)
{
    if (c->failed) return;
    set_loc(c, n);
    switch (n->kind) {
    case AST_EXPR_STMT: compile_expr_stmt(c, n); break;
    case AST_ASSIGN: compile_assign(c, n); break;
    case AST_AUGASSIGN: compile_augassign(c, n); break;
    case AST_ANNASSIGN: compile_annassign(c, n); break;
    case AST_IF: compile_if(c, n); break;
    case AST_WHILE: compile_while(c, n); break;
    case AST_FOR: compile_for(c, n); break;
    case AST_BREAK: compile_break_continue(c, n, true); break;
    case AST_CONTINUE: compile_break_continue(c, n, false); break;
    case AST_PASS:
    case AST_GLOBAL:
    case AST_NONLOCAL: break;
    case AST_RETURN: compile_return(c, n); break;
    case AST_FUNCTIONDEF: compile_funcdef(c, n); break;
    case AST_CLASSDEF: compile_classdef(c, n); break;
    case AST_TRY: compile_try(c, n); break;
    case AST_RAISE: compile_raise(c, n); break;
    case AST_ASSERT: compile_assert(c, n); break;
    case AST_DELETE:
        for (int i = 0; i < n->u.del.targets.n; i++) compile_delete(c, n->u.del.targets.items[i]);
        break;
    case AST_WITH: compile_with(c, n, 0); break;
    case AST_IMPORT: compile_import(c, n); break;
    case AST_IMPORTFROM: compile_importfrom(c, n); break;
    default: error_at(c, n, "invalid syntax"); break;
    }
}

static void compile_stmts(C *c, AstList *l)
{
    for (int i = 0; i < l->n && !c->failed; i++) compile_stmt(c, l->items[i]);
}

/* ---- the module ---- */

static AsyCode *compile_module(C *c, AstNode *mod)
{
    AsyScope *s = mod->u.module.scope;
    Unit u;
    enter_unit(c, &u, s, mod);
    u.firstline = 1;
    u.cflags |= ASY_CODE_MODULE;
    AstList *body = &mod->u.module.body;
    if (c->mode == ASY_PARSE_EVAL) {
        AstNode *e = body->n ? body->items[0] : NULL;
        if (e && e->kind == AST_EXPR_STMT) {
            compile_expr_at(c, e->u.expr_stmt.value);
            emit(c, ASY_OP_RETURN_VALUE, 0);
        } else {
            emit_return_none(c);
        }
    } else {
        int start = 0;
        if (c->mode == ASY_PARSE_MODULE && is_docstring(body)) {
            set_loc(c, body->items[0]);
            load_const(c, const_value(c, body->items[0]->u.expr_stmt.value));
            emit_name(c, ASY_OP_STORE_GLOBAL, "__doc__");
            start = 1;
        }
        if (s->has_annotations) emit(c, ASY_OP_SETUP_ANNOTATIONS, 0);
        for (int i = start; i < body->n && !c->failed; i++) compile_stmt(c, body->items[i]);
        last_stmt_loc(c, body);
        emit_return_none(c);
    }
    AsyCode *code = assemble(c, "<module>", "<module>");
    leave_unit(c, &u);
    return code;
}

static void raise_parse_error(C *c, const AsyParseError *e)
{
    if (e->type && strcmp(e->type, "RecursionError") == 0) { /* from the scope pass */
        asy_raise(c->vm, ASY_EXC_RecursionError, "%s", e->msg);
        return;
    }
    char *text = source_line(c->src, c->srclen, e->line);
    asy_raise_syntax_error(c->vm, e->type ? e->type : "SyntaxError", e->msg, c->filename,
                           e->line, e->col, e->end_col, text);
    free(text);
}

AsyCode *asy_compile(AsyVM *vm, const char *src, size_t len, const char *filename,
                     AsyParseMode mode)
{
    return asy_compile_flags(vm, src, len, filename, mode, 0);
}

AsyCode *asy_compile_flags(AsyVM *vm, const char *src, size_t len, const char *filename,
                           AsyParseMode mode, unsigned flags)
{
    if (!filename) filename = "<string>";
    AstArena *arena = asy_ast_arena_new();
    if (!arena) {
        asy_raise_memory(vm);
        return NULL;
    }
    Compiler c = {.vm = vm, .arena = arena, .filename = filename, .src = src, .srclen = len,
                  .mode = mode, .flags = flags};
    AsyParseError err;
    memset(&err, 0, sizeof err);
    AsyCode *code = NULL;
    AstNode *root = asy_parse(arena, src, len, mode, &err);
    if (!root || !asy_scope_build(arena, root, mode, &err)) {
        raise_parse_error(&c, &err);
    } else {
        c.filename_str = asy_str_intern_cstr(vm, filename);
        if (c.filename_str) code = compile_module(&c, root);
    }
    asy_ast_arena_free(arena);
    return code;
}
