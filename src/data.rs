//! Reading numeric data sets from CSV files (header row, columns by name).
