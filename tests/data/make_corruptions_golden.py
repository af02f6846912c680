#!/usr/bin/python3
"""Writes tests/data/corruptions/: golden outputs of bethgelab/imagecorruptions for
tests/core/test_corruptions.cpp (safescan's re-implementation is src/bench/corruptions.cpp).

Run once with Debian's packages (python3-numpy 1.24, python3-scipy 1.10, python3-skimage 0.19,
python3-opencv 4.6, python3-pil 9.4), given a clone of the reference repository:

    /usr/bin/python3 tests/data/make_corruptions_golden.py /path/to/imagecorruptions [../shared/images]

The reference package is copied out of the clone's HEAD (`git show`) into a temporary
directory and imported from there; nothing of it is written into this repository. Its module
imports numba only for glass_blur (not used here): a stand-in module whose njit is the
identity is installed first.

Inputs: a 64x64 crop of kodim05.png and a 48x40 crop of astronaut.png, stored as PNG. For
each deterministic corruption and each severity 1-5 the script calls the reference's own
`corrupt(image, severity, corruption_name)` (which ends in np.uint8, i.e. truncation) and
stores the result as PNG. motion_blur draws its angle from numpy's global generator: the
script seeds it, records the angle that the call draws (the first draw after the seed) and
calls the reference with the same seed, so the angle in index.json is the one used.

numpy runs float64 exp, sin and cos through AVX-512 code on CPUs that have it, whose last
bits differ from the C library's (the portable code numpy runs everywhere else). The kernels
of gaussian_blur and motion_blur come from np.exp, and a last-bit difference there moves a
truncated output by one level here and there (in flat regions, about every other value of
motion_blur). The script disables numpy's AVX-512 dispatch (NPY_DISABLE_CPU_FEATURES, before
numpy is imported), so that the goldens are what numpy computes on every other x86-64 CPU and
do not depend on the machine that writes them.
"""

import os

# Before numpy is imported (by this script, cv2 or skimage): see above.
os.environ["NPY_DISABLE_CPU_FEATURES"] = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import types  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
import scipy  # noqa: E402
import skimage  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corruptions")

INPUTS = [
    # name, source file, crop box (left, upper, right, lower)
    ("kodim05_64x64", "kodim05.png", (360, 200, 424, 264)),
    ("astronaut_48x40", "astronaut.png", (140, 350, 188, 390)),
]
DETERMINISTIC = ["gaussian_blur", "defocus_blur", "motion_blur", "jpeg_compression", "pixelate",
                 "contrast", "brightness", "saturate"]


def import_reference(repo):
    """Copies imagecorruptions/ out of the clone's HEAD into a temporary directory and imports it."""
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="imagecorruptions-")
    os.makedirs(os.path.join(tmp, "imagecorruptions"))
    for name in ("__init__.py", "corruptions.py"):
        text = subprocess.run(["git", "-C", repo, "show", "HEAD:imagecorruptions/" + name], check=True,
                              capture_output=True).stdout
        with open(os.path.join(tmp, "imagecorruptions", name), "wb") as f:
            f.write(text)
    numba = types.ModuleType("numba")
    numba.njit = lambda *args, **kwargs: (lambda fn: fn)
    sys.modules.setdefault("numba", numba)
    sys.path.insert(0, tmp)
    import imagecorruptions  # noqa: E402  (the copy above)
    return imagecorruptions, commit


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    repo = sys.argv[1]
    images = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "..", "shared", "images")
    ic, commit = import_reference(repo)
    os.makedirs(OUT, exist_ok=True)

    index = {
        "reference": "bethgelab/imagecorruptions@" + commit,
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "skimage": skimage.__version__,
                     "opencv": cv2.__version__, "pillow": PIL.__version__,
                     "numpy_cpu_dispatch": [k for k, v in np.core._multiarray_umath.__cpu_features__.items()
                                            if v and k in np.core._multiarray_umath.__cpu_dispatch__]},
        "inputs": [],
        "outputs": [],
    }
    for k, (name, source, box) in enumerate(INPUTS):
        image = Image.open(os.path.join(images, source)).convert("RGB").crop(box)
        x = np.asarray(image, dtype=np.uint8)
        file = "input_%s.png" % name
        Image.fromarray(x).save(os.path.join(OUT, file))
        index["inputs"].append({"name": name, "file": file, "source": source, "crop": list(box),
                                "width": x.shape[1], "height": x.shape[0]})
        for corruption in DETERMINISTIC:
            for severity in range(1, 6):
                entry = {"corruption": corruption, "severity": severity, "input": name}
                if corruption == "motion_blur":
                    seed = 1000 + 10 * k + severity
                    np.random.seed(seed)
                    entry["angle"] = float(np.random.uniform(-45, 45))
                    np.random.seed(seed)
                y = ic.corrupt(x, severity=severity, corruption_name=corruption)
                assert y.dtype == np.uint8 and y.shape == x.shape, (corruption, y.dtype, y.shape)
                out = "%s_%d_%s.png" % (corruption, severity, name)
                Image.fromarray(y).save(os.path.join(OUT, out))
                entry["file"] = out
                index["outputs"].append(entry)
    with open(os.path.join(OUT, "index.json"), "w") as f:  # one input or output a line
        f.write("{\n")
        for key in ("reference", "versions"):
            f.write(' "%s": %s,\n' % (key, json.dumps(index[key])))
        for key in ("inputs", "outputs"):
            rows = ",\n".join("  " + json.dumps(row) for row in index[key])
            f.write(' "%s": [\n%s\n ]%s\n' % (key, rows, "," if key == "inputs" else ""))
        f.write("}\n")
    print("wrote %d outputs to %s" % (len(index["outputs"]), OUT))


if __name__ == "__main__":
    main()
