//! The order `sort` and `min`/`max` use: numbers by value when both sides are numbers,
//! otherwise "natural" string order, where runs of digits compare by their value
//! (`file9` < `file10`).

use std::cmp::Ordering;

/// Compares two field values.
pub fn compare(a: &str, b: &str) -> Ordering {
    if let (Ok(x), Ok(y)) = (a.trim().parse::<f64>(), b.trim().parse::<f64>())
        && !x.is_nan()
        && !y.is_nan()
    {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    natural(a, b)
}

fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (da, ra) = split_digits(a);
                let (db, rb) = split_digits(b);
                // Longer runs (without leading zeros) are bigger numbers.
                let ta = da.trim_start_matches('0');
                let tb = db.trim_start_matches('0');
                let order = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| da.len().cmp(&db.len()));
                if order != Ordering::Equal {
                    return order;
                }
                a = ra;
                b = rb;
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = a.get(x.len_utf8()..).unwrap_or_default();
                b = b.get(y.len_utf8()..).unwrap_or_default();
            }
        }
    }
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_natural_strings() {
        assert_eq!(compare("9", "10"), Ordering::Less);
        assert_eq!(compare("-1.5", "1"), Ordering::Less);
        assert_eq!(compare("file9", "file10"), Ordering::Less);
        assert_eq!(compare("a", "b"), Ordering::Less);
        assert_eq!(compare("", "a"), Ordering::Less);
        assert_eq!(compare("x007", "x7"), Ordering::Greater);
        assert_eq!(compare("é1", "é1"), Ordering::Equal);
    }
}
