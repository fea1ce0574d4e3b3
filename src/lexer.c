/* lexer.c - tokens from UTF-8 source, mirroring CPython 3.11's tokenizer.c.
 *
 * The scanning code follows CPython's structure on purpose (nextc/backup, the number
 * scanner, verify_end_of_number, the indentation stack with its tab-size-1 shadow stack)
 * so that error messages and their offsets come out the same. Offsets in errors are what
 * CPython reports: usually the number of code points from the line start to the scanning
 * position at the moment of the error.
 */
#include "lexer.h"
#include "unicode.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEX_EOF (-1)

/* ---- UTF-8 ---- */

/* Length of a valid UTF-8 sequence starting with byte c (1 for ASCII). */
static int utf8_len(unsigned char c)
{
    if (c < 0x80) return 1;
    if (c < 0xE0) return 2;
    if (c < 0xF0) return 3;
    return 4;
}

/* Decode one code point of already-validated UTF-8. */
static uint32_t utf8_decode(const char *s, int *len)
{
    const unsigned char *u = (const unsigned char *)s;
    int n = utf8_len(u[0]);
    uint32_t cp = n == 1 ? u[0] : n == 2 ? u[0] & 0x1F : n == 3 ? u[0] & 0x0F : u[0] & 0x07;
    for (int i = 1; i < n; i++) cp = (cp << 6) | (u[i] & 0x3F);
    *len = n;
    return cp;
}

static int utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int asy_utf8_count(const char *buf, size_t from, size_t to)
{
    int n = 0;
    for (size_t i = from; i < to; i++)
        if (((unsigned char)buf[i] & 0xC0) != 0x80) n++;
    return n;
}

/* Length of a valid sequence at s[0..avail), or 0 if invalid (overlongs, surrogates and
 * code points above U+10FFFF are invalid, as in CPython's decoder). */
static int utf8_valid_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    int n;
    uint32_t min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c < 0xE0) n = 2, min = 0x80;
    else if (c >= 0xE0 && c < 0xF0) n = 3, min = 0x800;
    else if (c >= 0xF0 && c < 0xF5) n = 4, min = 0x10000;
    else return 0;
    if ((size_t)n > avail) return 0;
    uint32_t cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return 0;
    return n;
}

static void set_err(AsyParseError *err, const char *type, int line, int col, int end_col,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void set_err(AsyParseError *err, const char *type, int line, int col, int end_col,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->type = type;
    err->line = line;
    err->col = col;
    err->end_col = end_col;
    err->incomplete = false;
}

/* How CPython's UTF-8 decoder describes a bad sequence. */
static const char *utf8_problem(const unsigned char *s, size_t avail)
{
    if (s[0] < 0xC2 || s[0] > 0xF4) return "invalid start byte";
    int n = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= avail) return "unexpected end of data";
        if ((s[i] & 0xC0) != 0x80) return "invalid continuation byte";
    }
    return "invalid continuation byte"; /* overlong, surrogate or beyond U+10FFFF */
}

/* The 1-based line of byte i: only an error needs it, so it is counted then. */
static int line_of(const unsigned char *s, size_t i)
{
    int line = 1;
    for (size_t k = 0; k < i; k++) line += s[k] == '\n';
    return line;
}

/* Whether all eight bytes at s are ASCII other than NUL: subtracting 1 from each byte
 * borrows into bit 7 only from a 0 byte, and bit 7 of the word itself marks the rest. */
static bool plain_ascii8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return !(((w - UINT64_C(0x0101010101010101)) | w) & UINT64_C(0x8080808080808080));
}

static bool check_utf8(const unsigned char *s, size_t len, AsyParseError *err)
{
    for (size_t i = 0; i < len;) {
        if (i + 8 <= len && plain_ascii8(s + i)) {
            i += 8;
            continue;
        }
        if (s[i] == 0) {
            set_err(err, "SyntaxError", line_of(s, i), 0, 0,
                    "source code cannot contain null bytes");
            return false;
        }
        int n = utf8_valid_len(s + i, len - i);
        if (!n) {
            /* CPython names the first bad byte and the position of the bad line's start
             * in its own decoding buffer; we report the byte offset in the file. */
            set_err(err, "SyntaxError", line_of(s, i), 0, 0,
                    "(unicode error) 'utf-8' codec can't decode byte 0x%02x in position %zu: "
                    "%s",
                    s[i], i, utf8_problem(s + i, len - i));
            return false;
        }
        i += (size_t)n;
    }
    return true;
}

char *asy_lexer_prepare(AstArena *arena, const char *src, size_t len, size_t *out_len,
                        AsyParseError *err)
{
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) {
        src += 3;
        len -= 3;
    }
    if (!check_utf8((const unsigned char *)src, len, err)) return NULL;
    char *buf = asy_ast_alloc_uninit(arena, len + 2);
    /* Universal newlines, like CPython's file reader: \r\n and lone \r become \n. */
    const char *cr = len ? memchr(src, '\r', len) : NULL;
    size_t n = cr ? (size_t)(cr - src) : len;
    if (n) memcpy(buf, src, n);
    for (size_t i = n; i < len; i++) {
        if (src[i] == '\r') {
            if (i + 1 < len && src[i + 1] == '\n') i++;
            buf[n++] = '\n';
        } else {
            buf[n++] = src[i];
        }
    }
    if (n == 0 || buf[n - 1] != '\n') buf[n++] = '\n';
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

/* ---- lexer state ---- */

void asy_lexer_init(AsyLexer *lx, const char *buf, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->buf = buf;
    lx->end = len;
    lx->line = 1;
    lx->at_line_start = true;
    lx->emitted_newline = true;
    lx->ascii_from = SIZE_MAX; /* nothing known yet */
}

