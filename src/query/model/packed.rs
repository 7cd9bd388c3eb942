//! A compact byte form for the read model's variable-sized records: integers as LEB128
//! varints, decimals as scale, sign and mantissa, dates as year, month and day. Only the model
//! reads what it wrote, so the form needs no version and no validation beyond UTF-8.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// Appends values to a buffer.
pub struct Writer<'a>(pub &'a mut Vec<u8>);

impl Writer<'_> {
    pub fn byte(&mut self, value: u8) {
        self.0.push(value);
    }

    pub fn unsigned(&mut self, mut value: u128) {
        loop {
            let low = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    pub fn signed(&mut self, value: i64) {
        self.unsigned(u128::from(((value << 1) ^ (value >> 63)) as u64));
    }

    pub fn text(&mut self, value: &str) {
        self.unsigned(value.len() as u128);
        self.0.extend_from_slice(value.as_bytes());
    }

    pub fn decimal(&mut self, value: Decimal) {
        self.byte(value.scale() as u8 | u8::from(value.is_sign_negative()) << 7);
        self.unsigned(value.mantissa().unsigned_abs());
    }

    pub fn date(&mut self, value: Option<NaiveDate>) {
        self.unsigned(u128::from(PackedDate::of(value).0));
    }

    pub fn time(&mut self, value: Option<DateTime<Utc>>) {
        match value {
            None => self.byte(0),
            Some(time) => {
                self.byte(1);
                self.signed(time.timestamp());
                self.unsigned(u128::from(time.timestamp_subsec_nanos()));
            }
        }
    }
}

fn zigzag(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// A text's bytes as `Reader::text_bytes` read them, as the text.
pub fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("written from a str")
}

/// Reads values back in the order they were written.
#[derive(Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub fn byte(&mut self) -> u8 {
        self.at += 1;
        self.bytes[self.at - 1]
    }

    /// A value written from up to 128 bits (a decimal's mantissa). Its first nine bytes, all a
    /// mantissa under 2^63 takes, are read in 64-bit arithmetic: 128-bit shifts cost several
    /// instructions each.
    fn unsigned(&mut self) -> u128 {
        let mut low = 0;
        for shift in (0..63).step_by(7) {
            let byte = self.byte();
            low |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return u128::from(low);
            }
        }
        self.varint_from(u128::from(low), 63)
    }

    /// Steps over a varint without reading its value.
    fn skip_varint(&mut self) {
        while self.byte() & 0x80 != 0 {}
    }

    /// An unsigned value written from at most 64 bits: read in 64-bit arithmetic, a
    /// fraction of the cost in the counts, indexes and dates a read is made of.
    fn unsigned_64(&mut self) -> u64 {
        self.varint_from(0, 0)
    }

    /// The rest of a varint whose bits below `shift` are `value`.
    fn varint_from<T>(&mut self, mut value: T, mut shift: u32) -> T
    where
        T: From<u8> + std::ops::Shl<u32, Output = T> + std::ops::BitOrAssign,
    {
        loop {
            let byte = self.byte();
            value |= T::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }

    /// A count or an index, which was written from a usize or a u32.
    pub fn index(&mut self) -> usize {
        self.unsigned_64() as usize
    }

    pub fn signed(&mut self) -> i64 {
        let value = self.unsigned_64();
        (value >> 1) as i64 ^ -((value & 1) as i64)
    }

    pub fn text(&mut self) -> &'a str {
        text(self.text_bytes())
    }

    /// A text's bytes, not checked to be UTF-8: for a reader that only copies them.
    pub fn text_bytes(&mut self) -> &'a [u8] {
        let len = self.index();
        self.at += len;
        &self.bytes[self.at - len..self.at]
    }

    /// Steps over a text without checking it.
    pub fn skip_text(&mut self) {
        let len = self.index();
        self.at += len;
    }

    pub fn decimal(&mut self) -> Decimal {
        self.packed_decimal().get()
    }

    pub fn packed_decimal(&mut self) -> PackedDecimal {
        PackedDecimal {
            head: self.byte(),
            mantissa: self.unsigned(),
        }
    }

    pub fn date(&mut self) -> Option<NaiveDate> {
        self.packed_date().get()
    }

    pub fn packed_date(&mut self) -> PackedDate {
        PackedDate(self.unsigned_64() as u32)
    }

    /// Steps over a date without making it.
    pub fn skip_date(&mut self) {
        self.skip_varint();
    }

    /// Steps over a count, an index or a signed value without reading it.
    pub fn skip_index(&mut self) {
        self.skip_varint();
    }

    /// Steps over a decimal without reading it.
    pub fn skip_decimal(&mut self) {
        self.byte();
        self.skip_varint();
    }

    pub fn packed_time(&mut self) -> PackedTime {
        if self.byte() == 0 {
            return PackedTime(None);
        }
        let seconds = self.signed();
        PackedTime(Some((seconds, self.unsigned_64() as u32)))
    }
}

