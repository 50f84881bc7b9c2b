//! Ordered maps and sets built by inserting one item at a time. Owns nothing else.
//!
//! `Iterator::collect()` into a `BTreeMap` or `BTreeSet` sorts its input first and then builds
//! the tree in one pass: quick for large inputs, but the stable sort it uses is compiled anew for
//! every item type, ~3.7 KB of wasm each (docs/bench-frontend.md). The page's maps hold a few
//! servers, links or messages, so inserting is as quick and costs no sort. A key that comes twice
//! keeps its last value, as `collect()` does.

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

#[cfg(test)]
mod tests {
    use super::IntoTree;
    use std::collections::{BTreeMap, BTreeSet};

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
