#!/usr/bin/env python3
"""Measurement and report helper for scripts/bench-vs-hf.sh (method: benches/README.md).

  measure --out RUN.json --log LOG [--sample-ms N] [--grace-s N] -- COMMAND...
      Runs COMMAND once and writes one JSON object: wall seconds (spawn to the command's exit),
      CPU seconds of the whole process tree, peak memory of the whole tree, and what outlived it.
  probe --out PROBE.json --ffprobe FFPROBE --framefan BIN FILE
      Reads a finished output back (ffprobe packets, `framefan verify --json`).
  report RESULTS.jsonl
      Prints the per-composition tables (markdown) and the ratios against the targets.

How the tree is measured, and why this way:
  * This process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so every
    descendant that loses its parent (a Chromium zygote's children, a daemonised helper) is
    re-parented here instead of to PID 1. Once the command has exited, this process reaps every
    remaining descendant; getrusage(RUSAGE_CHILDREN) then holds the user + system time of all of
    them (a process's children's time is added to it when it reaps them, and everything ends up
    reaped by a parent inside the tree or by this process). No root, no cgroup needed.
  * Memory: every --sample-ms the tree (all descendants of this process, found through the ppid in
    /proc/PID/stat) is summed from /proc/PID/smaps_rollup: PSS (proportional set size: a page
    shared by n processes counts 1/n in each, so shared libraries and Chromium's shared memory are
    counted once over the tree) and RSS (shared pages once per process, an overestimate). The peak
    of each sum is reported. cgroup v2 memory.peak would be exact but needs a cgroup v2 memory
    controller that this user may write to, which the benchmark machine does not have (see
    benches/README.md).
  * Processes still alive when the command exits are waited for --grace-s seconds (their CPU
    still counts), then killed; their names are reported as leftovers.
"""

import ctypes
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
CLK_TCK = os.sysconf("SC_CLK_TCK")


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def proc_table():
    """{pid: (ppid, comm, cpu_ticks)} for every process visible in /proc."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        # comm may contain spaces and parentheses: it ends at the last ')'.
        head, _, rest = raw.rpartition(")")
        fields = rest.split()
        comm = head.partition("(")[2]
        table[int(name)] = (int(fields[1]), comm, int(fields[11]) + int(fields[12]))
    return table


def descendants(root, table):
    children = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def rollup(pid):
    """(rss_kib, pss_kib) of one process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            text = f.read().decode()
    except OSError:
        return None
    rss = pss = 0
    for line in text.splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