/// A time as packed, made a time when asked. Its parts are those of a
/// `google.protobuf.Timestamp`, which a GetProject writes without chrono's conversions.
#[derive(Clone, Copy, Debug)]
pub struct PackedTime(Option<(i64, u32)>);

impl PackedTime {
    /// Seconds since the Unix epoch and nanoseconds, if there is a time.
    pub fn parts(self) -> Option<(i64, u32)> {
        self.0
    }

    pub fn get(self) -> Option<DateTime<Utc>> {
        let (seconds, nanos) = self.0?;
        DateTime::from_timestamp(seconds, nanos)
    }
}

/// A decimal as packed, made a `Decimal` when asked: for a reader that may step over it.
#[derive(Clone, Copy, Debug)]
pub struct PackedDecimal {
    /// The sign (high bit) and the scale.
    head: u8,
    mantissa: u128,
}

impl PackedDecimal {
    pub fn get(self) -> Decimal {
        // From its parts: the mantissa was written from 96 bits and the scale from 0-28. The
        // sign is set after, as `from_parts` would drop a zero's.
        let mantissa = self.mantissa;
        let mut value = Decimal::from_parts(
            mantissa as u32,
            (mantissa >> 32) as u32,
            (mantissa >> 64) as u32,
            false,
            u32::from(self.head & 0x7f),
        );
        value.set_sign_negative(self.head & 0x80 != 0);
        value
    }
}

/// A date as packed: 0 for none, else one more than `year << 9 | month << 5 | day`, the year
/// zigzagged (as many bytes as a day number for years up to 2047). Made a date when asked, for
/// a reader that may step over it. Its parts are those of a `google.type.Date`: a GetProject
/// writes its nine dates from them, where a day number took chrono's calendar arithmetic
/// (about 700 of a GetProject's 60,000 instructions; docs/BENCHMARKS.md, issue 21).
#[derive(Clone, Copy, Debug)]
pub struct PackedDate(u32);

impl PackedDate {
    fn of(value: Option<NaiveDate>) -> Self {
        use chrono::Datelike;
        PackedDate(value.map_or(0, |date| {
            1 + (zigzag(date.year()) << 9 | date.month() << 5 | date.day())
        }))
    }

    /// Year, month (1-12) and day (1-31), if there is a date.
    pub fn parts(self) -> Option<(i32, u32, u32)> {
        let packed = self.0.checked_sub(1)?;
        let year = packed >> 9;
        Some((
            (year >> 1) as i32 ^ -((year & 1) as i32),
            packed >> 5 & 0xf,
            packed & 0x1f,
        ))
    }

    pub fn get(self) -> Option<NaiveDate> {
        let (year, month, day) = self.parts()?;
        NaiveDate::from_ymd_opt(year, month, day)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn what_is_written_reads_back_the_same(
            unsigned in any::<u128>(),
            signed in any::<i64>(),
            text in ".{0,40}",
            mantissa in -(1i128 << 96) + 1..(1i128 << 96),
            scale in 0u32..=28,
            negative_zero in any::<bool>(),
            days in -1_000_000i32..3_000_000,
            seconds in -10_000_000_000i64..10_000_000_000,
            nanos in 0u32..1_000_000_000,
        ) {
            let mut decimal = Decimal::from_i128_with_scale(mantissa, scale);
            if mantissa == 0 && negative_zero {
                decimal.set_sign_negative(true);
            }
            let date = NaiveDate::from_num_days_from_ce_opt(days);
            let time = DateTime::from_timestamp(seconds, nanos);
            let mut bytes = Vec::new();
            let mut writer = Writer(&mut bytes);
            writer.unsigned(unsigned);
            writer.signed(signed);
            writer.text(&text);
            writer.decimal(decimal);
            writer.date(date);
            writer.date(None);
            writer.time(time);
            writer.time(None);
            let mut reader = Reader::new(&bytes);
            prop_assert_eq!(reader.unsigned(), unsigned);
            prop_assert_eq!(reader.signed(), signed);
            prop_assert_eq!(reader.text(), text.as_str());
            let read = reader.decimal();
            prop_assert_eq!(read, decimal);
            prop_assert_eq!(read.to_string(), decimal.to_string());
            prop_assert_eq!(reader.date(), date);
            prop_assert_eq!(reader.date(), None);
            prop_assert_eq!(reader.packed_time().get(), time);
            prop_assert_eq!(reader.packed_time().get(), None);
            prop_assert_eq!(reader.at, bytes.len());
        }
    }
}
