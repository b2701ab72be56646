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
//!
//! [em]                              # optional
//! max_iter = 1000
//! tol = 1e-10
//!
//! [svi]                             # optional
//! covariance = "diag"
//!
//! [estimator_options]               # optional; no options exist yet
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::{DataError, Dataset, read_columns};
use crate::estimator::{ESTIMATOR_NAMES, EstimatorKind};
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
    #[error("study file {path} is not valid: {message}")]
    Parse {
        /// The study file.
        path: PathBuf,
        /// The parser's message (it names the key and the line).
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
        source: DataError,
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
    /// The data, with its resolved path and columns.
    pub data: Dataset,
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
}

impl Default for SviOptions {
    fn default() -> Self {
        Self {
            covariance: default_covariance(),
        }
    }
}

/// Estimator options of a study (none exist yet; the table is accepted
/// empty so that files can grow into it).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatorOptions {}

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

/// The schema of an SVI study file (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSviStudy {
    #[serde(default)]
    #[allow(dead_code)]
    kind: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    master_seed: u64,
    seeds: Vec<u64>,
    datasets: Vec<RawDataset>,
    n_components: Vec<usize>,
    estimators: Vec<String>,
    #[serde(default)]
    temperatures: Vec<f64>,
    learning_rates: Vec<f64>,
    n_steps: usize,
    log_every: usize,
    #[serde(default = "default_n_samples")]
    n_samples: usize,
    #[serde(default = "default_eta")]
    eta: f64,
    #[serde(default = "default_variance_floor")]
    variance_floor: f64,
    #[serde(default = "default_epsilon")]
    epsilon: f64,
    #[serde(default)]
    em: EmOptions,
    #[serde(default)]
    svi: SviOptions,
    #[serde(default)]
    estimator_options: EstimatorOptions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    #[serde(default)]
    name: Option<String>,
    file: PathBuf,
    columns: Vec<String>,
}

fn default_max_iter() -> usize {
    1000
}
fn default_tol() -> f64 {
    1e-10
}
fn default_covariance() -> String {
    "diag".to_string()
}
fn default_n_samples() -> usize {
    1
}
fn default_eta() -> f64 {
    1.0
}
fn default_variance_floor() -> f64 {
    1e-6
}
fn default_epsilon() -> f64 {
    1e-3
}

/// The study kinds this build runs.
pub const STUDY_KINDS: &[&str] = &["svi"];

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
        message: message.trim_end().replace('\n', " "),
    };
    let table: toml::Table = toml::from_str(text).map_err(|err| parse_error(err.to_string()))?;
    let kind = match table.get("kind") {
        None => "svi".to_string(),
        Some(toml::Value::String(kind)) => kind.clone(),
        Some(other) => return Err(invalid(path, "kind", other, "must be a string")),
    };
    if !STUDY_KINDS.contains(&kind.as_str()) {
        let rule = format!("known kinds: {}", STUDY_KINDS.join(", "));
        return Err(invalid(path, "kind", &format!("{kind:?}"), &rule));
    }
    let raw: RawSviStudy = toml::from_str(text).map_err(|err| parse_error(err.to_string()))?;
    let source = StudySource {
        path: path.to_path_buf(),
        text: text.to_string(),
        hash: format!("{:016x}", fnv1a64(text.as_bytes())),
    };
    validate(raw, source)
}

fn invalid(path: &Path, field: &str, value: &dyn std::fmt::Display, rule: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        field: field.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    }
}

/// Checks that a list is not empty and has no repeated entry.
fn check_list<T: PartialEq + std::fmt::Debug>(
    path: &Path,
    field: &str,
    values: &[T],
) -> Result<(), ConfigError> {
    if values.is_empty() {
        return Err(invalid(path, field, &"[]", "must hold at least one value"));
    }
    for (index, value) in values.iter().enumerate() {
        if values[..index].contains(value) {
            let name = format!("{field}[{index}]");
            return Err(invalid(
                path,
                &name,
                &format!("{value:?}"),
                "repeats an earlier entry",
            ));
        }
    }
    Ok(())
}

/// Checks that every entry of a float list is finite and positive.
fn check_positive(path: &Path, field: &str, values: &[f64]) -> Result<(), ConfigError> {
    for (index, &value) in values.iter().enumerate() {
        if !(value.is_finite() && value > 0.0) {
            let name = format!("{field}[{index}]");
            return Err(invalid(
                path,
                &name,
                &value,
                "must be a finite number greater than 0",
            ));
        }
    }
    Ok(())
}

