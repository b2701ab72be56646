//! Parity with scikit-learn: on the shipped data sets, EM with restarts
//! reaches the best log-likelihood scikit-learn found over 100 restarts at
//! the same floor (`tests/data/sklearn_parity.csv`, written by
//! `benches/peers/sklearn_parity.py`; configurations whose best optimum is
//! a collapsed spike are left out there). Our fit uses 100 k-means++
//! restarts: faithful's 2-D K = 3 full optimum is found by a minority of
//! starts (20 restarts miss it).

use std::path::Path;

use rebar_optimizer::data::read_columns;
use rebar_optimizer::gmm::{CovarianceType, EmConfig, fit_gmm};
use rebar_optimizer::rng::stream_from_seed;

/// One row of the reference file.
struct Reference {
    file: String,
    columns: Vec<String>,
    n_components: usize,
    covariance_type: CovarianceType,
    reg_covar: f64,
    best_log_lik: f64,
}

fn references() -> Vec<Reference> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sklearn_parity.csv");
    let mut reader = csv::Reader::from_path(&path).expect("reference file");
    reader
        .records()
        .map(|record| {
            let record = record.expect("reference row");
            Reference {
                file: record[0].to_string(),
                columns: record[1].split(' ').map(str::to_string).collect(),
                n_components: record[2].parse().expect("K"),
                covariance_type: CovarianceType::from_name(&record[3]).expect("covariance type"),
                reg_covar: record[4].parse().expect("reg_covar"),
                best_log_lik: record[6].parse().expect("log-likelihood"),
            }
        })
        .collect()
}

#[test]
fn em_reaches_the_best_scikit_learn_log_likelihood() {
    let references = references();
    assert!(references.len() >= 10);
    let mut report = Vec::new();
    for (index, reference) in references.iter().enumerate() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(&reference.file);
        let points = read_columns(&path, &reference.columns)
            .expect("data")
            .points;
        let config = EmConfig {
            covariance_type: reference.covariance_type,
            reg_covar: reference.reg_covar,
            n_init: 100,
            tol: 1e-10,
            max_iter: 10_000,
            ..EmConfig::new(reference.n_components)
        };
        let result = fit_gmm(&points, &config, &mut stream_from_seed(index as u64)).expect("fit");
        let gap = (result.log_lik - reference.best_log_lik) / points.nrows() as f64;
        report.push(format!(
            "{} {:?} K={} {}: ours {:.6} sklearn {:.6} gap/point {gap:.2e}",
            reference.file,
            reference.columns,
            reference.n_components,
            reference.covariance_type.name(),
            result.log_lik,
            reference.best_log_lik
        ));
        assert!(result.components.iter().all(|c| !c.floored && !c.empty));
        assert!(gap.abs() < 1e-6, "{}", report.join("\n"));
    }
    println!("{}", report.join("\n"));
}
