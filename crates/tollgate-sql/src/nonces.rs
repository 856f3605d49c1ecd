//! The nonce batch of the replay defence (group commit), as both backends write it.

use std::collections::HashSet;

use tollgate_core::time::Timestamp;

use crate::ms;

/// The distinct nonces of a batch, each with the expiry of its first copy, sorted: what a
/// backend inserts (`ON CONFLICT DO NOTHING`, returning the nonces it added). Sorted, so that
/// concurrent batches sharing nonces take their row locks in one order and cannot deadlock.
pub fn distinct_nonces(batch: &[(String, Timestamp)]) -> (Vec<String>, Vec<i64>) {
    let mut seen = HashSet::with_capacity(batch.len());
    let mut rows: Vec<(&str, i64)> = Vec::with_capacity(batch.len());
    for (nonce, until) in batch {
        if seen.insert(nonce.as_str()) {
            rows.push((nonce, ms(until)));
        }
    }
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    rows.into_iter().map(|(nonce, until)| (nonce.to_owned(), until)).unzip()
}

/// The answer for each entry of `batch`, given the nonces the insert added: `true` for the first
/// copy of an added nonce, `false` for a nonce already remembered and for every later copy.
pub fn first_seen(batch: &[(String, Timestamp)], added: Vec<String>) -> Vec<bool> {
    let mut added: HashSet<String> = added.into_iter().collect();
    batch.iter().map(|(nonce, _)| added.remove(nonce)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_core::time::now;

    #[test]
    fn later_copies_and_replays_are_false() {
        let t = now();
        let batch: Vec<(String, Timestamp)> = ["a", "b", "a", "c", "b"].iter().map(|n| (n.to_string(), t)).collect();
        let (nonces, expiries) = distinct_nonces(&batch);
        assert_eq!(nonces, ["a", "b", "c"]);
        assert_eq!(expiries.len(), 3);
        let reversed: Vec<_> = batch.iter().rev().cloned().collect();
        assert_eq!(distinct_nonces(&reversed).0, ["a", "b", "c"], "sorted, whatever the order");
        // "b" was already remembered: the insert added only "a" and "c".
        let seen = first_seen(&batch, vec!["c".into(), "a".into()]);
        assert_eq!(seen, [true, false, false, true, false]);
    }
}
