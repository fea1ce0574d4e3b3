/* mod_time.c - the time module: clocks (time, monotonic, perf_counter, process_time and
 * their _ns forms), the blocking sleep (it freezes every task, as in Python: the lessons'
 * "break it" exercises show exactly that), and localtime/gmtime/strftime/asctime with a
 * struct_time.
 */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "loop.h"
#include "vm.h"

/* The monotonic clocks follow the loop's virtual clock (asy test --virtual-time). */
static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    double off = id == CLOCK_MONOTONIC ? asy_loop_clock_offset() : 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 + off;
}

static AsyValue clock_ns(AsyVM *vm, clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    ASY_UNUSED(vm);
    int64_t off = id == CLOCK_MONOTONIC ? (int64_t)(asy_loop_clock_offset() * 1e9) : 0;
    return ASY_INT((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + off);
}

#define CLOCK_FN(fname, id)                                                                        \
    static AsyValue t_##fname(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {                  \
        ASY_UNUSED(argv);                                                                          \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_check_args(vm, #fname, argc, 0, 0)) return ASY_ERR;                               \
        return ASY_FLOAT(clock_seconds(id));                                                       \
    }                                                                                              \
    static AsyValue t_##fname##_ns(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {             \
        ASY_UNUSED(argv);                                                                          \
        ASY_UNUSED(kw);                                                                            \
        if (!asy_check_args(vm, #fname "_ns", argc, 0, 0)) return ASY_ERR;                         \
        return clock_ns(vm, id);                                                                   \
    }

CLOCK_FN(time, CLOCK_REALTIME)
CLOCK_FN(monotonic, CLOCK_MONOTONIC)
CLOCK_FN(perf_counter, CLOCK_MONOTONIC)
CLOCK_FN(process_time, CLOCK_PROCESS_CPUTIME_ID)

/* A number of seconds from an int or float (CPython's _PyTime_FromSecondsObject). */
static bool seconds_arg(AsyVM *vm, AsyValue v, double *out) {
    if (ASY_IS_FLOAT(v)) {
        *out = ASY_AS_FLOAT(v);
        if (isnan(*out)) {
            asy_raise(vm, ASY_EXC_ValueError, "Invalid value NaN (not a number)");
            return false;
        }
        return true;
    }
    if (ASY_IS_INTLIKE(v)) {
        *out = (double)ASY_AS_INT(v);
        return true;
    }
    if (asy_isinstance(vm, v, ASY_TYPE(vm, float)) || asy_is_int(vm, v))
        return asy_to_double(vm, v, out);
    asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as an integer",
              asy_type_name(vm, v));
    return false;
}

static AsyValue t_sleep(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "sleep", kw) || !asy_check_args(vm, "sleep", argc, 1, 1))
        return ASY_ERR;
    double secs;
    if (!seconds_arg(vm, argv[0], &secs)) return ASY_ERR;
    if (secs < 0) return asy_raise(vm, ASY_EXC_ValueError, "sleep length must be non-negative");
    if (vm->out) fflush(vm->out); /* what was printed before the pause shows before it */
    double t0 = asy_diag_blocking_begin(vm);
    double deadline = clock_seconds(CLOCK_MONOTONIC) + secs;
    bool interrupted = false;
    for (;;) {
        double left = deadline - clock_seconds(CLOCK_MONOTONIC);
        if (left <= 0) break;
        struct timespec ts;
        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        if (nanosleep(&ts, NULL) == 0) break;
        if (errno != EINTR) break;
        /* Interrupted: as PEP 475 says, the signal's handler runs (Ctrl-C raises
         * KeyboardInterrupt here), then the rest is slept. */
        if ((interrupted = asy_signals_check(vm) < 0)) break;
        if (vm->dump_pending) asy_diag_signal_dump(vm);
    }
    asy_diag_blocking_end(vm, "time.sleep()", t0);
    return interrupted ? ASY_ERR : ASY_NONE;
}

/* ---- struct_time ---- */

static const char *const tm_fields[] = {"tm_year", "tm_mon",  "tm_mday", "tm_hour", "tm_min",
                                        "tm_sec",  "tm_wday", "tm_yday", "tm_isdst"};
#define TM_NFIELDS 9

