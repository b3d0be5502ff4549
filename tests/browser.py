"""Debian's chromium + chromedriver under Selenium, with nothing fetched at run time."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this closed
# network refuses; --no-sandbox because tests run as root in CI.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Even with the flags above Chromium 156 looks up accounts.google.com, update.googleapis.com,
    # content-autofill.googleapis.com, ... at start (strace: DNS queries to the resolver). This answers
    # every name but localhost with NXDOMAIN inside the browser, so a test can only reach loopback.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--no-proxy-server",
    "--window-size=1280,800",
    "--lang=en-US",
]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} missing: apt-get install --no-install-recommends chromium chromium-driver ({pkg})"
    return None


def required() -> bool:
    """In CI (`CI` set, as .ci/run does) a missing browser fails the browser tests instead of skipping them."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def start() -> tuple[webdriver.Chrome, str, float]:
    profile = tempfile.mkdtemp(prefix="newsmon-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # An explicit driver path makes Selenium skip Selenium Manager (which would otherwise look up and
    # download a driver); SE_MANAGER_PATH to a missing file turns any such attempt into an error.
    os.environ["SE_MANAGER_PATH"] = "/nonexistent/selenium-manager"
    t0 = time.monotonic()
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    return driver, profile, time.monotonic() - t0


def stop(driver: webdriver.Chrome, profile: str) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
