//! Time as the logs role sees it: nanoseconds since the Unix epoch (UTC) in an `i64`, UTC
//! days for partitions, RFC3339Nano output as VictoriaLogs writes it, and the parsers for
//! the time forms VictoriaLogs accepts (ingested timestamps, query arguments, `_time:`
//! filters, durations).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Nanoseconds in one second.
pub const SECOND: i64 = 1_000_000_000;
/// Nanoseconds in one minute.
pub const MINUTE: i64 = 60 * SECOND;
/// Nanoseconds in one hour.
pub const HOUR: i64 = 60 * MINUTE;
/// Nanoseconds in one UTC day.
pub const DAY: i64 = 24 * HOUR;

/// The current time in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// The UTC day number (days since 1970-01-01) holding `ns`.
pub fn day_of(ns: i64) -> i64 {
    ns.div_euclid(DAY)
}

/// `YYYYMMDD` of a UTC day number: the name of its partition directory.
pub fn day_name(day: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(day.saturating_mul(86_400)) {
        Ok(t) => format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => format!("day{day}"),
    }
}

/// The day number of a `YYYYMMDD` directory name.
pub fn parse_day_name(name: &str) -> Option<i64> {
    if name.len() != 8 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = name.get(0..4)?.parse().ok()?;
    let month: u8 = name.get(4..6)?.parse().ok()?;
    let day: u8 = name.get(6..8)?.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let midnight = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
    Some(midnight.unix_timestamp().div_euclid(86_400))
}

/// RFC3339 with nanoseconds, UTC, trailing zeros of the fraction dropped (Go's
/// `time.RFC3339Nano`, which VictoriaLogs uses for `_time`): `2026-12-02T15:03:25.841Z`.
pub fn format_rfc3339(ns: i64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)) else {
        return ns.to_string();
    };
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// A duration in LogsQL syntax (`5m`, `1h30m`, `2.5d`, `500ms`, `1w`, `1y`), in nanoseconds.
/// A leading `-` negates it.
pub fn parse_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let value: f64 = number.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            "w" => 7.0 * 86_400e9,
            "y" => 365.0 * 86_400e9,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    if !total.is_finite() || total > i64::MAX as f64 {
        return None;
    }
    let ns = total.round() as i64;
    Some(if negative { -ns } else { ns })
}

/// An absolute time as VictoriaLogs accepts it in `_time:` filters and query arguments:
/// `YYYY[-MM[-DD[THH[:MM[:SS[.frac]]]]]]` followed by `Z` or `±hh:mm`. A value without a zone
/// is taken as UTC (VictoriaLogs uses the host's zone; the box runs in UTC). Returns the
/// covered interval `[start, end)`: a whole day for `2026-12-02Z`, one nanosecond for a full
/// timestamp with a fraction.
pub fn parse_absolute(text: &str) -> Option<(i64, i64)> {
    let text = text.trim();
    let (body, offset) = split_zone(text)?;
    let mut parts = Cursor { text: body, pos: 0 };
    let year = parts.digits(4)?;
    let year = i32::try_from(year).ok()?;
    let mut unit = Unit::Year;
    let (mut month, mut day, mut hour, mut minute, mut second, mut nanos) = (1u8, 1u8, 0, 0, 0, 0);
    if parts.eat('-') {
        month = u8::try_from(parts.digits(2)?).ok()?;
        unit = Unit::Month;
        if parts.eat('-') {
            day = u8::try_from(parts.digits(2)?).ok()?;
            unit = Unit::Day;
            if parts.eat('T') || parts.eat(' ') {
                hour = u8::try_from(parts.digits(2)?).ok()?;
                unit = Unit::Hour;
                if parts.eat(':') {
                    minute = u8::try_from(parts.digits(2)?).ok()?;
                    unit = Unit::Minute;
                    if parts.eat(':') {
                        second = u8::try_from(parts.digits(2)?).ok()?;
                        unit = Unit::Second;
                        if parts.eat('.') || parts.eat(',') {
                            let fraction = parts.rest_digits()?;
                            nanos = fraction_nanos(fraction)?;
                            unit = Unit::Nano;
                        }
                    }
                }
            }
        }
    }
    if !parts.done() {
        return None;
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).ok()?;
    let start = PrimitiveDateTime::new(date, time).assume_offset(offset);
    let end = match unit {
        Unit::Year => {
            let next = Date::from_calendar_date(year.checked_add(1)?, Month::January, 1).ok()?;
            PrimitiveDateTime::new(next, Time::MIDNIGHT).assume_offset(offset)
        }
        Unit::Month => {
            let (y, m) = if month == 12 {
                (year.checked_add(1)?, Month::January)
            } else {
                (year, Month::try_from(month + 1).ok()?)
            };
            let next = Date::from_calendar_date(y, m, 1).ok()?;
            PrimitiveDateTime::new(next, Time::MIDNIGHT).assume_offset(offset)
        }
        Unit::Day => start.checked_add(time::Duration::DAY)?,
        Unit::Hour => start.checked_add(time::Duration::HOUR)?,
        Unit::Minute => start.checked_add(time::Duration::MINUTE)?,
        Unit::Second => start.checked_add(time::Duration::SECOND)?,
        Unit::Nano => start.checked_add(time::Duration::NANOSECOND)?,
    };
    let start = i64::try_from(start.unix_timestamp_nanos()).ok()?;
    let end = i64::try_from(end.unix_timestamp_nanos()).ok()?;
    Some((start, end))
}

