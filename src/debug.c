/* debug.c - the disassembler, and the opcode name table (asy_opcode_names) generated from
 * the X-macro in opcodes.h.
 *
 * Output follows CPython's dis: a line number where a new source line starts (with a blank
 * line before each group), `>>` on jump targets, the instruction index, the name, the raw
 * argument and its meaning in parentheses. Nested code objects are listed after their
 * parent, each under a "Disassembly of ..." header. Addresses are left out so listings are
 * reproducible.
 */
#include "debug.h"

#include <stdlib.h>
#include <string.h>

#include "opcodes.h"

const char *const asy_opcode_names[ASY_OPCODE_COUNT] = {
#define ASY_X_NAME(name, doc) #name,
    ASY_OPCODES(ASY_X_NAME)
#undef ASY_X_NAME
};

static const char *const binop_names[ASY_BIN_COUNT] = {
    "+", "-", "*", "@", "/", "//", "%", "**", "<<", ">>", "|", "^", "&",
};

static const char *const cmp_names[] = {"<", "<=", "==", "!=", ">", ">="};

static bool is_code(AsyVM *vm, AsyValue v)
{
    return ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, code);
}

static void code_header(AsyCode *code, char *buf, size_t size)
{
    snprintf(buf, size, "<code object %s, file \"%s\", line %d>",
             code->name ? code->name->data : "?", code->filename ? code->filename->data : "?",
             (int)code->firstline);
}

static void const_repr(AsyVM *vm, AsyValue v, char *buf, size_t size)
{
    if (is_code(vm, v)) {
        code_header((AsyCode *)ASY_AS_OBJ(v), buf, size);
        return;
    }
    AsyValue r = asy_repr(vm, v);
    if (ASY_IS_ERR(r)) {
        asy_exc_clear(vm);
        snprintf(buf, size, "?");
        return;
    }
    snprintf(buf, size, "%s", ((AsyStr *)ASY_AS_OBJ(r))->data);
}

static const char *deref_name(AsyCode *code, int arg)
{
    if (arg < code->ncells) return code->cellnames[arg]->data;
    arg -= code->ncells;
    return arg < code->nfree ? code->freenames[arg]->data : "?";
}

static const char *name_at(AsyStr **names, int n, int arg)
{
    return arg >= 0 && arg < n ? names[arg]->data : "?";
}

void asy_disassemble_arg(AsyVM *vm, AsyCode *code, int32_t ip, char *buf, size_t size)
{
    uint32_t ins = code->code[ip];
    int arg = ASY_ARG(ins);
    buf[0] = '\0';
    switch (ASY_OP(ins)) {
    case ASY_OP_LOAD_CONST:
        if (arg < code->nconsts) const_repr(vm, code->consts[arg], buf, size);
        break;
    case ASY_OP_LOAD_FAST:
    case ASY_OP_STORE_FAST:
    case ASY_OP_DELETE_FAST:
        snprintf(buf, size, "%s", name_at(code->varnames, code->nlocals, arg));
        break;
    case ASY_OP_LOAD_DEREF:
    case ASY_OP_STORE_DEREF:
    case ASY_OP_DELETE_DEREF:
    case ASY_OP_LOAD_CLOSURE:
    case ASY_OP_LOAD_CLASSDEREF: snprintf(buf, size, "%s", deref_name(code, arg)); break;
    case ASY_OP_LOAD_GLOBAL:
    case ASY_OP_STORE_GLOBAL:
    case ASY_OP_DELETE_GLOBAL:
    case ASY_OP_LOAD_NAME:
    case ASY_OP_STORE_NAME:
    case ASY_OP_DELETE_NAME:
    case ASY_OP_LOAD_ATTR:
    case ASY_OP_STORE_ATTR:
    case ASY_OP_DELETE_ATTR:
    case ASY_OP_LOAD_METHOD:
    case ASY_OP_IMPORT_NAME:
    case ASY_OP_IMPORT_FROM:
        snprintf(buf, size, "%s", name_at(code->names, code->nnames, arg));
        break;
    case ASY_OP_JUMP:
    case ASY_OP_POP_JUMP_IF_FALSE:
    case ASY_OP_POP_JUMP_IF_TRUE:
    case ASY_OP_JUMP_IF_FALSE_OR_POP:
    case ASY_OP_JUMP_IF_TRUE_OR_POP:
    case ASY_OP_FOR_ITER:
    case ASY_OP_SETUP_FINALLY: snprintf(buf, size, "to %d", arg); break;
    case ASY_OP_BINARY_OP:
        if (arg < ASY_BIN_COUNT) snprintf(buf, size, "%s", binop_names[arg]);
        else if (arg < 2 * ASY_BIN_COUNT) snprintf(buf, size, "%s=", binop_names[arg - ASY_BIN_COUNT]);
        break;
    case ASY_OP_COMPARE_OP:
        if (arg >= 0 && arg < 6) snprintf(buf, size, "%s", cmp_names[arg]);
        break;
    case ASY_OP_IS_OP: snprintf(buf, size, "%s", arg ? "is not" : "is"); break;
    case ASY_OP_CONTAINS_OP: snprintf(buf, size, "%s", arg ? "not in" : "in"); break;
    case ASY_OP_FORMAT_VALUE: {
        static const char *const conv[] = {"", "str", "repr", "ascii"};
        snprintf(buf, size, "%s%s%s", conv[arg & 3], (arg & 3) && (arg & 4) ? ", " : "",
                 (arg & 4) ? "with format" : "");
        break;
    }
    case ASY_OP_MAKE_FUNCTION: {
        size_t k = 0;
        const char *parts[] = {"defaults", "kwdefaults", "closure"};
        for (int i = 0; i < 3; i++)
            if (arg & (1 << i))
                k += (size_t)snprintf(buf + k, k < size ? size - k : 0, "%s%s", k ? ", " : "",
                                      parts[i]);
        break;
    }
    case ASY_OP_UNPACK_EX: snprintf(buf, size, "%d, %d", arg & 0xFF, arg >> 8); break;
    default: break;
    }
}

