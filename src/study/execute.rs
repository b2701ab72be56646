//! Running a study: pick the shard's cells, resume or start the staging
//! folder, run the missing cells in parallel (each written as part files
//! the moment it finishes, the results part last, so that its presence
//! marks the cell done), assemble the parts in grid order, write the data
//! tables, derive the tables, figures and report, and swap the folder in.
//!
//! Rows never depend on completion order or thread count: each cell's
//! stream comes from its key, and assembly follows grid order.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use super::StudyError;
use super::analyse::build_for_kind;
use super::format::utc_timestamp;
use super::grid::Shard;
use super::manifest::{Manifest, WallSummary};
use super::plan::Plan;
use super::store::{
    StagingState, StoreError, clean_tmp_parts, create_staging, finish, io_context, is_complete,
    is_replaceable, part_path, read_state, remove_dir_if_exists, staging_path, write_atomic,
    write_streamed,
};

/// Progress events of a run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The run starts: `total` cells in this shard, `done` already finished
    /// by an interrupted earlier run.
    Started {
        /// Cells in this shard.
        total: usize,
        /// Cells taken from the interrupted run.
        done: usize,
    },
    /// One more cell finished.
    CellDone {
        /// Cells finished so far (including resumed ones).
        done: usize,
        /// Cells in this shard.
        total: usize,
    },
    /// Every cell is done; tables, figures and the report are being built.
    Finishing,
}

/// How to run a study.
pub struct RunOptions<'a> {
    /// The output folder.
    pub out: PathBuf,
    /// Which shard of the grid to run.
    pub shard: Shard,
    /// Discard an interrupted run instead of resuming it.
    pub fresh: bool,
    /// Git commit recorded in the manifest.
    pub git_commit: Option<String>,
    /// Receives progress events (from several threads).
    pub progress: &'a (dyn Fn(Progress) + Sync),
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The output folder.
    pub out: PathBuf,
    /// Cells in this shard.
    pub n_cells: usize,
    /// Cells taken from an interrupted earlier run.
    pub n_resumed: usize,
    /// Wall time of the run (seconds).
    pub wall_seconds: f64,
    /// Suites only: folders of parts the suite no longer lists, removed.
    pub removed_parts: Vec<String>,
}

