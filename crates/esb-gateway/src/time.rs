//! API Gateway's request time format, `dd/MMM/yyyy:HH:mm:ss +0000`, from epoch milliseconds,
//! without a date library.

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats epoch milliseconds (UTC) as API Gateway's `requestTime`, e.g.
/// `09/Apr/2015:12:34:56 +0000`.
pub fn format_request_time(epoch_ms: u64) -> String {
    let secs = i128::from(epoch_ms / 1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let month_name = usize::try_from(month - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{day:02}/{month_name}/{year:04}:{:02}:{:02}:{:02} +0000",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The first day of the month `days` (since 1970-01-01, UTC) falls in, as days since
/// 1970-01-01.
pub(crate) fn month_start(days: i128) -> i128 {
    days - (civil_from_days(days).2 - 1)
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_request_time(0), "01/Jan/1970:00:00:00 +0000");
        // 2015-04-09T12:34:56.789Z
        assert_eq!(
            format_request_time(1_428_582_896_789),
            "09/Apr/2015:12:34:56 +0000"
        );
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(
            format_request_time(1_709_251_199_000),
            "29/Feb/2024:23:59:59 +0000"
        );
        assert_eq!(
            format_request_time(1_583_798_639_000),
            "10/Mar/2020:00:03:59 +0000"
        );
    }

    #[test]
    fn month_starts() {
        // 2024-02-29 is day 19782; February 2024 began on day 19754.
        assert_eq!(month_start(19_782), 19_754);
        assert_eq!(month_start(19_754), 19_754);
        assert_eq!(month_start(0), 0);
    }

    #[test]
    fn never_panics_at_the_extremes() {
        assert!(!format_request_time(u64::MAX).is_empty());
    }
}
