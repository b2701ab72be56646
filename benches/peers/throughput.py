#!/usr/bin/env python3
"""Throughput of binary REBAR (and REINFORCE) on 100 bits: our criterion
bench against the vectorised NumPy peer, back to back.

For each repeat, runs the NumPy peer (`peer_bench.py estimators`, one
thread, lambda = 0.5, t = 0.45) at every batch size, then our bench
(`cargo bench --bench estimators` filtered to `rebar/bits/100` and
`reinforce/bits/100`, one estimate per call, and `rebar-batch/bits/100`,
64 estimates per call through `Estimator::estimate_batch`; one thread).
Writes the median over repeats of each rate, the ratio of our rate to NumPy's at each
batch size and to NumPy's best batch, and the 1-minute load average seen
at the start of each repeat (the machine may be shared; a high load makes
both sides slower and the ratio noisier).

Usage (from the crate root; not part of CI):

    python3 benches/peers/throughput.py \
        --python /tmp/rebar-peers-venv/bin/python \
        --peer /work/shared/peers/peer_bench.py \
        --out reports/variance/throughput.csv

Then `cargo run --release --bin study -- report reports/variance` puts the
table into the variance report.
"""
import argparse
import csv
import os
import re
import statistics
import subprocess
import sys

UNITS = {"elem/s": 1.0, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}


def numpy_rates(python, peer, batch, seconds):
    """Estimates per second of the NumPy peer at one batch size."""
    command = [python, peer, "estimators", "--bits", "100", "--batch", str(batch),
               "--threads", "1", "--seconds", str(seconds)]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rates = {}
    for row in csv.DictReader(text.splitlines()):
        rates[row["estimator"]] = float(row["estimates_per_sec"])
    return rates


def rust_rates():
    """Estimates per second of our bench (median throughput criterion reports)."""
    command = ["cargo", "bench", "--bench", "estimators", "--",
               "^(rebar|rebar-batch|reinforce)/bits/100$"]
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    text = subprocess.run(command, check=True, capture_output=True, text=True,
                          env=env).stdout
    rates, current = {}, None
    for line in text.splitlines():
        name = re.match(r"^(rebar-batch|rebar|reinforce)/bits/100\b", line)
        if name:
            current = name.group(1)
        found = re.search(r"thrpt:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if found and current:
            rates[current] = float(found.group(1)) * UNITS[found.group(2)]
            current = None
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default="/tmp/rebar-peers-venv/bin/python")
    parser.add_argument("--peer", default="/work/shared/peers/peer_bench.py")
    parser.add_argument("--out", default="reports/variance/throughput.csv")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--batches", default="1,10,100,1000,3000,10000,20000,50000")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    numpy = {}  # (estimator, batch) -> [rates]
    ours = {}  # estimator -> [rates]
    loads = []
    for repeat in range(args.repeats):
        loads.append(os.getloadavg()[0])
        for batch in batches:
            for name, rate in numpy_rates(args.python, args.peer, batch,
                                          args.seconds).items():
                numpy.setdefault((name, batch), []).append(rate)
        for name, rate in rust_rates().items():
            ours.setdefault(name, []).append(rate)
        print(f"repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    load = ";".join(f"{x:.2f}" for x in loads)
    with open(args.out, "w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["estimator", "numpy_batch", "numpy_estimates_per_sec",
                      "rust_estimates_per_sec", "ratio", "repeats", "load_average_1min"])
        # rebar-batch (64 estimates per call) is compared with NumPy's rebar.
        for name, peer in (("rebar", "rebar"), ("rebar-batch", "rebar"),
                           ("reinforce", "reinforce")):
            if name not in ours:
                sys.exit(f"the bench printed no throughput for {name}")
            rust = statistics.median(ours[name])
            medians = {b: statistics.median(numpy[(peer, b)]) for b in batches}
            best = max(batches, key=lambda b: medians[b])
            for batch in batches + ["best"]:
                rate = medians[best if batch == "best" else batch]
                label = f"best ({best})" if batch == "best" else str(batch)
                out.writerow([name, label, f"{rate:.0f}", f"{rust:.0f}",
                              f"{rust / rate:.2f}", args.repeats, load])
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
