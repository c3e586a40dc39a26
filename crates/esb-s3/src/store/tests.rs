//! In-process tests of the store: round trips, odd keys, concurrency and crash leftovers.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;

use super::*;

fn body(parts: &[&[u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send {
    futures::stream::iter(
        parts
            .iter()
            .map(|p| Ok::<_, std::io::Error>(Bytes::copy_from_slice(p)))
            .collect::<Vec<_>>(),
    )
}

use futures::Stream;

async fn read_all(store: &Store, bucket: &str, key: &str) -> Vec<u8> {
    let reader = store.open_object(bucket, key).await.unwrap();
    let size = reader.meta.size;
    let mut stream = Box::pin(reader.stream(0, size).await.unwrap());
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

async fn put(store: &Store, bucket: &str, key: &str, data: &[u8]) -> Arc<ObjectMeta> {
    let parts = [data];
    store
        .put_object(bucket, key, body(&parts), PutOptions::default())
        .await
        .unwrap()
}

fn all(store: &Store, bucket: &str) -> Vec<String> {
    let params = ListParams {
        max_keys: 100_000,
        ..ListParams::default()
    };
    store
        .list_objects(bucket, &params)
        .unwrap()
        .objects
        .iter()
        .map(|m| m.key.clone())
        .collect()
}

#[tokio::test]
async fn write_read_list_delete_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    assert!(matches!(
        store.create_bucket("bkt").await,
        Err(StoreError::BucketAlreadyOwnedByYou(_))
    ));
    assert!(matches!(
        store.create_bucket("Bad_Name").await,
        Err(StoreError::InvalidBucketName(..))
    ));

    let parts: [&[u8]; 2] = [b"hello ", b"world"];
    let meta = store
        .put_object("bkt", "greeting", body(&parts), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(meta.size, 11);
    assert_eq!(meta.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert_eq!(read_all(&store, "bkt", "greeting").await, b"hello world");

    let odd = [
        "a/../b",
        "%",
        "%2F",
        "ünï/cødé 🚀",
        "..",
        "/leading",
        "sp ace",
        &"k".repeat(1024),
    ];
    for key in odd {
        put(&store, "bkt", key, key.as_bytes()).await;
    }
    assert!(matches!(
        store
            .put_object("bkt", &"k".repeat(1025), body(&[]), PutOptions::default())
            .await,
        Err(StoreError::InvalidKey(_))
    ));
    assert_eq!(all(&store, "bkt").len(), odd.len() + 1);
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(StoreError::BucketNotEmpty(_))
    ));
    drop(store);

    // Everything survives a reopen, byte for byte.
    let store = Store::open(dir.path()).await.unwrap();
    for key in odd {
        assert_eq!(read_all(&store, "bkt", key).await, key.as_bytes(), "{key}");
    }
    store.delete_object("bkt", "greeting", None).await.unwrap();
    store.delete_object("bkt", "greeting", None).await.unwrap();
    assert!(matches!(
        store.open_object("bkt", "greeting").await,
        Err(StoreError::NoSuchKey(_))
    ));
    for key in odd {
        store.delete_object("bkt", key, None).await.unwrap();
    }
    store.delete_bucket("bkt").await.unwrap();
    assert!(store.list_buckets().is_empty());
    assert!(matches!(
        store.head_bucket("bkt"),
        Err(StoreError::NoSuchBucket(_))
    ));
}

#[tokio::test]
async fn conditions_length_and_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    let cond = |c| PutOptions {
        condition: c,
        ..PutOptions::default()
    };
    store
        .put_object(
            "bkt",
            "k",
            body(&[b"1"]),
            cond(PutCondition::IfNoneMatchAny),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .put_object(
                "bkt",
                "k",
                body(&[b"2"]),
                cond(PutCondition::IfNoneMatchAny)
            )
            .await,
        Err(StoreError::PreconditionFailed)
    ));
    let short = PutOptions {
        checks: BodyChecks {
            expected_len: Some(5),
            ..BodyChecks::default()
        },
        ..PutOptions::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&[b"123"]), short).await,
        Err(StoreError::IncompleteBody { .. })
    ));
    let bad = PutOptions {
        checks: BodyChecks {
            content_md5: Some([0; 16]),
            ..BodyChecks::default()
        },
        ..PutOptions::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&[b"123"]), bad).await,
        Err(StoreError::BadDigest)
    ));
    assert_eq!(read_all(&store, "bkt", "k").await, b"1");
    // Failed uploads leave no blob behind.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        std::fs::read_dir(dir.path().join("buckets/bkt/blobs"))
            .unwrap()
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_to_one_key_end_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let data = vec![i; 300_000];
            let chunks: Vec<Result<Bytes, std::io::Error>> = data
                .chunks(7_000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            store
                .put_object(
                    "bkt",
                    "same",
                    futures::stream::iter(chunks),
                    PutOptions::default(),
                )
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let data = read_all(&store, "bkt", "same").await;
    assert_eq!(data.len(), 300_000);
    assert!(data.iter().all(|b| *b == data[0]));
    assert_eq!(
        std::fs::read_dir(dir.path().join("buckets/bkt/blobs"))
            .unwrap()
            .count(),
        1
    );
    drop(store);
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(read_all(&store, "bkt", "same").await, data);
}

