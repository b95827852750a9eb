"""The operator's path in a real headless Chromium (Debian's chromium + chromium-driver, driven
by Selenium; no browser is downloaded) on a real clip run twice by `vidsentry run --console`'s
code: log in, watch the camera grid update, see an alert arrive without a reload, ack it,
name the stranger on the unknown-people page, and find him named on the next run.

Set VIDSENTRY_SCREENSHOTS=docs/console to refresh the README's screenshots."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest

from tests.conftest import CACHE_ROOT
from vidsentry.config import Config
from vidsentry.console.app import build_console
from vidsentry.embedded import EmbeddedRun, RunOptions
from vidsentry.redis_client import redis_client

pytestmark = pytest.mark.integration
PASSWORD = "operator-Pass-1"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT_S = 300  # deadlines for a loaded CI machine; each wait ends as soon as its condition holds
STRANGER_RULE = "rules:\n  - name: stranger\n    description: An unknown face.\n    severity: warning\n    when: {identity: unknown}\n"


@pytest.fixture
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM.is_file() and CHROMEDRIVER.is_file(), \
        "Debian's chromium and chromium-driver are needed (deploy/local/install.sh --services installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--no-first-run"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield browser
    browser.quit()


@pytest.fixture
def config(redis_server, tmp_path: Path) -> Config:
    prefix = f"b{uuid.uuid4().hex[:8]}"
    rules = tmp_path / "rules.yaml"
    rules.write_text(STRANGER_RULE)
    return Config.model_validate({
        "redis": {"url": redis_server.url},
        "aggregator": {"redis_prefix": prefix, "rules": str(rules)},
        "face": {"gallery_redis_prefix": f"{prefix}:gallery"},
        "models": {"cache_dir": str(CACHE_ROOT)},
        "emotion": {"model": "mini-xception"},  # from the model cache: this test is about the console
        "console": {"password": PASSWORD, "port": 0, "search_path": str(tmp_path / "search.sqlite3")},
    })


def badge_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, "#cameras .tile .badge").text


def start_run(config: Config, clip: Path, out: Path, console) -> threading.Thread:
    options = RunOptions(sources=[str(clip)], out=out, realtime=True, progress=False)
    run = EmbeddedRun(options, config.model_copy(deep=True), console=console)
    thread = threading.Thread(target=run.run, name="embedded-run", daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(1200)
def test_operator_path_on_a_real_clip(driver, config: Config, samples, tmp_path: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("VIDSENTRY_SCREENSHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.2)
    console = build_console(config).start()
    try:
        # 1. log in (a wrong password first)
        driver.get(console.url + "/")
        assert driver.current_url.endswith("/login")
        driver.save_screenshot(str(shots / "login.png"))
        driver.find_element(By.ID, "password").send_keys("guess")
        driver.find_element(By.ID, "login").click()
        assert wait.until(lambda d: d.find_elements(By.ID, "login-error"))[0].text == "wrong password"
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login").click()
        wait.until(lambda d: d.current_url == console.url + "/")
        cookie = driver.get_cookie("vidsentry_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # the alerts page stays open in its own tab, never reloaded
        grid_tab = driver.current_window_handle
        driver.switch_to.new_window("tab")
        driver.get(console.url + "/alerts")
        alerts_tab = driver.current_window_handle
        driver.execute_script("window.notReloaded = true")
        assert driver.find_elements(By.CSS_SELECTOR, "#alerts .alert") == []

        # 2. the camera grid updates while the clip plays
        run = start_run(config, samples["carphone"], tmp_path / "run1", console)
        driver.switch_to.window(grid_tab)
        tile = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#cameras .tile[data-seq]"))[0]
        first = int(tile.get_attribute("data-seq"))
        wait.until(lambda d: int(d.find_element(By.CSS_SELECTOR, "#cameras .tile").get_attribute("data-seq")) > first)
        # the producer's own report of the camera: its state badge and frames dropped
        wait.until(lambda d: "dropped" in d.find_element(By.CSS_SELECTOR, "#cameras .tile .state").text
                   and badge_text(d) in ("up", "ended"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#people tbody tr"))
        driver.save_screenshot(str(shots / "cameras.png"))

        # 3. the stranger alert arrives without a reload
        driver.switch_to.window(alerts_tab)
        card = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#alerts .alert"))[0]
        assert driver.execute_script("return window.notReloaded") is True
        assert card.find_element(By.CSS_SELECTOR, ".rule").text == "stranger"
        wait.until(lambda d: d.execute_script(
            "const i = document.querySelector('#alerts .alert img.snapshot'); return i && i.complete && i.naturalWidth > 0"))
        driver.save_screenshot(str(shots / "alerts.png"))

        # 4. ack it: the same XACK as `alerts ack`
        entry = card.get_attribute("data-entry")
        card.find_element(By.CSS_SELECTOR, "button.ack").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'#alerts .alert.acked[data-entry="{entry}"]'))
        client = redis_client(config.redis)
        stream = f"{config.aggregator.redis_prefix}:alerts"
        pending = {p["message_id"].decode() for p in client.xpending_range(stream, config.console.group, "-", "+", 1000)}
        assert entry not in pending
        run.join(timeout=WAIT_S)
        assert not run.is_alive()

        # 5. the unknown-people page; 6. name the stranger
        driver.get(console.url + "/unknowns")
        clusters = driver.find_elements(By.CSS_SELECTOR, "section.cluster")
        assert clusters, "the stranger's face was kept"
        driver.save_screenshot(str(shots / "unknowns.png"))
        biggest = max(clusters, key=lambda c: len(c.find_elements(By.CSS_SELECTOR, ".crop")))
        name_box = biggest.find_element(By.CSS_SELECTOR, "form.name input[name=name]")
        name_box.send_keys("<i>Driver</i>")
        biggest.find_element(By.CSS_SELECTOR, "form.name button").click()
        refusal = wait.until(lambda d: d.find_elements(By.ID, "refusal"))[0]
        assert "not allowed" in refusal.text and "<i>" in refusal.text, "the HTML name is refused and shown as text"
        driver.back()
        driver.get(console.url + "/unknowns")
        biggest = max(driver.find_elements(By.CSS_SELECTOR, "section.cluster"),
                      key=lambda c: len(c.find_elements(By.CSS_SELECTOR, ".crop")))
        # the other clusters of this clip, if the tracker split him, are his too
        cluster_boxes = driver.find_elements(By.CSS_SELECTOR, "section.cluster input[type=checkbox][name=cluster]")
        if len(cluster_boxes) > 1:
            for box in cluster_boxes:
                box.click()
            driver.find_element(By.CSS_SELECTOR, "#merge button").click()
            wait.until(lambda d: d.find_elements(By.ID, "done"))
            [biggest] = driver.find_elements(By.CSS_SELECTOR, "section.cluster")
        biggest.find_element(By.CSS_SELECTOR, "form.name input[name=name]").send_keys("Car Driver")
        biggest.find_element(By.CSS_SELECTOR, "form.name button").click()
        assert "is now Car Driver" in wait.until(lambda d: d.find_elements(By.ID, "done"))[0].text
        assert "Car Driver" in [p.name for p in console.gallery().people()]

        # 7. the next run of the clip shows him by name. It plays as another camera: the same
        # camera's message ids again would be dropped by the aggregator as redeliveries of run 1.
        again = tmp_path / "carphone-again.mp4"
        again.symlink_to(samples["carphone"])
        driver.get(console.url + "/")
        run = start_run(config, again, tmp_path / "run2", console)
        wait.until(lambda d: d.execute_script(  # the table is redrawn each second: read it in one go
            "return [...document.querySelectorAll('#people tbody td:first-child')].some(td => td.textContent === 'Car Driver')"))
        driver.save_screenshot(str(shots / "named.png"))
        run.join(timeout=WAIT_S)
    finally:
        console.stop()
