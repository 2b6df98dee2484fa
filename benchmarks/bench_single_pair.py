"""Cost of one pair of paths at a high dyadic order: time and peak memory.

One pair ``x2 = [[0, 0], [0.1, 0.1]]`` against itself at dyadic orders ``(0, k)``,
the forward ``sig_kernel`` and ``sig_kernel_backprop``, sksig and pySigLib 4 side by
side. Each measurement runs in a fresh subprocess so that the peak resident
memory (VmHWM, reset before the call) is that call's alone; the table shows the peak
minus the resident memory just before the call, and the wall time of the call.

    python benchmarks/bench_single_pair.py            # the table
    python benchmarks/bench_single_pair.py --orders 0,14 0,24 --backprop 0,22
    python benchmarks/bench_single_pair.py --before /path/to/old/venv/bin/python
"""

import argparse
import json
import subprocess
import sys

_CHILD = r"""
import json, sys, time
import numpy as np
lib, what = sys.argv[1], sys.argv[2]
order = tuple(int(v) for v in sys.argv[3].split(","))
if lib == "sksig":
    import sksig as m
else:
    import pysiglib as m
x2 = np.array([[0.0, 0.0], [0.1, 0.1]])
x2b = np.ascontiguousarray(x2[None])
dy = np.ones(1)
m.sig_kernel(x2, x2, dyadic_order=0)  # load the library before measuring
m.sig_kernel_backprop(dy, x2b, x2b, dyadic_order=0)


def rss_kib(field="VmRSS:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


# Reset the peak (VmHWM) to the current resident size: the import's peak is not ours.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = rss_kib()
start = time.perf_counter()
if what == "forward":
    m.sig_kernel(x2, x2, dyadic_order=order)
else:
    m.sig_kernel_backprop(dy, x2b, x2b, dyadic_order=order)
seconds = time.perf_counter() - start
peak = rss_kib("VmHWM:")
print(json.dumps({"seconds": seconds, "mib": max(peak - before, 0) / 1024}))
"""


def measure(lib, what, order, python=sys.executable):
    out = subprocess.run([python, "-c", _CHILD, lib, what, order],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", nargs="*",
                        default=["0,14", "0,20", "0,24", "14,14"])
    parser.add_argument("--backprop", nargs="*", default=["0,22"])
    parser.add_argument("--before", metavar="PYTHON",
                        help="also run sksig with this interpreter (an older build)")
    args = parser.parse_args()
    columns = [("sksig", sys.executable)]
    if args.before:
        columns.insert(0, ("before", args.before))
    try:
        import pysiglib  # noqa: F401

        columns.append(("pysiglib", sys.executable))
    except ImportError:
        pass
    rows = ([("forward", k) for k in args.orders]
            + [("backprop", k) for k in args.backprop])
    print(f"{'case':<22}"
          + "".join(f"{n + ' s':>12}{n + ' MiB':>14}" for n, _ in columns))
    for what, order in rows:
        line = f"{what + f' ({order})':<22}"
        for name, python in columns:
            lib = "pysiglib" if name == "pysiglib" else "sksig"
            r = measure(lib, what, order, python)
            line += (f"{r['seconds']:>12.3f}{r['mib']:>14.1f}" if r
                     else f"{'failed':>26}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
