//! Ordered collections without the standard library's sorts: maps and sets built by inserting
//! one item at a time, and an insertion sort for the handful of items a view orders. Owns
//! nothing else.
//!
//! `Iterator::collect()` into a `BTreeMap` or `BTreeSet` sorts its input first and then builds
//! the tree in one pass: quick for large inputs, but the stable sort it uses is compiled anew for
//! every item type, ~3.7 KB of wasm each (docs/bench-frontend.md); `slice::sort*` costs the same
//! per type. The page's maps hold a few servers, links or messages, so inserting is as quick and
//! costs no sort. A key that comes twice keeps its last value, as `collect()` does.

use std::collections::{BTreeMap, BTreeSet};

/// `collect()` into an ordered map or set without sorting first.
pub trait IntoTree: Iterator + Sized {
    /// The pairs as a map (a repeated key keeps its last value).
    fn into_map<K: Ord, V>(self) -> BTreeMap<K, V>
    where
        Self: Iterator<Item = (K, V)>,
    {
        let mut map = BTreeMap::new();
        for (k, v) in self {
            map.insert(k, v);
        }
        map
    }

    /// The items as a set.
    fn into_set(self) -> BTreeSet<Self::Item>
    where
        Self::Item: Ord,
    {
        let mut set = BTreeSet::new();
        for item in self {
            set.insert(item);
        }
        set
    }
}

impl<I: Iterator> IntoTree for I {}

/// Sort `items` by `key`, keeping equal items in their order (as `sort_by_key` does), by
/// insertion: a few dozen bytes of code per item type. Quadratic, so only for inputs bounded by
/// the cluster's size (servers, terms on screen), never by the length of a run.
pub fn sort_small_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && key(&items[j - 1]) > key(&items[j]) {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IntoTree;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn the_small_sort_is_sort_by_key() {
        // Every arrangement of a list with repeated keys, against the standard stable sort.
        let items = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e'), (0, 'f')];
        let mut seen = 0;
        for n in 0..=items.len() {
            let mut v: Vec<_> = items[..n].to_vec();
            for _ in 0..720 {
                let mut ours = v.clone();
                let mut std = v.clone();
                super::sort_small_by_key(&mut ours, |p| p.0);
                std.sort_by_key(|p| p.0);
                assert_eq!(ours, std);
                seen += 1;
                next_permutation(&mut v);
            }
        }
        assert!(seen > 0);
    }

    /// The next arrangement in lexicographic order (wrapping around), by the char.
    fn next_permutation(v: &mut [(i32, char)]) {
        let Some(i) = (1..v.len()).rev().find(|&i| v[i - 1].1 < v[i].1) else {
            v.reverse();
            return;
        };
        let j = (i..v.len()).rev().find(|&j| v[j].1 > v[i - 1].1).unwrap();
        v.swap(i - 1, j);
        v[i..].reverse();
    }

    #[test]
    fn same_as_collect() {
        let pairs = [(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        let collected: BTreeMap<_, _> = pairs.into_iter().collect();
        assert_eq!(pairs.into_iter().into_map(), collected);
        let items = [5, 1, 5, 3, 2, 1];
        let collected: BTreeSet<_> = items.into_iter().collect();
        assert_eq!(items.into_iter().into_set(), collected);
    }
}
