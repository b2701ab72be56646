//! results.csv, summary.csv, comparisons.csv and fits.csv are byte-identical
//! with 1 and with 2 worker threads (RAYON_NUM_THREADS and --threads).

mod study_support;

use std::fs;

use study_support::{fresh_dir, run_in, stderr_of, tiny_study};

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = fresh_dir("threads");
    fs::write(dir.join("tiny.toml"), tiny_study("[1, 2, 3]", 40, "")).expect("write");
    let runs = [
        (
            "one",
            vec!["run", "tiny.toml", "--out", "one", "--quiet"],
            "1",
        ),
        (
            "two",
            vec!["run", "tiny.toml", "--out", "two", "--quiet"],
            "2",
        ),
        (
            "flag",
            vec![
                "run",
                "tiny.toml",
                "--out",
                "flag",
                "--quiet",
                "--threads",
                "2",
            ],
            "1",
        ),
    ];
    for (_, args, threads) in &runs {
        let output = run_in(&dir, args, &[("RAYON_NUM_THREADS", threads)]);
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    for name in ["results.csv", "summary.csv", "comparisons.csv", "fits.csv"] {
        let one = fs::read(dir.join("one").join(name)).expect("read");
        for other in ["two", "flag"] {
            let bytes = fs::read(dir.join(other).join(name)).expect("read");
            assert!(one == bytes, "{name} differs between 1 thread and {other}");
        }
    }
    let manifest = fs::read_to_string(dir.join("two").join("manifest.json")).expect("read");
    assert!(manifest.contains("\"threads\": 2"), "{manifest}");
    let _ = fs::remove_dir_all(&dir);
}