/// Runs (or resumes) the study `plan` into `options.out`.
///
/// # Errors
///
/// [`StudyError`]: the output folder is not a study output, an interrupted
/// run in the staging folder came from another study file or shard, a cell
/// failed, or a file could not be written.
pub fn run(plan: &dyn Plan, options: &RunOptions<'_>) -> Result<RunOutcome, StudyError> {
    let started = Instant::now();
    let start_time = now_utc();
    if !is_replaceable(&options.out) {
        return Err(StudyError::NotAnOutput(options.out.clone()));
    }
    let staging = staging_path(&options.out);
    let state = StagingState {
        study_hash: plan.source().hash.clone(),
        shard: options.shard.label(),
        n_cells: plan.n_cells(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let created = prepare_staging(&staging, &state, options.fresh)?;
    if is_complete(&staging) {
        finish(&staging, &options.out)?;
        return Ok(RunOutcome {
            out: options.out.clone(),
            n_cells: 0,
            n_resumed: 0,
            wall_seconds: started.elapsed().as_secs_f64(),
            removed_parts: Vec::new(),
        });
    }
    let result = run_and_write(plan, options, &staging, &state, started, start_time);
    let (cells, n_resumed) = match result {
        Ok(counts) => counts,
        Err(err) => {
            if created {
                let _ = remove_dir_if_exists(&staging);
            }
            return Err(err);
        }
    };
    finish(&staging, &options.out)?;
    Ok(RunOutcome {
        out: options.out.clone(),
        n_cells: cells,
        n_resumed,
        wall_seconds: started.elapsed().as_secs_f64(),
        removed_parts: Vec::new(),
    })
}

/// Runs the cells, derives the outputs and writes the manifest into the
/// staging folder; returns the shard's cell count and the resumed count.
fn run_and_write(
    plan: &dyn Plan,
    options: &RunOptions<'_>,
    staging: &Path,
    state: &StagingState,
    started: Instant,
    start_time: String,
) -> Result<(usize, usize), StudyError> {
    let (cells, n_resumed, cell_seconds) = run_in(plan, options, staging)?;
    (options.progress)(Progress::Finishing);
    let whole = options.shard.count == 1;
    if whole {
        build_for_kind(
            plan.kind(),
            staging,
            &plan.name(),
            plan.epsilon(),
            state.n_cells,
        )?;
    }
    let manifest = Manifest {
        kind: plan.kind().to_string(),
        study_file: plan.source().path.display().to_string(),
        study_name: plan.name(),
        study_hash: plan.source().hash.clone(),
        study_text: plan.source().text.clone(),
        crate_version: state.crate_version.clone(),
        git_commit: options.git_commit.clone(),
        threads: rayon::current_num_threads(),
        shard: options.shard.label(),
        n_cells: state.n_cells,
        n_cells_here: cells,
        n_cells_resumed: n_resumed,
        epsilon: plan.epsilon(),
        start_time,
        end_time: now_utc(),
        wall_seconds: started.elapsed().as_secs_f64(),
        cell_wall_seconds: WallSummary::of(&cell_seconds),
        shards: Vec::new(),
    };
    manifest.write(staging)?;
    Ok((cells, n_resumed))
}

/// The current time as an RFC 3339 UTC timestamp.
pub fn now_utc() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_timestamp(seconds)
}

/// Starts or resumes the staging folder; returns whether it was created.
fn prepare_staging(staging: &Path, state: &StagingState, fresh: bool) -> Result<bool, StudyError> {
    if fresh {
        remove_dir_if_exists(staging)?;
    }
    if staging.exists() {
        if is_complete(staging) {
            return Ok(false);
        }
        match read_state(staging) {
            Some(found) if found == *state => {
                clean_tmp_parts(staging)?;
                return Ok(false);
            }
            Some(found) => {
                let what = if found.study_hash != state.study_hash {
                    format!(
                        "a different study file (hash {}, this file has {})",
                        found.study_hash, state.study_hash
                    )
                } else if found.shard != state.shard {
                    format!("shard {} (this run is shard {})", found.shard, state.shard)
                } else {
                    format!("crate version {}", found.crate_version)
                };
                return Err(StudyError::ResumeMismatch {
                    staging: staging.to_path_buf(),
                    what,
                });
            }
            None => remove_dir_if_exists(staging)?,
        }
    }
    create_staging(staging, state)?;
    Ok(true)
}

/// Runs the shard's missing cells and assembles the tables; returns the
/// shard's cell count, the resumed count and every cell's wall time.
fn run_in(
    plan: &dyn Plan,
    options: &RunOptions<'_>,
    staging: &Path,
) -> Result<(usize, usize, Vec<f64>), StudyError> {
    let cells: Vec<usize> = (0..plan.n_cells())
        .filter(|&index| options.shard.owns_label(&plan.cell_label(index)))
        .collect();
    let pending: Vec<usize> = cells
        .iter()
        .copied()
        .filter(|&index| {
            let done = |kind: &str| part_path(staging, index, kind).exists();
            !(done("results") && (plan.fits_header().is_none() || done("fits")))
        })
        .collect();
    let total = cells.len();
    let n_resumed = total - pending.len();
    (options.progress)(Progress::Started {
        total,
        done: n_resumed,
    });
    let done = AtomicUsize::new(n_resumed);
    pending
        .par_iter()
        .try_for_each(|&index| -> Result<(), StudyError> {
            let rows = plan.run_cell(index)?;
            if plan.fits_header().is_some() {
                write_atomic(&part_path(staging, index, "fits"), rows.fits.as_bytes())?;
            }
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
    let seconds = assemble(staging, &cells, plan.headers())?;
    if let Some(header) = plan.fits_header() {
        concatenate(staging, &cells, "fits", header)?;
    }
    for (name, text) in plan.data_tables() {
        write_atomic(&staging.join(name), text.as_bytes())?;
    }
    Ok((total, n_resumed, seconds))
}

/// Concatenates the part files in grid order into `results.csv` and
/// `timings.csv`; returns each cell's wall time (its last timing).
fn assemble(
    staging: &Path,
    cells: &[usize],
    (results_header, timings_header): (&str, &str),
) -> Result<Vec<f64>, StoreError> {
    concatenate(staging, cells, "results", results_header)?;
    concatenate(staging, cells, "timings", timings_header)?;
    let mut seconds = Vec::with_capacity(cells.len());
    for &index in cells {
        let path = part_path(staging, index, "timings");
        let text = io_context(fs::read_to_string(&path), "cannot read", &path)?;
        let last = text.lines().last().and_then(|line| line.rsplit(',').next());
        seconds.push(last.and_then(|s| s.parse().ok()).unwrap_or(f64::NAN));
    }
    Ok(seconds)
}

fn concatenate(
    staging: &Path,
    cells: &[usize],
    kind: &str,
    header: &str,
) -> Result<(), StoreError> {
    let target = staging.join(format!("{kind}.csv"));
    write_streamed(&target, |out| {
        io_context(writeln!(out, "{header}"), "cannot write", &target)?;
        for &index in cells {
            let path = part_path(staging, index, kind);
            let bytes = io_context(fs::read(&path), "cannot read", &path)?;
            io_context(out.write_all(&bytes), "cannot write", &target)?;
        }
        Ok::<(), StoreError>(())
    })
}
