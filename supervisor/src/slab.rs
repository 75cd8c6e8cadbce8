//! Entries addressed by a key that stays valid until the entry is removed; the keys of removed
//! entries are reused, so the storage is as large as the most entries there were at once.

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    entries: Vec<Option<T>>,
    /// Keys of removed entries, to reuse.
    free: Vec<usize>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `value`; its key.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        match self.free.pop() {
            Some(key) => {
                self.entries[key] = Some(value);
                key
            }
            None => {
                self.entries.push(Some(value));
                self.entries.len() - 1
            }
        }
    }

    pub(crate) fn get(&self, key: usize) -> Option<&T> {
        self.entries.get(key).and_then(Option::as_ref)
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.entries.get_mut(key).and_then(Option::as_mut)
    }

    /// Takes the entry out; its key may be given to the next insertion.
    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let value = self.entries.get_mut(key).and_then(Option::take)?;
        self.free.push(key);
        Some(value)
    }

    /// The entries there are, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().flatten()
    }

    /// Takes every entry out, leaving the slab empty.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + use<T> {
        self.free.clear();
        std::mem::take(&mut self.entries).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn keys_stay_valid_until_removed_and_are_then_reused() {
        let mut slab = Slab::default();
        let (a, b) = (slab.insert("a"), slab.insert("b"));
        assert_eq!((slab.get(a), slab.get(b)), (Some(&"a"), Some(&"b")));
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(a), None);
        let c = slab.insert("c");
        assert_eq!(c, a);
        assert_eq!(slab.iter().copied().collect::<Vec<_>>(), ["c", "b"]);
        *slab.get_mut(b).unwrap() = "B";
        assert_eq!(slab.drain().collect::<Vec<_>>(), ["c", "B"]);
        assert_eq!(slab.iter().count(), 0);
        assert_eq!(slab.insert("d"), 0);
    }
}
