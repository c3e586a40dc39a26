//! Request arguments: the query string, plus an `application/x-www-form-urlencoded` body for
//! POSTed queries (as `curl -d 'query=…'` sends them).

use percent_encoding::percent_decode_str;

/// Decoded `name=value` pairs in request order.
#[derive(Debug, Default, Clone)]
pub struct Args(Vec<(String, String)>);

impl Args {
    /// The arguments of a query string.
    pub fn from_query(query: Option<&str>) -> Self {
        let mut args = Self::default();
        if let Some(query) = query {
            args.extend(query);
        }
        args
    }

    /// Adds the pairs of a urlencoded text (query string or form body).
    pub fn extend(&mut self, encoded: &str) {
        for pair in encoded.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.0.push((decode(name), decode(value)));
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable argument.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn decode(component: &str) -> String {
    percent_decode_str(&component.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_form_arguments() {
        let mut args = Args::from_query(Some("query=a+b%20c&field=x&field=y&empty&limit="));
        args.extend("start=5m&query=ignored");
        assert_eq!(args.get("query"), Some("a b c"));
        assert_eq!(args.all("field").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(args.get("empty"), Some(""));
        assert_eq!(args.get("start"), Some("5m"));
        assert_eq!(args.get("missing"), None);
        assert_eq!(Args::from_query(Some("q=%ZZ")).get("q"), Some("%ZZ"));
    }
}
