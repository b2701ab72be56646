//! The mixture ELBO as a function of one flat parameter vector, with its
//! exact value, stochastic gradients (full or mini-batch) and the
//! gradient-variance probe, all on reusable buffers.

use ndarray::{Array2, ArrayView2};

use super::scale::{Factors, SviCovariance, packed_index};
use crate::estimator::Variables;
use crate::gmm::elbo::{logits_per_point, point_elbo};
use crate::gmm::em::{Covariances, GaussianMixture};
use crate::gmm::model::{Mixture, column_sd};
use crate::gmm::{GmmError, validate};
use crate::math::{log_softmax_into, logsumexp, softmax_into};

/// How the variational logits `φ_n` are parameterised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Variational {
    /// One free logit vector per point (`N · P` parameters).
    #[default]
    Local,
    /// `φ_n = W z_n + β` with `z_n` the point standardised per feature
    /// (`(x_nd − mean_d) / sd_d`); `P · (D + 1)` parameters.
    Amortised,
}

impl Variational {
    /// The name used in study files: `local` or `amortised`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Amortised => "amortised",
        }
    }
}

/// The ELBO of a mixture over a fixed data set as a function of one flat
/// parameter vector (maths.md §6).
///
/// Parameter layout (`K` components, `D` dimensions, `N` points, `P = 1`
/// for K = 2 and `P = K` otherwise, `S = D` for diagonal and `D (D+1)/2`
/// for full covariances):
///
/// ```text
/// [ α (K) | μ (K·D) | scales (K·S) | variational ]
/// π = softmax(α)
/// scales: per component, L's entries row by row (j <= i), the diagonal
///         as log L_ii (diagonal family: log σ_kd only)
/// variational: local φ (N·P, row-major) or amortised W (P·D) then β (P)
/// ```
#[derive(Debug, Clone)]
pub struct SviProblem<'a> {
    pub(super) points: ArrayView2<'a, f64>,
    pub(super) variables: Variables,
    pub(super) covariance: SviCovariance,
    pub(super) variational: Variational,
    pub(super) n_components: usize,
    pub(super) feature_mean: Vec<f64>,
    pub(super) feature_inv_sd: Vec<f64>,
    pub(super) factors: Factors,
    pub(super) log_joint: Vec<f64>,
    pub(super) log_weights: Vec<f64>,
    pub(super) probs: Vec<f64>,
    pub(super) assignment: Vec<f64>,
    pub(super) phi_point: Vec<f64>,
    pub(super) grad_phi_point: Vec<f64>,
    pub(super) standardised: Vec<f64>,
    pub(super) probe_sum: Vec<f64>,
    pub(super) probe_sum_sq: Vec<f64>,
    pub(super) order: Vec<usize>,
    pub(super) assignment_draws: usize,
    pub(super) batch_size: Option<usize>,
}

impl<'a> SviProblem<'a> {
    /// The problem for `points` (`N × D`) and `n_components` components,
    /// with diagonal covariances, local logits and full batches.
    ///
    /// # Errors
    ///
    /// [`GmmError`] when the data is invalid (finite values, `N >= 2`,
    /// `N >= K`) or `n_components < 2`.
    pub fn new(points: ArrayView2<'a, f64>, n_components: usize) -> Result<Self, GmmError> {
        validate::check_points(points, n_components)?;
        if !points.is_standard_layout() {
            return Err(GmmError::InvalidSetting {
                field: "points",
                value: "a non-contiguous array".to_string(),
                rule: "in standard (row-major) layout",
            });
        }
        if n_components < 2 {
            return Err(GmmError::InvalidSetting {
                field: "n_components",
                value: n_components.to_string(),
                rule: "at least 2 for SVI (one component has no latent choice)",
            });
        }
        let variables = if n_components == 2 {
            Variables::Binary
        } else {
            Variables::Categorical {
                n_classes: n_components,
            }
        };
        let (n_points, n_dims) = points.dim();
        let per_point = logits_per_point(variables);
        let feature_mean = points
            .columns()
            .into_iter()
            .map(|c| c.sum() / n_points as f64)
            .collect();
        let feature_inv_sd = column_sd(points)
            .iter()
            .map(|&s| if s > 0.0 { 1.0 / s } else { 1.0 })
            .collect();
        Ok(Self {
            points,
            variables,
            covariance: SviCovariance::Diag,
            variational: Variational::Local,
            n_components,
            feature_mean,
            feature_inv_sd,
            factors: Factors::new(SviCovariance::Diag, n_components, n_dims),
            log_joint: vec![0.0; n_points * n_components],
            log_weights: vec![0.0; n_components],
            probs: vec![0.0; n_components],
            assignment: vec![0.0; n_components],
            phi_point: vec![0.0; per_point],
            grad_phi_point: vec![0.0; per_point],
            standardised: vec![0.0; n_dims],
            probe_sum: vec![0.0; per_point],
            probe_sum_sq: vec![0.0; per_point],
            order: (0..n_points).collect(),
            assignment_draws: 1,
            batch_size: None,
        })
    }

