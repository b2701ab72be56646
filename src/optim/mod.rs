//! First-order optimisers for the stochastic tasks.

mod adam;

pub use adam::Adam;
