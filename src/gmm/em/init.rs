//! Starting points for EM: k-means++ seeding, distinct random data points,
//! or means given by the caller; and the data statistics a start needs.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, RngExt};

use crate::rng::open_uniform;

/// How EM chooses its starting means. Every start then has equal weights
/// and every component's covariance equal to the data's (of the fitted
/// type, plus the regularisation).
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// k-means++ seeding (Arthur and Vassilvitskii, 2007): the first mean
    /// is a uniform data point, each next one a data point drawn with
    /// probability proportional to its squared distance to the nearest
    /// mean already chosen. No Lloyd iterations follow; EM refines.
    // Known limitation: seeding only, no Lloyd steps, because EM restarts refine the seeds.
    KMeansPlusPlus,
    /// K data points with distinct values, drawn uniformly.
    RandomFromData,
    /// The given means (`K × D`); every restart starts from them.
    Means(Array2<f64>),
}

impl Init {
    /// The name used in study files: `kmeans++`, `random` or `means`.
    pub fn name(&self) -> &'static str {
        match self {
            Init::KMeansPlusPlus => "kmeans++",
            Init::RandomFromData => "random",
            Init::Means(_) => "means",
        }
    }
}

/// Indices of `n_components` points with pairwise distinct values, drawn
/// by a partial Fisher–Yates shuffle that skips values already chosen.
/// Returns fewer indices when the data has fewer distinct points.
pub(crate) fn distinct_indices<R: Rng + ?Sized>(
    points: ArrayView2<f64>,
    n_components: usize,
    rng: &mut R,
) -> Vec<usize> {
    let n_points = points.nrows();
    let mut order: Vec<usize> = (0..n_points).collect();
    let mut chosen: Vec<usize> = Vec::with_capacity(n_components);
    for i in 0..n_points {
        if chosen.len() == n_components {
            break;
        }
        let j = rng.random_range(i..n_points);
        order.swap(i, j);
        let candidate = points.row(order[i]);
        if chosen.iter().all(|&c| points.row(c) != candidate) {
            chosen.push(order[i]);
        }
    }
    chosen
}

/// k-means++ seeds: indices of `n_components` distinct points (fewer when
/// the data has fewer distinct points).
///
/// ```text
/// P(next = n) = d_n² / Σ_m d_m²,   d_n = min over chosen means of ‖x_n − μ‖
/// ```
pub(crate) fn kmeans_plus_plus<R: Rng + ?Sized>(
    points: ArrayView2<f64>,
    n_components: usize,
    rng: &mut R,
) -> Vec<usize> {
    let n_points = points.nrows();
    let first = rng.random_range(0..n_points);
    let mut chosen = vec![first];
    let mut nearest: Vec<f64> = points
        .rows()
        .into_iter()
        .map(|x| squared_distance(x, points.row(first)))
        .collect();
    while chosen.len() < n_components {
        let total: f64 = nearest.iter().sum();
        if total <= 0.0 {
            break;
        }
        // Inversion of the cumulative squared distances.
        let target = open_uniform(rng) * total;
        let mut cumulative = 0.0;
        let mut next = None;
        for (n, &d) in nearest.iter().enumerate() {
            if d > 0.0 {
                next = Some(n);
                cumulative += d;
                if cumulative > target {
                    break;
                }
            }
        }
        let Some(next) = next else { break };
        chosen.push(next);
        for (d, x) in nearest.iter_mut().zip(points.rows()) {
            *d = d.min(squared_distance(x, points.row(next)));
        }
    }
    chosen
}

fn squared_distance(a: ndarray::ArrayView1<f64>, b: ndarray::ArrayView1<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Column means and the centred covariance matrix of the data (divided by
/// N), computed in two passes.
pub(crate) fn data_covariance(points: ArrayView2<f64>) -> (Vec<f64>, Array2<f64>) {
    let (n_points, n_dims) = points.dim();
    let means: Vec<f64> = points
        .columns()
        .into_iter()
        .map(|c| c.sum() / n_points as f64)
        .collect();
    let mut covariance = Array2::zeros((n_dims, n_dims));
    for x in points.rows() {
        for i in 0..n_dims {
            let e_i = x[i] - means[i];
            for j in 0..=i {
                covariance[[i, j]] += e_i * (x[j] - means[j]);
            }
        }
    }
    for i in 0..n_dims {
        for j in 0..=i {
            covariance[[i, j]] /= n_points as f64;
            covariance[[j, i]] = covariance[[i, j]];
        }
    }
    (means, covariance)
}
