"""asyncio / uvloop streams echo server for bench/run_net.mjs: the
asyncio.start_server echo (read / write / drain).

    python3 bench/net/server_asyncio_streams.py asyncio|uvloop PORT [HOST]
"""
import asyncio
import sys


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
    except (ConnectionError, OSError):
        writer.close()


async def serve(flavor, host, port):
    server = await asyncio.start_server(echo, host, port)
    print(f"[{flavor} streams] echo server on {host}:{port} ({type(asyncio.get_running_loop()).__module__})", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


def main():
    flavor = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    # As server_asyncio.py: a uvloop or a stock asyncio loop, set by hand.
    if flavor == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    elif flavor == "asyncio":
        loop = asyncio.new_event_loop()
    else:
        sys.exit(f"unknown flavor {flavor!r}: asyncio or uvloop")
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(flavor, host, port))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