    /// Sets the covariance family (default diagonal).
    pub fn with_covariance(mut self, covariance: SviCovariance) -> Self {
        self.covariance = covariance;
        self.factors = Factors::new(covariance, self.n_components, self.n_dims());
        self
    }

    /// Sets the variational family (default local logits).
    pub fn with_variational(mut self, variational: Variational) -> Self {
        self.variational = variational;
        self
    }

    /// Sets how many assignments per point are drawn from `q(c_n)` for the
    /// model gradient (at least 1; default 1); ignored by `exact`.
    pub fn with_assignment_draws(mut self, n_draws: usize) -> Self {
        self.assignment_draws = n_draws.max(1);
        self
    }

    /// Sets the mini-batch size: each gradient uses `B` points drawn
    /// without replacement and scales their terms by `N / B` (`None` or
    /// `B >= N`: every point, scale 1).
    // Known limitation: Adam momentum moves φ outside the batch, because one Adam serves all.
    pub fn with_batch_size(mut self, batch_size: Option<usize>) -> Self {
        self.batch_size = batch_size.filter(|&b| b > 0 && b < self.points.nrows());
        self
    }

    /// The kind of variable each `q(c_n)` is.
    pub fn variables(&self) -> Variables {
        self.variables
    }

    pub(super) fn n_dims(&self) -> usize {
        self.points.ncols()
    }

    pub(super) fn per_point(&self) -> usize {
        logits_per_point(self.variables)
    }

    pub(super) fn scales_len(&self) -> usize {
        self.n_components * self.covariance.params_per_component(self.n_dims())
    }

    pub(super) fn model_len(&self) -> usize {
        self.n_components * (1 + self.n_dims()) + self.scales_len()
    }

    /// The number of per-point logits, `N · P`.
    pub fn n_phi(&self) -> usize {
        self.points.nrows() * self.per_point()
    }

    /// The length of the variational block: `N · P` (local) or
    /// `P · (D + 1)` (amortised).
    pub fn n_variational(&self) -> usize {
        match self.variational {
            Variational::Local => self.n_phi(),
            Variational::Amortised => self.per_point() * (self.n_dims() + 1),
        }
    }

    /// The length of the parameter vector.
    pub fn n_params(&self) -> usize {
        self.model_len() + self.n_variational()
    }

    /// The parameter vector of `mixture` (its diagonal factors; zero
    /// off-diagonal entries for the full family) and the variational block
    /// `variational` ([`SviProblem::n_variational`] entries).
    ///
    /// # Panics
    ///
    /// Panics if the shapes do not match the problem.
    pub fn pack(&self, mixture: &Mixture, variational: &[f64]) -> Vec<f64> {
        assert_eq!(
            variational.len(),
            self.n_variational(),
            "pack: variational length"
        );
        assert_eq!(mixture.n_components(), self.n_components, "pack: K");
        let n_dims = self.n_dims();
        let mut params: Vec<f64> = mixture.weights.iter().map(|w| w.ln()).collect();
        params.extend(mixture.means.iter());
        let block = self.covariance.params_per_component(n_dims);
        for row in mixture.log_sigma.rows() {
            let mut packed = vec![0.0; block];
            for (d, &log_sigma) in row.iter().enumerate() {
                packed[packed_index(self.covariance, d, d)] = log_sigma;
            }
            params.extend(packed);
        }
        params.extend_from_slice(variational);
        params
    }

    /// The mixture held in `params`, as a general [`GaussianMixture`].
    ///
    /// # Errors
    ///
    /// [`GmmError::NotPositiveDefinite`] if a factor has underflowed.
    pub fn model(&mut self, params: &[f64]) -> Result<GaussianMixture, GmmError> {
        self.prepare(params);
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let mut weights = vec![0.0; n_components];
        softmax_into(&params[..n_components], &mut weights);
        let means = Array2::from_shape_vec(
            (n_components, n_dims),
            params[n_components..n_components * (1 + n_dims)].to_vec(),
        )
        .expect("K × D block");
        let matrices = (0..n_components)
            .map(|k| {
                let factor = self.factors.factor(k);
                Array2::from_shape_fn((n_dims, n_dims), |(i, j)| {
                    (0..n_dims)
                        .map(|m| factor[i * n_dims + m] * factor[j * n_dims + m])
                        .sum()
                })
            })
            .collect();
        GaussianMixture::new(weights, means, Covariances::Full(matrices))
    }

