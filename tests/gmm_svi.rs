//! SVI on the mixture ELBO: gradients against finite differences of the
//! exact ELBO, the ELBO bound, logging and reproducibility.

use std::path::Path;

use ndarray::{Array2, s};
use rand::RngExt;
use rebar_optimizer::data::read_columns;
use rebar_optimizer::estimator::{Estimator, EstimatorKind};
use rebar_optimizer::gmm::{SviLog, SviProblem, SviSettings, fit_svi, initial_mixture};
use rebar_optimizer::rng::stream_from_seed;

fn faithful(names: &[&str]) -> Array2<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/faithful.csv");
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    read_columns(&path, &names).expect("shipped data").points
}

#[test]
fn exact_gradient_matches_finite_differences_of_the_exact_elbo() {
    let both = faithful(&["eruptions", "waiting"]);
    let cases = [
        (both.slice(s![..25, ..1]).to_owned(), 2),
        (both.slice(s![..25, ..]).to_owned(), 2),
        (both.slice(s![..25, ..]).to_owned(), 3),
    ];
    for (points, n_components) in &cases {
        let mut rng = stream_from_seed(11);
        let init = initial_mixture(points, *n_components, &mut rng).expect("valid data");
        let mut problem = SviProblem::new(points.view(), *n_components).expect("valid data");
        let phi: Vec<f64> = (0..problem.n_phi())
            .map(|_| rng.random_range(-2.0..2.0))
            .collect();
        let mut params = problem.pack(&init, &phi);
        // Move the model off the start so no gradient vanishes by symmetry.
        for p in params.iter_mut().take(problem.n_params() - problem.n_phi()) {
            *p += rng.random_range(-0.3..0.3);
        }
        let mut estimator = Estimator::new(EstimatorKind::Exact, problem.variables(), 1);
        let mut grad = vec![0.0; params.len()];
        problem.gradient(&params, &mut estimator, &mut rng, &mut grad);
        let h = 1e-5;
        for j in 0..params.len() {
            let mut up = params.clone();
            let mut down = params.clone();
            up[j] += h;
            down[j] -= h;
            let fd = (problem.exact_elbo(&up).0 - problem.exact_elbo(&down).0) / (2.0 * h);
            let scale = 1.0 + fd.abs();
            assert!(
                (grad[j] - fd).abs() < 1e-5 * scale,
                "K = {n_components}, D = {}, parameter {j}: {} vs {fd}",
                points.ncols(),
                grad[j]
            );
        }
    }
}

fn run(
    points: &Array2<f64>,
    n_components: usize,
    settings: &SviSettings,
    seed: u64,
) -> Vec<SviLog> {
    let mut rng = stream_from_seed(seed);
    let init = initial_mixture(points, n_components, &mut rng).expect("valid data");
    let mut logs = Vec::new();
    fit_svi(points, &init, settings, &mut rng, &mut |log| {
        logs.push(*log)
    })
    .expect("valid run");
    logs
}

#[test]
fn elbo_never_exceeds_the_log_likelihood_and_logs_follow_the_schedule() {
    let points = faithful(&["eruptions"]);
    for (kind, n_components) in [
        (EstimatorKind::Reinforce, 2),
        (EstimatorKind::Reinforce, 3),
        (EstimatorKind::Exact, 3),
    ] {
        let settings = SviSettings {
            estimator: kind.clone(),
            learning_rate: 0.05,
            n_steps: 103,
            log_every: 25,
            ..SviSettings::default()
        };
        let logs = run(&points, n_components, &settings, 5);
        let steps: Vec<usize> = logs.iter().map(|l| l.step).collect();
        assert_eq!(steps, vec![0, 25, 50, 75, 100, 103]);
        for log in &logs {
            let allowance = 1e-9 * log.log_lik.abs();
            assert!(log.elbo <= log.log_lik + allowance, "{kind:?}: {log:?}");
            assert!(log.grad_variance.is_none());
        }
    }
}

#[test]
fn exact_svi_climbs_the_elbo_and_runs_repeat_bit_for_bit() {
    let points = faithful(&["eruptions", "waiting"]);
    let settings = SviSettings {
        estimator: EstimatorKind::Exact,
        learning_rate: 0.05,
        n_steps: 300,
        log_every: 100,
        ..SviSettings::default()
    };
    let logs = run(&points, 2, &settings, 8);
    let (first, last) = (logs[0], logs[logs.len() - 1]);
    assert!(last.elbo > first.elbo + 100.0, "{first:?} -> {last:?}");

    let settings = SviSettings {
        estimator: EstimatorKind::Reinforce,
        variance_draws: 4,
        ..settings
    };
    let again = run(&points, 3, &settings, 9);
    assert_eq!(run(&points, 3, &settings, 9), again);
    for log in &again {
        let variance = log.grad_variance.expect("variance draws requested");
        assert!(variance.is_finite() && variance > 0.0);
    }
    // Probing the variance uses its own stream: the trajectory is unchanged.
    let quiet = SviSettings {
        variance_draws: 0,
        ..settings
    };
    let plain = run(&points, 3, &quiet, 9);
    for (a, b) in plain.iter().zip(&again) {
        assert_eq!((a.elbo, a.log_lik), (b.elbo, b.log_lik));
    }
}

#[test]
fn invalid_svi_settings_are_rejected() {
    let points = faithful(&["eruptions"]);
    let init = initial_mixture(&points, 2, &mut stream_from_seed(0)).expect("valid data");
    let bad = SviSettings {
        learning_rate: 0.0,
        ..SviSettings::default()
    };
    let error = fit_svi(&points, &init, &bad, &mut stream_from_seed(0), &mut |_| {}).unwrap_err();
    assert!(error.to_string().contains("learning_rate"), "{error}");
    let one = initial_mixture(&points, 1, &mut stream_from_seed(0)).expect("valid data");
    let error = fit_svi(
        &points,
        &one,
        &SviSettings::default(),
        &mut stream_from_seed(0),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(error.to_string().contains("n_components"), "{error}");
}
