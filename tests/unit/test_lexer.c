/* Unit tests of the lexer (src/lexer.c): tokens and their positions, indentation, line
 * joining, literal scanning and decoding, and the tokenizer's errors with CPython 3.11's
 * messages and offsets. Expected offsets were checked with python3's compile(). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"

/* The token stream of `src` as text: names, numbers and strings with their source text
 * in parentheses, other tokens by name; a tokenizer error ends it with "ERROR". */
static char *lex(const char *src)
{
    static char out[4096];
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    size_t n;
    char *buf = asy_lexer_prepare(arena, src, strlen(src), &n, &err);
    cr_assert_not_null(buf, "prepare failed: %s", err.msg);
    AsyLexer lx;
    asy_lexer_init(&lx, buf, n);
    int count;
    AsyToken *toks = asy_lexer_tokenize(&lx, arena, &count);
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        AsyToken *t = &toks[i];
        const char *name = asy_token_name(t->kind);
        if (t->kind == TOK_NAME || t->kind == TOK_NUMBER || t->kind == TOK_STRING)
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s(%.*s)", i ? " " : "",
                                    name, (int)t->len, buf + t->start);
        else
            len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? " " : "", name);
    }
    asy_ast_arena_free(arena);
    return out;
}

/* The error that ends the token stream of `src` (the test fails if there is none). */
static AsyParseError lex_err(const char *src)
{
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    memset(&err, 0, sizeof err);
    size_t n;
    char *buf = asy_lexer_prepare(arena, src, strlen(src), &n, &err);
    if (buf) {
        AsyLexer lx;
        asy_lexer_init(&lx, buf, n);
        int count;
        AsyToken *toks = asy_lexer_tokenize(&lx, arena, &count);
        cr_assert_eq(toks[count - 1].kind, TOK_ERROR, "no error for %s", src);
        err = lx.err;
    }
    asy_ast_arena_free(arena);
    return err;
}

#define LEX(src, expected) cr_assert_str_eq(lex(src), expected)

#define LEX_ERR(src, etype, emsg, eline, ecol)                                        \
    do {                                                                              \
        AsyParseError e_ = lex_err(src);                                              \
        cr_assert_str_eq(e_.type, etype);                                             \
        cr_assert_str_eq(e_.msg, emsg);                                               \
        cr_assert_eq(e_.line, eline, "line %d, expected %d", e_.line, eline);         \
        cr_assert_eq(e_.col, ecol, "col %d, expected %d", e_.col, ecol);              \
    } while (0)

/* ---- tokens ---- */

Test(lexer, simple_statement) {
    LEX("x = 1 + 2\n", "NAME(x) = NUMBER(1) + NUMBER(2) NEWLINE ENDMARKER");
}

Test(lexer, missing_final_newline_is_supplied) {
    LEX("x", "NAME(x) NEWLINE ENDMARKER");
    LEX("", "ENDMARKER");
}

Test(lexer, keywords_and_names) {
    LEX("async await match print None",
        "async await NAME(match) NAME(print) None NEWLINE ENDMARKER");
    LEX("if_ ifx _if", "NAME(if_) NAME(ifx) NAME(_if) NEWLINE ENDMARKER");
}

Test(lexer, operators_longest_match) {
    LEX("a **= b //= c >>= d <<= e", "NAME(a) **= NAME(b) //= NAME(c) >>= NAME(d) <<= NAME(e) "
                                     "NEWLINE ENDMARKER");
    LEX("a->b := c != d ... .", "NAME(a) -> NAME(b) := NAME(c) != NAME(d) ... . NEWLINE ENDMARKER");
    LEX("a<=b>=c==d", "NAME(a) <= NAME(b) >= NAME(c) == NAME(d) NEWLINE ENDMARKER");
}

Test(lexer, unknown_ascii_char_is_a_token) {
    /* CPython lets the parser report "invalid syntax" at `$`, `?` and a lone `!`. */
    LEX("a $ b", "NAME(a) UNKNOWN NAME(b) NEWLINE ENDMARKER");
}

