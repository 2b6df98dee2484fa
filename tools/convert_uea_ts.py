"""Convert UEA/UCR ``.ts`` files into the compact ``.npz`` files bundled in sksig.

The ``.ts`` files come from the aeon wheel (BSD-3-Clause), which redistributes them
from the UEA & UCR time series classification archive::

    pip download --no-deps aeon==1.6.0 -d /tmp/aeon
    cd /tmp/aeon && unzip -q aeon-*.whl && cd -
    python tools/convert_uea_ts.py /tmp/aeon/aeon/datasets/data src/sksig/datasets/data

Each ``<Name>.npz`` holds, for ``split`` in ``train`` and ``test``:
``<split>_values`` (all time steps of all series stacked, float64, shape
``(total_length, n_channels)``), ``<split>_lengths`` (int32, points per series) and
``<split>_labels`` (unicode class labels), plus ``description`` (the file's header
comments) and ``class_labels`` (the declared label order). Only numpy is needed to read
them (no pickles).
"""

import sys
from pathlib import Path

import numpy as np

DATASETS = ["BasicMotions", "GunPoint", "JapaneseVowels"]


def read_ts(filename):
    """Parse a ``.ts`` file into (list of (length, channels) arrays, labels, header)."""
    comments, series, labels, class_labels = [], [], [], []
    in_data = False
    for line in Path(filename).read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        if not in_data:
            if line.startswith("#"):
                comments.append(line[1:].strip())
            elif line.lower().startswith("@classlabel"):
                class_labels = line.split()[2:]
            elif line.lower() == "@data":
                in_data = True
            continue
        *channels, label = line.split(":")
        values = [np.array(c.split(","), dtype=np.float64) for c in channels]
        if len({len(v) for v in values}) != 1:
            raise ValueError(f"{filename}: channels of one series differ in length")
        if any("?" in c for c in channels):
            raise ValueError(f"{filename}: missing values are not supported")
        series.append(np.stack(values, axis=1))
        labels.append(label.strip())
    return series, labels, "\n".join(c for c in comments if c), class_labels


def convert(source_dir, target_dir, name):
    arrays = {}
    for split in ("train", "test"):
        series, labels, description, class_labels = read_ts(
            Path(source_dir) / name / f"{name}_{split.upper()}.ts"
        )
        arrays[f"{split}_values"] = np.concatenate(series, axis=0)
        arrays[f"{split}_lengths"] = np.array([len(s) for s in series], dtype=np.int32)
        arrays[f"{split}_labels"] = np.array(labels)
    arrays["description"] = np.array(description)
    arrays["class_labels"] = np.array(class_labels)
    target = Path(target_dir) / f"{name}.npz"
    np.savez_compressed(target, **arrays)
    print(f"{target}: {target.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    source, target = sys.argv[1:3]
    for dataset in DATASETS:
        convert(source, target, dataset)
