/* Unit tests of the parser (src/parser.c) and the AST dump (src/ast.c): every statement and
 * expression form, f-strings, node positions, and syntax errors with CPython 3.11's
 * messages and positions (each checked with python3's compile()). Trees are compared as
 * asy_ast_dump text; the format is described at the top of src/ast.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

static char dumped[8192];

/* The dump of `src` parsed in `mode`, without the "(Module " wrapper for brevity. */
static const char *parse_mode(const char *src, AsyParseMode mode, bool positions)
{
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    AstNode *m = asy_parse(arena, src, strlen(src), mode, &err);
    if (!m) {
        snprintf(dumped, sizeof dumped, "ERROR %s: %s (%d:%d)", err.type, err.msg, err.line,
                 err.col);
    } else {
        char *d = positions ? asy_ast_dump_positions(m) : asy_ast_dump(m);
        const char *body = d + strlen(positions ? "(Module@1:0-1:0" : "(Module");
        if (*body == ' ') body++;
        snprintf(dumped, sizeof dumped, "%.*s", (int)strlen(body) - 1, body);
        free(d);
    }
    asy_ast_arena_free(arena);
    return dumped;
}

static const char *parse(const char *src) { return parse_mode(src, ASY_PARSE_MODULE, false); }

static AsyParseError parse_err(const char *src, size_t len)
{
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    AstNode *m = asy_parse(arena, src, len, ASY_PARSE_MODULE, &err);
    cr_assert_null(m, "expected an error for: %s", src);
    asy_ast_arena_free(arena);
    return err;
}

#define P(src, expected) cr_assert_str_eq(parse(src), expected)

/* An error: type, message, line, 1-based column (CPython's offset), end column. */
#define ERR(src, etype, emsg, eline, ecol, eend)                                         \
    do {                                                                                 \
        AsyParseError e_ = parse_err(src, strlen(src));                                  \
        cr_assert_str_eq(e_.type, etype, "%s", src);                                     \
        cr_assert_str_eq(e_.msg, emsg, "%s", src);                                       \
        cr_assert_eq(e_.line, eline, "%s: line %d, expected %d", src, e_.line, eline);   \
        cr_assert_eq(e_.col, ecol, "%s: col %d, expected %d", src, e_.col, ecol);        \
        cr_assert_eq(e_.end_col, eend, "%s: end %d, expected %d", src, e_.end_col, eend); \
    } while (0)

/* ============================ statements ============================ */

Test(parser, assignments) {
    P("x = 1 + 2", "(Assign (Name x Store) (BinOp + (Const 1) (Const 2)))");
    P("a = b = c", "(Assign (Name a Store) (Name b Store) (Name c))");
    P("a, *b = c", "(Assign (Tuple (Name a Store) (Starred (Name b Store)) Store) (Name c))");
    P("[a, (b, c)] = d", "(Assign (List (Name a Store) (Tuple (Name b Store) (Name c Store) "
                         "Store) Store) (Name d))");
    P("a.b[c] = d", "(Assign (Subscript (Attribute (Name a) b) (Name c) Store) (Name d))");
    P("x = yield y", "(Assign (Name x Store) (Yield (Name y)))");
    P("x = *a, *b", "(Assign (Name x Store) (Tuple (Starred (Name a)) (Starred (Name b))))");
    P("x += 1", "(AugAssign (Name x Store) += (Const 1))");
    P("x.y //= 2", "(AugAssign (Attribute (Name x) y Store) //= (Const 2))");
    P("a[0] **= b, c", "(AugAssign (Subscript (Name a) (Const 0) Store) **= (Tuple (Name b) (Name c)))");
}

Test(parser, annotated_assignments) {
    P("x: int = 1", "(AnnAssign (Name x Store) (Name int) (Const 1))");
    P("x: list[int]", "(AnnAssign (Name x Store) (Subscript (Name list) (Name int)) _)");
    P("(x): int = 1", "(AnnAssign nonsimple (Name x Store) (Name int) (Const 1))");
    P("a.b: int", "(AnnAssign nonsimple (Attribute (Name a) b Store) (Name int) _)");
}

Test(parser, simple_statements) {
    P("pass; break; continue", "(Pass) (Break) (Continue)");
    P("del a, b[0], c.d", "(Delete (Name a Del) (Subscript (Name b) (Const 0) Del) "
                         "(Attribute (Name c) d Del))");
    P("del (a, b), [c]", "(Delete (Tuple (Name a Del) (Name b Del) Del) (List (Name c Del) Del))");
    P("assert x", "(Assert (Name x))");
    P("assert x, 'm'", "(Assert (Name x) (Const 'm'))");
    P("raise", "(Raise)");
    P("raise E(1) from e", "(Raise (Call (Name E) (Const 1)) (Name e))");
    P("global a, b", "(Global a b)");
    P("def f():\n nonlocal a", "(FunctionDef f (Args) (body (Nonlocal a)))");
    P("x; y;", "(Expr (Name x)) (Expr (Name y))");
}