typedef struct {
    AsyObj hdr;
    int64_t f[TM_NFIELDS];
    long gmtoff;
    char zone[16];
} AsyStructTime;

static AsyType *struct_time_type(AsyVM *vm);

static AsyValue struct_time_new(AsyVM *vm, const struct tm *tm) {
    AsyStructTime *st = asy_gc_alloc(vm, struct_time_type(vm), sizeof(AsyStructTime));
    int64_t v[TM_NFIELDS] = {tm->tm_year + 1900,    tm->tm_mon + 1,  tm->tm_mday,
                             tm->tm_hour,           tm->tm_min,      tm->tm_sec,
                             (tm->tm_wday + 6) % 7, tm->tm_yday + 1, tm->tm_isdst};
    memcpy(st->f, v, sizeof v);
    st->gmtoff = tm->tm_gmtoff;
    snprintf(st->zone, sizeof st->zone, "%s", tm->tm_zone ? tm->tm_zone : "");
    return ASY_OBJ(st);
}

static AsyValue st_repr(AsyVM *vm, AsyValue self) {
    AsyStructTime *st = (AsyStructTime *)ASY_AS_OBJ(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_append_cstr(vm, &b, "time.struct_time(");
    for (int i = 0; i < TM_NFIELDS; i++)
        asy_strbuf_printf(vm, &b, "%s%s=%lld", i ? ", " : "", tm_fields[i], (long long)st->f[i]);
    asy_strbuf_append_cstr(vm, &b, ")");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue st_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    AsyStructTime *st = (AsyStructTime *)ASY_AS_OBJ(self);
    for (int i = 0; i < TM_NFIELDS; i++)
        if (strcmp(name->data, tm_fields[i]) == 0) return ASY_INT(st->f[i]);
    if (strcmp(name->data, "tm_zone") == 0) return ASY_OBJ(asy_str_from_cstr(vm, st->zone));
    if (strcmp(name->data, "tm_gmtoff") == 0) return ASY_INT(st->gmtoff);
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

static AsyValue st_getitem(AsyVM *vm, AsyValue self, AsyValue key) {
    AsyStructTime *st = (AsyStructTime *)ASY_AS_OBJ(self);
    int64_t i;
    if (!asy_index(vm, key, &i)) return ASY_ERR;
    if (i < 0) i += TM_NFIELDS;
    if (i < 0 || i >= TM_NFIELDS)
        return asy_raise(vm, ASY_EXC_IndexError, "tuple index out of range");
    return ASY_INT(st->f[i]);
}

static int64_t st_len(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    ASY_UNUSED(self);
    return TM_NFIELDS;
}

static AsyValue st_iter(AsyVM *vm, AsyValue self) {
    AsyStructTime *st = (AsyStructTime *)ASY_AS_OBJ(self);
    AsyValue items[TM_NFIELDS];
    for (int i = 0; i < TM_NFIELDS; i++)
        items[i] = ASY_INT(st->f[i]);
    AsyTuple *t = asy_tuple_from_array(vm, items, TM_NFIELDS);
    return t ? asy_iter(vm, ASY_OBJ(t)) : ASY_ERR;
}

/* The type lives in the time module's dict (so the GC keeps it) under struct_time. */
static AsyType *struct_time_type(AsyVM *vm) {
    AsyValue m = asy_dict_get_cstr(vm, vm->modules, "time");
    AsyValue t = ASY_IS_OBJ(m)
                     ? asy_dict_get_cstr(vm, ((AsyModule *)ASY_AS_OBJ(m))->dict, "struct_time")
                     : ASY_UNDEF;
    return ASY_IS_OBJ(t) ? (AsyType *)ASY_AS_OBJ(t) : ASY_TYPE(vm, object);
}

/* A struct tm from a struct_time or a 9-tuple; false with CPython's TypeError for fname. */
static bool tm_from_value(AsyVM *vm, AsyValue v, struct tm *tm, const char *fname) {
    int64_t f[TM_NFIELDS];
    memset(tm, 0, sizeof *tm);
    if (ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == struct_time_type(vm)) {
        AsyStructTime *st = (AsyStructTime *)ASY_AS_OBJ(v);
        memcpy(f, st->f, sizeof f);
        tm->tm_gmtoff = st->gmtoff;
    } else if (ASY_IS_OBJ(v) && ASY_AS_OBJ(v)->type == ASY_TYPE(vm, tuple)) {
        AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(v);
        if (t->len != TM_NFIELDS) {
            asy_raise(vm, ASY_EXC_TypeError, "%s(): illegal time tuple argument", fname);
            return false;
        }
        for (int i = 0; i < TM_NFIELDS; i++)
            if (!asy_index(vm, t->items[i], &f[i])) return false;
    } else {
        asy_raise(vm, ASY_EXC_TypeError, "Tuple or struct_time argument required");
        return false;
    }
    tm->tm_year = (int)(f[0] - 1900);
    tm->tm_mon = (int)(f[1] - 1);
    tm->tm_mday = (int)f[2];
    tm->tm_hour = (int)f[3];
    tm->tm_min = (int)f[4];
    tm->tm_sec = (int)f[5];
    tm->tm_wday = (int)((f[6] + 1) % 7);
    tm->tm_yday = (int)(f[7] - 1);
    tm->tm_isdst = (int)f[8];
    return true;
}

static AsyValue broken_down(AsyVM *vm, int argc, AsyValue *argv, bool local, const char *fname) {
    if (!asy_check_args(vm, fname, argc, 0, 1)) return ASY_ERR;
    double secs = clock_seconds(CLOCK_REALTIME);
    if (argc == 1 && !ASY_IS_NONE(argv[0]) && !seconds_arg(vm, argv[0], &secs)) return ASY_ERR;
    time_t t = (time_t)floor(secs);
    struct tm tm;
    if (!(local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm)))
        return asy_raise(vm, ASY_EXC_OverflowError, "timestamp out of range for platform time_t");
    return struct_time_new(vm, &tm);
}

static AsyValue t_localtime(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "localtime", kw)) return ASY_ERR;
    return broken_down(vm, argc, argv, true, "localtime");
}

