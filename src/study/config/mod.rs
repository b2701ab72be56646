//! Study files: the TOML schema, its defaults and the validation that turns
//! a file into a [`Study`].
//!
//! A study file is parsed in two steps. First the `kind` key is read
//! (`"svi"` when absent); then the whole table is read into the schema of
//! that kind with unknown keys rejected. Every value is then range-checked
//! and the data files are read, so that nothing runs (and nothing is
//! written) unless the whole study is valid. Relative data paths are taken
//! relative to the folder of the study file.
//!
//! ```toml
//! kind = "svi"                      # optional; "svi" is the only kind so far
//! master_seed = 2026
//! seeds = [1, 2, 3]
//! n_components = [2, 3]
//! estimators = ["reinforce", "rebar"]
//! temperatures = [0.1, 0.5, 1.0]    # needed when an estimator uses one
//! learning_rates = [0.01, 0.03]
//! n_steps = 3000
//! log_every = 25
//! n_samples = 1                     # optional, default 1
//! eta = 1.0                         # optional, default 1
//! variance_floor = 1e-6             # optional, default 1e-6
//! epsilon = 1e-3                    # optional: per-point distance to EM
//!
//! [[datasets]]
//! name = "eruptions"                # optional, default: the file stem
//! file = "../data/faithful.csv"
//! columns = ["eruptions"]
//! standardise = false               # optional: rescale each column to mean 0,
//!                                   # sd 1 (log-likelihoods then per standard unit)
//!
//! [em]                              # optional
//! max_iter = 1000
//! tol = 1e-10
//!
//! [svi]                             # optional
//! covariance = "diag"               # the only covariance SVI fits so far
//! variance_draws = 0                # extra draws per logged step for the
//!                                   # gradient-variance column (0: off, else >= 2)
//! variational = "local"             # or "amortised": q(c | x) = softmax(W x + β)
//! batch_size = 64                   # points per step; absent: every point
//!
//! [estimator_options]               # optional, passed to the estimators
//! baseline_decay = 0.9              # reinforce-ema
//! coupling = "independent"          # rebar: "independent" or "same"
//! lambda_range = [0.01, 10.0]       # rebar-adaptive: range of λ
//! adapt_rate = 0.01                 # rebar-adaptive: Adam rate of (η, log λ)
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

mod validate;

pub(crate) use validate::{
    MAX_LOGITS, check_estimator_options, check_list, check_positive, invalid,
};
use validate::{default_covariance, default_max_iter, default_tol, default_variational};

use crate::data::{DataError, Dataset};
use crate::estimator::{Coupling, EstimatorError, EstimatorKind, EstimatorSettings, Variables};
use crate::rng::fnv1a64;

/// Why a study file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The study file could not be read.
    #[error("cannot read study file {path}: {reason}")]
    Io {
        /// The study file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The file is not valid TOML, has an unknown key or a value of the
    /// wrong type.
    #[error("study file {path} is not valid:\n{message}")]
    Parse {
        /// The study file.
        path: PathBuf,
        /// The parser's message (it names the key and the line, and may run
        /// over several lines, with a caret under the bad spot).
        message: String,
    },
    /// A value is out of range.
    #[error("study file {path}: {field} = {value} is not allowed: {rule}")]
    Invalid {
        /// The study file.
        path: PathBuf,
        /// The field, with its index for list entries (`temperatures[1]`).
        field: String,
        /// The value given.
        value: String,
        /// What is allowed.
        rule: String,
    },
    /// A data set could not be read.
    #[error("study file {path}: {field}: {source}")]
    Data {
        /// The study file.
        path: PathBuf,
        /// The data set's field (`datasets[0]`).
        field: String,
        /// The reading error (it names the file, row and column).
        source: Box<DataError>,
    },
}

/// Where a study came from: the file, its text and the text's hash.
#[derive(Debug, Clone)]
pub struct StudySource {
    /// The study file as given.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// FNV-1a-64 of the text, as 16 hex digits (recorded in outputs so a
    /// changed study file is noticed on resume and merge).
    pub hash: String,
}

/// A data set of a study, read and checked.
#[derive(Debug, Clone)]
pub struct StudyDataset {
    /// The name used in result files.
    pub name: String,
    /// The data, with its resolved path and columns (standardised when
    /// asked).
    pub data: Dataset,
    /// Whether every column was rescaled to mean 0 and sd 1
    /// ([`Dataset::standardise`]); log-likelihoods are then per
    /// standardised unit.
    pub standardised: bool,
}

/// EM settings of a study.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmOptions {
    /// Iteration limit (at least 1).
    #[serde(default = "default_max_iter")]
    pub max_iter: usize,
    /// Stop when the per-point log-likelihood changes by less than this.
    #[serde(default = "default_tol")]
    pub tol: f64,
}

impl Default for EmOptions {
    fn default() -> Self {
        Self {
            max_iter: default_max_iter(),
            tol: default_tol(),
        }
    }
}

/// SVI options of a study, passed to the mixture task's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SviOptions {
    /// Covariance type of the mixture.
    #[serde(default = "default_covariance")]
    pub covariance: String,
    /// Extra estimator draws per point at each logged step for the
    /// gradient-variance column; 0 turns it off.
    #[serde(default)]
    pub variance_draws: usize,
    /// Variational family: `local` logits per point or `amortised`.
    #[serde(default = "default_variational")]
    pub variational: String,
    /// Points per SVI step (absent: every point).
    #[serde(default)]
    pub batch_size: Option<usize>,
}

impl Default for SviOptions {
    fn default() -> Self {
        Self {
            covariance: default_covariance(),
            variance_draws: 0,
            variational: default_variational(),
            batch_size: None,
        }
    }
}