Test(parser, return_and_yield) {
    P("def f():\n return", "(FunctionDef f (Args) (body (Return)))");
    P("def f():\n return 1, *a", "(FunctionDef f (Args) (body (Return (Tuple (Const 1) "
                                "(Starred (Name a))))))");
    P("def f():\n yield\n yield 1, 2\n yield from g()",
      "(FunctionDef f (Args) (body (Expr (Yield)) (Expr (Yield (Tuple (Const 1) (Const 2)))) "
      "(Expr (YieldFrom (Call (Name g))))))");
}

Test(parser, imports) {
    P("import os.path as p, sys", "(Import (Alias os.path p) (Alias sys))");
    P("from . import x", "(ImportFrom . (Alias x))");
    P("from ..a.b import (c, d as e,)", "(ImportFrom ..a.b (Alias c) (Alias d e))");
    P("from ... import a", "(ImportFrom ... (Alias a))");
    P("from m import *", "(ImportFrom m (Alias *))");
    P("import a . b", "(Import (Alias a.b))");
}

Test(parser, if_elif_else) {
    P("if a: b\nelif c: d\nelse: e",
      "(If (Name a) (body (Expr (Name b))) (orelse (If (Name c) (body (Expr (Name d))) "
      "(orelse (Expr (Name e))))))");
    P("if x:\n    pass\n    pass\n", "(If (Name x) (body (Pass) (Pass)))");
    P("if (n := 10) > 5: pass", "(If (Compare (NamedExpr (Name n Store) (Const 10)) > (Const 5)) "
                               "(body (Pass)))");
}

Test(parser, loops) {
    P("while x: pass\nelse: y", "(While (Name x) (body (Pass)) (orelse (Expr (Name y))))");
    P("for a, b in c: pass", "(For (Tuple (Name a Store) (Name b Store) Store) (Name c) (body (Pass)))");
    P("for x in 1, 2: pass\nelse: pass",
      "(For (Name x Store) (Tuple (Const 1) (Const 2)) (body (Pass)) (orelse (Pass)))");
    P("for *a, b in c: pass", "(For (Tuple (Starred (Name a Store)) (Name b Store) Store) "
                              "(Name c) (body (Pass)))");
    P("async def f():\n async for x in y: pass",
      "(AsyncFunctionDef f (Args) (body (AsyncFor (Name x Store) (Name y) (body (Pass)))))");
}

Test(parser, with_statements) {
    P("with a as b, c: pass", "(With (WithItem (Name a) (Name b Store)) (WithItem (Name c)) (body (Pass)))");
    P("with (a as b, c as d,): pass",
      "(With (WithItem (Name a) (Name b Store)) (WithItem (Name c) (Name d Store)) (body (Pass)))");
    P("with (a, b): pass", "(With (WithItem (Name a)) (WithItem (Name b)) (body (Pass)))");
    P("with (a, b) as c: pass",
      "(With (WithItem (Tuple (Name a) (Name b)) (Name c Store)) (body (Pass)))");
    P("with (a) as (b, c): pass",
      "(With (WithItem (Name a) (Tuple (Name b Store) (Name c Store) Store)) (body (Pass)))");
    P("with (x for x in y): pass", "(With (WithItem (GenExp (Name x) (Comprehension "
                                   "(Name x Store) (Name y)))) (body (Pass)))");
    P("async def f():\n async with a() as b: pass",
      "(AsyncFunctionDef f (Args) (body (AsyncWith (WithItem (Call (Name a)) (Name b Store)) "
      "(body (Pass)))))");
}

Test(parser, try_statements) {
    P("try: a\nexcept E as e: b\nexcept (A, B): c\nexcept: d\nelse: f\nfinally: g",
      "(Try (body (Expr (Name a))) (ExceptHandler (Name E) e (body (Expr (Name b)))) "
      "(ExceptHandler (Tuple (Name A) (Name B)) (body (Expr (Name c)))) "
      "(ExceptHandler (body (Expr (Name d)))) (orelse (Expr (Name f))) (finally (Expr (Name g))))");
    P("try: a\nfinally: b", "(Try (body (Expr (Name a))) (finally (Expr (Name b))))");
}

Test(parser, function_definitions) {
    P("def f(a, b=1, /, c=2, *, d, e=3, **k): pass",
      "(FunctionDef f (Args a b=(Const 1) / c=(Const 2) * d e=(Const 3) **k) (body (Pass)))");
    P("def f(*args, x, **kw) -> int: pass",
      "(FunctionDef f (Args *args x **kw) (body (Pass)) (returns (Name int)))");
    P("def f(a: int, *b: str, c: 'x' = 1): pass",
      "(FunctionDef f (Args a *b c=(Const 1)) (body (Pass)))");
    P("def f(a,): pass", "(FunctionDef f (Args a) (body (Pass)))");
    P("async def f(): await x", "(AsyncFunctionDef f (Args) (body (Expr (Await (Name x)))))");
    P("@a.b(1)\n@c\ndef f(): pass",
      "(FunctionDef f (Args) (body (Pass)) (decorators (Call (Attribute (Name a) b) (Const 1)) "
      "(Name c)))");
    P("@d\nasync def f(): pass", "(AsyncFunctionDef f (Args) (body (Pass)) (decorators (Name d)))");
}