Test(lexer, unicode_identifiers) {
    LEX("caf\xc3\xa9 = \xe6\x97\xa5\xe6\x9c\xac", "NAME(caf\xc3\xa9) = NAME(\xe6\x97\xa5\xe6\x9c\xac) NEWLINE ENDMARKER");
}

Test(lexer, positions_in_code_points) {
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    size_t n;
    const char *src = "\xc3\xa9 = 'h\xc3\xa9'\n  (x)";
    char *buf = asy_lexer_prepare(arena, src, strlen(src), &n, &err);
    AsyLexer lx;
    asy_lexer_init(&lx, buf, n);
    int count;
    AsyToken *t = asy_lexer_tokenize(&lx, arena, &count);
    cr_assert_eq(t[0].col, 0);
    cr_assert_eq(t[0].end_col, 1);
    cr_assert_eq(t[1].col, 2); /* '=' after a 2-byte letter */
    cr_assert_eq(t[2].col, 4);
    cr_assert_eq(t[2].end_col, 8);
    cr_assert_eq(t[3].kind, TOK_NEWLINE);
    cr_assert_eq(t[4].kind, TOK_INDENT);
    cr_assert_eq(t[5].line, 2);
    cr_assert_eq(t[5].col, 2);
    cr_assert_eq(t[6].level, 1); /* x is inside one bracket */
    asy_ast_arena_free(arena);
}

/* ---- lines and indentation ---- */

Test(lexer, indent_dedent) {
    LEX("if x:\n    y\n    if z:\n        w\nv\n",
        "if NAME(x) : NEWLINE INDENT NAME(y) NEWLINE if NAME(z) : NEWLINE INDENT NAME(w) "
        "NEWLINE DEDENT DEDENT NAME(v) NEWLINE ENDMARKER");
}

Test(lexer, dedents_at_end_of_input) {
    LEX("if x:\n  y", "if NAME(x) : NEWLINE INDENT NAME(y) NEWLINE DEDENT ENDMARKER");
}

Test(lexer, blank_and_comment_lines_make_no_tokens) {
    LEX("x\n\n   \n  # comment\n\t\ny # trailing\n",
        "NAME(x) NEWLINE NAME(y) NEWLINE ENDMARKER");
}

Test(lexer, shebang_is_a_comment) {
    LEX("#!/usr/bin/env asy\nx\n", "NAME(x) NEWLINE ENDMARKER");
}

Test(lexer, bom_and_crlf) {
    LEX("\xef\xbb\xbfx = 1\r\ny = 2\r\n", "NAME(x) = NUMBER(1) NEWLINE NAME(y) = NUMBER(2) "
                                         "NEWLINE ENDMARKER");
}

Test(lexer, tab_counts_to_next_multiple_of_8) {
    /* A tab and eight spaces are the same level only if consistent: TabError otherwise. */
    LEX("if x:\n\ty\n\tz\n", "if NAME(x) : NEWLINE INDENT NAME(y) NEWLINE NAME(z) NEWLINE "
                             "DEDENT ENDMARKER");
    LEX_ERR("if x:\n\tif y:\n        pass\n", "TabError",
            "inconsistent use of tabs and spaces in indentation", 3, 1);
}

Test(lexer, brackets_join_lines) {
    LEX("f(a,\n\n  b)\nc", "NAME(f) ( NAME(a) , NAME(b) ) NEWLINE NAME(c) NEWLINE ENDMARKER");
    LEX("x = [\n  1,  # one\n]\n", "NAME(x) = [ NUMBER(1) , ] NEWLINE ENDMARKER");
}

Test(lexer, backslash_continuation) {
    LEX("x = 1 + \\\n    2\n", "NAME(x) = NUMBER(1) + NUMBER(2) NEWLINE ENDMARKER");
}

Test(lexer, indentation_errors) {
    LEX_ERR("if x:\n  a\n b\n", "IndentationError",
            "unindent does not match any outer indentation level", 3, 3);
}

