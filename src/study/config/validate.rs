//! Validation of a parsed study file: the raw schema as serde reads it,
//! its defaults, and the range checks that turn it into a [`Study`].

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::data::{Dataset, read_columns};
use crate::estimator::{Coupling, ESTIMATOR_NAMES, Estimator, EstimatorKind};

use super::{
    ConfigError, EmOptions, EstimatorOptions, Study, StudyDataset, StudySource, SviOptions,
};

/// The schema of an SVI study file (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSviStudy {
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
    #[serde(default)]
    standardise: bool,
}

pub(super) fn default_max_iter() -> usize {
    1000
}
pub(super) fn default_tol() -> f64 {
    1e-10
}
pub(super) fn default_covariance() -> String {
    "diag".to_string()
}
pub(super) fn default_variational() -> String {
    "local".to_string()
}
pub(super) fn default_n_samples() -> usize {
    1
}
pub(super) fn default_eta() -> f64 {
    1.0
}
pub(super) fn default_variance_floor() -> f64 {
    1e-6
}
pub(super) fn default_epsilon() -> f64 {
    1e-3
}

/// The most logits one problem of a toy or variance study may have
/// (`n_bits`, `n_classes`): every estimator keeps about thirty buffers of
/// this length per thread, so a typo of a few zeros would exhaust memory.
pub(crate) const MAX_LOGITS: usize = 100_000;

pub(crate) fn invalid(
    path: &Path,
    field: &str,
    value: &dyn std::fmt::Display,
    rule: &str,
) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        field: field.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
    }
}

/// Checks that a list is not empty and has no repeated entry.
pub(crate) fn check_list<T: PartialEq + std::fmt::Debug>(
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
pub(crate) fn check_positive(path: &Path, field: &str, values: &[f64]) -> Result<(), ConfigError> {
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

pub(super) fn validate(raw: RawSviStudy, source: StudySource) -> Result<Study, ConfigError> {
    let path = source.path.clone();
    let path = path.as_path();
    check_list(path, "seeds", &raw.seeds)?;
    check_list(path, "n_components", &raw.n_components)?;
    if let Some(index) = raw.n_components.iter().position(|&k| k < 2) {
        let name = format!("n_components[{index}]");
        let rule = "must be at least 2 (one component leaves nothing to infer)";
        return Err(invalid(path, &name, &raw.n_components[index], rule));
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
    check_estimator_options(path, &raw.estimator_options)?;
    let datasets = read_datasets(path, &raw.datasets)?;
    check_components_fit(path, &raw.n_components, &datasets, raw.svi.batch_size)?;
    let study = Study {
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
    };
    check_estimators_apply(path, &study)?;
    Ok(study)
}

/// Range checks of the estimator options.
pub(crate) fn check_estimator_options(
    path: &Path,
    options: &EstimatorOptions,
) -> Result<(), ConfigError> {
    if let Some(decay) = options.baseline_decay
        && !(0.0..1.0).contains(&decay)
    {
        let rule = "must be at least 0 and below 1";
        return Err(invalid(
            path,
            "estimator_options.baseline_decay",
            &decay,
            rule,
        ));
    }
    if let Some(coupling) = &options.coupling
        && Coupling::from_name(coupling).is_none()
    {
        let value = format!("{coupling:?}");
        let rule = "known couplings: independent, same";
        return Err(invalid(path, "estimator_options.coupling", &value, rule));
    }
    if let Some([low, high]) = options.lambda_range
        && !(low.is_finite() && high.is_finite() && 0.0 < low && low < high)
    {
        let value = format!("[{low}, {high}]");
        let rule = "must be [min, max] with 0 < min < max, both finite";
        return Err(invalid(
            path,
            "estimator_options.lambda_range",
            &value,
            rule,
        ));
    }
    if let Some(rate) = options.adapt_rate
        && !(rate.is_finite() && rate > 0.0)
    {
        let rule = "must be a finite number greater than 0";
        return Err(invalid(path, "estimator_options.adapt_rate", &rate, rule));
    }
    Ok(())
}

/// Checks that every estimator can run with every K and temperature of the
/// study (ARM and DisARM need binary variables, RLOO two samples, ...).
fn check_estimators_apply(path: &Path, study: &Study) -> Result<(), ConfigError> {
    let temperatures = if study.temperatures.is_empty() {
        vec![1.0]
    } else {
        study.temperatures.clone()
    };
    for (index, name) in study.estimators.iter().enumerate() {
        for &temperature in &temperatures {
            for &k in &study.n_components {
                let built = study.estimator_kind(name, temperature).and_then(|kind| {
                    Estimator::try_new(kind, Study::variables(k), study.n_samples)
                });
                if let Err(err) = built {
                    let field = format!("estimators[{index}]");
                    let rule = format!("cannot run with K = {k}: {err}");
                    return Err(invalid(path, &field, &format!("{name:?}"), &rule));
                }
            }
        }
    }
    Ok(())
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
    if raw.svi.variance_draws == 1 {
        let rule = "must be 0 (off) or at least 2";
        return Err(invalid(path, "svi.variance_draws", &1, rule));
    }
    if !["local", "amortised"].contains(&raw.svi.variational.as_str()) {
        let value = format!("{:?}", raw.svi.variational);
        return Err(invalid(
            path,
            "svi.variational",
            &value,
            "known families: local, amortised",
        ));
    }
    if raw.svi.batch_size == Some(0) {
        return Err(invalid(path, "svi.batch_size", &0, "must be at least 1"));
    }
    // Known limitation: SVI runs diagonal covariances only, because the
    // harness's EM baseline (gmm::fit_em from the shared start) is diagonal.
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
        let mut data = read_columns(&file, &entry.columns).map_err(|source| ConfigError::Data {
            path: path.to_path_buf(),
            field: field.clone(),
            source: Box::new(source),
        })?;
        check_columns_vary(path, &field, &data)?;
        if entry.standardise {
            data.standardise();
        }
        datasets.push(StudyDataset {
            name,
            data,
            standardised: entry.standardise,
        });
    }
    Ok(datasets)
}

/// Refuses a column with the same value in every row: no mixture can be
/// fitted to it (its variance is zero), so the runs would fail later.
fn check_columns_vary(path: &Path, field: &str, data: &Dataset) -> Result<(), ConfigError> {
    for (index, column) in data.points.columns().into_iter().enumerate() {
        let first = column.first().copied().unwrap_or(0.0);
        if column.iter().all(|&value| value == first) {
            let name = data.columns.get(index).map_or("?", String::as_str);
            let rule = "has the same value in every row; choose a column that varies";
            return Err(invalid(
                path,
                &format!("{field}.columns[{index}]"),
                &name,
                rule,
            ));
        }
    }
    Ok(())
}

fn check_components_fit(
    path: &Path,
    n_components: &[usize],
    datasets: &[StudyDataset],
    batch_size: Option<usize>,
) -> Result<(), ConfigError> {
    for dataset in datasets {
        let n_points = dataset.data.points.nrows();
        if let Some(batch) = batch_size.filter(|&b| b > n_points) {
            let rule = format!(
                "must be at most the number of points of data set {:?} ({n_points})",
                dataset.name
            );
            return Err(invalid(path, "svi.batch_size", &batch, &rule));
        }
    }
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
