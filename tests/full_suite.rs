//! A reduced copy of the full study's suite, run twice (with 1 and with 2
//! threads), gives byte-identical results.csv and summary.csv in every
//! part; the top-level report is rebuilt identically from the parts'
//! tables by `study report`; and the committed `reports/full/report.md`
//! and every part's `summary.csv` regenerate identically from the committed
//! raw tables.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rebar-full-suite-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Runs the study binary in `dir` and returns its standard output.
fn study(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_study"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run study");
    assert!(
        output.status.success(),
        "study {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write_reduced_suite(dir: &Path) {
    let toy = r#"kind = "toy"
master_seed = 7
seeds = [1, 2, 3]
estimators = ["reinforce", "rebar", "rebar-adaptive", "disarm"]
temperatures = [0.5]
learning_rates = [0.1]
n_steps = 60
log_every = 20
variance_draws = 4

[[problems]]
target = 0.45

[[problems]]
n_bits = 10
target = 0.45
"#;
    let original = format!(
        r#"master_seed = 7
seeds = [1, 2, 3]
n_components = [2]
estimators = ["reinforce", "reinforce-ema", "rebar"]
temperatures = [0.5]
learning_rates = [0.1]
n_steps = 40
log_every = 20
epsilon = 1e-3

[[datasets]]
name = "original-synthetic"
file = "{ROOT}/data/original_synthetic.csv"
columns = ["x"]
"#
    );
    let suite = r#"kind = "suite"
description = "A reduced copy of the full study for the test."

[[parts]]
name = "toy"
file = "parts/toy.toml"

[[parts]]
name = "original"
file = "parts/original.toml"
"#;
    fs::create_dir_all(dir.join("parts")).expect("parts dir");
    fs::write(dir.join("parts/toy.toml"), toy).expect("write toy");
    fs::write(dir.join("parts/original.toml"), original).expect("write original");
    fs::write(dir.join("suite.toml"), suite).expect("write suite");
}

#[test]
fn a_part_dropped_from_the_suite_loses_its_folder_on_the_next_run() {
    let dir = fresh_dir("dropped");
    write_reduced_suite(&dir);
    let run = || study(&dir, &["run", "suite.toml", "--out", "out", "--quiet"]);
    run();
    assert!(dir.join("out/original/results.csv").exists());
    fs::write(dir.join("out/notes.txt"), "mine").expect("write notes");
    let only_toy = "kind = \"suite\"\n\n[[parts]]\nname = \"toy\"\nfile = \"parts/toy.toml\"\n";
    fs::write(dir.join("suite.toml"), only_toy).expect("write suite");
    let said = run();
    assert!(!dir.join("out/original").exists(), "stale part folder left");
    assert!(
        said.contains("part \"original\" is no longer in the suite"),
        "the removal went unsaid: {said}"
    );
    assert!(dir.join("out/toy/results.csv").exists());
    assert_eq!(
        read(&dir.join("out/notes.txt")),
        b"mine",
        "a user's file was touched"
    );
    let report = String::from_utf8_lossy(&read(&dir.join("out/report.md"))).to_string();
    assert!(
        !report.contains("original/"),
        "the report still links the dropped part"
    );

    // An edited suite.json naming a path is never followed out of --out.
    let record_path = dir.join("out/suite.json");
    let record = String::from_utf8_lossy(&read(&record_path)).to_string();
    let tampered = record.replacen("\"name\": \"toy\"", "\"name\": \"../victim\"", 1);
    assert_ne!(
        record, tampered,
        "suite.json has no part named toy: {record}"
    );
    fs::write(&record_path, tampered).expect("tamper");
    fs::create_dir_all(dir.join("victim")).expect("victim");
    fs::write(dir.join("victim/manifest.json"), "{}").expect("victim manifest");
    fs::write(
        dir.join("suite.toml"),
        "kind = \"suite\"\n\n[[parts]]\nname = \"other\"\nfile = \"parts/toy.toml\"\n",
    )
    .expect("write suite");
    run();
    assert!(
        dir.join("victim/manifest.json").exists(),
        "a folder outside --out was removed"
    );
    let _ = fs::remove_dir_all(&dir);
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

#[test]
fn reduced_suite_is_byte_identical_across_runs_and_threads() {
    let dir = fresh_dir("threads");
    write_reduced_suite(&dir);
    study(
        &dir,
        &[
            "run",
            "suite.toml",
            "--out",
            "one",
            "--quiet",
            "--threads",
            "1",
        ],
    );
    study(
        &dir,
        &[
            "run",
            "suite.toml",
            "--out",
            "two",
            "--quiet",
            "--threads",
            "2",
        ],
    );
    for part in ["toy", "original"] {
        for table in ["results.csv", "summary.csv"] {
            let first = read(&dir.join("one").join(part).join(table));
            assert!(first.len() > 100, "{part}/{table} is nearly empty");
            assert_eq!(
                first,
                read(&dir.join("two").join(part).join(table)),
                "{part}/{table}"
            );
        }
    }
    let report = read(&dir.join("one/report.md"));
    let text = String::from_utf8_lossy(&report);
    for section in [
        "## Where REBAR wins, where it loses",
        "## How far the best stochastic method stays from EM, and why",
        "## Threats to validity",
        "## Does the original claim hold?",
    ] {
        assert!(text.contains(section), "report lacks {section}");
    }
    assert!(dir.join("one/figures").read_dir().expect("figures").count() > 0);
    // Rebuilding from the tables alone gives the same report.
    study(&dir, &["report", "one"]);
    assert_eq!(report, read(&dir.join("one/report.md")));
    let _ = fs::remove_dir_all(&dir);
}

/// Copies the raw tables of every part of the suite folder `from` to `to`.
fn copy_tables(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create copy");
    fs::copy(from.join("suite.json"), to.join("suite.json")).expect("copy suite.json");
    for entry in fs::read_dir(from).expect("list report folder").flatten() {
        let part = entry.path();
        if !part.join("manifest.json").exists() {
            continue;
        }
        let target = to.join(entry.file_name());
        fs::create_dir_all(&target).expect("create part copy");
        // `study report` on a suite rebuilds every part from its raw tables.
        for name in [
            "manifest.json",
            "results.csv",
            "timings.csv",
            "fits.csv",
            "histograms.csv",
        ] {
            if part.join(name).exists() {
                fs::copy(part.join(name), target.join(name)).expect("copy table");
            }
        }
    }
}

#[test]
fn committed_full_report_regenerates_from_its_tables() {
    let committed = Path::new(ROOT).join("reports/full");
    assert!(
        committed.join("suite.json").exists(),
        "reports/full is committed"
    );
    let dir = fresh_dir("committed");
    copy_tables(&committed, &dir);
    study(&dir, &["report", "."]);
    assert_eq!(
        String::from_utf8_lossy(&read(&committed.join("report.md"))),
        String::from_utf8_lossy(&read(&dir.join("report.md")))
    );
    for part in [
        "toy",
        "bits",
        "bits-variance",
        "gmm",
        "gmm-amortised",
        "original",
    ] {
        let name = format!("{part}/summary.csv");
        assert!(
            read(&committed.join(&name)) == read(&dir.join(&name)),
            "{name} does not regenerate from the committed results.csv"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}
