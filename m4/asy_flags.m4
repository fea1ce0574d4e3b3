# ASY_CHECK_CFLAG(FLAG, [ACTION-IF-OK], [ACTION-IF-NOT])
# ------------------------------------------------------
# Check whether the C compiler and linker accept FLAG (with -Werror, so that a flag the compiler
# only warns about counts as refused).
AC_DEFUN([ASY_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([asy_var], [asy_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [asy_var], [
    asy_save_CFLAGS=$CFLAGS
    asy_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    LDFLAGS="$LDFLAGS $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
                   [AS_VAR_SET([asy_var], [yes])], [AS_VAR_SET([asy_var], [no])])
    CFLAGS=$asy_save_CFLAGS
    LDFLAGS=$asy_save_LDFLAGS])
  AS_VAR_IF([asy_var], [yes], [$2], [$3])
  AS_VAR_POPDEF([asy_var])
])
