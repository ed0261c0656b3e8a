"""daphne as `manage.py serve` runs it (and the chat benchmark measures it), with less memory per
open websocket. Behaviour is daphne's own: same options, timeouts, pings, proxy headers, frames.

An idle visitor socket cost ~32 KiB of RSS against ~14 KiB for a bare `websockets` server
(PRODUCT.md: at most 2x). tracemalloc over 500 idle sockets showed where daphne's share went:
- Twisted's HTTP channel and request that carried the upgrade (headers, buffers, ~5 KiB) stayed
  alive as long as the websocket: the channel remained registered as the TCP transport's
  producer, although once a request is being handled its pause/resume/stop are no-ops.
- autobahn copies all 29 factory options onto every protocol instance, which with the handshake
  leftovers made a 99-key instance dict (3.3 KiB) per socket.
- daphne gives every socket an asyncio.Queue for its input (~3 KiB with its deques and Event).
"""

from __future__ import annotations

import asyncio
import os
import sys
import types
from functools import partial
from typing import Any, cast


def _use_uvloop() -> None:
    """Run Twisted's asyncio reactor on uvloop (SUPPORTDESK_UVLOOP, default on).

    daphne creates its event loop when `daphne.server` is imported, so the policy is set first.
    Every chat line crosses the loop several times in each process (the socket's frame, the
    Postgres round trip, the Redis publish, the fan-out to the other process's socket); uvloop's
    loop and transports are C, where asyncio's selector loop is Python, which showed as the chat
    benchmark's latency (README, Performance).
    """
    if os.environ.get("SUPPORTDESK_UVLOOP", "true").strip().lower() in {"0", "false", "no", "off"}:
        return
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


_use_uvloop()

import daphne.server  # noqa: E402, F401  (installs the asyncio Twisted reactor on that loop)
from daphne.http_protocol import HTTPFactory as DaphneHTTPFactory  # noqa: E402
from daphne.http_protocol import WebRequest as DaphneWebRequest  # noqa: E402
from daphne.server import Server as DaphneServer  # noqa: E402
from daphne.ws_protocol import WebSocketFactory as DaphneWebSocketFactory  # noqa: E402
from daphne.ws_protocol import WebSocketProtocol as DaphneWebSocketProtocol  # noqa: E402
from twisted.internet import reactor as _installed_reactor  # noqa: E402
from twisted.internet import tcp  # noqa: E402
from twisted.internet.endpoints import serverFromString  # noqa: E402
from twisted.internet.protocol import connectionDone  # noqa: E402
from twisted.logger import STDLibLogObserver, globalLogBeginner  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402
from twisted.web import http  # noqa: E402

from core.realtime import Mailbox  # noqa: E402

# The asyncio reactor daphne installed; Twisted types the module global as bare zope interfaces,
# whose methods mypy reads without `self`.
reactor: Any = _installed_reactor


class WebRequest(DaphneWebRequest):
    # Twisted parses every POST form body into `args` before daphne sees the request: a whole
    # multipart upload read into memory a second time (daphne and Django never read `args`), and
    # a malformed one answered with a bare 400 no API client can read. Django parses the body.
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._parsePOSTFormSubmission = False

    def process(self) -> Any:
        channel, transport = self.channel, self.transport
        result = super().process()  # the upgrade branch runs to its end synchronously
        if self.transport is None and transport is not None:
            # Upgraded: the websocket protocol now owns the transport. Unregister the HTTP channel
            # as its producer (a no-op producer from here on: the request is never finished, so
            # it never pauses or resumes anything), the last reference that kept the channel,
            # this request, its headers and buffers alive for the life of the socket.
            if getattr(transport, "producer", None) is channel:
                transport.unregisterProducer()
            channel.requests.clear()
        return result


# A request body may arrive no slower than this on average (after the headers' deadline): an
# upload of SUPPORTDESK_MAX_UPLOAD_MB (20) has ~42 minutes even so, while a "slow POST" that
# promises a huge body and trickles it cannot hold a connection for longer than that.
MIN_BODY_BYTES_PER_SECOND = 8 * 1024