fn validate(raw: RawSviStudy, source: StudySource) -> Result<Study, ConfigError> {
    let path = source.path.clone();
    let path = path.as_path();
    check_list(path, "seeds", &raw.seeds)?;
    check_list(path, "n_components", &raw.n_components)?;
    if let Some(index) = raw.n_components.iter().position(|&k| k == 0) {
        let name = format!("n_components[{index}]");
        return Err(invalid(path, &name, &0, "must be at least 1"));
    }
    check_list(path, "estimators", &raw.estimators)?;
    let mut uses_temperature = false;
    for (index, name) in raw.estimators.iter().enumerate() {
        let kind = EstimatorKind::from_name(name, 1.0, 1.0).map_err(|_| {
            let rule = format!("known estimators: {}", ESTIMATOR_NAMES.join(", "));
            invalid(
                path,
                &format!("estimators[{index}]"),
                &format!("{name:?}"),
                &rule,
            )
        })?;
        uses_temperature |= kind.uses_temperature();
    }
    if uses_temperature {
        check_list(path, "temperatures", &raw.temperatures)?;
    }
    check_positive(path, "temperatures", &raw.temperatures)?;
    check_list(path, "learning_rates", &raw.learning_rates)?;
    check_positive(path, "learning_rates", &raw.learning_rates)?;
    check_scalars(path, &raw)?;
    let datasets = read_datasets(path, &raw.datasets)?;
    check_components_fit(path, &raw.n_components, &datasets)?;
    Ok(Study {
        source,
        master_seed: raw.master_seed,
        seeds: raw.seeds,
        datasets,
        n_components: raw.n_components,
        estimators: raw.estimators,
        temperatures: if uses_temperature {
            raw.temperatures
        } else {
            Vec::new()
        },
        learning_rates: raw.learning_rates,
        n_steps: raw.n_steps,
        log_every: raw.log_every,
        n_samples: raw.n_samples,
        eta: raw.eta,
        variance_floor: raw.variance_floor,
        epsilon: raw.epsilon,
        em: raw.em,
        svi: raw.svi,
        estimator_options: raw.estimator_options,
    })
}

/// Range checks of the single-valued settings.
fn check_scalars(path: &Path, raw: &RawSviStudy) -> Result<(), ConfigError> {
    let at_least_one = [
        ("n_steps", raw.n_steps),
        ("log_every", raw.log_every),
        ("n_samples", raw.n_samples),
        ("em.max_iter", raw.em.max_iter),
    ];
    for (field, value) in at_least_one {
        if value == 0 {
            return Err(invalid(path, field, &value, "must be at least 1"));
        }
    }
    if !raw.eta.is_finite() {
        return Err(invalid(path, "eta", &raw.eta, "must be a finite number"));
    }
    let non_negative = [
        ("variance_floor", raw.variance_floor),
        ("em.tol", raw.em.tol),
    ];
    for (field, value) in non_negative {
        if !(value.is_finite() && value >= 0.0) {
            return Err(invalid(
                path,
                field,
                &value,
                "must be a finite number at least 0",
            ));
        }
    }
    if !(raw.epsilon.is_finite() && raw.epsilon > 0.0) {
        let rule = "must be a finite number greater than 0";
        return Err(invalid(path, "epsilon", &raw.epsilon, rule));
    }
    if raw.svi.covariance != "diag" {
        let value = format!("{:?}", raw.svi.covariance);
        return Err(invalid(
            path,
            "svi.covariance",
            &value,
            "supported covariances: diag",
        ));
    }
    Ok(())
}

/// Whether a data set name is safe in file names and CSV cells.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn read_datasets(path: &Path, raw: &[RawDataset]) -> Result<Vec<StudyDataset>, ConfigError> {
    if raw.is_empty() {
        return Err(invalid(
            path,
            "datasets",
            &"[]",
            "must hold at least one data set",
        ));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut datasets: Vec<StudyDataset> = Vec::with_capacity(raw.len());
    for (index, entry) in raw.iter().enumerate() {
        let field = format!("datasets[{index}]");
        let name = match &entry.name {
            Some(name) => name.clone(),
            None => entry
                .file
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        };
        if !is_plain_name(&name) {
            let rule = "must be non-empty letters, digits, '-', '_' or '.'";
            return Err(invalid(
                path,
                &format!("{field}.name"),
                &format!("{name:?}"),
                rule,
            ));
        }
        if datasets.iter().any(|seen| seen.name == name) {
            let rule = "repeats an earlier data set's name; give each a distinct name";
            return Err(invalid(
                path,
                &format!("{field}.name"),
                &format!("{name:?}"),
                rule,
            ));
        }
        check_list(path, &format!("{field}.columns"), &entry.columns)?;
        let file = base.join(&entry.file);
        let data = read_columns(&file, &entry.columns).map_err(|source| ConfigError::Data {
            path: path.to_path_buf(),
            field: field.clone(),
            source,
        })?;
        datasets.push(StudyDataset { name, data });
    }
    Ok(datasets)
}

fn check_components_fit(
    path: &Path,
    n_components: &[usize],
    datasets: &[StudyDataset],
) -> Result<(), ConfigError> {
    for (index, &k) in n_components.iter().enumerate() {
        for dataset in datasets {
            let n_points = dataset.data.points.nrows();
            if k > n_points {
                let rule = format!(
                    "must be at most the number of points of data set {:?} ({n_points})",
                    dataset.name
                );
                return Err(invalid(path, &format!("n_components[{index}]"), &k, &rule));
            }
        }
    }
    Ok(())
}
