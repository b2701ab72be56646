//! Running the study kinds added for the write-up (`toy` and `suite`)
//! through one entry point the `study` binary calls, with the same run
//! options as SVI studies.

use std::path::Path;
use std::time::Instant;

use super::StudyError;
use super::config::{ConfigError, load_study};
use super::execute::{RunOptions, RunOutcome, run};
use super::suite::{SuitePart, declared_kind, load_suite, run_suite};
use super::toy::{ToyPlan, parse_toy_study};
use super::toy_run::run_toy;

/// The kind of the study file at `path` when it is one this module runs
/// (`toy` or `suite`); `None` for every other kind or an unreadable file
/// (the SVI loader then reports the problem).
pub fn extra_kind(path: &Path) -> Option<&'static str> {
    let text = std::fs::read_to_string(path).ok()?;
    match declared_kind(&text)?.as_str() {
        "toy" => Some("toy"),
        "suite" => Some("suite"),
        _ => None,
    }
}

/// Reads and validates a toy study file.
///
/// # Errors
///
/// [`ConfigError`] naming the field, the value and the rule.
pub fn load_toy(path: &Path) -> Result<ToyPlan, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Io {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    Ok(ToyPlan::new(parse_toy_study(path, &text)?))
}

/// Validates the toy or suite file at `path` (every part of a suite too);
/// returns its cell count.
///
/// # Errors
///
/// [`StudyError::Config`] for the first problem found.
pub fn validate_extra(path: &Path) -> Result<usize, StudyError> {
    if extra_kind(path) == Some("toy") {
        return Ok(load_toy(path)?.cells.len());
    }
    let suite = load_suite(path)?;
    let mut n_cells = 0;
    for part in &suite.parts {
        n_cells += match part.kind.as_str() {
            "toy" => load_toy(&part.file)?.cells.len(),
            _ => super::grid::expand(&load_study(&part.file)?).len(),
        };
    }
    Ok(n_cells)
}

/// Runs the toy or suite study at `path` with `options`.
///
/// # Errors
///
/// [`StudyError`] from validation, a part or the file system.
pub fn run_extra(path: &Path, options: &RunOptions<'_>) -> Result<RunOutcome, StudyError> {
    let started = Instant::now();
    if extra_kind(path) == Some("toy") {
        return run_toy(&load_toy(path)?, options);
    }
    let suite = load_suite(path)?;
    // Validate every part before running any.
    validate_extra(path)?;
    let mut n_cells = 0;
    let mut run_part = |part: &SuitePart, dir: &Path| -> Result<(), StudyError> {
        let part_options = RunOptions {
            out: dir.to_path_buf(),
            shard: options.shard,
            fresh: options.fresh,
            git_commit: options.git_commit.clone(),
            progress: options.progress,
        };
        let outcome = match part.kind.as_str() {
            "toy" => run_toy(&load_toy(&part.file)?, &part_options)?,
            _ => run(&load_study(&part.file)?, &part_options)?,
        };
        n_cells += outcome.n_cells;
        Ok(())
    };
    let outcome = run_suite(&suite, &options.out, &mut run_part)?;
    Ok(RunOutcome {
        out: options.out.clone(),
        n_cells,
        n_resumed: outcome.n_resumed,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}
