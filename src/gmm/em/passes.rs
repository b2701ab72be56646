//! The pass over the data that makes one EM iteration, parallel over
//! fixed chunks of points with rayon.
//!
//! One pass computes, for the current model, the responsibilities, the
//! log-likelihood and every statistic the M-step needs, the second
//! moments centred about the current means:
//!
//! ```text
//! N_k = Σ_n r_nk,   s_k = Σ_n r_nk x_n,
//! S_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ          (full; its diagonal otherwise)
//! ```
//!
//! The M-step recentres them exactly about the new means `μ_k' = s_k /
//! N_k` with `δ = μ_k' − μ_k`: `Σ_n r_nk (x_n − μ_k')(x_n − μ_k')ᵀ = S_k −
//! N_k δ δᵀ`. Both centres lie inside the component's data, so nothing
//! cancels the way `E[x²] − E[x]²` does far from the origin, and shifting
//! the data by a constant shifts the fit.
//!
//! Within a chunk the points are transposed (`D × c`) and every quantity
//! is computed for all points of the chunk at once, component by
//! component, so the loops run over contiguous points and compile to
//! packed SIMD code; `exp` and `ln` are the branch-free versions of
//! [`crate::math::fast`]. Reductions over points use eight fixed lanes
//! ([`super::lanes`]), and chunk partial sums are added in chunk order, so
//! results are bit-identical for any thread count. Memory beyond the data:
//! O((K + D) · c) scratch per thread, plus the `N × K` responsibilities
//! only when a caller asks for them (stored chunk by chunk,
//! component-major, see [`resp_row_major`]).

use rayon::prelude::*;

use super::covariance::{Factors, Precision};
use super::lanes::{exp_non_positive, lane_dot, lane_sum, lane_weighted_squares, sum_of_logs};
use crate::gmm::model::HALF_LOG_TWO_PI;
use crate::math::fast;

/// Points per parallel chunk (fixed: it sets the reduction order).
pub(crate) const CHUNK_POINTS: usize = 1024;

/// Everything needed to evaluate `log p(x, c = k)` for one model.
#[derive(Debug)]
pub(crate) struct Kernel<'a> {
    n_components: usize,
    n_dims: usize,
    means: &'a [f64],
    precision: &'a Precision,
    constants: Vec<f64>,
}

/// Which second moments the E-step accumulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecondMoments {
    /// None (prediction only).
    Skip,
    /// The diagonal, `K × D`.
    Diagonal,
    /// Full matrices, `K` row-major `D × D` blocks.
    Full,
}

impl SecondMoments {
    fn block(self, n_dims: usize) -> usize {
        match self {
            Self::Skip => 0,
            Self::Diagonal => n_dims,
            Self::Full => n_dims * n_dims,
        }
    }
}

/// Per-thread buffers for one chunk.
struct Scratch {
    /// The chunk's points, transposed: `D × c`.
    xt: Vec<f64>,
    /// `x − μ_k`, transposed: `D × c`.
    diff: Vec<f64>,
    /// One row of `P_k (x − μ_k)`, or `r_k (x_i − μ_ki)`: `c`.
    y: Vec<f64>,
    /// `‖P_k (x − μ_k)‖²`: `c`.
    quad: Vec<f64>,
    /// `log p(x_n, k)`, then responsibilities: `K × c`.
    table: Vec<f64>,
    /// Per point maximum over k: `c`.
    max: Vec<f64>,
    /// Per point `Σ_k exp(L_nk − m_n)`: `c`.
    sum: Vec<f64>,
}

impl Scratch {
    fn new(n_components: usize, n_dims: usize) -> Self {
        Self {
            xt: vec![0.0; n_dims * CHUNK_POINTS],
            diff: vec![0.0; n_dims * CHUNK_POINTS],
            y: vec![0.0; CHUNK_POINTS],
            quad: vec![0.0; CHUNK_POINTS],
            table: vec![0.0; n_components * CHUNK_POINTS],
            max: vec![0.0; CHUNK_POINTS],
            sum: vec![0.0; CHUNK_POINTS],
        }
    }

    /// Transposes a chunk of row-major points into `xt` (`D × c`).
    #[inline(always)]
    fn load(&mut self, chunk: &[f64], n_dims: usize) -> usize {
        let n = chunk.len() / n_dims;
        for (i, x) in chunk.chunks_exact(n_dims).enumerate() {
            for (d, &value) in x.iter().enumerate() {
                self.xt[d * n + i] = value;
            }
        }
        n
    }
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

    fn mean(&self, k: usize) -> &[f64] {
        &self.means[k * self.n_dims..(k + 1) * self.n_dims]
    }