Test(lexer, too_many_levels_of_indentation) {
    char src[20000] = "";
    size_t len = 0;
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(src + len, sizeof src - len, "%*sif x:\n", i, "");
    snprintf(src + len, sizeof src - len, "%*spass\n", 100, "");
    LEX_ERR(src, "IndentationError", "too many levels of indentation", 101, 1);
}

/* ---- numbers ---- */

Test(lexer, number_tokens) {
    LEX("1_000 0x_ff 0o17 0b1_0 1.5 1. .5 1e10 1E-3_0 1_0.5j 0j 00",
        "NUMBER(1_000) NUMBER(0x_ff) NUMBER(0o17) NUMBER(0b1_0) NUMBER(1.5) NUMBER(1.) "
        "NUMBER(.5) NUMBER(1e10) NUMBER(1E-3_0) NUMBER(1_0.5j) NUMBER(0j) NUMBER(00) NEWLINE "
        "ENDMARKER");
    /* Before a keyword a number may touch it (CPython only warns). */
    LEX("1if x else 2", "NUMBER(1) if NAME(x) else NUMBER(2) NEWLINE ENDMARKER");
}

static AstNode number(const char *text)
{
    AstArena *arena = asy_ast_arena_new();
    AstNode n;
    memset(&n, 0, sizeof n);
    asy_lex_number(arena, text, strlen(text), &n);
    if (n.u.c.str) {
        static char digits[256];
        snprintf(digits, sizeof digits, "%s", n.u.c.str);
        n.u.c.str = digits;
    }
    asy_ast_arena_free(arena);
    return n;
}

Test(lexer, number_values) {
    cr_assert_eq(number("1_000").u.c.i, 1000);
    cr_assert_eq(number("0xff").u.c.i, 255);
    cr_assert_eq(number("0O17").u.c.i, 15);
    cr_assert_eq(number("0b101").u.c.i, 5);
    cr_assert_eq(number("0").u.c.i, 0);
    cr_assert_eq(number("000").u.c.i, 0);
    cr_assert_eq(number("9223372036854775807").u.c.kind, AST_CONST_INT);
    cr_assert_eq(number("9223372036854775807").u.c.i, INT64_MAX);
    AstNode f = number("1_000.5e-1");
    cr_assert_eq(f.u.c.kind, AST_CONST_FLOAT);
    cr_assert_float_eq(f.u.c.f, 100.05, 1e-12);
    cr_assert_eq(number("1.").u.c.kind, AST_CONST_FLOAT);
    cr_assert_eq(number("1e5").u.c.kind, AST_CONST_FLOAT);
    AstNode j = number("2.5j");
    cr_assert_eq(j.u.c.kind, AST_CONST_IMAG);
    cr_assert_float_eq(j.u.c.f, 2.5, 1e-12);
}

Test(lexer, big_ints_become_decimal_digits) {
    AstNode b = number("9223372036854775808");
    cr_assert_eq(b.u.c.kind, AST_CONST_BIGINT);
    cr_assert_str_eq(b.u.c.str, "9223372036854775808");
    cr_assert_str_eq(number("0x1_0000_0000_0000_0000").u.c.str, "18446744073709551616");
    cr_assert_str_eq(number("0xFFFFFFFFFFFFFFFFFFFF").u.c.str, "1208925819614629174706175");
    cr_assert_str_eq(number("0o7777777777777777777777").u.c.str, "73786976294838206463");
    cr_assert_str_eq(number("0b" "1" "0000000000000000000000000000000000000000000000000000000000000000")
                         .u.c.str, "18446744073709551616");
    cr_assert_str_eq(number("000123456789012345678901234567890").u.c.str,
                     "123456789012345678901234567890");
}