Test(parser, parameter_lines) {
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    const char *src = "def f(a,\n      b, *c,\n      d, **e): pass";
    AstNode *m = asy_parse(arena, src, strlen(src), ASY_PARSE_MODULE, &err);
    AstArgs *a = m->u.module.body.items[0]->u.funcdef.args;
    int expected[] = {1, 2, 2, 3, 3};
    for (int i = 0; i < 5; i++) cr_assert_eq(a->param_lines[i], expected[i]);
    cr_assert_eq(a->kw_defaults.n, 1);
    cr_assert_null(a->kw_defaults.items[0]);
    asy_ast_arena_free(arena);
}

Test(parser, class_definitions) {
    P("class A: pass", "(ClassDef A (body (Pass)))");
    P("class A(B, *m, metaclass=M, **kw):\n  x = 1",
      "(ClassDef A (bases (Name B) (Starred (Name m))) (keywords (Keyword metaclass (Name M)) "
      "(Keyword ** (Name kw))) (body (Assign (Name x Store) (Const 1))))");
    P("@dataclass\nclass A(): pass", "(ClassDef A (body (Pass)) (decorators (Name dataclass)))");
}

/* ============================ expressions ============================ */

Test(parser, precedence) {
    P("a + b * c ** -d", "(Expr (BinOp + (Name a) (BinOp * (Name b) (BinOp ** (Name c) "
                         "(UnaryOp - (Name d))))))");
    P("-2 ** 2", "(Expr (UnaryOp - (BinOp ** (Const 2) (Const 2))))");
    P("a ** b ** c", "(Expr (BinOp ** (Name a) (BinOp ** (Name b) (Name c))))");
    P("a - b - c", "(Expr (BinOp - (BinOp - (Name a) (Name b)) (Name c)))");
    P("a | b ^ c & d << e + f @ g // h % i",
      "(Expr (BinOp | (Name a) (BinOp ^ (Name b) (BinOp & (Name c) (BinOp << (Name d) "
      "(BinOp + (Name e) (BinOp % (BinOp // (BinOp @ (Name f) (Name g)) (Name h)) (Name i))))))))");
    P("not a and b or c", "(Expr (BoolOp or (BoolOp and (UnaryOp not (Name a)) (Name b)) (Name c)))");
    P("a or b or c", "(Expr (BoolOp or (Name a) (Name b) (Name c)))");
    P("~+a", "(Expr (UnaryOp ~ (UnaryOp + (Name a))))");
    P("await a ** 2", "(Expr (BinOp ** (Await (Name a)) (Const 2)))");
}

Test(parser, comparisons) {
    P("a < b <= c == d != e > f >= g", "(Expr (Compare (Name a) < (Name b) <= (Name c) == (Name d) "
                                       "!= (Name e) > (Name f) >= (Name g)))");
    P("a in b not in c is d is not e", "(Expr (Compare (Name a) in (Name b) not-in (Name c) "
                                       "is (Name d) is-not (Name e)))");
    P("not a in b", "(Expr (UnaryOp not (Compare (Name a) in (Name b))))");
}

Test(parser, conditional_lambda_walrus) {
    P("a if b else c if d else e", "(Expr (IfExp (Name b) (Name a) (IfExp (Name d) (Name c) (Name e))))");
    P("lambda: 0", "(Expr (Lambda (Args) (Const 0)))");
    P("lambda a, /, b=1, *c, d, e=2, **f: a",
      "(Expr (Lambda (Args a / b=(Const 1) *c d e=(Const 2) **f) (Name a)))");
    P("lambda *, k: k", "(Expr (Lambda (Args * k) (Name k)))");
    P("f(x := 1)", "(Expr (Call (Name f) (NamedExpr (Name x Store) (Const 1))))");
    P("[y := 2, y]", "(Expr (List (NamedExpr (Name y Store) (Const 2)) (Name y)))");
}

Test(parser, atoms) {
    P("None, True, False, ...", "(Expr (Tuple (Const None) (Const True) (Const False) (Const ...)))");
    P("(), (1,), (1), [], {}", "(Expr (Tuple (Tuple) (Tuple (Const 1)) (Const 1) (List) (Dict)))");
    P("x = (yield)", "(Assign (Name x Store) (Yield))");
    P("{1, 2}, {1: 2, **m, 3: 4}", "(Expr (Tuple (Set (Const 1) (Const 2)) (Dict (Const 1) "
                                  "(Const 2) ** (Name m) (Const 3) (Const 4))))");
    P("{**a}", "(Expr (Dict ** (Name a)))");
    P("[*a, *b], {*a}, (*a, b)", "(Expr (Tuple (List (Starred (Name a)) (Starred (Name b))) "
                                "(Set (Starred (Name a))) (Tuple (Starred (Name a)) (Name b))))");
}