class Sampler(threading.Thread):
    """Sums the tree's memory every interval and keeps the peaks."""

    def __init__(self, interval):
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()
        self.peak_pss = self.peak_rss = self.peak_procs = 0
        self.peak_pss_at = 0.0
        self.samples = 0
        self.cpu_ticks = {}  # pid -> last CPU ticks seen (a lower bound of the tree's CPU)
        self.comms = {}
        self.t0 = time.monotonic()

    def sample(self):
        table = proc_table()
        pids = descendants(os.getpid(), table)
        rss = pss = 0
        for pid in pids:
            self.cpu_ticks[pid] = table[pid][2]
            self.comms[pid] = table[pid][1]
            r = rollup(pid)
            if r:
                rss += r[0]
                pss += r[1]
        self.samples += 1
        if pss > self.peak_pss:
            self.peak_pss, self.peak_pss_at = pss, time.monotonic() - self.t0
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_procs = max(self.peak_procs, len(pids))

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def reap_all(deadline):
    """Reaps descendants until none is left or the deadline passes; returns True when none is left."""
    while True:
        try:
            pid, _, _ = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def measure(argv):
    opts, cmd = parse_opts(argv, {"--out": None, "--log": None, "--sample-ms": "1000", "--grace-s": "5"})
    set_subreaper()
    sampler = Sampler(int(opts["--sample-ms"]) / 1000)
    load_before = loadavg()
    log = os.open(opts["--log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    t0 = time.monotonic()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)])
    os.close(log)
    sampler.start()
    status = None
    interrupted = False
    while status is None:
        try:
            got, st, _ = os.wait4(-1, 0)  # orphans re-parented here are reaped on the way
        except KeyboardInterrupt:
            interrupted = True  # the command got the same SIGINT; wait for it to stop
            continue
        if got == pid:
            status, wall = st, time.monotonic() - t0
    # What is still running now outlived the command: give it the grace period, then kill it.
    left = descendants(os.getpid(), proc_table())
    leftovers = sorted({sampler.comms.get(p, "?") for p in left})
    clean = reap_all(time.monotonic() + float(opts["--grace-s"]))
    killed = []
    if not clean:
        table = proc_table()
        for p in descendants(os.getpid(), table):
            killed.append(table[p][1])
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap_all(time.monotonic() + 10)
    sampler.stop.set()
    sampler.join()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "exitCode": os.waitstatus_to_exitcode(status),
        "wallS": round(wall, 3),
        "cpuS": round(ru.ru_utime + ru.ru_stime, 3),
        "cpuUserS": round(ru.ru_utime, 3),
        "cpuSysS": round(ru.ru_stime, 3),
        "cpuSampledS": round(sum(sampler.cpu_ticks.values()) / CLK_TCK, 2),
        "peakPssMiB": round(sampler.peak_pss / 1024, 1),
        "peakPssAtS": round(sampler.peak_pss_at, 2),
        "peakRssSumMiB": round(sampler.peak_rss / 1024, 1),
        "maxRssOneProcessMiB": round(ru.ru_maxrss / 1024, 1),
        "peakProcesses": sampler.peak_procs,
        "processesSeen": len(sampler.comms),
        "samples": sampler.samples,
        "samplerCpuS": round(me.ru_utime + me.ru_stime, 3),
        "aliveAtExit": leftovers,
        "killedAfterGrace": sorted(set(killed)),
        "loadBefore": load_before,
        "loadAfter": loadavg(),
        "interrupted": interrupted,
    }
    with open(opts["--out"], "w") as f:
        json.dump(result, f)
    return 130 if interrupted else 0


def probe(argv):
    opts, rest = parse_opts(argv, {"--out": None, "--ffprobe": "ffprobe", "--framefan": None})
    path = rest[0]
    out = {"file": path, "sizeBytes": os.path.getsize(path) if os.path.isfile(path) else None}
    if out["sizeBytes"]:
        p = subprocess.run([opts["--ffprobe"], "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate:packet=flags:format=duration",
                            "-of", "json", "-show_packets", path], capture_output=True, text=True)
        if p.returncode == 0:
            j = json.loads(p.stdout)
            s = j["streams"][0]
            pk = j.get("packets", [])
            out.update({"frames": len(pk), "keyframes": sum("K" in x.get("flags", "") for x in pk),
                        "width": s["width"], "height": s["height"], "pixFmt": s.get("pix_fmt"),
                        "rFrameRate": s["r_frame_rate"], "avgFrameRate": s["avg_frame_rate"],
                        "durationS": float(j["format"]["duration"])})
        else:
            out["ffprobeError"] = p.stderr.strip()[-300:]
        v = subprocess.run([opts["--framefan"], "verify", path, "--json"], capture_output=True, text=True)
        try:
            vj = json.loads(v.stdout.strip().splitlines()[-1])
            out["verify"] = {"consistent": vj.get("consistent"), "frames": vj.get("frames"),
                             "durationSeconds": vj.get("durationSeconds"), "indexFirst": vj.get("indexFirst"),
                             "problems": vj.get("problems")}
        except (ValueError, IndexError):
            out["verify"] = {"consistent": False, "problems": [v.stderr.strip()[-300:]]}
    with open(opts["--out"], "w") as f:
        json.dump(out, f)
    return 0


def parse_opts(argv, defaults):
    opts, rest = dict(defaults), []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i + 1:])
            break
        if a in opts:
            opts[a] = argv[i + 1]
            i += 2
        else:
            rest.append(a)
            i += 1
    missing = [k for k, v in opts.items() if v is None]
    if missing or not rest:
        sys.exit(f"bench-vs-hf.py: missing {' '.join(missing) or 'the command/file'}")
    return opts, rest


# ---------------------------------------------------------------- report


def mmm(xs, fmt):
    xs = sorted(xs)
    return " / ".join(fmt.format(v) for v in (xs[0], statistics.median(xs), xs[-1]))


def spread(xs):
    """(max - min) / median, in percent: how noisy a metric was."""
    m = statistics.median(xs)
    return 100 * (max(xs) - min(xs)) / m if m else 0.0


