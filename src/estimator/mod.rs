//! Estimators of `∇_φ E_{b~p(b|φ)}[f(b)]` for discrete variables.
//!
//! A *block* is a vector of independent discrete variables with logits
//! `phi` and an objective `f` over the whole block ([`Objective`]). Two
//! kinds of variable ([`Variables`]):
//!
//! - binary: one logit per bit, `p(b_i = 1) = sigmoid(phi_i)`; `b` holds
//!   0.0 or 1.0 per bit; `phi.len()` is the number of bits;
//! - categorical with `K` classes: `phi` holds `n_vars` rows of `K`
//!   logits (row-major), `p(b_i = k) = softmax(phi_i)_k`; `b` holds the
//!   matching one-hot rows, so `b.len() == phi.len()`.
//!
//! The maths follows `maths.md` §2–4 (shipped with the project docs).
//! Callers that own several independent blocks (one mixture data point
//! each, say) call an estimator once per block.

use rand::Rng;

mod exact;
mod reinforce;

pub use exact::{MAX_ENUMERATED_STATES, exact_gradient};

/// An objective over one block of discrete variables, with a
/// differentiable extension to relaxed values (the unit interval per bit,
/// the simplex per categorical row).
pub trait Objective {
    /// `f(b)` at a discrete sample `b` (0/1 per bit, or one-hot rows).
    fn value(&self, b: &[f64]) -> f64;

    /// `f(s)` at a relaxed sample `s`; writes `∂f/∂s` into `grad_s`
    /// (same length as `s`) and returns `f(s)`.
    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64;
}

/// The kind of discrete variable in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variables {
    /// Independent bits, one logit each.
    Binary,
    /// Independent one-hot variables over `n_classes` classes.
    Categorical {
        /// Number of classes `K` of each variable (at least 2).
        n_classes: usize,
    },
}

impl Variables {
    /// The name used in result files: `binary` or `categorical`.
    pub fn name(&self) -> &'static str {
        match self {
            Variables::Binary => "binary",
            Variables::Categorical { .. } => "categorical",
        }
    }
}

/// What one call of an estimator cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimate {
    /// Evaluations of `f` (discrete and relaxed) that the estimate used.
    pub n_evals: usize,
}

/// Which estimator, with its fixed settings.
#[derive(Debug, Clone, PartialEq)]
pub enum EstimatorKind {
    /// Exact gradient by enumerating every state of the block.
    Exact,
    /// Score function `(f(b) - c) ∇_φ log p(b)`, no baseline (`c = 0`).
    Reinforce,
    /// REBAR with control-variate scale `eta` and relaxation temperature
    /// `temperature` (maths.md §4).
    Rebar {
        /// Control-variate scale `η`.
        eta: f64,
        /// Relaxation temperature `λ > 0`.
        temperature: f64,
    },
}

/// The estimator names accepted in study files, in the order reports list
/// them.
pub const ESTIMATOR_NAMES: &[&str] = &["exact", "reinforce", "rebar"];

/// A study file named an estimator this crate does not have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown estimator {name:?}; known estimators: {known}")]
pub struct UnknownEstimator {
    /// The name given.
    pub name: String,
    /// The known names, comma-separated.
    pub known: String,
}

impl EstimatorKind {
    /// The estimator called `name` (one of [`ESTIMATOR_NAMES`]) with the
    /// given temperature `λ` and control-variate scale `η`; settings that
    /// do not apply to it are ignored.
    ///
    /// # Errors
    ///
    /// [`UnknownEstimator`] when the name is not known.
    pub fn from_name(name: &str, temperature: f64, eta: f64) -> Result<Self, UnknownEstimator> {
        match name {
            "exact" => Ok(EstimatorKind::Exact),
            "reinforce" => Ok(EstimatorKind::Reinforce),
            "rebar" => Ok(EstimatorKind::Rebar { eta, temperature }),
            _ => Err(UnknownEstimator {
                name: name.to_string(),
                known: ESTIMATOR_NAMES.join(", "),
            }),
        }
    }

    /// The name used in study files and in the `method` column of results.
    pub fn name(&self) -> &'static str {
        match self {
            EstimatorKind::Exact => "exact",
            EstimatorKind::Reinforce => "reinforce",
            EstimatorKind::Rebar { .. } => "rebar",
        }
    }

    /// Whether the relaxation temperature `λ` changes this estimator (so
    /// that a grid of temperatures multiplies its cells).
    pub fn uses_temperature(&self) -> bool {
        matches!(self, EstimatorKind::Rebar { .. })
    }

    /// Whether the control-variate scale `η` applies to this estimator.
    pub fn uses_eta(&self) -> bool {
        matches!(self, EstimatorKind::Rebar { .. })
    }
}

/// A gradient estimator for one kind of variable, with whatever state it
/// carries between calls (baselines, adapted parameters).
#[derive(Debug, Clone)]
pub struct Estimator {
    kind: EstimatorKind,
    variables: Variables,
    n_samples: usize,
}

impl Estimator {
    /// An estimator of the given kind for blocks of `variables`, averaging
    /// `n_samples` (at least 1) independent single-sample estimates.
    pub fn new(kind: EstimatorKind, variables: Variables, n_samples: usize) -> Self {
        Self {
            kind,
            variables,
            n_samples: n_samples.max(1),
        }
    }

    /// The estimator's kind and settings.
    pub fn kind(&self) -> &EstimatorKind {
        &self.kind
    }

    /// Writes an estimate of `∇_φ E_{b~p(b|φ)}[f(b)]` into `grad_phi`
    /// (same length as `phi`) and returns its cost.
    ///
    /// # Panics
    ///
    /// Panics if `grad_phi.len() != phi.len()`, or if a categorical
    /// block's length is not a multiple of its class count.
    pub fn estimate<O, R>(
        &mut self,
        phi: &[f64],
        f: &O,
        rng: &mut R,
        grad_phi: &mut [f64],
    ) -> Estimate
    where
        O: Objective + ?Sized,
        R: Rng + ?Sized,
    {
        assert_eq!(
            phi.len(),
            grad_phi.len(),
            "estimate: phi and grad_phi lengths differ"
        );
        match &self.kind {
            EstimatorKind::Exact => exact_gradient(self.variables, phi, f, grad_phi),
            EstimatorKind::Reinforce => {
                reinforce::estimate(self.variables, self.n_samples, phi, f, rng, grad_phi)
            }
            EstimatorKind::Rebar { .. } => {
                // Placeholder until the REBAR module lands: falls back to REINFORCE.
                reinforce::estimate(self.variables, self.n_samples, phi, f, rng, grad_phi)
            }
        }
    }
}
