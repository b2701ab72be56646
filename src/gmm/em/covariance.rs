//! Covariance types and the precision factors the E-step evaluates
//! densities with.
//!
//! Every type is evaluated through a factor `P` with `Σ⁻¹ = Pᵀ P`:
//!
//! ```text
//! log N(x; μ, Σ) = −½ D log 2π + log|P| − ½ ‖P (x − μ)‖²
//! full, tied:       Σ = L Lᵀ (Cholesky),  P = L⁻¹ (lower),  log|P| = −Σ_i log L_ii
//! diag, spherical:  P = diag(1/σ_d),                      log|P| = −Σ_d log σ_d
//! ```

use ndarray::Array2;

use super::linalg::{cholesky, half_log_det, invert_lower};

/// The shape of every component's covariance matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CovarianceType {
    /// A full `D × D` matrix per component.
    Full,
    /// A diagonal matrix per component.
    Diag,
    /// One variance per component, `σ_k² I`.
    Spherical,
    /// One full matrix shared by every component.
    Tied,
}

impl CovarianceType {
    /// Every covariance type, in the order reports list them.
    pub const ALL: [CovarianceType; 4] = [Self::Full, Self::Diag, Self::Spherical, Self::Tied];

    /// The name used in study files and results: `full`, `diag`,
    /// `spherical` or `tied`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Diag => "diag",
            Self::Spherical => "spherical",
            Self::Tied => "tied",
        }
    }

    /// The type called `name` (see [`CovarianceType::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Free parameters of the covariances of `K` components in `D`
    /// dimensions.
    ///
    /// ```text
    /// full: K D(D+1)/2,  diag: K D,  spherical: K,  tied: D(D+1)/2
    /// ```
    pub fn n_params(self, n_components: usize, n_dims: usize) -> usize {
        let triangle = n_dims * (n_dims + 1) / 2;
        match self {
            Self::Full => n_components * triangle,
            Self::Diag => n_components * n_dims,
            Self::Spherical => n_components,
            Self::Tied => triangle,
        }
    }
}

/// The covariance matrices of a fitted mixture, stored by type.
#[derive(Debug, Clone, PartialEq)]
pub enum Covariances {
    /// One `D × D` matrix per component.
    Full(Vec<Array2<f64>>),
    /// Per-component variances, `K × D`.
    Diag(Array2<f64>),
    /// One variance per component.
    Spherical(Vec<f64>),
    /// One `D × D` matrix shared by every component.
    Tied(Array2<f64>),
}

impl Covariances {
    /// The covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Self::Full(_) => CovarianceType::Full,
            Self::Diag(_) => CovarianceType::Diag,
            Self::Spherical(_) => CovarianceType::Spherical,
            Self::Tied(_) => CovarianceType::Tied,
        }
    }

    /// Component `k`'s variance in dimension `d` (the diagonal entry).
    pub fn variance(&self, component: usize, dim: usize) -> f64 {
        match self {
            Self::Full(matrices) => matrices[component][[dim, dim]],
            Self::Diag(variances) => variances[[component, dim]],
            Self::Spherical(variances) => variances[component],
            Self::Tied(matrix) => matrix[[dim, dim]],
        }
    }

    /// Component `k`'s full covariance matrix.
    pub fn matrix(&self, component: usize, n_dims: usize) -> Array2<f64> {
        match self {
            Self::Full(matrices) => matrices[component].clone(),
            Self::Tied(matrix) => matrix.clone(),
            _ => Array2::from_shape_fn((n_dims, n_dims), |(i, j)| {
                if i == j {
                    self.variance(component, i)
                } else {
                    0.0
                }
            }),
        }
    }
}

/// Precision factors of every component, ready for the E-step.
#[derive(Debug, Clone)]
pub(crate) enum Factors {
    /// `1/σ_kd`, `K × D` (diag and spherical).
    Diagonal {
        /// Inverse standard deviations.
        inv_sd: Vec<f64>,
    },
    /// `P_k = L_k⁻¹`, `K` row-major `D × D` blocks (full and tied).
    Triangular {
        /// Inverse Cholesky factors.
        inv_factor: Vec<f64>,
    },
}

/// Precision factors plus `log|P_k|`.
#[derive(Debug, Clone)]
pub(crate) struct Precision {
    pub(crate) factors: Factors,
    pub(crate) log_det: Vec<f64>,
}

/// A covariance matrix that is not positive definite, by component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotPositiveDefinite {
    pub(crate) component: usize,
}

impl Precision {
    /// The factors of `covariances` for `n_components` components in
    /// `n_dims` dimensions.
    pub(crate) fn new(
        covariances: &Covariances,
        n_components: usize,
        n_dims: usize,
    ) -> Result<Self, NotPositiveDefinite> {
        match covariances {
            Covariances::Diag(_) | Covariances::Spherical(_) => {
                diagonal_precision(covariances, n_components, n_dims)
            }
            Covariances::Full(_) | Covariances::Tied(_) => {
                triangular_precision(covariances, n_components, n_dims)
            }
        }
    }
}

fn diagonal_precision(
    covariances: &Covariances,
    n_components: usize,
    n_dims: usize,
) -> Result<Precision, NotPositiveDefinite> {
    let mut inv_sd = vec![0.0; n_components * n_dims];
    let mut log_det = vec![0.0; n_components];
    for k in 0..n_components {
        for d in 0..n_dims {
            let variance = covariances.variance(k, d);
            if !(variance > 0.0 && variance.is_finite()) {
                return Err(NotPositiveDefinite { component: k });
            }
            let sd = variance.sqrt();
            inv_sd[k * n_dims + d] = 1.0 / sd;
            log_det[k] -= sd.ln();
        }
    }
    Ok(Precision {
        factors: Factors::Diagonal { inv_sd },
        log_det,
    })
}

fn triangular_precision(
    covariances: &Covariances,
    n_components: usize,
    n_dims: usize,
) -> Result<Precision, NotPositiveDefinite> {
    let square = n_dims * n_dims;
    let mut inv_factor = vec![0.0; n_components * square];
    let mut log_det = vec![0.0; n_components];
    let mut factor = vec![0.0; square];
    for k in 0..n_components {
        let matrix = covariances.matrix(k, n_dims);
        let matrix = matrix.as_standard_layout();
        let entries = matrix.as_slice().expect("standard layout");
        cholesky(entries, n_dims, &mut factor).map_err(|_| NotPositiveDefinite { component: k })?;
        let inverse = &mut inv_factor[k * square..(k + 1) * square];
        invert_lower(&factor, n_dims, inverse);
        log_det[k] = -half_log_det(&factor, n_dims);
    }
    Ok(Precision {
        factors: Factors::Triangular { inv_factor },
        log_det,
    })
}
