//! A fitted Gaussian mixture: prediction, scores, sampling and
//! information criteria.

use ndarray::{Array2, ArrayView2};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::covariance::{CovarianceType, Covariances, NotPositiveDefinite, Precision};
use super::linalg::cholesky;
use super::passes::{Kernel, SecondMoments, e_step, resp_row_major, score};
use crate::gmm::GmmError;
use crate::rng::open_uniform;

/// A Gaussian mixture with any covariance type.
///
/// ```text
/// p(x) = Σ_k π_k N(x; μ_k, Σ_k)
/// ```
///
/// `π` = `weights` (summing to 1), `μ` = `means` (`K × D`), `Σ` =
/// `covariances`.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    means: Array2<f64>,
    covariances: Covariances,
    precision: Precision,
}

impl GaussianMixture {
    /// A mixture from its parameters.
    ///
    /// # Errors
    ///
    /// [`GmmError`] when the shapes disagree, a weight is negative or not
    /// finite, the weights do not sum to 1 within 1e-9, or a covariance
    /// is not positive definite.
    pub fn new(
        weights: Vec<f64>,
        means: Array2<f64>,
        covariances: Covariances,
    ) -> Result<Self, GmmError> {
        let (n_components, n_dims) = means.dim();
        let shape_ok = weights.len() == n_components
            && match &covariances {
                Covariances::Full(m) => {
                    m.len() == n_components && m.iter().all(|c| c.dim() == (n_dims, n_dims))
                }
                Covariances::Diag(v) => v.dim() == (n_components, n_dims),
                Covariances::Spherical(v) => v.len() == n_components,
                Covariances::Tied(m) => m.dim() == (n_dims, n_dims),
            };
        if !shape_ok || n_components == 0 || n_dims == 0 {
            return Err(GmmError::ModelShape {
                n_weights: weights.len(),
                means: means.dim(),
            });
        }
        let sum: f64 = weights.iter().sum();
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || (sum - 1.0).abs() > 1e-9 {
            return Err(GmmError::InvalidSetting {
                field: "weights",
                value: format!("{weights:?}"),
                rule: "non-negative and summing to 1",
            });
        }
        Self::from_parts(weights, means, covariances).map_err(|e| GmmError::NotPositiveDefinite {
            component: e.component,
        })
    }

    pub(crate) fn from_parts(
        weights: Vec<f64>,
        means: Array2<f64>,
        covariances: Covariances,
    ) -> Result<Self, NotPositiveDefinite> {
        let (n_components, n_dims) = means.dim();
        let precision = Precision::new(&covariances, n_components, n_dims)?;
        let means = means.as_standard_layout().into_owned();
        Ok(Self {
            weights,
            means,
            covariances,
            precision,
        })
    }

    /// The weights `π_k`.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The means, `K × D`.
    pub fn means(&self) -> &Array2<f64> {
        &self.means
    }

    /// The covariances.
    pub fn covariances(&self) -> &Covariances {
        &self.covariances
    }

