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

/// Reads a byte string the reader lends for the call into what `parse` makes of it.
fn from_byte_string<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    what: &'static str,
    parse: fn(&[u8]) -> Result<T, String>,
) -> Result<T, D::Error> {
    struct ByteString<T> {
        what: &'static str,
        parse: fn(&[u8]) -> Result<T, String>,
    }

    impl<T> Visitor<'_> for ByteString<T> {
        type Value = T;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.what)
        }

        fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<T, E> {
            (self.parse)(bytes).map_err(E::custom)
        }
    }

    deserializer.deserialize_byte_buf(ByteString { what, parse })
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
        from_byte_string(deserializer, "a decimal's 16 bytes", |bytes| {
            let bytes = bytes
                .try_into()
                .map_err(|_| format!("{} bytes where a decimal has 16", bytes.len()))?;
            Ok(Decimal::deserialize(bytes))
        })
    }
}

/// A compressed bitmap in its portable form, read back from a buffer the reader lends for the
/// call (`roaring`'s own serde support borrows from the input, which the image, read from the
/// file a buffer at a time, cannot lend).
pub mod bitmap {
    use roaring::RoaringBitmap;
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
        super::from_byte_string(
            deserializer,
            "a bitmap in roaring's portable form",
            |bytes| RoaringBitmap::deserialize_from(bytes).map_err(|e| e.to_string()),
        )
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
