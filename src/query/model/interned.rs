//! Values many rows share, stored once and referred to by number.

use std::hash::Hash;

use foldhash::HashMap;

/// Each distinct value once, numbered, with how many rows refer to it; a number no row refers
/// to any more is given to the next new value.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(bound(deserialize = "T: serde::Deserialize<'de> + Eq + Hash"))]
pub struct Interned<T> {
    ids: HashMap<T, u32>,
    values: Vec<Option<T>>,
    uses: Vec<u32>,
    free: Vec<u32>,
}

impl<T> Default for Interned<T> {
    fn default() -> Self {
        Interned {
            ids: HashMap::default(),
            values: Vec::new(),
            uses: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Interned<T> {
    /// The number of `value`, counting one more use of it.
    pub fn acquire(&mut self, value: T) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            self.uses[id as usize] += 1;
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.values[id as usize] = Some(value.clone());
                self.uses[id as usize] = 1;
                id
            }
            None => {
                let id = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
                self.values.push(Some(value.clone()));
                self.uses.push(1);
                id
            }
        };
        self.ids.insert(value, id);
        id
    }

    /// Counts one use of `id` less, forgetting its value after the last.
    pub fn release(&mut self, id: u32) {
        let uses = &mut self.uses[id as usize];
        *uses -= 1;
        if *uses == 0
            && let Some(value) = self.values[id as usize].take()
        {
            self.ids.remove(&value);
            self.free.push(id);
        }
    }

    /// The value numbered `id`, which a row refers to.
    pub fn get(&self, id: u32) -> &T {
        self.values[id as usize]
            .as_ref()
            .expect("a row refers only to a value in use")
    }

    /// The number of `value`, if some row refers to it.
    pub fn find(&self, value: &T) -> Option<u32> {
        self.ids.get(value).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_kept_while_used_and_its_number_reused_after() {
        let mut interned = Interned::default();
        let a = interned.acquire("a".to_string());
        assert_eq!(interned.acquire("a".to_string()), a);
        let b = interned.acquire("b".to_string());
        assert_ne!(a, b);
        interned.release(a);
        assert_eq!(interned.get(a), "a");
        interned.release(a);
        assert_eq!(interned.find(&"a".to_string()), None);
        let c = interned.acquire("c".to_string());
        assert_eq!(c, a, "the freed number is reused");
        assert_eq!(interned.get(c), "c");
        assert_eq!(interned.get(b), "b");
    }
}