void asy_lexer_init_sub(AsyLexer *lx, const char *buf, size_t start, size_t end, int line)
{
    asy_lexer_init(lx, buf, end);
    lx->pos = start;
    lx->line = line;
    size_t ls = start;
    while (ls > 0 && buf[ls - 1] != '\n') ls--;
    lx->line_start = ls;
    lx->at_line_start = false;
    lx->fstring_expr = true;
}

static int nextc(AsyLexer *lx)
{
    if (lx->pos >= lx->end) return LEX_EOF;
    return (unsigned char)lx->buf[lx->pos++];
}

static void backup(AsyLexer *lx, int c)
{
    if (c != LEX_EOF) lx->pos--;
}

/* Consume a '\n' that nextc just returned: start a new physical line. */
static void newline_seen(AsyLexer *lx)
{
    lx->line++;
    lx->line_start = lx->pos;
}

/* Column (code points) of `pos` on a line that has a non-ASCII byte before it. Tokens
 * are asked for in order, so counting on from the last answer keeps this linear on very
 * long lines. */
static int col_counted(AsyLexer *lx, size_t pos)
{
    if (lx->col_base != lx->line_start || lx->col_pos > pos || lx->col_pos < lx->line_start) {
        lx->col_base = lx->line_start;
        lx->col_pos = lx->line_start;
        lx->col_val = 0;
    }
    lx->col_val += asy_utf8_count(lx->buf, lx->col_pos, pos);
    lx->col_pos = pos;
    return lx->col_val;
}

/* Column (code points) of `pos` on the current line: on ASCII, the byte distance from the
 * line start. */
static int col_at(AsyLexer *lx, size_t pos)
{
    size_t ls = lx->line_start;
    if (ls < lx->ascii_from || ls > lx->ascii_end) {
        /* A line past the last non-ASCII byte found: find the next one, eight bytes at a
         * time. Scans start past the previous one, so each byte is looked at once. */
        const unsigned char *b = (const unsigned char *)lx->buf;
        size_t i = ls;
        uint64_t w;
        while (i + 8 <= lx->end && (memcpy(&w, b + i, 8), !(w & UINT64_C(0x8080808080808080))))
            i += 8;
        while (i < lx->end && b[i] < 0x80) i++;
        lx->ascii_from = ls;
        lx->ascii_end = i;
    }
    if (pos <= lx->ascii_end) return (int)(pos - ls);
    return col_counted(lx, pos);
}

/* CPython's tokenizer syntaxerror(): the offset is the scanning position. */
static bool lex_error(AsyLexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool lex_error(AsyLexer *lx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->err.msg, sizeof lx->err.msg, fmt, ap);
    va_end(ap);
    int col = col_at(lx, lx->pos);
    lx->err.type = "SyntaxError";
    lx->err.line = lx->line;
    lx->err.col = col;
    lx->err.end_col = col;
    lx->err.incomplete = false;
    lx->err_kind = ASY_LEXERR_RAISED;
    return false;
}

/* Errors CPython's tokenizer only flags (tok->done) and reports when the parser reaches
 * them: they do not override parser errors found earlier. */
static bool lex_deferred(AsyLexer *lx, const char *type, int col, int end_col,
                         const char *msg)
{
    set_err(&lx->err, type, lx->line, col, end_col, "%s", msg);
    lx->err_kind = ASY_LEXERR_DEFERRED;
    return false;
}

/* ---- identifiers ---- */

/* Without a Unicode database we accept every non-ASCII code point in identifiers except
 * the blocks that hold only punctuation, symbols, spaces and emoji. */
static bool is_xid_cp(uint32_t cp)
{
    if (cp < 0x80) return isalnum((int)cp) || cp == '_';
    if (cp == 0xAA || cp == 0xB5 || cp == 0xBA || cp == 0xB7) return true;
    if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7) return false;
    if (cp >= 0x2000 && cp <= 0x206F) return false;   /* general punctuation */
    if (cp >= 0x20A0 && cp <= 0x20CF) return false;   /* currency symbols */
    if (cp >= 0x2190 && cp <= 0x2BFF) return false;   /* arrows, math, boxes, dingbats */
    if (cp >= 0x2E00 && cp <= 0x2E7F) return false;   /* supplemental punctuation */
    if (cp >= 0x3000 && cp <= 0x3004) return false;   /* CJK spaces and marks */
    if (cp >= 0x3008 && cp <= 0x3020) return false;   /* CJK brackets */
    if (cp >= 0xFE10 && cp <= 0xFE6F) return false;   /* vertical/small forms */
    if (cp >= 0xFF00 && cp <= 0xFF0F) return false;   /* fullwidth punctuation */
    if (cp == 0xFEFF || (cp >= 0xFFF0 && cp <= 0xFFFF)) return false;
    if (cp >= 0x1F000 && cp <= 0x1FAFF) return false; /* emoji and pictographs */
    return true;
}

static bool is_ident_start(int c)
{
    return (unsigned)((c | 0x20) - 'a') < 26 || c == '_' || c >= 128;
}

static bool is_ident_char(int c)
{
    return is_ident_start(c) || (unsigned)(c - '0') < 10;
}

/* The keyword spelled s[0, len), or TOK_NAME: a switch on the first letter, then one
 * comparison of known length per candidate (the compiler inlines those memcmps). Every
 * name token goes through here, so no table walk and no strlen. */