static AsyValue t_gmtime(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "gmtime", kw)) return ASY_ERR;
    return broken_down(vm, argc, argv, false, "gmtime");
}

static AsyValue t_strftime(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "strftime", kw) || !asy_check_args(vm, "strftime", argc, 1, 2))
        return ASY_ERR;
    if (!asy_isinstance(vm, argv[0], ASY_TYPE(vm, str)))
        return asy_raise(vm, ASY_EXC_TypeError, "strftime() argument 1 must be str, not %s",
                         asy_type_name(vm, argv[0]));
    struct tm tm;
    if (argc == 2) {
        if (!tm_from_value(vm, argv[1], &tm, "strftime")) return ASY_ERR;
    } else {
        time_t now = time(NULL);
        localtime_r(&now, &tm);
    }
    const char *fmt = ((AsyStr *)ASY_AS_OBJ(argv[0]))->data;
    for (size_t cap = 256; cap <= ((size_t)1 << 20); cap *= 4) {
        char *buf = asy_mem_alloc(vm, cap);
        if (!buf) return ASY_ERR;
        size_t n = strftime(buf, cap, fmt, &tm);
        if (n > 0 || fmt[0] == '\0') {
            AsyStr *s = asy_str_new(vm, buf, n);
            asy_mem_free(vm, buf, cap);
            return s ? ASY_OBJ(s) : ASY_ERR;
        }
        asy_mem_free(vm, buf, cap);
    }
    return ASY_OBJ(vm->empty_str);
}

/* "Sun Sep  9 01:46:40 2001", as CPython's asctime (not C's, which ends in a newline). */
static AsyValue asctime_of(AsyVM *vm, const struct tm *tm) {
    static const char days[] = "MonTueWedThuFriSatSun",
                      months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int wd = (tm->tm_wday + 6) % 7, mon = tm->tm_mon >= 0 && tm->tm_mon < 12 ? tm->tm_mon : 0;
    return ASY_OBJ(asy_str_printf(vm, "%.3s %.3s%3d %.2d:%.2d:%.2d %d", days + wd * 3,
                                  months + mon * 3, tm->tm_mday, tm->tm_hour, tm->tm_min,
                                  tm->tm_sec, tm->tm_year + 1900));
}

static AsyValue t_asctime(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "asctime", kw) || !asy_check_args(vm, "asctime", argc, 0, 1))
        return ASY_ERR;
    struct tm tm;
    if (argc == 1) {
        if (!tm_from_value(vm, argv[0], &tm, "asctime")) return ASY_ERR;
    } else {
        time_t now = time(NULL);
        localtime_r(&now, &tm);
    }
    return asctime_of(vm, &tm);
}

