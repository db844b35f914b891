"""asyncio / uvloop echo server for bench/run_net.mjs: the Protocol-based echo.

    python3 bench/net/server_asyncio.py asyncio|uvloop PORT [HOST]
"""
import asyncio
import sys


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


def main():
    flavor = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    if flavor == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    elif flavor == "asyncio":
        loop = asyncio.new_event_loop()
    else:
        sys.exit(f"unknown flavor {flavor!r}: asyncio or uvloop")
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(EchoProtocol, host, port))
    print(f"[{flavor}] echo server on {host}:{port} ({type(loop).__module__})", file=sys.stderr, flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
