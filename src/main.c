/* Stub entry point, to be replaced by the real command line (asy FILE, -e CODE, -, the REPL).
 * It exists so the build and test infrastructure can be exercised before the interpreter is. */
#include "config.h"

#include <stdio.h>

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fputs("asy: not built yet\n", stderr);
    return 2;
}
