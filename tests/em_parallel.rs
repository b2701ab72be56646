//! EM over many chunks of points: identical bits for any thread count, and
//! recovery of a known mixture within bounds set by the sample size.

use ndarray::{Array2, array};
use rebar_optimizer::gmm::{CovarianceType, Covariances, EmConfig, GaussianMixture, fit_gmm};
use rebar_optimizer::rng::stream_from_seed;

fn truth() -> GaussianMixture {
    let covariances = Covariances::Full(vec![
        array![[1.0, 0.3], [0.3, 0.5]],
        array![[0.4, -0.1], [-0.1, 0.8]],
        array![[2.0, 0.0], [0.0, 2.0]],
    ]);
    GaussianMixture::new(
        vec![0.5, 0.3, 0.2],
        array![[0.0, 0.0], [5.0, 1.0], [-3.0, 6.0]],
        covariances,
    )
    .expect("valid model")
}

fn fit_with_threads(points: &Array2<f64>, config: &EmConfig, threads: usize) -> (Vec<u64>, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let result = pool.install(|| fit_gmm(points, config, &mut stream_from_seed(4)).expect("fit"));
    let bits = result.model.means().iter().map(|m| m.to_bits()).collect();
    (bits, result.log_lik.to_bits())
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (points, _) = truth().sample(9000, &mut stream_from_seed(1));
    for covariance_type in CovarianceType::ALL {
        let config = EmConfig {
            covariance_type,
            n_init: 2,
            max_iter: 50,
            ..EmConfig::new(3)
        };
        let one = fit_with_threads(&points, &config, 1);
        let two = fit_with_threads(&points, &config, 2);
        let three = fit_with_threads(&points, &config, 3);
        assert_eq!(one, two, "{covariance_type:?}");
        assert_eq!(one, three, "{covariance_type:?}");
    }
}

#[test]
fn a_known_mixture_is_recovered_within_sampling_error() {
    let model = truth();
    let n_points = 20_000;
    let (points, _) = model.sample(n_points, &mut stream_from_seed(2));
    let config = EmConfig {
        n_init: 3,
        ..EmConfig::new(3)
    };
    let result = fit_gmm(&points, &config, &mut stream_from_seed(3)).expect("fit");
    assert!(result.converged);
    for k in 0..3 {
        // Match each true component to the fitted one with the nearest mean.
        let fitted = (0..3)
            .min_by(|&a, &b| {
                let da = distance(&result.model.means().row(a), &model.means().row(k));
                let db = distance(&result.model.means().row(b), &model.means().row(k));
                da.total_cmp(&db)
            })
            .expect("three components");
        let count = model.weights()[k] * n_points as f64;
        for d in 0..2 {
            // Bonferroni z for 6 coordinates at alpha = 0.001 is below 4.
            let sd = (model.covariances().variance(k, d) / count).sqrt();
            let error = (result.model.means()[[fitted, d]] - model.means()[[k, d]]).abs();
            assert!(
                error < 4.0 * sd,
                "component {k}, dim {d}: error {error}, sd {sd}"
            );
        }
        let weight_sd = (model.weights()[k] * (1.0 - model.weights()[k]) / n_points as f64).sqrt();
        let weight_error = (result.model.weights()[fitted] - model.weights()[k]).abs();
        assert!(weight_error < 4.0 * weight_sd, "weight {k}: {weight_error}");
    }
}

fn distance(a: &ndarray::ArrayView1<f64>, b: &ndarray::ArrayView1<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}
