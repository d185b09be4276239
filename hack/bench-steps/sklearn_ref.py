#!/usr/bin/env python3
# Copyright 2026 The mlpipe Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""scikit-learn reference of hack/bench-steps: trains SGDClassifier(loss="log_loss", max_iter=E, tol=None) and
LogisticRegression(solver="lbfgs") on X_train.npy/y_train.npy of --dir, scores both on X_test.npy/y_test.npy and
writes {"sklearn", "train_rows", "test_rows", "features", "sgd": {"epochs", "fit_seconds", "cpu_seconds",
"accuracy"}, "lbfgs": {"fit_seconds", "cpu_seconds", "n_iter", "accuracy"}} to --out. When scikit-learn is missing it installs Debian's
python3-sklearn with apt-get (as root); when that fails it writes {"skipped": "<why>"} and exits 0."""

import argparse
import json
import os
import subprocess
import sys
import time


def ensure_sklearn():
    """Returns None when sklearn imports (installing python3-sklearn if needed), else why not."""
    try:
        import sklearn  # noqa: F401
        return None
    except ImportError:
        pass
    if os.geteuid() != 0:
        return "scikit-learn is missing and installing python3-sklearn needs root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("sklearn_ref: installing python3-sklearn with apt-get", file=sys.stderr)
    for cmd in (["apt-get", "install", "-y", "-q", "python3-sklearn"],
                ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "python3-sklearn"]):
        r = subprocess.run(cmd, env=env, stdout=sys.stderr, stderr=sys.stderr)
        if r.returncode == 0 and cmd[1] == "install":
            break
    try:
        import importlib
        importlib.invalidate_caches()
        import sklearn  # noqa: F401
        return None
    except ImportError as e:
        return "scikit-learn is missing and apt-get install python3-sklearn did not provide it for %s: %s" % (sys.executable, e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    why = ensure_sklearn()
    if why:
        print("sklearn_ref: skipped: " + why, file=sys.stderr)
        with open(a.out, "w") as f:
            json.dump({"skipped": why}, f)
        return

    import warnings

    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    x_train = np.load(os.path.join(a.dir, "X_train.npy"))
    y_train = np.load(os.path.join(a.dir, "y_train.npy"))
    x_test = np.load(os.path.join(a.dir, "X_test.npy"))
    y_test = np.load(os.path.join(a.dir, "y_test.npy"))
    print("sklearn_ref: scikit-learn %s, %d training rows, %d test rows, %d features" %
          (sklearn.__version__, x_train.shape[0], x_test.shape[0], x_train.shape[1]), file=sys.stderr)

    res = {"sklearn": sklearn.__version__, "train_rows": int(x_train.shape[0]),
           "test_rows": int(x_test.shape[0]), "features": int(x_train.shape[1])}

    sgd = SGDClassifier(loss="log_loss", max_iter=a.epochs, tol=None, random_state=42)
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sgd.fit(x_train, y_train)
    fit, cpu = time.perf_counter() - start, time.process_time() - cpu
    res["sgd"] = {"epochs": int(sgd.n_iter_), "fit_seconds": fit, "cpu_seconds": cpu,
                  "accuracy": float(sgd.score(x_test, y_test))}
    print("sklearn_ref: SGDClassifier %d epochs in %.2f s (%.3f s/epoch), accuracy %.4f" %
          (sgd.n_iter_, fit, fit / sgd.n_iter_, res["sgd"]["accuracy"]), file=sys.stderr)

    lr = LogisticRegression(solver="lbfgs", max_iter=1000)
    start, cpu = time.perf_counter(), time.process_time()
    lr.fit(x_train, y_train)
    fit, cpu = time.perf_counter() - start, time.process_time() - cpu
    res["lbfgs"] = {"fit_seconds": fit, "cpu_seconds": cpu, "n_iter": int(np.max(lr.n_iter_)),
                    "accuracy": float(lr.score(x_test, y_test))}
    print("sklearn_ref: LogisticRegression(lbfgs) %d iterations in %.2f s, accuracy %.4f" %
          (res["lbfgs"]["n_iter"], fit, res["lbfgs"]["accuracy"]), file=sys.stderr)

    with open(a.out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
