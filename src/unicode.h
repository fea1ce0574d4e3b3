/* unicode.h - UTF-8 encoding helpers and the Unicode character properties asy needs
 * (classification and full case mapping), matching CPython 3.11 exactly: the tables in
 * unicode_db.h are generated from CPython itself by src/unicode-gen.py.
 *
 * Strings inside asy are always valid UTF-8 (asy_str_new's contract), so the decoders here
 * do not validate; asy_utf8_check is the validating one, for bytes.decode and source text.
 */
#ifndef ASY_UNICODE_H
#define ASY_UNICODE_H

#include "common.h"

/* Bytes in the UTF-8 sequence that starts with byte b (1 for invalid leads). */
static inline size_t asy_utf8_seqlen(unsigned char b) {
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* Decode the code point at s[*pos] (valid UTF-8) and advance *pos past it. */
static inline uint32_t asy_utf8_next(const char *s, size_t *pos) {
    const unsigned char *p = (const unsigned char *)s + *pos;
    if (p[0] < 0x80) {
        *pos += 1;
        return p[0];
    }
    if (p[0] < 0xE0) {
        *pos += 2;
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if (p[0] < 0xF0) {
        *pos += 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    *pos += 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
           ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

/* Decode the code point that ends just before s[*pos] and move *pos back to its start. */
static inline uint32_t asy_utf8_prev(const char *s, size_t *pos) {
    size_t p = *pos - 1;
    while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
    *pos = p;
    size_t q = p;
    return asy_utf8_next(s, &q);
}

/* Encode cp (< 0x110000) into out; returns the byte count (1-4). Surrogates are encoded
 * as three bytes, as CPython's "surrogatepass" would; asy never creates them itself. */
size_t asy_utf8_encode(uint32_t cp, char *out);

/* Code points in n bytes of valid UTF-8. */
size_t asy_utf8_nchars(const char *s, size_t n);

/* Byte offset of code point number `index` (0 <= index <= nchars) in valid UTF-8. */
size_t asy_utf8_offset(const char *s, size_t n, size_t index);

/* Validate UTF-8 as CPython's strict decoder does. Returns true when valid. Otherwise sets
 * bad_start and bad_end to the invalid byte range and reason to CPython's words
 * ("invalid start byte", "invalid continuation byte", "unexpected end of data"). */
bool asy_utf8_check(const uint8_t *s, size_t n, size_t *bad_start, size_t *bad_end,
                    const char **reason);

/* ---- character properties (CPython's str.isX applied to one character) ---- */
bool asy_uc_isalpha(uint32_t cp);
bool asy_uc_isdecimal(uint32_t cp);
bool asy_uc_isdigit(uint32_t cp);
bool asy_uc_isnumeric(uint32_t cp);
bool asy_uc_isspace(uint32_t cp);
bool asy_uc_isprintable(uint32_t cp);
bool asy_uc_isupper(uint32_t cp);
bool asy_uc_islower(uint32_t cp);
bool asy_uc_istitle(uint32_t cp);       /* titlecase letters (Lt) only            */
bool asy_uc_iscased(uint32_t cp);
bool asy_uc_iscaseignorable(uint32_t cp);
bool asy_uc_isxidstart(uint32_t cp);    /* '_' is not, as in CPython's tables      */
bool asy_uc_isxidcontinue(uint32_t cp);
int asy_uc_decimal(uint32_t cp);        /* 0-9 for decimal digits, else -1         */
int asy_uc_digit(uint32_t cp);          /* 0-9 for digits (incl. superscripts), -1 */

/* Full case mappings, as str.upper()/lower()/title()/casefold() of one character: write up
 * to 3 code points to out and return how many. */
int asy_uc_upper(uint32_t cp, uint32_t out[3]);
int asy_uc_lower(uint32_t cp, uint32_t out[3]);
int asy_uc_title(uint32_t cp, uint32_t out[3]);
int asy_uc_fold(uint32_t cp, uint32_t out[3]);

/* unicode_names.c: the code point of a character name, as unicodedata.lookup() without
 * aliases and named sequences (case-insensitive, but "CJK UNIFIED IDEOGRAPH-4E00" and
 * "HANGUL SYLLABLE GA" only in capitals, as CPython). False when there is no such name. */
bool asy_unicode_lookup_name(const char *name, size_t n, uint32_t *cp);

#endif
