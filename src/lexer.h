/* lexer.h - UTF-8 source text to tokens, following CPython 3.11's tokenizer.
 *
 * The lexer is pull-based (asy_lexer_next) but the parser tokenizes a whole input up front
 * (asy_lexer_tokenize): CPython lets a tokenizer error anywhere in the file override a
 * generic "invalid syntax" found earlier, and a complete token array also gives the parser
 * free backtracking for the two places the grammar needs it.
 *
 * Invariant: a token is a slice of the source buffer (start, len) plus its position; the
 * lexer never decodes literals while scanning. Literal decoding (asy_lex_number,
 * asy_lex_string) is separate so the parser can report errors at the right place.
 * No global state: everything lives in AsyLexer and the caller's arena.
 */
#ifndef ASY_LEXER_H
#define ASY_LEXER_H

#include "ast.h"
#include "parser.h"

/* CPython's limits: MAXINDENT (100) and MAXLEVEL (200) in tokenizer.h. */
#define ASY_MAX_INDENT 100
#define ASY_MAX_PAREN 200

typedef enum {
    TOK_ENDMARKER, TOK_NAME, TOK_NUMBER, TOK_STRING, TOK_NEWLINE, TOK_INDENT, TOK_DEDENT,
    TOK_ERROR, /* a tokenizer error: the lexer's err holds it; always the last token */
    TOK_UNKNOWN, /* an ASCII char no token starts with ($ ? !): "invalid syntax" later */
    /* brackets */
    TOK_LPAR, TOK_RPAR, TOK_LSQB, TOK_RSQB, TOK_LBRACE, TOK_RBRACE,
    /* punctuation and operators */
    TOK_COLON, TOK_COMMA, TOK_SEMI, TOK_DOT, TOK_ELLIPSIS, TOK_ARROW, TOK_AT, TOK_EQUAL,
    TOK_COLONEQUAL,
    TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_DOUBLESLASH, TOK_PERCENT, TOK_DOUBLESTAR,
    TOK_VBAR, TOK_AMPER, TOK_CIRCUMFLEX, TOK_TILDE, TOK_LEFTSHIFT, TOK_RIGHTSHIFT,
    TOK_EQEQUAL, TOK_NOTEQUAL, TOK_LESS, TOK_GREATER, TOK_LESSEQUAL, TOK_GREATEREQUAL,
    /* augmented assignment, in AstBinOp order (TOK_PLUSEQUAL + op) */
    TOK_PLUSEQUAL, TOK_MINEQUAL, TOK_STAREQUAL, TOK_ATEQUAL, TOK_SLASHEQUAL,
    TOK_DOUBLESLASHEQUAL, TOK_PERCENTEQUAL, TOK_DOUBLESTAREQUAL, TOK_LEFTSHIFTEQUAL,
    TOK_RIGHTSHIFTEQUAL, TOK_VBAREQUAL, TOK_CIRCUMFLEXEQUAL, TOK_AMPEREQUAL,
    /* keywords (in the order of token_names in lexer.c; keyword_kind finds them) */
    TOK_FALSE, TOK_NONE, TOK_TRUE, TOK_AND, TOK_AS, TOK_ASSERT, TOK_ASYNC, TOK_AWAIT,
    TOK_BREAK, TOK_CLASS, TOK_CONTINUE, TOK_DEF, TOK_DEL, TOK_ELIF, TOK_ELSE, TOK_EXCEPT,
    TOK_FINALLY, TOK_FOR, TOK_FROM, TOK_GLOBAL, TOK_IF, TOK_IMPORT, TOK_IN, TOK_IS,
    TOK_LAMBDA, TOK_NONLOCAL, TOK_NOT, TOK_OR, TOK_PASS, TOK_RAISE, TOK_RETURN, TOK_TRY,
    TOK_WHILE, TOK_WITH, TOK_YIELD,
    TOK_KIND_COUNT
} AsyTokKind;

typedef struct {
    AsyTokKind kind;
    int line, col;          /* 1-based line, 0-based column in code points */
    int end_line, end_col;  /* exclusive end */
    int level;              /* bracket depth before this token (for error heuristics) */
    size_t start;           /* byte offset of the token text in the buffer */
    size_t len;             /* bytes */
} AsyToken;

/* How a TOK_ERROR came about: CPython treats these differently when it picks which error
 * to report (see parser.c, report_failure). */