enum Unit {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Nano,
}

/// Splits a trailing `Z`/`z` or `±hh:mm` zone off an absolute time.
fn split_zone(text: &str) -> Option<(&str, UtcOffset)> {
    if let Some(body) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return Some((body, UtcOffset::UTC));
    }
    // `±hh:mm` after at least a year; a `-` inside the date is not a zone.
    let bytes = text.as_bytes();
    if bytes.len() > 10 {
        let sign_at = bytes.len() - 6;
        let sign = bytes.get(sign_at).copied();
        let zone = text.get(sign_at + 1..)?;
        if matches!(sign, Some(b'+' | b'-'))
            && zone.len() == 5
            && zone.as_bytes().get(2) == Some(&b':')
        {
            let hours: i8 = zone.get(0..2)?.parse().ok()?;
            let minutes: i8 = zone.get(3..5)?.parse().ok()?;
            let (hours, minutes) = if sign == Some(b'-') {
                (-hours, -minutes)
            } else {
                (hours, minutes)
            };
            let offset = UtcOffset::from_hms(hours, minutes, 0).ok()?;
            return Some((text.get(..sign_at)?, offset));
        }
    }
    Some((text, UtcOffset::UTC))
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, count: usize) -> Option<u32> {
        let slice = self.text.get(self.pos..self.pos + count)?;
        if !slice.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        self.pos += count;
        slice.parse().ok()
    }

    fn rest_digits(&mut self) -> Option<&str> {
        let rest = self.text.get(self.pos..)?;
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if len == 0 {
            return None;
        }
        self.pos += len;
        rest.get(..len)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.text.get(self.pos..).is_some_and(|r| r.starts_with(c)) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos == self.text.len()
    }
}

/// `841` → 841_000_000: a decimal fraction of a second in nanoseconds (extra digits cut).
fn fraction_nanos(digits: &str) -> Option<u32> {
    let mut nanos: u32 = 0;
    for b in digits.bytes().chain(std::iter::repeat(b'0')).take(9) {
        if !b.is_ascii_digit() {
            return None;
        }
        nanos = nanos * 10 + u32::from(b - b'0');
    }
    Some(nanos)
}

/// Why an ingested timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse timestamp {0:?}")]
pub struct BadTimestamp(pub String);

/// An ingested `_time` value: `""`, `"0"` and `"-"` mean now; digits are Unix seconds,
/// milliseconds, microseconds or nanoseconds told apart by their count (as VictoriaLogs
/// does), optionally with a fraction; otherwise RFC3339 (a missing zone is UTC).
pub fn parse_ingest_time(text: &str, now: i64) -> Result<i64, BadTimestamp> {
    let text = text.trim();
    if text.is_empty() || text == "0" || text == "-" {
        return Ok(now);
    }
    let bad = || BadTimestamp(text.chars().take(64).collect());
    if text.bytes().all(|b| b.is_ascii_digit()) {
        let value: i64 = text.parse().map_err(|_| bad())?;
        let scale = match text.len() {
            0..=10 => SECOND,
            11..=13 => 1_000_000,
            14..=16 => 1_000,
            _ => 1,
        };
        return value.checked_mul(scale).ok_or_else(bad);
    }
    if let Some((whole, fraction)) = text.split_once('.')
        && !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
    {
        // Fractional Unix seconds such as Loki clients and Python's time.time() produce.
        let seconds: i64 = whole.parse().map_err(|_| bad())?;
        let nanos = fraction_nanos(fraction).ok_or_else(bad)?;
        return seconds
            .checked_mul(SECOND)
            .and_then(|s| s.checked_add(i64::from(nanos)))
            .ok_or_else(bad);
    }
    // Only full timestamps (to the second at least) are accepted at ingestion.
    if text.len() < 19 {
        return Err(bad());
    }
    parse_absolute(text).map(|(start, _)| start).ok_or_else(bad)
}

/// A query time argument (`start`, `end`, `time`): `now`, a relative duration (`5m` = five
/// minutes ago), Unix seconds with an optional fraction, or an absolute time. `end` of a
/// partial absolute time covers the whole unit (`end=2026-12-02Z` includes that day).
pub fn parse_time_arg(text: &str, now: i64, is_end: bool) -> Option<i64> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Some(now);
    }
    if let Some(duration) = parse_duration(text) {
        return Some(now.saturating_sub(duration));
    }
    if let Some(unix) = parse_unix_seconds(text) {
        return Some(unix);
    }
    let (start, end) = parse_absolute(text)?;
    Some(if is_end { end.saturating_sub(1) } else { start })
}