#[tokio::test]
async fn crash_leftovers_are_not_listed_and_cleaned_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    put(&store, "bkt", "kept", b"x").await;
    drop(store);
    // What a kill -9 mid-upload leaves: a half-written blob and a temp sidecar.
    let orphan = dir.path().join("buckets/bkt/blobs/0000-orphan");
    std::fs::write(&orphan, b"half").unwrap();
    let tmp = dir.path().join("tmp/abc.tmp");
    std::fs::write(&tmp, b"{").unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(all(&store, "bkt"), ["kept"]);
    assert!(!orphan.exists());
    assert!(!tmp.exists());
    assert_eq!(read_all(&store, "bkt", "kept").await, b"x");
}

#[tokio::test]
async fn copy_keeps_or_replaces_metadata_and_ranges_stream() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    let mut attrs = ObjectAttrs {
        content_type: Some("text/plain".into()),
        ..ObjectAttrs::default()
    };
    attrs.user_metadata.insert("a".into(), "1".into());
    let opts = PutOptions {
        attrs: attrs.clone(),
        ..PutOptions::default()
    };
    store
        .put_object("bkt", "src", body(&[b"0123456789"]), opts)
        .await
        .unwrap();
    let src = VersionRef {
        bucket: "bkt",
        key: "src",
        version_id: None,
    };
    let copied = store
        .copy_object(src, "bkt", "dst", None, None, None)
        .await
        .unwrap();
    assert_eq!(copied.attrs, attrs);
    let replaced = store
        .copy_object(src, "bkt", "dst2", Some(ObjectAttrs::default()), None, None)
        .await
        .unwrap();
    assert!(replaced.attrs.user_metadata.is_empty());
    assert_eq!(read_all(&store, "bkt", "dst2").await, b"0123456789");
    let reader = store.open_object("bkt", "dst").await.unwrap();
    let mut stream = Box::pin(reader.stream(3, 4).await.unwrap());
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(out, b"3456");
}

#[tokio::test]
async fn one_store_per_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    assert!(matches!(
        Store::open(dir.path()).await,
        Err(StoreError::Locked(_))
    ));
    drop(store);
    Store::open(dir.path()).await.unwrap();
}

fn versions_of(store: &Store, bucket: &str) -> Vec<(String, String, bool, bool)> {
    let params = ListParams {
        max_keys: 100_000,
        ..ListParams::default()
    };
    store
        .list_object_versions(bucket, &params, None)
        .unwrap()
        .versions
        .iter()
        .map(|(m, latest)| {
            (
                m.key.clone(),
                m.version_str().to_owned(),
                m.delete_marker,
                *latest,
            )
        })
        .collect()
}

