/* libFuzzer harness: the HTTP parsing path, both ways, fed as a peer would feed it. Each
 * input is sent over real sockets on 127.0.0.1 (asyncio streams, so bufferevents) twice:
 * - as a request to an aiohttp.web server whose handler reads every part of it (evhttp's
 *   request parser, then http_server.c's Request: path, query, headers, cookies, body);
 * - as the response of a peer to an aiohttp client's GET (evhttp's response parser, then
 *   http_client.c's ClientResponse: status, headers, charset, body, text, json).
 * The peer half-closes after sending, so a truncated message ends at once; the whole run
 * is bounded by wait_for and ClientTimeout. Exceptions a hostile peer can cause are caught
 * in the program; anything else (a TypeError, an AttributeError...) escapes and aborts. */
#include "fuzz_common.h"

static const char program[] =
    "import asyncio\n"
    "import aiohttp\n"
    "from aiohttp import web\n"
    "\n"
    "EXPECTED = (ValueError, LookupError, aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)\n"
    "unexpected = []\n"
    "\n"
    "\n"
    "def touch(*values):\n"
    "    for v in values:\n"
    "        repr(v)\n"
    "\n"
    "\n"
    "async def handle(request):\n"
    "    try:\n"
    "        touch(request.method, request.path, request.path_qs, request.raw_path, request.query_string,\n"
    "              request.version, request.content_type, request.charset, request.content_length,\n"
    "              request.host, request.keep_alive, request.has_body, request.can_read_body,\n"
    "              request.scheme, request.secure, request.remote, dict(request.match_info),\n"
    "              list(request.headers.items()), list(request.query.items()), request.cookies,\n"
    "              request.rel_url, request.url)\n"
    "        touch(await request.read(), await request.post())\n"
    "        try:\n"
    "            touch(await request.text(), await request.json())\n"
    "        except EXPECTED:\n"
    "            pass\n"
    "    except EXPECTED:\n"
    "        pass\n"
    "    except Exception as e:\n"
    "        unexpected.append(e)\n"
    "    return web.Response(text=\"ok\", headers={\"X-Path\": request.path_qs})\n"
    "\n"
    "\n"
    "async def as_server(port, data):\n"
    "    # the fuzz bytes as a request, sent as a client would, half-closed, the answer read\n"
    "    reader, writer = await asyncio.open_connection(\"127.0.0.1\", port)\n"
    "    writer.write(data)\n"
    "    writer.write_eof()\n"
    "    try:\n"
    "        await reader.read()\n"
    "    except ConnectionError:\n"
    "        pass\n"
    "    writer.close()\n"
    "\n"
    "\n"
    "async def peer(reader, writer):\n"
    "    # the fuzz bytes as a response, once the request's head has arrived\n"
    "    try:\n"
    "        await reader.readuntil(b\"\\r\\n\\r\\n\")\n"
    "        writer.write(doc)\n"
    "        await writer.drain()\n"
    "    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):\n"
    "        pass\n"
    "    writer.close()\n"
    "\n"
    "\n"
    "async def as_client(port):\n"
    "    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as s:\n"
    "        try:\n"
    "            async with s.get(f\"http://127.0.0.1:{port}/x?a=1\", allow_redirects=False) as r:\n"
    "                touch(r.status, r.reason, r.ok, r.version, r.content_type, r.charset,\n"
    "                      r.content_length, list(r.headers.items()), r.url, r.request_info)\n"
    "                touch(await r.read())\n"
    "                try:\n"
    "                    touch(await r.text(), await r.json(content_type=None))\n"
    "                except EXPECTED:\n"
    "                    pass\n"
    "                r.raise_for_status()\n"
    "        except EXPECTED:\n"
    "            pass\n"
    "\n"
    "\n"
    "async def main():\n"
    "    app = web.Application()\n"
    "    app.router.add_route(\"*\", \"/{name}\", handle)\n"
    "    app.router.add_get(\"/\", handle)\n"
    "    runner = web.AppRunner(app)\n"
    "    await runner.setup()\n"
    "    site = web.TCPSite(runner, \"127.0.0.1\", 0)\n"
    "    await site.start()\n"
    "    server = await asyncio.start_server(peer, \"127.0.0.1\", 0)\n"
    "    peer_port = server.sockets[0].getsockname()[1]\n"
    "    try:\n"
    "        await asyncio.wait_for(asyncio.gather(as_server(runner.addresses[0][1], doc),\n"
    "                                              as_client(peer_port)), 5)\n"
    "    finally:\n"
    "        server.close()\n"
    "        await server.wait_closed()\n"
    "        await runner.cleanup()\n"
    "    if unexpected:\n"
    "        raise unexpected[0]\n"
    "\n"
    "\n"
    "asyncio.run(main())\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const blocked[] = {"os", "time", NULL};
    AsyVM *vm = fuzz_get_vm_without(blocked);
    static AsyCode *code;
    static AsyDict *globals;
    if (!code) {
        code = fuzz_compile_once(vm, program);
        globals = asy_dict_new(vm);
        asy_dict_set_cstr(vm, vm->modules, "__fuzz_globals__", ASY_OBJ(globals));
    }
    asy_dict_set_cstr(vm, globals, "doc", ASY_OBJ(asy_bytes_new(vm, data, size)));
    AsyValue r = asy_vm_run_code(vm, code, globals);
    if (ASY_IS_ERR(r)) {
        fflush(stdout);
        asy_vm_print_exception(vm); /* what escaped, before the abort that reports it */
        abort();
    }
    fuzz_after(vm);
    return 0;
}
