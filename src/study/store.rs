//! The output folder's life: a staging folder beside it that holds one
//! part file per finished cell, resume after a crash, assembly in grid
//! order, and the final swap that replaces the folder whole.
//!
//! ```text
//! reports/.NAME.partial/          staging folder of reports/NAME
//!     state.json                  study hash, shard, cell count
//!     parts/00000042.results.csv  rows of cell 42 (written atomically)
//!     parts/00000042.timings.csv
//!     complete                    every output written; only the swap is left
//! ```
//!
//! Every file is written to a `.tmp` name and renamed, so a crash (even
//! `kill -9`) never leaves a torn part: a cell is done exactly when its
//! results part exists. The swap renames the old folder aside, renames the
//! staging folder in, and removes the old one, so a reader sees the old
//! folder, then briefly none, then the new one, and never half of one.

// Known limitation: one part file per cell makes a study of 10^5 tiny cells
// spend most of its wall time creating, reading and deleting files, because
// each cell is written atomically on its own.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A file-system operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct StoreError {
    /// What was being done (`cannot write`, `cannot rename`, ...).
    pub action: &'static str,
    /// The file or folder.
    pub path: PathBuf,
    /// The operating system's error.
    pub source: io::Error,
}

/// Wraps an I/O result with the action and path.
pub fn io_context<T>(
    result: io::Result<T>,
    action: &'static str,
    path: &Path,
) -> Result<T, StoreError> {
    result.map_err(|source| StoreError {
        action,
        path: path.to_path_buf(),
        source,
    })
}

/// What the staging folder was started for; a resume must match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagingState {
    /// Hash of the study file's text.
    pub study_hash: String,
    /// Shard label such as `1/1`.
    pub shard: String,
    /// Cells in the whole grid.
    pub n_cells: usize,
    /// Crate version that started the run.
    pub crate_version: String,
}

/// A sibling of `out` named `.NAME.SUFFIX`.
pub fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let parent = out.parent().unwrap_or(Path::new(""));
    parent.join(format!(".{name}.{suffix}"))
}

/// The staging folder of the output folder `out`.
pub fn staging_path(out: &Path) -> PathBuf {
    sibling(out, "partial")
}

/// The part file of cell `index` (`kind` is `results` or `timings`).
pub fn part_path(staging: &Path, index: usize, kind: &str) -> PathBuf {
    staging.join("parts").join(format!("{index:08}.{kind}.csv"))
}

/// Writes `bytes` to `path` atomically (a `.tmp` file, then a rename).
///
/// # Errors
///
/// [`StoreError`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = tmp_path(path);
    io_context(fs::write(&tmp, bytes), "cannot write", &tmp)?;
    io_context(fs::rename(&tmp, path), "cannot rename into place", path)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Creates `path` through a `.tmp` file that is renamed when `fill`
/// succeeds, for files written line by line.
///
/// # Errors
///
/// [`StoreError`] naming the file, or the error of `fill`.
pub fn write_streamed<E: From<StoreError>>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<fs::File>) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = tmp_path(path);
    let file = io_context(fs::File::create(&tmp), "cannot create", &tmp)?;
    let mut writer = BufWriter::new(file);
    fill(&mut writer)?;
    io_context(writer.flush(), "cannot write", &tmp)?;
    io_context(fs::rename(&tmp, path), "cannot rename into place", path)?;
    Ok(())
}

/// Whether `out` may be replaced: it is absent, empty, or a previous study
/// output (it holds a `manifest.json`).
pub fn is_replaceable(out: &Path) -> bool {
    if !out.exists() {
        return true;
    }
    if out.join("manifest.json").is_file() {
        return true;
    }
    fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_none())
}

/// Reads the state of a staging folder, `None` when it has none (it was
/// killed before the state was written, so it holds no finished cell).
pub fn read_state(staging: &Path) -> Option<StagingState> {
    let text = fs::read_to_string(staging.join("state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Creates a fresh staging folder with its state file.
///
/// # Errors
///
/// [`StoreError`] naming the folder.
pub fn create_staging(staging: &Path, state: &StagingState) -> Result<(), StoreError> {
    io_context(
        fs::create_dir_all(staging.join("parts")),
        "cannot create",
        staging,
    )?;
    let text = serde_json::to_string_pretty(state).unwrap_or_default();
    write_atomic(&staging.join("state.json"), text.as_bytes())
}

/// Removes a folder and everything in it, if it exists.
///
/// # Errors
///
/// [`StoreError`] naming the folder.
pub fn remove_dir_if_exists(path: &Path) -> Result<(), StoreError> {
    match fs::remove_dir_all(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(StoreError {
            action: "cannot remove",
            path: path.to_path_buf(),
            source: err,
        }),
        _ => Ok(()),
    }
}

/// Finishes a staging folder: marks it complete, drops the parts and the
/// state, and swaps it in place of `out`.
///
/// # Errors
///
/// [`StoreError`] naming the file or folder.
pub fn finish(staging: &Path, out: &Path) -> Result<(), StoreError> {
    write_atomic(&staging.join("complete"), b"")?;
    remove_dir_if_exists(&staging.join("parts"))?;
    let state = staging.join("state.json");
    if state.exists() {
        io_context(fs::remove_file(&state), "cannot remove", &state)?;
    }
    swap_in(staging, out)?;
    let complete = out.join("complete");
    io_context(fs::remove_file(&complete), "cannot remove", &complete)
}

/// Replaces `out` by `staging` (see the module docs).
fn swap_in(staging: &Path, out: &Path) -> Result<(), StoreError> {
    if out.exists() {
        let old = sibling(out, "old");
        remove_dir_if_exists(&old)?;
        io_context(fs::rename(out, &old), "cannot move aside", out)?;
        io_context(fs::rename(staging, out), "cannot rename into place", out)?;
        remove_dir_if_exists(&old)
    } else {
        io_context(fs::rename(staging, out), "cannot rename into place", out)
    }
}

/// Whether a staging folder has written every output and only awaits the
/// swap.
pub fn is_complete(staging: &Path) -> bool {
    staging.join("complete").exists()
}

/// Removes leftover `.tmp` files of parts that a crash interrupted.
///
/// # Errors
///
/// [`StoreError`] naming the folder.
pub fn clean_tmp_parts(staging: &Path) -> Result<(), StoreError> {
    let parts = staging.join("parts");
    let entries = io_context(fs::read_dir(&parts), "cannot list", &parts)?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "tmp") {
            io_context(fs::remove_file(&path), "cannot remove", &path)?;
        }
    }
    Ok(())
}
