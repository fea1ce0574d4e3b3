/* repl.h - the interactive prompt (repl.c). */
#ifndef ASY_REPL_H
#define ASY_REPL_H

#include "vm.h"

/* Run the REPL on the terminal until Ctrl-D or sys.exit(): line editing and history with
 * libedit, multi-line blocks, results echoed with repr, `await` at the prompt, and the
 * event loop running while the user types. Returns ASY_NONE, or ASY_ERR with SystemExit
 * (or a fatal error) pending. */
AsyValue asy_repl_run(AsyVM *vm);

#endif
