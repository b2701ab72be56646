//! Reading numeric data sets from CSV files (header row, columns by name).

use std::path::{Path, PathBuf};

use ndarray::Array2;

/// A numeric data set: `points` has one row per point, one column per
/// selected CSV column, in the order the columns were asked for.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The file the data came from.
    pub path: PathBuf,
    /// The selected column names.
    pub columns: Vec<String>,
    /// The points, `N × D`.
    pub points: Array2<f64>,
}

/// Why a data file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read data file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Reads the named numeric `columns` of a CSV file with a header row.
///
/// # Errors
///
/// [`DataError`] naming the file (and the row and column where one is at
/// fault) when the file is unreadable, a column is missing, or a value is
/// not a finite number.
pub fn read_columns(path: &Path, columns: &[String]) -> Result<Dataset, DataError> {
    Err(DataError::Io {
        path: path.to_path_buf(),
        reason: format!("not yet implemented ({columns:?})"),
    })
}