class HTTPChannel(http.HTTPChannel):
    """Twisted's HTTP channel with a deadline for each request to arrive in full (finding 3).

    Twisted's own timeout (`timeOut`) is an idle timeout, reset by every byte received: a client
    that sends part of a request and then one byte every few seconds (slowloris) keeps the
    connection, and its descriptor, for ever. Here the request line and headers must all arrive
    within `request_timeout` seconds of the connection opening (or of the previous response on a
    kept-alive connection, which also bounds an idle keep-alive connection), and the body within
    `request_timeout` more plus its length at MIN_BODY_BYTES_PER_SECOND. Past the deadline the
    client gets a 408 (if it sent part of a request) and the connection is closed (aborted 15 s
    later if it does not go). Once a request has arrived in full, the deadline is off: the answer
    may take as long as it takes (a websocket upgrade belongs to the websocket protocol from
    there, with its own handshake timeout).
    """

    request_timeout: float = 10.0
    max_body_bytes: int = 10 * 1024 * 1024
    # An IDelayedCall; mypy reads zope.interface methods without `self`, so not annotated as one.
    _deadline: Any = None
    _partial = False  # bytes of a request not yet complete have arrived

    def connectionMade(self) -> None:
        super().connectionMade()
        self._arm(self.request_timeout)

    def dataReceived(self, data: bytes) -> None:
        self._partial = True
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:
        super().allHeadersReceived()
        # A chunked body (length None) or a declared length past what is accepted anyway is
        # given the time of the largest accepted body.
        length = min(self.max_body_bytes, self.length if self.length is not None else 1 << 62)
        if length:
            self._arm(self.request_timeout + length / MIN_BODY_BYTES_PER_SECOND)

    def allContentReceived(self) -> None:
        self._disarm()
        self._partial = False
        super().allContentReceived()

    def requestDone(self, request: Any) -> None:
        super().requestDone(request)
        if self.persistent and self.transport is not None and self.transport.connected:
            self._arm(self.request_timeout)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._disarm()
        super().connectionLost(reason)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.callLater(seconds, self._request_too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _request_too_slow(self) -> None:
        self._deadline = None
        if not self._handlingRequest and self.transport is not None:
            self.timeoutConnection()

    def timeoutConnection(self) -> None:
        # Also Twisted's idle timeout (nothing received for `timeOut` seconds) ends here. A
        # half-sent request is answered 408; a connection that sent nothing (a browser's
        # preconnect, an idle keep-alive) is closed quietly, as clients expect of idle sockets.
        self._disarm()
        transport: Any = (
            self.transport
        )  # an ITransport; mypy reads zope.interface methods sans self
        if self._partial and not self._handlingRequest and transport is not None:
            transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            )
        super().timeoutConnection()  # close, and abort 15 s later if the client does not let go


class HTTPFactory(DaphneHTTPFactory):
    def __init__(self, server: Any, *, request_timeout: float, max_body_bytes: int) -> None:
        super().__init__(server)
        self.request_timeout = request_timeout
        self.max_body_bytes = max_body_bytes
        # Twisted's idle timeout (between bytes, and on a kept-alive connection between requests).
        self.timeOut = request_timeout

    def protocol(self) -> Any:
        channel = HTTPChannel()
        channel.request_timeout = self.request_timeout
        channel.max_body_bytes = self.max_body_bytes
        return http._GenericHTTPChannelProtocol(channel)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = WebRequest
        return protocol


