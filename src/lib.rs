//! rebar-optimizer: gradient estimators for discrete latent variables and a
//! study harness that compares them with EM on Gaussian mixture models.
//!
//! Layers, data flowing one way (see each module's docs):
//!
//! - [`estimator`]: estimators of `∇_φ E_{b~p(b|φ)}[f(b)]` for binary and
//!   categorical variables (exact, REINFORCE, REBAR, ...), generic over the
//!   kind of variable.
//! - [`problem`]: toy objectives with closed-form gradients.
//! - [`gmm`]: Gaussian mixture models fitted by stochastic variational
//!   inference (gradients from any estimator) and by EM.
//! - [`study`]: study files, grids, the parallel runner, statistics, figures
//!   and reports. The only layer that touches files, threads and the clock.
//!
//! Shared helpers: [`math`] (numerically safe sigmoid, log-sum-exp, softmax),
//! [`rng`] (reproducible random streams), [`optim`] (Adam), [`data`] (CSV
//! data sets), [`toyopt`] (toy optimisation runs), [`synthetic`] (the
//! original experiment's data).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod data;
pub mod estimator;
pub mod gmm;
pub mod math;
pub mod optim;
pub mod problem;
pub mod rng;
pub mod study;
pub mod synthetic;
pub mod toyopt;
pub mod variance;
