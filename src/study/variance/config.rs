//! Reading and checking a variance study file (schema in the parent
//! module's docs).

use std::path::Path;

use serde::Deserialize;

use crate::estimator::{ESTIMATOR_NAMES, Estimator, EstimatorKind};
use crate::rng::fnv1a64;

use super::super::config::{
    ConfigError, EstimatorOptions, MAX_LOGITS, StudySource, check_estimator_options, check_list,
    check_positive, invalid,
};
use super::{ProblemSpec, VarianceStudy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVarianceStudy {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    master_seed: u64,
    seeds: Vec<u64>,
    estimators: Vec<String>,
    #[serde(default)]
    temperatures: Vec<f64>,
    n_draws: usize,
    #[serde(default)]
    confirm_draws: Vec<usize>,
    #[serde(default = "one")]
    n_samples: usize,
    #[serde(default = "one_f64")]
    eta: f64,
    problems: Vec<RawProblem>,
    #[serde(default)]
    estimator_options: EstimatorOptions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProblem {
    kind: String,
    name: Option<String>,
    target: Option<f64>,
    phi: Option<f64>,
    n_bits: Option<usize>,
    n_classes: Option<usize>,
    file: Option<String>,
    columns: Option<Vec<String>>,
    n_components: Option<usize>,
    at: Option<String>,
    uniform_mix: Option<f64>,
}

fn one() -> usize {
    1
}
fn one_f64() -> f64 {
    1.0
}

/// The most draws a cell may make (`n_draws`, `confirm_draws`): a billion
/// estimates take minutes on the smallest problem and days on a mixture.
const MAX_DRAWS: usize = 1_000_000_000;

/// The problem kinds of variance studies.
pub const PROBLEM_KINDS: &[&str] = &[
    "bit",
    "bits",
    "categorical-linear",
    "categorical-target",
    "mixture",
];

/// Parses and validates the text of a variance study file.
///
/// # Errors
///
/// [`ConfigError`] naming the field, the value and the rule.
pub fn parse_variance_study(path: &Path, text: &str) -> Result<VarianceStudy, ConfigError> {
    let raw: RawVarianceStudy = toml::from_str(text).map_err(|err| ConfigError::Parse {
        path: path.to_path_buf(),
        message: err.to_string().trim_end().to_string(),
    })?;
    check_list(path, "seeds", &raw.seeds)?;
    check_list(path, "estimators", &raw.estimators)?;
    let mut uses_temperature = false;
    for (index, name) in raw.estimators.iter().enumerate() {
        let field = format!("estimators[{index}]");
        let known: Vec<&str> = ESTIMATOR_NAMES
            .iter()
            .copied()
            .filter(|n| *n != "exact")
            .collect();
        let kind = EstimatorKind::from_name(name, 1.0, 1.0)
            .ok()
            .filter(|_| name != "exact");
        let Some(kind) = kind else {
            let rule = format!("estimators with a variance: {}", known.join(", "));
            return Err(invalid(path, &field, &format!("{name:?}"), &rule));
        };
        uses_temperature |= kind.uses_temperature();
    }
    if uses_temperature {
        check_list(path, "temperatures", &raw.temperatures)?;
    }
    check_positive(path, "temperatures", &raw.temperatures)?;
    if !(2..=MAX_DRAWS).contains(&raw.n_draws) {
        let rule = format!("must be from 2 to {MAX_DRAWS}");
        return Err(invalid(path, "n_draws", &raw.n_draws, &rule));
    }
    // An empty list is allowed and means no confirmation draws.
    let mut previous = raw.n_draws;
    for (index, &count) in raw.confirm_draws.iter().enumerate() {
        let field = format!("confirm_draws[{index}]");
        if count <= previous {
            let rule = "must increase, each above n_draws and the count before it";
            return Err(invalid(path, &field, &count, rule));
        }
        if count > MAX_DRAWS {
            return Err(invalid(
                path,
                &field,
                &count,
                &format!("must be at most {MAX_DRAWS}"),
            ));
        }
        previous = count;
    }
    if raw.n_samples == 0 {
        return Err(invalid(path, "n_samples", &0, "must be at least 1"));
    }
    if !raw.eta.is_finite() {
        return Err(invalid(path, "eta", &raw.eta, "must be a finite number"));
    }
    check_estimator_options(path, &raw.estimator_options)?;
    let problems = problems(path, &raw.problems)?;
    let study = VarianceStudy {
        source: StudySource {
            path: path.to_path_buf(),
            text: text.to_string(),
            hash: format!("{:016x}", fnv1a64(text.as_bytes())),
        },
        master_seed: raw.master_seed,
        seeds: raw.seeds,
        estimators: raw.estimators,
        temperatures: if uses_temperature {
            raw.temperatures
        } else {
            Vec::new()
        },
        n_draws: raw.n_draws,
        confirm_draws: raw.confirm_draws,
        n_samples: raw.n_samples,
        eta: raw.eta,
        problems,
        estimator_options: raw.estimator_options,
    };
    check_estimators_apply(path, &study)?;
    Ok(study)
}

fn problems(path: &Path, raw: &[RawProblem]) -> Result<Vec<(String, ProblemSpec)>, ConfigError> {
    if raw.is_empty() {
        return Err(invalid(
            path,
            "problems",
            &"[]",
            "must hold at least one problem",
        ));
    }
    let mut found: Vec<(String, ProblemSpec)> = Vec::new();
    for (index, entry) in raw.iter().enumerate() {
        let field = |name: &str| format!("problems[{index}].{name}");
        let target = || {
            let value = entry.target.unwrap_or(f64::NAN);
            if value.is_finite() {
                Ok(value)
            } else {
                Err(invalid(
                    path,
                    &field("target"),
                    &value,
                    "must be given, a finite number",
                ))
            }
        };
        let classes = || match entry.n_classes {
            Some(n) if (2..=MAX_LOGITS).contains(&n) => Ok(n),
            Some(n) => {
                let rule = format!("must be from 2 to {MAX_LOGITS}");
                Err(invalid(path, &field("n_classes"), &n, &rule))
            }
            None => Err(invalid(
                path,
                &field("n_classes"),
                &"(missing)",
                "must be given, at least 2",
            )),
        };
        let spec = match entry.kind.as_str() {
            "bit" => ProblemSpec::Bit {
                target: target()?,
                phi: entry.phi.filter(|p| p.is_finite()).unwrap_or(0.0),
            },
            "bits" => match entry.n_bits {
                Some(n_bits) if (1..=MAX_LOGITS).contains(&n_bits) => ProblemSpec::Bits {
                    n_bits,
                    target: target()?,
                },
                other => {
                    let value = other.map_or("(missing)".to_string(), |n| n.to_string());
                    let rule = format!("must be given, from 1 to {MAX_LOGITS}");
                    return Err(invalid(path, &field("n_bits"), &value, &rule));
                }
            },
            "categorical-linear" => ProblemSpec::CategoricalLinear {
                n_classes: classes()?,
            },
            "categorical-target" => ProblemSpec::CategoricalTarget {
                n_classes: classes()?,
            },
            "mixture" => super::gmm_problem::parse_mixture(
                path,
                entry.file.as_deref(),
                entry.columns.as_deref(),
                entry.n_components,
                entry.at.as_deref(),
                entry.uniform_mix,
            )
            .map(|spec| ProblemSpec::Mixture(Box::new(spec)))
            .map_err(|(name, value, rule)| invalid(path, &field(name), &value, &rule))?,
            other => {
                let rule = format!("known problem kinds: {}", PROBLEM_KINDS.join(", "));
                return Err(invalid(path, &field("kind"), &format!("{other:?}"), &rule));
            }
        };
        let name = entry.name.clone().unwrap_or_else(|| spec.default_name());
        if found.iter().any(|(seen, _)| *seen == name) {
            let rule = "repeats an earlier problem's name; give each a distinct name";
            return Err(invalid(path, &field("name"), &format!("{name:?}"), rule));
        }
        found.push((name, spec));
    }
    Ok(found)
}

fn check_estimators_apply(path: &Path, study: &VarianceStudy) -> Result<(), ConfigError> {
    let temperatures = if study.temperatures.is_empty() {
        vec![1.0]
    } else {
        study.temperatures.clone()
    };
    for (index, name) in study.estimators.iter().enumerate() {
        let mut last_error = None;
        let mut runs_somewhere = false;
        for (problem, spec) in &study.problems {
            let variables = spec.variables();
            let mut fits = true;
            for &temperature in &temperatures {
                let built = study
                    .kind(name, temperature)
                    .and_then(|kind| Estimator::try_new(kind, variables, study.samples_for(name)));
                if let Err(err) = built {
                    fits = false;
                    last_error = Some(format!("cannot run on problem {problem:?}: {err}"));
                }
            }
            runs_somewhere |= fits;
        }
        if let (false, Some(rule)) = (runs_somewhere, last_error) {
            return Err(invalid(
                path,
                &format!("estimators[{index}]"),
                &format!("{name:?}"),
                &rule,
            ));
        }
    }
    Ok(())
}
