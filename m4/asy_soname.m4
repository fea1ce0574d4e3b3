# ASY_LIB_SONAME(MACRO, LIBS, FUNCTION, PATTERN)
# ----------------------------------------------
# Find the name the dynamic loader knows a library by (its SONAME, e.g. libssl.so.3), for
# a library asy opens with dlopen on first use instead of linking (src/dynlib.c): link a
# program calling FUNCTION with LIBS, and take the NEEDED entry of the result that matches
# the shell PATTERN. Defines MACRO to it as a C string; stops configure when the link fails.
AC_DEFUN([ASY_LIB_SONAME], [
  AC_REQUIRE([ASY_PROG_OBJDUMP])
  AS_VAR_PUSHDEF([asy_var], [asy_cv_soname_$1])
  AC_CACHE_CHECK([the shared library name for $3], [asy_var], [
    asy_save_LIBS=$LIBS
    LIBS="$2 $LIBS"
    AS_VAR_SET([asy_var], [no])
    AC_LINK_IFELSE([AC_LANG_CALL([], [$3])], [
      for asy_lib in `$OBJDUMP -p conftest$EXEEXT | $SED -n 's/^ *NEEDED *//p'`; do
        case $asy_lib in
          $4) AS_VAR_SET([asy_var], [$asy_lib]); break ;;
        esac
      done])
    LIBS=$asy_save_LIBS])
  AS_VAR_IF([asy_var], [no],
    [AC_MSG_ERROR([cannot link $3 with $2, or find its shared library; see config.log])])
  AC_DEFINE_UNQUOTED([$1], ["AS_VAR_GET([asy_var])"], [The shared library that holds $3, opened on first use.])
  AS_VAR_POPDEF([asy_var])
])

# ASY_PROG_OBJDUMP: objdump (binutils) reads the NEEDED entries for ASY_LIB_SONAME.
AC_DEFUN([ASY_PROG_OBJDUMP], [
  AC_CHECK_TOOL([OBJDUMP], [objdump], [no])
  AS_IF([test "x$OBJDUMP" = xno],
    [AC_MSG_ERROR([objdump not found; install the Debian package binutils])])
])
