//! The two passes over the data that make one EM iteration, parallel over
//! fixed chunks of points with rayon.
//!
//! Chunks have a fixed size ([`CHUNK_POINTS`]) and their partial sums are
//! collected and added in chunk order, so results are bit-identical for
//! any thread count. Memory beyond the data: the `N × K`
//! responsibilities and O(K D²) per chunk.

use rayon::prelude::*;

use super::covariance::{Factors, Precision};
use crate::gmm::model::HALF_LOG_TWO_PI;
use crate::math::logsumexp;

/// Points per parallel chunk.
pub(crate) const CHUNK_POINTS: usize = 2048;

/// Everything needed to evaluate `log p(x, c = k)` for one model.
#[derive(Debug)]
pub(crate) struct Kernel<'a> {
    n_components: usize,
    n_dims: usize,
    means: &'a [f64],
    precision: &'a Precision,
    constants: Vec<f64>,
}

impl<'a> Kernel<'a> {
    /// The kernel of a model with `log_weights` (K), `means` (`K × D`)
    /// and `precision`.
    ///
    /// ```text
    /// constant_k = log π_k + log|P_k| − D · ½ log 2π
    /// ```
    pub(crate) fn new(log_weights: &[f64], means: &'a [f64], precision: &'a Precision) -> Self {
        let n_components = log_weights.len();
        let n_dims = means.len() / n_components;
        let constants = log_weights
            .iter()
            .zip(&precision.log_det)
            .map(|(lw, ld)| lw + ld - n_dims as f64 * HALF_LOG_TWO_PI)
            .collect();
        Self {
            n_components,
            n_dims,
            means,
            precision,
            constants,
        }
    }

    /// Writes `log p(x, c = k)` for every `k` into `out`; `diff` is a
    /// scratch buffer of `D` entries.
    ///
    /// ```text
    /// log p(x, k) = constant_k − ½ ‖P_k (x − μ_k)‖²
    /// ```
    #[inline]
    pub(crate) fn log_joint(&self, x: &[f64], diff: &mut [f64], out: &mut [f64]) {
        let n_dims = self.n_dims;
        for (k, out_k) in out.iter_mut().enumerate() {
            let mean = &self.means[k * n_dims..(k + 1) * n_dims];
            let quad = match &self.precision.factors {
                Factors::Diagonal { inv_sd } => {
                    let inv_sd = &inv_sd[k * n_dims..(k + 1) * n_dims];
                    let mut quad = 0.0;
                    for ((&xd, &md), &sd) in x.iter().zip(mean).zip(inv_sd) {
                        let y = (xd - md) * sd;
                        quad += y * y;
                    }
                    quad
                }
                Factors::Triangular { inv_factor } => {
                    let square = n_dims * n_dims;
                    let inverse = &inv_factor[k * square..(k + 1) * square];
                    for ((dd, &xd), &md) in diff.iter_mut().zip(x).zip(mean) {
                        *dd = xd - md;
                    }
                    let mut quad = 0.0;
                    for i in 0..n_dims {
                        let row = &inverse[i * n_dims..i * n_dims + i + 1];
                        let y: f64 = row.iter().zip(diff.iter()).map(|(p, e)| p * e).sum();
                        quad += y * y;
                    }
                    quad
                }
            };
            *out_k = self.constants[k] - 0.5 * quad;
        }
    }
}

/// Sums from the E-step: `Σ_n log p(x_n)`, `N_k = Σ_n r_nk` and
/// `Σ_n r_nk x_n` (`K × D`).
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    pub(crate) log_lik: f64,
    pub(crate) counts: Vec<f64>,
    pub(crate) sums: Vec<f64>,
}

impl Moments {
    fn zeros(n_components: usize, n_dims: usize) -> Self {
        Self {
            log_lik: 0.0,
            counts: vec![0.0; n_components],
            sums: vec![0.0; n_components * n_dims],
        }
    }

    fn add(mut self, other: &Moments) -> Self {
        self.log_lik += other.log_lik;
        add_into(&mut self.counts, &other.counts);
        add_into(&mut self.sums, &other.sums);
        self
    }
}

fn add_into(total: &mut [f64], part: &[f64]) {
    total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
}

