//! Running a suite file through the harness: every part is loaded with
//! [`load_plan`] (any study kind but `suite`) and run with [`run`] and the
//! caller's options, into `OUT/<part name>/`.

use std::path::Path;
use std::time::Instant;

use super::StudyError;
use super::execute::{RunOptions, RunOutcome, run};
use super::plan::load_plan;
use super::suite::{SuitePart, declared_kind, load_suite, run_suite};

/// Whether the study file at `path` declares `kind = "suite"` (an
/// unreadable file is not a suite; the plan loader then reports it).
pub fn is_suite(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| declared_kind(&text))
        .is_some_and(|kind| kind == "suite")
}

/// Validates the suite file at `path` and every part; returns the parts'
/// total cell count.
///
/// # Errors
///
/// [`StudyError::Config`] for the first problem found.
pub fn validate_suite_file(path: &Path) -> Result<usize, StudyError> {
    let suite = load_suite(path)?;
    let mut n_cells = 0;
    for part in &suite.parts {
        n_cells += load_plan(&part.file)?.n_cells();
    }
    Ok(n_cells)
}

/// Runs the suite at `path` with `options` (its `out` is the suite's
/// folder; each part gets the same shard, fresh flag and progress).
///
/// # Errors
///
/// [`StudyError`] from validation (every part is checked before any
/// runs), a part or the file system.
pub fn run_suite_file(path: &Path, options: &RunOptions<'_>) -> Result<RunOutcome, StudyError> {
    let started = Instant::now();
    let suite = load_suite(path)?;
    validate_suite_file(path)?;
    let mut n_cells = 0;
    let mut run_part = |part: &SuitePart, dir: &Path| -> Result<(), StudyError> {
        let part_options = RunOptions {
            out: dir.to_path_buf(),
            shard: options.shard,
            fresh: options.fresh,
            git_commit: options.git_commit.clone(),
            progress: options.progress,
        };
        n_cells += run(load_plan(&part.file)?.as_ref(), &part_options)?.n_cells;
        Ok(())
    };
    let outcome = run_suite(&suite, &options.out, &mut run_part)?;
    Ok(RunOutcome {
        out: options.out.clone(),
        n_cells,
        n_resumed: outcome.n_resumed,
        wall_seconds: started.elapsed().as_secs_f64(),
        removed_parts: outcome.removed_parts,
    })
}
