/* testrunner.h - `asy test`: finds test_*.asy files, runs their test_* functions and
 * reports (testrunner.c). */
#ifndef ASY_TESTRUNNER_H
#define ASY_TESTRUNNER_H

/* The `asy test` command: argv[0] is "test", then options and paths. Returns the exit
 * status: 0 when nothing failed, 1 when a test failed, 2 for a usage error. */
int asy_test_main(int argc, char **argv);

#endif