#[tokio::test]
async fn versioning_keeps_versions_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    // Written before versioning: becomes the null version.
    put(&store, "bkt", "k", b"v0").await;
    let sidecar = std::fs::read(
        dir.path()
            .join(format!("buckets/bkt/keys/{}.json", paths::key_hash("k"))),
    )
    .unwrap();
    assert!(!String::from_utf8_lossy(&sidecar).contains("version"));
    store
        .put_bucket_versioning("bkt", VersioningState::Enabled)
        .await
        .unwrap();
    let v1 = put(&store, "bkt", "k", b"v1").await;
    let v2 = put(&store, "bkt", "k", b"v2").await;
    let (id1, id2) = (
        v1.version_id.clone().unwrap(),
        v2.version_id.clone().unwrap(),
    );
    assert_ne!(id1, id2);
    assert_eq!(read_all(&store, "bkt", "k").await, b"v2");
    let old = store
        .open_object_version("bkt", "k", Some(&id1))
        .await
        .unwrap();
    assert_eq!(old.meta.size, 2);
    let deleted = store.delete_object("bkt", "k", None).await.unwrap();
    assert!(deleted.delete_marker);
    assert!(matches!(
        store.head_object_version("bkt", "k", None),
        Err(StoreError::DeleteMarker {
            requested: false,
            ..
        })
    ));
    assert!(all(&store, "bkt").is_empty());
    assert!(matches!(
        store.delete_bucket("bkt").await,
        Err(StoreError::BucketNotEmpty(_))
    ));
    drop(store);

    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(
        store.bucket_versioning("bkt").unwrap(),
        VersioningState::Enabled
    );
    let listed = versions_of(&store, "bkt");
    let marker = deleted.version_id.unwrap();
    assert_eq!(
        listed,
        [
            ("k".into(), marker.clone(), true, true),
            ("k".into(), id2.clone(), false, false),
            ("k".into(), id1.clone(), false, false),
            ("k".into(), "null".into(), false, false),
        ]
    );
    // Removing the marker brings v2 back; removing v2 by id brings v1.
    store
        .delete_object("bkt", "k", Some(&marker))
        .await
        .unwrap();
    assert_eq!(read_all(&store, "bkt", "k").await, b"v2");
    store.delete_object("bkt", "k", Some(&id2)).await.unwrap();
    assert_eq!(read_all(&store, "bkt", "k").await, b"v1");

    // Suspended: writes replace the null version, which becomes the latest.
    store
        .put_bucket_versioning("bkt", VersioningState::Suspended)
        .await
        .unwrap();
    let n = put(&store, "bkt", "k", b"n1").await;
    assert_eq!(n.version_header().as_deref(), Some("null"));
    put(&store, "bkt", "k", b"n2").await;
    assert_eq!(read_all(&store, "bkt", "k").await, b"n2");
    let listed = versions_of(&store, "bkt");
    assert_eq!(
        listed,
        [
            ("k".into(), "null".into(), false, true),
            ("k".into(), id1.clone(), false, false),
        ]
    );
    drop(store);
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(versions_of(&store, "bkt"), listed);
    // Every blob is referenced by exactly one version: nothing leaked, nothing lost.
    let blobs = std::fs::read_dir(dir.path().join("buckets/bkt/blobs"))
        .unwrap()
        .count();
    assert_eq!(blobs, 2);
    store.delete_object("bkt", "k", Some("null")).await.unwrap();
    store.delete_object("bkt", "k", Some(&id1)).await.unwrap();
    store.delete_bucket("bkt").await.unwrap();
}

