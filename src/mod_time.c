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

#include "compiler.h"
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

#define TM_NFIELDS 9

/* time.struct_time, CPython's struct sequence: a tuple of the nine tm_ fields, with
 * tm_zone and tm_gmtoff as attributes only, made from any 9- to 11-sequence (the last two
 * default to a dict's items of those names, or None). Written in asy and made on first
 * use of the name (localtime and its kin make it too), as sys.version_info is. */
static const char struct_time_src[] =
    "class struct_time(tuple):\n"
    "    n_sequence_fields = 9\n"
    "    n_fields = 11\n"
    "    n_unnamed_fields = 0\n"
    "    __match_args__ = ('tm_year', 'tm_mon', 'tm_mday', 'tm_hour', 'tm_min', 'tm_sec',\n"
    "                      'tm_wday', 'tm_yday', 'tm_isdst')\n"
    "\n"
    "    _missing = object()\n"
    "\n"
    "    def __new__(cls, sequence=_missing, dict=None):\n"
    "        if sequence is struct_time._missing:\n"
    "            raise TypeError(\"structseq() missing required argument 'sequence' (pos 1)\")\n"
    "        try:\n"
    "            it = iter(sequence)\n"
    "        except TypeError:\n"
    "            raise TypeError('constructor requires a sequence') from None\n"
    "        seq = tuple(it)\n"
    "        n = len(seq)\n"
    "        if n < 9:\n"
    "            raise TypeError('time.struct_time() takes an at least 9-sequence '\n"
    "                            '(%d-sequence given)' % n)\n"
    "        if n > 11:\n"
    "            raise TypeError('time.struct_time() takes an at most 11-sequence '\n"
    "                            '(%d-sequence given)' % n)\n"
    "        if dict is not None and not isinstance(dict, type({})):\n"
    "            raise TypeError('time.struct_time() takes a dict as second arg, if any')\n"
    "        extra = tuple(seq[i] if i < n else None if dict is None else dict.get(name)\n"
    "                      for i, name in ((9, 'tm_zone'), (10, 'tm_gmtoff')))\n"
    "        self = tuple.__new__(cls, seq[:9])\n"
    "        object.__setattr__(self, '_extra', extra)\n"
    "        return self\n"
    "\n"
    "    def __init_subclass__(cls, **kw):\n"
    "        raise TypeError(\"type 'time.struct_time' is not an acceptable base type\")\n"
    "\n"
    "    def __setattr__(self, name, value):\n"
    "        if name in struct_time.__match_args__ or name in ('tm_zone', 'tm_gmtoff'):\n"
    "            raise AttributeError('readonly attribute')\n"
    "        raise AttributeError(\"'time.struct_time' object has no attribute '%s'\" % name)\n"
    "\n"
    "    __delattr__ = lambda self, name: struct_time.__setattr__(self, name, None)\n"
    "\n"
    "    def __repr__(self):\n"
    "        return 'time.struct_time(%s)' % ', '.join(\n"
    "            '%s=%r' % f for f in zip(struct_time.__match_args__, self))\n"
    "\n"
    "    def __reduce__(self):\n"
    "        return (struct_time, (tuple(self), {'tm_zone': self._extra[0],\n"
    "                                            'tm_gmtoff': self._extra[1]}))\n"
    "\n"
    "    tm_zone = property(lambda self: self._extra[0])\n"
    "    tm_gmtoff = property(lambda self: self._extra[1])\n"
    "\n"
    "\n"
    "for _i, _n in enumerate(struct_time.__match_args__):\n"
    "    setattr(struct_time, _n, property(lambda self, _i=_i: self[_i]))\n"
    "del _i, _n\n";

static void make_struct_time(AsyVM *vm, AsyModule *m) {
    asy_vm_exec(vm, struct_time_src, sizeof struct_time_src - 1, "<time>", m->dict);
}

static const char *const struct_time_names[] = {"struct_time", NULL};
static const AsyLazyPart time_parts[] = {{struct_time_names, make_struct_time}, {NULL, NULL}};

/* The struct_time class, made now if `make` and it is not yet (ERR with an exception
 * pending when that fails); UNDEF when not made. */
