//! Variance studies (`kind = "variance"`): at fixed parameters, draw
//! `n_draws` estimates per (problem, estimator, temperature, seed) and
//! record bias, summed variance, signal-to-noise ratio and cost
//! ([`crate::variance::measure`]); nanoseconds per estimate go to
//! `timings.csv` only.
//!
//! ```toml
//! kind = "variance"
//! master_seed = 1
//! seeds = [1, 2, 3]
//! estimators = ["reinforce", "rebar"]
//! temperatures = [0.1, 0.5, 1.0]
//! n_draws = 10000
//! confirm_draws = [100000]      # optional: redraw flagged unbiased cells
//! n_samples = 1                 # optional, default 1
//! eta = 1.0                     # optional, default 1
//!
//! [[problems]]
//! kind = "bit"                  # f(b) = (b - target)², one bit at logit phi
//! target = 0.45
//! phi = 0.0                     # optional, default 0
//!
//! [[problems]]
//! kind = "bits"                 # mean over n_bits of (b_k - target)²,
//! n_bits = 100                  # logits N(0, 1) drawn by the seed
//! target = 0.45
//!
//! [[problems]]
//! kind = "categorical-target"   # or "categorical-linear"
//! n_classes = 4
//!
//! [estimator_options]           # as in SVI studies
//! ```
//!
//! `confirm_draws` (maths.md §7): a cell of an estimator that is unbiased
//! by construction whose bias check fails after `n_draws` is extended, on
//! the same stream, to each larger count in turn until it passes
//! ([`crate::variance::draw_checked`]). A real bias grows in z like the
//! square root of the draws and stays flagged; a heavy tail that the first
//! draws under-sampled (rare, large estimates that shrink the sample
//! variance) is found. The relaxed estimators (`gumbel`,
//! `straight-through`) are biased by construction and are not redrawn:
//! their flag is the expected result, and confirming it would cost the
//! most draws of all. `n_draws` in `results.csv` is the draws made,
//! `screen_draws` and `screen_max_bias_z` describe the first `n_draws`.
//!
//! Estimators that cannot run on a problem (ARM and DisARM on categorical
//! variables) are left out of that problem's grid; `rloo` uses at least 2
//! samples per estimate whatever `n_samples` says.
//!
//! Grid order: problem, estimator, temperature (for estimators that use
//! one), seed. Cell key `var/problem=P/est=E[/lambda=λ][/eta=η]/n=m`; the
//! problem's logits come from the stream `problem/P` of the seed, so every
//! estimator sees the same logits for a seed.
//!
//! Mixture ELBO problems (`kind = "mixture"`) are described in
//! [`gmm_problem`]: one estimate there is the whole `φ`-gradient over all
//! points.

mod analysis;
mod config;
pub mod gmm_problem;
mod headline;

pub use analysis::build_outputs;
pub use config::{PROBLEM_KINDS, parse_variance_study};

use std::time::Instant;

use crate::estimator::{EstimatorKind, Variables};
use crate::problem::ToyProblem;
use crate::rng::{cell_seed, cell_stream};
use crate::variance::{ALPHA, Draws, bonferroni_z, measure_confirmed};
use gmm_problem::MixtureSpec;

use super::config::{EstimatorOptions, StudySource};
use super::format::fmt_f64;
use super::plan::Plan;
use super::runner::{CellError, CellRows};

/// Header of a variance study's `results.csv`.
pub const RESULTS_HEADER: &str = "cell,problem,variables,n_coords,method,temperature,eta,\
n_samples,seed,n_draws,max_bias_z,bias_bound,summed_variance,log10_summed_variance,snr,\
evals_per_estimate,screen_draws,screen_max_bias_z";

/// Header of a variance study's `timings.csv`.
pub const TIMINGS_HEADER: &str =
    "cell,problem,method,temperature,seed,ns_per_estimate,wall_seconds";

/// A problem of a variance study.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemSpec {
    /// One bit, `f(b) = (b − t)²`, at logit `phi`.
    Bit {
        /// Target `t`.
        target: f64,
        /// Logit.
        phi: f64,
    },
    /// `n_bits` bits, `f = mean_k (b_k − t)²`, logits drawn by the seed.
    Bits {
        /// Number of bits.
        n_bits: usize,
        /// Target `t`.
        target: f64,
    },
    /// One categorical variable, linear objective.
    CategoricalLinear {
        /// Classes.
        n_classes: usize,
    },
    /// One categorical variable, `f(b) = ‖b − p‖²`.
    CategoricalTarget {
        /// Classes.
        n_classes: usize,
    },
    /// The per-point ELBO of a Gaussian mixture ([`gmm_problem`]).
    Mixture(Box<MixtureSpec>),
}

impl ProblemSpec {
    /// The kind of variable of the problem's blocks.
    pub fn variables(&self) -> Variables {
        match self {
            ProblemSpec::Mixture(spec) => spec.variables(),
            toy => toy.build(0).map_or(Variables::Binary, |p| p.variables),
        }
    }

