/* opcodes.h - the instruction set, listed once. The X-macro feeds the compiler (compiler.c),
 * the disassembler (debug.c) and the dispatch table (vm.c).
 *
 * An instruction is one uint32_t: the opcode in the low 8 bits, the argument in the high
 * 24 bits (ASY_OP / ASY_ARG). Jump targets are absolute instruction indexes.
 *
 * A frame's slots on its fiber's value stack: [locals (nlocals) | cells (ncells) |
 * frees (nfree) | evaluation stack]. "cell i" in LOAD_DEREF & co. indexes cells then frees.
 *
 * In the stack effects below the top of the stack is on the right: "a b -- c" pops b
 * (TOS) and a (TOS1) and pushes c. Every opcode that can fail raises through the frame's
 * handler blocks (see SETUP_FINALLY); a traceback entry records the failing instruction.
 *
 * X(NAME, "stack effect and meaning")
 */
#ifndef ASY_OPCODES_H
#define ASY_OPCODES_H

#define ASY_OPCODES(X)                                                                    \
    X(NOP, "--")                                                                          \
    X(POP_TOP, "a -- ; arg 1: an expression statement's value (unawaited.c checks it)")      \
    X(COPY, "a_n .. a_1 -- a_n .. a_1 a_n: push a copy of the arg-th item (1 = TOS)")    \
    X(SWAP, "swap TOS with the arg-th item (2 = TOS1)")                                   \
    X(LOAD_CONST, "-- consts[arg]")                                                       \
    X(LOAD_FAST, "-- local[arg]; UnboundLocalError if unbound")                          \
    X(STORE_FAST, "v -- ; local[arg] = v")                                                \
    X(DELETE_FAST, "-- ; unbind local[arg]; UnboundLocalError if already unbound")        \
    X(LOAD_DEREF, "-- cell[arg].value; UnboundLocalError (cells) or NameError 'free "   \
                  "variable referenced before assignment' (frees) if empty")              \
    X(STORE_DEREF, "v -- ; cell[arg].value = v")                                          \
    X(DELETE_DEREF, "-- ; empty cell[arg]")                                               \
    X(LOAD_CLOSURE, "-- cell[arg] itself (to build a closure tuple)")                    \
    X(LOAD_CLASSDEREF, "-- v: in a class body, look the free variable's name up in the " \
                       "namespace first, then in cell[arg]")                              \
    X(LOAD_GLOBAL, "-- v: globals[names[arg]], then builtins; NameError")                 \
    X(STORE_GLOBAL, "v -- ; globals[names[arg]] = v")                                     \
    X(DELETE_GLOBAL, "-- ; del globals[names[arg]]; NameError if absent")                 \
    X(LOAD_NAME, "-- v: class body: namespace, then globals, then builtins")              \
    X(STORE_NAME, "v -- ; namespace[names[arg]] = v")                                     \
    X(DELETE_NAME, "-- ; del namespace[names[arg]]")                                      \
    X(LOAD_ATTR, "obj -- obj.names[arg]")                                                 \
    X(STORE_ATTR, "v obj -- ; obj.names[arg] = v")                                        \
    X(DELETE_ATTR, "obj -- ; del obj.names[arg]")                                         \
    X(LOAD_METHOD, "obj -- f self: when names[arg] is a plain function found on the "    \
                   "type (not shadowed by the instance dict), push it unbound and obj; "  \
                   "else push obj.names[arg] and UNDEF. Pairs with CALL_METHOD.")         \
    X(BINARY_SUBSCR, "obj key -- obj[key]")                                               \
    X(STORE_SUBSCR, "v obj key -- ; obj[key] = v")                                        \
    X(DELETE_SUBSCR, "obj key -- ; del obj[key]")                                         \
    X(BINARY_OP, "a b -- a op b; arg is an AsyBinOp (in-place forms included)")         \
    X(UNARY_NEG, "a -- -a")                                                               \
    X(UNARY_POS, "a -- +a")                                                               \
    X(UNARY_INVERT, "a -- ~a")                                                            \
    X(UNARY_NOT, "a -- not a")                                                            \
    X(COMPARE_OP, "a b -- a op b; arg is an AsyCmpOp")                                    \
    X(IS_OP, "a b -- a is b (arg 1: is not)")                                             \
    X(CONTAINS_OP, "a b -- a in b (arg 1: not in)")                                       \
    X(JUMP, "-- ; jump to arg (a backward jump is a GC safepoint)")                       \
    X(POP_JUMP_IF_FALSE, "v -- ; jump to arg if not v")                                   \
    X(POP_JUMP_IF_TRUE, "v -- ; jump to arg if v")                                        \
    X(JUMP_IF_FALSE_OR_POP, "v -- v (jump to arg, keeping v, if not v) | -- (pop v)")     \
    X(JUMP_IF_TRUE_OR_POP, "v -- v (jump to arg, keeping v, if v) | -- (pop v)")          \
    X(GET_ITER, "v -- iter(v) (arg 1: v is the call's result a loop owns, see CALL)")    \
    X(FOR_ITER, "it -- it next(it) | it -- (exhausted: pop it, jump to arg)")            \
    X(BUILD_TUPLE, "a_1 .. a_arg -- (a_1, .., a_arg)")                                    \
    X(BUILD_LIST, "a_1 .. a_arg -- [a_1, .., a_arg]")                                     \
    X(BUILD_SET, "a_1 .. a_arg -- {a_1, .., a_arg}")                                      \
    X(BUILD_MAP, "k_1 v_1 .. k_arg v_arg -- {k_1: v_1, ..}")                             \
    X(BUILD_STRING, "s_1 .. s_arg -- s_1 + .. + s_arg (each a str, or an int that "     \
                    "FORMAT_VALUE left for it, written in decimal)")                      \
    X(BUILD_SLICE, "start stop -- slice | start stop step -- slice (arg 2 or 3)")        \
    X(LIST_APPEND, "list .. (arg-1 items) v -- list ..; list.append(v), list is the "    \
                   "arg-th item below v")                                                 \
    X(SET_ADD, "set .. v -- set ..; as LIST_APPEND")                                      \
    X(MAP_ADD, "dict .. k v -- dict ..; dict[k] = v, dict arg-th below k")               \
    X(LIST_EXTEND, "list .. it -- list ..; list.extend(it) ([*a, *b], f(*a))")           \
    X(SET_UPDATE, "set .. it -- set ..; set.update(it)")                                  \
    X(DICT_UPDATE, "dict .. m -- dict ..; dict.update(m) ({**a}); TypeError "            \
                   "\"'int' object is not a mapping\"")                                   \
    X(DICT_MERGE, "dict .. m -- dict ..; as DICT_UPDATE but a repeated key is TypeError " \
                  "'f() got multiple values for keyword argument 'k'' (the function is " \
                  "the item below the dict's caller args: see CALL_EX)")                  \
    X(LIST_TO_TUPLE, "list -- tuple(list)")                                               \
    X(UNPACK_SEQUENCE, "seq -- v_arg .. v_1 (v_1 on top); ValueError 'too many values "  \
                       "to unpack (expected n)' / 'not enough values to unpack "          \
                       "(expected n, got m)'")                                            \
    X(UNPACK_EX, "seq -- after.. list before..: arg = before | after << 8 for "          \
                 "`a, *b, c = seq`; the first target ends on top")                       \
    X(FORMAT_VALUE, "v -- str | v spec -- str: arg & 3: 0 none, 1 str, 2 repr, 3 ascii; " \
                    "arg & 4: a format spec (str) is on the stack; arg & 8: a "          \
                    "BUILD_STRING takes the result, so an int (no spec, no !r/!a) may "  \
                    "stay an int")                                                        \
    X(CALL, "f a_1 .. a_arg -- f(a_1, .., a_arg); every CALL* followed by a GET_ITER or " \
            "GET_AITER of arg 1 marks a generator a generator function's call made as " \
            "owned by the loop (AsyGenerator.owned)")                                   \
    X(CALL_KW, "f a_1 .. a_n names -- f(...): names is a tuple of str naming the last "  \
               "len(names) of the arg arguments (arg counts all of them)")               \
    X(CALL_EX, "f args -- f(*args) | f args kwargs -- f(*args, **kwargs) (arg & 1); "    \
               "args is a tuple (or, for f(*x), any iterable: TypeError 'f() argument "  \
               "after * must be an iterable, not int'), kwargs a dict")                  \
    X(CALL_METHOD, "f self a_1 .. a_arg -- result: as CALL with self prepended unless "  \
                   "self is UNDEF (see LOAD_METHOD)")                                     \
    X(CALL_METHOD_KW, "f self a_1 .. a_n names -- result: CALL_KW after LOAD_METHOD")     \
    X(MAKE_FUNCTION, "[defaults] [kwdefaults] [closure] code -- function: arg & 1 a "    \
                     "tuple of positional defaults, & 2 a dict of keyword-only defaults, " \
                     "& 4 a tuple of cells; name and qualname come from code")           \
    X(RETURN_VALUE, "v -- ; return v to the caller (a GC safepoint)")                    \
    X(BUILD_CLASS, "body name base_1 .. base_n [kw] -- class: run the function body "    \
                   "with a fresh dict as its namespace (LOAD_NAME/STORE_NAME), then "     \
                   "asy_class_new_kw(name, bases, ns, kw). n is arg & 0xFFFF; with "      \
                   "ASY_BUILD_CLASS_KW in arg a dict of the class keywords is on top "   \
                   "(for __init_subclass__). The body returns None or the __class__ "     \
                   "cell, which is then set to the new class (zero-arg super)")           \
    X(SETUP_FINALLY, "-- ; push a handler block: if an exception is raised before the "  \
                     "matching POP_BLOCK, the stack is cut back to its depth here, "      \
                     "`prev exc` are pushed (prev: the exception being handled before, "  \
                     "or None; exc: the new one, now the one being handled) and control " \
                     "jumps to arg")                                                      \
    X(POP_BLOCK, "-- ; pop the innermost handler block")                                  \
    X(POP_EXCEPT, "prev -- ; the exception being handled becomes prev again")             \
    X(CHECK_EXC_MATCH, "exc type -- exc bool: isinstance(exc, type) where type is an "   \
                       "exception class or tuple of them; TypeError 'catching classes "   \
                       "that do not inherit from BaseException is not allowed'")          \
    X(RERAISE, "exc -- ; raise exc again, keeping its traceback")                        \
    X(CHECK_EG_MATCH, "exc type -- rest match: an except* clause takes its part of exc "  \
                      "(match, now the exception being handled; rest, what is left, or " \
                      "None) | exc type -- exc None when nothing matches; TypeError for " \
                      "ExceptionGroup classes (excgroup.c)")                             \
    X(PREP_RERAISE_STAR, "orig excs -- exc: what leaves an except* statement, made from " \
                         "what its clauses raised and the unmatched rest (excs' last); "  \
                         "None when everything was handled")                              \
    X(RAISE_VARARGS, "-- (arg 0: re-raise the exception being handled, RuntimeError "    \
                     "'No active exception to reraise') | exc -- (arg 1) | "             \
                     "exc cause -- (arg 2, raise exc from cause)")                        \
    X(LOAD_ASSERTION_ERROR, "-- AssertionError (the class)")                              \
    X(BEFORE_WITH, "mgr -- exit enter_result: exit is mgr.__exit__ bound; "              \
                   "AttributeError/TypeError as CPython 3.11 when mgr is not a context "  \
                   "manager")                                                             \
    X(WITH_EXCEPT_START, "exit prev exc -- exit prev exc res: res = exit(type(exc), "    \
                         "exc, exc.__traceback__)")                                       \
    X(BEFORE_ASYNC_WITH, "mgr -- aexit awaitable: aexit is mgr.__aexit__ bound, "        \
                         "awaitable the result of mgr.__aenter__()")                     \
    X(GET_AWAITABLE, "v -- awaitable: a coroutine as is, else v.__await__(); TypeError " \
                     "\"object int can't be used in 'await' expression\"")              \
    X(AWAIT, "awaitable -- result: run the awaitable to completion inside this task; "   \
             "the task suspends (the C stack unwinds to the scheduler) while it waits, "  \
             "and this instruction re-executes when the task resumes")                   \
    X(YIELD_VALUE, "v -- sent: suspend the generator, handing v to whoever resumed it; " \
                   "resumes with the value sent (None for next())")                      \
    X(GET_YIELD_FROM_ITER, "v -- iter(v) (a generator as is)")                           \
    X(YIELD_FROM, "it sent -- result: send `sent` into it; while it yields, this "       \
                  "generator yields the same value (re-executing YIELD_FROM on resume "  \
                  "with the new sent value); when it finishes, pop both and push its "   \
                  "return value")                                                        \
    X(GET_AITER, "v -- v.__aiter__() (arg 1: as GET_ITER's)")                            \
    X(GET_ANEXT, "ait -- ait awaitable: awaitable = ait.__anext__()")                    \
    X(END_ASYNC_FOR, "ait prev exc -- : if exc is StopAsyncIteration, pop the handler " \
                     "state and the iterator and continue after the loop, else re-raise") \
    X(IMPORT_NAME, "fromlist -- module: import names[arg] (fromlist None or a tuple)")  \
    X(IMPORT_FROM, "module -- module module.names[arg]; ImportError \"cannot import "    \
                   "name 'x' from 'm' (path)\"")                                         \
    X(IMPORT_STAR, "module -- ; copy the module's public names into the namespace")      \
    X(PRINT_EXPR, "v -- ; REPL: print repr(v) unless None, and set builtins._")          \
    X(SETUP_ANNOTATIONS, "-- ; ensure __annotations__ exists in the namespace")           \
    X(POP_ITER, "it -- ; a for (arg 1: async for) loop left early drops its iterator: a " \
                "generator that only it referred to is finalized (asy_gen_drop_owned)")  \
    X(RETURN_GENERATOR, "reserved")

typedef enum {
#define ASY_X_ENUM(name, doc) ASY_OP_##name,
    ASY_OPCODES(ASY_X_ENUM)
#undef ASY_X_ENUM
    ASY_OPCODE_COUNT
} AsyOpcode;

#define ASY_OP(ins) ((AsyOpcode)((ins) & 0xFFu))
#define ASY_ARG(ins) ((int32_t)((ins) >> 8))
#define ASY_INS(op, arg) ((uint32_t)(op) | ((uint32_t)(arg) << 8))
#define ASY_MAX_ARG ((1 << 24) - 1)

/* The opcode names, for the disassembler and error messages (debug.c). */
extern const char *const asy_opcode_names[ASY_OPCODE_COUNT];

/* BUILD_CLASS's flag: the class statement has keywords (a dict above the bases). */
#define ASY_BUILD_CLASS_KW (1 << 16)

/* FORMAT_VALUE's flag: a BUILD_STRING joins its result (an f-string of several pieces). */
#define ASY_FORMAT_JOINED 8

#endif
