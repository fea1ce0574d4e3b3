/* Unit tests of the scope pass (scope.c): how each block sees each name, the slot layout
 * of code objects, flags, qualnames, and the SyntaxErrors CPython's symtable reports. Every
 * expectation was checked against CPython 3.11 (symtable module, co_varnames/co_cellvars/
 * co_freevars, compile()). No VM is needed: only the parser and the scope pass run. */
#include <criterion/criterion.h>
#include <string.h>

#include "scope.h"

static AstArena *arena;
static AsyParseError err;

static AsyScope *build(const char *src)
{
    if (arena) asy_ast_arena_free(arena);
    arena = asy_ast_arena_new();
    memset(&err, 0, sizeof err);
    AstNode *root = asy_parse(arena, src, strlen(src), ASY_PARSE_MODULE, &err);
    cr_assert_not_null(root, "parse failed: %s", err.msg);
    if (!asy_scope_build(arena, root, ASY_PARSE_MODULE, &err)) return NULL;
    return root->u.module.scope;
}

static void teardown(void)
{
    asy_ast_arena_free(arena);
    arena = NULL;
}

TestSuite(scope, .fini = teardown);

static AsyScope *ok(const char *src)
{
    AsyScope *s = build(src);
    cr_assert_not_null(s, "unexpected SyntaxError: %s (line %d)", err.msg, err.line);
    return s;
}

static AsyScope *find(AsyScope *top, const char *qualname)
{
    AsyScope *s = asy_scope_find(top, qualname);
    cr_assert_not_null(s, "no scope %s", qualname);
    return s;
}

static void expect_error(const char *src, const char *msg, int line, int col, int end_col)
{
    cr_assert_null(build(src), "expected SyntaxError '%s'", msg);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_eq(err.line, line, "%s: line %d", msg, err.line);
    if (col >= 0) cr_assert_eq(err.col, col, "%s: offset %d", msg, err.col);
    if (end_col >= 0) cr_assert_eq(err.end_col, end_col, "%s: end %d", msg, err.end_col);
}

#define KIND(scope, name, k) cr_assert_eq(asy_scope_kind(scope, name), k, "%s in %s", name, (scope)->qualname)

Test(scope, closure_cell_and_free)
{
    AsyScope *m = ok("def f():\n    x = 1\n    def g():\n        return x\n    return g\n");
    AsyScope *f = find(m, "f"), *g = find(m, "f.<locals>.g");
    KIND(f, "x", ASY_SYM_CELL);
    KIND(f, "g", ASY_SYM_LOCAL);
    KIND(g, "x", ASY_SYM_FREE);
    cr_assert_eq(f->ncells, 1);
    cr_assert_str_eq(f->cellnames[0], "x");
    cr_assert_eq(f->cell2arg[0], -1);
    cr_assert_eq(g->nfree, 1);
    cr_assert_str_eq(g->freenames[0], "x");
    cr_assert_eq(f->nlocals, 1); /* only g: x lives in its cell */
}

Test(scope, captured_parameter_keeps_its_slot)
{
    AsyScope *m = ok("def f(a, b):\n    return lambda: b\n");
    AsyScope *f = find(m, "f");
    KIND(f, "b", ASY_SYM_CELL);
    cr_assert_eq(f->nlocals, 2);
    cr_assert_eq(f->ncells, 1);
    cr_assert_eq(f->cell2arg[0], 1);
}

Test(scope, parameter_order_is_cpythons)
{
    AsyScope *m = ok("def f(p, /, a, *args, k, **kw):\n    z = 1\n");
    AsyScope *f = find(m, "f");
    const char *want[] = {"p", "a", "k", "args", "kw", "z"};
    cr_assert_eq(f->nlocals, 6);
    for (int i = 0; i < 6; i++) cr_assert_str_eq(f->varnames[i], want[i]);
    cr_assert_eq(f->argcount, 2);
    cr_assert_eq(f->posonlycount, 1);
    cr_assert_eq(f->kwonlycount, 1);
    cr_assert(f->has_varargs && f->has_varkw);
}

Test(scope, nonlocal_and_global)
{
    AsyScope *m = ok("def f():\n    x = 1\n    def g():\n        nonlocal x\n        x = 2\n"
                     "        global y\n        y = 3\n");
    AsyScope *g = find(m, "f.<locals>.g");
    KIND(find(m, "f"), "x", ASY_SYM_CELL);
    KIND(g, "x", ASY_SYM_FREE);
    KIND(g, "y", ASY_SYM_GLOBAL_EXPLICIT);
    KIND(g, "print", ASY_SYM_GLOBAL_IMPLICIT);
}