Test(parser, numbers) {
    P("1_000, 0xff, 0o7, 0b11, 1.5, 2e3, 3j, 1.", "(Expr (Tuple (Const 1000) (Const 255) (Const 7) "
      "(Const 3) (Const 1.5) (Const 2000.0) (Const 3j) (Const 1.0)))");
    P("123456789012345678901234567890", "(Expr (BigInt 123456789012345678901234567890))");
    P("0x10000000000000000", "(Expr (BigInt 18446744073709551616))");
    P("-9223372036854775808", "(Expr (UnaryOp - (BigInt 9223372036854775808)))");
}

Test(parser, calls_and_trailers) {
    P("f(a, *b, c=1, **d, e=2)", "(Expr (Call (Name f) (Name a) (Starred (Name b)) "
                                "(Keyword c (Const 1)) (Keyword ** (Name d)) (Keyword e (Const 2))))");
    P("f(a=1, *b)", "(Expr (Call (Name f) (Starred (Name b)) (Keyword a (Const 1))))");
    P("f(x for x in y)", "(Expr (Call (Name f) (GenExp (Name x) (Comprehension (Name x Store) (Name y)))))");
    P("f(a,)", "(Expr (Call (Name f) (Name a)))");
    P("a.b.c(d)[e]", "(Expr (Subscript (Call (Attribute (Attribute (Name a) b) c) (Name d)) (Name e)))");
}

Test(parser, slices) {
    P("a[1:2]", "(Expr (Subscript (Name a) (Slice (Const 1) (Const 2) _)))");
    P("a[::3]", "(Expr (Subscript (Name a) (Slice _ _ (Const 3))))");
    P("a[:]", "(Expr (Subscript (Name a) (Slice _ _ _)))");
    P("a[1:2, ::3]", "(Expr (Subscript (Name a) (Tuple (Slice (Const 1) (Const 2) _) (Slice _ _ (Const 3)))))");
    P("a[1,]", "(Expr (Subscript (Name a) (Tuple (Const 1))))");
    P("a[*b]", "(Expr (Subscript (Name a) (Tuple (Starred (Name b)))))");
    P("a[x:=1]", "(Expr (Subscript (Name a) (NamedExpr (Name x Store) (Const 1))))");
}

Test(parser, comprehensions) {
    P("[x for x in y if x if z for w in x]",
      "(Expr (ListComp (Name x) (Comprehension (Name x Store) (Name y) (Name x) (Name z)) "
      "(Comprehension (Name w Store) (Name x))))");
    P("{k: v for k, v in d}", "(Expr (DictComp (Name k) (Name v) (Comprehension (Tuple (Name k Store) "
                              "(Name v Store) Store) (Name d))))");
    P("{x for x in y}", "(Expr (SetComp (Name x) (Comprehension (Name x Store) (Name y))))");
    P("(x for x in y)", "(Expr (GenExp (Name x) (Comprehension (Name x Store) (Name y))))");
    P("[a async for a in b]", "(Expr (ListComp (Name a) (Comprehension async (Name a Store) (Name b))))");
    P("[x if x else y for x in z]", "(Expr (ListComp (IfExp (Name x) (Name x) (Name y)) "
                                    "(Comprehension (Name x Store) (Name z))))");
}

/* ============================ strings ============================ */

Test(parser, string_literals) {
    P("'a' \"b\" '''c\nd'''", "(Expr (Const 'abc\\nd'))");
    P("r'\\n', b'\\x00\\xff', rb'\\x'", "(Expr (Tuple (Const '\\\\n') (Const b'\\x00\\xff') (Const b'\\\\x')))");
    P("'\\u00e9\\d'", "(Expr (Const '\xc3\xa9\\\\d'))");
    P("u'x' 'y'", "(Expr (Const 'xy'))");
    P("b'a' b'b'", "(Expr (Const b'ab'))");
    P("'a\\\nb'", "(Expr (Const 'ab'))");
}

Test(parser, fstrings) {
    P("f'a{x}b'", "(Expr (FString (Const 'a') (Formatted (Name x)) (Const 'b')))");
    P("f'{x!r:>{w}}'", "(Expr (FString (Formatted (Name x) !r (FString (Const '>') (Formatted (Name w))))))");
    P("f'{x=}'", "(Expr (FString (Const 'x=') (Formatted (Name x) !r)))");
    P("f'{x = !s}'", "(Expr (FString (Const 'x = ') (Formatted (Name x) !s)))");
    P("f'{x=:>5}'", "(Expr (FString (Const 'x=') (Formatted (Name x) (FString (Const '>5')))))");
    P("f'{{}}{x}'", "(Expr (FString (Const '{}') (Formatted (Name x))))");
    P("'a' f'{b}' 'c'", "(Expr (FString (Const 'a') (Formatted (Name b)) (Const 'c')))");
    P("f'abc'", "(Expr (FString (Const 'abc')))");
    P("f''", "(Expr (FString))");
    P("f\"{d['k']}\"", "(Expr (FString (Formatted (Subscript (Name d) (Const 'k')))))");
    P("f'{a, b}'", "(Expr (FString (Formatted (Tuple (Name a) (Name b)))))");
    P("f'{x for x in y}'", "(Expr (FString (Formatted (GenExp (Name x) (Comprehension (Name x Store) (Name y))))))");
    P("f'{a!=b}'", "(Expr (FString (Formatted (Compare (Name a) != (Name b)))))");
    P("f'{3.14:.2f}\\n'", "(Expr (FString (Formatted (Const 3.14) (FString (Const '.2f'))) (Const '\\n')))");
    P("rf'\\d{x}'", "(Expr (FString (Const '\\\\d') (Formatted (Name x))))");
    P("f'''{\nx\n}'''", "(Expr (FString (Formatted (Name x))))");
    P("f'{f\"{x}\"}'", "(Expr (FString (Formatted (FString (Formatted (Name x))))))");
}

