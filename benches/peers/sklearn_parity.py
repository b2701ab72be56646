"""Reference log-likelihoods from scikit-learn for the EM parity tests.

For each data set, component count and covariance type below, fits
scikit-learn's GaussianMixture with many restarts (k-means and random
starts) at a stated floor and writes the best total log-likelihood
sum_n log p(x_n) of the final model, with the smallest variance of that
model so a collapsed optimum can be spotted. Output: one CSV row per
configuration (tests/data/sklearn_parity.csv is this script's output).

Not part of CI. Run from the repository root with the peers' venv:

  /tmp/rebar-peers-venv/bin/python benches/peers/sklearn_parity.py \
      > tests/data/sklearn_parity.csv
"""
import csv
import sys
import warnings

import numpy as np
import sklearn
from sklearn.mixture import GaussianMixture

REG_COVAR = 1e-6
RESTARTS_PER_INIT = 50
CONFIGS = [
    ("faithful.csv", ["eruptions"], 2, ["diag"]),
    ("faithful.csv", ["eruptions", "waiting"], 2, ["full", "diag", "spherical", "tied"]),
    ("faithful.csv", ["eruptions", "waiting"], 3, ["full", "tied"]),
    ("galaxies.csv", ["velocity"], 3, ["diag"]),
    ("iris.csv", ["sepal_length", "sepal_width", "petal_length", "petal_width"], 2,
     ["full", "diag", "spherical", "tied"]),
    ("iris.csv", ["sepal_length", "sepal_width", "petal_length", "petal_width"], 3,
     ["full", "tied"]),
]
# Left out because their best optimum is a collapsed spike (a variance at
# the floor, see maths.md section 6): faithful 2-D K = 3 diag, galaxies
# K = 4 diag, iris K = 3 diag.


def load(file, columns):
    with open(f"data/{file}", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([[float(row[c]) for c in columns] for row in rows])


def smallest_variance(gm):
    cov = gm.covariances_
    if gm.covariance_type in ("full",):
        return min(float(np.min(np.diag(c))) for c in cov)
    if gm.covariance_type == "tied":
        return float(np.min(np.diag(cov)))
    return float(np.min(cov))


def best_fit(x, k, cov):
    best = None
    for init in ("kmeans", "random_from_data"):
        for seed in range(RESTARTS_PER_INIT):
            gm = GaussianMixture(
                n_components=k, covariance_type=cov, reg_covar=REG_COVAR, tol=1e-10,
                max_iter=10_000, n_init=1, init_params=init, random_state=seed,
            ).fit(x)
            total = float(gm.score(x) * x.shape[0])
            if best is None or total > best[0]:
                best = (total, smallest_variance(gm), gm.converged_)
    return best


def main():
    warnings.simplefilter("ignore")
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["file", "columns", "n_components", "covariance_type", "reg_covar",
                  "restarts", "best_log_lik", "smallest_variance", "converged",
                  "sklearn_version"])
    for file, columns, k, covs in CONFIGS:
        x = load(file, columns)
        for cov in covs:
            total, smallest, converged = best_fit(x, k, cov)
            out.writerow([file, " ".join(columns), k, cov, REG_COVAR, 2 * RESTARTS_PER_INIT,
                          f"{total:.10f}", f"{smallest:.6e}", converged, sklearn.__version__])


if __name__ == "__main__":
    main()
