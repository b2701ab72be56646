//! Reading numeric data sets from CSV files.
//!
//! Two layouts are read:
//!
//! - [`read_columns`]: a header row, then numeric columns chosen by name
//!   (the layout of the shipped data sets in `data/`);
//! - [`read_matrix`]: no header, every column numeric, `nan` and `inf`
//!   accepted as values (the layout of the hostile test cases, whose bad
//!   values the fitting code must itself detect).
//!
//! Rows in error messages are data rows counted from 1 (the header is not
//! a data row) for [`read_columns`], and from 0 for [`read_matrix`], whose
//! files have no header and whose rows index the returned array. Messages
//! also give the line of the file (from 1, as an editor shows it), which
//! differs from the row when the file has blank lines.

use std::fs::File;
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

impl Dataset {
    /// Rescales every column to mean 0 and standard deviation 1, in place:
    ///
    /// ```text
    /// z_nd = (x_nd − mean_d) / sd_d,   sd_d² = Σ_n (x_nd − mean_d)² / N
    /// ```
    ///
    /// Log-densities of `z` differ from those of `x` by `Σ_d log sd_d` per
    /// point, the same for every model, so gaps between methods are kept.
    /// A constant column (sd 0) is only centred.
    pub fn standardise(&mut self) {
        let n_points = self.points.nrows().max(1) as f64;
        for mut column in self.points.columns_mut() {
            let mean = column.sum() / n_points;
            let variance = column.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n_points;
            let sd = if variance > 0.0 { variance.sqrt() } else { 1.0 };
            column.mapv_inplace(|x| (x - mean) / sd);
        }
    }
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
    /// No column was asked for.
    #[error("no columns selected from data file {path}; name at least one column")]
    NoColumns {
        /// The file.
        path: PathBuf,
    },
    /// A column named by the caller is not in the header.
    #[error("data file {path} has no column {column:?}; its columns are: {available}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The header's column names, comma-separated.
        available: String,
    },
    /// A column named by the caller appears more than once in the header.
    #[error(
        "data file {path} has more than one column named {column:?}; rename one so the \
         choice is unambiguous"
    )]
    AmbiguousColumn {
        /// The file.
        path: PathBuf,
        /// The repeated column name.
        column: String,
    },
    /// A row has another number of fields than the header (or, without a
    /// header, than the first row).
    #[error(
        "data file {path}, line {line} (data row {row}): expected {expected} fields, found {found}"
    )]
    ShortRow {
        /// The file.
        path: PathBuf,
        /// The row (see the module docs for how rows are counted).
        row: usize,
        /// The line of the file, from 1.
        line: u64,
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A value is not a number.
    #[error(
        "data file {path}, line {line} (data row {row}), column {column}: {value:?} is not \
         a number; write a decimal number"
    )]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// The row (see the module docs for how rows are counted).
        row: usize,
        /// The line of the file, from 1.
        line: u64,
        /// The column name (or index, for files without a header).
        column: String,
        /// The text found.
        value: String,
    },
    /// A value is a number but not finite.
    #[error(
        "data file {path}, line {line} (data row {row}), column {column}: {value:?} is not \
         finite; only finite numbers are allowed"
    )]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// The row (see the module docs for how rows are counted).
        row: usize,
        /// The line of the file, from 1.
        line: u64,
        /// The column name.
        column: String,
        /// The text found.
        value: String,
    },
    /// The file has no data rows (or no header either).
    #[error("data file {path} has no data rows")]
    Empty {
        /// The file.
        path: PathBuf,
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
    if columns.is_empty() {
        return Err(DataError::NoColumns {
            path: path.to_path_buf(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(open(path)?);
    let header = reader.headers().map_err(|e| io_error(path, &e))?.clone();
    if header.iter().all(|h| h.trim().is_empty()) {
        // No header at all: the file is empty (or blank).
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let indices = column_indices(path, &header, columns)?;

    let mut values = Vec::new();
    let mut n_rows = 0;
    for (row_index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| io_error(path, &e))?;
        let row = row_index + 1;
        let offset = record_offset(&record);
        if record.len() != header.len() {
            // A row of another length is malformed even where the columns
            // asked for happen to exist.
            return Err(DataError::ShortRow {
                path: path.to_path_buf(),
                row,
                line: line_at(path, offset),
                expected: header.len(),
                found: record.len(),
            });
        }
        for (&index, name) in indices.iter().zip(columns) {
            let text = record.get(index).ok_or_else(|| DataError::ShortRow {
                path: path.to_path_buf(),
                row,
                line: line_at(path, offset),
                expected: header.len(),
                found: record.len(),
            })?;
            values.push(parse_finite(path, (row, offset), name, text)?);
        }
        n_rows += 1;
    }
    if n_rows == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let points = Array2::from_shape_vec((n_rows, columns.len()), values)
        .expect("one value per selected column per row");
    Ok(Dataset {
        path: path.to_path_buf(),
        columns: columns.to_vec(),
        points,
    })
}

/// Reads a CSV file without a header in which every field is a number
/// (`nan`, `inf` and `-inf` included); rows count from 0.
///
/// # Errors
///
/// [`DataError`] naming the file, row and column of the first field that
/// is not a number, of a row whose length differs from the first row's,
/// or when the file is unreadable or empty.
pub fn read_matrix(path: &Path) -> Result<Array2<f64>, DataError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(open(path)?);
    let mut values = Vec::new();
    let mut n_cols = None;
    let mut n_rows = 0;
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| io_error(path, &e))?;
        let offset = record_offset(&record);
        let expected = *n_cols.get_or_insert(record.len());
        if record.len() != expected {
            return Err(DataError::ShortRow {
                path: path.to_path_buf(),
                row,
                line: line_at(path, offset),
                expected,
                found: record.len(),
            });
        }
        for (column, text) in record.iter().enumerate() {
            let value = text
                .trim()
                .parse::<f64>()
                .map_err(|_| DataError::NotNumeric {
                    path: path.to_path_buf(),
                    row,
                    line: line_at(path, offset),
                    column: column.to_string(),
                    value: text.to_string(),
                })?;
            values.push(value);
        }
        n_rows += 1;
    }
    let n_cols = n_cols.ok_or_else(|| DataError::Empty {
        path: path.to_path_buf(),
    })?;
    Ok(Array2::from_shape_vec((n_rows, n_cols), values).expect("rectangular rows"))
}

fn open(path: &Path) -> Result<File, DataError> {
    File::open(path).map_err(|e| io_error(path, &e))
}

fn io_error(path: &Path, error: &dyn std::fmt::Display) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

/// The header position of each requested column.
fn column_indices(
    path: &Path,
    header: &csv::StringRecord,
    columns: &[String],
) -> Result<Vec<usize>, DataError> {
    columns
        .iter()
        .map(|name| {
            let mut found = header.iter().enumerate().filter(|(_, h)| h.trim() == name);
            match (found.next(), found.next()) {
                (Some((index, _)), None) => Ok(index),
                (Some(_), Some(_)) => Err(DataError::AmbiguousColumn {
                    path: path.to_path_buf(),
                    column: name.clone(),
                }),
                (None, _) => Err(DataError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    available: header.iter().collect::<Vec<_>>().join(", "),
                }),
            }
        })
        .collect()
}

