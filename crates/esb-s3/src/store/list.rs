//! Listing: one page of keys and common prefixes from a bucket index, with S3's prefix,
//! delimiter, start-after/continuation and max-keys rules.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

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

/// Lists one page from `index`.
pub(crate) fn list(index: &BTreeMap<String, Arc<ObjectMeta>>, params: &ListParams) -> ListPage {
    let mut page = ListPage::default();
    let prefix = params.prefix.as_str();
    let start = match &params.after {
        Some(after) if after.as_str() >= prefix => Bound::Excluded(after.clone()),
        _ => Bound::Included(prefix.to_owned()),
    };
    let delimiter = params.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut last_prefix = params.after.clone();
    let mut count = 0usize;
    for (key, meta) in index.range::<String, _>((start, Bound::Unbounded)) {
        if !key.starts_with(prefix) {
            break;
        }
        let common = delimiter.and_then(|d| {
            key[prefix.len()..]
                .find(d)
                .map(|pos| key[..prefix.len() + pos + d.len()].to_owned())
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meta::ObjectAttrs;

    fn index(keys: &[&str]) -> BTreeMap<String, Arc<ObjectMeta>> {
        keys.iter()
            .map(|k| {
                let meta = ObjectMeta {
                    key: (*k).to_owned(),
                    blob: String::new(),
                    size: 0,
                    etag: String::new(),
                    last_modified_ms: 0,
                    attrs: ObjectAttrs::default(),
                    tags: Default::default(),
                    checksums: Default::default(),
                };
                ((*k).to_owned(), Arc::new(meta))
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
