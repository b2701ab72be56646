//! The diagonal Gaussian mixture shared by SVI and EM, its densities, the
//! shared starting point of both methods and the flag for floored
//! components (maths.md §6).

use ndarray::{Array2, ArrayView2};
use rand::Rng;

use super::GmmError;
use crate::math::logsumexp;

/// `0.5 · log(2π)`.
pub(crate) const HALF_LOG_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// A Gaussian mixture with diagonal covariances.
///
/// ```text
/// p(x) = Σ_k π_k Π_d N(x_d; μ_kd, σ_kd²)
/// ```
///
/// `π` = `weights`, `μ` = `means`, `log σ` = `log_sigma`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture {
    /// Mixture weights `π_k`, summing to 1.
    pub weights: Vec<f64>,
    /// Means, `K × D`.
    pub means: Array2<f64>,
    /// Log standard deviations, `K × D`.
    pub log_sigma: Array2<f64>,
}

impl Mixture {
    /// The number of components `K`.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// The dimension `D` of the data.
    pub fn n_dims(&self) -> usize {
        self.means.ncols()
    }

    /// Writes `log p(x_n, c_n = k)` for every point and component into
    /// `log_joint` (`N × K`, row-major) and returns `Σ_n log p(x_n)`.
    ///
    /// ```text
    /// log p(x_n, k) = log π_k − Σ_d [ log σ_kd + ½ log 2π + ½ ((x_nd − μ_kd)/σ_kd)² ]
    /// log p(x_n)    = logsumexp_k log p(x_n, k)
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if `points` has other than `D` columns or `log_joint` has
    /// other than `N · K` entries.
    pub fn log_joint_into(&self, points: ArrayView2<f64>, log_joint: &mut [f64]) -> f64 {
        let n_components = self.n_components();
        assert_eq!(
            points.ncols(),
            self.n_dims(),
            "log_joint: dimension mismatch"
        );
        assert_eq!(
            log_joint.len(),
            points.nrows() * n_components,
            "log_joint: buffer length"
        );
        let constants: Vec<f64> = (0..n_components)
            .map(|k| {
                let log_norm: f64 = self
                    .log_sigma
                    .row(k)
                    .iter()
                    .map(|&ls| ls + HALF_LOG_TWO_PI)
                    .sum();
                self.weights[k].ln() - log_norm
            })
            .collect();
        let precisions = self.log_sigma.mapv(|ls| (-2.0 * ls).exp());
        let mut total = 0.0;
        for (x, row) in points
            .rows()
            .into_iter()
            .zip(log_joint.chunks_mut(n_components))
        {
            for (k, out) in row.iter_mut().enumerate() {
                let mean = self.means.row(k);
                let precision = precisions.row(k);
                let mut quad = 0.0;
                for ((&xd, &md), &pd) in x.iter().zip(mean.iter()).zip(precision.iter()) {
                    let diff = xd - md;
                    quad += diff * diff * pd;
                }
                *out = constants[k] - 0.5 * quad;
            }
            total += logsumexp(row);
        }
        total
    }

    /// The exact `Σ_n log p(x_n)`.
    ///
    /// # Panics
    ///
    /// Panics if `points` has other than `D` columns.
    pub fn log_likelihood(&self, points: ArrayView2<f64>) -> f64 {
        let mut buffer = vec![0.0; points.nrows() * self.n_components()];
        self.log_joint_into(points, &mut buffer)
    }
}

/// The shared starting point of SVI and EM for one (seed, K).
///
/// ```text
/// μ_k   = x_{i_k},  i_1..i_K drawn by rng among points with distinct values
/// σ_kd  = sd_d = sqrt( Σ_n (x_nd − mean_d)² / N )     (every component)
/// π_k   = 1/K
/// ```
///
/// The indices are drawn by a partial Fisher–Yates shuffle of `0..N`; a
/// point whose value equals an already chosen mean is skipped, so the K
/// means are distinct.
///
/// # Errors
///
/// [`GmmError`] when `n_components` is 0, the data is empty or not
/// finite, a column is constant, or the data has fewer than K distinct
/// points.
pub fn initial_mixture<R: Rng + ?Sized>(
    points: &Array2<f64>,
    n_components: usize,
    rng: &mut R,
) -> Result<Mixture, GmmError> {
    super::validate::check_points(points.view(), n_components)?;
    let n_dims = points.ncols();
    let sd = column_sd(points.view());
    if let Some(column) = sd.iter().position(|&s| s <= 0.0) {
        return Err(GmmError::ConstantColumn { column });
    }

    // Partial Fisher–Yates, skipping values already chosen (shared with
    // EM's random-from-data start).
    let chosen = super::em::distinct_indices(points.view(), n_components, rng);
    if chosen.len() < n_components {
        return Err(GmmError::TooFewDistinct {
            n_distinct: chosen.len(),
            n_components,
        });
    }

    let mut means = Array2::zeros((n_components, n_dims));
    for (k, &index) in chosen.iter().enumerate() {
        means.row_mut(k).assign(&points.row(index));
    }
    let log_sigma = Array2::from_shape_fn((n_components, n_dims), |(_, d)| sd[d].ln());
    Ok(Mixture {
        weights: vec![1.0 / n_components as f64; n_components],
        means,
        log_sigma,
    })
}

/// Population standard deviation of each column (centred two-pass form).
pub(crate) fn column_sd(points: ArrayView2<f64>) -> Vec<f64> {
    let n_points = points.nrows() as f64;
    points
        .columns()
        .into_iter()
        .map(|column| {
            let mean = column.sum() / n_points;
            let sum_sq: f64 = column.iter().map(|&x| (x - mean) * (x - mean)).sum();
            (sum_sq / n_points).sqrt()
        })
        .collect()
}

/// Indices of components with some variance within 1 % of `variance_floor`
/// (components that collapsed onto a point or a repeated value).
///
/// ```text
/// flagged(k) = exists d: σ_kd² <= 1.01 · floor
/// ```
///
/// A floor of 0 flags nothing.
pub fn floored_components(mixture: &Mixture, variance_floor: f64) -> Vec<usize> {
    if variance_floor <= 0.0 {
        return Vec::new();
    }
    mixture
        .log_sigma
        .rows()
        .into_iter()
        .enumerate()
        .filter(|(_, row)| {
            row.iter()
                .any(|&ls| (2.0 * ls).exp() <= 1.01 * variance_floor)
        })
        .map(|(k, _)| k)
        .collect()
}
