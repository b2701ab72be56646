//! Expectation–maximisation for Gaussian mixtures with full, diagonal,
//! spherical or tied covariances (maths.md §6), robust on hostile data.
//!
//! - Input is validated once, before anything runs (finite values, with
//!   the first bad row and column; `N >= 2`; `N >= K`; at least K distinct
//!   points).
//! - E-step by log-sum-exp; M-step statistics are centred about the new
//!   means (never `E[x²] − E[x]²`), so shifting the data by a constant
//!   shifts the fit; weights are renormalised after every M-step.
//! - `reg_covar` (absolute) plus `reg_covar_relative` times each feature's
//!   variance is added to every covariance's diagonal.
//! - Runs are parallel over chunks of points with a fixed reduction order:
//!   results do not depend on the thread count.
//!
//! # Empty and collapsed components
//!
//! Policy: *keep and flag*. A component whose effective count
//! `N_k = Σ_n r_nk` is at most [`EMPTY_COUNT`] keeps its previous mean and
//! covariance (it is never moved to the origin), its weight becomes
//! `N_k / N`, and it is flagged `empty` with an [`EmWarning`]. A
//! component whose variance sits at the floor is flagged `floored`; one
//! holding at most one effective point is flagged `at_most_one_point`; a
//! mean outside the data's bounding box is flagged `outside_data_box`.
//! With no regularisation at all (`reg_covar = reg_covar_relative = 0`) a
//! collapse is an error instead ([`crate::gmm::GmmError::Collapsed`],
//! [`crate::gmm::GmmError::DegenerateCovariance`]), never a returned model.

mod covariance;
mod fit;
mod init;
mod lanes;

pub(crate) use init::distinct_indices;
mod linalg;
mod model;
mod passes;
pub(crate) mod report;
pub(crate) mod run;

pub use covariance::{CovarianceType, Covariances};
pub use fit::{EmConfig, EmResult, fit_gmm};
pub use init::Init;
pub use model::GaussianMixture;
pub use report::{ComponentReport, EmWarning};

pub use run::EmStepper;
pub(crate) use run::{Start, run_from_start};

/// Effective counts at or below this make a component empty.
pub const EMPTY_COUNT: f64 = 1e-10;

/// With no regularisation, a variance at or below this fraction of the
/// feature's variance in the data is a collapse.
pub const COLLAPSE_RATIO: f64 = 1e-12;
