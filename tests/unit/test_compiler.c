/* Unit tests of the compiler (compiler.c) and the disassembler (debug.c): the instructions
 * chosen for each construct, exact stack sizes, code object fields (flags, counts, cells,
 * docstrings, locations) and CPython's SyntaxError messages and positions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "debug.h"
#include "opcodes.h"

static AsyVM *vm;

static void setup(void) { vm = asy_vm_new(); }
static void teardown(void) { asy_vm_free(vm); }

TestSuite(compiler, .init = setup, .fini = teardown);

static AsyCode *compile_mode(const char *src, AsyParseMode mode)
{
    AsyCode *code = asy_compile(vm, src, strlen(src), "t.asy", mode);
    if (code) asy_root_push(vm, ASY_OBJ(code)); /* tests never pop: the VM dies after */
    return code;
}

static AsyCode *ok(const char *src)
{
    AsyCode *code = compile_mode(src, ASY_PARSE_MODULE);
    cr_assert_not_null(code, "compiling failed:\n%s", src);
    return code;
}

/* The disassembly of code (and its nested code objects), malloc'd. */
static char *dis(AsyCode *code)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    asy_disassemble(vm, code, f);
    fclose(f);
    return buf;
}

static void expect_dis(const char *src, const char *fragment)
{
    char *text = dis(ok(src));
    cr_assert_not_null(strstr(text, fragment), "expected `%s` in:\n%s", fragment, text);
    free(text);
}

static void expect_no_dis(const char *src, const char *fragment)
{
    char *text = dis(ok(src));
    cr_assert_null(strstr(text, fragment), "unexpected `%s` in:\n%s", fragment, text);
    free(text);
}

static AsyCode *nested(AsyCode *code, int which)
{
    for (int i = 0; i < code->nconsts; i++) {
        AsyValue v = code->consts[i];
        if (ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, code) && which-- == 0)
            return (AsyCode *)ASY_AS_OBJ(v);
    }
    cr_assert_fail("no nested code object");
    return NULL;
}

static long exc_int(const char *attr)
{
    AsyValue v = asy_dict_get_cstr(vm, vm->exc->dict, attr);
    return ASY_IS_INT(v) ? (long)ASY_AS_INT(v) : -1;
}

static void expect_error(const char *src, const char *msg, int line, int offset, int end)
{
    cr_assert_null(compile_mode(src, ASY_PARSE_MODULE), "expected SyntaxError: %s", msg);
    cr_assert_not_null(vm->exc);
    cr_assert_not_null(vm->exc->dict);
    AsyValue m = asy_dict_get_cstr(vm, vm->exc->dict, "msg");
    cr_assert(ASY_IS_OBJ(m));
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(m))->data, msg);
    cr_assert_eq(exc_int("lineno"), line, "%s: line %ld", msg, exc_int("lineno"));
    cr_assert_eq(exc_int("offset"), offset, "%s: offset %ld", msg, exc_int("offset"));
    if (end >= 0) cr_assert_eq(exc_int("end_offset"), end, "%s: end %ld", msg, exc_int("end_offset"));
    asy_exc_clear(vm);
}

Test(compiler, module_names_are_globals)
{
    expect_dis("x = 1\nprint(x)\n", "STORE_GLOBAL             0 (x)");
    expect_dis("x = 1\nprint(x)\n", "LOAD_GLOBAL              1 (print)");
}

Test(compiler, function_locals_cells_and_frees)
{
    AsyCode *m = ok("def f(a):\n    b = a\n    def g():\n        return a + b\n    return g\n");
    AsyCode *f = nested(m, 0), *g = nested(f, 0);
    cr_assert_eq(f->argcount, 1);
    cr_assert_eq(f->ncells, 2);
    cr_assert_eq(g->nfree, 2);
    int param_cells = 0;
    for (int i = 0; i < f->ncells; i++)
        if (f->cell2arg[i] == 0) param_cells++;
    cr_assert_eq(param_cells, 1);
    char *text = dis(m);
    cr_assert_not_null(strstr(text, "LOAD_CLOSURE"));
    cr_assert_not_null(strstr(text, "MAKE_FUNCTION            4 (closure)"));
    cr_assert_not_null(strstr(text, "LOAD_DEREF"));
    free(text);
}

