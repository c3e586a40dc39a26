//! Store behaviour across appends, checkpoints, restarts and damage.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use super::*;

fn config() -> StoreConfig {
    StoreConfig {
        // Nothing happens behind the test's back unless it asks.
        checkpoint_interval: Duration::from_secs(3600),
        carry_age: Duration::from_secs(3600),
        ..StoreConfig::default()
    }
}

fn stream(name: &str) -> Arc<Stream> {
    Arc::new(Stream::new([("app".to_owned(), name.to_owned())]))
}

fn rows(stream: &Arc<Stream>, from: usize, count: usize) -> Vec<Row> {
    let now = timeutil::now_ns();
    (from..from + count)
        .map(|i| {
            Row::new(
                now - 1_000_000 * (count - (i - from)) as i64,
                Arc::clone(stream),
                [
                    ("_msg", format!("message {i}")),
                    ("app", stream.get("app").unwrap_or_default().to_owned()),
                ],
            )
        })
        .collect()
}

/// Every message the store holds, sorted.
fn messages(store: &Store) -> Vec<String> {
    let snapshot = store.snapshot(i64::MIN, i64::MAX, &|_| true);
    let mut out = Vec::new();
    for part in &snapshot.tail {
        out.extend(
            part.rows
                .iter()
                .map(|r| r.field("_msg").unwrap_or_default().to_owned()),
        );
    }
    for block in &snapshot.blocks {
        let decoded = block.read().unwrap();
        let col = decoded.column_index("_msg").unwrap();
        out.extend(
            (0..decoded.len()).map(|i| decoded.value(col, i).unwrap_or_default().to_owned()),
        );
    }
    out.sort();
    out
}

fn expected(count: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..count).map(|i| format!("message {i}")).collect();
    v.sort();
    v
}

#[test]
fn appended_rows_are_searchable_at_once_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = stream("a");
    {
        let store = Store::open(dir.path(), config()).unwrap();
        let outcome = store.append(rows(&a, 0, 100), Durability::Written).unwrap();
        assert_eq!(outcome.stored, 100);
        assert_eq!(messages(&store), expected(100));
        // No checkpoint: the WAL alone holds the rows.
    }
    let store = Store::open(dir.path(), config()).unwrap();
    assert_eq!(messages(&store), expected(100));
    store.append(rows(&a, 100, 10), Durability::Synced).unwrap();
    assert_eq!(messages(&store), expected(110));
}

#[test]
fn a_flush_moves_rows_into_blocks_and_trims_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    store
        .append(rows(&stream("a"), 0, 60), Durability::Written)
        .unwrap();
    store
        .append(rows(&stream("b"), 60, 40), Durability::Written)
        .unwrap();
    store.flush().unwrap();
    let snapshot = store.snapshot(i64::MIN, i64::MAX, &|_| true);
    assert!(snapshot.tail.is_empty());
    assert_eq!(snapshot.blocks.len(), 2);
    assert_eq!(messages(&store), expected(100));
    let segments = wal::list_segments(&dir.path().join("wal")).unwrap();
    assert_eq!(
        segments.len(),
        1,
        "only the new active segment remains: {segments:?}"
    );
    drop(store);
    let store = Store::open(dir.path(), config()).unwrap();
    assert_eq!(messages(&store), expected(100));
    // A stream filter prunes blocks by stream.
    let only_b = store.snapshot(i64::MIN, i64::MAX, &|s| s.get("app") == Some("b"));
    assert_eq!(only_b.blocks.len(), 1);
}

#[test]
fn blocks_of_an_unfinished_checkpoint_are_replaced_by_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let small = StoreConfig {
        seal_bytes: 500,
        ..config()
    };
    {
        let store = Store::open(dir.path(), small.clone()).unwrap();
        store
            .append(rows(&stream("a"), 0, 50), Durability::Written)
            .unwrap();
        // Sealed between checkpoints: blocks exist but the checkpoint never completes.
        store.shared.seal_oversized().unwrap();
        let snapshot = store.snapshot(i64::MIN, i64::MAX, &|_| true);
        assert!(!snapshot.blocks.is_empty());
        assert!(snapshot.tail.is_empty());
        assert_eq!(messages(&store), expected(50));
    }
    let store = Store::open(dir.path(), small).unwrap();
    // Exactly once: the blocks were dropped, the WAL replayed.
    assert_eq!(messages(&store), expected(50));
    assert!(
        store
            .snapshot(i64::MIN, i64::MAX, &|_| true)
            .blocks
            .is_empty()
    );
}

