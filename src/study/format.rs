//! Fixed text formats shared by every file the harness writes: numbers in
//! CSV cells, and the UTC timestamps of the manifest.
//!
//! Rust's float formatting lives in `core` and does not depend on the C
//! library or the machine, so the same bits always print the same text.

/// Formats a float for a CSV cell: the shortest text that reads back to
/// the same bits, in plain notation for moderate magnitudes and in
/// exponent notation otherwise, so that no cell runs to hundreds of digits.
///
/// ```text
/// x = 0 or 1e-4 <= |x| < 1e15   ->  plain, e.g. -412.25
/// otherwise                     ->  exponent, e.g. 1e-6
/// ```
pub fn fmt_f64(x: f64) -> String {
    let magnitude = x.abs();
    if x == 0.0 || (1e-4..1e15).contains(&magnitude) || !x.is_finite() {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Formats an optional float; `None` becomes the empty cell.
pub fn fmt_opt(x: Option<f64>) -> String {
    x.map(fmt_f64).unwrap_or_default()
}

/// Formats seconds since the Unix epoch as an RFC 3339 UTC timestamp,
/// `YYYY-MM-DDThh:mm:ssZ` (proleptic Gregorian calendar).
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The (year, month, day) of a count of days since 1970-01-01, by the
/// usual era arithmetic on 400-year cycles of 146 097 days.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_trip_and_stay_short() {
        for x in [0.0, -412.123_456_789, 1e-6, 3e20, 0.1, 1.0, -2.5e-300] {
            let text = fmt_f64(x);
            assert_eq!(text.parse::<f64>().ok(), Some(x), "{text}");
            assert!(text.len() < 30, "{text}");
        }
        assert_eq!(fmt_f64(0.1), "0.1");
        assert_eq!(fmt_f64(1e-6), "1e-6");
        assert_eq!(fmt_opt(None), "");
    }

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_798_761_599), "2026-12-31T23:59:59Z");
    }
}