static AsyTokKind keyword_kind(const char *s, size_t len)
{
#define KW(word, kind) \
    if (len == sizeof word - 1 && memcmp(s, word, sizeof word - 1) == 0) return kind
    if (len < 2 || len > 8) return TOK_NAME;
    switch (s[0]) {
    case 'F': KW("False", TOK_FALSE); break;
    case 'N': KW("None", TOK_NONE); break;
    case 'T': KW("True", TOK_TRUE); break;
    case 'a':
        KW("and", TOK_AND); KW("as", TOK_AS); KW("assert", TOK_ASSERT);
        KW("async", TOK_ASYNC); KW("await", TOK_AWAIT);
        break;
    case 'b': KW("break", TOK_BREAK); break;
    case 'c': KW("class", TOK_CLASS); KW("continue", TOK_CONTINUE); break;
    case 'd': KW("def", TOK_DEF); KW("del", TOK_DEL); break;
    case 'e': KW("elif", TOK_ELIF); KW("else", TOK_ELSE); KW("except", TOK_EXCEPT); break;
    case 'f': KW("finally", TOK_FINALLY); KW("for", TOK_FOR); KW("from", TOK_FROM); break;
    case 'g': KW("global", TOK_GLOBAL); break;
    case 'i':
        KW("if", TOK_IF); KW("import", TOK_IMPORT); KW("in", TOK_IN); KW("is", TOK_IS);
        break;
    case 'l': KW("lambda", TOK_LAMBDA); break;
    case 'n': KW("nonlocal", TOK_NONLOCAL); KW("not", TOK_NOT); break;
    case 'o': KW("or", TOK_OR); break;
    case 'p': KW("pass", TOK_PASS); break;
    case 'r': KW("raise", TOK_RAISE); KW("return", TOK_RETURN); break;
    case 't': KW("try", TOK_TRY); break;
    case 'w': KW("while", TOK_WHILE); KW("with", TOK_WITH); break;
    case 'y': KW("yield", TOK_YIELD); break;
    default: break;
    }
    return TOK_NAME;
#undef KW
}

/* Check the non-ASCII characters of an identifier (CPython's verify_identifier). */
static bool verify_identifier(AsyLexer *lx, size_t start)
{
    for (size_t i = start; i < lx->pos;) {
        int n;
        uint32_t cp = utf8_decode(lx->buf + i, &n);
        bool ok = i == start ? (cp >= 0x80 ? is_xid_cp(cp) : true) : is_xid_cp(cp);
        if (cp >= 0x80 && !ok) {
            lx->pos = i + (size_t)n;
            if (cp < 0xA0 || cp == 0xAD) return lex_error(lx, "invalid non-printable character U+%04X", cp);
            char s[5] = {0};
            utf8_encode(cp, s);
            return lex_error(lx, "invalid character '%s' (U+%04X)", s, cp);
        }
        i += (size_t)n;
    }
    return true;
}

/* ---- numbers (CPython's tok_get number branch) ---- */

static bool lookahead(AsyLexer *lx, const char *test)
{
    size_t save = lx->pos;
    bool r = false;
    for (;; test++) {
        int c = nextc(lx);
        if (*test == '\0') {
            r = !is_ident_char(c);
            break;
        }
        if (c != *test) break;
    }
    lx->pos = save;
    return r;
}

/* A number directly followed by a letter is an error, except before the keywords that
 * can follow a number in valid code (`1if x else 2`): CPython only warns there. */
static bool verify_end_of_number(AsyLexer *lx, int c, const char *kind)
{
    bool r = false;
    if (c == 'a') r = lookahead(lx, "nd");
    else if (c == 'e') r = lookahead(lx, "lse");
    else if (c == 'f') r = lookahead(lx, "or");
    else if (c == 'i') {
        int c2 = nextc(lx);
        r = c2 == 'f' || c2 == 'n' || c2 == 's';
        backup(lx, c2);
    } else if (c == 'o') r = lookahead(lx, "r");
    else if (c == 'n') r = lookahead(lx, "ot");
    if (r) return true;
    if (is_ident_char(c)) {
        backup(lx, c);
        return lex_error(lx, "invalid %s literal", kind);
    }
    return true;
}

/* Digits and single underscores; returns the char after them, or 0 after an error. */
static int decimal_tail(AsyLexer *lx)
{
    int c;
    for (;;) {
        do c = nextc(lx);
        while (isdigit(c));
        if (c != '_') break;
        c = nextc(lx);
        if (!isdigit(c)) {
            backup(lx, c);
            lex_error(lx, "invalid decimal literal");
            return 0;
        }
    }
    return c;
}

static bool is_base_digit(int c, int base)
{
    if (base == 16) return isxdigit(c);
    return c >= '0' && c < '0' + base;
}

/* 0x / 0o / 0b literals; c is the char after the prefix letter. */
static bool scan_radix(AsyLexer *lx, int base)
{
    const char *kind = base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary";
    int c = nextc(lx);
    do {
        if (c == '_') c = nextc(lx);
        if (!is_base_digit(c, base)) {
            if (base != 16 && isdigit(c))
                return lex_error(lx, "invalid digit '%c' in %s literal", c, kind);
            backup(lx, c);
            return lex_error(lx, "invalid %s literal", kind);
        }
        do c = nextc(lx);
        while (is_base_digit(c, base));
    } while (c == '_');
    if (base != 16 && isdigit(c)) return lex_error(lx, "invalid digit '%c' in %s literal", c, kind);
    if (!verify_end_of_number(lx, c, kind)) return false;
    backup(lx, c);
    return true;
}

/* Everything after the integer part: stage 0 = maybe '.', 1 = after '.', 2 = at e/E. */
static bool scan_float_rest(AsyLexer *lx, int c, int stage)
{
    if (stage == 0 && c == '.') {
        c = nextc(lx);
        stage = 1;
    }
    if (stage == 1 && isdigit(c)) {
        c = decimal_tail(lx);
        if (!c) return false;
    }
    if (c == 'e' || c == 'E') {
        int e = c;
        c = nextc(lx);
        if (c == '+' || c == '-') {
            c = nextc(lx);
            if (!isdigit(c)) {
                backup(lx, c);
                return lex_error(lx, "invalid decimal literal");
            }
        } else if (!isdigit(c)) {
            backup(lx, c);
            if (!verify_end_of_number(lx, e, "decimal")) return false;
            backup(lx, e);
            return true;
        }
        c = decimal_tail(lx);
        if (!c) return false;
    }
    if (c == 'j' || c == 'J') {
        c = nextc(lx);
        if (!verify_end_of_number(lx, c, "imaginary")) return false;
    } else if (!verify_end_of_number(lx, c, "decimal")) {
        return false;
    }
    backup(lx, c);
    return true;
}

