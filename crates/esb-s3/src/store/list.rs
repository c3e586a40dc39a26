//! Listing: one page of keys and common prefixes from a bucket index, with S3's prefix,
//! delimiter, start-after/continuation and max-keys rules.

use std::ops::Bound;
use std::sync::Arc;

use super::bucket::Index;
use super::meta::ObjectMeta;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// only keys starting with this
    pub prefix: String,
    /// roll keys up to the first delimiter after the prefix into common prefixes
    pub delimiter: Option<String>,
    /// list strictly after this key or common prefix (start-after, marker, continuation)
    pub after: Option<String>,
    /// most entries (objects plus common prefixes) in the page
    pub max_keys: usize,
}

/// One page.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// objects, in key order
    pub objects: Vec<Arc<ObjectMeta>>,
    /// common prefixes, in order
    pub common_prefixes: Vec<String>,
    /// whether more entries follow
    pub is_truncated: bool,
    /// the last key or prefix in the page: where the next page starts after
    pub next_after: Option<String>,
}

/// One page of a version listing.
#[derive(Debug, Clone, Default)]
pub struct VersionPage {
    /// versions (and delete markers) in key order, each key's newest first, with whether
    /// it is the key's latest
    pub versions: Vec<(Arc<ObjectMeta>, bool)>,
    /// common prefixes, in order
    pub common_prefixes: Vec<String>,
    /// whether more entries follow
    pub is_truncated: bool,
    /// the last key or prefix in the page
    pub next_key: Option<String>,
    /// the version of `next_key` the page ended at (`None` after a common prefix)
    pub next_version: Option<String>,
}

/// The common prefix `key` rolls up into, if any.
fn common_prefix(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter?;
    key[prefix.len()..]
        .find(d)
        .map(|pos| key[..prefix.len() + pos + d.len()].to_owned())
}

/// Where a listing starts: after `after` if it is past the prefix, else at the prefix.
fn start(params: &ListParams, inclusive_after: bool) -> Bound<String> {
    match &params.after {
        Some(after) if after.as_str() >= params.prefix.as_str() => {
            if inclusive_after {
                Bound::Included(after.clone())
            } else {
                Bound::Excluded(after.clone())
            }
        }
        _ => Bound::Included(params.prefix.clone()),
    }
}

/// Lists one page of current objects from `index` (keys whose latest version is a delete
/// marker are not listed).
pub(crate) fn list(index: &Index, params: &ListParams) -> ListPage {
    let mut page = ListPage::default();
    let prefix = params.prefix.as_str();
    let delimiter = params.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut last_prefix = params.after.clone();
    let mut count = 0usize;
    for (key, versions) in index.range::<String, _>((start(params, false), Bound::Unbounded)) {
        if !key.starts_with(prefix) {
            break;
        }
        let Some(meta) = versions.first().filter(|m| !m.delete_marker) else {
            continue;
        };
        let common = common_prefix(key, prefix, delimiter);
        if let Some(common) = &common
            && last_prefix.as_deref() == Some(common.as_str())
        {
            continue;
        }
        if count >= params.max_keys {
            page.is_truncated = count > 0 || params.max_keys > 0;
            break;
        }
        count += 1;
        match common {
            Some(common) => {
                last_prefix = Some(common.clone());
                page.next_after = Some(common.clone());
                page.common_prefixes.push(common);
            }
            None => {
                page.next_after = Some(key.clone());
                page.objects.push(Arc::clone(meta));
            }
        }
    }
    page
}

