"""
Learning a static kernel's bandwidth with torch
===============================================

The static kernel inside the signature kernel has parameters (here the RBF bandwidth
``sigma``) and the paths a scale; both decide how well the Gram matrix separates the
classes. :class:`sksig.torch.SigKernelGram` is a ``torch.nn.Module`` that holds them
as log-parametrised ``torch.nn.Parameter``\\ s, so any torch optimiser can learn them.
Its gradients come from the adjoint of the signature-kernel PDE, not from finite
differences.

Here the objective is the kernel-target alignment of the training Gram on GunPoint (how
closely the centred Gram matches the label matrix ``y y^T``). An SVC on the exact
kernel is then scored with the learned parameters, against the starting ones.
"""

# %%
# Data: GunPoint, every fifth point, with a time channel added by the kernel.
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

import sksig
import sksig.torch

X, y = sksig.datasets.load_gunpoint("train", return_X_y=True)
Xt, yt = sksig.datasets.load_gunpoint("test", return_X_y=True)
scaler = sksig.PathScaler().fit(X)
X = scaler.transform(X)[:, ::5]
Xt = scaler.transform(Xt)[:, ::5]
labels = np.where(y == y[0], 1.0, -1.0)

# %%
# The module and the alignment loss. The parameters start far from a good value: a
# bandwidth of 10 makes every path look alike to the kernel.
module = sksig.torch.SigKernelGram(sksig.RBFKernel(sigma=10.0), dyadic_order=0,
                                   time_aug=True, scale=1.0)
paths = torch.tensor(X, dtype=torch.float64)
target = torch.tensor(np.outer(labels, labels))
n = len(labels)
centre = torch.eye(n, dtype=torch.float64) - 1.0 / n


def alignment(gram):
    centred = centre @ gram @ centre
    return (centred * target).sum() / (centred.norm() * target.norm())


def svc_accuracy(static_kernel, scale):
    model = make_pipeline(
        sksig.SigKernel(static_kernel=static_kernel, dyadic_order=0, time_aug=True,
                        scale=scale),
        SVC(kernel="precomputed", C=10.0),
    )
    return model.fit(X, y).score(Xt, yt)


start = svc_accuracy(module.static_kernel(), float(module.log_scale.detach().exp()))

# %%
# Gradient ascent on the alignment with Adam.
optimizer = torch.optim.Adam(module.parameters(), lr=0.15)
history = []
for _ in range(40):
    optimizer.zero_grad()
    loss = -alignment(module(paths))
    loss.backward()
    optimizer.step()
    history.append((-loss.item(), float(module.log_params["sigma"].detach().exp()),
                    float(module.log_scale.detach().exp())))

learned = module.static_kernel()
scale = float(module.log_scale.detach().exp())
end = svc_accuracy(learned, scale)
print(f"sigma 10 -> {learned.sigma:.3f}, scale 1 -> {scale:.3f}")
print(f"SVC test accuracy: {start:.3f} with the starting parameters, "
      f"{end:.3f} with the learned ones")

# %%
# The alignment along the optimiser's steps, and the parameters it moved.
history = np.array(history)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
ax1.plot(history[:, 0])
ax1.set(xlabel="Adam step", ylabel="kernel-target alignment",
        title="Objective")
ax2.semilogy(history[:, 1], label="RBF sigma")
ax2.semilogy(history[:, 2], label="path scale")
ax2.set(xlabel="Adam step", title="Learned parameters")
ax2.legend()
fig.suptitle(f"SVC test accuracy {start:.3f} -> {end:.3f}")
fig.tight_layout()
plt.show()