/* Whether the instruction's argument means anything (dis prints it only then). */
static bool takes_arg(AsyOpcode op)
{
    switch (op) {
    case ASY_OP_NOP:
    case ASY_OP_POP_TOP:
    case ASY_OP_BINARY_SUBSCR:
    case ASY_OP_STORE_SUBSCR:
    case ASY_OP_DELETE_SUBSCR:
    case ASY_OP_UNARY_NEG:
    case ASY_OP_UNARY_POS:
    case ASY_OP_UNARY_INVERT:
    case ASY_OP_UNARY_NOT:
    case ASY_OP_GET_ITER:
    case ASY_OP_LIST_TO_TUPLE:
    case ASY_OP_RETURN_VALUE:
    case ASY_OP_POP_BLOCK:
    case ASY_OP_POP_EXCEPT:
    case ASY_OP_CHECK_EXC_MATCH:
    case ASY_OP_RERAISE:
    case ASY_OP_LOAD_ASSERTION_ERROR:
    case ASY_OP_BEFORE_WITH:
    case ASY_OP_WITH_EXCEPT_START:
    case ASY_OP_BEFORE_ASYNC_WITH:
    case ASY_OP_GET_AWAITABLE:
    case ASY_OP_AWAIT:
    case ASY_OP_YIELD_VALUE:
    case ASY_OP_GET_YIELD_FROM_ITER:
    case ASY_OP_YIELD_FROM:
    case ASY_OP_GET_AITER:
    case ASY_OP_GET_ANEXT:
    case ASY_OP_END_ASYNC_FOR:
    case ASY_OP_IMPORT_STAR:
    case ASY_OP_PRINT_EXPR:
    case ASY_OP_SETUP_ANNOTATIONS:
    case ASY_OP_RETURN_GENERATOR: return false;
    default: return true;
    }
}

static void list_code(AsyVM *vm, AsyCode *code, FILE *out)
{
    bool *target = calloc((size_t)code->ncode + 1, sizeof(bool));
    for (int i = 0; target && i < code->ncode; i++) {
        AsyOpcode op = ASY_OP(code->code[i]);
        int arg = ASY_ARG(code->code[i]);
        bool jump = op == ASY_OP_JUMP || op == ASY_OP_POP_JUMP_IF_FALSE ||
                    op == ASY_OP_POP_JUMP_IF_TRUE || op == ASY_OP_JUMP_IF_FALSE_OR_POP ||
                    op == ASY_OP_JUMP_IF_TRUE_OR_POP || op == ASY_OP_FOR_ITER ||
                    op == ASY_OP_SETUP_FINALLY;
        if (jump && arg >= 0 && arg <= code->ncode) target[arg] = true;
    }
    int line = -1;
    char argbuf[256];
    for (int i = 0; i < code->ncode; i++) {
        AsyOpcode op = ASY_OP(code->code[i]);
        int arg = ASY_ARG(code->code[i]);
        int l = code->locs ? code->locs[i].line : 0;
        if (l != line && i > 0) fputc('\n', out);
        char row[512];
        int k = l != line ? snprintf(row, sizeof row, "%3d", l) : snprintf(row, sizeof row, "   ");
        line = l;
        k += snprintf(row + k, sizeof row - (size_t)k, "    %s %4d %-20s",
                      target && target[i] ? ">>" : "  ", i,
                      op < ASY_OPCODE_COUNT ? asy_opcode_names[op] : "?");
        asy_disassemble_arg(vm, code, i, argbuf, sizeof argbuf);
        if (takes_arg(op) && k < (int)sizeof row)
            k += snprintf(row + k, sizeof row - (size_t)k, " %5d", arg);
        if (argbuf[0] && k < (int)sizeof row)
            k += snprintf(row + k, sizeof row - (size_t)k, " (%s)", argbuf);
        if (k >= (int)sizeof row) k = (int)sizeof row - 1;
        while (k > 0 && row[k - 1] == ' ') k--; /* as dis: no trailing blanks */
        fprintf(out, "%.*s\n", k, row);
    }
    free(target);
}

void asy_disassemble(AsyVM *vm, AsyCode *code, FILE *out)
{
    list_code(vm, code, out);
    for (int i = 0; i < code->nconsts; i++) {
        if (!is_code(vm, code->consts[i])) continue;
        AsyCode *inner = (AsyCode *)ASY_AS_OBJ(code->consts[i]);
        char head[512];
        code_header(inner, head, sizeof head);
        fprintf(out, "\nDisassembly of %s:\n", head);
        asy_disassemble(vm, inner, out);
    }
}