static AsyValue struct_time_class(AsyVM *vm, bool make) {
    AsyValue mv = asy_dict_get_cstr(vm, vm->modules, "time");
    if (ASY_IS_UNDEF(mv)) return asy_raise(vm, ASY_EXC_SystemError, "time is not in sys.modules");
    AsyModule *m = (AsyModule *)ASY_AS_OBJ(mv);
    if (make && asy_module_make_for(vm, m, "struct_time") < 0) return ASY_ERR;
    AsyValue cls = asy_dict_get_cstr(vm, m->dict, "struct_time");
    if (make && ASY_IS_UNDEF(cls))
        return asy_raise(vm, ASY_EXC_SystemError, "time.struct_time is missing");
    return cls;
}

static AsyValue struct_time_new(AsyVM *vm, const struct tm *tm) {
    AsyValue cls = struct_time_class(vm, true);
    if (ASY_IS_ERR(cls)) return ASY_ERR;
    AsyValue f[TM_NFIELDS + 2] = {ASY_INT(tm->tm_year + 1900L),
                                  ASY_INT(tm->tm_mon + 1),
                                  ASY_INT(tm->tm_mday),
                                  ASY_INT(tm->tm_hour),
                                  ASY_INT(tm->tm_min),
                                  ASY_INT(tm->tm_sec),
                                  ASY_INT((tm->tm_wday + 6) % 7),
                                  ASY_INT(tm->tm_yday + 1),
                                  ASY_INT(tm->tm_isdst),
                                  ASY_NONE,
                                  ASY_INT(tm->tm_gmtoff)};
    AsyStr *zone = asy_str_from_cstr(vm, tm->tm_zone ? tm->tm_zone : "");
    if (!zone) return ASY_ERR;
    f[TM_NFIELDS] = ASY_OBJ(zone);
    return asy_call_with_tuple(vm, cls, f, TM_NFIELDS + 2);
}

/* A struct tm from a tuple of nine ints (a struct_time's tm_zone and tm_gmtoff too, as
 * CPython's gettmarg); false with CPython's TypeError for fname. The zone points into the
 * struct_time's str, which the caller's argument keeps. */
static bool tm_from_value(AsyVM *vm, AsyValue v, struct tm *tm, const char *fname) {
    int64_t f[TM_NFIELDS];
    memset(tm, 0, sizeof *tm);
    if (!(ASY_IS_OBJ(v) && asy_isinstance(vm, v, ASY_TYPE(vm, tuple)))) {
        asy_raise(vm, ASY_EXC_TypeError, "Tuple or struct_time argument required");
        return false;
    }
    AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(v);
    if (t->len != TM_NFIELDS) {
        asy_raise(vm, ASY_EXC_TypeError, "%s(): illegal time tuple argument", fname);
        return false;
    }
    for (int i = 0; i < TM_NFIELDS; i++)
        if (!asy_index(vm, t->items[i], &f[i])) return false;
    AsyValue cls = struct_time_class(vm, false);
    if (ASY_IS_ERR(cls)) return false;
    if (ASY_IS_OBJ(cls) && ASY_AS_OBJ(v)->type == (AsyType *)ASY_AS_OBJ(cls)) {
        AsyValue zone = asy_getattr(vm, v, asy_str_intern_cstr(vm, "tm_zone"));
        if (ASY_IS_ERR(zone)) return false;
        if (ASY_IS_OBJ(zone) && asy_isinstance(vm, zone, ASY_TYPE(vm, str)))
            tm->tm_zone = ((AsyStr *)ASY_AS_OBJ(zone))->data;
        AsyValue off = asy_getattr(vm, v, asy_str_intern_cstr(vm, "tm_gmtoff"));
        if (ASY_IS_ERR(off)) return false;
        int64_t gmtoff;
        if (!ASY_IS_NONE(off) && !asy_index(vm, off, &gmtoff)) return false;
        if (!ASY_IS_NONE(off)) tm->tm_gmtoff = (long)gmtoff;
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
    asy_dict_set_str(vm, m->dict, ASY_S(vm, __builtins__), ASY_OBJ(vm->builtins));
    asy_module_set_lazy(m, time_parts);
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