    /// The diagonal view of the mixture in `params`: weights, means and
    /// `log σ_kd = ½ log Σ_k,dd` (the marginal scales for the full family).
    pub fn mixture(&mut self, params: &[f64]) -> Mixture {
        self.prepare(params);
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let mut weights = vec![0.0; n_components];
        softmax_into(&params[..n_components], &mut weights);
        let means = &params[n_components..n_components * (1 + n_dims)];
        let log_sigma = Array2::from_shape_fn((n_components, n_dims), |(k, d)| {
            let factor = self.factors.factor(k);
            let row = &factor[d * n_dims..(d + 1) * n_dims];
            0.5 * row.iter().map(|l| l * l).sum::<f64>().ln()
        });
        Mixture {
            weights,
            means: Array2::from_shape_vec((n_components, n_dims), means.to_vec())
                .expect("K × D block"),
            log_sigma,
        }
    }

    /// The per-point logits `φ` (`N · P`, row-major) at `params`.
    pub fn phi(&mut self, params: &[f64]) -> Vec<f64> {
        let per_point = self.per_point();
        let mut phi = vec![0.0; self.n_phi()];
        for (n, out) in phi.chunks_mut(per_point).enumerate() {
            self.point_logits(params, n);
            out.copy_from_slice(&self.phi_point);
        }
        phi
    }

    /// Writes `φ_n` into `self.phi_point` (and `z_n` into
    /// `self.standardised` when amortised).
    pub(super) fn point_logits(&mut self, params: &[f64], n: usize) {
        let per_point = self.per_point();
        let variational = &params[self.model_len()..];
        match self.variational {
            Variational::Local => self
                .phi_point
                .copy_from_slice(&variational[n * per_point..(n + 1) * per_point]),
            Variational::Amortised => {
                let n_dims = self.n_dims();
                let x = self.points.row(n);
                for d in 0..n_dims {
                    self.standardised[d] = (x[d] - self.feature_mean[d]) * self.feature_inv_sd[d];
                }
                let (weights, offsets) = variational.split_at(per_point * n_dims);
                for (p, out) in self.phi_point.iter_mut().enumerate() {
                    let row = &weights[p * n_dims..(p + 1) * n_dims];
                    let dot: f64 = row.iter().zip(&self.standardised).map(|(w, z)| w * z).sum();
                    *out = dot + offsets[p];
                }
            }
        }
    }

    /// Unpacks the model part of `params` into the factors.
    pub(super) fn prepare(&mut self, params: &[f64]) {
        let n_components = self.n_components;
        log_softmax_into(&params[..n_components], &mut self.log_weights);
        let start = n_components * (1 + self.n_dims());
        let scales = &params[start..start + self.scales_len()];
        self.factors.prepare(&self.log_weights, scales);
    }

    /// Fills the log-joint rows of point `n`; returns `log p(x_n)`.
    pub(super) fn fill_row(&mut self, params: &[f64], n: usize) -> f64 {
        let (n_components, n_dims) = (self.n_components, self.n_dims());
        let means = &params[n_components..n_components * (1 + n_dims)];
        let x = self.points.row(n);
        let x = x.as_slice().expect("rows of a standard-layout view");
        let row = &mut self.log_joint[n * n_components..(n + 1) * n_components];
        for (k, out) in row.iter_mut().enumerate() {
            *out = self
                .factors
                .log_joint(x, &means[k * n_dims..(k + 1) * n_dims], k);
        }
        logsumexp(row)
    }

    /// The exact ELBO and the exact `Σ_n log p(x_n)` at `params`.
    pub fn exact_elbo(&mut self, params: &[f64]) -> (f64, f64) {
        self.prepare(params);
        let (mut elbo, mut log_lik) = (0.0, 0.0);
        let n_components = self.n_components;
        for n in 0..self.points.nrows() {
            log_lik += self.fill_row(params, n);
            self.point_logits(params, n);
            let row = &self.log_joint[n * n_components..(n + 1) * n_components];
            elbo += point_elbo(row, &self.phi_point, self.variables).0;
        }
        (elbo, log_lik)
    }
}
