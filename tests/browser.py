"""Browser-test helpers shared across apps."""

from __future__ import annotations


def sign_in(browser, base: str, username: str):
    """A new browser context signed in as ``username`` (test users' password is ``pw-<username>``); its page."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f"pw-{username}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


class AsgiLiveServer:
    """The whole site, pages and the push stream (``/live/stream/``), from uvicorn over ``helpdesk.asgi`` on 127.0.0.1
    and a free port, in a thread: what ``make run`` serves. ``with AsgiLiveServer() as server: server.url``.
    (pytest-django's ``live_server`` is a WSGI server, where the stream answers 503 and screens fall back to polling.)
    Static files come from the finders, as under ``runserver``. The data must be committed (``transactional_db``)."""

    def __enter__(self):
        import socket
        import threading
        import time

        import uvicorn
        from django.core.asgi import get_asgi_application
        from django.test.utils import override_settings

        self._settings = override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
        self._settings.enable()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = uvicorn.Config(
            get_asgi_application(), host="127.0.0.1", port=port, lifespan="off", log_level="warning",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self._settings.disable()


def sse_frames(url: str, cookie: str, *, seconds: float) -> list[dict]:
    """The raw frames of ``/live/stream/`` for a session cookie, read off the socket for ``seconds``: what goes over
    the wire to that browser (each frame's ``data`` parsed; the ``ready`` frame included)."""
    import json
    import socket
    import time
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    frames: list[dict] = []
    with socket.create_connection((parts.hostname, parts.port), timeout=0.5) as sock:
        sock.sendall(
            f"GET /live/stream/ HTTP/1.1\r\nHost: {parts.hostname}\r\nCookie: sessionid={cookie}\r\n\r\n".encode()
        )
        buffer = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            buffer += chunk
        for block in buffer.split(b"\n\n"):
            for line in block.split(b"\n"):
                if line.startswith(b"data: "):
                    frames.append(json.loads(line[6:]))
    return frames


SCREENSHOT_WIDTHS = {"1280": (1280, 800), "1920": (1920, 1080), "390": (390, 844)}


def screenshots(page, directory, name: str) -> None:
    """The page at a laptop, a wide screen and a phone (``<name>-<width>.png`` in ``directory``), then back to the
    tests' usual size."""
    for width, (w, h) in SCREENSHOT_WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=directory / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def open_live(page, url: str) -> None:
    """Open a staff or customer page and wait until its push stream is up (``live.js`` sets ``data-live``)."""
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator("html")).to_have_attribute("data-live", "up")