#[test]
fn small_buffers_are_carried_across_checkpoints_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), config()).unwrap();
        store
            .append(rows(&stream("quiet"), 0, 5), Durability::Written)
            .unwrap();
        store
            .append(rows(&stream("busy"), 5, 4000), Durability::Written)
            .unwrap();
        store.shared.checkpoint(false).unwrap();
        let snapshot = store.snapshot(i64::MIN, i64::MAX, &|_| true);
        assert_eq!(snapshot.tail.len(), 1, "the quiet stream stays buffered");
        assert_eq!(snapshot.blocks.len(), 1, "the busy stream became a block");
        assert_eq!(messages(&store), expected(4005));
        // A second checkpoint carries the quiet stream again.
        store
            .append(rows(&stream("quiet"), 4005, 1), Durability::Written)
            .unwrap();
        store.shared.checkpoint(false).unwrap();
        assert_eq!(messages(&store), expected(4006));
    }
    let store = Store::open(dir.path(), config()).unwrap();
    assert_eq!(messages(&store), expected(4006));
}

#[test]
fn a_torn_wal_tail_is_cut_without_losing_earlier_rows() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), config()).unwrap();
        store
            .append(rows(&stream("a"), 0, 20), Durability::Written)
            .unwrap();
    }
    let wal_dir = dir.path().join("wal");
    let last = *wal::list_segments(&wal_dir).unwrap().last().unwrap();
    let path = wal::segment_path(&wal_dir, last);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    bytes.extend_from_slice(&[0x40, 0, 0, 0, 1, 2, 3, 4, 5]);
    std::fs::write(&path, &bytes).unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    assert_eq!(messages(&store), expected(20));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len as u64);
}

#[test]
fn rows_outside_the_retention_window_are_refused_and_old_days_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    let a = stream("a");
    let mut batch = rows(&a, 0, 3);
    batch[0].time -= 30 * timeutil::DAY;
    batch[1].time += 30 * timeutil::DAY;
    let outcome = store.append(batch, Durability::Written).unwrap();
    assert_eq!(
        outcome,
        AppendOutcome {
            stored: 1,
            too_old: 1,
            too_new: 1
        }
    );
    // A day partition from long ago (e.g. left by a longer retention) is deleted.
    let old = timeutil::day_of(timeutil::now_ns()) - 30;
    let old_dir = recovery::partition_dir(dir.path(), old);
    std::fs::create_dir_all(&old_dir).unwrap();
    drop(store);
    let store = Store::open(dir.path(), config()).unwrap();
    assert!(!old_dir.exists());
    assert_eq!(messages(&store).len(), 1);
}

#[test]
fn the_disk_budget_drops_the_oldest_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    let a = stream("a");
    for days_ago in [3, 2, 1] {
        let mut batch = rows(&a, 0, 200);
        for row in &mut batch {
            row.time -= days_ago * timeutil::DAY;
        }
        store.append(batch, Durability::Written).unwrap();
    }
    store.flush().unwrap();
    let one_day = store.disk_bytes() / 3;
    drop(store);
    let budget = StoreConfig {
        max_disk_bytes: Some(one_day * 2),
        ..config()
    };
    let store = Store::open(dir.path(), budget).unwrap();
    let days = store.shared.read_state().partitions.len();
    assert!(days < 3, "{days} days kept");
}

#[test]
fn subscribers_receive_appends_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    let mut live = store.subscribe();
    store
        .append(rows(&stream("a"), 0, 2), Durability::Written)
        .unwrap();
    store
        .append(rows(&stream("a"), 2, 3), Durability::Written)
        .unwrap();
    let first = live.try_recv().unwrap();
    let second = live.try_recv().unwrap();
    assert_eq!((first.rows.len(), second.rows.len()), (2, 3));
    assert!(first.seq < second.seq);
    assert_eq!(store.snapshot(0, i64::MAX, &|_| true).seq, second.seq);
}

#[test]
fn one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::open(dir.path(), config()).unwrap();
    assert!(matches!(
        Store::open(dir.path(), config()),
        Err(StoreError::Locked(_))
    ));
}

#[test]
fn a_closed_store_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), config()).unwrap();
    store.close();
    assert!(matches!(
        store.append(rows(&stream("a"), 0, 1), Durability::Written),
        Err(StoreError::Closed)
    ));
}
