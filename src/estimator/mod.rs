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
//! The maths follows `maths.md` §2–4 and §8 (shipped with the project
//! docs). Each estimator is written once, generic over the kind of
//! variable ([`variable::VariableKind`], implemented by
//! [`variable::Bernoulli`] and [`variable::Categorical`]); ARM and DisARM
//! are binary only and take `Bernoulli` by type. [`EstimatorKind`] names
//! an estimator and its settings; [`Estimator`] binds it to a kind of
//! variable with its buffers and state. Callers that own several
//! independent blocks (one mixture data point each, say) call an
//! estimator once per block; callers that want many estimates at the same
//! logits can ask for them in one call (`Estimator::estimate_batch`,
//! faster for plain REBAR).
//!
//! ```
//! use rebar_optimizer::estimator::{Estimator, EstimatorKind, Variables};
//! use rebar_optimizer::problem::BitsTarget;
//! use rebar_optimizer::rng::stream_from_seed;
//!
//! let f = BitsTarget::new(2, 0.45);
//! let phi = [0.3, -1.0];
//! let kind = EstimatorKind::from_name("rebar", 0.5, 1.0).unwrap();
//! let mut estimator = Estimator::new(kind, Variables::Binary, 1);
//! let mut grad_phi = [0.0; 2];
//! let cost = estimator.estimate(&phi, &f, &mut stream_from_seed(7), &mut grad_phi);
//! assert_eq!(cost.n_evals, 3);
//! assert!(grad_phi.iter().all(|g| g.is_finite()));
//! ```

mod arm;
mod batch;
mod binary;
mod categorical;
mod driver;
mod exact;
mod kind;
mod rebar;
mod reinforce;
mod relaxed;
pub mod variable;
mod workspace;

pub use driver::Estimator;
pub use exact::{MAX_ENUMERATED_STATES, exact_gradient};
pub use kind::{
    Coupling, ESTIMATOR_NAMES, EstimatorError, EstimatorKind, EstimatorSettings, UnknownEstimator,
};

/// An objective over one block of discrete variables, with a
/// differentiable extension to relaxed values (the unit interval per bit,
/// the simplex per categorical row).
pub trait Objective {
    /// `f(b)` at a discrete sample `b` (0/1 per bit, or one-hot rows).
    fn value(&self, b: &[f64]) -> f64;

    /// `f(s)` at a relaxed sample `s`; writes `∂f/∂s` into `grad_s`
    /// (same length as `s`) and returns `f(s)`.
    fn relaxed_value_grad(&self, s: &[f64], grad_s: &mut [f64]) -> f64;

    /// The Hessian of the relaxed `f` at `s` applied to `direction`,
    /// written into `out`; only `rebar-adaptive` calls it.
    ///
    /// ```text
    /// out = ∇²f(s) · direction
    /// ```
    ///
    /// The default takes a central finite difference of
    /// [`Objective::relaxed_value_grad`] (step `1e-5 / max|direction|`);
    /// objectives that know their second derivatives should override it
    /// (a linear objective returns zeros).
    ///
    /// # Limitations
    ///
    /// The default allocates two buffers per call and is accurate to about
    /// `1e-9` relative for smooth objectives.
    fn relaxed_hessian_vector(&self, s: &[f64], direction: &[f64], out: &mut [f64]) {
        let largest = direction.iter().fold(0.0f64, |m, &d| m.max(d.abs()));
        if largest == 0.0 || !largest.is_finite() {
            out.fill(0.0);
            return;
        }
        let step = 1e-5 / largest;
        let shifted = |sign: f64| -> Vec<f64> {
            s.iter()
                .zip(direction)
                .map(|(&x, &d)| x + sign * step * d)
                .collect()
        };
        let mut grad_minus = vec![0.0; s.len()];
        self.relaxed_value_grad(&shifted(1.0), out);
        self.relaxed_value_grad(&shifted(-1.0), &mut grad_minus);
        for (o, &gm) in out.iter_mut().zip(&grad_minus) {
            *o = (*o - gm) / (2.0 * step);
        }
    }
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
