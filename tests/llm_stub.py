"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for the llm reader's tests.

Each request takes the next step of ``script`` (the last one repeats):

    stub.script = [reply("Three days [1].")]          # a chat completion, or SSE chunks when streamed
    stub.script = [status(500)], [malformed()], [sleep(5, reply(...))], [broken_stream("Three")]

``requests`` keeps every request body and its headers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Step:
    kind: str  # reply, status, malformed, broken_stream
    text: str = ""
    code: int = 200
    delay: float = 0.0
    chunk: int = 7  # characters per streamed chunk
    pause: float = 0.0  # seconds between streamed chunks


def reply(text: str, chunk: int = 7, pause: float = 0.0) -> Step:
    return Step("reply", text, chunk=chunk, pause=pause)


def status(code: int) -> Step:
    return Step("status", code=code)


def malformed() -> Step:
    return Step("malformed")


def broken_stream(text: str) -> Step:
    """Streams ``text``, then a chunk that is not JSON."""
    return Step("broken_stream", text)


def sleep(seconds: float, step: Step) -> Step:
    return Step(step.kind, step.text, step.code, seconds, step.chunk, step.pause)


@dataclass
class Stub:
    url: str
    script: list[Step] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def next_step(self) -> Step:
        if not self.script:
            return reply("")
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    @property
    def last_user_message(self) -> str:
        return self.requests[-1]["body"]["messages"][-1]["content"]


def _chunk_event(content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    event = {"id": "stub", "object": "chat.completion.chunk", "model": "stub",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(event)}\n\n".encode()


def _pieces(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def make_handler(stub: Stub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            stub.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
            step = stub.next_step()
            if step.delay:
                time.sleep(step.delay)
            try:
                self._answer(step, bool(body.get("stream")))
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def _send(self, code: int, payload: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _answer(self, step: Step, stream: bool) -> None:
            if step.kind == "status":
                self._send(step.code, json.dumps({"error": {"message": "scripted failure"}}).encode())
                return
            if step.kind == "malformed":
                self._send(200, b'{"choices": [{"mess', "application/json")
                return
            if not stream:
                self._send(200, json.dumps({
                    "id": "stub", "object": "chat.completion", "model": "stub",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": step.text},
                                 "finish_reason": "stop"}],
                }).encode())
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b": keep-alive\n\n")
            for piece in _pieces(step.text, step.chunk):
                self.wfile.write(_chunk_event(piece))
                self.wfile.flush()
                time.sleep(step.pause)
            if step.kind == "broken_stream":
                self.wfile.write(b"data: {not json\n\n")
            else:
                self.wfile.write(_chunk_event(None, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


def serve() -> Iterator[Stub]:
    """Run a stub on a free port of 127.0.0.1 until the generator is closed; yields it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    stub = Stub(f"http://127.0.0.1:{server.server_address[1]}/v1")
    server.RequestHandlerClass = make_handler(stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (a refused connection)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


try:
    import pytest
except ImportError:  # run by hand without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def stub():
        """A scripted chat-completions server for one test."""
        yield from serve()


if __name__ == "__main__":  # for trying the app by hand: python -m tests.llm_stub "reply text"
    import sys

    gen = serve()
    stub = next(gen)
    stub.script = [reply(" ".join(sys.argv[1:]) or "A meeting notice is sent three working days ahead [1].")]
    print(stub.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        gen.close()
