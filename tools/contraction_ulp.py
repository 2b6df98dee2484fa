"""Accuracy of sig and log_sig (method 0) against a long-double oracle.

Errors are in ulp of each result's largest entry, over the reference cases of
``../shared/reference``. Run it with two builds (say, before and after a change of the
floating-point contraction rule) to compare their accuracy::

    python tools/contraction_ulp.py errors.npy

The oracle forms Chen products of segment exponentials and the truncated tensor log in
``np.longdouble`` (a 64-bit mantissa on x86-64).
"""

import json
import os
import sys

import numpy as np

import sksig

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference")
LD = np.longdouble


def mul(a, b, d, degree):
    """Truncated tensor product of two level lists."""
    out = []
    for n in range(degree + 1):
        acc = np.zeros(d**n, dtype=LD)
        for i in range(n + 1):
            acc += np.outer(a[i], b[n - i]).ravel()
        out.append(acc)
    return out


def segment_exp(v, degree):
    levels = [np.ones(1, dtype=LD)]
    for k in range(1, degree + 1):
        levels.append(np.outer(levels[-1], v).ravel() / LD(k))
    return levels


def signature(path, degree):
    path = np.asarray(path, dtype=LD)
    d = path.shape[1]
    s = [np.zeros(d**k, dtype=LD) for k in range(degree + 1)]
    s[0][0] = 1
    for t in range(len(path) - 1):
        s = mul(s, segment_exp(path[t + 1] - path[t], degree), d, degree)
    return s


def tensor_log(s, d, degree):
    x = [np.zeros(1, dtype=LD)] + s[1:]
    out = [np.zeros(d**k, dtype=LD) for k in range(degree + 1)]
    power = x
    for k in range(1, degree + 1):
        for n in range(degree + 1):
            out[n] += (-1) ** (k + 1) * power[n] / LD(k)
        power = mul(power, x, d, degree)
    return out


def ulp_error(got, want):
    got = np.asarray(got, float).astype(LD)
    return float(np.max(np.abs(got - want)) / np.spacing(float(np.max(np.abs(want)))))


def cases(name):
    z = np.load(os.path.join(REFERENCE, name))
    for case in json.loads(str(z["meta"]))["cases"]:
        if case["function"] in ("sig", "log_sig") and "path" in case["inputs"]:
            yield case, z[case["inputs"]["path"]]


def transformed(case, path):
    kw = case["kwargs"]
    tp = sksig.transform_path(path, time_aug=kw.get("time_aug", False),
                              lead_lag=kw.get("lead_lag", False),
                              end_time=kw.get("end_time", 1.0))
    return tp.reshape(-1, *tp.shape[-2:])


def main(out):
    errors = []
    for case, path in cases("sig.npz"):
        degree = int(case["call"].split(",")[1])
        want = np.stack([np.concatenate(signature(p, degree))
                         for p in transformed(case, path)])
        if "scalar_term=True" not in case["call"]:
            want = want[:, 1:]
        got = eval(case["call"], {"sksig": sksig, "path": path})
        errors.append(ulp_error(got.reshape(want.shape), want))
    for case, path in cases("log_sig.npz"):
        if "method=1" in case["call"] or "method=2" in case["call"]:
            continue
        degree = int(case["call"].split(",")[1])
        tps = transformed(case, path)
        d = tps.shape[-1]
        want = np.stack([np.concatenate(tensor_log(signature(p, degree), d, degree)[1:])
                         for p in tps])
        got = eval(case["call"], {"sksig": sksig, "path": path})
        if got.size == want.size:
            errors.append(ulp_error(got.reshape(want.shape), want))
    np.save(out, np.array(errors))
    print(f"{len(errors)} cases: mean {np.mean(errors):.2f} ulp, max {max(errors):.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
