//! Toy optimisation studies (`kind = "toy"`): minimise `E[(b − t)²]` over
//! one or many bits with each estimator and Adam ([`crate::toyopt`]), and
//! log the exact loss and the estimator's log10 summed variance along the
//! way.
//!
//! ```toml
//! kind = "toy"
//! master_seed = 1
//! seeds = [1, 2, 3]
//! estimators = ["reinforce", "rebar"]
//! temperatures = [0.1, 0.5]        # only for estimators that use one
//! learning_rates = [0.01, 0.1]
//! n_steps = 2000
//! log_every = 50
//! variance_draws = 16              # optional, default 16 (0: off, else >= 2)
//! n_samples = 1                    # optional, default 1 (rloo takes at least 2)
//! eta = 1.0                        # optional, default 1
//!
//! [[problems]]
//! n_bits = 1                       # optional, default 1
//! target = 0.45
//!
//! [estimator_options]              # optional, as in SVI studies
//! ```
//!
//! Grid order: problem, estimator, temperature (for estimators that use
//! one), learning rate, seed. Cell key
//! `toy/problem=P/est=E[/lambda=λ]/lr=r`; the stream of a cell comes from
//! the master seed, its replicate seed and its key.

use std::path::Path;
use std::time::Instant;

use serde::Deserialize;

use crate::estimator::{Coupling, EstimatorError, EstimatorKind, EstimatorSettings};
use crate::rng::{cell_stream, fnv1a64};
use crate::toyopt::{ToyRunSettings, ToyTask, optimise};

use super::config::{ConfigError, EstimatorOptions, MAX_LOGITS, StudySource};
use super::format::{fmt_f64, fmt_opt};
use super::grid::{uses_eta, uses_temperature};
use super::plan::Plan;
use super::runner::{CellError, CellRows};

/// Header of a toy study's `results.csv`.
pub const RESULTS_HEADER: &str = "cell,problem,n_bits,target,method,temperature,eta,\
learning_rate,n_samples,seed,step,loss,excess_loss,log10_variance,n_evals,current_eta,\
current_temperature";

/// Header of a toy study's `timings.csv`.
pub const TIMINGS_HEADER: &str = "cell,problem,method,temperature,learning_rate,seed,\
wall_seconds";

fn default_variance_draws() -> usize {
    16
}

fn one() -> usize {
    1
}

fn one_f64() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProblem {
    #[serde(default = "one")]
    n_bits: usize,
    target: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToyStudy {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    description: Option<String>,
    master_seed: u64,
    seeds: Vec<u64>,
    estimators: Vec<String>,
    #[serde(default)]
    temperatures: Vec<f64>,
    learning_rates: Vec<f64>,
    n_steps: usize,
    log_every: usize,
    #[serde(default = "default_variance_draws")]
    variance_draws: usize,
    #[serde(default = "one")]
    n_samples: usize,
    #[serde(default = "one_f64")]
    eta: f64,
    problems: Vec<RawProblem>,
    #[serde(default)]
    estimator_options: EstimatorOptions,
}

/// A validated toy study.
#[derive(Debug, Clone)]
pub struct ToyStudy {
    /// Where the study came from.
    pub source: StudySource,
    /// One line saying what the study is for.
    pub description: Option<String>,
    /// Master seed.
    pub master_seed: u64,
    /// Replicate seeds (distinct).
    pub seeds: Vec<u64>,
    /// Estimator names.
    pub estimators: Vec<String>,
    /// Temperatures of the estimators that use one.
    pub temperatures: Vec<f64>,
    /// Adam learning rates.
    pub learning_rates: Vec<f64>,
    /// Steps per run.
    pub n_steps: usize,
    /// Logging interval.
    pub log_every: usize,
    /// Extra draws per logged step for the variance column.
    pub variance_draws: usize,
    /// Samples per estimate (RLOO takes at least 2).
    pub n_samples: usize,
    /// Control-variate scale `η`.
    pub eta: f64,
    /// The problems.
    pub problems: Vec<ToyTask>,
    /// Estimator options.
    pub estimator_options: EstimatorOptions,
}

impl ToyStudy {
    /// The estimator called `name` at `temperature` with the study's options.
    ///
    /// # Errors
    ///
    /// The library's error for an unknown name or a setting out of range.
    pub fn kind(&self, name: &str, temperature: f64) -> Result<EstimatorKind, EstimatorError> {
        EstimatorKind::from_name_with(name, &self.settings(temperature))
    }

    /// The library's estimator settings at `temperature`, with the study's
    /// `eta` and options in place of the defaults.
    pub fn settings(&self, temperature: f64) -> EstimatorSettings {
        let options = &self.estimator_options;
        let defaults = EstimatorSettings::default();
        EstimatorSettings {
            temperature,
            eta: self.eta,
            baseline_decay: options.baseline_decay.unwrap_or(defaults.baseline_decay),
            coupling: (options.coupling.as_deref())
                .and_then(Coupling::from_name)
                .unwrap_or(defaults.coupling),
            log_lambda_range: (options.lambda_range)
                .map_or(defaults.log_lambda_range, |[low, high]| {
                    (low.ln(), high.ln())
                }),
            adapt_rate: options.adapt_rate.unwrap_or(defaults.adapt_rate),
        }
    }

    /// Samples per estimate for the estimator `name`.
    pub fn samples_for(&self, name: &str) -> usize {
        if name == "rloo" {
            self.n_samples.max(2)
        } else {
            self.n_samples
        }
    }
}

fn invalid(path: &Path, field: &str, value: &dyn std::fmt::Display, rule: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        field: field.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    }
}

