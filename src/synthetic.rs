//! The synthetic data set of the experiment this project grew from: a 1-D
//! mixture of two Gaussians, regenerated here from a fixed seed so that
//! `data/original_synthetic.csv` can be rebuilt byte for byte.
//!
//! ```text
//! c_n ~ Categorical(0.3, 0.7)               (component 0 or 1)
//! x_n = μ_c + σ_c · ε_n,   ε_n ~ N(0, 1)
//! μ = (−3, 3),  σ = (2, 1),  N = 200
//! ```
//!
//! Point `n` draws, from [`stream_from_seed`]`(seed)` and in this order, one
//! [`open_uniform`] `u_n` (component 0 when `u_n < 0.3`) and one standard
//! normal `ε_n` (rand_distr's `StandardNormal`). Values are written with
//! six decimals.
//!
//! ```
//! use rebar_optimizer::synthetic::{ORIGINAL_SEED, original_csv};
//!
//! let text = original_csv(ORIGINAL_SEED);
//! assert!(text.starts_with("x,component\n"));
//! assert_eq!(text.lines().count(), 201);
//! ```

use rand_distr::{Distribution, StandardNormal};

use crate::rng::{open_uniform, stream_from_seed};

/// The seed `data/original_synthetic.csv` was generated with.
pub const ORIGINAL_SEED: u64 = 20_261_204;

/// Number of points of the original data set.
pub const ORIGINAL_N_POINTS: usize = 200;

/// Mixture weights of the two components.
pub const ORIGINAL_WEIGHTS: [f64; 2] = [0.3, 0.7];

/// Component means.
pub const ORIGINAL_MEANS: [f64; 2] = [-3.0, 3.0];

/// Component standard deviations.
pub const ORIGINAL_SDS: [f64; 2] = [2.0, 1.0];

/// `n_points` draws of the original mixture from the stream of `seed`:
/// `(x_n, c_n)` per point (see the module docs for the draw order).
pub fn original_points(n_points: usize, seed: u64) -> Vec<(f64, usize)> {
    let mut rng = stream_from_seed(seed);
    (0..n_points)
        .map(|_| {
            let component = usize::from(open_uniform(&mut rng) >= ORIGINAL_WEIGHTS[0]);
            let noise: f64 = StandardNormal.sample(&mut rng);
            let x = ORIGINAL_MEANS[component] + ORIGINAL_SDS[component] * noise;
            (x, component)
        })
        .collect()
}

/// The CSV text of the original data set from `seed`: header
/// `x,component`, then one row per point, `x` with six decimals.
pub fn original_csv(seed: u64) -> String {
    let mut text = String::from("x,component\n");
    for (x, component) in original_points(ORIGINAL_N_POINTS, seed) {
        text.push_str(&format!("{x:.6},{component}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_points_other_seed_other_points() {
        assert_eq!(original_points(20, 5), original_points(20, 5));
        assert_ne!(original_points(20, 5), original_points(20, 6));
    }
}