Test(scope, global_hides_enclosing_binding)
{
    AsyScope *m = ok("def f():\n    global x\n    def g():\n        return x\n");
    KIND(find(m, "f.<locals>.g"), "x", ASY_SYM_GLOBAL_IMPLICIT);
}

Test(scope, assignment_anywhere_makes_local)
{
    AsyScope *m = ok("x = 1\ndef f():\n    print(x)\n    x = 2\n");
    KIND(find(m, "f"), "x", ASY_SYM_LOCAL);
}

Test(scope, class_body_is_skipped_by_methods)
{
    AsyScope *m = ok("class C:\n    y = 1\n    def m(self):\n        return y\n");
    KIND(find(m, "C"), "y", ASY_SYM_LOCAL);
    KIND(find(m, "C.m"), "y", ASY_SYM_GLOBAL_IMPLICIT);
}

Test(scope, class_passes_free_variables_through)
{
    AsyScope *m = ok("def f():\n    x = 1\n    class C:\n        x = 2\n"
                     "        def m(self):\n            return x\n    return C\n");
    AsyScope *f = find(m, "f"), *c = find(m, "f.<locals>.C"), *meth = find(m, "f.<locals>.C.m");
    KIND(f, "x", ASY_SYM_CELL);
    KIND(c, "x", ASY_SYM_LOCAL); /* the class's own x stays in its namespace */
    cr_assert(asy_scope_lookup(c, "x")->flags & ASY_DEF_FREE_CLASS);
    cr_assert_eq(c->nfree, 1);
    KIND(meth, "x", ASY_SYM_FREE);
}

Test(scope, class_body_reads_enclosing_function)
{
    AsyScope *m = ok("def f():\n    x = 1\n    class C:\n        y = x\n");
    KIND(find(m, "f.<locals>.C"), "x", ASY_SYM_FREE);
    KIND(find(m, "f"), "x", ASY_SYM_CELL);
}

Test(scope, super_creates_class_cell)
{
    AsyScope *m = ok("class C(B):\n    def m(self):\n        return super().m()\n"
                     "    def n(self):\n        return 1\n");
    AsyScope *c = find(m, "C");
    cr_assert(c->needs_class_cell);
    cr_assert_eq(c->ncells, 1);
    cr_assert_str_eq(c->cellnames[0], "__class__");
    KIND(find(m, "C.m"), "__class__", ASY_SYM_FREE);
    cr_assert_null(asy_scope_lookup(find(m, "C.n"), "__class__"));
}

Test(scope, class_cell_through_nested_function)
{
    AsyScope *m = ok("class C:\n    def m(self):\n        def g():\n            return __class__\n"
                     "        return g\n");
    KIND(find(m, "C.m"), "__class__", ASY_SYM_FREE);
    KIND(find(m, "C.m.<locals>.g"), "__class__", ASY_SYM_FREE);
    cr_assert(find(m, "C")->needs_class_cell);
}

Test(scope, comprehension_is_its_own_scope)
{
    AsyScope *m = ok("def f(xs):\n    return [x * k for x in xs]\n");
    AsyScope *f = find(m, "f"), *lc = find(m, "f.<locals>.<listcomp>");
    cr_assert_null(asy_scope_lookup(f, "x"));
    KIND(lc, "x", ASY_SYM_LOCAL);
    KIND(lc, "k", ASY_SYM_GLOBAL_IMPLICIT);
    cr_assert_str_eq(lc->varnames[0], ".0");
    cr_assert_eq(lc->argcount, 1);
    KIND(f, "xs", ASY_SYM_LOCAL); /* the first iterable is evaluated outside */
}

Test(scope, walrus_in_comprehension_binds_outside)
{
    AsyScope *m = ok("def f(xs):\n    ys = [(y := x) for x in xs]\n    return y\n");
    KIND(find(m, "f"), "y", ASY_SYM_CELL);
    KIND(find(m, "f.<locals>.<listcomp>"), "y", ASY_SYM_FREE);
    AsyScope *top = ok("ys = [(y := x) for x in xs]\n");
    KIND(find(top, "<listcomp>"), "y", ASY_SYM_GLOBAL_EXPLICIT);
}

