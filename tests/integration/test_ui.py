# SPDX-License-Identifier: Apache-2.0
"""The web console at /ui: its embedded assets over plain HTTP, then the page driven
in headless Chromium through Selenium (Debian: chromium, chromium-driver,
python3-selenium; scripts/deps.sh test installs them) as a user would: load it, set
credentials, create a collection, insert sample rows, browse them, search with a typed
vector and with "similar" on a row, and save a screenshot.

The browser tests skip, saying why, only when Chromium cannot be started. The
screenshot goes to $QUIVER_TEST_ARTIFACTS, else <meson build dir>/test-artifacts (the
directory of $QUIVERD), else pytest's temporary directory; its path is printed."""
import json
import os
import pathlib
import re
import tempfile
import time

import pytest

from conftest import QUIVERD
from helpers import ok, uniq

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 15
CREDS = "root:Milvus"
ASSETS = {
    "/ui": "text/html",
    "/ui/": "text/html",
    "/ui/app.js": "text/javascript",
    "/ui/style.css": "text/css",
}


# ---- assets over HTTP ---------------------------------------------------------------------

def test_assets_have_types_etags_and_no_credentials(shared_node):
    for path, ctype in ASSETS.items():
        r = shared_node.get(path)
        assert r.status == 200, (path, r)
        assert r.headers["Content-Type"].split(";")[0] == ctype, (path, r.headers)
        assert "charset=utf-8" in r.headers["Content-Type"]
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        etag = r.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{16}"', etag), etag
        again = shared_node.get(path, headers={"If-None-Match": etag})
        assert again.status == 304 and again.content == b"", (path, again)
        assert again.headers["ETag"] == etag
        weak = shared_node.get(path, headers={"If-None-Match": '"other", W/%s' % etag})
        assert weak.status == 304
        stale = shared_node.get(path, headers={"If-None-Match": '"0000000000000000"'})
        assert stale.status == 200 and stale.content == r.content
        head = shared_node.request("HEAD", path)
        assert head.status == 200 and head.content == b""


def test_page_loads_only_its_own_assets(shared_node):
    html = shared_node.get("/ui").text
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/ui/app.js" in refs and "/ui/style.css" in refs
    for ref in refs:
        assert ref.startswith("/ui/") or ref.startswith("data:"), "no CDN, no other origin: " + ref
    js = shared_node.get("/ui/app.js").text
    assert "/v2/vectordb/" in js and "Authorization" in js
    assert not re.search(r"https?://", js), "the console calls only its own origin"


def test_unknown_ui_path_is_404(shared_node):
    r = shared_node.get("/ui/missing.js")
    assert r.status == 404 and r.code == 404, r


def test_assets_are_gzipped_for_browsers(shared_node):
    r = shared_node.session.get(shared_node.url + "/ui/app.js",
                                headers={"Accept-Encoding": "gzip"}, stream=True)
    assert r.headers.get("Content-Encoding") == "gzip"
    r.close()


# ---- the page in Chromium ---------------------------------------------------------------------

