//! The fitted model's API: information criteria, sampling, scores, and
//! the not-converged path that returns the model with a warning.

use std::path::Path;

use ndarray::Array2;
use rebar_optimizer::data::read_columns;
use rebar_optimizer::gmm::{CovarianceType, EmConfig, EmWarning, Init, fit_gmm};
use rebar_optimizer::rng::stream_from_seed;
use rebar_optimizer::variance::{ALPHA, Moments, bonferroni_z};

fn load(file: &str, names: &[&str]) -> Array2<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(file);
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    read_columns(&path, &names).expect("shipped data").points
}

fn config(n_components: usize, covariance_type: CovarianceType) -> EmConfig {
    EmConfig {
        covariance_type,
        n_init: 5,
        ..EmConfig::new(n_components)
    }
}

#[test]
fn parameter_counts_follow_the_covariance_type() {
    let points = load("faithful.csv", &["eruptions", "waiting"]);
    // (K − 1) + K D + covariance parameters, with K = 3 and D = 2.
    let expected = [
        (CovarianceType::Full, 2 + 6 + 9),
        (CovarianceType::Diag, 2 + 6 + 6),
        (CovarianceType::Spherical, 2 + 6 + 3),
        (CovarianceType::Tied, 2 + 6 + 3),
    ];
    for (covariance_type, n_parameters) in expected {
        let result = fit_gmm(
            &points,
            &config(3, covariance_type),
            &mut stream_from_seed(1),
        )
        .expect("fit");
        let model = &result.model;
        assert_eq!(model.n_parameters(), n_parameters, "{covariance_type:?}");
        let log_lik = model.score(&points).expect("valid data");
        assert!((log_lik - result.log_lik).abs() < 1e-9 * log_lik.abs());
        let per_point: f64 = model
            .score_samples(&points)
            .expect("valid data")
            .iter()
            .sum();
        assert!((per_point - log_lik).abs() < 1e-9 * log_lik.abs());
        let n = points.nrows() as f64;
        let bic = model.bic(&points).expect("valid data");
        let aic = model.aic(&points).expect("valid data");
        assert!((bic - (-2.0 * log_lik + n_parameters as f64 * n.ln())).abs() < 1e-9 * bic.abs());
        assert!((aic - (-2.0 * log_lik + 2.0 * n_parameters as f64)).abs() < 1e-9 * aic.abs());
    }
}

#[test]
fn bic_prefers_two_components_on_the_bimodal_eruptions() {
    let points = load("faithful.csv", &["eruptions"]);
    let bic = |k| {
        let result = fit_gmm(
            &points,
            &config(k, CovarianceType::Diag),
            &mut stream_from_seed(2),
        )
        .expect("fit");
        result.model.bic(&points).expect("valid data")
    };
    assert!(bic(2) < bic(1));
}

#[test]
fn samples_follow_the_model() {
    let points = load(
        "iris.csv",
        &["sepal_length", "sepal_width", "petal_length", "petal_width"],
    );
    let result = fit_gmm(
        &points,
        &config(3, CovarianceType::Full),
        &mut stream_from_seed(3),
    )
    .expect("fit");
    let model = &result.model;
    let n_draws = 20_000;
    let (samples, labels) = model.sample(n_draws, &mut stream_from_seed(4));
    // Mixture mean: Σ_k π_k μ_k; the sample mean's variance is the
    // mixture variance over n.
    let mut moments = Moments::new(4);
    for row in samples.rows() {
        moments.push(row.as_slice().expect("standard layout"));
    }
    let expected: Vec<f64> = (0..4)
        .map(|d| {
            (0..3)
                .map(|k| model.weights()[k] * model.means()[[k, d]])
                .sum()
        })
        .collect();
    let z = moments.max_bias_z(&expected);
    assert!(z < bonferroni_z(ALPHA, 4), "max z {z}");
    for k in 0..3 {
        let count = labels.iter().filter(|&&l| l == k).count() as f64;
        let p = model.weights()[k];
        let sd = (p * (1.0 - p) / n_draws as f64).sqrt();
        assert!((count / n_draws as f64 - p).abs() < bonferroni_z(ALPHA, 3) * sd);
    }
}

#[test]
fn hitting_max_iter_returns_the_model_with_a_warning() {
    let points = load("faithful.csv", &["eruptions", "waiting"]);
    let config = EmConfig {
        max_iter: 2,
        tol: 1e-12,
        init: Init::RandomFromData,
        ..config(2, CovarianceType::Full)
    };
    let result = fit_gmm(&points, &config, &mut stream_from_seed(5)).expect("a model");
    assert!(!result.converged);
    assert_eq!(result.n_iter, 2);
    assert_eq!(result.log_lik_trace.len(), 3);
    let warning = result
        .warnings
        .iter()
        .find(|w| matches!(w, EmWarning::NotConverged { .. }))
        .expect("a not-converged warning");
    assert!(warning.to_string().contains("max_iter = 2"));
    assert_eq!(result.restart_log_liks.len(), 5);
    let best = result
        .restart_log_liks
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(best, result.log_lik);
    assert_eq!(result.restart_log_liks[result.best_restart], result.log_lik);
}
