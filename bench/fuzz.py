"""Long fuzzing runs of the model readers: the generators of tests/fuzz, driven by plain ``random``.

  .venv/bin/python bench/fuzz.py [--cases 100000] [--entries params,symbol,...] [--jobs 2]
                                 [--seed 0] [--out DIR] [--mem-mib 1024] [--timeout 20]

Entry points (tests/fuzz/generators.py says what each mutates):
  params       parse_params(bytes)              .params bytes: bit flips, edge values in every header
                                                 field, truncation, huge lengths, wrong dtypes, NaN/inf
  params_file  load_params(path)                the same through the memory map
  symbol       parse_symbol(doc) / load_symbol  mutated documents and mutated JSON text
  mxnet        modelport.load(symbol, params)   mutated graphs with valid weights, mutated weights
  onnx         modelport.load(model.onnx)       mutated bytes and protos, external data anywhere

--cases is the total, shared between the entry points by --split (default weights
35/10/25/15/15: the parsers are cheap, whole loads are not). Case i of an entry point is
generated from random.Random(f"{seed}:{entry}:{i}"), so any case can be regenerated
from its number. Each entry point runs in child processes (--jobs of them, each
taking a slice of the case numbers) whose address space is capped at what they use
after start-up plus --mem-mib: an allocation the input cannot back raises MemoryError
there, and is reported like any other exception. A child killed by a signal (a crash
in C code) is restarted after the case it died on, which is reported as a crash; a
case running past --timeout seconds is reported as a hang.

Only a ModelportError may come out of an entry point. Every other exception is
grouped by (type, last modelport frame); the first --keep cases of each group are saved
under --out (the case's files, case.pickle and repro.py, which replays it), and
groups that fuzz.generators.KNOWN_BUGS lists (bugs reported, outside the readers)
are marked known. Exit status 1 when a new kind of exception was found.
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]  # tests first: 'fuzz' is tests/fuzz, not this file
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

from fuzz.generators import ENTRY_POINTS, GENERATORS, RandomDraw, build_seeds, known_bug, run_case, save_reproducer  # noqa: E402

SPLIT = {"params": 35, "params_file": 10, "symbol": 25, "mxnet": 15, "onnx": 15}


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("the case ran past --timeout")


def signature(exc: BaseException) -> tuple[str, str]:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/src/modelport/" in f.filename.replace("\\", "/")]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    if where is None:
        return type(exc).__name__, "?"
    name = where.filename.replace("\\", "/").split("/src/modelport/", 1)[-1]
    return type(exc).__name__, f"{name}:{where.lineno} {where.name}"


def _cap_memory(mib: int) -> None:
    import resource

    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + mib * 2**20, resource.RLIM_INFINITY))


def case_of(seeds, seed: int, entry: str, i: int):
    return GENERATORS[entry](seeds, RandomDraw(random.Random(f"{seed}:{entry}:{i}")))


def worker(seeds, args, entry: str, start: int, stop: int, position, results) -> None:
    """Run cases start..stop-1; ``position`` holds the case running now (for crash reports)."""
    from modelport.errors import ModelportError

    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    import modelport  # noqa: F401 - import the readers before the memory cap is set
    import modelport.frontends.mxnet.importer  # noqa: F401
    import modelport.frontends.onnx.frontend  # noqa: F401
    import onnx.version_converter  # noqa: F401
    import onnx_ir  # noqa: F401
    from modelport.frontends.mxnet.registry import load_all

    load_all()
    if args.mem_mib and sys.platform.startswith("linux"):
        _cap_memory(args.mem_mib)
    signal.signal(signal.SIGALRM, _alarm)
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{entry}-"))
    counts, groups, run_time = Counter(), {}, 0.0
    gen_time = 0.0
    for i in range(start, stop):
        position.value = i
        t0 = time.perf_counter()
        case = case_of(seeds, args.seed, entry, i)
        t1 = time.perf_counter()
        gen_time += t1 - t0
        signal.alarm(args.timeout)
        try:
            run_case(case, folder / "case")
            counts["accepted"] += 1
        except ModelportError:
            counts["refused"] += 1
        except (Exception, Hang) as exc:  # noqa: BLE001 - that is what we are looking for
            signal.alarm(0)
            counts["exceptions"] += 1
            sig = signature(exc)
            group = groups.setdefault(sig, {"count": 0, "cases": [], "known": known_bug(exc), "message": str(exc)[:300]})
            group["count"] += 1
            if len(group["cases"]) < args.keep:
                group["cases"].append(i)
                text = "".join(traceback.format_exception(exc))
                save_reproducer(case, Path(args.out) / entry / f"case{i}", text)
        finally:
            signal.alarm(0)
        run_time += time.perf_counter() - t1
        counts["ran"] += 1
    position.value = stop
    results.put((entry, start, dict(counts), groups, run_time, gen_time))


def run_entry(seeds, args, entry: str, n: int) -> dict:
    """n cases of ``entry`` over --jobs children, restarted past any case that kills them."""
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    bounds = [(n * k // args.jobs, n * (k + 1) // args.jobs) for k in range(args.jobs)]
    pending = [b for b in bounds if b[0] < b[1]]
    running: list[tuple] = []
    totals = {"counts": Counter(), "groups": {}, "run_time": 0.0, "gen_time": 0.0}
    started = time.perf_counter()
    reports = crashed = 0

    def launch(lo, hi):
        position = ctx.Value("q", lo)
        proc = ctx.Process(target=worker, args=(seeds, args, entry, lo, hi, position, results))
        proc.start()
        running.append((proc, position, lo, hi))

    for lo, hi in pending:
        launch(lo, hi)
    expected = len(pending)
    while running:
        time.sleep(0.05)
        while not results.empty():
            _merge(totals, results.get())
            reports += 1
        for item in list(running):
            proc, position, lo, hi = item
            if proc.is_alive():
                continue
            proc.join()
            running.remove(item)
            if proc.exitcode != 0:  # died inside a case: report it, go on after it
                crashed += 1
                i = position.value
                sig = (f"crash (exit {proc.exitcode})", "?")
                group = totals["groups"].setdefault(sig, {"count": 0, "cases": [], "known": None, "message": ""})
                group["count"] += 1
                totals["counts"]["exceptions"] += 1
                if len(group["cases"]) < args.keep:
                    group["cases"].append(i)
                    save_reproducer(case_of(seeds, args.seed, entry, i), Path(args.out) / entry / f"case{i}",
                                    f"the process died with exit code {proc.exitcode}")
                if i + 1 < hi:
                    launch(i + 1, hi)
                    expected += 1
                totals["counts"]["lost"] += i - lo  # finished by the dead child, outcome unknown
    while reports < expected - crashed:
        _merge(totals, results.get(timeout=30))
        reports += 1
    totals["wall"] = time.perf_counter() - started
    totals["cases"] = n
    return totals


def _merge(totals, report) -> None:
    _, _, counts, groups, run_time, gen_time = report
    totals["counts"].update(counts)
    totals["run_time"] += run_time
    totals["gen_time"] += gen_time
    for sig, group in groups.items():
        mine = totals["groups"].setdefault(sig, {"count": 0, "cases": [], "known": group["known"],
                                                 "message": group["message"]})
        mine["count"] += group["count"]
        mine["cases"] += group["cases"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100000, help="total number of cases (default 100000)")
    parser.add_argument("--entries", default=",".join(ENTRY_POINTS), help="comma-separated entry points")
    parser.add_argument("--split", default=None, help="weights per entry point, e.g. params=35,mxnet=15")
    parser.add_argument("--jobs", type=int, default=1, help="child processes per entry point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "modelport-fuzz"),
                        help="folder for reproducers (default: $TMPDIR/modelport-fuzz)")
    parser.add_argument("--keep", type=int, default=3, help="reproducers kept per kind of exception")
    parser.add_argument("--mem-mib", type=int, default=1024, help="address space allowed above start-up (0: no cap)")
    parser.add_argument("--timeout", type=int, default=20, help="seconds per case before it counts as a hang")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "models"),
                        help="../shared/models: its MTCNN files join the seeds when present")
    args = parser.parse_args(argv)

    entries = [e.strip() for e in args.entries.split(",") if e.strip()]
    unknown = [e for e in entries if e not in ENTRY_POINTS]
    if unknown:
        parser.error(f"unknown entry point(s) {unknown}; choose from {', '.join(ENTRY_POINTS)}")
    weights = dict(SPLIT)
    if args.split:
        weights.update({k: float(v) for k, v in (item.split("=") for item in args.split.split(","))})
    total_weight = sum(weights[e] for e in entries)
    shares = {e: int(args.cases * weights[e] / total_weight) for e in entries}
    shares[entries[0]] += args.cases - sum(shares.values())

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        shared = Path(args.shared)
        seeds = build_seeds(Path(tmp), shared if shared.is_dir() else None)
        print(f"seeds: {seeds!r}; {args.cases} cases, seed {args.seed}, {args.jobs} job(s) per entry point, "
              f"memory cap +{args.mem_mib} MiB, reproducers in {args.out}/", flush=True)
        summary = {}
        for entry in entries:
            totals = run_entry(seeds, args, entry, shares[entry])
            summary[entry] = totals
            c = totals["counts"]
            alone = f"{c['ran'] / totals['run_time']:8.1f}/s" if totals["run_time"] else "n/a"
            print(f"{entry:12s} {totals['cases']:7d} cases in {totals['wall']:7.1f} s = "
                  f"{totals['cases'] / totals['wall']:8.1f} cases/s (entry point alone: {alone} per process); "
                  f"accepted {c['accepted']}, refused with ModelportError {c['refused']}, "
                  f"other exceptions {c['exceptions']}" + (f", lost to crashes {c['lost']}" if c["lost"] else ""),
                  flush=True)
            for (kind, where), group in sorted(totals["groups"].items(), key=lambda kv: -kv[1]["count"]):
                label = f"known {group['known'].split(':')[0]}" if group["known"] else "NEW"
                print(f"    {group['count']:6d} x {kind} at {where} [{label}] e.g. cases {group['cases'][:3]}: "
                      f"{group['message'][:160]!r}", flush=True)
    new = sum(1 for t in summary.values() for g in t["groups"].values() if not g["known"])
    total_cases = sum(t["cases"] for t in summary.values())
    total_wall = sum(t["wall"] for t in summary.values())
    print(f"total: {total_cases} cases in {total_wall:.1f} s; "
          f"{sum(t['counts']['exceptions'] for t in summary.values())} non-ModelportError exceptions in "
          f"{sum(len(t['groups']) for t in summary.values())} kinds, {new} not known")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
