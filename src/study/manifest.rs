//! `manifest.json`: what produced an output folder (study file and hash,
//! crate version, git commit, threads, shard, times, a summary of the
//! cells' wall times). `study report` and `study merge` read it back.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::stats::mean;
use super::store::{StoreError, write_atomic};

/// Summary of the cells' wall times (seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WallSummary {
    /// Fastest cell.
    pub min: f64,
    /// Median cell.
    pub median: f64,
    /// Mean over cells.
    pub mean: f64,
    /// Slowest cell.
    pub max: f64,
}

impl WallSummary {
    /// The summary of `seconds` (all zero when empty).
    pub fn of(seconds: &[f64]) -> Self {
        if seconds.is_empty() {
            return Self::default();
        }
        let mut sorted = seconds.to_vec();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            0.5 * (sorted[middle - 1] + sorted[middle])
        } else {
            sorted[middle]
        };
        Self {
            min: sorted[0],
            median,
            mean: mean(&sorted),
            max: sorted[sorted.len() - 1],
        }
    }
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Study kind (`svi`).
    pub kind: String,
    /// The study file as given on the command line.
    pub study_file: String,
    /// The study's name (the file stem), used as the report title.
    pub study_name: String,
    /// FNV-1a-64 of the study file's text.
    pub study_hash: String,
    /// The study file's text.
    pub study_text: String,
    /// Version of this crate.
    pub crate_version: String,
    /// Git commit of the source tree, when known.
    pub git_commit: Option<String>,
    /// Rayon worker threads (merged shards: the most any shard used).
    pub threads: usize,
    /// Shard label such as `1/1`, or `merged` for merged shards.
    pub shard: String,
    /// Cells in the whole grid.
    pub n_cells: usize,
    /// Cells in this folder.
    pub n_cells_here: usize,
    /// Cells taken from an interrupted earlier run.
    pub n_cells_resumed: usize,
    /// Per-point distance to EM that counts as reached.
    pub epsilon: f64,
    /// Start time (UTC, RFC 3339; merged shards: the earliest shard's).
    pub start_time: String,
    /// End time (UTC, RFC 3339; merged shards: the merge's).
    pub end_time: String,
    /// Wall time of the whole command (seconds; merged shards: the sum
    /// of the shards' wall times, the compute the study took).
    pub wall_seconds: f64,
    /// Wall times of the cells.
    pub cell_wall_seconds: WallSummary,
    /// Merged shards only: how each shard ran, in the order given to
    /// `study merge` (absent otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRun>,
}

/// How one shard of a merged folder ran (from its own manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    /// Shard label such as `2/4`.
    pub shard: String,
    /// Rayon worker threads.
    pub threads: usize,
    /// Cells the shard computed.
    pub n_cells_here: usize,
    /// Start time (UTC, RFC 3339).
    pub start_time: String,
    /// End time (UTC, RFC 3339).
    pub end_time: String,
    /// Wall time of the shard's command (seconds).
    pub wall_seconds: f64,
    /// Git commit of the source tree, when known.
    pub git_commit: Option<String>,
}

impl ShardRun {
    /// The run recorded in a shard's manifest.
    pub fn of(manifest: &Manifest) -> Self {
        Self {
            shard: manifest.shard.clone(),
            threads: manifest.threads,
            n_cells_here: manifest.n_cells_here,
            start_time: manifest.start_time.clone(),
            end_time: manifest.end_time.clone(),
            wall_seconds: manifest.wall_seconds,
            git_commit: manifest.git_commit.clone(),
        }
    }
}

impl Manifest {
    /// Writes the manifest to `dir/manifest.json`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] naming the file.
    pub fn write(&self, dir: &Path) -> Result<(), StoreError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        write_atomic(&dir.join("manifest.json"), text.as_bytes())
    }

    /// Reads `dir/manifest.json`.
    ///
    /// # Errors
    ///
    /// A message naming the file.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join("manifest.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        serde_json::from_str(&text).map_err(|err| format!("{} is not valid: {err}", path.display()))
    }
}
