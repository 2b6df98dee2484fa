"""
=====================================================
Classifying spoken vowels with a signature-kernel SVM
=====================================================

JapaneseVowels (bundled with sksig) holds utterances of nine speakers as paths of 12
cepstrum coefficients with 7 to 29 points each. Paths of different lengths are
passed as a plain list: :class:`sksig.SigKernel` packs them exactly. Its
``transform`` returns the Gram matrix of signature kernels against the training
paths, which is what ``SVC(kernel="precomputed")`` expects.
"""

# %%
# Data and model
# --------------
import time

import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

import sksig
from sksig.datasets import load_japanese_vowels

X_train, y_train = load_japanese_vowels("train", return_X_y=True)
X_test, y_test = load_japanese_vowels("test", return_X_y=True)
print(f"{len(X_train)} training paths, {len(X_test)} test paths, "
      f"lengths {min(map(len, X_train))} to {max(map(len, X_train))}")

model = make_pipeline(
    sksig.SigKernel(static_kernel=sksig.RBFKernel(sigma=2.0), time_aug=True,
                    dyadic_order=0, n_jobs=-1),
    SVC(kernel="precomputed", C=10.0),
)
start = time.perf_counter()
model.fit(X_train, y_train)
y_pred = model.predict(X_test)
print(f"test accuracy {accuracy_score(y_test, y_pred):.3f} "
      f"({time.perf_counter() - start:.1f} s for fit and predict)")

# %%
# Confusion matrix
# ----------------
# Rows are the true speakers, columns the predicted ones.
fig, ax = plt.subplots(figsize=(5.5, 5))
ConfusionMatrixDisplay.from_predictions(y_test, y_pred, ax=ax, colorbar=False,
                                        cmap="Blues")
ax.set_title("JapaneseVowels, signature kernel + SVC")
fig.tight_layout()
