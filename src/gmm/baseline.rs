//! EM on the diagonal [`Mixture`] from a given start: the baseline the
//! study compares SVI with (same model family, same start).

use ndarray::Array2;

use super::em::report::component_reports;
use super::em::run::RunContext;
use super::em::{ComponentReport, Covariances, EmWarning, Start, run_from_start};
use super::model::Mixture;
use super::{GmmError, validate};

/// Settings of one EM run.
#[derive(Debug, Clone, PartialEq)]
pub struct EmSettings {
    /// Iteration limit.
    pub max_iter: usize,
    /// Stop when the per-point log-likelihood changes by less than this.
    pub tol: f64,
    /// Floor on every variance: added to each variance in the M-step
    /// (maths.md §6).
    pub variance_floor: f64,
}

impl Default for EmSettings {
    /// 5000 iterations, `tol = 1e-10` per point, floor 1e-6.
    fn default() -> Self {
        Self {
            max_iter: 5000,
            tol: 1e-10,
            variance_floor: 1e-6,
        }
    }
}

/// The result of an EM run.
#[derive(Debug, Clone)]
pub struct EmFit {
    /// The final model.
    pub mixture: Mixture,
    /// `Σ_n log p(x_n)` after each iteration (index 0: the initial model).
    pub log_lik_trace: Vec<f64>,
    /// Whether the tolerance was met before `max_iter`.
    pub converged: bool,
    /// Iterations run.
    pub n_iter: usize,
    /// Per-component findings (empty, floored, ...).
    pub components: Vec<ComponentReport>,
    /// Warnings (not converged, empty or floored components).
    pub warnings: Vec<EmWarning>,
}

/// Fits a diagonal mixture by EM from `init` (no restarts).
///
/// ```text
/// r_nk = softmax_k log p(x_n, k),   π_k = Σ_n r_nk / N,
/// μ_k = Σ_n r_nk x_n / N_k,   σ_kd² = Σ_n r_nk (x_nd − μ_kd)² / N_k + floor
/// ```
///
/// # Errors
///
/// [`GmmError`] on invalid settings or data, or a collapse with a zero
/// floor.
pub fn fit_em(
    points: &Array2<f64>,
    init: &Mixture,
    settings: &EmSettings,
) -> Result<EmFit, GmmError> {
    validate::check_points(points.view(), init.n_components())?;
    validate::check_non_negative("variance_floor", settings.variance_floor)?;
    validate::check_non_negative("tol", settings.tol)?;
    if settings.max_iter == 0 {
        return Err(GmmError::InvalidSetting {
            field: "max_iter",
            value: "0".to_string(),
            rule: "at least 1",
        });
    }
    if init.n_dims() != points.ncols() {
        return Err(GmmError::DimensionMismatch {
            what: "initial mixture",
            expected: points.ncols(),
            found: init.n_dims(),
        });
    }
    let standard = points.as_standard_layout();
    let n_dims = points.ncols();
    let sd = super::model::column_sd(points.view());
    let context = RunContext {
        data: standard.as_slice().expect("standard layout"),
        n_dims,
        reg: vec![settings.variance_floor; n_dims],
        data_var: sd.iter().map(|s| s * s).collect(),
        tol: settings.tol,
        max_iter: settings.max_iter,
    };
    let start = Start {
        weights: init.weights.clone(),
        means: init.means.clone(),
        covariances: Covariances::Diag(init.log_sigma.mapv(|ls| (2.0 * ls).exp())),
    };
    let outcome = run_from_start(&context, start)?;
    let components =
        component_reports(points.view(), &outcome.model, &outcome.counts, &context.reg);
    let mut warnings = Vec::new();
    if !outcome.converged {
        let trace = &outcome.trace;
        let last_change = (trace[trace.len() - 1] - trace[trace.len() - 2]).abs();
        warnings.push(EmWarning::NotConverged {
            max_iter: settings.max_iter,
            last_change: last_change / points.nrows() as f64,
        });
    }
    for (component, report) in components.iter().enumerate() {
        if report.empty {
            warnings.push(EmWarning::EmptyComponent { component });
        } else if report.floored {
            warnings.push(EmWarning::FlooredComponent { component });
        }
    }
    let covariances = outcome.model.covariances();
    let log_sigma = Array2::from_shape_fn(init.means.dim(), |(k, d)| {
        0.5 * covariances.variance(k, d).ln()
    });
    Ok(EmFit {
        mixture: Mixture {
            weights: outcome.model.weights().to_vec(),
            means: outcome.model.means().clone(),
            log_sigma,
        },
        log_lik_trace: outcome.trace,
        converged: outcome.converged,
        n_iter: outcome.n_iter,
        components,
        warnings,
    })
}