Test(compiler, names_are_interned)
{
    AsyCode *m = ok("import os\nos.path\n");
    for (int i = 0; i < m->nnames; i++)
        cr_assert_eq(m->names[i], asy_str_intern_cstr(vm, m->names[i]->data));
}

Test(compiler, constants_are_shared_by_type_and_value)
{
    AsyCode *m = ok("a = 1\nb = 1\nc = 1.0\nd = True\ne = 'x'\nf = 'x'\ng = -0.0\nh = 0.0\n");
    /* 1, 1.0, True, 'x', -0.0, 0.0, None */
    cr_assert_eq(m->nconsts, 7);
}

Test(compiler, constant_folding)
{
    expect_dis("x = -5\n", "LOAD_CONST               0 (-5)");
    expect_dis("x = (1, (2, -3.5), 'a')\n", "(1, (2, -3.5), 'a')");
    expect_dis("x = [1, 2, 3]\n", "LIST_EXTEND");
    expect_dis("x = -9223372036854775808\n", "(-9223372036854775808)");
    expect_no_dis("while True:\n    pass\n", "POP_JUMP");
    expect_dis("x = 1 << 20\n", "LOAD_CONST               0 (1048576)");
    expect_dis("x = 60 * 60 + 0.5\n", "(3600.5)");
    expect_dis("x = 'ab' + 'cd'\n", "('abcd')");
    expect_dis("x = 1 / 0\n", "BINARY_OP"); /* left to raise at run time */
    expect_dis("x = 2 ** 1000\n", "BINARY_OP");
}

Test(compiler, stacksize_is_exact)
{
    cr_assert_eq(ok("f(a, b, c)\n")->stacksize, 4);
    cr_assert_eq(ok("x = 1\n")->stacksize, 1);
    cr_assert_eq(ok("x = [1, 2, 3]\n")->stacksize, 2);
    cr_assert_eq(ok("a < b < c\n")->stacksize, 3);
    /* handler: prev exc; its cleanup: prev exc prev2 exc2 + a COPY */
    cr_assert_eq(ok("try:\n    pass\nexcept E:\n    pass\n")->stacksize, 5);
    /* with: exit, then exit prev exc res... */
    cr_assert_eq(ok("with m:\n    pass\n")->stacksize, 6);
}

Test(compiler, calls)
{
    expect_dis("f(1, x=2)\n", "CALL_KW                  2");
    expect_dis("o.m(1)\n", "LOAD_METHOD");
    expect_dis("o.m(1)\n", "CALL_METHOD              1");
    expect_dis("o.m(k=1)\n", "CALL_METHOD_KW           1");
    expect_dis("f(*a, **k)\n", "CALL_EX                  1");
    expect_dis("f(*a)\n", "CALL_EX                  0");
    expect_dis("f(a, *b, c)\n", "LIST_TO_TUPLE");
    expect_dis("f(**a, b=1)\n", "DICT_MERGE");
}

Test(compiler, zero_argument_super)
{
    AsyCode *m = ok("class C(B):\n    def m(self):\n        return super().m()\n");
    AsyCode *body = nested(m, 0), *meth = nested(body, 0);
    cr_assert_eq(body->ncells, 1);
    cr_assert_str_eq(body->cellnames[0]->data, "__class__");
    char *text = dis(meth);
    cr_assert_not_null(strstr(text, "LOAD_DEREF               0 (__class__)"), "%s", text);
    cr_assert_not_null(strstr(text, "CALL                     2"), "%s", text);
    free(text);
    expect_dis("class C(B):\n    def m(self):\n        return super().m()\n", "BUILD_CLASS              1");
}

