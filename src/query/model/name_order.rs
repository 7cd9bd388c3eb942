//! Row numbers kept in the order of their rows' names, in chunks: inserting one moves at most
//! a chunk's numbers, where one sorted vector of ten million would move megabytes.

/// Numbers per chunk after a split; a chunk splits when it holds twice as many.
const CHUNK: usize = 1024;

/// Where a row number is, or would go, in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    chunk: usize,
    index: usize,
}

impl Position {
    /// The position just after this one, when this one holds a number.
    pub fn next(self) -> Position {
        Position {
            index: self.index + 1,
            ..self
        }
    }
}

/// Row numbers in name order; the names live elsewhere, so every search is given them.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct NameOrder {
    /// Each sorted and none empty; every name in a chunk comes before the next chunk's.
    chunks: Vec<Vec<u32>>,
    len: usize,
}

impl NameOrder {
    /// The order of `rows`, which are in name order already.
    pub fn from_sorted(rows: Vec<u32>) -> Self {
        NameOrder {
            len: rows.len(),
            chunks: rows.chunks(CHUNK).map(<[u32]>::to_vec).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The first position.
    pub fn start(&self) -> Position {
        Position { chunk: 0, index: 0 }
    }

    /// The position after the last number.
    pub fn end(&self) -> Position {
        Position {
            chunk: self.chunks.len(),
            index: 0,
        }
    }

    /// Where the row named `name` is or would go, and the row if it is there.
    pub fn locate<'a>(
        &self,
        name: &str,
        name_of: impl Fn(u32) -> &'a str,
    ) -> (Position, Option<u32>) {
        let chunk = self
            .chunks
            .partition_point(|rows| rows.last().is_some_and(|last| name_of(*last) < name));
        let Some(rows) = self.chunks.get(chunk) else {
            return (self.end(), None);
        };
        match rows.binary_search_by(|row| name_of(*row).cmp(name)) {
            Ok(index) => (Position { chunk, index }, Some(rows[index])),
            Err(index) => (Position { chunk, index }, None),
        }
    }

    /// Puts `row` at `position`, which `locate` found for its name.
    pub fn insert(&mut self, position: Position, row: u32) {
        self.len += 1;
        if position.chunk == self.chunks.len() {
            match self.chunks.last_mut() {
                Some(last) if last.len() < 2 * CHUNK => last.push(row),
                _ => self.chunks.push(vec![row]),
            }
            return;
        }
        let rows = &mut self.chunks[position.chunk];
        rows.insert(position.index, row);
        if rows.len() > 2 * CHUNK {
            let tail = rows.split_off(CHUNK);
            rows.shrink_to_fit();
            self.chunks.insert(position.chunk + 1, tail);
        }
    }

    /// Takes out the number at `position`, which `locate` found there.
    pub fn remove(&mut self, position: Position) {
        self.len -= 1;
        let rows = &mut self.chunks[position.chunk];
        rows.remove(position.index);
        if rows.is_empty() {
            self.chunks.remove(position.chunk);
        }
    }

    /// The numbers from `position` on, in order.
    pub fn from(&self, position: Position) -> impl Iterator<Item = u32> + '_ {
        self.chunks
            .get(position.chunk..)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .flat_map(move |(i, rows)| {
                let first = if i == 0 { position.index } else { 0 };
                rows.get(first..).unwrap_or_default().iter().copied()
            })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Inserting and removing names in any order keeps every number in name order.
        #[test]
        fn the_order_stays_sorted_through_inserts_and_removes(
            operations in prop::collection::vec((any::<bool>(), 0u32..5_000), 1..6_000)
        ) {
            let mut names: Vec<String> = Vec::new();
            let mut order = NameOrder::default();
            let mut expected = std::collections::BTreeSet::new();
            for (insert, key) in operations {
                let name = format!("n{key:05}");
                let name_of = |row: u32| names[row as usize].as_str();
                let (position, found) = order.locate(&name, name_of);
                match (insert, found) {
                    (true, None) => {
                        names.push(name.clone());
                        order.insert(position, names.len() as u32 - 1);
                        expected.insert(name);
                    }
                    (false, Some(row)) => {
                        prop_assert_eq!(&names[row as usize], &name);
                        order.remove(position);
                        expected.remove(&name);
                    }
                    _ => prop_assert_eq!(found.is_some(), expected.contains(&name)),
                }
            }
            let listed: Vec<&str> = order.from(order.start()).map(|row| names[row as usize].as_str()).collect();
            let wanted: Vec<&str> = expected.iter().map(String::as_str).collect();
            prop_assert_eq!(order.len(), wanted.len());
            prop_assert_eq!(listed, wanted);
        }
    }
}