    /// Fills `scratch.table` (`K × n`) with `log p(x_i, k)` for the `n`
    /// points loaded in `scratch.xt`.
    ///
    /// ```text
    /// log p(x, k) = constant_k − ½ ‖P_k (x − μ_k)‖²
    /// ```
    #[inline(always)]
    fn log_joint_chunk(&self, scratch: &mut Scratch, n: usize) {
        let n_dims = self.n_dims;
        let Scratch {
            xt,
            diff,
            y,
            quad,
            table,
            ..
        } = scratch;
        for k in 0..self.n_components {
            let mean = self.mean(k);
            let quad = &mut quad[..n];
            quad.fill(0.0);
            match &self.precision.factors {
                Factors::Diagonal { inv_sd } => {
                    let inv_sd = &inv_sd[k * n_dims..(k + 1) * n_dims];
                    for d in 0..n_dims {
                        let (m, s) = (mean[d], inv_sd[d]);
                        for (q, &x) in quad.iter_mut().zip(&xt[d * n..(d + 1) * n]) {
                            let v = (x - m) * s;
                            *q += v * v;
                        }
                    }
                }
                Factors::Triangular { inv_factor } => {
                    let square = n_dims * n_dims;
                    let inverse = &inv_factor[k * square..(k + 1) * square];
                    centre(xt, mean, n, diff);
                    let y = &mut y[..n];
                    for i in 0..n_dims {
                        y.fill(0.0);
                        for j in 0..=i {
                            let p = inverse[i * n_dims + j];
                            for (v, &e) in y.iter_mut().zip(&diff[j * n..(j + 1) * n]) {
                                *v += p * e;
                            }
                        }
                        for (q, &v) in quad.iter_mut().zip(y.iter()) {
                            *q += v * v;
                        }
                    }
                }
            }
            let constant = self.constants[k];
            for (out, &q) in table[k * n..(k + 1) * n].iter_mut().zip(quad.iter()) {
                *out = constant - 0.5 * q;
            }
        }
    }

    /// Turns `scratch.table` into responsibilities by log-sum-exp; leaves
    /// `m_i` in `scratch.max` and `s_i` in `scratch.sum`.
    ///
    /// ```text
    /// m_i = max_k L_ik,  s_i = Σ_k exp(L_ik − m_i)  (in [1, K]),
    /// log p(x_i) = m_i + log s_i,  r_ik = exp(L_ik − m_i) / s_i
    /// ```
    #[inline(always)]
    fn normalise_chunk(&self, scratch: &mut Scratch, n: usize) {
        // Known limitation: points ~1e154 sd from all components get NaN, because all L are −inf.
        let Scratch {
            table, max, sum, y, ..
        } = scratch;
        let (max, sum) = (&mut max[..n], &mut sum[..n]);
        max.copy_from_slice(&table[..n]);
        for k in 1..self.n_components {
            for (m, &l) in max.iter_mut().zip(&table[k * n..(k + 1) * n]) {
                *m = m.max(l);
            }
        }
        sum.fill(0.0);
        for k in 0..self.n_components {
            let row = &mut table[k * n..(k + 1) * n];
            for ((l, s), &m) in row.iter_mut().zip(sum.iter_mut()).zip(max.iter()) {
                *l = exp_non_positive(*l - m);
                *s += *l;
            }
        }
        let inverse = &mut y[..n];
        for (inv, &s) in inverse.iter_mut().zip(sum.iter()) {
            *inv = 1.0 / s;
        }
        for k in 0..self.n_components {
            for (l, &inv) in table[k * n..(k + 1) * n].iter_mut().zip(inverse.iter()) {
                *l *= inv;
            }
        }
    }

    /// The statistics of the `n` points loaded in `scratch` (after
    /// [`Kernel::normalise_chunk`]).
    #[inline(always)]
    fn chunk_moments(&self, scratch: &mut Scratch, n: usize, second: SecondMoments) -> Moments {
        let (n_components, n_dims) = (self.n_components, self.n_dims);
        let block = second.block(n_dims);
        let mut part = Moments::zeros(n_components, n_dims, block);
        part.log_lik = lane_sum(&scratch.max[..n]) + sum_of_logs(&scratch.sum[..n], n_components);
        let Scratch {
            xt, diff, y, table, ..
        } = scratch;
        let weighted = &mut y[..n];
        for k in 0..n_components {
            let r = &table[k * n..(k + 1) * n];
            part.counts[k] = lane_sum(r);
            for d in 0..n_dims {
                part.sums[k * n_dims + d] = lane_dot(r, &xt[d * n..(d + 1) * n]);
            }
            let out = &mut part.second[k * block..(k + 1) * block];
            match second {
                SecondMoments::Skip => {}
                SecondMoments::Diagonal => {
                    for (d, (o, &m)) in out.iter_mut().zip(self.mean(k)).enumerate() {
                        *o = lane_weighted_squares(r, &xt[d * n..(d + 1) * n], m);
                    }
                }
                SecondMoments::Full => {
                    centre(xt, self.mean(k), n, diff);
                    for i in 0..n_dims {
                        let diff_i = &diff[i * n..(i + 1) * n];
                        for ((w, &e), &r) in weighted.iter_mut().zip(diff_i).zip(r) {
                            *w = r * e;
                        }
                        for j in 0..=i {
                            out[i * n_dims + j] = lane_dot(weighted, &diff[j * n..(j + 1) * n]);
                        }
                    }
                }
            }
        }
        part
    }
}

