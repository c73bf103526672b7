"""Headless Chromium (Debian's package) driven through its chromedriver with Selenium, and a
real API server process: shared by the browser tests and scripts/screenshots.py."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]


class BrowserUnavailableError(RuntimeError):
    pass


def ensure_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver, installed through scripts/services.sh if missing."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "services.sh"), "chromium"], capture_output=True, text=True
    )
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if result.returncode != 0 or not chromium or not driver:
        raise BrowserUnavailableError(
            f"chromium could not be installed (scripts/services.sh chromium, run as root): {result.stderr[-800:]}"
        )
    return chromium, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    """`uvicorn api.app:app` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                cmd, env={**os.environ, **self.env}, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the API exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API did not answer in {timeout} s: {self.tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


class Browser:
    def __init__(self, base_url: str, width: int = 1400, height: int = 1000) -> None:
        chromium, driver = ensure_chromium()
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in (
            "--headless=new",
            "--no-sandbox",  # root in a container: chromium's own sandbox cannot start
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={width},{height}",
        ):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.base_url = base_url.rstrip("/")
        self.width, self.height = width, height

    def quit(self) -> None:
        self.driver.quit()

    def open(self, path: str, ready: bool = True) -> None:
        self.driver.get(self.base_url + path)
        if ready:
            self.wait_ready()

    def wait(self, until: Callable[[Any], Any], timeout: float = 15.0, what: str = "") -> Any:
        try:
            # Live pages redraw while they are read: a vanished element just means "look again".
            ignored = (NoSuchElementException, StaleElementReferenceException)
            return WebDriverWait(self.driver, timeout, 0.05, ignored_exceptions=ignored).until(until)
        except TimeoutException as exc:
            raise AssertionError(f"timed out waiting for {what or until}; console: {self.console()}") from exc

    def wait_ready(self) -> None:
        """Until the page's module rendered its first data (it sets body[data-ready])."""
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready === '1'"), what="page ready")

    def login(self, key: str, next_path: str = "/ui") -> None:
        self.open(f"/ui/login?next={next_path}", ready=False)
        self.wait(lambda d: d.find_element(By.ID, "key"), what="login form")
        self.driver.find_element(By.ID, "key").send_keys(key)
        self.driver.find_element(By.ID, "login-button").click()
        self.wait(lambda d: "/ui/login" not in d.current_url, what="leaving the login page")
        self.wait_ready()

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def click(self, css: str) -> None:
        """Click like a person would, after scrolling the element clear of the sticky header."""
        el = self.find(css)
        self.js("arguments[0].scrollIntoView({block: 'center'})", el)
        el.click()

    def text(self, css: str) -> str:
        return str(self.find(css).text)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def console(self) -> list[str]:
        try:
            return [str(e.get("message")) for e in self.driver.get_log("browser")]
        except Exception:
            return []

    def screenshot(self, path: Path, max_height: int = 2600, whole: bool = True) -> None:
        """The whole page (up to max_height pixels), or what is in view, as a PNG."""
        if not whole:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(path))
            return
        height = int(self.js("return document.documentElement.scrollHeight"))
        chrome = int(self.js("return window.outerHeight - window.innerHeight"))  # the window's own bars
        self.driver.set_window_size(self.width, min(max(height, self.height), max_height) + chrome)
        self.js("window.scrollTo(0, 0)")
        time.sleep(0.2)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(self.width, self.height)