/// Lists one page of versions: every version of every key, the key-marker / version-id-marker
/// pair as in S3 (`version_after` `None`: start after all versions of `params.after`).
pub(crate) fn list_versions(
    index: &Index,
    params: &ListParams,
    version_after: Option<&str>,
) -> VersionPage {
    let mut page = VersionPage::default();
    let prefix = params.prefix.as_str();
    let delimiter = params.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut last_prefix = params.after.clone();
    let mut count = 0usize;
    let bound = start(params, version_after.is_some());
    for (key, versions) in index.range::<String, _>((bound, Bound::Unbounded)) {
        if !key.starts_with(prefix) {
            break;
        }
        let common = common_prefix(key, prefix, delimiter);
        if let Some(common) = &common {
            if last_prefix.as_deref() == Some(common.as_str()) {
                continue;
            }
            if count >= params.max_keys {
                page.is_truncated = true;
                break;
            }
            count += 1;
            last_prefix = Some(common.clone());
            page.next_key = Some(common.clone());
            page.next_version = None;
            page.common_prefixes.push(common.clone());
            continue;
        }
        // Resuming inside the marker key: skip up to and including the marker version.
        let skip = match version_after {
            Some(marker) if Some(key) == params.after.as_ref() => versions
                .iter()
                .position(|m| m.version_str() == marker)
                .map_or(versions.len(), |i| i + 1),
            _ => 0,
        };
        for (i, meta) in versions.iter().enumerate().skip(skip) {
            if count >= params.max_keys {
                page.is_truncated = true;
                return page;
            }
            count += 1;
            page.next_key = Some(key.clone());
            page.next_version = Some(meta.version_str().to_owned());
            page.versions.push((Arc::clone(meta), i == 0));
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> Index {
        keys.iter()
            .map(|k| {
                let meta = ObjectMeta {
                    key: (*k).to_owned(),
                    ..ObjectMeta::default()
                };
                ((*k).to_owned(), vec![Arc::new(meta)])
            })
            .collect()
    }

    fn keys(page: &ListPage) -> Vec<&str> {
        page.objects.iter().map(|m| m.key.as_str()).collect()
    }

    #[test]
    fn prefix_delimiter_and_pages() {
        let idx = index(&["a/1", "a/2", "b", "c/x/1", "c/y", "d"]);
        let all = list(
            &idx,
            &ListParams {
                max_keys: 1000,
                ..ListParams::default()
            },
        );
        assert_eq!(keys(&all).len(), 6);
        assert!(!all.is_truncated);

        let p = ListParams {
            delimiter: Some("/".into()),
            max_keys: 1000,
            ..ListParams::default()
        };
        let page = list(&idx, &p);
        assert_eq!(keys(&page), ["b", "d"]);
        assert_eq!(page.common_prefixes, ["a/", "c/"]);

        let p = ListParams {
            prefix: "c/".into(),
            delimiter: Some("/".into()),
            max_keys: 1000,
            ..ListParams::default()
        };
        let page = list(&idx, &p);
        assert_eq!(keys(&page), ["c/y"]);
        assert_eq!(page.common_prefixes, ["c/x/"]);

        // Pages of two, delimiter on: a/, b | c/, d
        let mut p = ListParams {
            delimiter: Some("/".into()),
            max_keys: 2,
            ..ListParams::default()
        };
        let first = list(&idx, &p);
        assert_eq!(
            (first.common_prefixes.clone(), keys(&first)),
            (vec!["a/".to_owned()], vec!["b"])
        );
        assert!(first.is_truncated);
        p.after = first.next_after.clone();
        let second = list(&idx, &p);
        assert_eq!(
            (second.common_prefixes.clone(), keys(&second)),
            (vec!["c/".to_owned()], vec!["d"])
        );
        assert!(!second.is_truncated);

        // Continuing after a common prefix skips everything under it.
        let p = ListParams {
            delimiter: Some("/".into()),
            after: Some("a/".into()),
            max_keys: 1,
            ..ListParams::default()
        };
        assert_eq!(keys(&list(&idx, &p)), ["b"]);

        let p = ListParams {
            after: Some("b".into()),
            max_keys: 1000,
            ..ListParams::default()
        };
        assert_eq!(keys(&list(&idx, &p)), ["c/x/1", "c/y", "d"]);
    }
}
