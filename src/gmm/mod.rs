//! Gaussian mixture models: the ELBO task fitted by stochastic variational
//! inference ([`fit_svi`]), and EM, both for the diagonal [`Mixture`] the
//! study compares ([`fit_em`]) and in full generality ([`fit_gmm`]: every
//! covariance type, restarts, hostile data).
//!
//! Files: `model` (the diagonal mixture, the shared start, floored
//! components), `elbo` (per-point ELBO pieces and the estimators'
//! objective), `svi` (the SVI loop), `baseline` (EM on the diagonal
//! mixture from a given start), `em/` (the general EM), `validate`
//! (up-front checks).

mod baseline;
mod elbo;
pub mod em;
mod model;
pub mod svi;
mod validate;

pub use baseline::{EmFit, EmSettings, fit_em};
pub use elbo::{
    PointObjective, add_entropy_grad, class_probs, logits_per_point, point_elbo,
    point_elbo_grad_phi,
};
pub use em::{
    ComponentReport, CovarianceType, Covariances, EmConfig, EmResult, EmStepper, EmWarning,
    GaussianMixture, Init, fit_gmm,
};
pub use model::{Mixture, floored_components, initial_mixture};
pub use svi::{
    Convergence, SviCovariance, SviLog, SviOutcome, SviProblem, SviSettings, Variational, fit_svi,
    steps_to_reach,
};

/// Why a mixture could not be fitted or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GmmError {
    /// A setting is out of range.
    #[error("{field} must be {rule}, got {value}")]
    InvalidSetting {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        rule: &'static str,
    },
    /// The data has no columns.
    #[error("the data has no columns; select at least one column")]
    NoDimensions,
    /// Fewer than two points.
    #[error("the data has {n_points} point(s); a mixture needs at least 2")]
    TooFewPoints {
        /// Points in the data.
        n_points: usize,
    },
    /// More components than points.
    #[error(
        "N < K: the data has {n_points} points but {n_components} components were asked \
         for; use at most {n_points} components"
    )]
    FewerPointsThanComponents {
        /// Points in the data.
        n_points: usize,
        /// Components asked for.
        n_components: usize,
    },
    /// A data value is NaN or infinite.
    #[error(
        "data value at row {row}, column {column} is {value}; every value must be finite \
         (rows and columns count from 0)"
    )]
    NonFinite {
        /// Row, from 0.
        row: usize,
        /// Column, from 0.
        column: usize,
        /// The value.
        value: f64,
    },
    /// Fewer distinct points than components.
    #[error(
        "the data has only {n_distinct} distinct point(s) but {n_components} components were \
         asked for; use at most {n_distinct} components"
    )]
    TooFewDistinct {
        /// Distinct points found (counting stops at K).
        n_distinct: usize,
        /// Components asked for.
        n_components: usize,
    },
    /// A column has zero variance, so the shared start has no scale.
    #[error("column {column} of the data is constant; drop it or add variation")]
    ConstantColumn {
        /// The column, from 0.
        column: usize,
    },
    /// Arrays of different dimensions were combined.
    #[error("{what} have dimension {found}, expected {expected}")]
    DimensionMismatch {
        /// What had the wrong dimension.
        what: &'static str,
        /// The dimension expected.
        expected: usize,
        /// The dimension found.
        found: usize,
    },
    /// Given initial means have the wrong shape.
    #[error("initial means are {found:?} (rows, columns); expected {expected:?}")]
    InitMeansShape {
        /// `(K, D)`.
        expected: (usize, usize),
        /// The shape given.
        found: (usize, usize),
    },
    /// Given initial means hold a NaN or infinity.
    #[error("initial mean at row {row}, column {column} is {value}; it must be finite")]
    InitMeansNonFinite {
        /// Row (component), from 0.
        row: usize,
        /// Column, from 0.
        column: usize,
        /// The value.
        value: f64,
    },
    /// Model parameters of inconsistent shapes.
    #[error(
        "model parameters disagree: {n_weights} weights, means {means:?}; covariances must \
         match K and D"
    )]
    ModelShape {
        /// Number of weights.
        n_weights: usize,
        /// Shape of the means.
        means: (usize, usize),
    },
    /// A covariance matrix is not positive definite.
    #[error(
        "component {component}'s covariance is not positive definite; set reg_covar > 0 \
         (in a study file: raise variance_floor)"
    )]
    NotPositiveDefinite {
        /// The component.
        component: usize,
    },
    /// A full covariance from too few points, with no regularisation.
    #[error(
        "component {component} has effective count {effective_count:.3} below D + 1 = \
         {needed}, so its covariance is singular; set reg_covar > 0 (in a study file: \
         variance_floor) or use fewer components"
    )]
    DegenerateCovariance {
        /// The component.
        component: usize,
        /// Its effective number of points `N_k`.
        effective_count: f64,
        /// `D + 1`.
        needed: usize,
    },
    /// The estimator does not apply or has a bad setting.
    #[error(transparent)]
    Estimator(#[from] crate::estimator::EstimatorError),
    /// A component collapsed onto a point, with no regularisation.
    #[error(
        "component {component} collapsed: variance {variance:e} in dimension {dim}; set \
         reg_covar > 0 to floor variances (in a study file: raise variance_floor)"
    )]
    Collapsed {
        /// The component.
        component: usize,
        /// The dimension.
        dim: usize,
        /// The variance reached.
        variance: f64,
    },
}