    /// The problem's name when the study file gives none.
    pub fn default_name(&self) -> String {
        match self {
            ProblemSpec::Mixture(spec) => spec.default_name(),
            toy => toy.build(0).map(|p| p.name).unwrap_or_default(),
        }
    }

    /// The toy problem with logits drawn from `seed` where it has random
    /// ones; `None` for a mixture problem (see [`MixtureSpec::build`]).
    pub fn build(&self, seed: u64) -> Option<ToyProblem> {
        Some(match *self {
            ProblemSpec::Mixture(_) => return None,
            ProblemSpec::Bit { target, phi } => ToyProblem::one_bit(target, phi),
            ProblemSpec::Bits { n_bits, target } => ToyProblem::bits(n_bits, target, seed),
            ProblemSpec::CategoricalLinear { n_classes } => {
                ToyProblem::categorical_linear(n_classes, seed)
            }
            ProblemSpec::CategoricalTarget { n_classes } => {
                ToyProblem::categorical_target(n_classes, seed)
            }
        })
    }
}

/// A validated variance study.
#[derive(Debug, Clone)]
pub struct VarianceStudy {
    /// Where the study came from.
    pub source: StudySource,
    /// Master seed.
    pub master_seed: u64,
    /// Replicate seeds.
    pub seeds: Vec<u64>,
    /// Estimator names.
    pub estimators: Vec<String>,
    /// Temperatures.
    pub temperatures: Vec<f64>,
    /// Estimates drawn per cell.
    pub n_draws: usize,
    /// Larger counts a flagged cell of an unbiased estimator is redrawn to.
    pub confirm_draws: Vec<usize>,
    /// Samples per estimate.
    pub n_samples: usize,
    /// Control-variate scale `η`.
    pub eta: f64,
    /// Problems, with their names.
    pub problems: Vec<(String, ProblemSpec)>,
    /// Estimator options.
    pub estimator_options: EstimatorOptions,
}

impl VarianceStudy {
    /// Samples per estimate for the estimator called `name`: the study's
    /// `n_samples`, but at least 2 for `rloo` (leave-one-out needs two).
    pub fn samples_for(&self, name: &str) -> usize {
        if name == "rloo" {
            self.n_samples.max(2)
        } else {
            self.n_samples
        }
    }

    /// Whether the estimator called `name` can run on problem `problem`
    /// (ARM and DisARM are binary only); the plan skips the pairs that
    /// cannot.
    pub fn applies(&self, name: &str, problem: usize) -> bool {
        let temperature = self.temperatures.first().copied().unwrap_or(1.0);
        let variables = self.problems[problem].1.variables();
        self.kind(name, temperature).is_ok_and(|kind| {
            crate::estimator::Estimator::try_new(kind, variables, self.samples_for(name)).is_ok()
        })
    }

    /// The estimator called `name` at `temperature`, with the study's
    /// options.
    ///
    /// # Errors
    ///
    /// The library's error for an unknown name or a setting out of range.
    pub fn kind(
        &self,
        name: &str,
        temperature: f64,
    ) -> Result<EstimatorKind, crate::estimator::EstimatorError> {
        let settings = self.estimator_options.settings(temperature, self.eta);
        EstimatorKind::from_name_with(name, &settings)
    }
}

/// One cell of a variance study.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceCell {
    /// Index into the problems.
    pub problem: usize,
    /// Index into the estimators.
    pub estimator: usize,
    /// Index into the temperatures, when the estimator uses one.
    pub temperature: Option<usize>,
    /// Replicate seed.
    pub seed: u64,
}

/// A variance study with its cells expanded in grid order.
#[derive(Debug, Clone)]
pub struct VariancePlan {
    /// The validated study.
    pub study: VarianceStudy,
    /// Its cells.
    pub cells: Vec<VarianceCell>,
}

impl VariancePlan {
    /// The plan of `study` (see the module docs for the order).
    pub fn new(study: VarianceStudy) -> Self {
        let mut cells = Vec::new();
        for problem in 0..study.problems.len() {
            for (estimator, name) in study.estimators.iter().enumerate() {
                if !study.applies(name, problem) {
                    continue;
                }
                let temperatures: Vec<Option<usize>> = if super::grid::uses_temperature(name) {
                    (0..study.temperatures.len()).map(Some).collect()
                } else {
                    vec![None]
                };
                for temperature in temperatures {
                    for &seed in &study.seeds {
                        cells.push(VarianceCell {
                            problem,
                            estimator,
                            temperature,
                            seed,
                        });
                    }
                }
            }
        }
        Self { study, cells }
    }

