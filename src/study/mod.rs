//! The study harness: study files, grids, the parallel runner, statistics,
//! figures and reports.
