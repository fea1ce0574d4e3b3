/* parser.h - source text to AST: the lexer (lexer.c) feeds a hand-written recursive-descent
 * parser (parser.c) whose functions each implement one production of grammar/asy.ebnf.
 *
 * The parser knows nothing of the object model. A syntax error is reported as plain data in
 * AsyParseError; the caller (the compiler driver) turns it into a SyntaxError object.
 */
#ifndef ASY_PARSER_H
#define ASY_PARSER_H

#include "ast.h"

typedef struct {
    const char *type;   /* "SyntaxError", "IndentationError" or "TabError"           */
    char msg[256];      /* CPython's wording, e.g. "invalid syntax", "'(' was never closed",
                           "expected ':'", "unindent does not match any outer indentation level" */
    int line;           /* 1-based line of the error                                  */
    int col;            /* 1-based column (code points) of the caret, as CPython's offset */
    int end_col;        /* 1-based exclusive end column for `^^^^` ranges, or 0        */
    bool incomplete;    /* input ended inside an open block/bracket/string: the REPL
                           reads another line instead of reporting                   */
} AsyParseError;

typedef enum {
    ASY_PARSE_MODULE,   /* a whole file: statements until end of input                */
    ASY_PARSE_EVAL,     /* one expression (for eval() and the REPL's echo)            */
    ASY_PARSE_SINGLE,   /* one interactive statement (REPL)                           */
} AsyParseMode;

/* Parse `len` bytes of UTF-8 source. Returns the AST_MODULE root (for EVAL mode: an
 * AST_MODULE whose body is one AST_EXPR_STMT), or NULL with *err filled in. All nodes
 * and strings live in `arena`. Never crashes on bad input: invalid UTF-8, NUL bytes,
 * too-deep nesting (SyntaxError "too many nested parentheses") and too many indentation
 * levels (IndentationError "too many levels of indentation") are errors. */
AstNode *asy_parse(AstArena *arena, const char *src, size_t len, AsyParseMode mode,
                   AsyParseError *err);

#endif
