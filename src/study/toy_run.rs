//! Running a toy study with the harness's store: a staging folder with one
//! part file per finished cell (so a killed run resumes), assembly in grid
//! order, the derived tables, the manifest, and the atomic swap into the
//! output folder. Rows never depend on thread count or completion order.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use super::StudyError;
use super::execute::{Progress, RunOptions, RunOutcome, now_utc};
use super::manifest::{Manifest, WallSummary};
use super::store::{
    StagingState, StoreError, clean_tmp_parts, create_staging, finish, io_context, is_complete,
    is_replaceable, part_path, read_state, remove_dir_if_exists, staging_path, write_atomic,
    write_streamed,
};
use super::toy::{RESULTS_HEADER, TIMINGS_HEADER, ToyPlan};
use super::toy_analysis::build_outputs;

/// The study's name: the stem of its file.
fn name_of(plan: &ToyPlan) -> String {
    (plan.study.source.path.file_stem())
        .map_or_else(|| "study".to_string(), |s| s.to_string_lossy().into_owned())
}

/// Runs (or resumes) the toy study `plan` into `options.out` (the whole
/// grid; `options.shard` must be the whole grid).
///
/// # Errors
///
/// [`StudyError`]: the output folder is not a study output, an interrupted
/// run came from another study file, a cell failed, or a file could not be
/// written.
pub fn run_toy(plan: &ToyPlan, options: &RunOptions<'_>) -> Result<RunOutcome, StudyError> {
    let started = Instant::now();
    let start_time = now_utc();
    if !is_replaceable(&options.out) {
        return Err(StudyError::NotAnOutput(options.out.clone()));
    }
    let staging = staging_path(&options.out);
    let state = StagingState {
        study_hash: plan.study.source.hash.clone(),
        shard: options.shard.label(),
        n_cells: plan.cells.len(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    if options.fresh {
        remove_dir_if_exists(&staging)?;
    }
    match read_state(&staging) {
        Some(found) if found == state && !is_complete(&staging) => clean_tmp_parts(&staging)?,
        Some(found) if found.study_hash != state.study_hash => {
            return Err(StudyError::ResumeMismatch {
                staging,
                what: format!("a different study file (hash {})", found.study_hash),
            });
        }
        _ => {
            remove_dir_if_exists(&staging)?;
            create_staging(&staging, &state)?;
        }
    }
    let (n_resumed, seconds) = run_cells(plan, options, &staging)?;
    (options.progress)(Progress::Finishing);
    build_outputs(&staging, &name_of(plan), plan.cells.len())?;
    let manifest = Manifest {
        kind: "toy".to_string(),
        study_file: plan.study.source.path.display().to_string(),
        study_name: name_of(plan),
        study_hash: plan.study.source.hash.clone(),
        study_text: plan.study.source.text.clone(),
        crate_version: state.crate_version.clone(),
        git_commit: options.git_commit.clone(),
        threads: rayon::current_num_threads(),
        shard: options.shard.label(),
        n_cells: plan.cells.len(),
        n_cells_here: plan.cells.len(),
        n_cells_resumed: n_resumed,
        epsilon: 0.0,
        start_time,
        end_time: now_utc(),
        wall_seconds: started.elapsed().as_secs_f64(),
        cell_wall_seconds: WallSummary::of(&seconds),
    };
    manifest.write(&staging)?;
    finish(&staging, &options.out)?;
    Ok(RunOutcome {
        out: options.out.clone(),
        n_cells: plan.cells.len(),
        n_resumed,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs the missing cells, then assembles `results.csv` and `timings.csv`
/// in grid order; returns the resumed count and each cell's wall time.
fn run_cells(
    plan: &ToyPlan,
    options: &RunOptions<'_>,
    staging: &Path,
) -> Result<(usize, Vec<f64>), StudyError> {
    let total = plan.cells.len();
    let pending: Vec<usize> = (0..total)
        .filter(|&i| !part_path(staging, i, "results").exists())
        .collect();
    let n_resumed = total - pending.len();
    (options.progress)(Progress::Started {
        total,
        done: n_resumed,
    });
    let done = AtomicUsize::new(n_resumed);
    pending
        .par_iter()
        .try_for_each(|&index| -> Result<(), StudyError> {
            let rows = plan.run(index)?;
            write_atomic(
                &part_path(staging, index, "timings"),
                rows.timings.as_bytes(),
            )?;
            write_atomic(
                &part_path(staging, index, "results"),
                rows.results.as_bytes(),
            )?;
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            (options.progress)(Progress::CellDone { done, total });
            Ok(())
        })?;
    concatenate(staging, total, "results", RESULTS_HEADER)?;
    concatenate(staging, total, "timings", TIMINGS_HEADER)?;
    let mut seconds = Vec::with_capacity(total);
    for index in 0..total {
        let path = part_path(staging, index, "timings");
        let text = io_context(fs::read_to_string(&path), "cannot read", &path)?;
        let last = text.trim_end().rsplit(',').next();
        seconds.push(last.and_then(|s| s.parse().ok()).unwrap_or(f64::NAN));
    }
    Ok((n_resumed, seconds))
}

fn concatenate(staging: &Path, total: usize, kind: &str, header: &str) -> Result<(), StoreError> {
    let target = staging.join(format!("{kind}.csv"));
    write_streamed(&target, |out| {
        io_context(writeln!(out, "{header}"), "cannot write", &target)?;
        for index in 0..total {
            let path = part_path(staging, index, kind);
            let bytes = io_context(fs::read(&path), "cannot read", &path)?;
            io_context(out.write_all(&bytes), "cannot write", &target)?;
        }
        Ok::<(), StoreError>(())
    })
}
