//! What a fit reports besides the model: per-component flags and
//! warnings.

use std::fmt;

use ndarray::ArrayView2;

use super::EMPTY_COUNT;
use super::fit::{EmConfig, EmResult, final_log_lik};
use super::model::GaussianMixture;
use super::run::{RunContext, RunOutcome};

/// What the fit found out about one component of the returned model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentReport {
    /// `N_k = Σ_n r_nk` under the returned model.
    pub effective_count: f64,
    /// `N_k <= EMPTY_COUNT`: kept where it was, weight `N_k / N`.
    pub empty: bool,
    /// `N_k <= 1`: at most one effective point.
    pub at_most_one_point: bool,
    /// Some variance is within 1 % of the regularisation added to it.
    pub floored: bool,
    /// The mean lies outside the data's bounding box.
    pub outside_data_box: bool,
}

/// Something the caller should know about a returned fit.
#[derive(Debug, Clone, PartialEq)]
pub enum EmWarning {
    /// `max_iter` was reached before the tolerance.
    NotConverged {
        /// The iteration limit.
        max_iter: usize,
        /// The last per-point change of the log-likelihood.
        last_change: f64,
    },
    /// The absolute `reg_covar` exceeds 1 % of a feature's variance, so it
    /// may merge clusters.
    FloorAboveVariance {
        /// The feature (column, from 0).
        column: usize,
        /// The absolute floor.
        reg_covar: f64,
        /// The feature's variance in the data.
        variance: f64,
    },
    /// A component ended empty (see the module's policy).
    EmptyComponent {
        /// The component.
        component: usize,
    },
    /// A component's variance sits at the floor.
    FlooredComponent {
        /// The component.
        component: usize,
    },
    /// A component's mean lies outside the data's bounding box.
    OutsideDataBox {
        /// The component.
        component: usize,
    },
}

impl fmt::Display for EmWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConverged {
                max_iter,
                last_change,
            } => write!(
                f,
                "not converged after max_iter = {max_iter} iterations (last change \
                 {last_change:e} per point); raise max_iter or tol"
            ),
            Self::FloorAboveVariance {
                column,
                reg_covar,
                variance,
            } => write!(
                f,
                "reg_covar = {reg_covar:e} exceeds 1% of column {column}'s variance \
                 {variance:e}; lower reg_covar or use reg_covar_relative"
            ),
            Self::EmptyComponent { component } => {
                write!(
                    f,
                    "component {component} is empty; kept in place with weight ~0"
                )
            }
            Self::FlooredComponent { component } => {
                write!(
                    f,
                    "component {component} has a variance at the floor (collapsed)"
                )
            }
            Self::OutsideDataBox { component } => {
                write!(
                    f,
                    "component {component}'s mean lies outside the data's bounding box"
                )
            }
        }
    }
}

/// Flags and warnings for the winning run.
pub(crate) fn finish(
    points: ArrayView2<f64>,
    config: &EmConfig,
    context: &RunContext,
    outcome: RunOutcome,
    best_restart: usize,
    restart_log_liks: Vec<f64>,
) -> EmResult {
    let mut warnings = Vec::new();
    for (column, &variance) in context.data_var.iter().enumerate() {
        if config.reg_covar > 0.01 * variance {
            warnings.push(EmWarning::FloorAboveVariance {
                column,
                reg_covar: config.reg_covar,
                variance,
            });
        }
    }
    if !outcome.converged {
        let n = outcome.trace.len();
        let last_change = if n >= 2 {
            (outcome.trace[n - 1] - outcome.trace[n - 2]).abs() / points.nrows() as f64
        } else {
            f64::NAN
        };
        warnings.push(EmWarning::NotConverged {
            max_iter: config.max_iter,
            last_change,
        });
    }
    let components = component_reports(points, &outcome.model, &outcome.counts, &context.reg);
    for (component, report) in components.iter().enumerate() {
        if report.empty {
            warnings.push(EmWarning::EmptyComponent { component });
        } else if report.floored {
            warnings.push(EmWarning::FlooredComponent { component });
        }
        if report.outside_data_box {
            warnings.push(EmWarning::OutsideDataBox { component });
        }
    }
    EmResult {
        log_lik: final_log_lik(&outcome),
        log_lik_trace: outcome.trace,
        n_iter: outcome.n_iter,
        converged: outcome.converged,
        model: outcome.model,
        components,
        warnings,
        best_restart,
        restart_log_liks,
    }
}

/// The per-component findings of a model with effective `counts`.
pub(crate) fn component_reports(
    points: ArrayView2<f64>,
    model: &GaussianMixture,
    counts: &[f64],
    reg: &[f64],
) -> Vec<ComponentReport> {
    let n_dims = points.ncols();
    let lows: Vec<f64> = points
        .columns()
        .into_iter()
        .map(|c| c.fold(f64::INFINITY, |a, &b| a.min(b)))
        .collect();
    let highs: Vec<f64> = points
        .columns()
        .into_iter()
        .map(|c| c.fold(f64::NEG_INFINITY, |a, &b| a.max(b)))
        .collect();
    counts
        .iter()
        .enumerate()
        .map(|(k, &count)| {
            let mean = model.means().row(k);
            ComponentReport {
                effective_count: count,
                empty: count <= EMPTY_COUNT,
                at_most_one_point: count <= 1.0 + 1e-9,
                floored: (0..n_dims)
                    .any(|d| reg[d] > 0.0 && model.covariances().variance(k, d) <= 1.01 * reg[d]),
                outside_data_box: (0..n_dims).any(|d| mean[d] < lows[d] || mean[d] > highs[d]),
            }
        })
        .collect()
}
