"""asyncio TLS echo server for bench/run_tls.mjs: the Protocol-based echo with ssl.

    python3 bench/tls/server_asyncio.py PORT CERT KEY
"""
import asyncio
import ssl
import sys


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(EchoProtocol, "127.0.0.1", port, ssl=ctx))
    print(f"[asyncio] TLS echo server on 127.0.0.1:{port} ({ssl.OPENSSL_VERSION})", file=sys.stderr, flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
