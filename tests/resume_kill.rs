//! A study killed with SIGKILL mid-run resumes to a results.csv that is
//! byte-identical to an uninterrupted run's; a changed study file is
//! refused on resume; --fresh starts over; a finished folder is recomputed.

mod study_support;

use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use study_support::{fresh_dir, run_in, stderr_of, study_bin, tiny_study};

/// Finished cells in a staging folder.
fn parts_done(staging: &Path) -> usize {
    fs::read_dir(staging.join("parts")).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".results.csv"))
            .count()
    })
}

#[test]
fn a_killed_run_resumes_to_the_identical_file() {
    let dir = fresh_dir("resume");
    // 4 seeds x (EM + REINFORCE + REBAR): 12 cells, 8 of them SVI runs of
    // 1500 steps (a few seconds in all), so the kill lands mid-run.
    let text = tiny_study("[1, 2, 3, 4]", 1500, "");
    fs::write(dir.join("study.toml"), &text).expect("write");
    let reference = run_in(
        &dir,
        &["run", "study.toml", "--out", "reference", "--quiet"],
        &[],
    );
    assert!(reference.status.success(), "{}", stderr_of(&reference));

    let staging = dir.join(".killed.partial");
    let mut child = study_bin()
        .current_dir(&dir)
        .args(["run", "study.toml", "--out", "killed", "--quiet"])
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the study");
    let deadline = Instant::now() + Duration::from_secs(120);
    while parts_done(&staging) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill -9 the study");
    let _ = child.wait();
    let done = parts_done(&staging);
    assert!(
        (1..12).contains(&done),
        "kill did not land mid-run ({done} cells done)"
    );
    assert!(
        !dir.join("killed").exists(),
        "an unfinished run was swapped in"
    );

    // A changed study file is refused and the staging folder kept.
    fs::write(
        dir.join("study.toml"),
        text.replace("master_seed = 7", "master_seed = 8"),
    )
    .expect("write");
    let refused = run_in(&dir, &["run", "study.toml", "--out", "killed"], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert!(
        stderr_of(&refused).contains("different study file"),
        "{}",
        stderr_of(&refused)
    );
    assert!(parts_done(&staging) >= done);

    fs::write(dir.join("study.toml"), &text).expect("write");
    let resumed = run_in(&dir, &["run", "study.toml", "--out", "killed"], &[]);
    assert!(resumed.status.success(), "{}", stderr_of(&resumed));
    let stdout = String::from_utf8_lossy(&resumed.stdout);
    assert!(
        stdout.contains(&format!("12 cells, {done} resumed")),
        "{stdout}"
    );
    for name in ["results.csv", "summary.csv"] {
        let expected = fs::read(dir.join("reference").join(name)).expect("read");
        let got = fs::read(dir.join("killed").join(name)).expect("read");
        assert!(expected == got, "{name} differs after resume");
    }
    assert!(!staging.exists());

    // A finished folder is recomputed whole, to the same results.
    let again = run_in(&dir, &["run", "study.toml", "--out", "killed"], &[]);
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("12 cells, 0 resumed"));
    let expected = fs::read(dir.join("reference").join("results.csv")).expect("read");
    assert!(expected == fs::read(dir.join("killed").join("results.csv")).expect("read"));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn fresh_discards_an_interrupted_run() {
    let dir = fresh_dir("fresh");
    fs::write(dir.join("study.toml"), tiny_study("[1, 2]", 20, "")).expect("write");
    let staging = dir.join(".out.partial");
    fs::create_dir_all(staging.join("parts")).expect("mkdir");
    fs::write(
        staging.join("state.json"),
        r#"{"study_hash":"0","shard":"1/1","n_cells":6,"crate_version":"0"}"#,
    )
    .expect("write");
    let refused = run_in(&dir, &["run", "study.toml", "--out", "out"], &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr_of(&refused));
    assert!(stderr_of(&refused).contains("--fresh"));
    let fresh = run_in(&dir, &["run", "study.toml", "--out", "out", "--fresh"], &[]);
    assert!(fresh.status.success(), "{}", stderr_of(&fresh));
    assert!(dir.join("out").join("results.csv").is_file() && !staging.exists());
    let _ = fs::remove_dir_all(&dir);
}
