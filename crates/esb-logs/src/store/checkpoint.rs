//! Sealing and checkpoints. A checkpoint rotates the WAL to a new segment, seals the
//! buffered rows into blocks tagged with the old segment's number, carries small young
//! buffers into the new segment instead (so quiet streams do not make tiny blocks), syncs
//! everything, records the checkpoint and deletes the WAL segments it covers. A crash at
//! any point leaves either the old segments (replayed; the tagged blocks dropped) or the
//! completed checkpoint.
//!
//! Between checkpoints, a buffer reaching `seal_bytes` is sealed at once, tagged with the
//! active segment: its rows stay in the WAL until that segment's checkpoint completes.

use std::sync::Arc;
use std::time::Instant;

use super::memtail::Buffer;
use super::partition::{BlockRef, Partition};
use super::recovery::{WAL_DIR, partition_dir, write_checkpoint};
use super::retention::allowed_days;
use super::wal::{self, ActiveSegment};
use super::{Sealer, Shared, StoreError};
use crate::row::Row;
use crate::store::block;
use crate::timeutil;

impl Shared {
    /// Whether the maintainer should run a checkpoint now.
    pub(super) fn checkpoint_due(&self) -> bool {
        let applied = self.lock_sealer().applied;
        let state = self.read_state();
        let wal = &state.wal;
        wal.appended >= self.config.checkpoint_bytes
            // Carried buffers stay in the tail: only count past what carrying may keep.
            || state.tail.bytes() as u64
                >= self.config.checkpoint_bytes.max(2 * self.config.carry_total as u64)
            || (wal.appended > 0 && wal.opened.elapsed() >= self.config.checkpoint_interval)
            || state.wal_broken.is_some()
            // Segments older than the active one's predecessor remain after a recovery.
            || applied + 1 < wal.seg
            || state
                .tail
                .oldest()
                .is_some_and(|since| since.elapsed() >= self.config.carry_age)
    }

    /// Runs a checkpoint; `force` seals every buffer (nothing is carried).
    pub(super) fn checkpoint(&self, force: bool) -> Result<(), StoreError> {
        let mut sealer = self.lock_sealer();
        let (min_day, _) = allowed_days(timeutil::now_ns(), &self.config);
        let wal_dir = self.dir.join(WAL_DIR);
        // Most of the segment is synced before taking the lock, so the sync under it (which
        // stalls appends and queries) only covers what arrived meanwhile.
        let active = Arc::clone(&self.read_state().wal.file);
        active
            .sync_data()
            .map_err(|e| StoreError::Sync(e.to_string()))?;
        let (old_seg, new_file, pending) = {
            let mut state = self.write_state();
            if state.closed {
                return Err(StoreError::Closed);
            }
            let nothing_new = state.wal.len == 0 && sealer.applied + 1 >= state.wal.seg;
            if nothing_new && state.tail.is_empty() && state.frozen.is_empty() {
                return Ok(());
            }
            // Appends up to now become durable here, so the flusher need only ever sync the
            // active segment.
            state
                .wal
                .file
                .sync_data()
                .map_err(|e| StoreError::Sync(e.to_string()))?;
            let old_seg = state.wal.seg;
            let next = ActiveSegment::create(&wal_dir, old_seg + 1).map_err(StoreError::Seal)?;
            state.wal = next;
            state.wal_broken = None;
            let (seal, carry) = self.split(state.tail.take_all(), min_day, force);
            if !carry.is_empty() {
                let rows: Vec<Arc<Row>> =
                    carry.iter().flat_map(|b| b.rows.iter().cloned()).collect();
                let mut record = Vec::new();
                wal::encode_record(wal::Kind::Carry { tag: old_seg }, &rows, &mut record);
                if let Err(e) = state.wal.write(&record) {
                    // Nothing is lost: the rows stay buffered and their records stay in the
                    // old segments, which are kept because this checkpoint stops here.
                    for buffer in seal.into_iter().chain(carry) {
                        state.tail.put_back(buffer);
                    }
                    let (wal::WriteError::Clean(e) | wal::WriteError::Broken(e)) = e;
                    state.wal_broken = Some(e.to_string());
                    return Err(StoreError::Seal(e));
                }
            }
            for buffer in carry {
                state.tail.put_back(buffer);
            }
            state.frozen.extend(seal.into_iter().map(Arc::new));
            // Buffers a failed earlier job left frozen are sealed with this checkpoint too.
            (old_seg, Arc::clone(&state.wal.file), state.frozen.clone())
        };
        for buffer in &pending {
            self.seal(buffer, old_seg, &mut sealer)?;
        }
        for partition in std::mem::take(&mut sealer.dirty).into_values() {
            partition.sync().map_err(StoreError::Seal)?;
        }
        new_file
            .sync_data()
            .map_err(|e| StoreError::Sync(e.to_string()))?;
        write_checkpoint(&self.dir, old_seg).map_err(StoreError::Seal)?;
        sealer.applied = old_seg;
        for seg in wal::list_segments(&wal_dir).map_err(StoreError::Seal)? {
            if seg <= old_seg {
                std::fs::remove_file(wal::segment_path(&wal_dir, seg)).map_err(StoreError::Seal)?;
            }
        }
        Ok(())
    }

