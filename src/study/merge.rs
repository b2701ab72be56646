//! `study merge`: joins the output folders of the shards of one study into
//! one folder, byte-identical to an unsharded run's tables.
//!
//! Refused (nothing written) when the folders come from different study
//! files or crate versions, when their shard counts differ, or when a cell
//! is missing or appears in two folders. Rows are merged by cell index in
//! one streaming pass (every shard lists its cells in grid order).

use std::fs::File;
use std::io::{BufRead, BufReader, Lines, Write};
use std::path::{Path, PathBuf};

use super::StudyError;
use super::analyse::build_for_kind;
use super::execute::now_utc;
use super::manifest::{Manifest, ShardRun, WallSummary};
use super::plan::{fits_header_of, headers_of};
use super::store::{
    finish, io_context, is_replaceable, remove_dir_if_exists, staging_path, write_streamed,
};

/// Whether two paths name the same folder (compared after resolving
/// links, or as written when a path does not exist yet).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Merges the shard folders `dirs` into `out`; returns the merged manifest.
///
/// # Errors
///
/// [`StudyError::Merge`] when the shards do not belong together or cells
/// are missing or duplicated; other variants for unreadable files.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Manifest, StudyError> {
    let manifests = check_manifests(dirs)?;
    if dirs.iter().any(|dir| same_folder(dir, out)) {
        return Err(StudyError::Merge(format!(
            "--out {} is one of the shards being merged; choose a new folder",
            out.display()
        )));
    }
    if !is_replaceable(out) {
        return Err(StudyError::NotAnOutput(out.to_path_buf()));
    }
    let staging = staging_path(out);
    remove_dir_if_exists(&staging)?;
    io_context(std::fs::create_dir_all(&staging), "cannot create", &staging)?;
    let result = merge_into(dirs, &staging, &manifests[0]);
    let seconds = match result {
        Ok(seconds) => seconds,
        Err(err) => {
            let _ = remove_dir_if_exists(&staging);
            return Err(err);
        }
    };
    // Threads, times and wall time describe the shards' runs, not the
    // merge (which only copies rows); each shard's run is kept as well.
    let first = &manifests[0];
    let shards: Vec<ShardRun> = manifests.iter().map(ShardRun::of).collect();
    let earliest = shards
        .iter()
        .map(|s| s.start_time.as_str())
        .min()
        .unwrap_or(&first.start_time)
        .to_string();
    let manifest = Manifest {
        shard: "merged".to_string(),
        threads: shards.iter().map(|s| s.threads).max().unwrap_or(0),
        n_cells_here: first.n_cells,
        n_cells_resumed: 0,
        start_time: earliest,
        end_time: now_utc(),
        wall_seconds: shards.iter().map(|s| s.wall_seconds).sum(),
        cell_wall_seconds: WallSummary::of(&seconds),
        shards,
        ..first.clone()
    };
    manifest.write(&staging)?;
    finish(&staging, out)?;
    Ok(manifest)
}

fn merge_into(dirs: &[PathBuf], staging: &Path, first: &Manifest) -> Result<Vec<f64>, StudyError> {
    let (results_header, timings_header) = headers_of(&first.kind);
    merge_table(dirs, staging, "results.csv", results_header, first.n_cells)?;
    let seconds = merge_table(dirs, staging, "timings.csv", timings_header, first.n_cells)?;
    // Folders written before `fits.csv` existed have none: merge it when
    // every shard has it, refuse a mix; the data tables are the same in
    // every shard.
    let lacking: Vec<&PathBuf> = dirs
        .iter()
        .filter(|d| !d.join("fits.csv").exists())
        .collect();
    if let Some(first_lacking) = lacking.first()
        && lacking.len() < dirs.len()
    {
        return Err(StudyError::Merge(format!(
            "{} has no fits.csv while other shards do; rerun that shard",
            first_lacking.display()
        )));
    }
    if let Some(header) = fits_header_of(&first.kind)
        && lacking.is_empty()
    {
        merge_table(dirs, staging, "fits.csv", header, first.n_cells)?;
        let histograms = dirs[0].join("histograms.csv");
        if histograms.exists() {
            let target = staging.join("histograms.csv");
            io_context(
                std::fs::copy(&histograms, &target),
                "cannot copy",
                &histograms,
            )?;
        }
    }
    let name = &first.study_name;
    build_for_kind(&first.kind, staging, name, first.epsilon, first.n_cells)?;
    Ok(seconds)
}

