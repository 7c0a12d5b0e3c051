#!/usr/bin/env python3
"""compare.py: beamdump against OTP's crashdump_viewer, field by field.

    tests/cdv/compare.py [--beamdump BIN] DUMP...       (.zst/.gz inputs are unpacked)

For each dump it runs crashdump_viewer headless (cdv_json.erl, compiled on the fly)
and `beamdump <cmd> --json`, then prints every field where they differ, one line per
difference: dump, part, key, crashdump_viewer's value, beamdump's value. Exit 0 when
nothing differs, 1 otherwise. Not part of `make check` (a viewer run costs seconds per
dump); docs/reader.md explains each difference that remains and why."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)


def cdv(dump, ebin):
    r = run(["erl", "-noshell", "-pa", ebin, "-run", "cdv_json", "main", dump], timeout=900)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": (r.stdout + r.stderr)[-300:]}


def bd(binary, args, dump):
    r = run([binary] + args + ["--json", dump], timeout=600)
    try:
        return json.loads(r.stdout), r.returncode
    except ValueError:
        return None, r.returncode


def num(v):
    """The viewer keeps most numbers as text; '?', '-' and the like are unknown."""
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        if s.endswith(" ms"):
            s = s[:-3]
        try:
            return int(s)
        except ValueError:
            return None
    return None


def unquote(a):
    if isinstance(a, str):
        return a.strip("'")
    return a


def state(s):
    """The viewer adds "(limited info)" to Garbing."""
    return s.replace("\n(limited info)", "").replace(" (limited info)", "") if isinstance(s, str) else s


def nil(v):
    return None if v in ("[]", "", "undefined") else v


class Diff:
    def __init__(self, dump):
        self.dump = os.path.basename(dump)
        self.rows = []

    def eq(self, part, key, cv, bv, norm=lambda x: x):
        if norm(cv) != norm(bv):
            self.rows.append((part, key, cv, bv))


def compare(dump, binary, ebin):
    d = Diff(dump)
    c = cdv(dump, ebin)
    info, rc = bd(binary, ["info"], dump)
    if "error" in c and "general" not in c:
        if info is not None:
            d.rows.append(("load", "-", "refused", "read (exit %d)" % rc))
        return d
    if info is None:
        d.rows.append(("load", "-", "(read)", "beamdump exit %d" % rc))
        return d
    g = c.get("general", {})
    if "error" not in g:
        d.eq("general", "slogan", g.get("slogan"), info.get("slogan"))
        d.eq("general", "system_version", g.get("system_vsn"), info.get("system_version"))
        d.eq("general", "node", unquote(g.get("node_name")), unquote(info.get("node")))
        d.eq("general", "atoms", num(g.get("num_atoms")), info["counts"]["atoms"])
        d.eq("general", "processes", num(g.get("num_procs")), info["counts"]["processes"])
        d.eq("general", "ets_tables", num(g.get("num_ets")), info["counts"]["ets_tables"])
        d.eq("general", "timers", num(g.get("num_timers")), info["counts"]["timers"])
        d.eq("general", "funs", num(g.get("num_fun")), info["counts"]["funs"])
        d.eq("general", "memory_total", num(g.get("mem_tot")), info.get("memory_total"))
        d.eq("general", "calling_thread", g.get("thread"), info.get("calling_thread"))
    top, _ = bd(binary, ["top", "-n", "100000000"], dump)
    procs = c.get("processes")
    if isinstance(procs, list) and top:
        mine = {p["pid"]: p for p in top["top"]}
        for p in procs:
            b = mine.get(p["pid"])
            if not b:
                d.rows.append(("processes", p["pid"], "present", "missing"))
                continue
            key = p["pid"]
            # The viewer names an unregistered process by its initial call.
            nm = p.get("name")
            nm = None if nm in ("", None, p.get("init_func")) else nm
            d.eq("processes", key + " name", nm, b.get("name"), unquote)
            d.eq("processes", key + " state", p.get("state"), b.get("state"), state)
            d.eq("processes", key + " msgq", p.get("msg_q_len"), b.get("message_queue_len"))
            d.eq("processes", key + " reductions", p.get("reds"), b.get("reductions"))
            if num(p.get("memory")) is not None and b.get("memory") is not None:
                d.eq("processes", key + " memory", p.get("memory"), b.get("memory"))
            # The viewer's summary reads Stack+heap only (no OldHeap): compare it
            # with proc's own field when top's heap (both) differs.
            if num(p.get("stack_heap")) != b.get("heap_bytes"):
                pj, _ = bd(binary, ["proc", key], dump)
                ws = info.get("word_size") or 8
                sh = pj.get("stack_heap_words") if pj else None
                d.eq("processes", key + " stack_heap", num(p.get("stack_heap")),
                     sh * ws if sh is not None else None)
        extra = set(mine) - {p["pid"] for p in procs}
        for k in sorted(extra):
            d.rows.append(("processes", k, "missing", "present"))
    ports, _ = bd(binary, ["ports", "-n", "100000000"], dump)
    cp = c.get("ports")
    if isinstance(cp, list) and ports:
        d.eq("ports", "count", len(cp), ports["ports"])
        mine = {p["id"]: p for p in ports["top"]}
        for p in cp:
            pid = p["id"]
            if isinstance(pid, str) and pid.startswith("{"):
                a, b2 = pid.strip("{}").split(",")
                pid = "#Port<%s.%s>" % (a, b2)
            b = mine.get(pid)
            if not b:
                d.rows.append(("ports", str(pid), "present", "missing"))
                continue
            for k, bk in (("input", "input"), ("output", "output"), ("queue", "queue"), ("slot", "slot")):
                d.eq("ports", "%s %s" % (pid, k), num(p.get(k)), b.get(bk))
            d.eq("ports", "%s connected" % pid, nil(p.get("connected")), b.get("connected"))
    ets, _ = bd(binary, ["ets", "-n", "100000000"], dump)
    ce = c.get("ets")
    if isinstance(ce, list) and ets:
        d.eq("ets", "count", len(ce), ets["tables"])
        mine = {}
        for t in ets["ets"]:
            mine.setdefault((t["owner"], unquote(t["table"])), t)
        for t in ce:
            b = mine.get((t["pid"], unquote(t["id"])))
            if not b:
                d.rows.append(("ets", "%s %s" % (t["pid"], t["id"]), "present", "missing"))
                continue
            k = "%s %s" % (t["pid"], t["id"])
            d.eq("ets", k + " objects", num(t.get("size")), b.get("objects"))
            mem = t.get("memory")
            if isinstance(mem, str) and mem.startswith("{bytes,"):
                mem = int(mem[7:-1])
            d.eq("ets", k + " memory", num(mem), b.get("memory"))
    tim, _ = bd(binary, ["timers", "-n", "100000000"], dump)
    ct = c.get("timers")
    if isinstance(ct, list) and tim:
        d.eq("timers", "count", len(ct), tim["timers"])
        # The viewer sorts; compare as sets of (owner, message, time left).
        cs = sorted((str(a.get("pid")), str(a.get("msg")), num(a.get("time"))) for a in ct)
        bs = sorted((str(b.get("owner_pid") or b.get("owner")), str(b.get("message")),
                     b.get("time_left_ms")) for b in tim["rows"])
        for a, b in zip(cs, bs):
            d.eq("timers", a[0], a, b)
    funs, _ = bd(binary, ["funs", "-n", "0"], dump)
    if isinstance(c.get("funs"), list) and funs:
        d.eq("funs", "count", len(c["funs"]), funs["funs"])
    mods, _ = bd(binary, ["modules", "-n", "100000000"], dump)
    cm = c.get("modules")
    if isinstance(cm, list) and mods:
        d.eq("modules", "count", len(cm), mods["modules"])
        mine = {unquote(m["name"]): m for m in mods["rows"]}
        for m in cm:
            b = mine.get(unquote(m["mod"]))
            if not b:
                d.rows.append(("modules", m["mod"], "present", "missing"))
                continue
            d.eq("modules", m["mod"] + " current_size", num(m.get("current_size")), b.get("current_size"))
            d.eq("modules", m["mod"] + " old_size", num(m.get("old_size")), b.get("old_size"))
    nodes, _ = bd(binary, ["nodes"], dump)
    cn = c.get("nodes")
    if isinstance(cn, list) and nodes:
        mine = {unquote(n["name"]): n for n in nodes["nodes"]}
        for n in cn:
            b = mine.get(unquote(n["name"]))
            if not b:
                d.rows.append(("nodes", n["name"], "present", "missing"))
                continue
            d.eq("nodes", n["name"] + " channel", num(n.get("channel")), b.get("channel"))
            d.eq("nodes", n["name"] + " links", n.get("remote_links"), b.get("remote_links"))
            d.eq("nodes", n["name"] + " monitors", n.get("remote_mon"), b.get("remote_monitors"))
            d.eq("nodes", n["name"] + " monitored_by", n.get("remote_mon_by"), b.get("remotely_monitored_by"))
    tables, _ = bd(binary, ["tables"], dump)
    if tables and isinstance(c.get("index_tables"), list):
        mine = {t["name"]: t for t in tables["tables"] if t["kind"] == "index"}
        for t in c["index_tables"]:
            b = mine.get(t["name"])
            if b:
                d.eq("index_tables", t["name"] + " limit", num(t.get("limit")), b.get("limit"))
                d.eq("index_tables", t["name"] + " entries", num(t.get("entries")), b.get("entries"))
    pt, _ = bd(binary, ["persistent-terms", "-n", "0"], dump)
    if pt and isinstance(c.get("pterms"), int):
        d.eq("persistent_terms", "count", c["pterms"], pt["persistent_terms"])
    for part in ("general", "processes", "ports", "ets", "timers", "funs", "modules", "nodes",
                 "index_tables", "pterms"):
        v = c.get(part)
        if isinstance(v, dict) and "error" in v:
            d.rows.append((part, "viewer", "error: " + v["error"][:120], "(beamdump reads it)"))
    return d


def unpack(path, tmp):
    if path.endswith(".zst"):
        out = os.path.join(tmp, os.path.basename(path)[:-4])
        subprocess.run(["zstd", "-q", "-d", "-f", path, "-o", out], check=True)
        return out
    if path.endswith(".gz"):
        out = os.path.join(tmp, os.path.basename(path)[:-3])
        with open(out, "wb") as f:
            subprocess.run(["gzip", "-dc", path], stdout=f, check=True)
        return out
    return path


def main(argv):
    binary = "build/beamdump"
    if len(argv) > 2 and argv[1] == "--beamdump":
        binary = argv[2]
        argv = argv[2:]
    with tempfile.TemporaryDirectory() as tmp:
        ebin = os.path.join(tmp, "ebin")
        os.mkdir(ebin)
        subprocess.run(["erlc", "-o", ebin, os.path.join(HERE, "cdv_json.erl")], check=True)
        bad = 0
        for path in argv[1:]:
            dump = unpack(path, tmp)
            d = compare(dump, binary, ebin)
            for part, key, cv, bv in d.rows:
                one = lambda v: str(v).replace("\n", "\\n")[:160]
                print("%s\t%s\t%s\tcdv=%s\tbeamdump=%s" % (d.dump, part, key, one(cv), one(bv)))
            if not d.rows:
                print("%s\tsame" % d.dump)
            bad += bool(d.rows)
            if dump != path:
                os.unlink(dump)
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