    /// The covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        self.covariances.covariance_type()
    }

    /// The number of components `K`.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// The dimension `D`.
    pub fn n_dims(&self) -> usize {
        self.means.ncols()
    }

    fn kernel_parts(&self) -> (Vec<f64>, &[f64]) {
        let log_weights = self.weights.iter().map(|w| w.ln()).collect();
        (log_weights, self.means.as_slice().expect("standard layout"))
    }

    fn check_query(&self, points: ArrayView2<f64>) -> Result<(), GmmError> {
        if points.ncols() != self.n_dims() {
            return Err(GmmError::DimensionMismatch {
                what: "query points",
                expected: self.n_dims(),
                found: points.ncols(),
            });
        }
        if let Some(((row, column), &value)) = points.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(GmmError::NonFinite { row, column, value });
        }
        Ok(())
    }

    /// Posterior class probabilities `p(c = k | x_n)`, `N × K`; finite and
    /// summing to 1 even for points far from every component.
    ///
    /// # Errors
    ///
    /// [`GmmError`] when the points have the wrong dimension or a value
    /// that is not finite.
    pub fn predict_proba(&self, points: &Array2<f64>) -> Result<Array2<f64>, GmmError> {
        self.check_query(points.view())?;
        let standard = points.as_standard_layout();
        let (log_weights, means) = self.kernel_parts();
        let kernel = Kernel::new(&log_weights, means, &self.precision);
        let mut resp = vec![0.0; points.nrows() * self.n_components()];
        let data = standard.as_slice().expect("standard layout");
        e_step(data, &kernel, SecondMoments::Skip, Some(&mut resp));
        Ok(Array2::from_shape_vec(
            (points.nrows(), self.n_components()),
            resp_row_major(&resp, self.n_components()),
        )
        .expect("N × K responsibilities"))
    }

    /// The most probable component of each point (the first on ties).
    ///
    /// # Errors
    ///
    /// As [`GaussianMixture::predict_proba`].
    pub fn predict(&self, points: &Array2<f64>) -> Result<Vec<usize>, GmmError> {
        let probs = self.predict_proba(points)?;
        Ok(probs
            .rows()
            .into_iter()
            .map(|row| {
                let mut best = 0;
                for (k, &p) in row.iter().enumerate() {
                    if p > row[best] {
                        best = k;
                    }
                }
                best
            })
            .collect())
    }

    /// `log p(x_n)` for every point.
    ///
    /// # Errors
    ///
    /// As [`GaussianMixture::predict_proba`].
    pub fn score_samples(&self, points: &Array2<f64>) -> Result<Vec<f64>, GmmError> {
        self.check_query(points.view())?;
        let standard = points.as_standard_layout();
        let (log_weights, means) = self.kernel_parts();
        let kernel = Kernel::new(&log_weights, means, &self.precision);
        let mut log_px = vec![0.0; points.nrows()];
        score(
            standard.as_slice().expect("standard layout"),
            &kernel,
            &mut log_px,
        );
        Ok(log_px)
    }

    /// The total log-likelihood `Σ_n log p(x_n)`.
    ///
    /// # Errors
    ///
    /// As [`GaussianMixture::predict_proba`].
    pub fn score(&self, points: &Array2<f64>) -> Result<f64, GmmError> {
        Ok(self.score_samples(points)?.iter().sum())
    }

    /// Free parameters: `(K − 1) + K D + covariance parameters`.
    pub fn n_parameters(&self) -> usize {
        let (n_components, n_dims) = (self.n_components(), self.n_dims());
        n_components - 1
            + n_components * n_dims
            + self.covariance_type().n_params(n_components, n_dims)
    }

    /// The Bayesian information criterion on `points` (lower is better).
    ///
    /// ```text
    /// BIC = −2 Σ_n log p(x_n) + p log N,   p = free parameters
    /// ```
    ///
    /// # Errors
    ///
    /// As [`GaussianMixture::predict_proba`].
    pub fn bic(&self, points: &Array2<f64>) -> Result<f64, GmmError> {
        let n_points = points.nrows() as f64;
        Ok(-2.0 * self.score(points)? + self.n_parameters() as f64 * n_points.ln())
    }

    /// The Akaike information criterion on `points` (lower is better).
    ///
    /// ```text
    /// AIC = −2 Σ_n log p(x_n) + 2 p
    /// ```
    ///
    /// # Errors
    ///
    /// As [`GaussianMixture::predict_proba`].
    pub fn aic(&self, points: &Array2<f64>) -> Result<f64, GmmError> {
        Ok(-2.0 * self.score(points)? + 2.0 * self.n_parameters() as f64)
    }

    /// Draws `n_samples` points and their components.
    ///
    /// ```text
    /// c ~ Categorical(π),   x = μ_c + L_c z,   z ~ N(0, I),   Σ_c = L_c L_cᵀ
    /// ```
    pub fn sample<R: Rng + ?Sized>(
        &self,
        n_samples: usize,
        rng: &mut R,
    ) -> (Array2<f64>, Vec<usize>) {
        let (n_components, n_dims) = (self.n_components(), self.n_dims());
        let mut factors = vec![0.0; n_components * n_dims * n_dims];
        for (k, factor) in factors.chunks_mut(n_dims * n_dims).enumerate() {
            let matrix = self.covariances.matrix(k, n_dims);
            let entries = matrix.as_standard_layout();
            cholesky(entries.as_slice().expect("standard layout"), n_dims, factor)
                .expect("covariances were factorised when the model was built");
        }
        let last_positive = self.weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
        let mut points = Array2::zeros((n_samples, n_dims));
        let mut labels = Vec::with_capacity(n_samples);
        let mut z = vec![0.0; n_dims];
        for mut x in points.rows_mut() {
            let u = open_uniform(rng);
            let mut cumulative = 0.0;
            let mut chosen = last_positive;
            for (k, &w) in self.weights.iter().enumerate() {
                cumulative += w;
                if u < cumulative && w > 0.0 {
                    chosen = k;
                    break;
                }
            }
            z.iter_mut().for_each(|v| *v = StandardNormal.sample(rng));
            let factor = &factors[chosen * n_dims * n_dims..(chosen + 1) * n_dims * n_dims];
            for i in 0..n_dims {
                let offset: f64 = (0..=i).map(|j| factor[i * n_dims + j] * z[j]).sum();
                x[i] = self.means[[chosen, i]] + offset;
            }
            labels.push(chosen);
        }
        (points, labels)
    }
}