Test(compiler, class_body)
{
    char *text = dis(ok("class C:\n    'doc'\n    x = 1\n"));
    cr_assert_not_null(strstr(text, "STORE_NAME               1 (__module__)"), "%s", text);
    cr_assert_not_null(strstr(text, "STORE_NAME               2 (__qualname__)"), "%s", text);
    cr_assert_not_null(strstr(text, "(__doc__)"), "%s", text);
    free(text);
    AsyCode *m = ok("def f():\n    y = 1\n    class C:\n        z = y\n");
    char *t2 = dis(m);
    cr_assert_not_null(strstr(t2, "LOAD_CLASSDEREF"), "%s", t2);
    free(t2);
}

Test(compiler, flags)
{
    AsyCode *m = ok("def g():\n    yield 1\nasync def c():\n    await x\nasync def ag():\n"
                    "    yield 1\nlambda: 0\n[x for x in y]\n");
    cr_assert(nested(m, 0)->cflags & ASY_CODE_GENERATOR);
    cr_assert(nested(m, 1)->cflags & ASY_CODE_COROUTINE);
    cr_assert(nested(m, 2)->cflags & ASY_CODE_ASYNC_GENERATOR);
    cr_assert(nested(m, 3)->cflags & ASY_CODE_LAMBDA);
    cr_assert(nested(m, 4)->cflags & ASY_CODE_COMPREHENSION);
    cr_assert(m->cflags & ASY_CODE_MODULE);
    cr_assert(!(m->cflags & ASY_CODE_COROUTINE));
    cr_assert(ok("await f()\n")->cflags & ASY_CODE_COROUTINE);
    cr_assert(nested(ok("def f(*a, **k): pass\n"), 0)->cflags & ASY_CODE_VARARGS);
    cr_assert(nested(ok("def f(*a, **k): pass\n"), 0)->cflags & ASY_CODE_VARKW);
}

Test(compiler, names_and_qualnames)
{
    AsyCode *f = nested(ok("def f():\n    return [lambda: 0 for _ in r]\n"), 0);
    cr_assert_str_eq(f->qualname->data, "f");
    AsyCode *lc = nested(f, 0);
    cr_assert_str_eq(lc->name->data, "<listcomp>");
    cr_assert_str_eq(lc->qualname->data, "f.<locals>.<listcomp>");
    cr_assert_str_eq(nested(lc, 0)->qualname->data, "f.<locals>.<listcomp>.<lambda>");
    cr_assert_str_eq(lc->varnames[0]->data, ".0");
    cr_assert_str_eq(f->filename->data, "t.asy");
}

Test(compiler, docstrings)
{
    AsyCode *f = nested(ok("def f():\n    'hello'\n    return 1\n"), 0);
    cr_assert(f->cflags & ASY_CODE_DOCSTRING);
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(f->consts[0]))->data, "hello");
    AsyCode *g = nested(ok("def g():\n    return 1\n"), 0);
    cr_assert(!(g->cflags & ASY_CODE_DOCSTRING));
}

Test(compiler, first_line_and_locations)
{
    AsyCode *m = ok("@d\ndef f():\n    pass\nx = a.b\n");
    cr_assert_eq(nested(m, 0)->firstline, 1);
    for (int i = 0; i < m->ncode; i++) {
        if (ASY_OP(m->code[i]) != ASY_OP_LOAD_ATTR) continue;
        AsyLoc l = m->locs[i];
        cr_assert_eq(l.line, 4);
        cr_assert_eq(l.col, 4);
        cr_assert_eq(l.end_col, 7);
        return;
    }
    cr_assert_fail("no LOAD_ATTR");
}

