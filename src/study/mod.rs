//! The study harness: study files, grids, the parallel runner, statistics,
//! figures and reports. The only layer of the crate that touches files,
//! threads and the clock.
//!
//! Flow: [`config`] turns a study file into a [`Study`]; [`grid`] expands it
//! into cells in a fixed order; [`execute`] runs the cells with rayon,
//! writing one part file per finished cell through [`store`] (which also
//! resumes and swaps folders); [`summary`], [`tables`], [`figures`] and
//! [`report`] turn `results.csv` and `timings.csv` into the derived files;
//! [`mod@merge`] joins shard outputs.

pub mod analyse;
pub mod config;
pub mod densities;
pub mod execute;
pub mod figures;
pub mod fits;
pub mod format;
pub mod grid;
pub mod manifest;
pub mod merge;
pub mod plan;
pub mod plots;
pub mod report;
pub mod report_glance;
pub mod runner;
pub mod stats;
pub mod store;
pub mod suite;
pub mod suite_findings;
pub mod suite_report;
pub mod suite_run;
pub mod suite_sections;
pub mod summary;
pub mod tables;
pub mod toy;
pub mod toy_analysis;
pub mod variance;

use std::path::PathBuf;

pub use config::{ConfigError, Study, load_study, parse_study};
pub use execute::{Progress, RunOptions, RunOutcome, run};
pub use grid::{Cell, Method, Shard, cell_key, expand};
pub use merge::merge;
pub use plan::{Plan, SviPlan, load_plan};

/// Why a study command failed.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The study file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file or folder could not be read or written.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A cell failed.
    #[error(transparent)]
    Cell(#[from] runner::CellError),
    /// A results table could not be read.
    #[error(transparent)]
    Results(#[from] summary::TableError),
    /// A derived table could not be read back.
    #[error("{0}")]
    Table(String),
    /// A figure could not be drawn.
    #[error(transparent)]
    Plot(#[from] plots::PlotError),
    /// The output folder exists and is not a study output.
    #[error(
        "output folder {0} exists and is not a study output (no manifest.json); \
         choose another --out"
    )]
    NotAnOutput(PathBuf),
    /// An interrupted run was started from another study file or shard.
    #[error(
        "{staging} holds an unfinished run of {what}; run with --fresh to discard it and start over"
    )]
    ResumeMismatch {
        /// The staging folder.
        staging: PathBuf,
        /// What differs.
        what: String,
    },
    /// Shards cannot be merged.
    #[error("cannot merge: {0}")]
    Merge(String),
    /// A folder's manifest is missing or unreadable.
    #[error("{0}")]
    Manifest(String),
}

impl StudyError {
    /// Whether the error is the user's input (exit status 2) rather than a
    /// failure while running (exit status 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StudyError::Config(_)
                | StudyError::NotAnOutput(_)
                | StudyError::ResumeMismatch { .. }
                | StudyError::Merge(_)
                | StudyError::Manifest(_)
                | StudyError::Results(_)
                | StudyError::Table(_)
        )
    }
}
