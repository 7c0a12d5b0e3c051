#!/usr/bin/env python3
"""beamdump report in a real browser (Debian's chromium, headless).

Renders the report of every bundled sample dump (and a .bdump snapshot, a diff
report, and a dump full of markup from a real node), opens each page in
Chromium and checks what a reader sees after the page's script ran: the
verdict that `analyze` gives, the culprit's row in the process table, the
charts, sorting, filtering and paging, links that lead somewhere, the page with
JavaScript off, and that the page asks the network for nothing and runs no
script but its own. One screenshot per page goes to the work directory.

Environment (set by ctest): BD_BIN (beamdump), BD_SOURCE (the source tree),
BD_SAMPLES (generated samples; optional: the CI dumps for a diff with rules).
Output: cmocka-style lines, so `make check` shows them like the C tests.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, find_chromium  # noqa: E402

BIN = os.environ.get("BD_BIN", "build/beamdump")
SRC = os.environ.get("BD_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLES = os.environ.get("BD_SAMPLES", "")
WORK = os.environ.get("BD_BROWSER_WORK") or tempfile.mkdtemp(prefix="bd-browser-")
HOSTILE = os.path.join(SRC, "tests", "browser", "fixtures", "hostile_names.dump.zst")
MARK = "<script>window.__pwned=1</script>"
APP = "'</style><script>window.__pwned=5</script>]]><!--\\u{2028}app'"  # as the page shows it
SUP = "']]></svg><script>window.__pwned=6</script>\"sup\\''"
SHOTS = "sample_mailbox"  # the pages photographed (a screenshot costs ~0.4 s)


class Failure(Exception):
    pass


class Balance(HTMLParser):
    """Every element the page opens it closes, in order (browsers forgive; readers
    of a broken page see sections inside others)."""
    VOID = {"meta", "br", "input", "img", "hr", "link", "rect"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append((tag, self.getpos()))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self.stack and self.stack[-1][0] == tag:
            self.stack.pop()
        else:
            self.errors.append((tag, self.getpos(), self.stack[-2:]))


def check(cond, what):
    if not cond:
        raise Failure(what)


def run(args, ok=(0,)):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=300)
    if p.returncode not in ok:
        raise Failure("beamdump %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p


def styled_verdict(a, path):
    """JSON keeps Erlang syntax; the page speaks as the text commands do (Elixir for an
    Elixir node): its verdict is the one `analyze` prints, when that differs only in
    syntax (no control characters, which text and HTML escape differently)."""
    p = subprocess.run([BIN, "analyze", path], capture_output=True, text=True, errors="replace",
                       timeout=300)
    for line in p.stdout.splitlines():
        if line.startswith("Verdict: "):
            tv = line[len("Verdict: "):]
            if tv != a["verdict"] and not re.search(r"[\x00-\x1f\x7f-\x9f]|\\x|\\u\{", a["verdict"] + tv):
                a["verdict"] = tv
            break
    return a


def analyze(path):
    p = run(["analyze", "--json", path], ok=(0, 4))
    return styled_verdict(json.loads(p.stdout), path)


def report(inp, out, extra=(), ok=(0, 4)):
    run(["report", "-o", out] + list(extra) + [inp], ok=ok)
    check(os.path.getsize(out) > 1000, "%s is empty" % out)
    return out


def truth(dump):
    path = dump.replace(".dump.zst", ".truth")
    facts = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                facts[k] = v
    return facts


# ---- what every page must satisfy ----
def common(b, url, html_path):
    b.open(url)
    reqs = b.requests()
    check(reqs == [url], "the page asked for more than itself: %r" % reqs)
    check(not b.problems(), "console errors or CSP reports: %r" % b.problems())
    check("js" in (b.eval("document.documentElement.className") or ""),
          "the page's own script did not run (CSP hash?)")
    check(b.eval("window.__pwned") is None, "a script from the dump ran")
    scripts = b.eval("Array.from(document.scripts).map(s => s.type || 'js')")
    check(scripts.count("js") == 1, "scripts in the DOM: %r" % scripts)
    check(b.eval("document.querySelectorAll('img,iframe,object,embed,[onload],[onerror],"
                 "[onclick],[onmouseover]').length") == 0, "active markup from the dump in the DOM")
    # every in-page link leads to an element
    dangling = b.eval("""Array.from(document.querySelectorAll('a[href^="#"]'))
        .map(a => a.getAttribute('href')).filter(h => h.length > 1 && !document.getElementById(
        decodeURIComponent(h.slice(1))))""")
    check(not dangling, "links to nothing: %r" % dangling[:5])
    ext = b.eval("Array.from(document.querySelectorAll('a[href],link[href]'))"
                 ".map(a => a.getAttribute('href')).filter(h => !h.startsWith('#'))")
    check(not ext, "links out of the page: %r" % ext[:5])
    size = os.path.getsize(html_path)
    check(size < 10 << 20, "page of %d bytes" % size)
    bal = Balance()
    with open(html_path, encoding="utf-8") as f:
        bal.feed(f.read())
    check(not bal.errors and not bal.stack, "unbalanced markup: %r %r" % (bal.errors[:2], bal.stack[:2]))


def proc_rows(b):
    return b.eval("""Array.from(document.querySelectorAll('#proc-table tbody tr'))
        .map(r => ({cells: Array.from(r.cells).map(c => c.textContent), cls: r.className}))""")


def set_filter(b, text):
    b.eval("""(() => {const q = document.getElementById('proc-q'); q.value = %s;
        q.dispatchEvent(new Event('input'));})()""" % json.dumps(text))


def click_header(b, table, label):
    b.eval("""Array.from(document.querySelectorAll('#%s thead th'))
        .find(th => th.textContent.replace(/[\\u25b2\\u25bc ]/g, '') === %s).click()"""
           % (table, json.dumps(label)))


def num(text):
    """'13.3 MB' / '55,932' -> a comparable number."""
    t = text.strip().replace(",", "")
    m = re.match(r"^([0-9.]+)\s*([kMGT]?B)?$", t)
    if not m:
        return -1
    mult = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, None: 1}[m.group(2)]
    return float(m.group(1)) * mult


def sample_page(b, dump, html, verdict, first):
    url = "file://" + os.path.abspath(html)
    common(b, url, html)
    shown = b.eval("document.querySelector('#verdict .verdict').textContent")
    check(shown == verdict, "verdict %r, analyze says %r" % (shown, verdict))
    nfind = b.eval("document.querySelectorAll('ol.findings > li').length")
    check(nfind == len(first["findings"]), "%d findings shown, analyze has %d" % (nfind, len(first["findings"])))
    slogan = b.eval("document.querySelector('.slogan').textContent")
    check(slogan.strip() != "", "no slogan shown")
    check(b.eval("document.querySelectorAll('svg').length") >= 2, "charts missing")
    nrows = len(proc_rows(b))
    if first["node"]["processes"]:
        check(nrows > 0, "empty process table")
    # the culprit: its row is there and marked, its detail section too
    f0 = first["findings"][0] if first["findings"] else None
    if f0 and f0["subject"]["type"] == "process" and f0["severity"] != "info":
        pid = f0["subject"]["pid"]
        set_filter(b, pid)
        rows = proc_rows(b)
        check(len(rows) >= 1 and rows[0]["cells"][0] in (pid, "#PID" + pid), "culprit %s not found by the filter: %r" % (pid, rows[:2]))
        check("culprit" in rows[0]["cls"], "culprit row not marked")
        anchor = "p-" + pid[1:-1]
        check(b.eval("!!document.getElementById(%s)" % json.dumps(anchor)), "no detail for the culprit")
        set_filter(b, "")
    t = truth(dump)
    for key in ("culprit_pid", "leak_holder_pid", "pin_holder_pid"):
        if key in t:
            set_filter(b, t[key])
            rows = proc_rows(b)
            check(rows and rows[0]["cells"][0] in (t[key], "#PID" + t[key]), "the node's own %s %s is not in the table" % (key, t[key]))
            set_filter(b, "")
    # a pid without a detail section leads to its row: the table filters to it
    pq = b.eval("(() => { const a = document.querySelector('a.pq'); if (!a) return null;"
                "a.click(); return '<' + a.getAttribute('data-pid') + '>'; })()")
    if pq:
        rows = proc_rows(b)
        check(len(rows) == 1 and rows[0]["cells"][0] in (pq, "#PID" + pq), "link to %s's row: %r" % (pq, rows[:2]))
        set_filter(b, "")
    # sorting: MsgQ descending then ascending
    if nrows > 1:
        click_header(b, "proc-table", "MsgQ")
        col = [num(r["cells"][7]) for r in proc_rows(b)]
        check(col == sorted(col, reverse=True), "MsgQ not sorted descending: %r" % col[:5])
        click_header(b, "proc-table", "MsgQ")
        col = [num(r["cells"][7]) for r in proc_rows(b)]
        check(col == sorted(col), "MsgQ not sorted ascending: %r" % col[:5])
        click_header(b, "proc-table", "Pid")
        # filtering by text
        set_filter(b, "code_server")
        rows = proc_rows(b)
        check(all("code_server" in " ".join(r["cells"]).lower() for r in rows), "filter let other rows through")
        set_filter(b, "")
    # a static table sorts too (ETS by memory)
    if b.eval("document.querySelectorAll('#ets-table tbody tr').length") > 1:
        click_header(b, "ets-table", "Memory")
        col = b.eval("Array.from(document.querySelectorAll('#ets-table tbody tr'))"
                     ".map(r => +r.cells[6].getAttribute('data-v'))")
        check(col == sorted(col, reverse=True), "ETS memory not sorted descending: %r" % col[:5])
        click_header(b, "ets-table", "Memory")
        col = b.eval("Array.from(document.querySelectorAll('#ets-table tbody tr'))"
                     ".map(r => +r.cells[6].getAttribute('data-v'))")
        check(col == sorted(col), "ETS memory not sorted ascending: %r" % col[:5])
    if SHOTS in html:
        b.screenshot(html.replace(".html", ".png"))


def paging(b, html, nprocs):
    url = "file://" + os.path.abspath(html)
    b.open(url)
    info = b.eval("document.getElementById('proc-info').textContent")
    check(info.startswith("page 1 of "), "pager says %r" % info)
    b.eval("document.getElementById('proc-next').click()")
    info = b.eval("document.getElementById('proc-info').textContent")
    check(info.startswith("page 2 of "), "next page: %r" % info)
    check(len(proc_rows(b)) == 100, "a page of %d rows" % len(proc_rows(b)))
    check(("%s of %s rows" % (f"{nprocs:,}", f"{nprocs:,}")) in info, "rows count: %r" % info)


def no_javascript(b, html, verdict):
    url = "file://" + os.path.abspath(html)
    b.open(url, javascript=False)
    check(b.eval("document.documentElement.className") in ("", None), "script ran with JS off")
    text = b.eval("document.body.innerText")
    check(verdict in text, "verdict not readable without JavaScript")
    check(len(proc_rows(b)) > 0, "no process rows without JavaScript")
    check("Without JavaScript this table shows" in text, "no word on the missing rows")
    # printed without JavaScript: folded parts (a stack) print too
    check(b.eval("(() => { const d = document.querySelector('details:not([open]) table');"
                 "return d ? !d.checkVisibility() : true; })()"), "folded parts show on screen")
    b.call("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        q = """(() => { const d = document.querySelector('details:not([open]) table');
            return d ? d.checkVisibility() : null; })()"""
        check(b.eval(q) is not False, "a folded table does not print")
    finally:
        b.call("Emulation.setEmulatedMedia", {"media": ""})
    b.open(url)


def hostile(b, html):
    url = "file://" + os.path.abspath(html)
    common(b, url, html)
    text = b.eval("document.body.textContent")
    for needle in (MARK, '<img src=x onerror="window.__pwned=2">', "<svg onload=window.__pwned=3>",
                   "</script><b>heap binary</b>", "<i>msg</i>", "\\u{202E}evil_name",
                   APP, SUP, "</div></title></style>]]><!--", "\\x01\\x1b\\x08\\x7f\\u{009B}\\u{2028}xxx",
                   "nul</title>\\r\\n\\u{2028}\\u{2029}"):
        check(needle in text, "%r is not shown as text" % needle)
    check("\u2028" not in text and "\u2029" not in text, "an invisible line separator is shown raw")
    check("</title></style>]]><!--<script>" in b.eval("document.title"), "the slogan is not in the title as text")
    # the application and its supervisor (atoms with markup) in the treemap, the
    # applications table, the tree and the process table's data block
    for sel in ("#memory", "#apps table", "#apps h3"):
        check(APP in (b.eval("document.querySelector(%s).textContent" % json.dumps(sel)) or ""),
              "the hostile application is not in %s" % sel)
    check(SUP in b.eval("document.getElementById('apps').textContent"), "the hostile supervisor is not in the tree")
    set_filter(b, "pwned=6")
    rows = proc_rows(b)
    check(len(rows) == 1 and SUP in rows[0]["cells"][1] and rows[0]["cells"][9] == APP, "data row: %r" % rows)
    set_filter(b, "")
    # nothing from the dump overflows the page sideways
    width = b.eval("document.documentElement.scrollWidth")
    check(width <= 1400, "the page is %d px wide" % width)
    # the ETS table named like a script tag, in the ETS table
    ets = b.eval("document.getElementById('ets-table').textContent")
    check(MARK in ets, "the hostile ETS name is not in the ETS table")
    # the JSON data block is intact and its strings come back as text
    set_filter(b, "svg onload")
    rows = proc_rows(b)
    check(len(rows) == 1 and "<svg onload=window.__pwned=3>" in rows[0]["cells"][1], "data row: %r" % rows)
    # with JavaScript off too
    b.open(url, javascript=False)
    check(MARK in b.eval("document.body.innerText"), "hostile text lost without JavaScript")


def diff_page(b, html, expect_ci):
    url = "file://" + os.path.abspath(html)
    common(b, url, html)
    text = b.eval("document.body.innerText")
    check("What grew" in text, "no summary")
    check(b.eval("document.querySelectorAll('#diff-new tbody tr, #diff-grown tbody tr').length") > 0,
          "no grown or new process groups")
    if expect_ci:
        check("CI rules: FAILED" in text, "the failed CI rule is not shown")
        check(b.eval("document.querySelectorAll('#ci tr.culprit').length") >= 1, "no failed rule row")
    b.screenshot(html.replace(".html", ".png"))


def native_crash(b, path, name):
    """A BEAM killed by a NIF's fault: its core, or the crash guard's snapshot."""
    facts = {}
    with open(os.path.join(os.path.dirname(path), "truth")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                facts[k] = v
    html = report(path, os.path.join(WORK, name + ".html"))
    url = "file://" + os.path.abspath(html)
    common(b, url, html)
    a = analyze(path)
    check(b.eval("document.querySelector('#verdict .verdict').textContent") == a["verdict"], "native verdict")
    check(b.eval("document.querySelector('h1').textContent").startswith("Native crash of"), "not a native crash page")
    text = b.eval("document.getElementById('native').textContent")
    for k in ("signal", "nif", "c_function"):
        check(facts[k] in text, "the crash's %s (%s) is not on the page" % (k, facts[k]))
    marked = b.eval("Array.from(document.querySelectorAll('#native tr.culprit')).map(r => r.textContent)")
    check(any(facts["nif"] in m for m in marked), "the NIF frame is not marked: %r" % marked)


LIVE_NODE = r"""
register(report_hog, spawn(fun() -> L = lists:seq(1, 200000), receive stop -> L end end)),
[spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 300)],
T = ets:new(report_live_tab, [named_table, public]),
[ets:insert(T, {I, I}) || I <- lists:seq(1, 5000)],
io:format("ready~n"),
receive stop -> ok end.
"""


def live_capture(b):
    """A running node captured with `beamdump capture`, then its report."""
    import socket
    host = socket.gethostname().split(".")[0]
    name = "bdreport%d" % os.getpid()
    cookie = os.path.join(WORK, "cookie")
    with open(cookie, "w") as f:
        f.write("report%d" % os.getpid())
    os.chmod(cookie, 0o600)
    node = subprocess.Popen(["erl", "-sname", name, "-setcookie", open(cookie).read(), "-noshell",
                             "-eval", LIVE_NODE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        check(node.stdout.readline().strip() == "ready", "the live node did not start")
        snap = os.path.join(WORK, "live.bdump")
        run(["capture", "--node", "%s@%s" % (name, host), "--cookie-file", cookie, "-q", "-o", snap])
    finally:
        node.kill()  # only the node this test started, by its pid
        node.wait()
    html = report(snap, os.path.join(WORK, "live_capture.html"))
    url = "file://" + os.path.abspath(html)
    common(b, url, html)
    a = analyze(snap)
    check(b.eval("document.querySelector('#verdict .verdict').textContent") == a["verdict"], "live verdict")
    check(b.eval("document.querySelector('h1').textContent").startswith("Live capture of"), "not called a live capture")
    set_filter(b, "report_hog")
    rows = proc_rows(b)
    check(len(rows) == 1 and rows[0]["cells"][1] == "report_hog", "the registered process: %r" % rows)
    check("report_live_tab" in b.eval("document.getElementById('ets-table').textContent"), "the ETS table")


def shown(s):
    """A dump's string as the page shows it (cli/html.c hw_text): C0 controls as
    \\xNN, C1 and bidirectional controls as \\u{NNNN}."""
    def one(m):
        c = ord(m.group())
        return "\\x%02x" % c if c < 0x80 else "\\u{%04X}" % c
    return re.sub("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029\u200b\u2060\ufeff]", one, s)


def any_input(b, path, html):
    """Any input at all (a dump of any era, cut or odd, a snapshot, a core): the page
    renders without errors, says the verdict analyze gives and says it first, names
    the culprit, sorts and filters, and reads and prints without JavaScript."""
    p = subprocess.run([BIN, "analyze", "--json", path], capture_output=True, text=True, timeout=300)
    if p.returncode == 3:  # unreadable: report refuses it the same way, with a reason
        r = subprocess.run([BIN, "report", "-o", html, path], capture_output=True, text=True, timeout=300)
        check(r.returncode == 3 and r.stderr.strip() and not os.path.exists(html),
              "unreadable input: report exit %d %r" % (r.returncode, r.stderr))
        return "unreadable: " + r.stderr.strip()[:100]
    check(p.returncode in (0, 4), "analyze exit %d: %s" % (p.returncode, p.stderr[:200]))
    a = styled_verdict(json.loads(p.stdout), path)
    r = subprocess.run([BIN, "report", "-o", html, path], capture_output=True, text=True, timeout=300)
    check(r.returncode == p.returncode, "report exit %d, analyze %d: %s" % (r.returncode, p.returncode, r.stderr[:200]))
    url = "file://" + os.path.abspath(html)
    common(b, url, html)
    native = (b.eval("document.querySelector('h1').textContent") or "").startswith("Native crash of")
    verdict = b.eval("document.querySelector('#verdict .verdict').textContent")
    check(verdict == shown(a["verdict"]), "verdict %r, analyze says %r" % (verdict, a["verdict"]))
    top = b.eval("document.querySelector('#verdict .verdict').getBoundingClientRect().top")
    check(top < 700, "the verdict is %d px down the page" % top)
    nfind = b.eval("document.querySelectorAll('ol.findings > li').length")
    check(nfind == len(a["findings"]), "%d findings shown, analyze has %d" % (nfind, len(a["findings"])))
    if p.returncode == 4:
        check(b.eval("!!document.querySelector('#verdict .cut')"), "a partial input without the note saying so")
    nprocs = a["node"].get("processes") or 0
    nrows = len(proc_rows(b)) if not native else 0
    if nprocs and not native:
        check(nrows > 0, "empty process table")
    f0 = next((f for f in a["findings"] if f["severity"] != "info"), None)
    if f0 and f0["subject"]["type"] == "process" and f0["subject"].get("name") and not native:
        text = b.eval("document.querySelector('ol.findings > li').textContent")
        name = f0["subject"]["name"]
        check(shown(name) in text or re.sub(r"^'Elixir\.(.*)'$", r"\1", name) in text,
              "the culprit %s is not named" % name)
    if f0 and f0["subject"]["type"] == "process" and f0["subject"].get("pid") and not native:
        pid = f0["subject"]["pid"]
        set_filter(b, pid)
        rows = proc_rows(b)
        check(len(rows) >= 1 and rows[0]["cells"][0] in (pid, "#PID" + pid),
              "culprit %s not found by the filter: %r" % (pid, rows[:2]))
        check("culprit" in rows[0]["cls"], "culprit row not marked")
        check(b.eval("!!document.getElementById(%s)" % json.dumps("p-" + pid[1:-1])), "no detail for the culprit")
        set_filter(b, "")
    if nrows > 1:
        click_header(b, "proc-table", "MsgQ")
        col = [num(r["cells"][7]) for r in proc_rows(b)]
        check(col == sorted(col, reverse=True), "MsgQ not sorted descending: %r" % col[:5])
        click_header(b, "proc-table", "Memory")
        col = [num(r["cells"][6]) for r in proc_rows(b)]
        check(col == sorted(col, reverse=True), "Memory not sorted descending: %r" % col[:5])
        first = proc_rows(b)[0]["cells"][0]
        set_filter(b, first)
        check(any(r["cells"][0] == first for r in proc_rows(b)), "filter by pid lost the row")
        set_filter(b, "")
    b.open(url, javascript=False)
    text = b.eval("document.body.innerText")
    check(shown(a["verdict"]) in text, "verdict not readable without JavaScript")
    if nrows:
        check(len(proc_rows(b)) > 0, "no process rows without JavaScript")
    b.call("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        check(b.eval("document.querySelector('#verdict .verdict').checkVisibility()"), "the verdict does not print")
    finally:
        b.call("Emulation.setEmulatedMedia", {"media": ""})
    return "%s, %d findings, %d processes, %d kB" % (a["verdict"][:60], nfind, nprocs, os.path.getsize(html) >> 10)


def odd_inputs(work):
    """Dumps a reader meets in the field, made from a real one: CRLF line ends, cut
    inside a =proc section, cut in the header, no =memory, no processes."""
    src = subprocess.run(["zstd", "-dc", os.path.join(SRC, "samples", "dumps", "healthy.dump.zst")],
                         capture_output=True, check=True).stdout
    starts = [(m.start(), m.group(1)) for m in re.finditer(rb"^=([a-z_]+)", src, re.M)]

    def without(drop):
        out = [src[:starts[0][0]]]
        for i, (at, name) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else len(src)
            if not drop(name):
                out.append(src[at:end])
        return b"".join(out)
    procs = [at for at, name in starts if name == b"proc"]
    made = {"crlf": src.replace(b"\n", b"\r\n"),
            "cut_in_proc": src[:procs[len(procs) // 2] + 120],
            "cut_in_header": src[:starts[1][0] - 40],
            "no_memory": without(lambda n: n in (b"memory", b"allocator", b"allocated_areas")),
            "no_procs": without(lambda n: n.startswith(b"proc"))}
    paths = []
    for name, data in made.items():
        path = os.path.join(work, "odd_%s.dump" % name)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths


# Real dumps of other people's nodes, one per era and kind (the full set:
# `test_report.py --sweep tests/fixtures/wild`), and hostile inputs of other kinds.
WILD = ("005_r11b-0_doboot_fuzed-old", "032_r15b01_heart_smithsonian", "068_20_eheap-ex_numex",
        "071_20_childsetup_raspberrypi-live", "119_28_kernelac-rabbit_celery-rabbitmq")
HOSTILE_OTHERS = ("stack_value_at_eof_oob_read.dump", "terminal_escapes.dump", "nul_bytes.dump",
                  "memory_segv_snapshot_null_alloc_name.bdump")


def sweep(paths):
    """By hand: every input under the paths given (files or directories)."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(f for f in glob.glob(os.path.join(p, "*"))
                            if re.search(r"\.(dump|bdump)(\.(zst|gz))?$|(^|/)core[^/]*$", f))
        else:
            files.append(p)
    os.makedirs(WORK, exist_ok=True)
    failed = 0
    with Browser(width=1400, height=1000) as b:
        for f in files:
            html = os.path.join(WORK, re.sub(r"[^A-Za-z0-9_.-]", "_", f.strip("/")) + ".html")
            t = time.monotonic()
            try:
                what = any_input(b, f, html)
                print("[       OK ] %s (%.1f s): %s" % (f, time.monotonic() - t, what), flush=True)
            except Exception as e:
                failed += 1
                print("[  FAILED  ] %s: %s" % (f, e), flush=True)
    print("%d of %d inputs failed; pages in %s" % (failed, len(files), WORK))
    return 1 if failed else 0


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--sweep":
        return sweep(sys.argv[2:])
    if not find_chromium():
        print("[  FAILED  ] chromium is not installed (scripts/deps.sh installs it)")
        return 1
    os.makedirs(WORK, exist_ok=True)
    tests = []
    dumps = sorted(glob.glob(os.path.join(SRC, "samples", "dumps", "*.dump.zst")))
    for d in dumps:
        name = os.path.basename(d)[:-len(".dump.zst")]
        tests.append(("sample_" + name, d))
    t0 = time.monotonic()
    passed, failed = 0, []
    b = Browser(width=1400, height=1000)
    try:
        def one(name, fn):
            nonlocal passed
            print("[ RUN      ] %s" % name, flush=True)
            try:
                fn()
                print("[       OK ] %s" % name, flush=True)
                passed += 1
            except Exception as e:  # report and go on with the others
                if not isinstance(e, Failure):
                    traceback.print_exc()
                print("[  FAILED  ] %s: %s" % (name, e), flush=True)
                failed.append(name)

        for name, d in tests:
            html = os.path.join(WORK, name + ".html")

            def t(d=d, html=html):
                a = analyze(d)
                report(d, html)
                sample_page(b, d, html, a["verdict"], a)
                if name.endswith("healthy") or name.endswith("mailbox"):
                    no_javascript(b, html, a["verdict"])
                if a["node"]["processes"] > 200:
                    paging(b, html, a["node"]["processes"])
            one(name, t)

        def snapshot():
            src = os.path.join(SRC, "samples", "dumps", "mailbox.dump.zst")
            snap = os.path.join(WORK, "mailbox.bdump")
            run(["convert", src, "-o", snap])
            html = report(snap, os.path.join(WORK, "snapshot_mailbox.html"))
            a = analyze(snap)
            sample_page(b, src, html, a["verdict"], a)
        one("snapshot_mailbox", snapshot)

        def hostile_names():
            html = report(HOSTILE, os.path.join(WORK, "hostile_names.html"))
            hostile(b, html)
        one("hostile_names", hostile_names)

        def diff():
            base = os.path.join(SAMPLES, "ci", "leaky_baseline.dump")
            cur = os.path.join(SAMPLES, "ci", "leaky_current.dump")
            html = os.path.join(WORK, "diff.html")
            if os.path.exists(base) and os.path.exists(cur):
                report(cur, html, ["--baseline", base, "--set", "process_leak.max=5"], ok=(1,))
                diff_page(b, html, True)
            else:  # no generated CI dumps: two bundled samples
                base = os.path.join(SRC, "samples", "dumps", "healthy.dump.zst")
                cur = os.path.join(SRC, "samples", "dumps", "mailbox.dump.zst")
                report(cur, html, ["--baseline", base], ok=(0,))
                diff_page(b, html, False)
        one("diff_report", diff)

        # native crashes made by the build (samples/nif/gen.sh), when it makes them
        for label, pattern in (("native_core", "nif/null_deref/core"),
                               ("native_guard", "nif-guard/null_deref/*.bdump")):
            found = sorted(glob.glob(os.path.join(SAMPLES, pattern))) if SAMPLES else []
            if found:
                one(label, lambda p=found[0], n=label: native_crash(b, p, n))

        inputs = [("wild_" + w[:3], os.path.join(SRC, "tests", "fixtures", "wild", w + ".dump.zst")) for w in WILD]
        inputs += [("hostile_" + h.split(".")[0], os.path.join(SRC, "tests", "fixtures", "hostile", h))
                   for h in HOSTILE_OTHERS]
        inputs += [(os.path.basename(p)[:-5], p) for p in odd_inputs(WORK)]
        for name, path in inputs:
            one(name, lambda p=path, n=name: any_input(b, p, os.path.join(WORK, n + ".html")))

        if shutil.which("erl"):
            one("live_capture", lambda: live_capture(b))
        else:
            print("[  SKIPPED ] live_capture: no erl")
    finally:
        b.close()
    dt = time.monotonic() - t0
    print("[==========] %d test(s) run in %.1f s; pages and screenshots in %s" % (passed + len(failed), dt, WORK))
    print("[  PASSED  ] %d test(s)." % passed)
    if failed:
        print("[  FAILED  ] %d test(s), listed below:" % len(failed))
        for n in failed:
            print("[  FAILED  ] %s" % n)
        return 1
    if not os.environ.get("BD_BROWSER_WORK"):
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
