#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that holds back one reply in EVERY by DELAY_MS: bench/distributed.sh
puts it in front of one member to measure the smart client's hedging against a member that is
sometimes slow. A reply is the first bytes the server sends after the client sent some; the
count runs over all connections, so exactly one reply in EVERY is late, wherever it goes.

Usage: slow_proxy.py LISTEN_PORT UPSTREAM_PORT EVERY DELAY_MS
Prints "delayed N of M replies" when it gets SIGTERM.
"""
import asyncio
import signal
import sys

listen_port, upstream_port, every, delay_ms = (int(a) for a in sys.argv[1:5])
replies = 0
delayed = 0


async def serve(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        client_writer.close()
        return
    asked = asyncio.Event()  # the client sent bytes the server has not answered yet

    async def up():
        while data := await client_reader.read(65536):
            asked.set()
            server_writer.write(data)
            await server_writer.drain()
        server_writer.close()

    async def down():
        global replies, delayed
        while data := await server_reader.read(65536):
            if asked.is_set():
                asked.clear()
                replies += 1
                if replies % every == every // 2:
                    delayed += 1
                    await asyncio.sleep(delay_ms / 1000)
            client_writer.write(data)
            await client_writer.drain()
        client_writer.close()

    await asyncio.gather(up(), down(), return_exceptions=True)


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print(f"delayed {delayed} of {replies} replies", flush=True)


asyncio.run(main())