/// `1700000000` or `1700000000.123` as Unix seconds (negative allowed; four digits or
/// fewer without a fraction are a year, not seconds).
pub fn parse_unix_seconds(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Four digits alone are a year, not a second after the epoch.
    if whole.len() <= 4 && fraction.is_empty() {
        return None;
    }
    let seconds: i64 = whole.parse().ok()?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        fraction_nanos(fraction)?
    };
    let ns = seconds.checked_mul(SECOND)?.checked_add(i64::from(nanos))?;
    Some(if negative { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn rfc3339_trims_the_fraction_like_go() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_796_223_805_841_000_000),
            "2026-12-02T15:03:25.841Z"
        );
        assert_eq!(format_rfc3339(1), "1970-01-01T00:00:00.000000001Z");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(5 * MINUTE));
        assert_eq!(parse_duration("1h30m"), Some(90 * MINUTE));
        assert_eq!(parse_duration("1.5h"), Some(90 * MINUTE));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("1w"), Some(7 * DAY));
        assert_eq!(parse_duration("-1s"), Some(-SECOND));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn absolute_times_cover_their_unit() {
        let (start, end) = parse_absolute("2026-12-02Z").unwrap();
        assert_eq!(end - start, DAY);
        assert_eq!(format_rfc3339(start), "2026-12-02T00:00:00Z");
        let (start, end) = parse_absolute("2026-12Z").unwrap();
        assert_eq!(format_rfc3339(start), "2026-12-01T00:00:00Z");
        assert_eq!(format_rfc3339(end), "2027-01-01T00:00:00Z");
        let (start, _) = parse_absolute("2026-12-02T15:03:25.841+02:00").unwrap();
        assert_eq!(format_rfc3339(start), "2026-12-02T13:03:25.841Z");
        let (start, end) = parse_absolute("2026-12-02T15Z").unwrap();
        assert_eq!(end - start, HOUR);
        assert!(parse_absolute("2026-13-02Z").is_none());
        assert!(parse_absolute("2026-12-02X").is_none());
        assert!(parse_absolute("").is_none());
    }

    #[test]
    fn ingest_times() {
        let now = 42;
        assert_eq!(parse_ingest_time("", now), Ok(now));
        assert_eq!(parse_ingest_time("0", now), Ok(now));
        assert_eq!(parse_ingest_time("-", now), Ok(now));
        assert_eq!(
            parse_ingest_time("1700000000", now),
            Ok(1_700_000_000 * SECOND)
        );
        assert_eq!(
            parse_ingest_time("1700000000123", now),
            Ok(1_700_000_000_123_000_000)
        );
        assert_eq!(
            parse_ingest_time("1700000000123456", now),
            Ok(1_700_000_000_123_456_000)
        );
        assert_eq!(
            parse_ingest_time("1700000000123456789", now),
            Ok(1_700_000_000_123_456_789)
        );
        assert_eq!(
            parse_ingest_time("1700000000.5", now),
            Ok(1_700_000_000_500_000_000)
        );
        assert_eq!(
            parse_ingest_time("2026-12-02T15:03:25.841Z", now).map(format_rfc3339),
            Ok("2026-12-02T15:03:25.841Z".to_owned())
        );
        assert!(parse_ingest_time("yesterday", now).is_err());
        assert!(parse_ingest_time("2026-12-02", now).is_err());
        assert!(parse_ingest_time("99999999999999999999999", now).is_err());
    }

    #[test]
    fn time_args() {
        let now = 1_000 * SECOND;
        assert_eq!(parse_time_arg("now", now, false), Some(now));
        assert_eq!(parse_time_arg("5s", now, false), Some(995 * SECOND));
        assert_eq!(
            parse_time_arg("1700000000", now, false),
            Some(1_700_000_000 * SECOND)
        );
        assert_eq!(
            parse_time_arg("1700000000.25", now, false),
            Some(1_700_000_000_250_000_000)
        );
        let day_end = parse_time_arg("2026-12-02Z", now, true).unwrap();
        assert_eq!(format_rfc3339(day_end), "2026-12-02T23:59:59.999999999Z");
        assert_eq!(
            parse_time_arg("2026", now, false)
                .map(format_rfc3339)
                .as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn day_names_round_trip() {
        let day = day_of(1_796_223_805_841_000_000);
        assert_eq!(day_name(day), "20261202");
        assert_eq!(parse_day_name("20261202"), Some(day));
        assert_eq!(parse_day_name("2026120"), None);
        assert_eq!(parse_day_name("20261332"), None);
        assert_eq!(day_of(-1), -1);
    }
}
