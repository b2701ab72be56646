//! The component densities of the SVI model and their gradients, for
//! diagonal and full (Cholesky) covariances (maths.md §6).
//!
//! Every component has a lower-triangular factor `L_k` with `Σ_k = L_k
//! L_kᵀ`, stored with its diagonal in logs (`ℓ_kd = log L_kdd`); the
//! diagonal family keeps the off-diagonal entries at zero, so `ℓ_kd =
//! log σ_kd`. With `e = x − μ_k`, `y = L_k⁻¹ e` and `z = L_k⁻ᵀ y`:
//!
//! ```text
//! log N(x; μ_k, Σ_k) = −½ D log 2π − Σ_d ℓ_kd − ½ ‖y‖²
//! ∂/∂μ_k      = z
//! ∂/∂L_k,ij   = z_i y_j                  (i > j, full only)
//! ∂/∂ℓ_kd     = L_kdd z_d y_d − 1
//! ```

use crate::gmm::model::HALF_LOG_TWO_PI;

/// The covariance family fitted by SVI.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SviCovariance {
    /// Diagonal covariances, parameterised by `log σ_kd`.
    #[default]
    Diag,
    /// Full covariances, parameterised by a Cholesky factor with a
    /// log-diagonal.
    Full,
}

impl SviCovariance {
    /// Parameters per component: `D` (diag) or `D (D + 1) / 2` (full).
    pub fn params_per_component(self, n_dims: usize) -> usize {
        match self {
            Self::Diag => n_dims,
            Self::Full => n_dims * (n_dims + 1) / 2,
        }
    }

    /// The name used in study files: `diag` or `full`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Diag => "diag",
            Self::Full => "full",
        }
    }
}

/// Position of `L_ij` (`j <= i`) in a component's packed block: diag
/// packs only the diagonal; full packs the lower triangle row by row.
#[inline]
pub(crate) fn packed_index(covariance: SviCovariance, i: usize, j: usize) -> usize {
    match covariance {
        SviCovariance::Diag => i,
        SviCovariance::Full => i * (i + 1) / 2 + j,
    }
}

/// The factors of every component, unpacked from the parameters once per
/// step, plus scratch for one point.
#[derive(Debug, Clone)]
pub(crate) struct Factors {
    covariance: SviCovariance,
    n_dims: usize,
    /// `L_k` as `K` row-major `D × D` lower-triangular blocks.
    factor: Vec<f64>,
    /// `log π_k − Σ_d ℓ_kd − D · ½ log 2π`.
    constants: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
}

impl Factors {
    pub(crate) fn new(covariance: SviCovariance, n_components: usize, n_dims: usize) -> Self {
        Self {
            covariance,
            n_dims,
            factor: vec![0.0; n_components * n_dims * n_dims],
            constants: vec![0.0; n_components],
            y: vec![0.0; n_dims],
            z: vec![0.0; n_dims],
        }
    }

    /// Unpacks the scale parameters (`K` packed blocks) and the log
    /// weights.
    pub(crate) fn prepare(&mut self, log_weights: &[f64], scales: &[f64]) {
        let (n_dims, covariance) = (self.n_dims, self.covariance);
        let block = covariance.params_per_component(n_dims);
        let square = n_dims * n_dims;
        for (k, packed) in scales.chunks(block).enumerate() {
            let factor = &mut self.factor[k * square..(k + 1) * square];
            let mut log_det = 0.0;
            for i in 0..n_dims {
                for j in 0..=i {
                    let value = if i == j || covariance == SviCovariance::Full {
                        packed[packed_index(covariance, i, j)]
                    } else {
                        0.0
                    };
                    if i == j {
                        log_det += value;
                        factor[i * n_dims + i] = value.exp();
                    } else {
                        factor[i * n_dims + j] = value;
                    }
                }
            }
            self.constants[k] = log_weights[k] - log_det - n_dims as f64 * HALF_LOG_TWO_PI;
        }
    }

    /// `log p(x, c = k)`; leaves `y = L_k⁻¹ (x − μ_k)` in scratch.
    #[inline]
    pub(crate) fn log_joint(&mut self, x: &[f64], mean: &[f64], k: usize) -> f64 {
        let n_dims = self.n_dims;
        let factor = &self.factor[k * n_dims * n_dims..(k + 1) * n_dims * n_dims];
        let mut quad = 0.0;
        for i in 0..n_dims {
            let row = &factor[i * n_dims..i * n_dims + i];
            let partial: f64 = row.iter().zip(&self.y[..i]).map(|(l, y)| l * y).sum();
            let value = (x[i] - mean[i] - partial) / factor[i * n_dims + i];
            self.y[i] = value;
            quad += value * value;
        }
        self.constants[k] - 0.5 * quad
    }

    /// Adds `weight · ∇ log N(x; μ_k, Σ_k)` to the mean and packed scale
    /// gradients of component `k`.
    pub(crate) fn add_grad(
        &mut self,
        x: &[f64],
        mean: &[f64],
        k: usize,
        weight: f64,
        grad_mean: &mut [f64],
        grad_scale: &mut [f64],
    ) {
        let (n_dims, covariance) = (self.n_dims, self.covariance);
        self.log_joint(x, mean, k);
        // z = L⁻ᵀ y by back substitution.
        let factor = &self.factor[k * n_dims * n_dims..(k + 1) * n_dims * n_dims];
        for i in (0..n_dims).rev() {
            let mut value = self.y[i];
            for m in i + 1..n_dims {
                value -= factor[m * n_dims + i] * self.z[m];
            }
            self.z[i] = value / factor[i * n_dims + i];
        }
        for i in 0..n_dims {
            grad_mean[i] += weight * self.z[i];
            let diag = factor[i * n_dims + i];
            grad_scale[packed_index(covariance, i, i)] +=
                weight * (diag * self.z[i] * self.y[i] - 1.0);
            if covariance == SviCovariance::Full {
                for j in 0..i {
                    grad_scale[packed_index(covariance, i, j)] += weight * self.z[i] * self.y[j];
                }
            }
        }
    }

    /// Component `k`'s factor `L_k` (row-major `D × D`).
    pub(crate) fn factor(&self, k: usize) -> &[f64] {
        let square = self.n_dims * self.n_dims;
        &self.factor[k * square..(k + 1) * square]
    }
}
