//! The ingestion parameters every VictoriaLogs insert endpoint takes, as query arguments or
//! `VL-*` headers (the query argument wins). Unknown arguments are ignored, as VictoriaLogs
//! ignores them.

/// How the fields of an ingested entry become a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestParams {
    /// `_msg_field`: the first non-empty of these becomes `_msg` (default `_msg`).
    pub msg_fields: Vec<String>,
    /// `_time_field`: the first non-empty of these is the timestamp (default `_time`).
    pub time_fields: Vec<String>,
    /// `_stream_fields`: the fields naming the stream; `None` = the endpoint's default.
    pub stream_fields: Option<Vec<String>>,
    /// `ignore_fields`: names dropped at ingestion; a trailing `*` makes a prefix.
    pub ignore_fields: Vec<String>,
    /// `decolorize_fields`: fields whose ANSI color codes are removed; `*` suffix = prefix.
    pub decolorize_fields: Vec<String>,
    /// `extra_fields`: added to every row, overwriting fields of the same name.
    pub extra_fields: Vec<(String, String)>,
    /// `debug=1`: log the rows instead of storing them.
    pub debug: bool,
}

impl Default for IngestParams {
    fn default() -> Self {
        Self {
            msg_fields: vec![crate::row::MSG.to_owned()],
            time_fields: vec![crate::row::TIME.to_owned()],
            stream_fields: None,
            ignore_fields: Vec::new(),
            decolorize_fields: Vec::new(),
            extra_fields: Vec::new(),
            debug: false,
        }
    }
}

/// A malformed parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name}: {reason}")]
pub struct ParamError {
    /// the argument's name
    pub name: &'static str,
    /// what is wrong
    pub reason: String,
}

impl IngestParams {
    /// Reads the parameters through `arg` (query arguments) and `header` (request headers).
    pub fn resolve<'a>(
        arg: impl Fn(&str) -> Option<&'a str>,
        header: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, ParamError> {
        let get = |name: &str, header_name: &str| arg(name).or_else(|| header(header_name));
        let mut params = Self::default();
        if let Some(v) = get("_msg_field", "VL-Msg-Field") {
            let list = comma_list(v);
            if !list.is_empty() {
                params.msg_fields = list;
            }
        }
        if let Some(v) = get("_time_field", "VL-Time-Field") {
            let list = comma_list(v);
            if !list.is_empty() {
                params.time_fields = list;
            }
        }
        if let Some(v) = get("_stream_fields", "VL-Stream-Fields") {
            params.stream_fields = Some(comma_list(v));
        }
        if let Some(v) = get("ignore_fields", "VL-Ignore-Fields") {
            params.ignore_fields = comma_list(v);
        }
        if let Some(v) = get("decolorize_fields", "VL-Decolorize-Fields") {
            params.decolorize_fields = comma_list(v);
        }
        if let Some(v) = get("extra_fields", "VL-Extra-Fields") {
            for item in comma_list(v) {
                let Some((name, value)) = item.split_once('=') else {
                    return Err(ParamError {
                        name: "extra_fields",
                        reason: format!("missing '=' in {item:?}; expected name=value"),
                    });
                };
                params
                    .extra_fields
                    .push((name.trim().to_owned(), value.to_owned()));
            }
        }
        if let Some(v) = get("debug", "VL-Debug") {
            params.debug = matches!(v.trim(), "1" | "true" | "yes");
        }
        Ok(params)
    }

    /// Whether `name` is dropped by `ignore_fields`.
    pub fn ignored(&self, name: &str) -> bool {
        matches_any(&self.ignore_fields, name)
    }

    /// Whether `name` is listed in `decolorize_fields`.
    pub fn decolorized(&self, name: &str) -> bool {
        matches_any(&self.decolorize_fields, name)
    }
}

/// Whether `name` equals one of `patterns` or starts with one ending in `*`.
pub fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    })
}

fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        args: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<IngestParams, ParamError> {
        IngestParams::resolve(
            |n| args.iter().find(|(k, _)| *k == n).map(|(_, v)| *v),
            |n| {
                headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| *v)
            },
        )
    }

    #[test]
    fn defaults() {
        let p = resolve(&[], &[]).unwrap_or_default();
        assert_eq!(p, IngestParams::default());
        assert_eq!(p.msg_fields, ["_msg"]);
        assert_eq!(p.time_fields, ["_time"]);
        assert_eq!(p.stream_fields, None);
    }

    #[test]
    fn query_argument_wins_over_header() {
        let p = resolve(
            &[("_msg_field", "message,log")],
            &[
                ("vl-msg-field", "other"),
                ("VL-Stream-Fields", "a, b"),
                ("VL-Extra-Fields", "x=1,y=a=b"),
            ],
        )
        .unwrap_or_default();
        assert_eq!(p.msg_fields, ["message", "log"]);
        assert_eq!(p.stream_fields, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert_eq!(
            p.extra_fields,
            [
                ("x".to_owned(), "1".to_owned()),
                ("y".to_owned(), "a=b".to_owned())
            ]
        );
    }

    #[test]
    fn bad_extra_fields_are_refused() {
        assert!(resolve(&[("extra_fields", "novalue")], &[]).is_err());
    }

    #[test]
    fn ignore_patterns() {
        let p = resolve(&[("ignore_fields", "a,kube*")], &[]).unwrap_or_default();
        assert!(p.ignored("a"));
        assert!(p.ignored("kubernetes.pod"));
        assert!(!p.ignored("ab"));
    }
}