Test(lexer, number_errors) {
    LEX_ERR("1abc", "SyntaxError", "invalid decimal literal", 1, 1);
    LEX_ERR("0x", "SyntaxError", "invalid hexadecimal literal", 1, 2);
    LEX_ERR("1__0", "SyntaxError", "invalid decimal literal", 1, 2);
    LEX_ERR("1_", "SyntaxError", "invalid decimal literal", 1, 2);
    LEX_ERR("0b2", "SyntaxError", "invalid digit '2' in binary literal", 1, 3);
    LEX_ERR("0o8", "SyntaxError", "invalid digit '8' in octal literal", 1, 3);
    LEX_ERR("1e+", "SyntaxError", "invalid decimal literal", 1, 3);
    LEX_ERR("x = 012", "SyntaxError", "leading zeros in decimal integer literals are not "
                                      "permitted; use an 0o prefix for octal integers", 1, 5);
    LEX_ERR("1.5jx", "SyntaxError", "invalid imaginary literal", 1, 4);
}

/* ---- strings ---- */

Test(lexer, string_tokens) {
    LEX("'a' \"b\" '''c\nd''' \"\"\"e\"\"\" r'\\'' b'x' Rb'y' bR'z' f'{x}' rF'w' u'v'",
        "STRING('a') STRING(\"b\") STRING('''c\nd''') STRING(\"\"\"e\"\"\") STRING(r'\\'') "
        "STRING(b'x') STRING(Rb'y') STRING(bR'z') STRING(f'{x}') STRING(rF'w') STRING(u'v') "
        "NEWLINE ENDMARKER");
    /* `ub` and `bf` are not prefixes: a name then a string. */
    LEX("ub'x'", "NAME(ub) STRING('x') NEWLINE ENDMARKER");
    LEX("'a\\\nb'", "STRING('a\\\nb') NEWLINE ENDMARKER");
}

static const char *decode(const char *body, bool bytes, bool raw, size_t *len)
{
    static char out[256];
    AstArena *arena = asy_ast_arena_new();
    char *buf = NULL, msg[200];
    size_t n = 0, cap = 0;
    const char *e = asy_lex_decode(arena, body, strlen(body), bytes, raw, &buf, &n, &cap, msg,
                                   sizeof msg);
    if (e) snprintf(out, sizeof out, "ERR %s", e);
    else memcpy(out, buf, n + 1);
    if (len) *len = e ? strlen(out) : n;
    asy_ast_arena_free(arena);
    return out;
}

Test(lexer, escapes) {
    cr_assert_str_eq(decode("a\\n\\t\\\\\\'\\\"", false, false, NULL), "a\n\t\\'\"");
    cr_assert_str_eq(decode("\\x41\\101\\u00e9\\U0001F600", false, false, NULL),
                     "AA\xc3\xa9\xf0\x9f\x98\x80");
    cr_assert_str_eq(decode("\\d\\w", false, false, NULL), "\\d\\w"); /* unknown: kept */
    cr_assert_str_eq(decode("a\\\nb", false, false, NULL), "ab");
    cr_assert_str_eq(decode("\\n\\x41", false, true, NULL), "\\n\\x41"); /* raw */
    cr_assert_str_eq(decode("\\u0041", true, false, NULL), "\\u0041");   /* not in bytes */
    size_t len;
    decode("a\\0b", false, false, &len);
    cr_assert_eq(len, 3);
    cr_assert_str_eq(decode("\\xff", true, false, &len), "\xff");
}

Test(lexer, escape_errors) {
    cr_assert_str_eq(decode("\\x4", false, false, NULL),
                     "ERR (unicode error) 'unicodeescape' codec can't decode bytes in position "
                     "0-2: truncated \\xXX escape");
    cr_assert_str_eq(decode("\\U00110000", false, false, NULL),
                     "ERR (unicode error) 'unicodeescape' codec can't decode bytes in position "
                     "0-9: illegal Unicode character");
    cr_assert_str_eq(decode("\xc3\xa9", true, false, NULL),
                     "ERR bytes can only contain ASCII literal characters");
    cr_assert_str_eq(decode("\\N{BULLET}\\N{latin small letter a}", false, false, NULL),
                     "\xe2\x80\xa2" "a");
    cr_assert_str_eq(decode("a\\N{NOPE}", false, false, NULL),
                     "ERR (unicode error) 'unicodeescape' codec can't decode bytes in position "
                     "1-8: unknown Unicode character name");
    cr_assert_str_eq(decode("\\N{EM DASH", false, false, NULL),
                     "ERR (unicode error) 'unicodeescape' codec can't decode bytes in position "
                     "0-9: malformed \\N character escape");
}