/// Estimator options of a study, passed to
/// [`EstimatorKind::from_name_with`]; absent values keep the library's
/// defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatorOptions {
    /// Decay of the moving-average baseline (`reinforce-ema`).
    pub baseline_decay: Option<f64>,
    /// REBAR's noise coupling: `independent` or `same`.
    pub coupling: Option<String>,
    /// Range `[min, max]` of the adaptive temperature (`rebar-adaptive`).
    pub lambda_range: Option<[f64; 2]>,
    /// Adam rate of the adaptive `(η, log λ)` (`rebar-adaptive`).
    pub adapt_rate: Option<f64>,
}

/// A validated SVI study: every field checked, every data set read.
#[derive(Debug, Clone)]
pub struct Study {
    /// Where the study came from.
    pub source: StudySource,
    /// Master seed of every random stream.
    pub master_seed: u64,
    /// Replicate seeds (distinct).
    pub seeds: Vec<u64>,
    /// Data sets (distinct names).
    pub datasets: Vec<StudyDataset>,
    /// Component counts `K`.
    pub n_components: Vec<usize>,
    /// Estimator names, in the order the report lists them.
    pub estimators: Vec<String>,
    /// Relaxation temperatures `λ`.
    pub temperatures: Vec<f64>,
    /// Adam learning rates.
    pub learning_rates: Vec<f64>,
    /// SVI steps per run.
    pub n_steps: usize,
    /// SVI logging interval in steps.
    pub log_every: usize,
    /// Samples per gradient estimate.
    pub n_samples: usize,
    /// Control-variate scale `η`.
    pub eta: f64,
    /// Floor on every variance (SVI and EM).
    pub variance_floor: f64,
    /// Per-point log-likelihood distance to EM that counts as reached.
    pub epsilon: f64,
    /// EM settings.
    pub em: EmOptions,
    /// SVI options.
    pub svi: SviOptions,
    /// Estimator options.
    pub estimator_options: EstimatorOptions,
}

impl EstimatorOptions {
    /// The library's estimator settings at `temperature` and `eta`, with
    /// these options in place of the defaults.
    pub fn settings(&self, temperature: f64, eta: f64) -> EstimatorSettings {
        let defaults = EstimatorSettings::default();
        let coupling = self
            .coupling
            .as_deref()
            .and_then(Coupling::from_name)
            .unwrap_or(defaults.coupling);
        EstimatorSettings {
            temperature,
            eta,
            baseline_decay: self.baseline_decay.unwrap_or(defaults.baseline_decay),
            coupling,
            log_lambda_range: self
                .lambda_range
                .map_or(defaults.log_lambda_range, |[low, high]| {
                    (low.ln(), high.ln())
                }),
            adapt_rate: self.adapt_rate.unwrap_or(defaults.adapt_rate),
        }
    }
}

impl Study {
    /// The settings every estimator of the study is built from, at
    /// temperature `temperature`.
    pub fn estimator_settings(&self, temperature: f64) -> EstimatorSettings {
        self.estimator_options.settings(temperature, self.eta)
    }

    /// The estimator called `name` at `temperature`, with the study's
    /// options.
    ///
    /// # Errors
    ///
    /// [`EstimatorError`] when the name is unknown or a setting is out of
    /// range.
    pub fn estimator_kind(
        &self,
        name: &str,
        temperature: f64,
    ) -> Result<EstimatorKind, EstimatorError> {
        EstimatorKind::from_name_with(name, &self.estimator_settings(temperature))
    }

    /// The kind of variable SVI uses with `n_components` components:
    /// binary for K = 2, categorical otherwise.
    pub fn variables(n_components: usize) -> Variables {
        if n_components == 2 {
            Variables::Binary
        } else {
            Variables::Categorical {
                n_classes: n_components,
            }
        }
    }
}

/// The study kinds this build runs.
pub const STUDY_KINDS: &[&str] = &["svi", "variance", "toy", "suite"];

/// Reads, parses and validates a study file, and reads its data sets.
///
/// # Errors
///
/// [`ConfigError`] naming the field, the value and the rule for the first
/// problem found.
pub fn load_study(path: &Path) -> Result<Study, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Io {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    parse_study(path, &text)
}

/// Parses and validates the text of a study file found at `path` (used to
/// resolve relative data paths and in messages).
///
/// # Errors
///
/// See [`load_study`].
pub fn parse_study(path: &Path, text: &str) -> Result<Study, ConfigError> {
    let parse_error = |message: String| ConfigError::Parse {
        path: path.to_path_buf(),
        message: message.trim_end().to_string(),
    };
    let table: toml::Table = toml::from_str(text).map_err(|err| parse_error(err.to_string()))?;
    let kind = match table.get("kind") {
        None => "svi".to_string(),
        Some(toml::Value::String(kind)) => kind.clone(),
        Some(other) => return Err(invalid(path, "kind", other, "must be a string")),
    };
    if kind != "svi" {
        if STUDY_KINDS.contains(&kind.as_str()) {
            let rule = "this is an SVI study file; read other kinds with load_plan";
            return Err(invalid(path, "kind", &format!("{kind:?}"), rule));
        }
        let rule = format!("known kinds: {}", STUDY_KINDS.join(", "));
        return Err(invalid(path, "kind", &format!("{kind:?}"), &rule));
    }
    let raw: validate::RawSviStudy =
        toml::from_str(text).map_err(|err| parse_error(err.to_string()))?;
    let source = StudySource {
        path: path.to_path_buf(),
        text: text.to_string(),
        hash: format!("{:016x}", fnv1a64(text.as_bytes())),
    };
    validate::validate(raw, source)
}
