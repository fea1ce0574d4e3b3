/* unicode.c - UTF-8 helpers and Unicode character properties (see unicode.h). The data is
 * unicode_db.h, generated from CPython 3.11 by unicode-gen.py; ASCII never reaches the
 * tables in the hot paths of str.c, which test ASCII bytes directly. */
#include "unicode.h"

#include <string.h>

#include "unicode_db.h"

static const AsyUnicodeRecord *uc_record(uint32_t cp) {
    if (cp >= 0x110000) cp = 0xFFFF; /* unassigned: no properties */
    unsigned block = asy_unicode_index1[cp >> ASY_UDB_SHIFT];
    unsigned idx = asy_unicode_index2[(block << ASY_UDB_SHIFT) + (cp & ((1u << ASY_UDB_SHIFT) - 1))];
    return &asy_unicode_records[idx];
}

size_t asy_utf8_encode(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t asy_utf8_nchars(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

size_t asy_utf8_offset(const char *s, size_t n, size_t index) {
    size_t i = 0;
    while (index > 0 && i < n) {
        i += asy_utf8_seqlen((unsigned char)s[i]);
        index--;
    }
    return i < n ? i : n;
}

/* CPython's strict UTF-8 decoder: the error covers the maximal invalid prefix, so a
 * truncated but well-started sequence is one error of several bytes. */
bool asy_utf8_check(const uint8_t *s, size_t n, size_t *bad_start, size_t *bad_end,
                    const char **reason) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
            if (b == 0xE0) lo = 0xA0;
            if (b == 0xED) hi = 0x9F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
            if (b == 0xF0) lo = 0x90;
            if (b == 0xF4) hi = 0x8F;
        } else {
            *bad_start = i, *bad_end = i + 1, *reason = "invalid start byte";
            return false;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n) {
                *bad_start = i, *bad_end = n, *reason = "unexpected end of data";
                return false;
            }
            uint8_t c = s[i + k];
            uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (c < l || c > h) {
                *bad_start = i, *bad_end = i + k, *reason = "invalid continuation byte";
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

#define UC_FLAG(name, flag) \
    bool asy_uc_##name(uint32_t cp) { return (uc_record(cp)->flags & (flag)) != 0; }
UC_FLAG(isalpha, ASY_U_ALPHA)
UC_FLAG(isdecimal, ASY_U_DECIMAL)
UC_FLAG(isdigit, ASY_U_DIGIT)
UC_FLAG(isnumeric, ASY_U_NUMERIC)
UC_FLAG(isspace, ASY_U_SPACE)
UC_FLAG(isprintable, ASY_U_PRINTABLE)
UC_FLAG(isupper, ASY_U_UPPER)
UC_FLAG(islower, ASY_U_LOWER)
UC_FLAG(istitle, ASY_U_TITLE)
UC_FLAG(iscased, ASY_U_CASED)
UC_FLAG(iscaseignorable, ASY_U_CASE_IGNORABLE)
UC_FLAG(isxidstart, ASY_U_XID_START)
UC_FLAG(isxidcontinue, ASY_U_XID_CONTINUE)
#undef UC_FLAG

int asy_uc_decimal(uint32_t cp) { return uc_record(cp)->decimal; }
int asy_uc_digit(uint32_t cp) { return uc_record(cp)->digit; }

/* which: 0 upper, 1 lower, 2 title, 3 casefold. The ext entry holds four sequences, each
 * a length followed by that many code points. */
static int uc_map(uint32_t cp, int which, uint32_t out[3]) {
    const AsyUnicodeRecord *r = uc_record(cp);
    if (!(r->flags & ASY_U_EXT_CASE)) {
        int32_t delta = which == 0 ? r->upper : which == 2 ? r->title : r->lower;
        out[0] = (uint32_t)((int32_t)cp + delta);
        return 1;
    }
    const uint32_t *p = &asy_unicode_ext[r->ext];
    for (int k = 0; k < which; k++) p += 1 + p[0];
    int n = (int)p[0];
    for (int k = 0; k < n; k++) out[k] = p[1 + k];
    return n;
}

int asy_uc_upper(uint32_t cp, uint32_t out[3]) { return uc_map(cp, 0, out); }
int asy_uc_lower(uint32_t cp, uint32_t out[3]) { return uc_map(cp, 1, out); }
int asy_uc_title(uint32_t cp, uint32_t out[3]) { return uc_map(cp, 2, out); }
int asy_uc_fold(uint32_t cp, uint32_t out[3]) { return uc_map(cp, 3, out); }
