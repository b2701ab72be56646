//! Criterion benchmarks of one EM iteration (M-step, then E-step) at
//! N = 100 000 points, D in {1, 2, 8}, K in {2, 5, 10}, full and diagonal
//! covariances, parallel over points with rayon.
//!
//! Data: the points written by `peer_bench.py em --write` when the
//! directory `REBAR_EM_BENCH_DATA` holds `points_d{D}_k{K}.csv`, so both
//! sides time the same data; otherwise generated here the same way (K
//! centres drawn from N(0, 5²) per coordinate, uniform labels, unit
//! Gaussian noise) from a fixed seed.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rebar_optimizer::data::read_matrix;
use rebar_optimizer::gmm::{Covariances, EmStepper, GaussianMixture};
use rebar_optimizer::rng::stream_from_seed;

const N_POINTS: usize = 100_000;

fn points(n_dims: usize, n_components: usize) -> Array2<f64> {
    if let Some(dir) = std::env::var_os("REBAR_EM_BENCH_DATA") {
        let path = PathBuf::from(dir).join(format!("points_d{n_dims}_k{n_components}.csv"));
        if let Ok(points) = read_matrix(&path) {
            return points;
        }
    }
    let mut rng = stream_from_seed((n_dims * 100 + n_components) as u64);
    let centres: Vec<f64> = (0..n_components * n_dims)
        .map(|_| 5.0 * Distribution::<f64>::sample(&StandardNormal, &mut rng))
        .collect();
    let mut points = Array2::zeros((N_POINTS, n_dims));
    for mut row in points.rows_mut() {
        let label = rng.random_range(0..n_components);
        for (d, x) in row.iter_mut().enumerate() {
            let noise: f64 = StandardNormal.sample(&mut rng);
            *x = centres[label * n_dims + d] + noise;
        }
    }
    points
}

/// Equal weights, means at K evenly spaced data points, every covariance
/// the data's per-feature variance on the diagonal.
fn start(points: &Array2<f64>, n_components: usize, full: bool) -> GaussianMixture {
    let (n_points, n_dims) = points.dim();
    let means = Array2::from_shape_fn((n_components, n_dims), |(k, d)| {
        points[[k * n_points / n_components, d]]
    });
    let variances: Vec<f64> = points.columns().into_iter().map(|c| c.var(0.0)).collect();
    let covariances = if full {
        let matrix = Array2::from_diag(&ndarray::Array1::from(variances));
        Covariances::Full(vec![matrix; n_components])
    } else {
        Covariances::Diag(Array2::from_shape_fn((n_components, n_dims), |(_, d)| {
            variances[d]
        }))
    };
    GaussianMixture::new(
        vec![1.0 / n_components as f64; n_components],
        means,
        covariances,
    )
    .expect("valid start")
}

fn em_iteration(c: &mut Criterion) {
    for (covariance, full) in [("full", true), ("diag", false)] {
        let mut group = c.benchmark_group(format!("em_iteration_{covariance}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        group.throughput(Throughput::Elements(N_POINTS as u64));
        for n_dims in [1, 2, 8] {
            for n_components in [2, 5, 10] {
                let data = points(n_dims, n_components);
                let model = start(&data, n_components, full);
                let mut stepper = EmStepper::new(&data, &model, 1e-6).expect("valid data");
                let id = BenchmarkId::from_parameter(format!("d{n_dims}_k{n_components}"));
                group.bench_function(id, |b| {
                    b.iter(|| black_box(stepper.step().expect("regularised step")))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, em_iteration);
criterion_main!(benches);