/// Writes `x − μ` transposed (`D × n`) into `diff`.
#[inline(always)]
fn centre(xt: &[f64], mean: &[f64], n: usize, diff: &mut [f64]) {
    for (d, &m) in mean.iter().enumerate() {
        let source = &xt[d * n..(d + 1) * n];
        for (e, &x) in diff[d * n..(d + 1) * n].iter_mut().zip(source) {
            *e = x - m;
        }
    }
}

/// Sums from the E-step: `Σ_n log p(x_n)`, `N_k`, `s_k = Σ_n r_nk x_n`
/// (`K × D`) and the second moments about the current means (see the
/// module docs).
#[derive(Debug, Clone)]
pub(crate) struct Moments {
    pub(crate) log_lik: f64,
    pub(crate) counts: Vec<f64>,
    pub(crate) sums: Vec<f64>,
    pub(crate) second: Vec<f64>,
}

impl Moments {
    fn zeros(n_components: usize, n_dims: usize, block: usize) -> Self {
        Self {
            log_lik: 0.0,
            counts: vec![0.0; n_components],
            sums: vec![0.0; n_components * n_dims],
            second: vec![0.0; n_components * block],
        }
    }

    fn add(mut self, other: &Moments) -> Self {
        self.log_lik += other.log_lik;
        add_into(&mut self.counts, &other.counts);
        add_into(&mut self.sums, &other.sums);
        add_into(&mut self.second, &other.second);
        self
    }
}

fn add_into(total: &mut [f64], part: &[f64]) {
    total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
}

/// One chunk of the E-step (load, log-joint, normalise, moments) as a
/// [`fast::Kernel`], so that its loops are compiled for the widest SIMD the
/// CPU has; the arithmetic and its order are the same on every path.
struct ChunkPass<'k, 's, 'c> {
    kernel: &'k Kernel<'k>,
    scratch: &'s mut Scratch,
    chunk: &'c [f64],
    second: SecondMoments,
}

impl fast::Kernel for ChunkPass<'_, '_, '_> {
    type Output = (Moments, usize);

    #[inline(always)]
    fn run(self) -> (Moments, usize) {
        let Self {
            kernel,
            scratch,
            chunk,
            second,
        } = self;
        let n = scratch.load(chunk, kernel.n_dims);
        kernel.log_joint_chunk(scratch, n);
        kernel.normalise_chunk(scratch, n);
        (kernel.chunk_moments(scratch, n, second), n)
    }
}

/// The E-step with the M-step's statistics: returns the [`Moments`] of
/// the model in `kernel` and, when `resp` is given, writes `r_nk = p(c_n =
/// k | x_n)` into it (`N × K` entries in the chunked layout).
///
/// ```text
/// r_nk = exp( log p(x_n, k) − logsumexp_j log p(x_n, j) )
/// ```
///
/// The lower triangle of each full second moment is filled, then
/// mirrored.
pub(crate) fn e_step(
    points: &[f64],
    kernel: &Kernel,
    second: SecondMoments,
    resp: Option<&mut [f64]>,
) -> Moments {
    let (n_components, n_dims) = (kernel.n_components, kernel.n_dims);
    let chunks = points.par_chunks(CHUNK_POINTS * n_dims);
    let init = || Scratch::new(n_components, n_dims);
    let process = |scratch: &mut Scratch, chunk: &[f64]| {
        fast::vectorised(ChunkPass {
            kernel,
            scratch,
            chunk,
            second,
        })
    };
    let parts: Vec<Moments> = match resp {
        Some(resp) => chunks
            .zip(resp.par_chunks_mut(CHUNK_POINTS * n_components))
            .map_init(init, |scratch, (chunk, resp_chunk)| {
                let (part, n) = process(scratch, chunk);
                resp_chunk.copy_from_slice(&scratch.table[..n_components * n]);
                part
            })
            .collect(),
        None => chunks
            .map_init(init, |scratch, chunk| process(scratch, chunk).0)
            .collect(),
    };
    let block = second.block(n_dims);
    let mut total = parts
        .iter()
        .fold(Moments::zeros(n_components, n_dims, block), Moments::add);
    if second == SecondMoments::Full {
        for matrix in total.second.chunks_mut(block) {
            for i in 0..n_dims {
                for j in 0..i {
                    matrix[j * n_dims + i] = matrix[i * n_dims + j];
                }
            }
        }
    }
    total
}