fn check_positive_list(path: &Path, field: &str, values: &[f64]) -> Result<(), ConfigError> {
    for (i, &x) in values.iter().enumerate() {
        if !(x > 0.0 && x.is_finite()) {
            return Err(invalid(
                path,
                &format!("{field}[{i}]"),
                &x,
                "positive and finite",
            ));
        }
    }
    Ok(())
}

/// Parses and validates the text of a toy study file found at `path`.
///
/// # Errors
///
/// [`ConfigError`] naming the field, the value and the rule.
pub fn parse_toy_study(path: &Path, text: &str) -> Result<ToyStudy, ConfigError> {
    let raw: RawToyStudy = toml::from_str(text).map_err(|err| ConfigError::Parse {
        path: path.to_path_buf(),
        message: err.to_string().trim_end().to_string(),
    })?;
    let need = |ok: bool, field: &str, value: &dyn std::fmt::Display, rule: &str| {
        if ok {
            Ok(())
        } else {
            Err(invalid(path, field, value, rule))
        }
    };
    need(
        !raw.seeds.is_empty(),
        "seeds",
        &"[]",
        "list at least one seed",
    )?;
    let mut sorted = raw.seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    need(
        sorted.len() == raw.seeds.len(),
        "seeds",
        &format!("{:?}", raw.seeds),
        "distinct",
    )?;
    need(
        !raw.estimators.is_empty(),
        "estimators",
        &"[]",
        "list at least one estimator",
    )?;
    need(
        !raw.learning_rates.is_empty(),
        "learning_rates",
        &"[]",
        "list at least one rate",
    )?;
    check_positive_list(path, "learning_rates", &raw.learning_rates)?;
    check_positive_list(path, "temperatures", &raw.temperatures)?;
    need(raw.n_steps >= 1, "n_steps", &raw.n_steps, "at least 1")?;
    need(
        raw.log_every >= 1,
        "log_every",
        &raw.log_every,
        "at least 1",
    )?;
    need(
        raw.n_samples >= 1,
        "n_samples",
        &raw.n_samples,
        "at least 1",
    )?;
    need(
        raw.variance_draws != 1,
        "variance_draws",
        &1,
        "0 (off) or at least 2",
    )?;
    need(raw.eta.is_finite(), "eta", &raw.eta, "finite")?;
    need(
        !raw.problems.is_empty(),
        "problems",
        &"[]",
        "list at least one problem",
    )?;
    let mut problems = Vec::new();
    for (i, p) in raw.problems.iter().enumerate() {
        need(
            (1..=MAX_LOGITS).contains(&p.n_bits),
            &format!("problems[{i}].n_bits"),
            &p.n_bits,
            &format!("from 1 to {MAX_LOGITS}"),
        )?;
        let ok = (0.0..=1.0).contains(&p.target);
        need(ok, &format!("problems[{i}].target"), &p.target, "in [0, 1]")?;
        problems.push(ToyTask::bits(p.n_bits, p.target));
    }
    let study = ToyStudy {
        source: StudySource {
            path: path.to_path_buf(),
            text: text.to_string(),
            hash: format!("{:016x}", fnv1a64(text.as_bytes())),
        },
        description: raw.description,
        master_seed: raw.master_seed,
        seeds: raw.seeds,
        estimators: raw.estimators,
        temperatures: raw.temperatures,
        learning_rates: raw.learning_rates,
        n_steps: raw.n_steps,
        log_every: raw.log_every,
        variance_draws: raw.variance_draws,
        n_samples: raw.n_samples,
        eta: raw.eta,
        problems,
        estimator_options: raw.estimator_options,
    };
    for (i, name) in study.estimators.iter().enumerate() {
        let field = format!("estimators[{i}]");
        if uses_temperature(name) && study.temperatures.is_empty() {
            return Err(invalid(
                path,
                "temperatures",
                &"[]",
                &format!("{name} needs one"),
            ));
        }
        let temperature = study.temperatures.first().copied().unwrap_or(1.0);
        study
            .kind(name, temperature)
            .map_err(|err| invalid(path, &field, &format!("{name:?}"), &err.to_string()))?;
    }
    Ok(study)
}

/// One cell of a toy study.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToyCell {
    /// Index into the problems.
    pub problem: usize,
    /// Index into the estimators.
    pub estimator: usize,
    /// Index into the temperatures, when the estimator uses one.
    pub temperature: Option<usize>,
    /// Index into the learning rates.
    pub learning_rate: usize,
    /// Replicate seed.
    pub seed: u64,
}