/* A literal starting with '0' that is not 0x/0o/0b: only zeros, or a float. */
static bool scan_zero(AsyLexer *lx, int c, size_t start)
{
    bool nonzero = false;
    for (;;) {
        if (c == '_') {
            c = nextc(lx);
            if (!isdigit(c)) {
                backup(lx, c);
                return lex_error(lx, "invalid decimal literal");
            }
        }
        if (c != '0') break;
        c = nextc(lx);
    }
    size_t zeros_end = lx->pos;
    if (isdigit(c)) {
        nonzero = true;
        c = decimal_tail(lx);
        if (!c) return false;
    }
    if (c == '.' || c == 'e' || c == 'E' || c == 'j' || c == 'J')
        return scan_float_rest(lx, c, 0);
    if (nonzero) {
        backup(lx, c);
        lex_error(lx, "leading zeros in decimal integer literals are not permitted; "
                      "use an 0o prefix for octal integers");
        lx->err.col = col_at(lx, start) + 1;
        lx->err.end_col = col_at(lx, zeros_end);
        return false;
    }
    if (!verify_end_of_number(lx, c, "decimal")) return false;
    backup(lx, c);
    return true;
}

/* c is the first char (a digit, or '.' followed by a digit), already consumed. */
static bool scan_number(AsyLexer *lx, int c, size_t start)
{
    if (c == '.') return scan_float_rest(lx, nextc(lx), 1);
    if (c == '0') {
        c = nextc(lx);
        if (c == 'x' || c == 'X') return scan_radix(lx, 16);
        if (c == 'o' || c == 'O') return scan_radix(lx, 8);
        if (c == 'b' || c == 'B') return scan_radix(lx, 2);
        return scan_zero(lx, c, start);
    }
    c = decimal_tail(lx);
    if (!c) return false;
    return scan_float_rest(lx, c, 0);
}

/* ---- strings ---- */

/* Recognise a string prefix of `len` letters: any of r, b, rb, br, f, rf, fr, u. */
static bool is_string_prefix(const char *s, size_t len)
{
    bool r = false, b = false, u = false, f = false;
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (c == 'r' && !r) r = true;
        else if (c == 'b' && !b && !u && !f) b = true;
        else if (c == 'u' && !u && !b && !r && !f) u = true;
        else if (c == 'f' && !f && !b && !u) f = true;
        else return false;
    }
    return len <= 2 && !(u && len > 1);
}

static bool scan_string(AsyLexer *lx, int quote, size_t start)
{
    int first_line = lx->line;
    size_t first_line_start = lx->line_start;
    int quote_size = 1, end_quote_size = 0;
    int c = nextc(lx);
    if (c == quote) {
        c = nextc(lx);
        if (c == quote) quote_size = 3;
        else end_quote_size = 1; /* empty string */
    }
    if (c != quote) backup(lx, c);
    while (end_quote_size != quote_size) {
        c = nextc(lx);
        if (c == LEX_EOF || (quote_size == 1 && c == '\n')) {
            /* At EOF the prepared buffer's final '\n' has been counted: CPython reports
             * the number of the last line. */
            int detected = c == LEX_EOF && !lx->fstring_expr ? lx->line - 1 : lx->line;
            lx->line = first_line;
            lx->line_start = first_line_start;
            lx->pos = start + 1;
            if (quote_size == 3) {
                lex_error(lx, "unterminated triple-quoted string literal (detected at line %d)",
                          detected);
                lx->err.incomplete = true;
            } else {
                lex_error(lx, "unterminated string literal (detected at line %d)", detected);
            }
            return false;
        }
        if (c == '\n') newline_seen(lx);
        if (c == quote) {
            end_quote_size++;
        } else {
            end_quote_size = 0;
            if (c == '\\') {
                c = nextc(lx);
                if (c == '\n') newline_seen(lx);
            }
        }
    }
    return true;
}

/* ---- operators ---- */

/* Track bracket nesting; CPython checks matching in the tokenizer. */
static bool track_bracket(AsyLexer *lx, char c, size_t start)
{
    if (c == '(' || c == '[' || c == '{') {
        if (lx->level >= ASY_MAX_PAREN) return lex_error(lx, "too many nested parentheses");
        lx->parens[lx->level] = c;
        lx->paren_line[lx->level] = lx->line;
        lx->paren_col[lx->level] = col_at(lx, start);
        lx->level++;
        return true;
    }
    if (c != ')' && c != ']' && c != '}') return true;
    if (!lx->level) return lex_error(lx, "unmatched '%c'", c);
    lx->level--;
    char open = lx->parens[lx->level];
    if ((open == '(' && c == ')') || (open == '[' && c == ']') || (open == '{' && c == '}'))
        return true;
    if (lx->paren_line[lx->level] != lx->line)
        return lex_error(lx, "closing parenthesis '%c' does not match opening parenthesis '%c' "
                             "on line %d", c, open, lx->paren_line[lx->level]);
    return lex_error(lx, "closing parenthesis '%c' does not match opening parenthesis '%c'", c,
                     open);
}

/* The byte `ahead` places past the scanning position, or 0 past the end (a sub-lexer's
 * end is not the buffer's NUL). */
static int peekc(const AsyLexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->end ? (unsigned char)lx->buf[lx->pos + ahead] : 0;
}

/* An operator `op`, or `op` followed by `=` as `op_eq` (TOK_UNKNOWN: no such form). */
static AsyTokKind with_equal(AsyLexer *lx, AsyTokKind op, AsyTokKind op_eq)
{
    if (op_eq == TOK_UNKNOWN || peekc(lx, 0) != '=') return op;
    lx->pos++;
    return op_eq;
}