Test(compiler, exception_layout)
{
    char *text = dis(ok("try:\n    f()\nexcept E as e:\n    g(e)\nfinally:\n    h()\n"));
    cr_assert_not_null(strstr(text, "CHECK_EXC_MATCH"), "%s", text);
    cr_assert_not_null(strstr(text, "POP_EXCEPT"), "%s", text);
    cr_assert_not_null(strstr(text, "RERAISE"), "%s", text);
    cr_assert_not_null(strstr(text, "DELETE_GLOBAL"), "%s", text); /* the implicit del e */
    cr_assert_not_null(strstr(text, "COPY                     4"), "%s", text);
    free(text);
}

Test(compiler, unpacking_and_augmented_assignment)
{
    expect_dis("a, *b, c = x\n", "UNPACK_EX              257 (1, 1)");
    expect_dis("a, b = x\n", "UNPACK_SEQUENCE          2");
    expect_dis("a, b = b, a\n", "SWAP                     2");
    expect_dis("o.x += 1\n", "BINARY_OP               13 (+=)");
    expect_dis("d[k] -= 1\n", "SWAP                     3");
}

Test(compiler, modes)
{
    AsyCode *e = compile_mode("a + 2", ASY_PARSE_EVAL);
    cr_assert_not_null(e);
    char *text = dis(e);
    cr_assert_not_null(strstr(text, "BINARY_OP"));
    cr_assert_null(strstr(text, "POP_TOP"));
    free(text);
    AsyCode *s = compile_mode("x\n", ASY_PARSE_SINGLE);
    cr_assert_not_null(s);
    text = dis(s);
    cr_assert_not_null(strstr(text, "PRINT_EXPR"));
    free(text);
}

Test(compiler, syntax_errors)
{
    expect_error("return 1\n", "'return' outside function", 1, 1, 9);
    expect_error("def f():\n    x = 1\n    break\n", "'break' outside loop", 3, 5, 10);
    expect_error("continue\n", "'continue' not properly in loop", 1, 1, 9);
    expect_error("def f():\n    await x\n", "'await' outside async function", 2, 5, 12);
    expect_error("class A:\n    await x\n", "'await' outside function", 2, 5, 12);
    expect_error("async def f():\n    yield 1\n    return 2\n",
                 "'return' with value in async generator", 3, 5, 13);
    expect_error("def f():\n    [x async for x in y]\n",
                 "asynchronous comprehension outside of an asynchronous function", 2, 5, 25);
    expect_error("a, *b, *c = d\n", "multiple starred expressions in assignment", 1, 1, 10);
    expect_error("*a = b\n", "starred assignment target must be in a list or tuple", 1, 1, 3);
    expect_error("def f():\n    async for x in y: pass\n", "'async for' outside async function",
                 2, 5, 27);
    expect_error("x = 1\nglobal x\n", "name 'x' is assigned to before global declaration", 2, 1,
                 9);
}

Test(compiler, syntax_error_text_is_the_source_line)
{
    cr_assert_null(compile_mode("x = 1\n    y = 2\n", ASY_PARSE_MODULE));
    AsyValue t = asy_dict_get_cstr(vm, vm->exc->dict, "text");
    cr_assert(ASY_IS_OBJ(t));
    cr_assert_str_eq(((AsyStr *)ASY_AS_OBJ(t))->data, "    y = 2\n");
    asy_exc_clear(vm);
}

Test(compiler, too_many_nested_blocks)
{
    char src[4096];
    size_t k = 0;
    for (int i = 0; i < 21; i++) k += (size_t)snprintf(src + k, sizeof src - k, "%*sfor x in y:\n", i, "");
    snprintf(src + k, sizeof src - k, "%*spass\n", 21, "");
    expect_error(src, "too many statically nested blocks", 21, 21, -1);
    src[0] = '\0';
    k = 0;
    for (int i = 0; i < 20; i++) k += (size_t)snprintf(src + k, sizeof src - k, "%*sfor x in y:\n", i, "");
    snprintf(src + k, sizeof src - k, "%*spass\n", 20, "");
    ok(src);
}