Test(parser, fstring_expression_positions) {
    /* The expression inside keeps its real line and column. */
    cr_assert_str_eq(parse_mode("x = 1\ny = f'ab{z}'\nf'''\n{w}'''", ASY_PARSE_MODULE, true),
                     "(Assign@1:0-1:5 (Name@1:0-1:1 x Store) (Const@1:4-1:5 1)) "
                     "(Assign@2:0-2:12 (Name@2:0-2:1 y Store) (FString@2:4-2:12 "
                     "(Const@2:4-2:12 'ab') (Formatted@2:4-2:12 (Name@2:9-2:10 z)))) "
                     "(Expr@3:0-4:6 (FString@3:0-4:6 (Const@3:0-4:6 '\\n') "
                     "(Formatted@3:0-4:6 (Name@4:1-4:2 w))))");
}

/* ============================ positions ============================ */

Test(parser, positions_match_cpython) {
    /* Checked against ast.parse: a parenthesized operand widens its parent, a call owns a
     * bare generator argument's parentheses, a compound statement ends at its last line. */
    cr_assert_str_eq(parse_mode("(a + b) * f(x for x in y)", ASY_PARSE_MODULE, true),
                     "(Expr@1:0-1:25 (BinOp@1:0-1:25 * (BinOp@1:1-1:6 + (Name@1:1-1:2 a) "
                     "(Name@1:5-1:6 b)) (Call@1:10-1:25 (Name@1:10-1:11 f) (GenExp@1:11-1:25 "
                     "(Name@1:12-1:13 x) (Comprehension@1:14-1:24 (Name@1:18-1:19 x Store) "
                     "(Name@1:23-1:24 y))))))");
    cr_assert_str_eq(parse_mode("if a:\n    b\n\n", ASY_PARSE_MODULE, true),
                     "(If@1:0-2:5 (Name@1:3-1:4 a) (body (Expr@2:4-2:5 (Name@2:4-2:5 b))))");
    cr_assert_str_eq(parse_mode("print(\n  1)", ASY_PARSE_MODULE, true),
                     "(Expr@1:0-2:4 (Call@1:0-2:4 (Name@1:0-1:5 print) (Const@2:2-2:3 1)))");
    cr_assert_str_eq(parse_mode("@d\ndef f(): pass", ASY_PARSE_MODULE, true),
                     "(FunctionDef@2:0-2:13 f (Args) (body (Pass@2:9-2:13)) (decorators "
                     "(Name@1:1-1:2 d)))");
    cr_assert_str_eq(parse_mode("\xc3\xa9 = '\xc3\xa9'", ASY_PARSE_MODULE, true),
                     "(Assign@1:0-1:7 (Name@1:0-1:1 \xc3\xa9 Store) (Const@1:4-1:7 '\xc3\xa9'))");
}

/* ============================ modes ============================ */

Test(parser, eval_mode) {
    cr_assert_str_eq(parse_mode("1 + 2\n", ASY_PARSE_EVAL, false),
                     "(Expr (BinOp + (Const 1) (Const 2)))");
    cr_assert_str_eq(parse_mode("  a, b", ASY_PARSE_EVAL, false), "(Expr (Tuple (Name a) (Name b)))");
    cr_assert_str_eq(parse_mode("x = 1", ASY_PARSE_EVAL, false),
                     "ERROR SyntaxError: invalid syntax (1:3)");
}

Test(parser, single_mode) {
    cr_assert_str_eq(parse_mode("x = 1\n", ASY_PARSE_SINGLE, false), "(Assign (Name x Store) (Const 1))");
    cr_assert_str_eq(parse_mode("if x:\n  y\n", ASY_PARSE_SINGLE, false), "(If (Name x) (body (Expr (Name y))))");
    cr_assert_str_eq(parse_mode("\n", ASY_PARSE_SINGLE, false), "");
    cr_assert_str_eq(parse_mode("a = 1\nb = 2\n", ASY_PARSE_SINGLE, false),
                     "ERROR SyntaxError: multiple statements found while compiling a single "
                     "statement (2:1)");
}

Test(parser, incomplete_input_for_the_repl) {
    const char *incomplete[] = {"if x:\n", "f(1,\n", "x = '''abc\n", "def f():\n  if y:\n",
                                "x = [\n", "x = 1 + \\\n", "class A:\n"};
    for (size_t i = 0; i < sizeof incomplete / sizeof *incomplete; i++) {
        AsyParseError e = parse_err(incomplete[i], strlen(incomplete[i]));
        cr_assert(e.incomplete, "%s should be incomplete (%s)", incomplete[i], e.msg);
    }
    const char *complete[] = {"x = \n", "f(1))\n", "x = 'abc\n", "if x\n"};
    for (size_t i = 0; i < sizeof complete / sizeof *complete; i++) {
        AsyParseError e = parse_err(complete[i], strlen(complete[i]));
        cr_assert(!e.incomplete, "%s is a real error (%s)", complete[i], e.msg);
    }
}