/* `c`, `cc`, `c=` and `cc=` for the doubled operators (** // << >>), longest first. */
static AsyTokKind doubled(AsyLexer *lx, int c, AsyTokKind one, AsyTokKind one_eq,
                          AsyTokKind two, AsyTokKind two_eq)
{
    if (peekc(lx, 0) != c) return with_equal(lx, one, one_eq);
    lx->pos++;
    return with_equal(lx, two, two_eq);
}

/* The longest operator or delimiter at the scanning position, chosen by its first byte. */
static AsyTokKind operator_kind(AsyLexer *lx, int c)
{
    switch (c) {
    case '(': return TOK_LPAR;
    case ')': return TOK_RPAR;
    case '[': return TOK_LSQB;
    case ']': return TOK_RSQB;
    case '{': return TOK_LBRACE;
    case '}': return TOK_RBRACE;
    case ',': return TOK_COMMA;
    case ';': return TOK_SEMI;
    case '~': return TOK_TILDE;
    case ':': return with_equal(lx, TOK_COLON, TOK_COLONEQUAL);
    case '=': return with_equal(lx, TOK_EQUAL, TOK_EQEQUAL);
    case '!': return with_equal(lx, TOK_UNKNOWN, TOK_NOTEQUAL);
    case '+': return with_equal(lx, TOK_PLUS, TOK_PLUSEQUAL);
    case '%': return with_equal(lx, TOK_PERCENT, TOK_PERCENTEQUAL);
    case '&': return with_equal(lx, TOK_AMPER, TOK_AMPEREQUAL);
    case '|': return with_equal(lx, TOK_VBAR, TOK_VBAREQUAL);
    case '^': return with_equal(lx, TOK_CIRCUMFLEX, TOK_CIRCUMFLEXEQUAL);
    case '@': return with_equal(lx, TOK_AT, TOK_ATEQUAL);
    case '-':
        if (peekc(lx, 0) == '>') {
            lx->pos++;
            return TOK_ARROW;
        }
        return with_equal(lx, TOK_MINUS, TOK_MINEQUAL);
    case '*': return doubled(lx, c, TOK_STAR, TOK_STAREQUAL, TOK_DOUBLESTAR, TOK_DOUBLESTAREQUAL);
    case '/':
        return doubled(lx, c, TOK_SLASH, TOK_SLASHEQUAL, TOK_DOUBLESLASH, TOK_DOUBLESLASHEQUAL);
    case '<': return doubled(lx, c, TOK_LESS, TOK_LESSEQUAL, TOK_LEFTSHIFT, TOK_LEFTSHIFTEQUAL);
    case '>':
        return doubled(lx, c, TOK_GREATER, TOK_GREATEREQUAL, TOK_RIGHTSHIFT, TOK_RIGHTSHIFTEQUAL);
    case '.':
        if (peekc(lx, 0) == '.' && peekc(lx, 1) == '.') {
            lx->pos += 2;
            return TOK_ELLIPSIS;
        }
        return TOK_DOT;
    default:
        /* An ASCII char no token starts with (`$`, `?`, a lone `!`): CPython passes it to
         * the parser, which reports "invalid syntax" there. */
        return TOK_UNKNOWN;
    }
}

static bool scan_operator(AsyLexer *lx, AsyToken *tok)
{
    size_t start = lx->pos;
    int c = nextc(lx);
    tok->kind = operator_kind(lx, c);
    return track_bracket(lx, (char)c, start);
}

/* ---- indentation ---- */

/* Measure the indentation of a new line and queue INDENT/DEDENT tokens (CPython's atbol
 * block). Returns false on an indentation error. */
static bool measure_indent(AsyLexer *lx)
{
    int col = 0, altcol = 0;
    int c;
    for (;;) {
        c = nextc(lx);
        if (c == ' ') col++, altcol++;
        else if (c == '\t') {
            col = (col / 8 + 1) * 8;
            altcol++;
        } else if (c == '\f') col = altcol = 0;
        else break;
    }
    backup(lx, c);
    bool blank = c == '#' || c == '\n' || c == LEX_EOF;
    if (blank || lx->level > 0) return true;
    int *ind = lx->indstack, *alt = lx->altindstack;
    if (col == ind[lx->indent]) {
        if (altcol != alt[lx->indent]) goto tab_error;
    } else if (col > ind[lx->indent]) {
        if (lx->indent + 1 >= ASY_MAX_INDENT)
            return lex_deferred(lx, "IndentationError", 1, 0, "too many levels of indentation");
        if (altcol <= alt[lx->indent]) goto tab_error;
        lx->pending++;
        lx->indent++;
        ind[lx->indent] = col;
        alt[lx->indent] = altcol;
    } else {
        while (lx->indent > 0 && col < ind[lx->indent]) {
            lx->pending--;
            lx->indent--;
        }
        if (col != ind[lx->indent]) {
            /* CPython points past the end of the offending line. */
            size_t eol = (size_t)(strchr(lx->buf + lx->pos, '\n') - lx->buf) + 1;
            return lex_deferred(lx, "IndentationError", asy_utf8_count(lx->buf, lx->line_start, eol),
                                0, "unindent does not match any outer indentation level");
        }
        if (altcol != alt[lx->indent]) goto tab_error;
    }
    return true;
tab_error:
    return lex_deferred(lx, "TabError", 1, 0, "inconsistent use of tabs and spaces in indentation");
}

/* ---- the token loop ---- */

static void finish(AsyLexer *lx, AsyToken *tok, size_t start)
{
    tok->start = start;
    tok->len = lx->pos - start;
    tok->end_line = lx->line;
    tok->end_col = col_at(lx, lx->pos);
}

static bool fail(AsyLexer *lx, AsyToken *tok, size_t start)
{
    tok->kind = TOK_ERROR;
    tok->start = start;
    tok->len = 0;
    tok->end_line = tok->line;
    tok->end_col = tok->col;
    lx->done = true;
    return false;
}

