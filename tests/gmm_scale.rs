//! SVI at scale: full covariances, amortised logits and mini-batches,
//! checked against finite differences of the exact ELBO, against the full
//! gradient (Bonferroni bounds, maths.md §7) and against EM.

use std::path::Path;

use ndarray::{Array2, s};
use rand::RngExt;
use rebar_optimizer::data::read_columns;
use rebar_optimizer::estimator::{Estimator, EstimatorKind};
use rebar_optimizer::gmm::{
    Convergence, CovarianceType, EmConfig, SviCovariance, SviLog, SviProblem, SviSettings,
    Variational, fit_gmm, fit_svi, initial_mixture, steps_to_reach,
};
use rebar_optimizer::rng::stream_from_seed;
use rebar_optimizer::variance::{ALPHA, Moments, bonferroni_z};

fn faithful() -> Array2<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/faithful.csv");
    let names = ["eruptions".to_string(), "waiting".to_string()];
    read_columns(&path, &names).expect("shipped data").points
}

/// A problem and a parameter vector away from any symmetric point.
fn setup(
    points: &Array2<f64>,
    n_components: usize,
    covariance: SviCovariance,
    variational: Variational,
    seed: u64,
) -> (SviProblem<'_>, Vec<f64>) {
    let mut rng = stream_from_seed(seed);
    let init = initial_mixture(points, n_components, &mut rng).expect("valid data");
    let problem = SviProblem::new(points.view(), n_components)
        .expect("valid data")
        .with_covariance(covariance)
        .with_variational(variational);
    let variational: Vec<f64> = (0..problem.n_variational())
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut params = problem.pack(&init, &variational);
    let n_model = problem.n_params() - problem.n_variational();
    for p in params.iter_mut().take(n_model) {
        *p += rng.random_range(-0.3..0.3);
    }
    (problem, params)
}

#[test]
fn full_and_amortised_gradients_match_finite_differences() {
    let points = faithful().slice(s![..30, ..]).to_owned();
    for covariance in [SviCovariance::Diag, SviCovariance::Full] {
        for variational in [Variational::Local, Variational::Amortised] {
            for n_components in [2, 3] {
                let (mut problem, params) =
                    setup(&points, n_components, covariance, variational, 21);
                let mut exact = Estimator::new(EstimatorKind::Exact, problem.variables(), 1);
                let mut grad = vec![0.0; params.len()];
                problem.gradient(&params, &mut exact, &mut stream_from_seed(0), &mut grad);
                let h = 1e-5;
                for j in 0..params.len() {
                    let (mut up, mut down) = (params.clone(), params.clone());
                    up[j] += h;
                    down[j] -= h;
                    let fd = (problem.exact_elbo(&up).0 - problem.exact_elbo(&down).0) / (2.0 * h);
                    assert!(
                        (grad[j] - fd).abs() < 1e-5 * (1.0 + fd.abs()),
                        "{covariance:?} {variational:?} K={n_components} param {j}: {} vs {fd}",
                        grad[j]
                    );
                }
            }
        }
    }
}

#[test]
fn mini_batch_gradients_are_unbiased() {
    let points = faithful().slice(s![..40, ..]).to_owned();
    for variational in [Variational::Local, Variational::Amortised] {
        let (problem, params) = setup(&points, 3, SviCovariance::Full, variational, 5);
        let mut full = problem.clone();
        let mut exact = Estimator::new(EstimatorKind::Exact, full.variables(), 1);
        let mut expected = vec![0.0; params.len()];
        full.gradient(&params, &mut exact, &mut stream_from_seed(0), &mut expected);

        let mut batched = problem.with_batch_size(Some(7));
        let mut rng = stream_from_seed(6);
        let mut moments = Moments::new(params.len());
        let mut grad = vec![0.0; params.len()];
        for _ in 0..4000 {
            batched.gradient(&params, &mut exact, &mut rng, &mut grad);
            moments.push(&grad);
        }
        let bound = bonferroni_z(ALPHA, params.len());
        let z = moments.max_bias_z(&expected);
        assert!(z < bound, "{variational:?}: max z {z} above {bound}");
    }
}

#[test]
fn exact_full_covariance_svi_approaches_the_em_optimum() {
    let points = faithful();
    let em = fit_gmm(
        &points,
        &EmConfig {
            covariance_type: CovarianceType::Full,
            n_init: 10,
            ..EmConfig::new(2)
        },
        &mut stream_from_seed(1),
    )
    .expect("EM fit");
    let settings = SviSettings {
        estimator: EstimatorKind::Exact,
        learning_rate: 0.05,
        n_steps: 3000,
        log_every: 100,
        covariance: SviCovariance::Full,
        ..SviSettings::default()
    };
    let mut rng = stream_from_seed(2);
    let init = initial_mixture(&points, 2, &mut rng).expect("valid data");
    let mut logs: Vec<SviLog> = Vec::new();
    let outcome =
        fit_svi(&points, &init, &settings, &mut rng, &mut |l| logs.push(*l)).expect("valid run");
    for log in &logs {
        assert!(log.elbo <= log.log_lik + 1e-9 * log.log_lik.abs());
        // Nothing exceeds the maximum likelihood that EM found.
        assert!(log.log_lik <= em.log_lik + 1e-6 * points.nrows() as f64);
    }
    let reached = steps_to_reach(&logs, em.log_lik, points.nrows(), 1e-3);
    println!("EM {} SVI {:?} reached {reached}", em.log_lik, logs.last());
    assert!(matches!(reached, Convergence::Reached { .. }), "{reached}");
    let svi_score = outcome.model.score(&points).expect("valid data");
    let last = logs.last().expect("logged");
    assert!((svi_score - last.log_lik).abs() < 1e-8 * last.log_lik.abs());
}

#[test]
fn amortised_mini_batch_svi_climbs_with_a_stochastic_estimator() {
    let points = faithful();
    let settings = SviSettings {
        estimator: EstimatorKind::Reinforce,
        learning_rate: 0.05,
        n_steps: 400,
        log_every: 100,
        variational: Variational::Amortised,
        batch_size: Some(32),
        variance_draws: 3,
        ..SviSettings::default()
    };
    let mut rng = stream_from_seed(3);
    let init = initial_mixture(&points, 3, &mut rng).expect("valid data");
    let mut logs: Vec<SviLog> = Vec::new();
    let outcome =
        fit_svi(&points, &init, &settings, &mut rng, &mut |l| logs.push(*l)).expect("valid run");
    let (first, last) = (logs[0], logs[logs.len() - 1]);
    assert!(last.elbo > first.elbo, "{first:?} -> {last:?}");
    assert!(
        logs.iter()
            .all(|l| l.grad_variance.is_some_and(|v| v.is_finite()))
    );
    // Batches of 32 points: 32 estimates per step.
    assert_eq!(last.n_evals, 400 * 32);
    assert_eq!(outcome.phi.len(), points.nrows() * 3);
}
