"""
===============================================
Convergence of the signature kernel in the grid
===============================================

sksig solves the Goursat PDE of the signature kernel on a grid that splits every
pair of path segments into :math:`2^\\lambda \\times 2^\\lambda` cells, where
:math:`\\lambda` is ``dyadic_order``. We compare with two exact values:

* two single segments with increments 1 and 2 and the linear static kernel, whose
  kernel is the modified Bessel value :math:`I_0(2\\sqrt{2})`;
* two random 3-D paths, whose kernel is the inner product of their full
  signatures, summed over levels (the sum converges fast for small paths).

Each extra dyadic order halves the cell size in both directions: once the grid is
fine enough, the error falls by about a factor 4 per order (the scheme is
second-order accurate in the cell size; at the first orders the value can cross the
exact one, which makes a lucky dip), while the work grows by a factor 4. For smooth,
small increments a low order is already accurate; large or rough increments need
more refinement.
"""

# %%
# Errors against exact values
# ---------------------------
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import i0

import sksig

orders = np.arange(0, 8)

x = np.array([[0.0], [1.0]])
y = np.array([[0.0], [2.0]])
exact_segments = i0(2 * np.sqrt(2.0))
err_segments = [abs(float(sksig.sig_kernel(x, y, dyadic_order=int(o)))
                    - exact_segments) for o in orders]

rng = np.random.default_rng(1)
p = rng.standard_normal((2, 20, 3)).cumsum(axis=1) / 8
levels = 12
s1, s2 = sksig.sig(p[0], levels), sksig.sig(p[1], levels)
exact_paths = 1.0 + float(s1 @ s2)  # level 0 contributes 1
err_paths, seconds = [], []
for o in orders:
    start = time.perf_counter()
    k = float(sksig.sig_kernel(p[0], p[1], dyadic_order=int(o)))
    seconds.append(time.perf_counter() - start)
    err_paths.append(abs(k - exact_paths))
for o, e1, e2, t in zip(orders, err_segments, err_paths, seconds):
    print(f"order {o}: errors {e1:.1e} (segments), {e2:.1e} (paths), {1e3 * t:.1f} ms")

# %%
# The convergence plot
# --------------------
fig, ax = plt.subplots(figsize=(6.4, 4.2))
ax.semilogy(orders, err_segments, "o-", label="two segments vs $I_0(2\\sqrt{2})$")
ax.semilogy(orders, err_paths, "s-", label="random 3-D paths vs signature series")
ax.semilogy(orders, err_segments[0] * 4.0 ** -orders, "k:",
            label="reference slope $4^{-\\lambda}$")
ax.semilogy(orders, err_paths[0] * 4.0 ** -orders, "k:")
ax.set(xlabel="dyadic order $\\lambda$", ylabel="absolute error",
       title="Signature kernel: error against the dyadic order")
ax.legend(fontsize=8)
fig.tight_layout()