class _RequestPath:
    """What daphne reads of autobahn's ConnectionRequest once the socket is open (access log)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


# autobahn copies these from the factory onto each protocol "unless already set"; as class
# attributes (below, per factory) they are already set, so each socket shares the factory's values.
_CONFIG_ATTRS = frozenset(DaphneWebSocketProtocol.CONFIG_ATTRS)

# Attributes daphne and autobahn set on every server protocol instance (counted on an open
# socket). As slots they take 8 bytes each instead of a 99-key dict. A name that some base class
# also defines as a class attribute is left out: a slot would hide that class default.
_INSTANCE_ATTRS = (
    "_perMessageCompress", "_raw_query_string", "_results", "_transport_details",
    "_valid_events", "_wskey", "application_deferred", "application_queue",
    "autoPingPending", "autoPingPendingCall", "autoPingPendingSent", "autoPingPendingSeq",
    "autoPingTimeoutCall", "client_addr", "closeHandshakeTimeoutCall", "closedByMe",
    "clean_headers", "connected", "current_frame", "data", "droppedByMe", "factory",
    "failedByMe", "handshake_deferred", "http_headers", "http_request_data",
    "http_request_host", "http_request_params", "http_request_path", "http_request_uri",
    "http_response_data", "http_status_line", "inside_message", "is_closed", "is_open",
    "last_ping", "localCloseCode", "localCloseReason", "openHandshakeTimeoutCall", "path",
    "peer", "protocol_to_accept", "remoteCloseCode", "remoteCloseReason", "request",
    "root_path", "send_queue", "send_state", "server", "server_addr", "socket_opened", "state",
    "trackedTimings", "trafficStats", "transport", "triggered", "utf8validator",
    "wasClean", "wasCloseHandshakeTimeout", "wasMaxFramePayloadSizeExceeded",
    "wasMaxMessagePayloadSizeExceeded", "wasNotCleanReason", "wasOpenHandshakeTimeout",
    "wasServerConnectionDropTimeout", "wasServingFlashSocketPolicyFile",
    "websocket_extensions", "websocket_extensions_in_use", "websocket_origin",
    "websocket_protocol_in_use", "websocket_protocols", "websocket_version",
)  # fmt: skip


_CLASS_DEFAULTS = {name for cls in DaphneWebSocketProtocol.__mro__ for name in vars(cls)}


class WebSocketProtocol(DaphneWebSocketProtocol):
    __slots__ = tuple(
        name
        for name in _INSTANCE_ATTRS
        if name not in _CONFIG_ATTRS and name not in _CLASS_DEFAULTS
    )

    def onOpen(self) -> None:
        super().onOpen()
        # The handshake is done: nothing reads its request or response again (autobahn keeps
        # them "for the testsuite"). The scope keeps its own headers list for the consumer.
        self.request: Any = _RequestPath(self.request.path)
        self.http_request_data = self.http_response_data = self.http_status_line = None
        self.http_headers = self.http_request_params = None
        self.http_request_uri = None

    # autobahn formats a debug line (coloured with click.style, five calls) for every frame in and
    # out, before its logger drops it: ~13% of a chat process's CPU per line (yappi, chat
    # benchmark). These two do what autobahn's do, without the discarded formatting; any other
    # case (chopped or queued sends) stays autobahn's.
    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        if sync or chopsize or self.send_queue:
            super().sendData(data, sync, chopsize)
            return
        self.transport.write(data)
        if self.state == self.STATE_OPEN:
            self.trafficStats.outgoingOctetsWireLevel += len(data)
        elif self.state in (self.STATE_CONNECTING, self.STATE_PROXY_CONNECTING):
            self.trafficStats.preopenOutgoingOctetsWireLevel += len(data)
        if self.logOctets:
            self.logTxOctets(data, False)


def _option(value: Any) -> Any:
    # A function stored on a class would be bound to each protocol instance when read.
    return staticmethod(value) if isinstance(value, types.FunctionType) else value


class WebSocketFactory(DaphneWebSocketFactory):
    protocol = WebSocketProtocol

    def setProtocolOptions(self, *args: Any, **kwargs: Any) -> None:
        super().setProtocolOptions(*args, **kwargs)
        # A protocol class carrying this factory's options as class attributes (see _CONFIG_ATTRS).
        # Sockets opened earlier keep the class, and so the options, they were created with, as
        # autobahn's copies did.
        self.protocol = cast(
            "type[WebSocketProtocol]",
            type(
                "WebSocketProtocol",
                (WebSocketProtocol,),
                {"__slots__": (), **{name: _option(getattr(self, name)) for name in _CONFIG_ATTRS}},
            ),
        )


MAX_WS_MESSAGE_BYTES = 24 * 1024 * 1024


class WriteNowTransport(tcp.Server):
    """A TCP connection that sends at once when nothing is queued, as asyncio's transports do.

    Twisted queues every write and sends it on a later turn of the loop, once the reactor has
    registered the socket for writing (an epoll change), seen it writable and unregistered it (a
    second change). A chat line makes three frames (the ack, the echo, the other side's copy), so
    each waited behind every other ready callback of the loop before leaving: latency and
    syscalls that the benchmark's reference (`websockets` on asyncio) does not pay. When the
    buffer is empty the data goes to the socket now; whatever the kernel does not take, or any
    error, goes to Twisted's buffered path, which sends the rest and reports a lost connection
    exactly as before. TLS (terminated by the load balancer, so unused here) keeps Twisted's way.
    """

    def write(self, data: bytes) -> None:
        if (
            self.TLS
            or self.dataBuffer
            or self._tempDataBuffer
            or self.disconnecting
            or not self.connected
            or self._writeDisconnected
            or type(data) is not bytes
        ):
            super().write(data)
            return
        try:
            sent = self.socket.send(data)
        except OSError:
            sent = 0  # EAGAIN, or an error that the buffered path's doWrite will report
        if sent < len(data):
            super().write(data[sent:])


class Server(DaphneServer):
    """daphne.server.Server with the factories above and a small inbox per websocket."""

    websocket_handshake_timeout: float  # daphne's, set in its __init__
    websocket_connect_timeout: float

    def run(self) -> None:
        # daphne's run(), with our factories.
        from django.conf import settings  # the application (and so Django) is loaded by now

        request_timeout = float(settings.SUPPORTDESK_REQUEST_TIMEOUT_SECONDS)
        # A websocket upgrade must be answered (the consumer accepts or refuses) in as long.
        self.websocket_handshake_timeout = min(self.websocket_handshake_timeout, request_timeout)
        self.websocket_connect_timeout = min(self.websocket_connect_timeout, request_timeout)
        self.connections: dict[Any, Any] = {}
        self.http_factory = HTTPFactory(
            self,
            request_timeout=request_timeout,
            max_body_bytes=(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
            + settings.SUPPORTDESK_MAX_UPLOAD_MB * 1024 * 1024,
        )
        self.ws_factory = WebSocketFactory(self, server=self.server_name)
        self.ws_factory.setProtocolOptions(
            autoPingTimeout=self.ping_timeout,
            allowNullOrigin=True,
            openHandshakeTimeout=self.websocket_handshake_timeout,
            # Larger than daphne's 1 MiB: autobahn drops a socket whose message passes the limit
            # (1006 in the browser), while the consumer answers an oversize frame with an `error`
            # frame and keeps the socket (livechat/consumers.py MAX_FRAME_BYTES).
            maxMessagePayloadSize=max(self.websocket_max_message_size, MAX_WS_MESSAGE_BYTES),
            maxFramePayloadSize=max(self.websocket_max_frame_size, MAX_WS_MESSAGE_BYTES),
        )
        if self.verbosity <= 1:
            globalLogBeginner.beginLoggingTo(
                [lambda _: None],  # type: ignore[list-item]  # zope.interface: mypy can't see providers
                redirectStandardIO=False,
                discardBuffer=True,
            )
        else:
            observer = STDLibLogObserver("daphne.server")
            globalLogBeginner.beginLoggingTo([observer])  # type: ignore[list-item]  # zope.interface: mypy can't see @implementer
        reactor.callLater(1, self.application_checker)
        reactor.callLater(2, self.timeout_checker)
        tcp.Port.transport = WriteNowTransport  # the class each accepted connection is made of
        for socket_description in self.endpoints:
            listener = serverFromString(reactor, str(socket_description)).listen(self.http_factory)
            listener.addCallback(self.listen_success)
            listener.addErrback(self.listen_error)
            self.listeners.append(listener)
        asyncio.set_event_loop(reactor._asyncioEventloop)
        if self.verbosity >= 3:
            asyncio.get_event_loop().set_debug(True)
        reactor.addSystemEventTrigger("before", "shutdown", self.kill_all_applications)
        if not self.abort_start:
            if self.ready_callable:
                self.ready_callable()
            reactor.run(installSignalHandlers=self.signal_handlers)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") != "websocket":
            return super().create_application(protocol, scope)
        # As daphne's, with a Mailbox for the socket's input instead of an asyncio.Queue: a
        # websocket's input has one reader, the consumer's receive loop.
        assert "application_instance" not in self.connections[protocol]
        inbox = Mailbox()
        scope.setdefault("asgi", {"version": "3.0"})
        instance = self.application(
            scope=scope, receive=inbox.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            instance, loop=asyncio.get_event_loop()
        )
        return inbox


if __name__ == "__main__":
    # `python -m supportdesk.server <daphne's arguments>`: daphne's command line with this Server
    # (the tests start it so; production uses `manage.py serve`).
    from daphne.cli import CommandLineInterface

    class _CommandLine(CommandLineInterface):
        server_class = Server

    _CommandLine().run(sys.argv[1:])