fast::dispatched! {
    /// `out_n = max_n + ln(sum_n)`.
    fn add_logs(out: &mut [f64], max: &[f64], sum: &[f64]) {
        for ((o, &m), &s) in out.iter_mut().zip(max).zip(sum) {
            *o = m + fast::ln(s);
        }
    }
}

/// `Σ_n log p(x_n)` and, per point, `log p(x_n)` into `log_px` (N).
pub(crate) fn score(points: &[f64], kernel: &Kernel, log_px: &mut [f64]) -> f64 {
    let (n_components, n_dims) = (kernel.n_components, kernel.n_dims);
    let parts: Vec<f64> = points
        .par_chunks(CHUNK_POINTS * n_dims)
        .zip(log_px.par_chunks_mut(CHUNK_POINTS))
        .map_init(
            || Scratch::new(n_components, n_dims),
            |scratch, (chunk, out)| {
                let n = scratch.load(chunk, n_dims);
                kernel.log_joint_chunk(scratch, n);
                kernel.normalise_chunk(scratch, n);
                add_logs(out, &scratch.max, &scratch.sum);
                lane_sum(out)
            },
        )
        .collect();
    parts.iter().sum()
}

/// Converts responsibilities from the chunked layout of the module docs to
/// row-major `N × K`.
pub(crate) fn resp_row_major(resp: &[f64], n_components: usize) -> Vec<f64> {
    let mut out = vec![0.0; resp.len()];
    let block = CHUNK_POINTS * n_components;
    for (chunk, out_chunk) in resp.chunks(block).zip(out.chunks_mut(block)) {
        let n = chunk.len() / n_components;
        for k in 0..n_components {
            for (i, &r) in chunk[k * n..(k + 1) * n].iter().enumerate() {
                out_chunk[i * n_components + k] = r;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatched chunk pass (AVX2 where the CPU has it) and the same
    /// pass compiled for the baseline target give the same bits, for
    /// diagonal and triangular precisions.
    #[test]
    fn dispatched_chunk_pass_matches_the_baseline_bit_for_bit() {
        let (n_components, n_dims) = (3, 5);
        let points: Vec<f64> = (0..CHUNK_POINTS * n_dims)
            .map(|i| ((i * 7919) % 1009) as f64 / 97.0 - 5.0)
            .collect();
        let means: Vec<f64> = (0..n_components * n_dims)
            .map(|i| (i % 7) as f64 - 3.0)
            .collect();
        let log_weights = vec![(0.2f64).ln(), (0.3f64).ln(), (0.5f64).ln()];
        let square = n_dims * n_dims;
        let mut inv_factor = vec![0.0; n_components * square];
        for k in 0..n_components {
            for i in 0..n_dims {
                for j in 0..=i {
                    let value = if i == j { 0.5 + 0.1 * k as f64 } else { 0.05 };
                    inv_factor[k * square + i * n_dims + j] = value;
                }
            }
        }
        let precisions = [
            (
                Factors::Diagonal {
                    inv_sd: vec![0.7; n_components * n_dims],
                },
                SecondMoments::Diagonal,
            ),
            (Factors::Triangular { inv_factor }, SecondMoments::Full),
        ];
        for (factors, second) in precisions {
            let precision = Precision {
                factors,
                log_det: vec![-0.3; n_components],
            };
            let kernel = Kernel::new(&log_weights, &means, &precision);
            let (mut a, mut b) = (
                Scratch::new(n_components, n_dims),
                Scratch::new(n_components, n_dims),
            );
            let (dispatched, _) = fast::vectorised(ChunkPass {
                kernel: &kernel,
                scratch: &mut a,
                chunk: &points,
                second,
            });
            let (baseline, _) = fast::Kernel::run(ChunkPass {
                kernel: &kernel,
                scratch: &mut b,
                chunk: &points,
                second,
            });
            let bits = |m: &Moments| {
                let mut all = vec![m.log_lik.to_bits()];
                all.extend(
                    m.counts
                        .iter()
                        .chain(&m.sums)
                        .chain(&m.second)
                        .map(|x| x.to_bits()),
                );
                all
            };
            assert_eq!(bits(&dispatched), bits(&baseline));
            assert_eq!(a.table, b.table);
        }
    }
}
