//! EM on the diagonal mixture from the shared start (maths.md §6): the
//! log-likelihood never falls with a zero floor, and at K = 2 on the
//! eruptions the shared start reaches the best of many restarts.

use std::path::Path;

use ndarray::Array2;
use rebar_optimizer::data::read_columns;
use rebar_optimizer::gmm::{
    CovarianceType, EmConfig, EmSettings, Init, fit_em, fit_gmm, floored_components,
    initial_mixture,
};
use rebar_optimizer::rng::stream_from_seed;

fn load(file: &str, names: &[&str]) -> Array2<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(file);
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    read_columns(&path, &names).expect("shipped data").points
}

/// Round-off allowance for one iteration's change of `Σ_n log p(x_n)`:
/// a few ulps of each of the N terms.
fn round_off(points: &Array2<f64>, log_lik: f64) -> f64 {
    points.nrows() as f64 * 16.0 * f64::EPSILON * (log_lik.abs() / points.nrows() as f64 + 1.0)
}

#[test]
fn zero_floor_em_never_decreases_the_log_likelihood() {
    // Data and K where no component collapses (maths.md §6): the eruptions
    // and acidity at K = 2, both faithful columns at K = 2 and 3.
    let cases = [
        (load("faithful.csv", &["eruptions"]), 2),
        (load("acidity.csv", &["log_acidity"]), 2),
        (load("faithful.csv", &["eruptions", "waiting"]), 2),
        (load("faithful.csv", &["eruptions", "waiting"]), 3),
    ];
    let settings = EmSettings {
        max_iter: 300,
        tol: 0.0,
        variance_floor: 0.0,
    };
    for (points, n_components) in &cases {
        for seed in 0..5 {
            let mut rng = stream_from_seed(seed);
            let init = initial_mixture(points, *n_components, &mut rng).expect("valid data");
            let fit = fit_em(points, &init, &settings).expect("no collapse on these data");
            assert_eq!(fit.log_lik_trace.len(), settings.max_iter + 1);
            for pair in fit.log_lik_trace.windows(2) {
                let allowance = round_off(points, pair[0]);
                assert!(
                    pair[1] >= pair[0] - allowance,
                    "K = {n_components}, seed {seed}: {} then {}",
                    pair[0],
                    pair[1]
                );
            }
        }
    }
}

#[test]
fn shared_start_reaches_the_best_of_twenty_restarts_on_the_eruptions() {
    let points = load("faithful.csv", &["eruptions"]);
    let floor = 1e-6;
    let mut config = EmConfig::new(2);
    config.covariance_type = CovarianceType::Diag;
    config.init = Init::RandomFromData;
    config.n_init = 20;
    config.reg_covar = floor;
    config.tol = 1e-13;
    config.max_iter = 20_000;
    let best = fit_gmm(&points, &config, &mut stream_from_seed(99)).expect("valid data");
    assert!(best.converged);
    let settings = EmSettings {
        max_iter: 20_000,
        tol: 1e-13,
        variance_floor: floor,
    };
    let n_points = points.nrows() as f64;
    for seed in 0..10 {
        let init = initial_mixture(&points, 2, &mut stream_from_seed(seed)).expect("valid data");
        let fit = fit_em(&points, &init, &settings).expect("valid data");
        let log_lik = *fit.log_lik_trace.last().expect("non-empty trace");
        assert!(fit.converged, "seed {seed}");
        assert!(
            (best.log_lik - log_lik).abs() / n_points < 1e-6,
            "seed {seed}: {log_lik} vs best {}",
            best.log_lik
        );
        assert!(floored_components(&fit.mixture, floor).is_empty());
        let weight_sum: f64 = fit.mixture.weights.iter().sum();
        assert!((weight_sum - 1.0).abs() < 1e-12);
    }
}

#[test]
fn a_collapse_onto_a_repeated_value_is_flagged_at_the_floor() {
    // Ten copies of one value far from a spread cluster: with a floor the
    // component on the copies ends at the floor and is flagged.
    let mut values: Vec<f64> = (0..40).map(|i| (i as f64 * 0.37).sin()).collect();
    values.extend(std::iter::repeat_n(10.0, 10));
    let points = Array2::from_shape_vec((50, 1), values).expect("column");
    let floor = 1e-6;
    let init = initial_mixture(&points, 2, &mut stream_from_seed(3)).expect("valid data");
    let settings = EmSettings {
        max_iter: 2000,
        tol: 1e-12,
        variance_floor: floor,
    };
    let fit = fit_em(&points, &init, &settings).expect("floored fit");
    let flagged = floored_components(&fit.mixture, floor);
    assert_eq!(flagged.len(), 1);
    let k = flagged[0];
    assert!((fit.mixture.means[[k, 0]] - 10.0).abs() < 1e-12);
    assert!((fit.mixture.weights[k] - 10.0 / 50.0).abs() < 1e-9);
}

#[test]
fn invalid_settings_are_rejected_before_fitting() {
    let points = load("faithful.csv", &["eruptions"]);
    let init = initial_mixture(&points, 2, &mut stream_from_seed(0)).expect("valid data");
    let bad = EmSettings {
        variance_floor: -1.0,
        ..EmSettings::default()
    };
    let message = fit_em(&points, &init, &bad).unwrap_err().to_string();
    assert!(
        message.contains("variance_floor") && message.contains("-1"),
        "{message}"
    );
    let too_many = initial_mixture(&points, 300, &mut stream_from_seed(0)).unwrap_err();
    assert!(too_many.to_string().contains("N < K"), "{too_many}");
}
