//! The hostile mixture-fitting cases of `tests/data/` (described in the
//! shared cases README): each asks for a behaviour, checked here.

use std::path::Path;

use ndarray::{Array2, array, s};
use rebar_optimizer::data::read_matrix;
use rebar_optimizer::gmm::{
    CovarianceType, EmConfig, EmResult, EmWarning, GmmError, Init, fit_gmm,
};
use rebar_optimizer::rng::stream_from_seed;

fn case(name: &str) -> Array2<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    read_matrix(&path).expect("case file")
}

fn config(n_components: usize, covariance_type: CovarianceType, reg_covar: f64) -> EmConfig {
    EmConfig {
        covariance_type,
        reg_covar,
        n_init: 3,
        max_iter: 2000,
        tol: 1e-10,
        ..EmConfig::new(n_components)
    }
}

fn fit(points: &Array2<f64>, config: &EmConfig, seed: u64) -> Result<EmResult, GmmError> {
    fit_gmm(points, config, &mut stream_from_seed(seed))
}

fn assert_finite(result: &EmResult) {
    let model = &result.model;
    assert!(result.log_lik.is_finite());
    assert!(model.weights().iter().all(|w| w.is_finite() && *w >= 0.0));
    assert!((model.weights().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(model.means().iter().all(|m| m.is_finite()));
    for k in 0..model.n_components() {
        let matrix = model.covariances().matrix(k, model.n_dims());
        assert!(matrix.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn c1_singular_covariances_need_a_floor() {
    let points = case("C1.csv");
    let result = fit(&points, &config(5, CovarianceType::Full, 1e-6), 1).expect("floored fit");
    assert_finite(&result);
    match fit(&points, &config(5, CovarianceType::Full, 0.0), 1) {
        Err(GmmError::DegenerateCovariance {
            effective_count,
            needed,
            ..
        }) => {
            assert_eq!(needed, 11);
            assert!(effective_count < 11.0);
        }
        other => panic!("expected a degenerate-covariance error, got {other:?}"),
    }
    let message = fit(&points, &config(5, CovarianceType::Full, 0.0), 1)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("component") && message.contains("D + 1"),
        "{message}"
    );
}

#[test]
fn c2_a_spike_on_repeated_values_sits_at_the_floor_or_is_an_error() {
    let points = case("C2.csv");
    for covariance_type in CovarianceType::ALL {
        let floor = 1e-6;
        let result = fit(&points, &config(2, covariance_type, floor), 2).expect("floored fit");
        assert_finite(&result);
        if covariance_type == CovarianceType::Tied {
            continue; // One shared variance cannot sit on a spike.
        }
        let spike = (0..2)
            .find(|&k| (result.model.means()[[k, 0]] - 10.0).abs() < 1e-9)
            .expect("a component on the repeated value");
        let variance = result.model.covariances().variance(spike, 0);
        assert!(
            (variance - floor).abs() < 1e-15,
            "{covariance_type:?}: {variance}"
        );
        assert!((result.model.weights()[spike] - 10.0 / 110.0).abs() < 1e-9);
        assert!(result.components[spike].floored);
        assert!(
            result
                .warnings
                .contains(&EmWarning::FlooredComponent { component: spike })
        );

        let error = fit(&points, &config(2, covariance_type, 0.0), 2).unwrap_err();
        assert!(
            matches!(error, GmmError::Collapsed { .. }),
            "{covariance_type:?}: {error}"
        );
    }
}

#[test]
fn c3_a_singleton_component_has_exactly_the_floor_and_is_reported() {
    let points = case("C3.csv");
    let floor = 1e-6;
    let given = Init::Means(array![[-0.4], [1.0]]);
    for covariance_type in [
        CovarianceType::Diag,
        CovarianceType::Full,
        CovarianceType::Spherical,
    ] {
        let config = EmConfig {
            init: given.clone(),
            n_init: 1,
            ..config(2, covariance_type, floor)
        };
        let result = fit(&points, &config, 3).expect("floored fit");
        assert_finite(&result);
        let report = result.components[0];
        assert!(report.at_most_one_point && !report.empty, "{report:?}");
        assert_eq!(result.model.covariances().variance(0, 0), floor);
        assert_eq!(result.model.means()[[0, 0]], -0.4);
        assert!(!result.components[1].at_most_one_point);
    }
    // Whatever the start, the output is finite and singletons sit at the floor.
    for seed in 0..10 {
        let result = fit(&points, &config(2, CovarianceType::Diag, floor), seed).expect("fit");
        assert_finite(&result);
        for (k, report) in result.components.iter().enumerate() {
            if report.at_most_one_point && report.effective_count > 0.999 {
                assert!(report.floored, "seed {seed}, component {k}");
            }
        }
    }
}

#[test]
fn c4_fewer_distinct_points_than_components_is_an_error_before_fitting() {
    let points = case("C4.csv");
    let error = fit(&points, &config(5, CovarianceType::Full, 1e-6), 4).unwrap_err();
    assert_eq!(
        error,
        GmmError::TooFewDistinct {
            n_distinct: 2,
            n_components: 5
        }
    );
    assert!(fit(&points, &config(2, CovarianceType::Full, 1e-6), 4).is_ok());
}

#[test]
fn c5_n_below_k_and_a_single_point_are_up_front_errors() {
    let points = case("C5.csv");
    let error = fit(&points, &config(5, CovarianceType::Full, 1e-6), 5).unwrap_err();
    assert!(matches!(
        error,
        GmmError::FewerPointsThanComponents {
            n_points: 3,
            n_components: 5
        }
    ));
    assert!(error.to_string().contains("N < K"));
    let single = points.slice(s![..1, ..]).to_owned();
    for n_components in [1, 2, 5] {
        let error = fit(
            &single,
            &config(n_components, CovarianceType::Diag, 1e-6),
            5,
        )
        .unwrap_err();
        assert_eq!(error, GmmError::TooFewPoints { n_points: 1 });
    }
}

#[test]
fn c6_one_component_has_unit_weight_and_samples() {
    let points = case("C6.csv");
    for covariance_type in CovarianceType::ALL {
        let result = fit(&points, &config(1, covariance_type, 1e-6), 6).expect("fit");
        assert_finite(&result);
        assert_eq!(result.model.weights(), &[1.0]);
        let (samples, labels) = result.model.sample(1000, &mut stream_from_seed(60));
        assert_eq!(samples.dim(), (1000, 2));
        assert!(labels.iter().all(|&k| k == 0));
        assert!(samples.iter().all(|v| v.is_finite()));
    }
}

fn assert_two_groups(result: &EmResult, gap: f64, variance: f64) {
    let means = result.model.means();
    let distance = (means[[0, 0]] - means[[1, 0]]).abs();
    assert!((distance - gap).abs() < 0.1 * gap, "means {means:?}");
    for k in 0..2 {
        let v = result.model.covariances().variance(k, 0);
        assert!(v > 0.5 * variance && v < 2.0 * variance, "variance {v}");
    }
}

#[test]
fn c7_large_offsets_and_tiny_scales_keep_the_two_groups() {
    let points = case("C7.csv");
    let shift = 1e8;
    let shifted = points.mapv(|x| x - shift);
    for covariance_type in CovarianceType::ALL {
        let config = config(2, covariance_type, 1e-6);
        let result = fit(&points, &config, 7).expect("fit");
        assert_two_groups(&result, 10.0, 1.0);
        // Fitting x − c gives the fit of x shifted by c.
        let moved = fit(&shifted, &config, 7).expect("fit");
        for (a, b) in result.model.means().iter().zip(moved.model.means()) {
            assert!((a - shift - b).abs() < 1e-6, "{a} vs {b}");
        }
        let per_point = points.nrows() as f64;
        assert!((result.log_lik - moved.log_lik).abs() / per_point < 1e-6);
    }
    let tiny = case("C7_tiny.csv");
    let absolute = fit(&tiny, &config(2, CovarianceType::Diag, 1e-6), 7).expect("fit");
    assert!(
        absolute
            .warnings
            .iter()
            .any(|w| matches!(w, EmWarning::FloorAboveVariance { .. }))
    );
    let relative = EmConfig {
        reg_covar: 0.0,
        reg_covar_relative: 1e-6,
        ..config(2, CovarianceType::Diag, 0.0)
    };
    let result = fit(&tiny, &relative, 7).expect("fit");
    assert!(
        result
            .warnings
            .iter()
            .all(|w| !matches!(w, EmWarning::FloorAboveVariance { .. }))
    );
    assert_two_groups(&result, 10.0 * 1e-4, 1e-8);
}

#[test]
fn c8_non_finite_values_name_the_first_bad_row_and_column() {
    let error = fit(&case("C8.csv"), &config(2, CovarianceType::Full, 1e-6), 8).unwrap_err();
    assert!(
        matches!(
            error,
            GmmError::NonFinite {
                row: 3,
                column: 1,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("row 3, column 1"));
    let error = fit(
        &case("C8_inf.csv"),
        &config(2, CovarianceType::Diag, 1e-6),
        8,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            GmmError::NonFinite {
                row: 7,
                column: 0,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn c9_a_far_start_leaves_an_empty_component_kept_and_flagged() {
    let points = case("C9.csv");
    let means = case("C9_means_init.csv");
    for covariance_type in CovarianceType::ALL {
        let config = EmConfig {
            init: Init::Means(means.clone()),
            n_init: 1,
            ..config(3, covariance_type, 1e-6)
        };
        let result = fit(&points, &config, 9).expect("fit");
        assert_finite(&result);
        let report = result.components[2];
        assert!(
            report.empty && report.outside_data_box,
            "{covariance_type:?}: {report:?}"
        );
        assert_eq!(result.model.means().row(2), means.row(2));
        assert!(
            result
                .warnings
                .contains(&EmWarning::EmptyComponent { component: 2 })
        );
        assert!(
            result
                .warnings
                .contains(&EmWarning::OutsideDataBox { component: 2 })
        );
        for k in 0..2 {
            assert!(!result.components[k].outside_data_box && !result.components[k].empty);
        }
    }
}

#[test]
fn far_points_get_finite_responsibilities_and_the_nearest_label() {
    let points = case("C9.csv");
    let result = fit(&points, &config(2, CovarianceType::Full, 1e-6), 10).expect("fit");
    let model = &result.model;
    let far = array![[1e4, 1e4], [-1e4, -1e4], [6.5, 6.5]];
    let probs = model.predict_proba(&far).expect("valid query");
    for row in probs.rows() {
        assert!(row.iter().all(|p| p.is_finite()));
        assert!((row.sum() - 1.0).abs() < 1e-12);
    }
    // The nearest weighted component: the largest log π_k + log N(x; μ_k, Σ_k),
    // computed here from the 2 × 2 inverse and determinant.
    let labels = model.predict(&far).expect("valid query");
    for (x, &label) in far.rows().into_iter().zip(&labels) {
        let log_joint: Vec<f64> = (0..2)
            .map(|k| {
                let c = model.covariances().matrix(k, 2);
                let det = c[[0, 0]] * c[[1, 1]] - c[[0, 1]] * c[[1, 0]];
                let e = [x[0] - model.means()[[k, 0]], x[1] - model.means()[[k, 1]]];
                let quad = (c[[1, 1]] * e[0] * e[0] - 2.0 * c[[0, 1]] * e[0] * e[1]
                    + c[[0, 0]] * e[1] * e[1])
                    / det;
                model.weights()[k].ln() - 0.5 * det.ln() - 0.5 * quad
            })
            .collect();
        let expected = if log_joint[0] >= log_joint[1] { 0 } else { 1 };
        assert_eq!(label, expected, "{x:?}: {log_joint:?}");
    }
    let scores = model.score_samples(&far).expect("valid query");
    assert!(scores.iter().all(|s| s.is_finite()));
    let bad = array![[f64::NAN, 0.0]];
    assert!(matches!(
        model.predict(&bad),
        Err(GmmError::NonFinite {
            row: 0,
            column: 0,
            ..
        })
    ));
    assert!(model.score(&array![[1.0]]).is_err());
}
