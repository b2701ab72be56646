#!/usr/bin/env bash
# Times one EM iteration of this crate (benches/em.rs, criterion) against
# scikit-learn (peer_bench.py em: 100 iterations, tol 0) back to back, on
# the same data and the same thread count, for every configuration of the
# issue: N = 100 000, D in {1, 2, 8}, K in {2, 5, 10}, full and diag.
# Not part of CI. Run from the repository root:
#   bash benches/peers/em_speed.sh [PEER_BENCH.py] [VENV] [DATA_DIR] [THREADS]
# Prints one CSV row per configuration: both timings (ms per iteration)
# and the ratio.
set -euo pipefail
peer="${1:-/work/shared/peers/peer_bench.py}"
venv="${2:-/tmp/rebar-peers-venv}"
data="${3:-${TMPDIR:-/tmp}/rebar-em-bench}"
threads="${4:-2}"
mkdir -p "$data"
cargo bench --bench em --no-run >/dev/null 2>&1
echo "d,k,cov,threads,sklearn_ms_per_iter,rust_ms_per_iter,ratio"
for d in 1 2 8; do
  for k in 2 5 10; do
    file="$data/points_d${d}_k${k}.csv"
    if [ ! -f "$file" ]; then
      "$venv/bin/python" "$peer" em --n 100000 --d "$d" --k "$k" --cov diag --iters 1 \
        --threads "$threads" --write "$file" >/dev/null
    fi
    for cov in full diag; do
      peer_ms=$("$venv/bin/python" "$peer" em --data "$file" --k "$k" --cov "$cov" \
        --threads "$threads" | tail -1 | cut -d, -f9)
      rust_ms=$(REBAR_EM_BENCH_DATA="$data" RAYON_NUM_THREADS="$threads" \
        cargo bench --bench em -- --noplot "em_iteration_${cov}/d${d}_k${k}\$" 2>/dev/null \
        | awk '/time:/ { for (i = 1; i <= NF; i++) if ($i == "time:") t = i;
                         v = $(t + 3); u = $(t + 4);
                         if (u == "µs" || u == "us") v /= 1000;
                         if (u == "s") v *= 1000; print v; exit }')
      ratio=$(awk -v a="$peer_ms" -v b="$rust_ms" 'BEGIN { printf "%.1f", a / b }')
      echo "$d,$k,$cov,$threads,$peer_ms,$rust_ms,$ratio"
    done
  done
done