/* ============================ errors ============================ */

Test(parser, assignment_target_errors) {
    ERR("f() = 1", "SyntaxError", "cannot assign to function call here. Maybe you meant '==' "
                                  "instead of '='?", 1, 1, 4);
    ERR("1 = x", "SyntaxError", "cannot assign to literal here. Maybe you meant '==' instead "
                                "of '='?", 1, 1, 2);
    ERR("x = f() = 1", "SyntaxError", "cannot assign to function call", 1, 5, 8);
    ERR("(a, f()) = 1", "SyntaxError", "cannot assign to function call", 1, 5, 8);
    ERR("a < b = 1", "SyntaxError", "cannot assign to comparison", 1, 1, 6);
    ERR("True = 1", "SyntaxError", "cannot assign to True", 1, 1, 5);
    ERR("x = yield = 1", "SyntaxError", "assignment to yield expression not possible", 1, 5, 10);
    ERR("for f() in x: pass", "SyntaxError", "cannot assign to function call", 1, 5, 8);
    ERR("with a as f(): pass", "SyntaxError", "cannot assign to function call", 1, 11, 14);
    ERR("[x for 1 in y]", "SyntaxError", "cannot assign to literal", 1, 8, 9);
    ERR("del f()", "SyntaxError", "cannot delete function call", 1, 5, 8);
    ERR("del *a", "SyntaxError", "cannot delete starred", 1, 5, 7);
    ERR("(a, b) += 1", "SyntaxError", "'tuple' is an illegal expression for augmented assignment",
        1, 1, 7);
    ERR("(a, b): int", "SyntaxError", "only single target (not tuple) can be annotated", 1, 1, 7);
    ERR("a + 1: int", "SyntaxError", "illegal target for annotation", 1, 1, 6);
    ERR("x := 1", "SyntaxError", "invalid syntax", 1, 3, 5);
    ERR("if x = 3:\n pass", "SyntaxError",
        "invalid syntax. Maybe you meant '==' or ':=' instead of '='?", 1, 4, 9);
}

Test(parser, generic_errors) {
    ERR("a b", "SyntaxError", "invalid syntax", 1, 3, 4);
    ERR("f(a b)", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 3, 6);
    ERR("[1, 2 3]", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 5, 8);
    ERR("x = 1 +", "SyntaxError", "invalid syntax", 1, 8, 8);
    ERR("if x\n  pass\n", "SyntaxError", "expected ':'", 1, 5, 5);
    ERR("class A(x for x in y): pass", "SyntaxError", "invalid syntax", 1, 11, 14);
    ERR("print \"x\"", "SyntaxError", "Missing parentheses in call to 'print'. Did you mean "
                                     "print(...)?", 1, 1, 10);
    ERR("x = a if b", "SyntaxError", "expected 'else' after 'if' expression", 1, 5, 11);
    ERR("try:\n pass\n", "SyntaxError", "expected 'except' or 'finally' block", 2, 6, 0);
    ERR("try:\n pass\nexcept:\n pass\nexcept E:\n pass", "SyntaxError",
        "default 'except:' must be last", 3, 1, 0);
    ERR("try:\n x\nexcept A, B:\n pass", "SyntaxError",
        "multiple exception types must be parenthesized", 3, 8, 12);
    ERR("from x import a,", "SyntaxError",
        "trailing comma not allowed without surrounding parentheses", 1, 17, 17);
    ERR("{1: 2, 3}", "SyntaxError", "':' expected after dictionary key", 1, 8, 0);
    ERR("{1: 2, 3: }", "SyntaxError", "expression expected after dictionary key and ':'", 1, 9, 10);
    ERR("x = $", "SyntaxError", "invalid syntax", 1, 5, 6);
}

Test(parser, colon_and_walrus_errors) {
    /* def, try, else and finally insist on ':'; the others only at the end of the line. */
    ERR("def f() x: pass", "SyntaxError", "expected ':'", 1, 9, 10);
    ERR("try x: pass", "SyntaxError", "expected ':'", 1, 5, 6);
    ERR("while x y: pass", "SyntaxError", "invalid syntax", 1, 9, 10);
    ERR("try:\n pass\nexcept\n pass", "SyntaxError", "expected ':'", 3, 7, 7);
    ERR("class A(B)\n pass", "SyntaxError", "expected ':'", 1, 11, 11);
    ERR("def f:\n pass", "SyntaxError", "expected '('", 1, 6, 7);
    ERR("a.b := 1", "SyntaxError", "cannot use assignment expressions with attribute", 1, 1, 4);
    ERR("[a.b := 1]", "SyntaxError", "cannot use assignment expressions with attribute", 1, 2, 5);
    ERR("f(a.b := 1)", "SyntaxError", "invalid syntax", 1, 7, 9);
    ERR("[x = 1]", "SyntaxError", "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
        1, 2, 7);
    ERR("defe(self, dx, dy):\n pass", "SyntaxError", "invalid syntax", 1, 19, 20);
    ERR("d = {1: *a}", "SyntaxError", "cannot use a starred expression in a dictionary value",
        1, 9, 11);
}

