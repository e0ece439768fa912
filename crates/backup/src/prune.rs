//! `sejf backup prune`: keeps the newest backup of each of the last N days, M ISO weeks and K
//! months that have one (as restic's `--keep-daily/weekly/monthly` do), always the newest, and
//! removes the rest, with the incomplete backups older than the newest complete one. Only
//! manifests signed by the pinned key count: a backup that is not trusted is never the reason
//! another one is removed, and is itself left for a person to look at. Key copies (`create
//! --keys-to`) on their own target are pruned by the same policy.

use std::collections::BTreeSet;

use super::manifest::Manifest;
use super::target::{self, Target};
use crate::BackupError;

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

/// The calendar bucket (day, ISO week or month) a time falls in.
type BucketOf = fn(time::OffsetDateTime) -> (i32, u32);

/// Which of `backups` (id, creation time in unix microseconds) to keep.
pub fn keep(backups: &[(String, i64)], policy: Policy) -> BTreeSet<String> {
    let mut sorted: Vec<&(String, i64)> = backups.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut kept = BTreeSet::new();
    if let Some(newest) = sorted.first() {
        kept.insert(newest.0.clone());
    }
    let buckets: [(u32, BucketOf); 3] = [
        (policy.daily, |t| (t.year(), t.ordinal() as u32)),
        (policy.weekly, |t| {
            let (y, w, _) = t.to_iso_week_date();
            (y, u32::from(w))
        }),
        (policy.monthly, |t| (t.year(), u32::from(u8::from(t.month())))),
    ];
    for (n, bucket_of) in buckets {
        let mut last = None;
        let mut count = 0;
        for (id, at) in &sorted {
            if count >= n {
                break;
            }
            let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(*at) * 1000) else { continue };
            let bucket = bucket_of(t);
            if last != Some(bucket) {
                last = Some(bucket);
                count += 1;
                kept.insert(id.clone());
            }
        }
    }
    kept
}

/// Prunes `target`; returns the summary line.
pub fn prune(target: &dyn Target, key: &[u8; 32], policy: Policy, dry_run: bool) -> Result<String, BackupError> {
    let mut complete = Vec::new();
    let mut incomplete = Vec::new();
    let mut untrusted = 0;
    for id in target.ids()? {
        // A key copy (`create --keys-to`) is pruned by the same policy as the backups.
        let manifest = match target.get(&format!("{id}/{}", target::MANIFEST))? {
            Some(bytes) => Some(bytes),
            None => target.get(&format!("{id}/{}", target::KEYS_MANIFEST))?,
        };
        match manifest {
            None => incomplete.push(id),
            Some(bytes) => match super::manifest::open::<Manifest>(&bytes, key, "manifest") {
                Ok(m) if m.id == id => complete.push((id, m.created_at_us)),
                _ => untrusted += 1,
            },
        }
    }
    let kept = keep(&complete, policy);
    let newest = complete.iter().map(|(id, _)| id.clone()).max();
    let mut remove: Vec<String> = complete.iter().filter(|(id, _)| !kept.contains(id)).map(|(id, _)| id.clone()).collect();
    // An incomplete backup newer than the newest complete one may still be being written.
    remove.extend(incomplete.into_iter().filter(|id| newest.as_ref().is_some_and(|n| id < n)));
    remove.sort();
    if !dry_run {
        for id in &remove {
            target.remove(id)?;
        }
    }
    Ok(format!(
        "{} {} backup(s) on {}{}, kept {}{}",
        if dry_run { "would remove" } else { "removed" },
        remove.len(),
        target.describe(),
        if remove.is_empty() { String::new() } else { format!(" ({})", remove.join(", ")) },
        kept.len(),
        if untrusted > 0 { format!("; left {untrusted} backup(s) not signed by the pinned key alone") } else { String::new() }
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;
    // 2026-01-01T12:00:00Z, a Thursday.
    const T0: i64 = 1_767_268_800_000_000;

    #[test]
    fn keeps_the_newest_of_each_day_week_and_month() {
        // Two backups a day for 70 days.
        let backups: Vec<(String, i64)> = (0..140).map(|i| (format!("b{i:03}"), T0 + (i / 2) * DAY + (i % 2) * 3_600_000_000)).collect();
        let kept = keep(&backups, Policy { daily: 3, weekly: 2, monthly: 2 });
        // Newest three days: the later backup of days 69, 68, 67.
        for id in ["b139", "b137", "b135"] {
            assert!(kept.contains(id), "{id} in {kept:?}");
        }
        assert!(!kept.contains("b138"), "only the newest of a day");
        // Months: March (newest, day 69 = 2026-03-11) and February's last (day 58 = 2026-02-28).
        assert!(kept.contains("b117"), "{kept:?}");
        assert!(kept.len() <= 3 + 2 + 2);
        let none = keep(&backups, Policy { daily: 0, weekly: 0, monthly: 0 });
        assert_eq!(none.into_iter().collect::<Vec<_>>(), vec!["b139".to_string()], "the newest is always kept");
    }
}