typedef enum {
    ASY_LEXERR_NONE,
    ASY_LEXERR_RAISED,   /* raised at once by CPython's tokenizer: overrides parser errors */
    ASY_LEXERR_EOF,      /* end of input inside brackets: "'(' was never closed"          */
    ASY_LEXERR_DEFERRED, /* indentation/continuation errors reported when reached          */
} AsyLexErrKind;

typedef struct {
    const char *buf;        /* the source; buf[end] is always '\0'                   */
    size_t pos, end;
    int line;               /* current line (1-based)                                */
    size_t line_start;      /* byte offset where the current line starts             */
    size_t col_base;        /* cache for col_at: the line start it was computed for, */
    size_t col_pos;         /* a byte offset on that line...                         */
    int col_val;            /* ...and its column, so long lines stay linear          */
    size_t ascii_from;      /* no byte of [ascii_from, ascii_end) is beyond ASCII:   */
    size_t ascii_end;       /* col_at subtracts offsets there instead of counting    */
    bool at_line_start;     /* next token starts a logical line: measure indentation */
    int pending;            /* > 0: INDENTs to emit, < 0: DEDENTs to emit            */
    int indent;             /* depth of indstack                                     */
    int indstack[ASY_MAX_INDENT + 1], altindstack[ASY_MAX_INDENT + 1];
    int level;              /* bracket depth                                         */
    char parens[ASY_MAX_PAREN];
    int paren_line[ASY_MAX_PAREN], paren_col[ASY_MAX_PAREN];
    bool emitted_newline;   /* the last token was NEWLINE (or nothing yet)            */
    bool done;              /* ENDMARKER or an error has been returned                */
    bool fstring_expr;      /* lexing the inside of an f-string replacement field    */
    AsyLexErrKind err_kind;
    AsyParseError err;
} AsyLexer;

/* Prepare a lexer over `len` bytes already validated by asy_lexer_prepare. `buf[len]` must
 * be '\0'. */
void asy_lexer_init(AsyLexer *lx, const char *buf, size_t len);

/* Start a lexer over buf[start, end) whose tokens keep their real line and column: used
 * for the expression inside an f-string's braces. It behaves as if inside parentheses. */
void asy_lexer_init_sub(AsyLexer *lx, const char *buf, size_t start, size_t end, int line);

/* Check that the source is valid UTF-8 without NUL bytes and copy it into the arena with
 * a trailing newline (CPython's tokenizer adds one too) and a terminating NUL. Skips a
 * UTF-8 BOM. Returns NULL and fills *err on bad input. */
char *asy_lexer_prepare(AstArena *arena, const char *src, size_t len, size_t *out_len,
                        AsyParseError *err);

/* The next token. Returns false after a TOK_ERROR (lx->err holds the error). */
bool asy_lexer_next(AsyLexer *lx, AsyToken *tok);

/* Tokenize everything into an arena array ending with TOK_ENDMARKER or TOK_ERROR. */
AsyToken *asy_lexer_tokenize(AsyLexer *lx, AstArena *arena, int *n_out);

const char *asy_token_name(AsyTokKind kind);

/* Number of code points in buf[from, to). */
int asy_utf8_count(const char *buf, size_t from, size_t to);

/* ---- literal decoding ---- */

/* Decode a NUMBER token's text into an AST_CONST node's fields. Integers beyond int64
 * become AST_CONST_BIGINT with decimal digits. The lexer has already checked the syntax. */
void asy_lex_number(AstArena *arena, const char *text, size_t len, AstNode *out);

/* The prefix of a STRING token. */
typedef struct {
    bool is_bytes, is_raw, is_fstring;
    size_t prefix_len;      /* letters before the quote                      */
    size_t quote_len;       /* 1 or 3                                       */
} AsyStrPrefix;

void asy_lex_string_prefix(const char *text, size_t len, AsyStrPrefix *out);

/* Decode escapes in body[0, len) (the part between the quotes, or a literal piece of an
 * f-string). Appends decoded bytes to *out (arena-grown buffer: *out, *out_len, *out_cap).
 * Returns NULL on success or an error message like CPython's "(unicode error) ..."; for
 * bytes, non-ASCII characters are an error. */
const char *asy_lex_decode(AstArena *arena, const char *body, size_t len, bool is_bytes,
                           bool is_raw, char **out, size_t *out_len, size_t *out_cap,
                           char *msgbuf, size_t msgcap);

#endif
