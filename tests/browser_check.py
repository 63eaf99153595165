"""Headless Chromium driven over the DevTools protocol, with no dependency beyond the stdlib.

Chromium is started with ``--remote-debugging-pipe``: it reads DevTools commands from file
descriptor 3 and writes answers and events to descriptor 4, one JSON message per NUL-terminated
chunk. That is all a test needs to load a page, run JavaScript in any of its frames, take a
screenshot, and record every request, console message and uncaught exception, without selenium,
chromedriver or a websocket client.

The network is cut off: host names other than 127.0.0.1 resolve to nothing
(``--host-resolver-rules``), and every request that is not to the loopback interface (IP
literals included) goes to a proxy on a port where nothing listens, so it fails. The test then
asserts on the requests the page *tried* to make (``Network.requestWillBeSent``), whether or not
they were blocked.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snippets.render.pdf import HEADLESS_FLAGS

BASE_FLAGS = [
    *HEADLESS_FLAGS,
    "--disable-extensions",
    "--disable-sync",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # The network is cut off: no name but 127.0.0.1 resolves, and anything not on loopback
    # (an IP literal too) is sent to a proxy port where nothing listens.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # loopback bypasses a proxy implicitly
]


def _at_least_three(fd: int) -> int:
    if fd > 2:
        return fd
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return moved


class DevToolsError(RuntimeError):
    """A DevTools command returned an error, or the browser went away."""


class Browser:
    """One headless Chromium and a DevTools client over its pipe.

    Events of every session are recorded in :attr:`events` as ``(method, params, session_id)``.
    """

    def __init__(self, binary: str, *, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Keep the child's ends off 0-2 (free when the test runs with stdin closed), where
        # the child's stdin/stdout/stderr would replace them.
        to_browser_r, from_browser_w = (
            _at_least_three(fd) for fd in (to_browser_r, from_browser_w)
        )
        flags = [*BASE_FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]
        # A tiny Python trampoline puts the child's pipe ends on descriptors 3 and 4, where
        # Chromium expects them (no preexec_fn: the test runs an HTTP server thread; dash's
        # redirections cannot name descriptors above 9).
        trampoline = (
            "import os, sys; r, w = (os.dup(int(fd)) for fd in sys.argv[1:3]); "
            "os.dup2(r, 3); os.dup2(w, 4); os.set_inheritable(3, True); "
            "os.set_inheritable(4, True); os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                trampoline,
                str(to_browser_r),
                str(from_browser_w),
                binary,
                *flags,
                "--remote-debugging-pipe",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("BROWSER_CHECK_STDERR") else subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.events: list[tuple[str, dict, str | None]] = []
        self._answers: dict[int, dict] = {}
        self._next_id = 0
        self._lock = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._lock:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(
                            (message["method"], message.get("params", {}), message.get("sessionId"))
                        )
                self._lock.notify_all()
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def call(
        self, method: str, params: dict | None = None, *, session: str | None = None, timeout=20.0
    ) -> dict:
        """Send one command and wait for its answer; raise :class:`DevToolsError` on an error."""
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = memoryview(json.dumps(message).encode() + b"\0")
        while data:
            data = data[os.write(self._to_browser, data) :]
        deadline = time.monotonic() + timeout
        with self._lock:
            while message_id not in self._answers:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise DevToolsError(f"no answer to {method} (browser gone or timed out)")
                self._lock.wait(left)
            answer = self._answers.pop(message_id)
        if "error" in answer:
            raise DevToolsError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def snapshot_events(self) -> list[tuple[str, dict, str | None]]:
        with self._lock:
            return list(self.events)

    def close(self) -> None:
        with contextlib.suppress(DevToolsError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab of a :class:`Browser`, with Page, Runtime, Log and Network events enabled."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, params: dict | None = None, **kwargs) -> dict:
        return self.browser.call(method, params, session=self.session, **kwargs)

    def events(self, method: str | None = None) -> list[dict]:
        return [
            params
            for name, params, session in self.browser.snapshot_events()
            if session == self.session and (method is None or name == method)
        ]

    def navigate(self, url: str, timeout: float = 15.0) -> None:
        """Load ``url`` and wait for its load event."""
        already = len(self.events("Page.loadEventFired"))
        answer = self.call("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise DevToolsError(f"navigating to {url}: {answer['errorText']}")
        wait_until(lambda: len(self.events("Page.loadEventFired")) > already, timeout, url)

    def evaluate(self, expression: str, context_id: int | None = None) -> Any:
        """Value of a JavaScript expression (awaited), in the top frame or in ``context_id``."""
        params: dict[str, Any] = {
            "expression": expression,
            "returnByValue": True,
            "awaitPromise": True,
        }
        if context_id is not None:
            params["contextId"] = context_id
        result = self.call("Runtime.evaluate", params)
        if "exceptionDetails" in result:
            raise DevToolsError(f"evaluating {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def frames(self) -> dict[str, str]:
        """``{frame id: url}`` of every frame of the page."""
        found: dict[str, str] = {}

        def walk(node: dict) -> None:
            found[node["frame"]["id"]] = node["frame"]["url"]
            for child in node.get("childFrames", []):
                walk(child)

        walk(self.call("Page.getFrameTree")["frameTree"])
        return found

    def frame_context(self, frame_id: str) -> int | None:
        """The id of the frame's main-world JavaScript context (works across origins)."""
        alive: dict[int, str] = {}
        for name, params, session in self.browser.snapshot_events():
            if session != self.session:
                continue
            if name == "Runtime.executionContextCreated":
                context = params["context"]
                aux = context.get("auxData", {})
                if aux.get("isDefault"):
                    alive[context["id"]] = aux.get("frameId")
            elif name == "Runtime.executionContextDestroyed":
                alive.pop(params["executionContextId"], None)
            elif name == "Runtime.executionContextsCleared":
                alive.clear()
        matching = [cid for cid, fid in alive.items() if fid == frame_id]
        return matching[-1] if matching else None

    def screenshot(self, path: Path, clip: dict | None = None) -> None:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": clip is not None}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        data = self.call("Page.captureScreenshot", params, timeout=30)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    # What the page did, from the recorded events.

    def _context_frames(self) -> dict[int, str]:
        return {
            e["context"]["id"]: e["context"].get("auxData", {}).get("frameId")
            for e in self.events("Runtime.executionContextCreated")
        }

    def requests(self) -> list[Request]:
        """Every request the page and its frames tried to make, blocked or not."""
        failed = {
            e["requestId"]: e.get("errorText", "") for e in self.events("Network.loadingFailed")
        }
        return [
            Request(e["request"]["url"], e.get("frameId"), failed.get(e["requestId"]))
            for e in self.events("Network.requestWillBeSent")
        ]

    def console_problems(self) -> list[Problem]:
        """Uncaught exceptions, console.error/warn/assert and the browser's errors and warnings
        (among them "Failed to load resource"), with the frame each came from where known."""
        contexts = self._context_frames()
        request_frames = {
            e["requestId"]: e.get("frameId") for e in self.events("Network.requestWillBeSent")
        }
        problems = []
        for e in self.events("Runtime.exceptionThrown"):
            details = e["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            frame = contexts.get(details.get("executionContextId"))
            problems.append(
                Problem(frame, f"uncaught exception: {text} ({details.get('url', '')})")
            )
        for e in self.events("Runtime.consoleAPICalled"):
            if e["type"] in ("error", "warning", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in e["args"])
                problems.append(
                    Problem(contexts.get(e["executionContextId"]), f"console.{e['type']}: {args}")
                )
        for e in self.events("Log.entryAdded"):
            entry = e["entry"]
            if entry["level"] in ("error", "warning"):
                frame = request_frames.get(entry.get("networkRequestId"))
                where = f" {entry['url']}" if entry.get("url") else ""
                problems.append(
                    Problem(frame, f"{entry['level']} ({entry['source']}){where}: {entry['text']}")
                )
        return problems


@dataclass(frozen=True)
class Request:
    url: str
    frame: str | None
    failed: str | None  # the error text if loading failed


@dataclass(frozen=True)
class Problem:
    frame: str | None  # None: not attributable to a frame
    text: str


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; return that, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextlib.contextmanager
def launch(binary: str, **kwargs) -> Iterator[Browser]:
    browser = Browser(binary, **kwargs)
    try:
        yield browser
    finally:
        browser.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()