def start_chromium():
    """A headless Chromium under chromedriver, logging requests; skip when impossible."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.skip("Selenium is not installed (Debian python3-selenium; scripts/deps.sh test): %s" % e)
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.skip("%s not found (Debian chromium and chromium-driver; scripts/deps.sh test)"
                        % path)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--disable-extensions", "--no-first-run", "--window-size=1400,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as e:  # WebDriverException, or chromedriver failing to spawn
        pytest.skip("headless Chromium could not be started: %s" % str(e).strip()[:500])


@pytest.fixture
def browser():
    drv = start_chromium()
    drv.set_page_load_timeout(WAIT_S)
    yield drv
    drv.quit()


def artifact_dir(tmp_path):
    candidates = [os.environ.get("QUIVER_TEST_ARTIFACTS"),
                  os.path.join(os.path.dirname(os.path.abspath(QUIVERD)), "test-artifacts")]
    for d in filter(None, candidates):
        try:
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return pathlib.Path(d)
        except OSError:
            pass
    return tmp_path


class Page:
    """The console in a browser, with waits that name what they waited for."""

    def __init__(self, drv, node):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
        self.drv, self.node, self.By = drv, node, By
        self.wait_ = WebDriverWait(drv, WAIT_S, poll_frequency=0.05)

    def q(self, css):
        return self.drv.find_element(self.By.CSS_SELECTOR, css)

    def qq(self, css):
        return self.drv.find_elements(self.By.CSS_SELECTOR, css)

    def text(self, css):
        return self.q(css).text

    def wait(self, what, cond):
        try:
            return self.wait_.until(lambda _: cond())
        except Exception as e:
            notice = self.qq("#notice")
            shot = artifact_dir(pathlib.Path(tempfile.gettempdir())) / (
                "ui-failure-%d.png" % int(time.time() * 1000))
            self.drv.save_screenshot(str(shot))
            raise AssertionError("waited %ss for %s; notice: %r; browser log: %s; screenshot: %s" % (
                WAIT_S, what, notice[0].text if notice else None,
                self.drv.get_log("browser")[-5:], shot)) from e

    def type(self, css, value):
        e = self.q(css)
        e.clear()
        e.send_keys(value)

    def set_value(self, css, value):
        """For large text, faster than send_keys; fires input like typing does."""
        self.drv.execute_script(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event('input'));", css, value)

    def click(self, css):
        self.q(css).click()

    def no_error(self):
        n = self.q("#notice")
        assert not n.is_displayed(), "the page shows an error: " + n.text


def api_requests(drv):
    """(url, headers) of every fetch the page sent since the last call (performance log)."""
    out = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") != "Network.requestWillBeSent":
            continue
        req = msg["params"]["request"]
        if msg["params"].get("type") == "Fetch":
            out.append((req["url"], {k.lower(): v for k, v in req.get("headers", {}).items()}))
    return out


def test_console_create_insert_browse_search(browser, node, tmp_path, capsys):
    page = Page(browser, node)
    browser.get(node.url + "/ui")
    page.wait("the page to start", lambda: browser.execute_script("return document.body.dataset.ready"))
    page.wait("the health badge", lambda: page.text("#node-health") == "healthy")
    page.wait("the ready badge", lambda: page.text("#node-ready") == "ready")
    page.wait("the version", lambda: page.text("#node-version") not in ("", "…"))
    page.wait("the cluster badge", lambda: page.text("#node-cluster") == "standalone")
    page.wait("the database list", lambda: "default" in page.text("#db"))

    # Credentials: from now on every call carries them (a node without auth ignores them).
    page.type("#creds", CREDS)
    page.click("#creds-btn")
    page.wait("a refresh with credentials",
              lambda: any("/v2/vectordb/" in u for u, _ in api_requests(browser)))
    api_requests(browser)  # drain what was sent while the credentials were being set

    # Create a collection through the page (quick setup, dimension 4, COSINE).
    name = uniq("ui")
    page.type("#create-name", name)
    page.type("#create-dim", "4")
    page.click("#create-btn")
    page.wait("the new collection to open", lambda: page.text("#coll-name") == name)
    page.wait("it to be listed", lambda: name in [e.text for e in page.qq("#collections li")])
    page.no_error()
    d = ok(node.post("collections/describe", {"collectionName": name}))
    assert [f["type"] for f in d["fields"]] == ["Int64", "FloatVector"], d
    schema = [r.text for r in page.qq("#schema-table tbody tr")]
    assert len(schema) == 2 and "primary key" in schema[0] and "dim=4" in schema[1], schema
    page.wait("the index row", lambda: len(page.qq("#index-table tbody tr[data-index]")) == 1)

    # Insert 25 generated sample rows through the page.
    page.type("#sample-count", "25")
    page.click("#sample-btn")
    rows = json.loads(page.q("#insert-data").get_attribute("value"))
    assert len(rows) == 25 and all(len(r["vector"]) == 4 for r in rows), rows[:2]
    page.click("#insert-btn")
    page.wait("the insert result", lambda: page.text("#insert-result") == "inserted 25 rows")
    page.no_error()
    assert ok(node.post("collections/get_stats", {"collectionName": name}))["rowCount"] == 25
    page.wait("the row count", lambda: page.text("#coll-rows") == "25")
    page.wait("index progress 25/25", lambda: "25 / 25" in page.text("#index-table tbody"))

    # Browse: 20 rows per page, two pages.
    page.wait("the first page", lambda: len(page.qq("#rows-table tbody tr")) == 20)
    assert "page 1 of 2" in page.text("#page-info") and "25 rows" in page.text("#page-info")
    page.click("#next-btn")
    page.wait("the second page", lambda: len(page.qq("#rows-table tbody tr")) == 5)
    page.click("#prev-btn")
    page.wait("the first page again", lambda: len(page.qq("#rows-table tbody tr")) == 20)
    first_pk = page.q("#rows-table tbody tr").get_attribute("data-pk")

    # Search with a typed vector, a filter and a limit.
    page.set_value("#search-vector", json.dumps(rows[3]["vector"]))
    page.type("#search-limit", "5")
    page.click("#search-btn")
    page.wait("5 search results", lambda: len(page.qq("#search-table tbody tr")) == 5)
    page.no_error()
    hit = page.qq("#search-table tbody tr")[0].find_elements(page.By.TAG_NAME, "td")
    assert hit[1].text == str(rows[3]["id"]) and abs(float(hit[2].text) - 1.0) < 1e-4, \
        [c.text for c in hit]
    page.type("#search-filter", "tag == \"%s\"" % rows[3]["tag"])
    page.click("#search-btn")
    want = sum(1 for r in rows if r["tag"] == rows[3]["tag"])
    page.wait("filtered results", lambda: len(page.qq("#search-table tbody tr")) == min(5, want))
    tags = {r.find_elements(page.By.TAG_NAME, "td")[-1].text for r in page.qq("#search-table tbody tr")}
    assert tags == {rows[3]["tag"]}, tags
    page.type("#search-filter", "")

    # "similar" on a row: entities/get its vector, then search with it; the row comes first.
    page.click("#rows-table tbody tr button.similar")
    # textContent, not .text: Selenium's .text is "" for cells it deems not displayed
    page.wait("results for the row", lambda: page.qq("#search-table tbody tr") and
              page.qq("#search-table tbody tr")[0].find_elements(page.By.TAG_NAME, "td")[1]
              .get_attribute("textContent").strip() == first_pk)
    assert json.loads(page.q("#search-vector").get_attribute("value")) == \
        next(r["vector"] for r in rows if str(r["id"]) == first_pk)
    page.no_error()

    # The traffic glance parsed /metrics: a rate and a latency once two samples exist.
    page.wait("a request rate", lambda: re.fullmatch(r"\d+\.\d", page.text("#m-rate")))
    page.wait("a mean latency", lambda: re.search(r"\d+(\.\d+)? (µs|ms)", page.text("#m-mean")))
    assert page.text("#m-rows") == "25"

    sent = api_requests(browser)
    v2 = [(u, h) for u, h in sent if "/v2/vectordb/" in u]
    paths = {u.split("/v2/vectordb/")[1] for u, _ in v2}
    for p in ("collections/create", "entities/insert", "entities/query", "entities/get",
              "entities/search", "collections/get_stats", "indexes/describe"):
        assert p in paths, (p, sorted(paths))
    for u, h in sent:
        assert h.get("authorization") == "Bearer " + CREDS, (u, h)

    # A full-page screenshot as the test artifact.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(max(height + 200, 900), 6000))
    browser.execute_script("window.scrollTo(0, 0)")
    shot = artifact_dir(tmp_path) / "ui-console.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10000
    with capsys.disabled():
        print("\n[test_ui] screenshot: %s" % shot)


def test_console_reports_errors_and_survives_bad_input(browser, node):
    page = Page(browser, node)
    browser.get(node.url + "/ui/")
    page.wait("the page to start", lambda: browser.execute_script("return document.body.dataset.ready"))
    page.type("#create-name", "bad name!")
    page.drv.execute_script("document.getElementById('create-name').removeAttribute('pattern')")
    page.click("#create-btn")
    page.wait("an error notice", lambda: page.q("#notice").is_displayed())
    assert "collections/create" in page.text("#notice") and "code 1100" in page.text("#notice")


def test_console_asks_for_credentials_when_auth_is_on(node_factory):
    """With auth enabled the files stay public, the page asks for credentials on the
    first 401, and works once they are entered."""
    password = "Console-pw-1"
    n = node_factory("auth", env={"QUIVER__AUTH__ENABLED": "true",
                                  "QUIVER__AUTH__ROOT_PASSWORD": password})
    if n.post("collections/list", {}).status != 401:
        pytest.skip("auth.enabled does not make the API ask for credentials yet (issue 8)")
    for path in ASSETS:
        assert n.get(path).status == 200, path
    browser = start_chromium()
    try:
        auth_walkthrough(Page(browser, n), password)
    finally:
        browser.quit()


def auth_walkthrough(page, password):
    browser, n = page.drv, page.node
    browser.get(n.url + "/ui")
    page.wait("the credentials prompt", lambda: "requires credentials" in page.text("#notice"))
    assert "need" in page.q("#creds-form").get_attribute("class")
    page.type("#creds", "root:" + password)
    page.click("#creds-btn")
    page.wait("the database list", lambda: "default" in page.text("#db"))
    name = uniq("ui_auth")
    page.type("#create-name", name)
    page.click("#create-btn")
    page.wait("the new collection to open", lambda: page.text("#coll-name") == name)
    page.no_error()


def test_console_varchar_keys_and_similar_rows(browser, node):
    """A VarChar primary key: sample rows get string keys, "similar" sends the key as a
    JSON string to entities/get, and the row finds itself first."""
    page = Page(browser, node)
    browser.get(node.url + "/ui")
    page.wait("the page to start", lambda: browser.execute_script("return document.body.dataset.ready"))
    name = uniq("ui_vc")
    page.type("#create-name", name)
    page.type("#create-dim", "8")
    page.q("#create-idtype").send_keys("VarChar")
    page.click("#create-btn")
    page.wait("the new collection to open", lambda: page.text("#coll-name") == name)
    d = ok(node.post("collections/describe", {"collectionName": name}))
    assert d["fields"][0]["type"] == "VarChar", d
    page.click("#sample-btn")
    page.click("#insert-btn")
    page.wait("the insert result", lambda: page.text("#insert-result") == "inserted 10 rows")
    page.wait("the rows", lambda: len(page.qq("#rows-table tbody tr")) == 10)
    row = page.qq("#rows-table tbody tr")[4]
    key = row.get_attribute("data-pk")
    assert key.startswith("row-"), key
    row.find_element(page.By.CSS_SELECTOR, "button.similar").click()
    page.wait("results for the row", lambda: page.qq("#search-table tbody tr") and
              page.qq("#search-table tbody tr")[0].find_elements(page.By.TAG_NAME, "td")[1].text
              == key)
    page.no_error()
