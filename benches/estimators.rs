//! Criterion benchmarks of the gradient estimators: one group per
//! estimator, on 100 bits (`f = mean_k (b_k − 0.45)²`, logits from N(0, 1))
//! and on one 10-class categorical variable (`f = ‖b − p‖²`), reporting
//! estimates per second; the group `rebar-batch` draws 64 REBAR estimates
//! per call (`Estimator::estimate_batch`).
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rebar_optimizer::estimator::{ESTIMATOR_NAMES, Estimator, EstimatorKind, EstimatorSettings};
use rebar_optimizer::problem::ToyProblem;
use rebar_optimizer::rng::stream_from_seed;

/// The two benched problems, labelled, with their sizes.
fn problems() -> [(&'static str, usize, ToyProblem); 2] {
    [
        ("bits", 100, ToyProblem::bits(100, 0.45, 0)),
        ("categorical", 10, ToyProblem::categorical_target(10, 0)),
    ]
}

/// Temperature 0.5 and `η = 1`, the other settings at their defaults.
fn settings() -> EstimatorSettings {
    EstimatorSettings {
        temperature: 0.5,
        eta: 1.0,
        ..EstimatorSettings::default()
    }
}

fn bench_estimators(c: &mut Criterion) {
    let (problems, settings) = (problems(), settings());
    // Every estimator but the exact one, which is a reference, not a method.
    for &name in ESTIMATOR_NAMES.iter().filter(|&&name| name != "exact") {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
        for (label, size, problem) in &problems {
            let kind = EstimatorKind::from_name_with(name, &settings).expect("known estimator");
            let n_samples = kind.min_samples();
            let Ok(mut estimator) = Estimator::try_new(kind, problem.variables, n_samples) else {
                continue; // ARM and DisARM are binary only.
            };
            let mut rng = stream_from_seed(1);
            let mut grad_phi = vec![0.0; problem.phi.len()];
            group.bench_with_input(
                BenchmarkId::new(*label, size),
                problem,
                |bencher, problem| {
                    bencher.iter(|| {
                        estimator.estimate(
                            black_box(&problem.phi),
                            &problem.objective,
                            &mut rng,
                            &mut grad_phi,
                        );
                        black_box(&grad_phi);
                    });
                },
            );
        }
        group.finish();
    }
}

/// REBAR through `Estimator::estimate_batch`: 64 estimates per call on 100
/// bits and on one 10-class variable, reported per estimate.
fn bench_batched(c: &mut Criterion) {
    const BATCH: usize = 64;
    let (problems, settings) = (problems(), settings());
    let mut group = c.benchmark_group("rebar-batch");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    for (label, size, problem) in &problems {
        let kind = EstimatorKind::from_name_with("rebar", &settings).expect("rebar");
        let mut estimator = Estimator::new(kind, problem.variables, 1);
        let mut rng = stream_from_seed(1);
        let mut grads = vec![0.0; BATCH * problem.phi.len()];
        group.bench_with_input(
            BenchmarkId::new(*label, size),
            problem,
            |bencher, problem| {
                bencher.iter(|| {
                    estimator.estimate_batch(
                        black_box(&problem.phi),
                        &problem.objective,
                        &mut rng,
                        &mut grads,
                    );
                    black_box(&grads);
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_estimators, bench_batched);
criterion_main!(benches);