Test(lexer, unterminated_strings) {
    LEX_ERR("s = 'abc\nx = 1\n", "SyntaxError", "unterminated string literal (detected at line 1)",
            1, 5);
    LEX_ERR("s = \"\"\"abc\n\n\n", "SyntaxError",
            "unterminated triple-quoted string literal (detected at line 3)", 1, 5);
    AsyParseError e = lex_err("s = '''abc");
    cr_assert(e.incomplete, "an open triple-quoted string asks the REPL for more");
}

/* ---- bracket and character errors ---- */

Test(lexer, bracket_errors) {
    LEX_ERR("a = )", "SyntaxError", "unmatched ')'", 1, 5);
    LEX_ERR("x = [1, 2)", "SyntaxError",
            "closing parenthesis ')' does not match opening parenthesis '['", 1, 10);
    LEX_ERR("x = [1, 2\n)", "SyntaxError",
            "closing parenthesis ')' does not match opening parenthesis '[' on line 1", 2, 1);
    AsyParseError e = lex_err("f(\nx = 1\n");
    cr_assert_str_eq(e.msg, "'(' was never closed");
    cr_assert_eq(e.line, 1);
    cr_assert_eq(e.col, 2);
    cr_assert(e.incomplete);
}

Test(lexer, too_many_nested_parentheses) {
    char src[512];
    memset(src, '(', 201);
    src[201] = '\0';
    LEX_ERR(src, "SyntaxError", "too many nested parentheses", 1, 201);
    memset(src, '[', 200);
    memset(src + 200, ']', 200);
    src[400] = '\0';
    cr_assert_eq(strstr(lex(src), "ERROR"), NULL, "200 levels are allowed");
}

Test(lexer, continuation_errors) {
    LEX_ERR("x = 1 \\ 2", "SyntaxError", "unexpected character after line continuation character",
            1, 8);
    LEX_ERR("x = 1 + \\\n", "SyntaxError", "unexpected EOF while parsing", 1, 10);
}

Test(lexer, invalid_characters) {
    LEX_ERR("x = \xe2\x82\xac", "SyntaxError", "invalid character '\xe2\x82\xac' (U+20AC)", 1, 5);
    LEX_ERR("x = 1\n\x01", "SyntaxError", "invalid non-printable character U+0001", 2, 1);
}

Test(lexer, nul_bytes_and_invalid_utf8) {
    AstArena *arena = asy_ast_arena_new();
    AsyParseError err;
    size_t n;
    cr_assert_null(asy_lexer_prepare(arena, "x = 1\0", 6, &n, &err));
    cr_assert_str_eq(err.msg, "source code cannot contain null bytes");
    cr_assert_null(asy_lexer_prepare(arena, "x = 1\ny = '\xff'\n", 13, &n, &err));
    cr_assert_str_eq(err.msg, "(unicode error) 'utf-8' codec can't decode byte 0xff in "
                              "position 11: invalid start byte");
    cr_assert_eq(err.line, 2);
    cr_assert_null(asy_lexer_prepare(arena, "'\xc3('", 4, &n, &err));
    cr_assert_str_eq(err.msg, "(unicode error) 'utf-8' codec can't decode byte 0xc3 in "
                              "position 1: invalid continuation byte");
    cr_assert_null(asy_lexer_prepare(arena, "\xed\xa0\x80", 3, &n, &err)); /* a surrogate */
    asy_ast_arena_free(arena);
}