Test(parser, comma_hints) {
    ERR("f(x if y else z w)", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 15, 18);
    ERR("{w: 1 for w i n ws}", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 11, 14);
    ERR("[x for x in y z]", "SyntaxError", "invalid syntax", 1, 15, 16);
    ERR("f(x \"a\")", "SyntaxError", "invalid syntax", 1, 5, 8);
    ERR("f(x.y \"a\")", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 3, 10);
    ERR("f(_ x)", "SyntaxError", "invalid syntax", 1, 5, 6);
    ERR("a b", "SyntaxError", "invalid syntax", 1, 3, 4);
}

Test(parser, unclosed_bracket_wins_when_the_error_is_inside_it) {
    ERR("foo(a b\n", "SyntaxError", "'(' was never closed", 1, 4, 0);
    ERR("x = (1, 2\ny = 3\n", "SyntaxError", "'(' was never closed", 1, 5, 0);
    ERR("x = {oop = 1\ny = 2\n", "SyntaxError", "'{' was never closed", 1, 5, 0);
    ERR("def f(:\n pass", "SyntaxError", "invalid syntax", 1, 7, 8);
    ERR("f(a b)\nx = (", "SyntaxError", "invalid syntax. Perhaps you forgot a comma?", 1, 3, 6);
}

Test(parser, argument_errors) {
    ERR("f(x=1, y)", "SyntaxError", "positional argument follows keyword argument", 1, 9, 10);
    ERR("f(**k, y)", "SyntaxError", "positional argument follows keyword argument unpacking",
        1, 9, 10);
    ERR("f(**k, *a)", "SyntaxError", "iterable argument unpacking follows keyword argument "
                                     "unpacking", 1, 8, 9);
    ERR("f(a, x for x in y)", "SyntaxError", "Generator expression must be parenthesized", 1, 6, 18);
    ERR("f(a.b=1)", "SyntaxError", "expression cannot contain assignment, perhaps you meant "
                                   "\"==\"?", 1, 3, 7);
    ERR("f(True=1)", "SyntaxError", "cannot assign to True", 1, 3, 8);
    ERR("f(x=1, x=2)", "SyntaxError", "keyword argument repeated: x", 1, 8, 11);
}

Test(parser, parameter_errors) {
    ERR("def f(a=1, b): pass", "SyntaxError", "non-default argument follows default argument",
        1, 12, 13);
    ERR("lambda x=1, y: 0", "SyntaxError", "non-default argument follows default argument", 1, 13, 14);
    ERR("def f(*): pass", "SyntaxError", "named arguments must follow bare *", 1, 7, 8);
    ERR("def f(**k, a): pass", "SyntaxError", "arguments cannot follow var-keyword argument",
        1, 12, 13);
    ERR("def f(/, a): pass", "SyntaxError", "at least one argument must precede /", 1, 7, 8);
    ERR("def f(a, /, b, /): pass", "SyntaxError", "/ may appear only once", 1, 16, 17);
}

Test(parser, bracket_errors) {
    ERR("f(", "SyntaxError", "'(' was never closed", 1, 2, 0);
    ERR("x = (1,\n2", "SyntaxError", "'(' was never closed", 1, 5, 0);
    ERR("a = )", "SyntaxError", "unmatched ')'", 1, 5, 5);
    ERR("x = [1, 2)", "SyntaxError", "closing parenthesis ')' does not match opening "
                                    "parenthesis '['", 1, 10, 10);
    /* A tokenizer error later in the file beats a generic parser error. */
    ERR("a b\nx = 'abc", "SyntaxError", "unterminated string literal (detected at line 2)", 2, 5, 5);
    /* ...but an earlier specific error stands. */
    ERR("f() = 1\nx = 1abc", "SyntaxError", "invalid decimal literal", 2, 5, 5);
}

Test(parser, indentation_errors) {
    ERR("if x:\npass\n", "IndentationError", "expected an indented block after 'if' statement "
                                             "on line 1", 2, 1, 5);
    ERR("if x:\n", "IndentationError", "expected an indented block after 'if' statement on line 1",
        1, 6, 0);
    ERR("def f():\n  x = 1\n  return\n    y\n", "IndentationError", "unexpected indent", 4, 4, 0);
    ERR(" x\n", "IndentationError", "unexpected indent", 1, 1, 0);
    ERR("if x:\n  a\n b\n", "IndentationError",
        "unindent does not match any outer indentation level", 3, 3, 0);
    ERR("class A:\nx", "IndentationError", "expected an indented block after class definition "
                                          "on line 1", 2, 1, 2);
    ERR("for x in y:\n  pass\nelse:\npass", "IndentationError",
        "expected an indented block after 'else' statement on line 3", 4, 1, 5);
}