/* End of input: dedent everything, then ENDMARKER. Inside brackets it is an error. */
static bool at_eof(AsyLexer *lx, AsyToken *tok)
{
    size_t start = lx->pos;
    tok->line = lx->line;
    tok->col = col_at(lx, start);
    if (lx->level > 0 && !lx->fstring_expr) {
        int i = lx->level - 1;
        set_err(&lx->err, "SyntaxError", lx->paren_line[i], lx->paren_col[i] + 1, 0,
                "'%c' was never closed", lx->parens[i]);
        lx->err.incomplete = true;
        lx->err_kind = ASY_LEXERR_EOF;
        return fail(lx, tok, start);
    }
    if (lx->indent > 0) {
        lx->indent--;
        tok->kind = TOK_DEDENT;
    } else {
        tok->kind = TOK_ENDMARKER;
        lx->done = true;
    }
    finish(lx, tok, start);
    return true;
}

/* A backslash: line continuation if a newline follows. */
static bool continuation(AsyLexer *lx)
{
    int c = nextc(lx);
    if (c != '\n') {
        lx->err.type = "SyntaxError";
        snprintf(lx->err.msg, sizeof lx->err.msg,
                 "unexpected character after line continuation character");
        lx->err.line = lx->line;
        lx->err.col = col_at(lx, lx->pos - (c != LEX_EOF)) + 1;
        lx->err.end_col = 0;
        lx->err_kind = ASY_LEXERR_DEFERRED;
        return false;
    }
    newline_seen(lx);
    if (lx->pos >= lx->end && !lx->fstring_expr && lx->level == 0) {
        /* The buffer's final newline was escaped: input ended mid-statement. CPython
         * points past the end of the last line. */
        size_t ls = lx->pos - 1;
        while (ls > 0 && lx->buf[ls - 1] != '\n') ls--;
        set_err(&lx->err, "SyntaxError", lx->line - 1, asy_utf8_count(lx->buf, ls, lx->pos), 0,
                "unexpected EOF while parsing");
        lx->err.incomplete = true;
        lx->err_kind = ASY_LEXERR_DEFERRED;
        return false;
    }
    return true;
}

static bool scan_name_or_string(AsyLexer *lx, AsyToken *tok, int c, size_t start)
{
    int any = c; /* bit 7 set: some byte is not ASCII and needs verify_identifier */
    const unsigned char *b = (const unsigned char *)lx->buf;
    size_t i = lx->pos;
    while (i < lx->end && is_ident_char(b[i])) any |= b[i++];
    lx->pos = i;
    c = i < lx->end ? b[i] : LEX_EOF;
    if ((c == '"' || c == '\'') && is_string_prefix(lx->buf + start, lx->pos - start)) {
        nextc(lx);
        tok->kind = TOK_STRING;
        return scan_string(lx, c, start);
    }
    if ((any & 0x80) && !verify_identifier(lx, start)) return false;
    tok->kind = keyword_kind(lx->buf + start, lx->pos - start);
    return true;
}

/* Skip blanks, comments and ignorable newlines. Returns false on an error. */
static bool skip_space(AsyLexer *lx)
{
    for (;;) {
        if (lx->at_line_start) {
            lx->at_line_start = false;
            if (!lx->fstring_expr && !measure_indent(lx)) return false;
        }
        if (lx->pending) return true;
        int c = nextc(lx);
        while (c == ' ' || c == '\t' || c == '\f') c = nextc(lx);
        if (c == '#') {
            while (c != '\n' && c != LEX_EOF) c = nextc(lx);
        }
        if (c == '\\') {
            if (!continuation(lx)) return false;
            continue;
        }
        /* Newlines inside brackets, and after blank or comment-only lines, are not
         * tokens. */
        if (c == '\n' && (lx->emitted_newline || lx->level > 0 || lx->fstring_expr)) {
            newline_seen(lx);
            lx->at_line_start = true;
            continue;
        }
        backup(lx, c);
        return true;
    }
}

static bool scan_token(AsyLexer *lx, AsyToken *tok, size_t start)
{
    int c = nextc(lx);
    if (c == '\n') {
        /* Zero width, like CPython's NEWLINE: errors at it point just past the line. */
        tok->kind = TOK_NEWLINE;
        finish(lx, tok, start);
        tok->end_col = tok->col;
        newline_seen(lx);
        lx->at_line_start = true;
        return true;
    }
    if (is_ident_start(c)) return scan_name_or_string(lx, tok, c, start);
    if (isdigit(c) || (c == '.' && isdigit((unsigned char)lx->buf[lx->pos]))) {
        tok->kind = TOK_NUMBER;
        return scan_number(lx, c, start);
    }
    if (c == '"' || c == '\'') {
        tok->kind = TOK_STRING;
        return scan_string(lx, c, start);
    }
    if (c < 0x20 || c == 0x7f) {
        return lex_error(lx, "invalid non-printable character U+%04X", c);
    }
    backup(lx, c);
    return scan_operator(lx, tok);
}

bool asy_lexer_next(AsyLexer *lx, AsyToken *tok)
{
    memset(tok, 0, sizeof *tok);
    if (lx->done) {
        tok->kind = lx->err_kind ? TOK_ERROR : TOK_ENDMARKER;
        tok->line = lx->line;
        return !lx->err_kind;
    }
    tok->level = lx->level + (lx->fstring_expr ? 1 : 0);
    if (!skip_space(lx)) {
        tok->line = lx->err.line;
        return fail(lx, tok, lx->pos);
    }
    size_t start = lx->pos;
    tok->line = lx->line;
    tok->col = col_at(lx, start);
    if (lx->pending) {
        tok->kind = lx->pending > 0 ? TOK_INDENT : TOK_DEDENT;
        lx->pending += lx->pending > 0 ? -1 : 1;
        finish(lx, tok, start);
        return true;
    }
    if (lx->pos >= lx->end) {
        if (!at_eof(lx, tok)) return false;
        lx->emitted_newline = true;
        return true;
    }
    if (!scan_token(lx, tok, start)) return fail(lx, tok, start);
    if (tok->kind != TOK_NEWLINE) finish(lx, tok, start);
    lx->emitted_newline = tok->kind == TOK_NEWLINE;
    return true;
}