/// The byte offset at which a record starts (see [`line_at`]).
fn record_offset(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, csv::Position::byte)
}

/// The line of `path` (from 1) on which the record found at byte `offset`
/// starts, counted from the file itself: the CSV reader's position of a
/// record that follows blank lines points at the first blank line, and its
/// line count skips them. Only used to word an error, so the second read
/// costs nothing in a good run.
fn line_at(path: &Path, offset: u64) -> u64 {
    let bytes = std::fs::read(path).unwrap_or_default();
    let end = (offset as usize).min(bytes.len());
    let before = bytes[..end].iter().filter(|&&c| c == b'\n').count();
    let blank = bytes[end..]
        .iter()
        .take_while(|&&c| c == b'\n' || c == b'\r')
        .filter(|&&c| c == b'\n')
        .count();
    1 + (before + blank) as u64
}

fn parse_finite(
    path: &Path,
    (row, offset): (usize, u64),
    column: &str,
    text: &str,
) -> Result<f64, DataError> {
    let value = text
        .trim()
        .parse::<f64>()
        .map_err(|_| DataError::NotNumeric {
            path: path.to_path_buf(),
            row,
            line: line_at(path, offset),
            column: column.to_string(),
            value: text.to_string(),
        })?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DataError::NotFinite {
            path: path.to_path_buf(),
            row,
            line: line_at(path, offset),
            column: column.to_string(),
            value: text.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn standardised_columns_have_mean_zero_and_unit_sd() {
        let mut data = Dataset {
            path: PathBuf::from("x.csv"),
            columns: vec!["a".to_string(), "b".to_string()],
            points: array![[1.0e4, 2.0], [1.0e4 + 2.0, 2.0], [1.0e4 + 4.0, 2.0]],
        };
        data.standardise();
        let a = data.points.column(0);
        let sd = (a.iter().map(|x| x * x).sum::<f64>() / 3.0).sqrt();
        assert!(a.sum().abs() < 1e-12 && (sd - 1.0).abs() < 1e-12);
        assert_eq!(a[2], -a[0]);
        assert!(data.points.column(1).iter().all(|&x| x == 0.0));
    }
}
