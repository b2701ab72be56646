//! Reading data files: the shipped data sets load, and every kind of bad
//! file gives an error naming the file, the row and the column.

use std::path::{Path, PathBuf};

use rebar_optimizer::data::{DataError, read_columns, read_matrix};

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("write scratch file");
    path
}

#[test]
fn shipped_data_sets_load_with_their_documented_shapes() {
    let cases: [(&str, &[&str], usize); 5] = [
        ("faithful.csv", &["eruptions", "waiting"], 272),
        ("galaxies.csv", &["velocity"], 82),
        (
            "iris.csv",
            &["sepal_length", "sepal_width", "petal_length", "petal_width"],
            150,
        ),
        ("acidity.csv", &["log_acidity"], 155),
        ("enzyme.csv", &["activity"], 245),
    ];
    for (file, names, n_rows) in cases {
        let data = read_columns(&data_file(file), &columns(names)).expect("shipped data loads");
        assert_eq!(data.points.dim(), (n_rows, names.len()), "{file}");
    }
    let faithful = read_columns(
        &data_file("faithful.csv"),
        &columns(&["waiting", "eruptions"]),
    )
    .expect("columns in any order");
    assert_eq!(faithful.points[[0, 0]], 79.0);
    assert_eq!(faithful.points[[0, 1]], 3.6);
}

#[test]
fn missing_column_is_named_with_the_available_ones() {
    let error = read_columns(&data_file("faithful.csv"), &columns(&["eruption"])).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, DataError::MissingColumn { .. }));
    assert!(message.contains("\"eruption\"") && message.contains("eruptions, waiting"));
    assert!(message.contains("faithful.csv"), "{message}");
}

#[test]
fn non_numeric_value_names_file_row_and_column() {
    let path = scratch_file("bad_text.csv", "a,b\n1,2\n3,x4\n");
    let error = read_columns(&path, &columns(&["a", "b"])).unwrap_err();
    match &error {
        DataError::NotNumeric {
            row, column, value, ..
        } => {
            assert_eq!((*row, column.as_str(), value.as_str()), (2, "b", "x4"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("bad_text.csv") && message.contains("row 2"));
    assert!(message.contains("column b"), "{message}");
}

#[test]
fn non_finite_values_are_rejected_by_row_and_column() {
    for (text, bad) in [("nan", "nan"), ("inf", "inf"), ("-inf", "-inf")] {
        let path = scratch_file("bad_value.csv", &format!("a,b\n1,2\n3,4\n{text},5\n"));
        let error = read_columns(&path, &columns(&["b", "a"])).unwrap_err();
        match error {
            DataError::NotFinite {
                row, column, value, ..
            } => {
                assert_eq!((row, column.as_str(), value.as_str()), (3, "a", bad));
            }
            other => panic!("unexpected error {other:?}"),
        }
    }
}

#[test]
fn short_rows_empty_files_and_missing_files_are_errors() {
    let path = scratch_file("short_row.csv", "a,b\n1,2\n3\n");
    let error = read_columns(&path, &columns(&["b"])).unwrap_err();
    assert!(
        matches!(error, DataError::ShortRow { row: 2, .. }),
        "{error:?}"
    );
    let path = scratch_file("header_only.csv", "a,b\n");
    let error = read_columns(&path, &columns(&["a"])).unwrap_err();
    assert!(matches!(error, DataError::Empty { .. }));
    let error = read_columns(Path::new("/nonexistent/rebar.csv"), &columns(&["a"])).unwrap_err();
    assert!(matches!(error, DataError::Io { .. }));
    assert!(error.to_string().contains("/nonexistent/rebar.csv"));
    let error = read_columns(&data_file("faithful.csv"), &[]).unwrap_err();
    assert!(matches!(error, DataError::NoColumns { .. }));
}

#[test]
fn headerless_matrices_keep_non_finite_values_for_the_fit_to_judge() {
    let path = scratch_file("matrix.csv", "1,2\nnan,inf\n");
    let matrix = read_matrix(&path).expect("numbers, including nan and inf");
    assert_eq!(matrix.dim(), (2, 2));
    assert!(matrix[[1, 0]].is_nan() && matrix[[1, 1]].is_infinite());
    let path = scratch_file("matrix_text.csv", "1,2\n3,four\n");
    let error = read_matrix(&path).unwrap_err();
    assert!(
        matches!(error, DataError::NotNumeric { row: 1, .. }),
        "{error:?}"
    );
    let path = scratch_file("matrix_ragged.csv", "1,2\n3\n");
    assert!(matches!(
        read_matrix(&path),
        Err(DataError::ShortRow { row: 1, .. })
    ));
}

#[test]
fn errors_name_the_file_line_past_blank_lines_and_refuse_repeated_columns() {
    let path = scratch_file("blank_lines.csv", "a,b\r\n1,2\r\n\r\n\n3,x\r\n");
    let error = read_columns(&path, &columns(&["b"])).unwrap_err();
    match &error {
        DataError::NotNumeric { row, line, .. } => assert_eq!((*row, *line), (2, 5)),
        other => panic!("unexpected error {other:?}"),
    }
    assert!(error.to_string().contains("line 5 (data row 2)"), "{error}");
    let path = scratch_file("repeated_header.csv", "a,a,b\n1,2,3\n");
    let error = read_columns(&path, &columns(&["a"])).unwrap_err();
    assert!(
        matches!(error, DataError::AmbiguousColumn { ref column, .. } if column == "a"),
        "{error:?}"
    );
    // Only the columns asked for must be unambiguous.
    assert!(read_columns(&path, &columns(&["b"])).is_ok());
}

#[test]
fn rows_of_another_length_are_refused_even_outside_the_chosen_columns() {
    let path = scratch_file("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    let error = read_columns(&path, &columns(&["a"])).unwrap_err();
    assert!(
        matches!(
            error,
            DataError::ShortRow {
                row: 2,
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{error:?}"
    );
}