#[tokio::test]
async fn version_listing_pages_with_markers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    store
        .put_bucket_versioning("bkt", VersioningState::Enabled)
        .await
        .unwrap();
    for key in ["a", "b", "b", "b", "c/x", "c/y"] {
        put(&store, "bkt", key, b"x").await;
    }
    let mut params = ListParams {
        max_keys: 2,
        ..ListParams::default()
    };
    let mut seen = Vec::new();
    let mut version_after: Option<String> = None;
    loop {
        let page = store
            .list_object_versions("bkt", &params, version_after.as_deref())
            .unwrap();
        seen.extend(page.versions.iter().map(|(m, _)| m.key.clone()));
        if !page.is_truncated {
            break;
        }
        params.after = page.next_key.clone();
        version_after = page.next_version.clone();
    }
    assert_eq!(seen, ["a", "b", "b", "b", "c/x", "c/y"]);
    params = ListParams {
        delimiter: Some("/".into()),
        max_keys: 100,
        ..ListParams::default()
    };
    let page = store.list_object_versions("bkt", &params, None).unwrap();
    assert_eq!(page.versions.len(), 4);
    assert_eq!(page.common_prefixes, ["c/"]);
}

#[tokio::test]
async fn large_bodies_are_checked_like_small_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    let chunk = vec![9u8; 64 * 1024];
    let chunks: Vec<&[u8]> = (0..48).map(|_| chunk.as_slice()).collect();
    let total = (chunk.len() * chunks.len()) as u64;
    // Declared longer than sent, and a wrong Content-MD5: both refused, nothing committed.
    let short = PutOptions {
        checks: BodyChecks {
            expected_len: Some(total + 1),
            ..BodyChecks::default()
        },
        ..PutOptions::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&chunks), short).await,
        Err(StoreError::IncompleteBody { .. })
    ));
    let bad_md5 = PutOptions {
        checks: BodyChecks {
            expected_len: Some(total),
            content_md5: Some([0; 16]),
            ..BodyChecks::default()
        },
        ..PutOptions::default()
    };
    assert!(matches!(
        store.put_object("bkt", "k", body(&chunks), bad_md5).await,
        Err(StoreError::BadDigest)
    ));
    assert!(all(&store, "bkt").is_empty());
    let meta = store
        .put_object("bkt", "k", body(&chunks), PutOptions::default())
        .await
        .unwrap();
    assert_eq!(meta.size, total);
    assert_eq!(read_all(&store, "bkt", "k").await.len() as u64, total);
}

#[tokio::test]
async fn a_completed_upload_answers_a_retry_with_the_same_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    let id = store
        .create_multipart_upload("bkt", "mp", NewUpload::default())
        .await
        .unwrap();
    let part = store
        .upload_part("bkt", &id, 1, body(&[b"abc"]), &BodyChecks::default())
        .await
        .unwrap();
    let parts = vec![(1, format!("\"{}\"", part.etag))];
    let complete = |parts: Vec<(i32, String)>| Completion {
        parts: parts
            .into_iter()
            .map(|(number, etag)| RequestedPart {
                number,
                etag,
                checksums: BTreeMap::new(),
            })
            .collect(),
        ..Completion::default()
    };
    let first = store
        .complete_multipart_upload("bkt", &id, complete(parts.clone()))
        .await
        .unwrap();
    // A retry (quotes or not) answers the same object without writing it again.
    let again = store
        .complete_multipart_upload("bkt", &id, complete(vec![(1, part.etag.clone())]))
        .await
        .unwrap();
    assert_eq!((&again.key, &again.etag), (&first.key, &first.etag));
    assert_eq!(read_all(&store, "bkt", "mp").await, b"abc");
    // Other parts, an abort and a part upload find no upload; nothing lists.
    let other = store
        .complete_multipart_upload("bkt", &id, complete(vec![(2, part.etag.clone())]))
        .await;
    assert!(
        matches!(other, Err(StoreError::NoSuchUpload(_))),
        "{other:?}"
    );
    assert!(matches!(
        store.abort_multipart_upload("bkt", &id).await,
        Err(StoreError::NoSuchUpload(_))
    ));
    assert!(
        store
            .list_multipart_uploads("bkt", "")
            .await
            .unwrap()
            .is_empty()
    );
    // The record survives a restart, and goes once it is old enough.
    drop(store);
    let store = Store::open(dir.path()).await.unwrap();
    store
        .complete_multipart_upload("bkt", &id, complete(parts.clone()))
        .await
        .unwrap();
    assert_eq!(
        store
            .prune_completed_uploads(now_ms() - 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.prune_completed_uploads(now_ms() + 1).await.unwrap(),
        1
    );
    let gone = store
        .complete_multipart_upload("bkt", &id, complete(parts))
        .await;
    assert!(matches!(gone, Err(StoreError::NoSuchUpload(_))), "{gone:?}");
}