/// Reads every manifest and checks that the folders are the shards of one
/// study run by one crate version.
fn check_manifests(dirs: &[PathBuf]) -> Result<Vec<Manifest>, StudyError> {
    if dirs.is_empty() {
        return Err(StudyError::Merge("no shard folders given".to_string()));
    }
    let mut manifests: Vec<Manifest> = Vec::new();
    for dir in dirs {
        let manifest = Manifest::read(dir).map_err(StudyError::Merge)?;
        if let Some(first) = manifests.first() {
            let differ = |what: &str, a: &str, b: &str| {
                StudyError::Merge(format!(
                    "{} and {} come from different {what} ({a} and {b})",
                    dirs[0].display(),
                    dir.display()
                ))
            };
            if manifest.study_hash != first.study_hash {
                return Err(differ(
                    "study files",
                    &first.study_hash,
                    &manifest.study_hash,
                ));
            }
            if manifest.crate_version != first.crate_version {
                return Err(differ(
                    "versions",
                    &first.crate_version,
                    &manifest.crate_version,
                ));
            }
            let count = |label: &str| label.split('/').nth(1).unwrap_or("").to_string();
            if count(&manifest.shard) != count(&first.shard) {
                return Err(differ("shard counts", &first.shard, &manifest.shard));
            }
        }
        manifests.push(manifest);
    }
    Ok(manifests)
}

/// One shard's table, read line by line.
struct ShardTable {
    path: PathBuf,
    lines: Lines<BufReader<File>>,
    head: Option<(usize, String)>,
}

impl ShardTable {
    fn open(path: PathBuf, header: &str) -> Result<Self, StudyError> {
        let file = io_context(File::open(&path), "cannot read", &path)?;
        let mut lines = BufReader::new(file).lines();
        let first = lines.next().transpose();
        let first = io_context(first, "cannot read", &path)?;
        if first.as_deref() != Some(header) {
            let reason = format!("{} does not start with the expected header", path.display());
            return Err(StudyError::Merge(reason));
        }
        let mut table = Self {
            path,
            lines,
            head: None,
        };
        table.advance()?;
        Ok(table)
    }

    fn advance(&mut self) -> Result<(), StudyError> {
        let next = io_context(self.lines.next().transpose(), "cannot read", &self.path)?;
        self.head = match next {
            None => None,
            Some(line) => {
                let cell = line.split(',').next().and_then(|c| c.parse().ok());
                let Some(cell) = cell else {
                    let reason = format!("{}: bad row {line:?}", self.path.display());
                    return Err(StudyError::Merge(reason));
                };
                Some((cell, line))
            }
        };
        Ok(())
    }
}

/// Merges one table of every shard by cell index into `staging/name`;
/// returns each cell's last value of the final column (its wall time, for
/// the timings table).
fn merge_table(
    dirs: &[PathBuf],
    staging: &Path,
    name: &str,
    header: &str,
    n_cells: usize,
) -> Result<Vec<f64>, StudyError> {
    let mut tables = dirs
        .iter()
        .map(|dir| ShardTable::open(dir.join(name), header))
        .collect::<Result<Vec<_>, _>>()?;
    let target = staging.join(name);
    let mut last_values = Vec::new();
    write_streamed(&target, |out| {
        io_context(writeln!(out, "{header}"), "cannot write", &target)?;
        for expected in 0..n_cells {
            let holders: Vec<usize> = (0..tables.len())
                .filter(|&i| {
                    tables[i]
                        .head
                        .as_ref()
                        .is_some_and(|(cell, _)| *cell == expected)
                })
                .collect();
            let holder = match holders.as_slice() {
                [] => return Err(missing(expected, &tables)),
                [one] => *one,
                [a, b, ..] => {
                    return Err(StudyError::Merge(format!(
                        "cell {expected} appears in both {} and {}",
                        tables[*a].path.display(),
                        tables[*b].path.display()
                    )));
                }
            };
            let mut last = f64::NAN;
            while let Some((cell, line)) = &tables[holder].head {
                if *cell != expected {
                    break;
                }
                last = line
                    .rsplit(',')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                io_context(writeln!(out, "{line}"), "cannot write", &target)?;
                tables[holder].advance()?;
            }
            last_values.push(last);
        }
        if let Some(table) = tables.iter().find(|t| t.head.is_some()) {
            let reason = format!(
                "{} holds rows out of grid order or beyond the grid's {n_cells} cells",
                table.path.display()
            );
            return Err(StudyError::Merge(reason));
        }
        Ok(())
    })?;
    Ok(last_values)
}

fn missing(expected: usize, tables: &[ShardTable]) -> StudyError {
    let out_of_order = tables
        .iter()
        .any(|t| t.head.as_ref().is_some_and(|(cell, _)| *cell < expected));
    if out_of_order {
        return StudyError::Merge(format!(
            "cell {expected} is duplicated or out of grid order"
        ));
    }
    StudyError::Merge(format!(
        "cell {expected} is missing from every shard folder; run the missing shard first"
    ))
}