/// A toy study with its cells in grid order.
#[derive(Debug, Clone)]
pub struct ToyPlan {
    /// The validated study.
    pub study: ToyStudy,
    /// Its cells.
    pub cells: Vec<ToyCell>,
}

impl ToyPlan {
    /// The plan of `study` (see the module docs for the order).
    pub fn new(study: ToyStudy) -> Self {
        let mut cells = Vec::new();
        for problem in 0..study.problems.len() {
            for (estimator, name) in study.estimators.iter().enumerate() {
                let temperatures: Vec<Option<usize>> = if uses_temperature(name) {
                    (0..study.temperatures.len()).map(Some).collect()
                } else {
                    vec![None]
                };
                for temperature in temperatures {
                    for learning_rate in 0..study.learning_rates.len() {
                        for &seed in &study.seeds {
                            cells.push(ToyCell {
                                problem,
                                estimator,
                                temperature,
                                learning_rate,
                                seed,
                            });
                        }
                    }
                }
            }
        }
        Self { study, cells }
    }

    /// The key of a cell (its grid coordinates without the seed).
    pub fn key(&self, cell: &ToyCell) -> String {
        let study = &self.study;
        let name = &study.estimators[cell.estimator];
        let mut key = format!(
            "toy/problem={}/est={name}",
            study.problems[cell.problem].name()
        );
        if let Some(t) = cell.temperature {
            key.push_str(&format!("/lambda={}", study.temperatures[t]));
        }
        key.push_str(&format!("/lr={}", study.learning_rates[cell.learning_rate]));
        key
    }

    /// The text that identifies cell `index`: its key and seed.
    pub fn label(&self, index: usize) -> String {
        let cell = &self.cells[index];
        format!("{}/seed={}", self.key(cell), cell.seed)
    }

    /// Runs cell `index`: one optimisation run, one results row per logged
    /// step and one timings row.
    ///
    /// # Errors
    ///
    /// [`CellError`] naming the cell when the run cannot start.
    pub fn run(&self, index: usize) -> Result<CellRows, CellError> {
        let cell = &self.cells[index];
        let study = &self.study;
        let key = self.key(cell);
        let fail = |reason: String| CellError {
            key: key.clone(),
            seed: cell.seed,
            reason,
        };
        let task = study.problems[cell.problem];
        let name = &study.estimators[cell.estimator];
        let temperature = cell.temperature.map(|t| study.temperatures[t]);
        let learning_rate = study.learning_rates[cell.learning_rate];
        let settings = ToyRunSettings {
            estimator: study
                .kind(name, temperature.unwrap_or(1.0))
                .map_err(|e| fail(e.to_string()))?,
            n_samples: study.samples_for(name),
            learning_rate,
            n_steps: study.n_steps,
            log_every: study.log_every,
            variance_draws: study.variance_draws,
        };
        let eta = if uses_eta(name) {
            fmt_f64(study.eta)
        } else {
            String::new()
        };
        let prefix = format!(
            "{index},{},{},{},{name},{},{eta},{},{},{}",
            task.name(),
            task.n_bits,
            fmt_f64(task.target),
            fmt_opt(temperature),
            fmt_f64(learning_rate),
            settings.n_samples,
            cell.seed
        );
        let mut rng = cell_stream(study.master_seed, cell.seed, &key);
        let mut results = String::new();
        let started = Instant::now();
        optimise(&task, &settings, &mut rng, &mut |log| {
            results.push_str(&format!(
                "{prefix},{},{},{},{},{},{},{}\n",
                log.step,
                fmt_f64(log.loss),
                fmt_f64(log.excess_loss),
                fmt_opt(log.log10_variance),
                log.n_evals,
                fmt_opt(log.eta),
                fmt_opt(log.temperature)
            ));
        })
        .map_err(|e| fail(e.to_string()))?;
        let timings = format!(
            "{index},{},{name},{},{},{},{}\n",
            task.name(),
            fmt_opt(temperature),
            fmt_f64(learning_rate),
            cell.seed,
            fmt_f64(started.elapsed().as_secs_f64())
        );
        Ok(CellRows {
            results,
            timings,
            fits: String::new(),
        })
    }

    /// One line on the work the grid holds.
    pub fn work(&self) -> String {
        format!(
            "{} toy runs of {} steps ({} extra variance draws per logged step)",
            self.cells.len(),
            self.study.n_steps,
            self.study.variance_draws
        )
    }
}

impl Plan for ToyPlan {
    fn source(&self) -> &StudySource {
        &self.study.source
    }

    fn kind(&self) -> &'static str {
        "toy"
    }

    fn n_cells(&self) -> usize {
        self.cells.len()
    }

    fn cell_label(&self, index: usize) -> String {
        self.label(index)
    }

    fn run_cell(&self, index: usize) -> Result<CellRows, CellError> {
        self.run(index)
    }

    fn work_summary(&self) -> String {
        self.work()
    }
}
