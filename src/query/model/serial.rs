//! How some fields of the model are written in its image (`image`) where serde's defaults
//! would be slow or wasteful at ten million rows.

use std::marker::PhantomData;

use rust_decimal::Decimal;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Reads a sequence into a vector allocated once at its length. Serde's own grows a vector
/// from a megabyte by doubling: at hundreds of megabytes, each step briefly holds the old and
/// the new copy, and the last leaves up to half of it unused. The length is trusted because
/// the image's checksum is verified before anything is read.
pub fn vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct AtLength<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for AtLength<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    deserializer.deserialize_seq(AtLength(PhantomData))
}

/// A decimal as its 16 bytes, instead of the text `rust_decimal` writes by default: ten
/// million values printed and parsed would take seconds of a restart. Written as a byte
/// string, so it is read in one piece rather than byte by byte as an array would be.
pub mod decimal {
    use super::*;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&Decimal::serialize(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        struct Bytes;

        impl Visitor<'_> for Bytes {
            type Value = Decimal;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal's 16 bytes")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Decimal, E> {
                let bytes = bytes
                    .try_into()
                    .map_err(|_| E::invalid_length(bytes.len(), &self))?;
                Ok(Decimal::deserialize(bytes))
            }
        }

        deserializer.deserialize_byte_buf(Bytes)
    }
}

/// A compressed bitmap in its portable form, read back from a buffer the reader lends for the
/// call (`roaring`'s own serde support borrows from the input, which the image, read from the
/// file a buffer at a time, cannot lend).
pub mod bitmap {
    use roaring::RoaringBitmap;
    use serde::de::{Error as _, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        bitmap: &RoaringBitmap,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(bitmap.serialized_size());
        bitmap
            .serialize_into(&mut bytes)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<RoaringBitmap, D::Error> {
        struct Portable;

        impl Visitor<'_> for Portable {
            type Value = RoaringBitmap;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a bitmap in roaring's portable form")
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<RoaringBitmap, E> {
                RoaringBitmap::deserialize_from(bytes).map_err(E::custom)
            }
        }

        deserializer
            .deserialize_byte_buf(Portable)
            .map_err(D::Error::custom)
    }
}

/// A map whose values are bitmaps, each in the portable form of [`bitmap`].
pub mod bitmaps {
    use std::collections::HashMap;
    use std::hash::{BuildHasher, Hash};

    use roaring::RoaringBitmap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    struct Stored<'a>(&'a RoaringBitmap);

    impl Serialize for Stored<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::bitmap::serialize(self.0, serializer)
        }
    }

    struct Loaded(RoaringBitmap);

    impl<'de> Deserialize<'de> for Loaded {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            super::bitmap::deserialize(deserializer).map(Loaded)
        }
    }

    pub fn serialize<K: Serialize, H, S: Serializer>(
        map: &HashMap<K, RoaringBitmap, H>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(map.iter().map(|(key, rows)| (key, Stored(rows))))
    }

    pub fn deserialize<'de, K, H, D>(
        deserializer: D,
    ) -> Result<HashMap<K, RoaringBitmap, H>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        H: BuildHasher + Default,
        D: Deserializer<'de>,
    {
        let loaded = HashMap::<K, Loaded, H>::deserialize(deserializer)?;
        Ok(loaded
            .into_iter()
            .map(|(key, rows)| (key, rows.0))
            .collect())
    }
}