AsyToken *asy_lexer_tokenize(AsyLexer *lx, AstArena *arena, int *n_out)
{
    /* Code averages a token per 4.5 bytes: size for that, so the array rarely grows (every
     * token is written in full by asy_lexer_next, so it need not be zeroed either). */
    size_t guess = (lx->end - lx->pos) / 4 + 16;
    int n = 0, cap = guess < 1u << 20 ? (int)guess : 1 << 20;
    AsyToken *toks = asy_ast_alloc_uninit(arena, sizeof(AsyToken) * (size_t)cap);
    for (;;) {
        if (n == cap) {
            AsyToken *nt = asy_ast_alloc_uninit(arena, sizeof(AsyToken) * (size_t)cap * 2);
            memcpy(nt, toks, sizeof(AsyToken) * (size_t)n);
            toks = nt;
            cap *= 2;
        }
        bool ok = asy_lexer_next(lx, &toks[n]);
        AsyTokKind k = toks[n++].kind;
        if (!ok || k == TOK_ENDMARKER) break;
    }
    *n_out = n;
    return toks;
}

static const char *const token_names[TOK_KIND_COUNT] = {
    "ENDMARKER", "NAME", "NUMBER", "STRING", "NEWLINE", "INDENT", "DEDENT", "ERROR",
    "UNKNOWN",
    "(", ")", "[", "]", "{", "}", ":", ",", ";", ".", "...", "->", "@", "=", ":=",
    "+", "-", "*", "/", "//", "%", "**", "|", "&", "^", "~", "<<", ">>",
    "==", "!=", "<", ">", "<=", ">=",
    "+=", "-=", "*=", "@=", "/=", "//=", "%=", "**=", "<<=", ">>=", "|=", "^=", "&=",
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield",
};

const char *asy_token_name(AsyTokKind kind)
{
    return (unsigned)kind < TOK_KIND_COUNT ? token_names[kind] : "?";
}

/* ---- literal decoding ---- */

/* Decimal digits of a big unsigned number given in base 2, 8 or 16: schoolbook
 * conversion through base 1e9 limbs (little-endian). */
static char *radix_to_decimal(AstArena *arena, const char *digits, size_t n, int base,
                              size_t *out_len)
{
    size_t cap = n / 2 + 2; /* each 1e9 limb absorbs at least 7 hex digits */
    uint32_t *limbs = asy_ast_alloc(arena, sizeof(uint32_t) * cap);
    size_t used = 1;
    for (size_t i = 0; i < n; i++) {
        int d = isdigit((unsigned char)digits[i]) ? digits[i] - '0'
                                                  : tolower((unsigned char)digits[i]) - 'a' + 10;
        uint64_t carry = (uint64_t)d;
        for (size_t j = 0; j < used; j++) {
            uint64_t v = (uint64_t)limbs[j] * (uint64_t)base + carry;
            limbs[j] = (uint32_t)(v % 1000000000u);
            carry = v / 1000000000u;
        }
        if (carry) limbs[used++] = (uint32_t)carry;
    }
    char *out = asy_ast_alloc(arena, used * 9 + 1);
    int len = sprintf(out, "%u", limbs[used - 1]);
    for (size_t j = used - 1; j-- > 0;) len += sprintf(out + len, "%09u", limbs[j]);
    *out_len = (size_t)len;
    return out;
}

void asy_lex_number(AstArena *arena, const char *text, size_t len, AstNode *out)
{
    char *s = asy_ast_alloc(arena, len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '_') s[n++] = text[i];
    s[n] = '\0';
    out->u.c.kind = AST_CONST_INT;
    char last = (char)tolower((unsigned char)s[n - 1]);
    int base = 10;
    if (n > 1 && s[0] == '0') {
        char p = (char)tolower((unsigned char)s[1]);
        base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    }
    if (base == 10 && last == 'j') {
        s[n - 1] = '\0';
        out->u.c.kind = AST_CONST_IMAG;
        out->u.c.f = strtod(s, NULL);
        return;
    }
    if (base == 10 && strpbrk(s, ".eE")) {
        out->u.c.kind = AST_CONST_FLOAT;
        out->u.c.f = strtod(s, NULL);
        return;
    }
    const char *digits = base == 10 ? s : s + 2;
    size_t nd = base == 10 ? n : n - 2;
    while (nd > 1 && digits[0] == '0') digits++, nd--;
    uint64_t v = 0;
    bool big = false;
    for (size_t i = 0; i < nd && !big; i++) {
        int d = isdigit((unsigned char)digits[i]) ? digits[i] - '0'
                                                  : tolower((unsigned char)digits[i]) - 'a' + 10;
        if (v > (UINT64_C(0x7FFFFFFFFFFFFFFF) - (uint64_t)d) / (uint64_t)base) big = true;
        else v = v * (uint64_t)base + (uint64_t)d;
    }
    if (!big) {
        out->u.c.i = (int64_t)v;
        return;
    }
    out->u.c.kind = AST_CONST_BIGINT;
    if (base == 10) {
        out->u.c.str = asy_ast_strdup(arena, digits, nd);
        out->u.c.len = nd;
    } else {
        out->u.c.str = radix_to_decimal(arena, digits, nd, base, &out->u.c.len);
    }
}

void asy_lex_string_prefix(const char *text, size_t len, AsyStrPrefix *out)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    for (; i < len && text[i] != '\'' && text[i] != '"'; i++) {
        char c = (char)tolower((unsigned char)text[i]);
        if (c == 'b') out->is_bytes = true;
        else if (c == 'r') out->is_raw = true;
        else if (c == 'f') out->is_fstring = true;
    }
    out->prefix_len = i;
    out->quote_len = (len - i >= 6 && text[i + 1] == text[i] && text[i + 2] == text[i]) ? 3 : 1;
}