/* ctime(secs=None): asctime(localtime(secs)). */
static AsyValue t_ctime(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "ctime", kw)) return ASY_ERR;
    AsyValue st = broken_down(vm, argc, argv, true, "ctime");
    if (ASY_IS_ERR(st)) return st;
    struct tm tm;
    return tm_from_value(vm, st, &tm, "ctime") ? asctime_of(vm, &tm) : ASY_ERR;
}

/* mktime(t): the inverse of localtime, as a float. */
static AsyValue t_mktime(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_nokw(vm, "mktime", kw) || !asy_check_args(vm, "mktime", argc, 1, 1))
        return ASY_ERR;
    struct tm tm;
    if (!tm_from_value(vm, argv[0], &tm, "mktime")) return ASY_ERR;
    tm.tm_wday = -1; /* mktime sets it on success: -1 is an error, not the time -1 */
    time_t t = mktime(&tm);
    if (t == (time_t)-1 && tm.tm_wday == -1)
        return asy_raise(vm, ASY_EXC_OverflowError, "mktime argument out of range");
    return ASY_FLOAT((double)t);
}

static const AsyMethodDef time_functions[] = {
    {"time", t_time, 0, "Return the current time in seconds since the Epoch."},
    {"time_ns", t_time_ns, 0, "Return the current time in nanoseconds since the Epoch."},
    {"monotonic", t_monotonic, 0, "Monotonic clock, cannot go backward."},
    {"monotonic_ns", t_monotonic_ns, 0, "Monotonic clock, as nanoseconds."},
    {"perf_counter", t_perf_counter, 0, "Performance counter for benchmarking."},
    {"perf_counter_ns", t_perf_counter_ns, 0, "Performance counter, as nanoseconds."},
    {"process_time", t_process_time, 0, "Process time for profiling: sum of kernel and user CPU."},
    {"process_time_ns", t_process_time_ns, 0, "Process time, as nanoseconds."},
    {"sleep", t_sleep, 0, "Delay execution for a given number of seconds (blocks everything)."},
    {"localtime", t_localtime, 0, "Convert seconds since the Epoch to local time."},
    {"gmtime", t_gmtime, 0, "Convert seconds since the Epoch to UTC."},
    {"strftime", t_strftime, 0, "Convert a time tuple to a string according to a format."},
    {"asctime", t_asctime, 0, "Convert a time tuple to a string."},
    {"ctime", t_ctime, 0, "Convert a time in seconds since the Epoch to a string."},
    {"mktime", t_mktime, 0, "Convert a time tuple in local time to seconds since the Epoch."},
    {NULL, NULL, 0, NULL},
};

void asy_mod_time_init(AsyVM *vm) {
    AsyModule *m = asy_module_new(vm, "time");
    asy_module_add_functions(vm, m, time_functions);
    AsyType *st =
        asy_type_new_builtin(vm, "struct_time", ASY_TYPE(vm, object), sizeof(AsyStructTime));
    st->module = asy_str_intern_cstr(vm, "time");
    st->repr = st_repr;
    st->getattr = st_getattr;
    st->getitem = st_getitem;
    st->len = st_len;
    st->iter = st_iter;
    asy_type_ready(vm, st);
    asy_dict_set_cstr(vm, m->dict, "struct_time", ASY_OBJ(st));
    /* the local zone, as CPython's init_timezone reads it (glibc's tzset globals) */
    tzset();
    asy_dict_set_cstr(vm, m->dict, "timezone", ASY_INT(timezone));
    asy_dict_set_cstr(vm, m->dict, "altzone", ASY_INT(daylight ? timezone - 3600 : timezone));
    asy_dict_set_cstr(vm, m->dict, "daylight", ASY_INT(daylight != 0));
    AsyValue names[2] = {ASY_OBJ(asy_str_from_cstr(vm, tzname[0])),
                         ASY_OBJ(asy_str_from_cstr(vm, tzname[1]))};
    asy_dict_set_cstr(vm, m->dict, "tzname", ASY_OBJ(asy_tuple_from_array(vm, names, 2)));
    asy_module_register(vm, m);
}