def report(argv):
    rows = [json.loads(line) for line in open(argv[0]) if line.strip()]
    measured = [r for r in rows if not r.get("warmup")]
    comps = list(dict.fromkeys(r["composition"] for r in measured))
    failures = 0
    for comp in comps:
        runs = [r for r in measured if r["composition"] == comp]
        ff = [r for r in runs if r["tool"] == "framefan"]
        hf = [r for r in runs if r["tool"] == "hyperframes"]
        print(f"\n### {comp}\n")
        probe_ff = next((r["probe"] for r in reversed(ff) if r.get("probe")), {})
        probe_hf = next((r["probe"] for r in reversed(hf) if r.get("probe")), {})
        print(f"{len(ff)} framefan runs, {len(hf)} HyperFrames runs, interleaved A B; "
              f"{probe_ff.get('frames', '?')} frames {probe_ff.get('width', '?')}×{probe_ff.get('height', '?')}; "
              f"load average (1 min) {min(r['loadBefore'][0] for r in runs):.1f}–{max(r['loadAfter'][0] for r in runs):.1f}\n")
        print("| metric | framefan min / median / max | HyperFrames min / median / max | ratio ff/HF per pair: min / **median** / max | spread ff, HF |")
        print("|---|---|---|---|---|")
        pairs = [(a, b) for a, b in zip(ff, hf) if a["exitCode"] == 0 and b["exitCode"] == 0]
        for key, name, fmt in (("wallS", "wall (s)", "{:.2f}"), ("cpuS", "CPU user+sys (s)", "{:.1f}"),
                               ("peakPssMiB", "peak memory, PSS sum (MiB)", "{:.0f}"),
                               ("peakRssSumMiB", "peak RSS sum (MiB)", "{:.0f}")):
            a = [r[key] for r in ff if r["exitCode"] == 0] or [float("nan")]
            b = [r[key] for r in hf if r["exitCode"] == 0] or [float("nan")]
            ratios = [x[key] / y[key] for x, y in pairs if y[key]]
            rtxt = mmm(ratios, "{:.2f}") if ratios else "—"
            if ratios:
                lo, med, hi = rtxt.split(" / ")
                rtxt = f"{lo} / **{med}** / {hi}"
            print(f"| {name} | {mmm(a, fmt)} | {mmm(b, fmt)} | {rtxt} | {spread(a):.0f} %, {spread(b):.0f} % |")
        print(f"| processes (peak at once / seen) | {max(r['peakProcesses'] for r in ff)} / {max(r['processesSeen'] for r in ff)}"
              f" | {max(r['peakProcesses'] for r in hf)} / {max(r['processesSeen'] for r in hf)} | | |")
        print(f"| file size (bytes), keyframes | {probe_ff.get('sizeBytes', '?')}, {probe_ff.get('keyframes', '?')}"
              f" | {probe_hf.get('sizeBytes', '?')}, {probe_hf.get('keyframes', '?')}"
              f" | {fmt_ratio(probe_ff.get('sizeBytes'), probe_hf.get('sizeBytes'))} | |")
        share = statistics.median(r["samplerCpuS"] / r["wallS"] for r in runs)
        print(f"\nMemory sampler: {statistics.median(r['samples'] for r in runs):.0f} samples a run (median), "
              f"its own CPU {100 * share:.1f} % of one core, outside the measured tree.")
        wall = [x["wallS"] / y["wallS"] for x, y in pairs]
        mem = [x["peakPssMiB"] / y["peakPssMiB"] for x, y in pairs if y["peakPssMiB"]]
        if wall and mem:
            w, m = statistics.median(wall), statistics.median(mem)
            print(f"\nTargets (issue 19): wall ≤ 0.5× HyperFrames: **{w:.2f}×, {'met' if w <= 0.5 else 'not met'}**; "
                  f"peak memory ≤ HyperFrames': **{m:.2f}×, {'met' if m <= 1.0 else 'not met'}**.")
        planned = next((r.get("plannedFrames") for r in ff if r.get("plannedFrames")), None)
        notes = [] if planned else ["framefan's `render --json` gave no frame count to check against"]
        for r in runs:
            p = r.get("probe") or {}
            tag = f"{r['tool']} run {r['run']}"
            if r["exitCode"] != 0:
                notes.append(f"{tag}: exit code {r['exitCode']} (log: {r['log']})")
                failures += 1
            problems = check_probe(p, probe_ff, planned)
            if problems:
                notes.append(f"{tag}: {'; '.join(problems)}")
                failures += 1
            if r["aliveAtExit"]:
                notes.append(f"{tag}: alive when the command exited: {', '.join(r['aliveAtExit'])}"
                             + (f"; killed after the grace period: {', '.join(r['killedAfterGrace'])}" if r["killedAfterGrace"] else "; they exited within the grace period"))
        if notes:
            print("\nNotes:\n" + "\n".join(f"- {n}" for n in notes))
        else:
            print("\nEvery output verified (frames, fps, duration; `framefan verify` consistent); no process outlived its command.")
    return 1 if failures else 0


def fmt_ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def check_probe(p, ref, planned):
    """Problems with one output: unreadable, inconsistent, or not the frames framefan planned."""
    if not p:
        return ["not probed"]
    if "frames" not in p:
        return [f"unreadable: {p.get('ffprobeError', 'no file')}"]
    problems = []
    v = p.get("verify") or {}
    if not v.get("consistent"):
        problems.append(f"framefan verify: {v.get('problems')}")
    if p["rFrameRate"] != p["avgFrameRate"]:
        problems.append(f"r_frame_rate {p['rFrameRate']} ≠ avg_frame_rate {p['avgFrameRate']}")
    num, den = (int(x) for x in p["rFrameRate"].split("/"))
    if abs(p["durationS"] - p["frames"] * den / num) > den / num / 2:
        problems.append(f"duration {p['durationS']} s for {p['frames']} frames at {p['rFrameRate']}")
    if planned and p["frames"] != planned:
        problems.append(f"{p['frames']} frames where the plan has {planned}")
    for key in ("width", "height", "rFrameRate"):
        if ref.get(key) is not None and p.get(key) != ref.get(key):
            problems.append(f"{key} {p.get(key)} where framefan's has {ref.get(key)}")
    return problems


if __name__ == "__main__":
    commands = {"measure": measure, "probe": probe, "report": report}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]](sys.argv[2:]))
