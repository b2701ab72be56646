//! Suites (`kind = "suite"`): a list of part study files run one after
//! another, each into `OUT/<part name>/` with the harness's normal
//! machinery (staging folder, resume, atomic swap), then a top-level
//! `OUT/report.md` and `OUT/figures/` built by [`super::suite_report`] from
//! the parts' tables alone.
//!
//! ```toml
//! kind = "suite"
//! description = "The write-up study"   # optional
//! threats = ["Steps were trimmed."]     # optional: lines for the report's
//!                                       # threats-to-validity section
//!
//! [[parts]]
//! name = "toy"                          # folder name: a-z, 0-9 and '-'
//! file = "full/toy.toml"                # relative to the suite file
//! ```
//!
//! A suite interrupted between parts resumes at the first part that is not
//! finished: `OUT/suite-state.json` records the parts finished by the
//! current run together with their files' hashes, and is removed once the
//! report is written. A part interrupted in the middle resumes from its own
//! staging folder. Running a finished suite again recomputes every part,
//! and removes the folders of parts that the previous run's `suite.json`
//! listed but the suite no longer has (as a plain study's rerun replaces
//! its folder); other files and folders in `OUT/` are left alone.
//!
//! # Limitations
//!
//! Known limitation: a suite cannot hold another suite, because the report
//! generator reads one level of parts only.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StudyError;
use super::config::{ConfigError, StudySource};
use super::store::{io_context, write_atomic};
use crate::rng::fnv1a64;

/// The name of the suite's marker file in `OUT/`.
pub const SUITE_FILE: &str = "suite.json";

const STATE_FILE: &str = "suite-state.json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPart {
    name: String,
    file: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    threats: Vec<String>,
    parts: Vec<RawPart>,
}

/// One part of a suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuitePart {
    /// Folder name under the suite's output folder.
    pub name: String,
    /// The part's study file, resolved against the suite file's folder.
    pub file: PathBuf,
    /// The study kind the part file declares (`svi` when absent).
    pub kind: String,
    /// FNV-1a-64 of the part file's text, 16 hex digits.
    pub hash: String,
}

/// A validated suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Where the suite came from.
    pub source: StudySource,
    /// One line saying what the suite is for.
    pub description: Option<String>,
    /// The suite's own threats to validity (what its study files trimmed
    /// or left out), printed in the report.
    pub threats: Vec<String>,
    /// The parts, in run order.
    pub parts: Vec<SuitePart>,
}

/// What `OUT/suite.json` records: the suite and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteRecord {
    /// Always `suite`.
    pub kind: String,
    /// The suite file as given.
    pub study_file: String,
    /// Its hash.
    pub study_hash: String,
    /// Its description.
    pub description: Option<String>,
    /// Its threats to validity, one line each.
    #[serde(default)]
    pub threats: Vec<String>,
    /// The parts.
    pub parts: Vec<SuitePart>,
}

/// The kind a study file's text declares (`svi` when it has no `kind`),
/// or `None` when the text is not TOML.
pub fn declared_kind(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    match table.get("kind") {
        None => Some("svi".to_string()),
        Some(kind) => kind.as_str().map(str::to_string),
    }
}

fn invalid(path: &Path, field: String, value: String, rule: &str) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        field,
        value,
        rule: rule.to_string(),
    }
}

/// Parses and validates a suite file's text; each part file must exist and
/// declare a kind other than `suite` (the parts' own validation runs when
/// they are loaded).
///
/// # Errors
///
/// [`ConfigError`] naming the field, the value and the rule.
pub fn parse_suite(path: &Path, text: &str) -> Result<Suite, ConfigError> {
    let raw: RawSuite = toml::from_str(text).map_err(|err| ConfigError::Parse {
        path: path.to_path_buf(),
        message: err.to_string().trim_end().to_string(),
    })?;
    if raw.parts.is_empty() {
        let rule = "list at least one part";
        return Err(invalid(path, "parts".into(), "[]".into(), rule));
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut parts: Vec<SuitePart> = Vec::new();
    for (i, part) in raw.parts.iter().enumerate() {
        if !is_part_name(&part.name) {
            let rule = "a folder name of a-z, 0-9 and '-', not \"figures\"";
            return Err(invalid(
                path,
                format!("parts[{i}].name"),
                part.name.clone(),
                rule,
            ));
        }
        if parts.iter().any(|p| p.name == part.name) {
            let rule = "distinct part names";
            return Err(invalid(
                path,
                format!("parts[{i}].name"),
                part.name.clone(),
                rule,
            ));
        }
        let file = folder.join(&part.file);
        let field = format!("parts[{i}].file");
        let shown = part.file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|err| {
            let rule = format!("a readable study file ({}: {err})", file.display());
            invalid(path, field.clone(), shown.clone(), &rule)
        })?;
        let kind = declared_kind(&text).ok_or_else(|| {
            // Say where the part file breaks, as for a study file.
            let rule = match toml::from_str::<toml::Table>(&text) {
                Err(err) => format!(
                    "a valid study file ({} is not valid TOML):\n{}",
                    file.display(),
                    err.to_string().trim_end()
                ),
                Ok(_) => format!("a study file whose `kind` is a string ({})", file.display()),
            };
            invalid(path, field.clone(), shown.clone(), &rule)
        })?;
        if kind == "suite" {
            let rule = "a study of another kind (a suite of suites is not supported)";
            return Err(invalid(path, field, shown, rule));
        }
        parts.push(SuitePart {
            name: part.name.clone(),
            file,
            kind,
            hash: format!("{:016x}", fnv1a64(text.as_bytes())),
        });
    }
    Ok(Suite {
        source: StudySource {
            path: path.to_path_buf(),
            text: text.to_string(),
            hash: format!("{:016x}", fnv1a64(text.as_bytes())),
        },
        description: raw.description,
        threats: raw.threats,
        parts,
    })
}

