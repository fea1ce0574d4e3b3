/* strformat.h - the format-spec mini-language shared by every __format__ (str, int, float),
 * and the padding/alignment and digit-grouping helpers, so that numbers and strings pad the
 * same way. str.format and %-formatting themselves are declared in vm.h.
 *
 * Usage from a type's __format__ (default_align is '<' for str, '>' for numbers):
 *
 *     AsyFormatSpec fs;
 *     if (!asy_format_spec_parse(vm, spec, self, &fs)) return ASY_ERR;
 *     ... build the body (sign, prefix, digits) ...
 *     AsyStr *s = asy_format_pad_ex(vm, body, len, nchars, &fs, '>', prefix_len);
 *
 * The parser follows CPython 3.11's parse_internal_render_format_spec exactly, including
 * its error messages, except that the '0' flag is recorded (`zero`) instead of being
 * resolved, because its meaning depends on the default alignment: use asy_format_fill()
 * and asy_format_align() to get the effective fill and alignment.
 */
#ifndef ASY_STRFORMAT_H
#define ASY_STRFORMAT_H

#include "vm.h"

typedef struct {
    uint32_t fill;          /* fill code point as written; ' ' when not given         */
    char fill_utf8[4];      /* the same, UTF-8 encoded (fill_len bytes)                */
    uint8_t fill_len;
    bool fill_given;        /* an explicit fill character preceded the alignment      */
    char align;             /* '<' '>' '^' '=' or 0 when not given                    */
    char sign;              /* '+' '-' ' ' or 0 when not given                        */
    bool z;                 /* 'z': coerce negative zero to zero (floats only)        */
    bool alternate;         /* '#'                                                    */
    bool zero;              /* the '0' flag before the width (only without a fill)    */
    int64_t width;          /* -1: not given                                          */
    char grouping;          /* ',' or '_' or 0                                        */
    int64_t precision;      /* -1: not given                                          */
    uint32_t type;          /* presentation type code point, 0 when not given         */
} AsyFormatSpec;

/* Parse `spec` (the text after ':'). `obj` is the value being formatted; its type name goes
 * into the error messages. Raises ValueError with CPython's messages: "Invalid format
 * specifier 'x<<5' for object of type 'str'", "Format specifier missing precision", "Too
 * many decimal digits in format string", "Cannot specify both ',' and '_'.", "Cannot
 * specify ',' with 'x'.". spec may be NULL (same as empty). */
bool asy_format_spec_parse(AsyVM *vm, AsyStr *spec, AsyValue obj, AsyFormatSpec *out);

/* The fill code point to use: '0' when the '0' flag was given, else the parsed fill. */
static inline uint32_t asy_format_fill(const AsyFormatSpec *s) {
    return s->zero ? '0' : s->fill;
}

/* The alignment to use: the given one, else '=' for the '0' flag when the default is '>'
 * (numbers), else default_align. */
static inline char asy_format_align(const AsyFormatSpec *s, char default_align) {
    if (s->align) return s->align;
    if (s->zero && default_align == '>') return '=';
    return default_align;
}

/* Raise "Unknown format code 'd' for object of type 'str'" (CPython's \x form for codes
 * outside printable ASCII). Always returns ASY_ERR. */
AsyValue asy_format_unknown_code(AsyVM *vm, const AsyFormatSpec *s, AsyValue obj);

/* Pad an already formatted body of `len` bytes / `nchars` code points to spec->width with
 * the effective fill and alignment. For '=' alignment the padding goes after the first
 * prefix_len bytes (sign and "0x"-style prefix). Returns a new str, NULL on error. */
AsyStr *asy_format_pad_ex(AsyVM *vm, const char *body, size_t len, size_t nchars,
                          const AsyFormatSpec *spec, char default_align, size_t prefix_len);

/* As asy_format_pad_ex, finding the '=' prefix itself: one sign character ('+', '-' or
 * ' '), then, when spec->alternate, a "0x"/"0X"/"0o"/"0b" prefix if present. */
AsyStr *asy_format_pad(AsyVM *vm, const char *body, size_t len, size_t nchars,
                       const AsyFormatSpec *spec, char default_align);

/* The same padding appended to a buffer instead of making a str (str.format, f-strings). */
void asy_format_pad_into(AsyVM *vm, AsyStrBuf *out, const char *body, size_t len,
                         size_t nchars, const AsyFormatSpec *spec, char default_align,
                         size_t prefix_len);

/* Append ASCII `digits` (n bytes, no sign) with separator `sep` every `interval` digits
 * counted from the right, first padding with leading zeros (separators included) until
 * the result is at least min_width characters, exactly as CPython does for
 * format(1234, '010,') -> '00,001,234'. min_width <= 0: no zero padding. */
void asy_format_group_digits(AsyVM *vm, AsyStrBuf *out, const char *digits, size_t n,
                             char sep, int interval, int64_t min_width);

/* str.format_map(mapping): str.format with every name looked up in mapping. */
AsyValue asy_str_format_map(AsyVM *vm, AsyStr *fmt, AsyValue mapping);

/* format(s, spec) for a str s (str.__format__): fill, align, width, precision. */
AsyValue asy_str_format_spec(AsyVM *vm, AsyValue self, AsyStr *spec);

#endif
