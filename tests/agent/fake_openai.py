"""A small local HTTP server that speaks the chat-completions protocol with scripted replies.

Each scripted entry is either a reply (content and/or tool calls) or an HTTP status to fail
with. Requests are recorded so tests can check what the policy sent.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    raw_body: str | None = None  # sent as-is (for malformed responses)


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


@dataclass
class FakeChatServer:
    script: deque[Scripted] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                item = (
                    server.script.popleft() if server.script else Scripted(content="<tool: submit>\n</tool>")
                )
                if item.status != 200:
                    self._send(item.status, json.dumps({"error": {"message": f"scripted {item.status}"}}))
                    return
                if item.raw_body is not None:
                    self._send(200, item.raw_body)
                    return
                message: dict[str, Any] = {"role": "assistant", "content": item.content}
                if item.tool_calls:
                    message["tool_calls"] = item.tool_calls
                reply = {
                    "id": f"chatcmpl-{len(server.requests)}",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": "tool_calls" if item.tool_calls else "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 100 + len(server.requests),
                        "completion_tokens": 20,
                        "total_tokens": 120 + len(server.requests),
                    },
                }
                self._send(200, json.dumps(reply))

            def _send(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def push(self, *items: Scripted) -> None:
        self.script.extend(items)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