Test(scope, generator_and_coroutine_flags)
{
    AsyScope *m = ok("def g():\n    yield 1\nasync def c():\n    await x\n"
                     "async def ag():\n    yield 1\nl = lambda: (yield)\ne = (i for i in r)\n");
    cr_assert(find(m, "g")->is_generator && !find(m, "g")->is_async);
    cr_assert(find(m, "c")->is_async && !find(m, "c")->is_generator);
    cr_assert(find(m, "ag")->is_async && find(m, "ag")->is_generator);
    cr_assert(find(m, "<lambda>")->is_generator);
    cr_assert(find(m, "<genexpr>")->is_generator);
    cr_assert(!m->is_async);
}

Test(scope, top_level_await_makes_module_a_coroutine)
{
    AsyScope *m = ok("import asyncio\nawait asyncio.sleep(0)\n");
    cr_assert(m->is_async);
    AsyScope *c = ok("async def f():\n    return [await x for x in y]\n");
    cr_assert(find(c, "f.<locals>.<listcomp>")->is_async);
}

Test(scope, qualnames)
{
    AsyScope *m = ok("def outer():\n    class A:\n        def m(self):\n            def g(): pass\n"
                     "        l = lambda: 0\n        c = [lambda: 1 for _ in r]\n    return A\n"
                     "def f():\n    global h\n    def h(): pass\n");
    find(m, "outer.<locals>.A");
    find(m, "outer.<locals>.A.m.<locals>.g");
    find(m, "outer.<locals>.A.<lambda>");
    find(m, "outer.<locals>.A.<listcomp>.<lambda>");
    cr_assert_str_eq(find(m, "f")->children[0]->qualname, "h");
}

Test(scope, private_names_are_mangled)
{
    AsyScope *m = ok("class C:\n    __a = 1\n    def m(self):\n        __b = 2\n        __c__ = 3\n");
    cr_assert_not_null(asy_scope_lookup(find(m, "C"), "_C__a"));
    cr_assert_not_null(asy_scope_lookup(find(m, "C.m"), "_C__b"));
    cr_assert_not_null(asy_scope_lookup(find(m, "C.m"), "__c__"));
}

Test(scope, errors_global_and_nonlocal)
{
    expect_error("def f(x):\n    global x\n", "name 'x' is parameter and global", 2, 5, 13);
    expect_error("def f():\n    x = 1\n    global x\n",
                 "name 'x' is assigned to before global declaration", 3, 5, 13);
    expect_error("def f():\n    print(x)\n    global x\n",
                 "name 'x' is used prior to global declaration", 3, 5, 13);
    expect_error("def f():\n    def g():\n        nonlocal x\n",
                 "no binding for nonlocal 'x' found", 3, 9, 19);
    expect_error("nonlocal x\n", "nonlocal declaration not allowed at module level", 1, 1, 11);
    expect_error("def f():\n    global x\n    nonlocal x\n", "name 'x' is nonlocal and global", 2,
                 5, 13);
    expect_error("def f():\n    x: int = 1\n    global x\n", "annotated name 'x' can't be global",
                 3, 5, 13);
    expect_error("def f(x):\n    nonlocal x\n", "name 'x' is parameter and nonlocal", 2, 5, 15);
}

Test(scope, nonlocal_cannot_reach_class_or_module)
{
    expect_error("x = 1\ndef f():\n    nonlocal x\n", "no binding for nonlocal 'x' found", 3, 5,
                 15);
    expect_error("def f():\n    class C:\n        x = 1\n        def m(self):\n"
                 "            nonlocal x\n",
                 "no binding for nonlocal 'x' found", 5, 13, 23);
}

Test(scope, errors_yield_and_walrus)
{
    expect_error("yield 1\n", "'yield' outside function", 1, 1, 8);
    expect_error("x = (yield)\n", "'yield' outside function", 1, 6, 11);
    expect_error("def f():\n    [(yield) for x in y]\n", "'yield' inside list comprehension", 2,
                 7, 12);
    expect_error("class A:\n    [(y := 1) for x in z]\n",
                 "assignment expression within a comprehension cannot be used in a class body",
                 2, 7, 8);
    expect_error("[(x := 1) for x in z]\n",
                 "assignment expression cannot rebind comprehension iteration variable 'x'", 1,
                 3, 4);
    expect_error("async def f():\n    yield from x\n", "'yield from' inside async function", 2,
                 5, 17);
    expect_error("def f():\n    from m import *\n", "import * only allowed at module level", 2,
                 19, 20);
}

Test(scope, import_then_global_is_allowed)
{
    /* CPython 3.11 does not count an import as an assignment here */
    ok("def f():\n    import x\n    global x\n");
}