    fn key(&self, cell: &VarianceCell) -> String {
        let study = &self.study;
        let name = &study.estimators[cell.estimator];
        let mut key = format!("var/problem={}/est={name}", study.problems[cell.problem].0);
        if let Some(t) = cell.temperature {
            key.push_str(&format!("/lambda={}", study.temperatures[t]));
        }
        if super::grid::uses_eta(name) {
            key.push_str(&format!("/eta={}", study.eta));
        }
        key.push_str(&format!("/n={}", study.samples_for(name)));
        key
    }
}

impl Plan for VariancePlan {
    fn source(&self) -> &StudySource {
        &self.study.source
    }

    fn kind(&self) -> &'static str {
        "variance"
    }

    fn n_cells(&self) -> usize {
        self.cells.len()
    }

    fn cell_label(&self, index: usize) -> String {
        let cell = &self.cells[index];
        format!("{}/seed={}", self.key(cell), cell.seed)
    }

    fn run_cell(&self, index: usize) -> Result<CellRows, CellError> {
        let cell = &self.cells[index];
        let study = &self.study;
        let key = self.key(cell);
        let fail = |reason: String| CellError {
            key: key.clone(),
            seed: cell.seed,
            reason,
        };
        let (problem_name, spec) = &study.problems[cell.problem];
        let problem_seed = cell_seed(
            study.master_seed,
            cell.seed,
            &format!("problem/{problem_name}"),
        );
        let name = &study.estimators[cell.estimator];
        let temperature = cell.temperature.map(|t| study.temperatures[t]);
        let kind = study
            .kind(name, temperature.unwrap_or(1.0))
            .map_err(|e| fail(e.to_string()))?;
        let n_samples = study.samples_for(name);
        let mut rng = cell_stream(study.master_seed, cell.seed, &key);
        let draws = Draws {
            n_draws: study.n_draws,
            confirm_draws: if kind.is_unbiased() {
                &study.confirm_draws
            } else {
                &[]
            },
        };
        let (variables, n_coords, stats, started) = match spec {
            ProblemSpec::Mixture(mixture) => {
                let problem = mixture
                    .build(problem_seed)
                    .map_err(|e| fail(e.to_string()))?;
                let started = Instant::now();
                let stats = problem
                    .measure(&kind, n_samples, draws, &mut rng)
                    .map_err(|e| fail(e.to_string()))?;
                (problem.variables, problem.phi.len(), stats, started)
            }
            toy => {
                let problem = toy
                    .build(problem_seed)
                    .ok_or_else(|| fail("not a toy problem".to_string()))?;
                let started = Instant::now();
                let stats = measure_confirmed(
                    &kind,
                    problem.variables,
                    n_samples,
                    &problem.objective,
                    &problem.phi,
                    &problem.exact_gradient,
                    draws,
                    &mut rng,
                )
                .map_err(|e| fail(e.to_string()))?;
                (problem.variables, problem.phi.len(), stats, started)
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let temperature = temperature.map(fmt_f64).unwrap_or_default();
        let eta = if kind.uses_eta() {
            fmt_f64(study.eta)
        } else {
            String::new()
        };
        let results = format!(
            "{index},{problem_name},{},{n_coords},{name},{temperature},{eta},\
             {},{},{},{},{},{},{},{},{},{},{}\n",
            variables.name(),
            n_samples,
            cell.seed,
            stats.n_draws,
            fmt_f64(stats.max_bias_z),
            fmt_f64(bonferroni_z(ALPHA, n_coords)),
            fmt_f64(stats.summed_variance),
            fmt_f64(stats.log10_summed_variance),
            fmt_f64(stats.snr),
            fmt_f64(stats.evals_per_estimate),
            stats.screen_draws,
            fmt_f64(stats.screen_max_bias_z)
        );
        let timings = format!(
            "{index},{problem_name},{name},{temperature},{},{},{}\n",
            cell.seed,
            fmt_f64(seconds * 1e9 / stats.n_draws as f64),
            fmt_f64(seconds)
        );
        Ok(CellRows {
            results,
            timings,
            fits: String::new(),
        })
    }

    fn work_summary(&self) -> String {
        let mut text = format!(
            "{} cells of {} draws each ({:.3e} estimates in all)",
            self.cells.len(),
            self.study.n_draws,
            self.cells.len() as f64 * self.study.n_draws as f64
        );
        if let Some(&most) = self.study.confirm_draws.last() {
            let unbiased = self
                .cells
                .iter()
                .filter(|cell| {
                    let name = &self.study.estimators[cell.estimator];
                    let temperature = cell.temperature.map_or(1.0, |t| self.study.temperatures[t]);
                    self.study
                        .kind(name, temperature)
                        .is_ok_and(|kind| kind.is_unbiased())
                })
                .count();
            text.push_str(&format!(
                "; a cell of an unbiased estimator that fails the bias check is redrawn, up \
                 to {most} draws (at most {:.3e} estimates if all {unbiased} such cells \
                 fail)",
                self.cells.len() as f64 * self.study.n_draws as f64
                    + unbiased as f64 * (most - self.study.n_draws) as f64
            ));
        }
        text
    }
}