typedef struct {
    AstArena *arena;
    char **buf;
    size_t *len, *cap;
} OutBuf;

static void out_put(OutBuf *o, const char *s, size_t n)
{
    if (*o->len + n + 1 > *o->cap) {
        size_t cap = *o->cap ? *o->cap * 2 : 64;
        while (cap < *o->len + n + 1) cap *= 2;
        char *nb = asy_ast_alloc(o->arena, cap);
        if (*o->len) memcpy(nb, *o->buf, *o->len);
        *o->buf = nb;
        *o->cap = cap;
    }
    memcpy(*o->buf + *o->len, s, n);
    *o->len += n;
    (*o->buf)[*o->len] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* \x, \u and \U: exactly `ndig` hex digits. Returns the value, or -1 if truncated. */
static long read_hex(const char *s, size_t avail, int ndig)
{
    long v = 0;
    if (avail < (size_t)ndig) return -1;
    for (int i = 0; i < ndig; i++) {
        int h = hexval((unsigned char)s[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static const char *escape_error(char *msgbuf, size_t msgcap, bool is_bytes, size_t pos,
                                size_t end, const char *what)
{
    if (is_bytes)
        snprintf(msgbuf, msgcap, "(value error) invalid \\x escape at position %zu", pos);
    else
        snprintf(msgbuf, msgcap,
                 "(unicode error) 'unicodeescape' codec can't decode bytes in position "
                 "%zu-%zu: %s", pos, end, what);
    return msgbuf;
}

/* One escape sequence at body[i] == '\\'. Advances *ip past it. */
static const char *decode_escape(OutBuf *o, const char *body, size_t len, size_t *ip,
                                 bool is_bytes, char *msgbuf, size_t msgcap)
{
    size_t i = *ip + 1;
    if (i >= len) {
        /* A lone trailing backslash (an f-string piece before `{`): keep it. */
        out_put(o, "\\", 1);
        *ip = i;
        return NULL;
    }
    char c = body[i++];
    char tmp[4];
    static const char simple_in[] = "\n\\'\"abfnrtv";
    static const char simple_out[] = "\0\\'\"\a\b\f\n\r\t\v";
    const char *p = c ? strchr(simple_in, c) : NULL;
    if (p) {
        if (c != '\n') out_put(o, &simple_out[p - simple_in], 1);
    } else if (c >= '0' && c <= '7') {
        int v = c - '0';
        for (int k = 0; k < 2 && i < len && body[i] >= '0' && body[i] <= '7'; k++)
            v = v * 8 + (body[i++] - '0');
        if (is_bytes) {
            tmp[0] = (char)(v & 0xFF);
            out_put(o, tmp, 1);
        } else {
            out_put(o, tmp, (size_t)utf8_encode((uint32_t)v, tmp));
        }
    } else if (c == 'x' || (!is_bytes && (c == 'u' || c == 'U'))) {
        int ndig = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        long v = read_hex(body + i, len - i, ndig);
        if (v < 0) {
            size_t end = i;
            while (end < len && end < i + (size_t)ndig && hexval((unsigned char)body[end]) >= 0) end++;
            const char *what = c == 'x' ? "truncated \\xXX escape"
                             : c == 'u' ? "truncated \\uXXXX escape"
                                        : "truncated \\UXXXXXXXX escape";
            return escape_error(msgbuf, msgcap, is_bytes, *ip, end - 1, what);
        }
        if (v > 0x10FFFF)
            return escape_error(msgbuf, msgcap, false, *ip, i + (size_t)ndig - 1,
                                "illegal Unicode character");
        i += (size_t)ndig;
        if (is_bytes) {
            tmp[0] = (char)v;
            out_put(o, tmp, 1);
        } else {
            out_put(o, tmp, (size_t)utf8_encode((uint32_t)v, tmp));
        }
    } else if (c == 'N' && !is_bytes) {
        /* \N{NAME}; an error's range ends where CPython's decoder stopped reading. */
        const char *malformed = "malformed \\N character escape";
        if (i >= len || body[i] != '{')
            return escape_error(msgbuf, msgcap, false, *ip, i - 1, malformed);
        size_t close = i + 1;
        while (close < len && body[close] != '}') close++;
        if (close >= len) return escape_error(msgbuf, msgcap, false, *ip, len - 1, malformed);
        if (close == i + 1)
            return escape_error(msgbuf, msgcap, false, *ip, close - 1, malformed);
        uint32_t cp;
        if (!asy_unicode_lookup_name(body + i + 1, close - i - 1, &cp))
            return escape_error(msgbuf, msgcap, false, *ip, close,
                                "unknown Unicode character name");
        out_put(o, tmp, (size_t)utf8_encode(cp, tmp));
        i = close + 1;
    } else {
        /* Unknown escapes stay as written (CPython only warns). */
        out_put(o, body + *ip, 1);
        i = *ip + 1;
    }
    *ip = i;
    return NULL;
}

const char *asy_lex_decode(AstArena *arena, const char *body, size_t len, bool is_bytes,
                           bool is_raw, char **out, size_t *out_len, size_t *out_cap,
                           char *msgbuf, size_t msgcap)
{
    OutBuf o = {arena, out, out_len, out_cap};
    if (!*out) out_put(&o, "", 0);
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && (is_raw || body[run] != '\\')) {
            if (is_bytes && (unsigned char)body[run] >= 0x80) {
                snprintf(msgbuf, msgcap, "bytes can only contain ASCII literal characters");
                return msgbuf;
            }
            run++;
        }
        out_put(&o, body + i, run - i);
        i = run;
        if (i < len) {
            const char *e = decode_escape(&o, body, len, &i, is_bytes, msgbuf, msgcap);
            if (e) return e;
        }
    }
    return NULL;
}