    /// Splits buffers at a checkpoint into those to seal and those to carry; buffers of
    /// days past the retention are dropped.
    fn split(&self, buffers: Vec<Buffer>, min_day: i64, force: bool) -> (Vec<Buffer>, Vec<Buffer>) {
        let today = timeutil::day_of(timeutil::now_ns());
        let mut seal = Vec::new();
        let mut carry = Vec::new();
        for buffer in buffers {
            if buffer.day < min_day {
                continue;
            }
            let small = buffer.bytes < self.config.carry_bytes;
            let young = buffer.since.elapsed() < self.config.carry_age;
            if !force && small && young && buffer.day >= today {
                carry.push(buffer);
            } else {
                seal.push(buffer);
            }
        }
        // Bound what stays in memory: seal the largest carried buffers first.
        carry.sort_by_key(|b| std::cmp::Reverse(b.bytes));
        let mut total: usize = carry.iter().map(|b| b.bytes).sum();
        while total > self.config.carry_total {
            let Some(buffer) = carry.first() else { break };
            total = total.saturating_sub(buffer.bytes);
            seal.push(carry.remove(0));
        }
        (seal, carry)
    }

    /// Seals buffers that reached `seal_bytes`.
    pub(super) fn seal_oversized(&self) -> Result<(), StoreError> {
        let mut sealer = self.lock_sealer();
        let (tag, pending) = {
            let mut state = self.write_state();
            let keys: Vec<_> = state
                .tail
                .buffers()
                .filter(|b| b.bytes >= self.config.seal_bytes)
                .map(|b| (b.day, b.stream.id()))
                .collect();
            let mut pending = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(buffer) = state.tail.take(&key) {
                    let buffer = Arc::new(buffer);
                    state.frozen.push(Arc::clone(&buffer));
                    pending.push(buffer);
                }
            }
            (state.wal.seg, pending)
        };
        for buffer in &pending {
            self.seal(buffer, tag, &mut sealer)?;
        }
        Ok(())
    }

    /// Writes a frozen buffer as blocks of at most `seal_bytes` each, then swaps them in for
    /// the buffer in one step, so queries see the rows exactly once throughout.
    fn seal(&self, buffer: &Arc<Buffer>, tag: u64, sealer: &mut Sealer) -> Result<(), StoreError> {
        let started = Instant::now();
        let partition = self.partition(buffer.day, sealer)?;
        let mut rows = buffer.rows.clone();
        rows.sort_by_key(|r| r.time);
        let mut written: Vec<Arc<BlockRef>> = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < rows.len() && (end == start || bytes < self.config.seal_bytes) {
                bytes += rows.get(end).map_or(0, |r| r.text_len());
                end += 1;
            }
            let chunk = rows.get_mut(start..end).unwrap_or_default();
            let encoded = block::encode(chunk, tag).map_err(StoreError::Seal)?;
            written.push(
                partition
                    .write_block(encoded, &buffer.stream)
                    .map_err(StoreError::Seal)?,
            );
            start = end;
        }
        sealer.dirty.insert(buffer.day, Arc::clone(&partition));
        let mut state = self.write_state();
        for block in written {
            partition.register(block);
        }
        state.frozen.retain(|f| !Arc::ptr_eq(f, buffer));
        drop(state);
        self.room_freed.notify_all();
        tracing::debug!(rows = rows.len(), elapsed = ?started.elapsed(), "sealed a log buffer");
        Ok(())
    }

    /// The partition of `day`, created if needed.
    fn partition(&self, day: i64, sealer: &Sealer) -> Result<Arc<Partition>, StoreError> {
        if let Some(partition) = self.read_state().partitions.get(&day) {
            return Ok(Arc::clone(partition));
        }
        // Only sealing jobs create partitions and they are serialized by the sealer lock,
        // so nobody races us between the check above and the insert below.
        let partition = Partition::open(
            partition_dir(&self.dir, day),
            day,
            sealer.applied,
            &mut |s| Arc::new(s),
        )
        .map_err(StoreError::Seal)?;
        let partition = Arc::new(partition);
        self.write_state()
            .partitions
            .insert(day, Arc::clone(&partition));
        Ok(partition)
    }
}