#[tokio::test]
async fn bucket_regions_persist_and_old_records_are_us_east_1() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store
        .create_bucket_in("in-eu", Some("eu-west-1"))
        .await
        .unwrap();
    store
        .create_bucket_in("in-us", Some("us-east-1"))
        .await
        .unwrap();
    drop(store);
    // A record written before regions were kept.
    let legacy = dir.path().join("buckets/old");
    std::fs::create_dir_all(legacy.join("keys")).unwrap();
    std::fs::create_dir_all(legacy.join("blobs")).unwrap();
    std::fs::write(legacy.join("bucket.json"), br#"{"created_ms":5}"#).unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let regions: Vec<(String, Option<String>)> = store
        .list_buckets()
        .into_iter()
        .map(|b| (b.name, b.region))
        .collect();
    assert_eq!(
        regions,
        [
            ("in-eu".to_owned(), Some("eu-west-1".to_owned())),
            ("in-us".to_owned(), None),
            ("old".to_owned(), None)
        ]
    );
    let record = std::fs::read_to_string(dir.path().join("buckets/in-us/bucket.json")).unwrap();
    assert!(!record.contains("region"), "{record}");
}

#[tokio::test]
async fn a_conditional_write_overtaken_by_another_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store.create_bucket("bkt").await.unwrap();
    // If-None-Match: * holds when the body starts; another PUT creates the key before it ends.
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let slow = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let options = PutOptions {
                condition: PutCondition::IfNoneMatchAny,
                ..PutOptions::default()
            };
            store.put_object("bkt", "k", rx, options).await
        })
    };
    tx.unbounded_send(Ok(Bytes::from_static(b"slow"))).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let winner = put(&store, "bkt", "k", b"fast").await;
    drop(tx);
    let lost = slow.await.unwrap();
    assert!(
        matches!(lost, Err(StoreError::ConditionalRequestConflict)),
        "{lost:?}"
    );
    assert_eq!(read_all(&store, "bkt", "k").await, b"fast");
    // If-Match on the winner's ETag, overtaken the same way.
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    let slow = {
        let store = Arc::clone(&store);
        let etag = winner.etag.clone();
        tokio::spawn(async move {
            let options = PutOptions {
                condition: PutCondition::IfMatch(etag),
                ..PutOptions::default()
            };
            store.put_object("bkt", "k", rx, options).await
        })
    };
    tx.unbounded_send(Ok(Bytes::from_static(b"slow"))).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    put(&store, "bkt", "k", b"faster").await;
    drop(tx);
    let lost = slow.await.unwrap();
    assert!(
        matches!(lost, Err(StoreError::ConditionalRequestConflict)),
        "{lost:?}"
    );
    // A condition that fails from the start is 412, not a conflict.
    let parts = [b"x".as_slice()];
    let refused = store
        .put_object(
            "bkt",
            "k",
            body(&parts),
            PutOptions {
                condition: PutCondition::IfNoneMatchAny,
                ..PutOptions::default()
            },
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::PreconditionFailed)),
        "{refused:?}"
    );
    assert_eq!(read_all(&store, "bkt", "k").await, b"faster");
}