/// The E-step: writes `r_nk = p(c_n = k | x_n)` into `resp` (`N × K`) by
/// log-sum-exp and returns the [`Moments`].
///
/// ```text
/// r_nk = exp( log p(x_n, k) − logsumexp_j log p(x_n, j) )
/// ```
pub(crate) fn e_step(points: &[f64], kernel: &Kernel, resp: &mut [f64]) -> Moments {
    let (n_components, n_dims) = (kernel.n_components, kernel.n_dims);
    let parts: Vec<Moments> = points
        .par_chunks(CHUNK_POINTS * n_dims)
        .zip(resp.par_chunks_mut(CHUNK_POINTS * n_components))
        .map(|(chunk, resp_chunk)| {
            let mut part = Moments::zeros(n_components, n_dims);
            let mut diff = vec![0.0; n_dims];
            let rows = resp_chunk.chunks_mut(n_components);
            for (x, row) in chunk.chunks(n_dims).zip(rows) {
                kernel.log_joint(x, &mut diff, row);
                let log_px = logsumexp(row);
                part.log_lik += log_px;
                for (k, r) in row.iter_mut().enumerate() {
                    *r = (*r - log_px).exp();
                    part.counts[k] += *r;
                    let sums = &mut part.sums[k * n_dims..(k + 1) * n_dims];
                    sums.iter_mut().zip(x).for_each(|(s, &xd)| *s += *r * xd);
                }
            }
            part
        })
        .collect();
    parts
        .iter()
        .fold(Moments::zeros(n_components, n_dims), Moments::add)
}

/// `Σ_n log p(x_n)` and, per point, `log p(x_n)` into `log_px` (N).
pub(crate) fn score(points: &[f64], kernel: &Kernel, log_px: &mut [f64]) -> f64 {
    let (n_components, n_dims) = (kernel.n_components, kernel.n_dims);
    let parts: Vec<f64> = points
        .par_chunks(CHUNK_POINTS * n_dims)
        .zip(log_px.par_chunks_mut(CHUNK_POINTS))
        .map(|(chunk, out)| {
            let mut diff = vec![0.0; n_dims];
            let mut row = vec![0.0; n_components];
            let mut total = 0.0;
            for (x, o) in chunk.chunks(n_dims).zip(out) {
                kernel.log_joint(x, &mut diff, &mut row);
                *o = logsumexp(&row);
                total += *o;
            }
            total
        })
        .collect();
    parts.iter().sum()
}

/// Centred second moments of every component about `means` (`K × D`).
///
/// ```text
/// full:      S_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ     (K row-major D × D)
/// diagonal:  s_kd = Σ_n r_nk (x_nd − μ_kd)²             (K × D)
/// ```
///
/// Only the lower triangle of each `S_k` is accumulated, then mirrored.
pub(crate) fn scatter(
    points: &[f64],
    resp: &[f64],
    means: &[f64],
    n_components: usize,
    full: bool,
) -> Vec<f64> {
    let n_dims = means.len() / n_components;
    let block = if full { n_dims * n_dims } else { n_dims };
    let parts: Vec<Vec<f64>> = points
        .par_chunks(CHUNK_POINTS * n_dims)
        .zip(resp.par_chunks(CHUNK_POINTS * n_components))
        .map(|(chunk, resp_chunk)| {
            let mut part = vec![0.0; n_components * block];
            let mut diff = vec![0.0; n_dims];
            for (x, row) in chunk.chunks(n_dims).zip(resp_chunk.chunks(n_components)) {
                for (k, &r) in row.iter().enumerate() {
                    if r == 0.0 {
                        continue;
                    }
                    let mean = &means[k * n_dims..(k + 1) * n_dims];
                    for ((dd, &xd), &md) in diff.iter_mut().zip(x).zip(mean) {
                        *dd = xd - md;
                    }
                    let out = &mut part[k * block..(k + 1) * block];
                    if full {
                        for i in 0..n_dims {
                            let scaled = r * diff[i];
                            let out_row = &mut out[i * n_dims..i * n_dims + i + 1];
                            out_row
                                .iter_mut()
                                .zip(&diff)
                                .for_each(|(o, &e)| *o += scaled * e);
                        }
                    } else {
                        out.iter_mut()
                            .zip(&diff)
                            .for_each(|(o, &e)| *o += r * e * e);
                    }
                }
            }
            part
        })
        .collect();
    let mut total = vec![0.0; n_components * block];
    for part in &parts {
        add_into(&mut total, part);
    }
    if full {
        for k in 0..n_components {
            let matrix = &mut total[k * block..(k + 1) * block];
            for i in 0..n_dims {
                for j in 0..i {
                    matrix[j * n_dims + i] = matrix[i * n_dims + j];
                }
            }
        }
    }
    total
}