Test(parser, fstring_errors) {
    ERR("f'{x'", "SyntaxError", "f-string: expecting '}'", 1, 6, 6);
    ERR("f'{}'", "SyntaxError", "f-string: empty expression not allowed", 1, 6, 6);
    ERR("f'}'", "SyntaxError", "f-string: single '}' is not allowed", 1, 5, 5);
    ERR("f'{x!z}'", "SyntaxError", "f-string: invalid conversion character: expected 's', 'r', "
                                   "or 'a'", 1, 9, 9);
    ERR("f'{a#}'", "SyntaxError", "f-string expression part cannot include '#'", 1, 8, 8);
    ERR("f'{a\\n}'", "SyntaxError", "f-string expression part cannot include a backslash", 1, 9, 9);
    ERR("f'{x:{y:{z}}}'", "SyntaxError", "f-string: expressions nested too deeply", 1, 15, 15);
    ERR("f'{x)}'", "SyntaxError", "f-string: unmatched ')'", 1, 8, 8);
    AsyParseError e = parse_err("f'{a b}'", 8);
    cr_assert_str_eq(e.msg, "f-string: invalid syntax. Perhaps you forgot a comma?");
    e = parse_err("f'{*x}'", 7);
    cr_assert_str_eq(e.msg, "f-string: cannot use starred expression here");
}

Test(parser, literal_errors) {
    ERR("x = 'a' b'c'", "SyntaxError", "cannot mix bytes and nonbytes literals", 1, 13, 13);
    ERR("b'\xc3\xa9'", "SyntaxError", "bytes can only contain ASCII literal characters", 1, 1, 5);
    ERR("'\\x4'", "SyntaxError", "(unicode error) 'unicodeescape' codec can't decode bytes in "
                                "position 0-2: truncated \\xXX escape", 1, 6, 6);
    ERR("x = 1abc", "SyntaxError", "invalid decimal literal", 1, 5, 5);
}

Test(parser, bad_bytes) {
    AsyParseError e = parse_err("x = 1\0", 6);
    cr_assert_str_eq(e.msg, "source code cannot contain null bytes");
    e = parse_err("x = '\xff'", 7);
    cr_assert_str_eq(e.type, "SyntaxError");
    cr_assert(strstr(e.msg, "can't decode byte 0xff") != NULL, "%s", e.msg);
}

/* ============================ limits ============================ */

static char *repeat(const char *prefix, const char *unit, int n, const char *mid,
                    const char *unit2, int n2)
{
    size_t len = strlen(prefix) + strlen(unit) * (size_t)n + strlen(mid) + strlen(unit2) * (size_t)n2;
    char *s = malloc(len + 1), *p = s;
    p += sprintf(p, "%s", prefix);
    for (int i = 0; i < n; i++) p += sprintf(p, "%s", unit);
    p += sprintf(p, "%s", mid);
    for (int i = 0; i < n2; i++) p += sprintf(p, "%s", unit2);
    return s;
}

Test(parser, nesting_limits) {
    char *ok = repeat("x = ", "(", 200, "1", ")", 200);
    cr_assert_eq(strncmp(parse(ok), "(Assign", 7), 0);
    free(ok);
    char *deep = repeat("x = ", "(", 201, "1", ")", 201);
    cr_assert_str_eq(parse(deep), "ERROR SyntaxError: too many nested parentheses (1:205)");
    free(deep);
    char *unary = repeat("x = ", "-", 1000, "1", "", 0);
    cr_assert_eq(strncmp(parse(unary), "(Assign", 7), 0);
    free(unary);
    /* Beyond what the C stack should hold: an error, not a crash. */
    const char *units[] = {"-", "not ", "lambda: ", "2**", "await "};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        char *s = repeat("x = ", units[i], 100000, "1", "", 0);
        cr_assert_eq(strncmp(parse(s), "ERROR SyntaxError", 17), 0, "%s", units[i]);
        free(s);
    }
    char *lists = repeat("x = ", "[", 150, "", "]", 150);
    cr_assert_eq(strncmp(parse(lists), "(Assign", 7), 0);
    free(lists);
}

Test(parser, long_flat_inputs_are_fine) {
    /* A left-deep chain is as deep a tree as nesting: fine up to CPython's limit. */
    char *sum = repeat("x = 1", "+1", 2500, "", "", 0);
    cr_assert_eq(strncmp(parse(sum), "(Assign", 7), 0);
    free(sum);
    sum = repeat("x = 1", "+1", 200000, "", "", 0);
    cr_assert_eq(strncmp(parse(sum), "ERROR SyntaxError: too many nested parentheses", 46), 0);
    free(sum);
    char *many = repeat("x = [", "1,", 200000, "", "]", 1);
    cr_assert_eq(strncmp(parse(many), "(Assign", 7), 0);
    free(many);
    char *calls = repeat("x = f", "(1)", 2500, "", "", 0);
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    cr_assert_not_null(asy_parse(arena, calls, strlen(calls), ASY_PARSE_MODULE, &err));
    asy_ast_arena_free(arena);
    free(calls);
}
