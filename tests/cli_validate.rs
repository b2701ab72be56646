//! `study validate` and `study run` refuse broken study files with exit
//! status 2 and a message naming the field, the value and the rule, and
//! write nothing.

mod study_support;

use std::fs;

use study_support::{fresh_dir, root, run_in, stderr_of};

/// The top-level keys of a valid study, in order.
fn base() -> Vec<(&'static str, String)> {
    vec![
        ("master_seed", "1".to_string()),
        ("seeds", "[1, 2]".to_string()),
        ("n_components", "[2]".to_string()),
        ("estimators", "[\"reinforce\", \"rebar\"]".to_string()),
        ("temperatures", "[0.5]".to_string()),
        ("learning_rates", "[0.05]".to_string()),
        ("n_steps", "20".to_string()),
        ("log_every", "10".to_string()),
    ]
}

/// A study file: `base()` with `changes` applied (a `None` value removes
/// the key, a new key is appended), then the data set table with `columns`.
fn study_text(changes: &[(&'static str, Option<&str>)], columns: &str) -> String {
    let mut keys = base();
    for (key, value) in changes {
        keys.retain(|(k, _)| k != key);
        if let Some(value) = value {
            keys.push((key, value.to_string()));
        }
    }
    let mut text: String = keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    let data = root().join("data").join("faithful.csv");
    text.push_str(&format!(
        "\n[[datasets]]\nname = \"eruptions\"\nfile = {data:?}\ncolumns = {columns}\n"
    ));
    text
}

struct Case {
    name: &'static str,
    text: String,
    expected: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let eruptions = "[\"eruptions\"]";
    let case = |name, changes: &[(&'static str, Option<&str>)], expected| Case {
        name,
        text: study_text(changes, eruptions),
        expected,
    };
    vec![
        case(
            "empty-seeds",
            &[("seeds", Some("[]"))],
            &["seeds", "[]", "at least one"],
        ),
        case(
            "repeated-seed",
            &[("seeds", Some("[3, 3]"))],
            &["seeds[1]", "3", "repeats"],
        ),
        case(
            "zero-components",
            &[("n_components", Some("[0]"))],
            &["n_components[0]", "0", "at least 2"],
        ),
        case(
            "one-component",
            &[("n_components", Some("[2, 1]"))],
            &["n_components[1]", "1", "at least 2"],
        ),
        case(
            "unknown-estimator",
            &[("estimators", Some("[\"reinforce\", \"rebarr\"]"))],
            &["estimators[1]", "rebarr", "known estimators"],
        ),
        case(
            "negative-temperature",
            &[("temperatures", Some("[0.5, -1.0]"))],
            &["temperatures[1]", "-1", "greater than 0"],
        ),
        case(
            "zero-temperature",
            &[("temperatures", Some("[0.0]"))],
            &["temperatures[0]", "0", "greater than 0"],
        ),
        case(
            "missing-temperatures",
            &[("temperatures", None)],
            &["temperatures", "[]", "at least one"],
        ),
        case(
            "zero-learning-rate",
            &[("learning_rates", Some("[0.0]"))],
            &["learning_rates[0]", "greater than 0"],
        ),
        case(
            "zero-steps",
            &[("n_steps", Some("0"))],
            &["n_steps", "0", "at least 1"],
        ),
        case(
            "zero-log-every",
            &[("log_every", Some("0"))],
            &["log_every", "0", "at least 1"],
        ),
        case(
            "zero-samples",
            &[("n_samples", Some("0"))],
            &["n_samples", "0", "at least 1"],
        ),
        case(
            "negative-floor",
            &[("variance_floor", Some("-1e-6"))],
            &["variance_floor", "at least 0"],
        ),
        case(
            "unknown-key",
            &[("learning_rate", Some("0.1"))],
            &["unknown field", "learning_rate"],
        ),
        case(
            "unknown-kind",
            &[("kind", Some("\"sweep\""))],
            &["kind", "sweep", "known kinds"],
        ),
        case("wrong-type", &[("n_steps", Some("\"many\""))], &["n_steps"]),
        case("missing-field", &[("master_seed", None)], &["master_seed"]),
        case("syntax", &[("seeds", Some("[1, 2"))], &["not valid"]),
        Case {
            name: "missing-column",
            text: study_text(&[], "[\"nosuchcolumn\"]"),
            expected: &["datasets[0]", "nosuchcolumn"],
        },
        Case {
            name: "missing-file",
            text: study_text(&[], eruptions).replace("faithful.csv", "no-such-file.csv"),
            expected: &["datasets[0]", "no-such-file.csv"],
        },
        Case {
            name: "too-many-components",
            text: study_text(&[("n_components", Some("[100000]"))], eruptions),
            expected: &["n_components[0]", "100000", "number of points"],
        },
    ]
}

#[test]
fn validate_rejects_each_broken_file_with_its_message() {
    let dir = fresh_dir("validate");
    let all = cases();
    assert!(all.len() >= 10);
    for case in &all {
        let file = dir.join(format!("{}.toml", case.name));
        fs::write(&file, &case.text).expect("write the study file");
        let output = run_in(&dir, &["validate", file.to_str().expect("utf-8")], &[]);
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", case.name);
        for fragment in case.expected {
            assert!(
                stderr.contains(fragment),
                "{}: {fragment:?} not in {stderr}",
                case.name
            );
        }
        // One line, except that a TOML syntax error keeps the parser's
        // display (line, column and a caret under the spot) below it.
        let first = stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("study: error: study file"), "{stderr}");
        if !stderr.contains("TOML parse error") {
            assert_eq!(
                stderr.lines().count(),
                1,
                "{}: one line expected: {stderr}",
                case.name
            );
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_study_file_writes_nothing() {
    let dir = fresh_dir("bad-run");
    let file = dir.join("bad.toml");
    fs::write(
        &file,
        study_text(&[("temperatures", Some("[-0.5]"))], "[\"eruptions\"]"),
    )
    .expect("write the study file");
    let out = dir.join("out");
    let output = run_in(
        &dir,
        &[
            "run",
            file.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("temperatures[0]"));
    let entries: Vec<_> = fs::read_dir(&dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("bad.toml")],
        "something was written"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_valid_file_validates() {
    let dir = fresh_dir("valid");
    let file = dir.join("good.toml");
    fs::write(&file, study_text(&[], "[\"eruptions\"]")).expect("write the study file");
    let output = run_in(&dir, &["validate", file.to_str().expect("utf-8")], &[]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // 2 seeds x (EM + REINFORCE + REBAR at one temperature) = 6 cells.
    assert!(stdout.contains("6 cells"), "{stdout}");
    let _ = fs::remove_dir_all(&dir);
}