/// Reads and validates a suite file.
///
/// # Errors
///
/// See [`parse_suite`].
pub fn load_suite(path: &Path) -> Result<Suite, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Io {
        path: path.to_path_buf(),
        reason: err.to_string(),
    })?;
    parse_suite(path, &text)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct SuiteState {
    suite_hash: String,
    /// `(part name, part hash)` of the parts finished by this run.
    finished: Vec<(String, String)>,
}

/// What a suite run did.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteOutcome {
    /// Parts run now.
    pub n_run: usize,
    /// Parts taken from an interrupted earlier run of the suite.
    pub n_resumed: usize,
    /// Names of the dropped parts whose folders were removed.
    pub removed_parts: Vec<String>,
}

/// Runs every part of `suite` into `out/<part name>/` by calling
/// `run_part(part file, part folder)` in order (the caller runs it with
/// the harness's machinery and its own options), then writes
/// `out/suite.json` and the top-level report.
///
/// # Errors
///
/// [`StudyError`] from a part, or naming the file that could not be
/// written.
pub fn run_suite(
    suite: &Suite,
    out: &Path,
    run_part: &mut dyn FnMut(&SuitePart, &Path) -> Result<(), StudyError>,
) -> Result<SuiteOutcome, StudyError> {
    // A suite's folder holds part folders and suite.json: refuse to mix
    // them into a plain study's output or into an unrelated folder.
    let is_suite_folder = out.join(SUITE_FILE).exists() || out.join(STATE_FILE).exists();
    let empty = std::fs::read_dir(out).map_or(true, |mut entries| entries.next().is_none());
    if out.exists() && !is_suite_folder && !empty {
        return Err(StudyError::Manifest(format!(
            "output folder {} exists and is not a suite's output (no suite.json); choose \
             another --out",
            out.display()
        )));
    }
    io_context(std::fs::create_dir_all(out), "cannot create", out)?;
    let previous_parts = read_record(out)
        .map(|record| record.parts)
        .unwrap_or_default();
    let state_path = out.join(STATE_FILE);
    let mut state = std::fs::read_to_string(&state_path)
        .ok()
        .and_then(|text| serde_json::from_str::<SuiteState>(&text).ok())
        .filter(|state| state.suite_hash == suite.source.hash)
        .unwrap_or_else(|| SuiteState {
            suite_hash: suite.source.hash.clone(),
            finished: Vec::new(),
        });
    let mut outcome = SuiteOutcome {
        n_run: 0,
        n_resumed: 0,
        removed_parts: Vec::new(),
    };
    for part in &suite.parts {
        let done = (part.name.clone(), part.hash.clone());
        if state.finished.contains(&done) && out.join(&part.name).join("report.md").exists() {
            outcome.n_resumed += 1;
            continue;
        }
        run_part(part, &out.join(&part.name))?;
        state.finished.push(done);
        write_json(&state_path, &state)?;
        outcome.n_run += 1;
    }
    let record = SuiteRecord {
        kind: "suite".to_string(),
        study_file: suite.source.path.display().to_string(),
        study_hash: suite.source.hash.clone(),
        description: suite.description.clone(),
        threats: suite.threats.clone(),
        parts: suite.parts.clone(),
    };
    write_json(&out.join(SUITE_FILE), &record)?;
    outcome.removed_parts = remove_dropped_parts(out, &previous_parts, &suite.parts)?;
    super::suite_report::build_suite_report(out)?;
    if state_path.exists() {
        io_context(
            std::fs::remove_file(&state_path),
            "cannot remove",
            &state_path,
        )?;
    }
    Ok(outcome)
}

/// Whether `name` can name a part's folder: a-z, 0-9 and '-', not
/// `figures` (so never a path).
fn is_part_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name != "figures"
}

/// Removes `out/<name>/` for every part of `previous` whose name is not in
/// `current`, is a valid part name (`suite.json` may have been edited)
/// and whose folder holds a study's `manifest.json` (so only part folders
/// this harness wrote go, with whatever was put inside them); returns
/// the names removed.
fn remove_dropped_parts(
    out: &Path,
    previous: &[SuitePart],
    current: &[SuitePart],
) -> Result<Vec<String>, StudyError> {
    let mut removed = Vec::new();
    for part in previous {
        let dir = out.join(&part.name);
        let dropped = !current.iter().any(|kept| kept.name == part.name);
        if dropped && is_part_name(&part.name) && dir.join("manifest.json").is_file() {
            io_context(std::fs::remove_dir_all(&dir), "cannot remove", &dir)?;
            removed.push(part.name.clone());
        }
    }
    Ok(removed)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StudyError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| StudyError::Table(format!("cannot encode {}: {err}", path.display())))?;
    write_atomic(path, format!("{text}\n").as_bytes())?;
    Ok(())
}

/// Reads `dir/suite.json`, if `dir` is a suite's output folder.
pub fn read_record(dir: &Path) -> Option<SuiteRecord> {
    let text = std::fs::read_to_string(dir.join(SUITE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}
